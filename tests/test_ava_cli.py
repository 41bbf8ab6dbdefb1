"""``deeperaction eval ava`` / ``validate ava``: exit codes, JSON output, error lines."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from deeperaction.cli import app

LABELMAP = "ava/ava_action_list_v2.1_for_activitynet_2018.pbtxt.txt"
runner = CliRunner()


def test_eval_ok_writes_json(official, tmp_path):
    d = official / "ava" / "tiefree"
    out = tmp_path / "r.json"
    res = runner.invoke(app, ["eval", "ava", "--gt", str(d / "gt.csv"), "--pred", str(d / "detections.csv"),
                              "--labelmap", str(official / LABELMAP), "--json", str(out)])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    exp = json.loads((d / "expected.json").read_text())
    assert rep["headline"]["name"] == "PascalBoxes_Precision/mAP@0.5IOU"
    assert abs(rep["headline"]["value"] - exp["frame_mAP@0.5IOU"]) < 1e-12


def test_eval_user_errors_exit_2(official, tmp_path):
    d = official / "ava" / "tied"
    base = ["eval", "ava", "--gt", str(d / "gt.csv"), "--labelmap", str(official / LABELMAP)]
    res = runner.invoke(app, base + ["--pred", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "no such file" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("v,1,0.1,0.2,0.3\n")
    res = runner.invoke(app, base + ["--pred", str(bad)])
    assert res.exit_code == 2 and "line 1" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, base + ["--pred", str(d / "detections.csv"), "--iou", "1.5"])
    assert res.exit_code == 2


def test_validate(official, tmp_path):
    d = official / "ava" / "tied"
    res = runner.invoke(app, ["validate", "ava", str(d / "detections.csv")])
    assert res.exit_code == 0 and "valid" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("v,0902,0.1,0.2,1.3,0.4,1,0\nv,0903,0.1,x,0.3,0.4,1,0\n")
    res = runner.invoke(app, ["validate", "ava", str(bad), "--kind", "gt"])
    assert res.exit_code == 2
    assert "line 1" in res.output and "line 2" in res.output and "2 problem(s)" in res.output


def test_eval_ties_option(official, tmp_path):
    d = official / "ava" / "tied"
    base = ["eval", "ava", "--gt", str(d / "gt.csv"), "--pred", str(d / "detections.csv"),
            "--labelmap", str(official / LABELMAP)]
    out = tmp_path / "r.json"
    assert runner.invoke(app, base + ["--ties", "numpy", "--json", str(out)]).exit_code == 0
    assert json.loads(out.read_text())["options"]["ties"] == "numpy"
    assert runner.invoke(app, base + ["--ties", "sideways"]).exit_code == 2

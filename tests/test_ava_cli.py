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


def test_degenerate_boxes_one_warning_strict_refuses_gt_error(official, tmp_path):
    """Detections with x2 <= x1 are dropped as the official scorer drops them: one warning with their count and
    the first place; --strict refuses them (exit 2, one line); in GT a reversed box is an error."""
    d = official / "ava" / "tiefree"
    rows = (d / "detections.csv").read_text().splitlines()
    for k in (3, 7):  # reverse x1 and x2 of two rows
        f = rows[k].split(",")
        f[2], f[4] = f[4], f[2]
        rows[k] = ",".join(f)
    bad = tmp_path / "det.csv"
    bad.write_text("\n".join(rows) + "\n")
    base = ["eval", "ava", "--gt", str(d / "gt.csv"), "--labelmap", str(official / LABELMAP), "--pred", str(bad)]
    r = runner.invoke(app, base)
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.output.splitlines() if "degenerate" in ln]
    assert len(lines) == 1 and "2 detections" in r.output and "the first" in r.output
    r = runner.invoke(app, base + ["--strict"])
    assert r.exit_code == 2 and "line 4" in r.output and "2 such rows" in r.output and "Traceback" not in r.output
    g = (d / "gt.csv").read_text().splitlines()
    f = g[0].split(",")
    f[2], f[4] = "0.9", "0.1"
    g[0] = ",".join(f)
    (tmp_path / "gt.csv").write_text("\n".join(g) + "\n")
    r = runner.invoke(app, ["eval", "ava", "--gt", str(tmp_path / "gt.csv"), "--labelmap", str(official / LABELMAP),
                            "--pred", str(d / "detections.csv")])
    assert r.exit_code == 2 and "line 1" in r.output and "ground truth" in r.output

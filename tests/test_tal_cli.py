"""``deeperaction eval tal`` / ``validate tal``: numbers, JSON output, exit codes, one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from deeperaction.cli import app
from deeperaction.cli.eval_tal import parse_tiou
from deeperaction.errors import InputError

runner = CliRunner()


def test_eval_fixture_json_and_table(official, tmp_path):
    d = official / "fineaction" / "tiefree"
    exp = json.loads((d / "expected.json").read_text())
    out = tmp_path / "r.json"
    res = runner.invoke(app, ["eval", "tal", "--gt", str(d / "gt.json"), "--pred", str(d / "pred.json"),
                              "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "average mAP = 0.160411" in res.output
    rep = json.loads(out.read_text())
    assert rep["headline"] == {"name": "average mAP", "value": exp["average_mAP"]}
    assert rep["ap_per_class_tiou"] == exp["AP_per_class"]
    assert rep["options"]["ties"] == "later-first"


def test_eval_custom_tiou_and_subset(official, tmp_path):
    d = official / "fineaction" / "tiefree"
    res = runner.invoke(app, ["eval", "tal", "--gt", str(d / "gt.json"), "--pred", str(d / "pred.json"),
                              "--tiou", "0.3,0.5", "--json", "-"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout[res.stdout.index("{"):])
    assert list(rep["per_threshold"]) == ["0.3", "0.5"]
    assert rep["per_threshold"]["0.5"] == pytest.approx(exp_map_at_05(official), abs=1e-12)
    res = runner.invoke(app, ["eval", "tal", "--gt", str(d / "gt.json"), "--pred", str(d / "pred.json"),
                              "--subset", "training"])
    assert res.exit_code == 0 and "were left out" in " ".join(res.output.split())  # training classes differ
    res = runner.invoke(app, ["eval", "tal", "--gt", str(d / "gt.json"), "--pred", str(d / "pred.json"),
                              "--subset", "training", "--strict"])
    assert res.exit_code == 2 and "is not a class of the ground-truth subset 'training'" in " ".join(res.output.split())


def exp_map_at_05(official) -> float:
    return json.loads((official / "fineaction" / "tiefree" / "expected.json").read_text())["mAP_per_tiou"][0]


def test_eval_user_errors_exit_2(tmp_path, official):
    gt = official / "fineaction" / "tied" / "gt.json"
    bad = tmp_path / "bad.json"
    bad.write_text('{"results": {"v": [{"label": "a", "score": "x", "segment": [2, 1]}]}}')
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"results": {"v_synth00000": [{"label": "nope", "score": 1, "segment": [1, 2]}]},
                                   "version": "", "external_data": {}}))
    cases = [
        (["--gt", str(tmp_path / "missing.json"), "--pred", str(bad)], "missing.json: no such file"),
        (["--gt", str(gt), "--pred", str(bad)], "field 'results[0].score': score must be a finite number"),
        (["--gt", str(gt), "--pred", str(unknown), "--strict"], "predicted label 'nope' (1 predictions) is not a class"),
        (["--gt", str(gt), "--pred", str(unknown), "--tiou", "0.5:0.4:0.1"], "bad --tiou"),
        (["--gt", str(gt), "--pred", str(unknown), "--ties", "random"], "--ties must be"),
    ]
    for args, message in cases:
        res = runner.invoke(app, ["eval", "tal", *args])
        assert res.exit_code == 2, (args, res.output)
        assert message in " ".join(res.output.split()), (message, res.output)
        assert "Traceback" not in res.output
    assert "end 1 is before start 2" in runner.invoke(app, ["eval", "tal", "--gt", str(gt), "--pred", str(bad)]).output
    res = runner.invoke(app, ["eval", "tal", "--gt", str(gt), "--pred", str(unknown)])
    out = " ".join(res.output.split())
    assert res.exit_code == 0 and "1 predictions with 1 labels" in out and "nope" in out


def test_validate_exit_codes(official, tmp_path):
    d = official / "fineaction" / "tiefree"
    res = runner.invoke(app, ["validate", "tal", str(d / "gt.json"), str(d / "pred.json")])
    assert res.exit_code == 0 and "is valid" in res.output
    res = runner.invoke(app, ["validate", "tal", str(d / "pred.json"), "--gt", str(d / "gt.json")])
    assert res.exit_code == 2 and "v_not_in_gt" in res.output and "1 problem(s)" in res.output
    trunc = tmp_path / "t.json"
    trunc.write_text((d / "pred.json").read_text()[:500])
    res = runner.invoke(app, ["validate", "tal", str(trunc), "--kind", "pred"])
    assert res.exit_code == 2 and "truncated JSON" in res.output
    assert runner.invoke(app, ["validate", "tal", str(trunc), "--kind", "bogus"]).exit_code == 2
    assert runner.invoke(app, ["validate", "tal", "--help"]).exit_code == 0


def test_parse_tiou():
    assert np.array_equal(parse_tiou("0.5:0.95:0.05"), np.linspace(0.5, 0.95, 10))  # 0.8999999999999999 kept
    assert np.array_equal(parse_tiou("0.3:0.7:0.1"), np.linspace(0.3, 0.7, 5))
    assert parse_tiou("0.5").tolist() == [0.5] and parse_tiou("0.1,0.9").tolist() == [0.1, 0.9]
    for bad in ("", "a", "0.5:0.9", "0.5:0.9:0", "0.5:0.93:0.05", "1.5"):
        with pytest.raises(InputError):
            parse_tiou(bad)

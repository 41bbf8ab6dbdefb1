"""``deeperaction eval multisports`` / ``validate multisports``: numbers, JSON, exit codes."""
from __future__ import annotations

import json
import pickle

import numpy as np
from typer.testing import CliRunner

from deeperaction.cli import app

runner = CliRunner()


def test_eval_json_matches_official(official, tmp_path):
    d = official / "multisports" / "tiefree"
    exp = json.loads((d / "expected.json").read_text())
    out = tmp_path / "r.json"
    res = runner.invoke(app, ["eval", "multisports", "--gt", str(d / "gt.pkl"), "--frame-dets",
                              str(d / "frame_detections.pkl"), "--video-dets", str(d / "video_detections.pkl"),
                              "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "V@0.1:0.9" in res.output
    rep = json.loads(out.read_text())
    assert abs(rep["headline"]["value"] - exp["2022"]["V@0.10-0.90"]) < 1e-9
    res = runner.invoke(app, ["eval", "multisports", "--gt", str(d / "gt.pkl"), "--pred", str(d), "--protocol",
                              "2021", "--json", "-"])
    assert res.exit_code == 0
    rep = json.loads(res.stdout[res.stdout.index("{"):])
    assert abs(rep["per_threshold"]["F@0.5"] - exp["2021"]["F@0.5"]) < 1e-9


def test_eval_user_errors_exit_2(official, tmp_path):
    d = official / "multisports" / "tiefree"
    cases = [
        ["--gt", str(tmp_path / "missing.pkl"), "--pred", str(d)],
        ["--gt", str(d / "gt.pkl")],
        ["--gt", str(d / "gt.pkl"), "--pred", str(d), "--protocol", "2020"],
        ["--gt", str(d / "gt.pkl"), "--pred", str(d), "--thresholds", "abc"],
        ["--gt", str(d / "frame_detections.pkl"), "--pred", str(d)],
    ]
    for args in cases:
        res = runner.invoke(app, ["eval", "multisports", *args])
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output


def test_validate_exit_codes(official, tmp_path):
    d = official / "multisports" / "tiefree"
    ok = runner.invoke(app, ["validate", "multisports", str(d / "gt.pkl"), str(d / "frame_detections.pkl"),
                             str(d / "video_detections.pkl"), "--gt", str(d / "gt.pkl")])
    assert ok.exit_code == 0, ok.output
    bad = pickle.loads((d / "frame_detections.pkl").read_bytes())
    bad[3, 1] = np.nan
    p = tmp_path / "frame_detections.pkl"
    p.write_bytes(pickle.dumps(bad))
    res = runner.invoke(app, ["validate", "multisports", str(p), "--gt", str(d / "gt.pkl")])
    assert res.exit_code == 2 and "row 3" in res.output and "NaN" in res.output
    res = runner.invoke(app, ["validate", "multisports", str(p)])
    assert res.exit_code == 2 and "needs --gt" in res.output
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    res = runner.invoke(app, ["validate", "multisports", str(evil)])
    assert res.exit_code == 2 and "refused" in res.output

"""``deeperaction eval tps`` / ``validate tps``: official numbers through --json, exit 2 on user errors."""
from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from deeperaction.cli import app

runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()


def _stderr(r) -> str:
    try:
        return r.stderr
    except ValueError:
        return r.output


@pytest.fixture(scope="module")
def small(official):
    return official / "kinetics_tps" / "small"


def test_eval_json_matches_official(small, tmp_path):
    out = tmp_path / "r.json"
    r = runner.invoke(app, ["eval", "tps", "--gt", str(small / "gt_dir"), "--pred", str(small / "pred_dir"),
                            "--json", str(out)])
    assert r.exit_code == 0, r.output
    got = json.loads(out.read_text())
    exp = json.loads((small / "expected.json").read_text())
    assert got["headline"]["name"] == "Score"
    assert got["headline"]["value"] == pytest.approx(exp["Score (area, human_iou=0.5, part_iou=0.3)"], abs=1e-9)
    for vid, psc, correct in exp["per_video [vid, PSC, video_correct]"]:
        assert got["per_video"][vid] == pytest.approx(psc, abs=1e-9)
        assert got["video_correct"][vid] == correct
    assert len(got["sweep"]) == 25
    assert "Score = 0.483842" in r.output


def test_eval_with_explicit_files_to_stdout(small):
    g, p = small / "gt_dir", small / "pred_dir"
    r = runner.invoke(app, ["eval", "tps", "--gt-vid", str(g / "gt_vid_result.json"),
                            "--gt-part", str(g / "gt_part_result.json"), "--pred-vid", str(p / "pred_vid_result.json"),
                            "--pred-part", str(p / "pred_part_result.json"), "--no-sweep", "--json", "-"])
    assert r.exit_code == 0
    got = json.loads(r.stdout)
    assert got["headline"]["value"] == pytest.approx(0.48384166666663003, abs=1e-9)
    assert "sweep" not in got


def test_eval_missing_video_exit_2_then_allowed(small, tmp_path):
    pred = tmp_path / "pred"
    shutil.copytree(small / "pred_dir", pred)
    acts = json.loads((pred / "pred_vid_result.json").read_text())
    gone = next(iter(acts))
    del acts[gone]
    (pred / "pred_vid_result.json").write_text(json.dumps(acts))
    parts = json.loads((pred / "pred_part_result.json").read_text())
    del parts[gone]
    (pred / "pred_part_result.json").write_text(json.dumps(parts))
    r = runner.invoke(app, ["eval", "tps", "--gt", str(small / "gt_dir"), "--pred", str(pred)])
    assert r.exit_code == 2
    assert gone in _stderr(r) and "Traceback" not in r.output
    r = runner.invoke(app, ["eval", "tps", "--gt", str(small / "gt_dir"), "--pred", str(pred), "--allow-missing"])
    assert r.exit_code == 0
    assert "no prediction" in _stderr(r)


def test_validate_ok_and_bad(small, tmp_path):
    r = runner.invoke(app, ["validate", "tps", str(small / "gt_dir"), str(small / "pred_dir")])
    assert r.exit_code == 0 and "valid" in r.output
    bad = tmp_path / "pred_part_result.json"
    bad.write_text(json.dumps({"v1": {"img_1.json": {"humans": [{"box": [5, 0, 1, 9], "parts": {}}]}}}))
    r = runner.invoke(app, ["validate", "tps", str(bad)])
    assert r.exit_code == 2
    err = _stderr(r)
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 2, err
    assert "frame img_1.json" in err and "field 'humans[0].box'" in err and "video 'v1'" in err
    assert "Traceback" not in r.output + err


def test_user_mistakes_exit_2(small, tmp_path):
    for args in (["eval", "tps", "--gt", str(tmp_path / "none"), "--pred", str(small / "pred_dir")],
                 ["eval", "tps", "--pred", str(small / "pred_dir")],
                 ["eval", "tps", "--gt", str(small / "gt_dir"), "--pred", str(small / "pred_dir"),
                  "--human-iou", "2"],
                 ["validate", "tps", str(tmp_path / "x.json")]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        assert r.exception is None or isinstance(r.exception, SystemExit)

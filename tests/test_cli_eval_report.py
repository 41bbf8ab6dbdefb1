"""`deeperaction eval ... --report` writes a page with the metric's headline; `report` rebuilds it exactly."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from deeperaction.cli import app

runner = CliRunner()


def _args(task: str, official) -> list[str]:
    if task == "tal":
        d = official / "fineaction" / "tiefree"
        return ["tal", "--gt", str(d / "gt.json"), "--pred", str(d / "pred.json")]
    if task == "ava":
        d = official / "ava" / "tiefree"
        lm = official / "ava" / "ava_action_list_v2.1_for_activitynet_2018.pbtxt.txt"
        return ["ava", "--gt", str(d / "gt.csv"), "--pred", str(d / "detections.csv"), "--labelmap", str(lm)]
    if task == "multisports":
        d = official / "multisports" / "tiefree"
        return ["multisports", "--gt", str(d / "gt.pkl"), "--frame-dets", str(d / "frame_detections.pkl"),
                "--video-dets", str(d / "video_detections.pkl")]
    d = official / "kinetics_tps" / "small"
    return ["tps", "--gt", str(d / "gt_dir"), "--pred", str(d / "pred_dir")]


@pytest.mark.parametrize("task", ["tal", "ava", "multisports", "tps"])
def test_eval_report_then_rebuild(task, official, tmp_path):
    html, res = tmp_path / "r.html", tmp_path / "r.json"
    out = runner.invoke(app, ["eval", *_args(task, official), "--report", str(html), "--json", str(res)])
    assert out.exit_code == 0, out.output
    results = json.loads(res.read_text())
    assert results["report_data"]["task"] == task
    page = html.read_text()
    assert 'src="http' not in page and 'href="http' not in page and "<script src=" not in page  # self-contained
    head = results["headline"]["value"]
    assert f"{head:.2f}" in page  # the metric's own headline is shown
    again = tmp_path / "again.html"
    out = runner.invoke(app, ["report", str(res), "-o", str(again)])
    assert out.exit_code == 0, out.output
    assert again.read_text() == page


def test_report_videos_folder_missing_is_exit_2(official, tmp_path):
    out = runner.invoke(app, ["eval", *_args("tal", official), "--report", str(tmp_path / "r.html"),
                              "--videos", str(tmp_path / "nope")])
    assert out.exit_code == 2
    assert "no such folder" in out.output

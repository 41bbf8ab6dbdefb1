"""``deeperaction convert``: MultiSports -> AVA keeps every keyframe box (GT as detections scores 1.0), TPS GT
-> predictions scores a perfect 0.9999, TPS -> CSV has one row per proposal."""
from __future__ import annotations

import csv
import pickle

import numpy as np
import pytest
from typer.testing import CliRunner

from deeperaction.cli import app
from deeperaction.formats.ava import read_ava_csv, validate_ava
from deeperaction.formats.convert import tube_keyframes
from deeperaction.formats.kinetics_tps import read_tps
from deeperaction.metrics.ava import evaluate_ava
from deeperaction.metrics.tps import evaluate_tps


def test_tube_keyframes_pick_whole_seconds():
    frames = np.arange(20, 80)  # 0-based frames 20..79 at 25 fps: seconds 1 (frame 25), 2 (50), 3 (75)
    boxes = np.tile([10.0, 20.0, 110.0, 220.0], (60, 1))
    kf = tube_keyframes("v", 3, 7.0, frames, boxes, 25.0, (240, 320))
    assert [k.timestamp for k in kf] == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(kf[0].box_norm, [10 / 320, 20 / 240, 110 / 320, 220 / 240])
    assert (kf[0].label, kf[0].score) == (3, 7.0)
    assert tube_keyframes("v", 1, 1.0, np.arange(26, 49), boxes[:23], 25.0, (240, 320)) == []


def test_multisports_to_ava_gt_as_detections_is_perfect(official, tmp_path):
    src = official / "multisports" / "tiefree"
    with open(src / "gt.pkl", "rb") as fh:
        gt = pickle.load(fh)
    videos = gt["test_videos"][0]
    dets = {}  # the GT tubes as video detections: (video, score, rows frame, x1..y2, box score)
    for i, v in enumerate(videos):
        for lab, tubes in gt["gttubes"][v].items():
            for t in tubes:
                dets.setdefault(lab, []).append((v, 1.0 - 0.01 * i, np.hstack([t, np.ones((len(t), 1))])))
    with open(tmp_path / "vd.pkl", "wb") as fh:
        pickle.dump(dets, fh)
    res = CliRunner().invoke(app, ["convert", "multisports-ava", str(src / "gt.pkl"), str(tmp_path / "ava"),
                                   "--video-dets", str(tmp_path / "vd.pkl")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "ava"
    assert not validate_ava(out / "gt.csv", "gt") and not validate_ava(out / "detections.csv", "pred")
    g = read_ava_csv(out / "gt.csv", "gt")
    assert len(g.video) > 0 and set(g.videos) <= set(videos)
    assert (g.boxes >= 0).all() and (g.boxes <= 1).all()
    rep = evaluate_ava(out / "gt.csv", out / "detections.csv", out / "labelmap.pbtxt")
    assert rep.headline == pytest.approx(1.0)


def test_multisports_to_ava_bad_input(tmp_path):
    bad = tmp_path / "x.pkl"
    bad.write_bytes(b"not a pickle")
    res = CliRunner().invoke(app, ["convert", "multisports-ava", str(bad), str(tmp_path / "o")])
    assert res.exit_code == 2 and "x.pkl" in res.output and "Traceback" not in res.output


def test_tps_gt_to_pred_is_perfect_and_csv_rows(official, tmp_path):
    gt_dir = official / "kinetics_tps" / "small" / "gt_dir"
    res = CliRunner().invoke(app, ["convert", "tps-pred", str(gt_dir), str(tmp_path / "pred")])
    assert res.exit_code == 0, res.output
    gt = read_tps(gt_dir, "gt")
    assert evaluate_tps(gt, read_tps(tmp_path / "pred", "pred")).headline == pytest.approx(0.9999)

    res = CliRunner().invoke(app, ["convert", "tps-csv", str(tmp_path / "pred"), str(tmp_path / "p.csv"),
                                   "--kind", "pred"])
    assert res.exit_code == 0, res.output
    with open(tmp_path / "p.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    pred = read_tps(tmp_path / "pred", "pred")
    assert len(rows) == len(pred.prop_box) == len(gt.prop_box)
    expect = [(vp.video_id, vp.action, str(fp.frame), str(i), name, str(k), det.states[k])  # schema objects
              for vp in pred.to_parses().values() for fp in vp.frames for i, person in enumerate(fp.persons)
              for name, det in person.parts.items() for k in range(len(det.boxes))]
    got = [(r["video"], r["action"], r["frame"], r["person"], r["part"], r["proposal"], r["state"]) for r in rows]
    assert got == expect
    np.testing.assert_allclose([[float(r[k]) for k in ("x1", "y1", "x2", "y2")] for r in rows], pred.prop_box)
    assert [r["state"] for r in rows] == [pred.states[i] for i in pred.prop_state]
    assert CliRunner().invoke(app, ["convert", "tps-csv", str(gt_dir), "o.csv", "--kind", "x"]).exit_code == 2

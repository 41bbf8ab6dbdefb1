"""Kinetics-TPS Score: the official scorer's numbers on the official fixture, and its rules on small cases."""
from __future__ import annotations

import json

import numpy as np
import pytest

from deeperaction.errors import InputError
from deeperaction.formats.kinetics_tps import read_tps
from deeperaction.metrics.tps import SWEEP, area_score, evaluate_tps

# Printed by the official eval_detection.py (@b6fb668, numpy 1.26) on kinetics_tps/small:
# area per (human IoU, part IoU), row-major over SWEEP x SWEEP, and the curve at t = 0.1 and t = 0.5.
OFFICIAL_AREAS = [
    0.4857083333332965, 0.48384166666663003, 0.44132499999996805, 0.08416666666665985, 0.08332499999999327,
] * 3 + [0.16907499999998804, 0.16877499999998807, 0.16088333333332247] + [0.08332499999999327] * 7
A, B, C = 0.8333333333333334, 0.08333333333333333, 0.5833333333333334
OFFICIAL_T01 = [A, A, A, B, B] * 3 + [C, C, C, B, B] + [B] * 5
OFFICIAL_T05 = [0.75, 0.75, 0.25, B, B] * 3 + [B] * 10


@pytest.fixture(scope="module")
def small(official):
    d = official / "kinetics_tps" / "small"
    gt, pred = read_tps(d / "gt_dir", "gt"), read_tps(d / "pred_dir", "pred")
    return gt, pred, json.loads((d / "expected.json").read_text())


def test_fixture_score_and_per_video(small):
    gt, pred, exp = small
    r = evaluate_tps(gt, pred)
    assert r.headline_name == "Score"
    assert r.headline == pytest.approx(exp["Score (area, human_iou=0.5, part_iou=0.3)"], abs=1e-9)
    assert round(r.headline, 6) == exp["Score rounded to 6 dp (README)"]
    for vid, psc, correct in exp["per_video [vid, PSC, video_correct]"]:
        assert r.per_video[vid] == pytest.approx(psc, abs=1e-9)
        assert r.tables["video_correct"][vid] == correct
    for t, v in exp["conditioned_acc_at_t (as printed by eval())"].items():
        assert r.tables["conditioned_acc"][t] == pytest.approx(v, abs=1e-9)
    assert r.tables["conditioned_acc"]["0"] == pytest.approx(exp["video_acc (t=0)"], abs=1e-9)


def test_fixture_sweep(small):
    gt, pred, _ = small
    rows = evaluate_tps(gt, pred).tables["sweep"]
    assert [(r["human_iou"], r["part_iou"]) for r in rows] == [(h, p) for h in SWEEP for p in SWEEP]
    np.testing.assert_allclose([r["score"] for r in rows], OFFICIAL_AREAS, rtol=0, atol=1e-9)
    np.testing.assert_allclose([r["conditioned_acc"]["0.1"] for r in rows], OFFICIAL_T01, atol=1e-12)
    np.testing.assert_allclose([r["conditioned_acc"]["0.5"] for r in rows], OFFICIAL_T05, atol=1e-12)


def test_gt_as_prediction_scores_0_9999(small):
    gt, _, _ = small
    r = evaluate_tps(gt, gt)
    assert r.headline == pytest.approx(0.9999, abs=1e-9)
    assert all(v == 1.0 for v in r.per_video.values())


def test_area_score_rule():
    # correct video with PSC 0.5: t = 1..5000 count -> 5000/10000; wrong action counts nothing.
    assert area_score(np.array([0.5, 1.0]), np.array([True, False])) == pytest.approx(0.25, abs=1e-12)
    assert area_score(np.array([1.0]), np.array([True])) == pytest.approx(0.9999, abs=1e-12)


def test_missing_video_is_an_error_unless_allowed(small):
    gt, pred, _ = small
    drop = gt.videos[1]
    pred.actions = {k: v for k, v in pred.actions.items() if k != drop}
    try:
        with pytest.raises(InputError, match=drop):
            evaluate_tps(gt, pred)
        r = evaluate_tps(gt, pred, allow_missing=True)
        assert r.per_video[drop] == 0.0 and r.tables["video_correct"][drop] == 0
        assert r.tables["counts"]["missing_videos"] == 1
        assert any("no prediction" in w for w in r.warnings)
    finally:
        pred.actions = json.loads(pred.files[0].read_text())


def test_thresholds_out_of_range_rejected(small):
    gt, pred, _ = small
    with pytest.raises(InputError, match="human_iou"):
        evaluate_tps(gt, pred, human_iou=1.5)

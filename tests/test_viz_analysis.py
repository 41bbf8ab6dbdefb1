"""The report's diagnostics re-derive TP/FP flags with the official matching: their APs must equal the
metric's, and the false-positive types must follow the DETAD / Hoiem rules."""
from __future__ import annotations

import numpy as np
import pytest

from deeperaction.metrics.ap import average_precision_all_point
from deeperaction.viz.matching import FP_TYPES, fp_types, greedy_fallthrough, segmented_ap


def test_segmented_ap_equals_all_point_ap():
    rng = np.random.default_rng(0)
    cls = np.sort(rng.integers(0, 5, 400))
    tp = rng.random(400) < 0.4
    npos = np.array([40, 30, 0, 25, 60], dtype=float)
    ap = segmented_ap(tp, cls, npos)
    for c in range(5):
        t = tp[cls == c].astype(float)
        if npos[c] == 0:
            assert np.isnan(ap[c])
            continue
        ctp = np.cumsum(t)
        ref = average_precision_all_point(ctp / np.arange(1, len(t) + 1), ctp / npos[c])
        assert ap[c] == pytest.approx(ref, abs=1e-12)
    removed = ~tp & (rng.random(400) < 0.5)
    ap2 = segmented_ap(tp, cls, npos, removed)
    keep = ~removed
    assert np.allclose(np.nan_to_num(ap2), np.nan_to_num(segmented_ap(tp[keep], cls[keep], npos)))


def test_greedy_fallthrough_takes_next_free_gt():
    # prediction 0 prefers GT 1 then 0; prediction 1 prefers GT 1 then 0 -> falls through to GT 0
    pi = np.array([0, 0, 1, 1])
    gi = np.array([1, 0, 1, 0])
    tp, g = greedy_fallthrough(pi, gi, 3, 2)
    assert tp.tolist() == [True, True, False] and g.tolist() == [1, 0, -1]


def test_fp_type_precedence():
    tp = np.array([True, False, False, False, False, False])
    same = np.array([0.9, 0.8, 0.2, 0.3, 0.05, 0.0])
    other = np.array([0.0, 0.9, 0.7, 0.05, 0.3, 0.05])
    t = fp_types(tp, same, other, 0.5)
    names = ["TP" if x < 0 else FP_TYPES[x] for x in t]
    assert names == ["TP", "double detection", "wrong label", "localization", "confusion", "background"]


def test_tal_analysis_matches_metric(official):
    from deeperaction.formats.activitynet import read_activitynet_gt, read_activitynet_pred
    from deeperaction.metrics.tal import evaluate_tal
    from deeperaction.viz.analysis_tal import analyze_tal

    d = official / "fineaction" / "tiefree"
    g, p = read_activitynet_gt(d / "gt.json"), read_activitynet_pred(d / "pred.json")
    r = evaluate_tal(g, p)
    a = analyze_tal(g, p)
    assert a["ap_check"]["average_map"] == pytest.approx(r.headline, abs=1e-12)
    for c, aps in r.tables["ap_per_class_tiou"].items():
        assert np.allclose(a["ap_check"]["per_class"][c], aps, atol=1e-12, rtol=0)
    # composition of each top-kG bin sums to 1; per-class TPs add up
    comp = np.array(list(a["fp_composition_top_g"].values()))
    filled = comp.sum(axis=0) > 0
    assert np.allclose(comp.sum(axis=0)[filled], 1.0)
    assert sum(x["n"] for x in a["false_negatives"]["length"].values()) == len(g)
    # removing an error type can only raise the average mAP
    assert all(v >= -1e-12 for v in a["removal_gain"].values())


@pytest.mark.parametrize("case", ["tiefree", "tied"])
def test_multisports_analysis_matches_metric(official, case):
    from deeperaction.formats.multisports import (read_frame_detections, read_multisports_gt,
                                                  read_video_detections)
    from deeperaction.metrics.multisports import evaluate_multisports
    from deeperaction.viz.analysis_det import analyze_multisports

    d = official / "multisports" / case
    g = read_multisports_gt(d / "gt.pkl")
    f, v = read_frame_detections(d / "frame_detections.pkl", g), read_video_detections(d / "video_detections.pkl", g)
    r = evaluate_multisports(g, f, v)
    a = analyze_multisports(g, f, v)
    for c, ap in r.tables["frame_ap_per_class"].items():
        assert 100 * a["frame"]["per_class"][c]["ap_check"] == pytest.approx(ap, abs=1e-9)
    for c, ap in r.tables["video_ap_per_class"]["0.5"].items():
        assert 100 * a["video"]["per_class"][c]["ap_check"] == pytest.approx(ap, abs=1e-9)
    for level in ("frame", "video"):
        s = a[level]
        assert s["tp"] + sum(s["fp_counts"].values()) == s["detections"]
        missed = sum(b["missed"] for b in s["missed_by_tube_length"].values())
        assert missed == s["gt"] - s["tp"]


def test_ava_analysis_matches_metric(official):
    from deeperaction.formats.ava import read_ava_csv, read_labelmap
    from deeperaction.metrics.ava import evaluate_ava
    from deeperaction.viz.analysis_det import analyze_ava

    lm = read_labelmap(official / "ava" / "ava_action_list_v2.1_for_activitynet_2018.pbtxt.txt")
    g = read_ava_csv(official / "ava" / "tiefree" / "gt.csv", "gt")
    p = read_ava_csv(official / "ava" / "tiefree" / "detections.csv", "pred")
    r = evaluate_ava(g, p, lm)
    a = analyze_ava(g, p, lm)["frame"]
    assert a["per_class"], "no class analysed"
    for c, x in a["per_class"].items():
        assert x["ap_check"] == pytest.approx(r.per_class[c], abs=1e-12)
    assert a["tp"] == r.tables["counts"]["true_positives"]


def test_tps_stage_losses_partition_and_match_metric(official):
    from deeperaction.formats.kinetics_tps import read_tps
    from deeperaction.metrics.tps import evaluate_tps
    from deeperaction.viz.analysis_tps import analyze_tps
    from deeperaction.viz.render_tps import conditioned_curve

    d = official / "kinetics_tps" / "small"
    g, p = read_tps(d / "gt_dir", "gt"), read_tps(d / "pred_dir", "pred")
    r = evaluate_tps(g, p)
    a = analyze_tps(g, p)
    assert a["rates"]["matched_humans"] == r.tables["counts"]["matched_humans"]
    ov = a["overall"]
    assert ov["earned"] + sum(ov[s] for s in a["stages"]) == pytest.approx(1.0)
    for part, acc in r.per_class.items():  # every GT frame of the fixture is countable
        assert a["per_part"][part]["earned"] == pytest.approx(acc, abs=1e-12)
    vids = list(r.per_video)
    t, acc = conditioned_curve([r.per_video[v] for v in vids], [r.tables["video_correct"][v] for v in vids], 10001)
    assert np.sum(acc[1:-1]) / 10000 == pytest.approx(r.headline, abs=1e-9)  # the curve's area is the Score

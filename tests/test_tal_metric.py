"""Average mAP (ActivityNet/FineAction): official fixture numbers, edge cases scored by the official
``eval_detection.py``, a loop-by-loop reference of its rules, and properties."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deeperaction.errors import InputError
from deeperaction.formats.activitynet import TalGT, TalPred, read_activitynet_gt, read_activitynet_pred
from deeperaction.metrics.tal import DEFAULT_TIOU, evaluate_tal, score_order, segment_tiou
from deeperaction.schema import Segment


def _load(official, case):
    d = official / "fineaction" / case
    return (read_activitynet_gt(d / "gt.json"), read_activitynet_pred(d / "pred.json"),
            json.loads((d / "expected.json").read_text()))


def _assert_matches(report, exp):
    assert report.headline == pytest.approx(exp["average_mAP"], abs=1e-9)
    np.testing.assert_allclose(list(report.per_threshold.values()), exp["mAP_per_tiou"], rtol=0, atol=1e-9)
    table = report.tables["ap_per_class_tiou"]
    assert list(table) == list(exp["AP_per_class"])  # official class order: first appearance in the GT
    for c, aps in exp["AP_per_class"].items():
        np.testing.assert_allclose(table[c], aps, rtol=0, atol=1e-9, err_msg=c)


def test_tiefree_fixture_exact(official):
    gt, pred, exp = _load(official, "tiefree")
    report = evaluate_tal(gt, pred)
    _assert_matches(report, exp)
    assert report.tables["tiou_thresholds"] == exp["tiou_thresholds"]
    assert report.tables["counts"]["gt_segments"] == exp["n_gt_instances"] == 387
    assert any("1 videos not in the ground-truth subset" in w for w in report.warnings)
    assert any("fa_action_011" in w for w in report.warnings)  # class without predictions -> AP 0


def test_tied_fixture_numpy_ties_equal_the_official_rules_with_this_numpy(official):
    """``ties="numpy"`` = the official argsort calls on this machine: equal to the one-prediction-at-a-time
    reference that calls numpy's ``argsort()[::-1]`` here and now (the fixture's numbers were made with
    numpy 1.23.5 on a CPU without AVX-512, which this machine's sort need not repeat)."""
    gt, pred, _ = _load(official, "tied")
    got = evaluate_tal(gt, pred, ties="numpy")
    ref = reference_average_map(gt, pred, ties="numpy")
    np.testing.assert_array_equal(np.array([got.tables["ap_per_class_tiou"][c] for c in gt.labels]).T, ref)


def test_tied_fixture_later_first_is_the_documented_rule(official):
    """later-first = the official on the same scores made unique so that the later prediction wins."""
    gt, pred, _ = _load(official, "tied")
    order = score_order(np.zeros(len(pred), dtype=np.int64), pred.score)  # all in one class: global rank
    unique = pred.score.copy()
    unique[order] = np.arange(len(pred), 0, -1, dtype=np.float64)
    a = evaluate_tal(gt, pred)
    b = evaluate_tal(gt, TalPred(pred.videos, pred.labels, pred.video, pred.label, pred.t_start, pred.t_end,
                                 unique))
    assert a.headline == b.headline and a.tables["ap_per_class_tiou"] == b.tables["ap_per_class_tiou"]
    assert a.headline == pytest.approx(0.16082316226341886, abs=1e-12)  # official (numpy 1.23.5): 0.159589


def test_score_order_numpy_is_the_official_expression_here():
    """``ties="numpy"`` orders each class by ``score.argsort()[::-1]`` on this machine's numpy; later-first
    is the same expression over a stable sort."""
    rng = np.random.default_rng(3)
    score = rng.integers(0, 3, 40) / 4
    cls = rng.integers(0, 2, 40)
    got = score_order(cls, score, "numpy")
    want = np.concatenate([np.flatnonzero(cls == c)[score[cls == c].argsort()[::-1]] for c in (0, 1)])
    assert np.array_equal(got, want)
    assert np.array_equal(score_order(np.zeros(40, np.int64), score),
                          np.argsort(score, kind="stable")[::-1])


def _case(gt_rows, pred_rows):
    gt = TalGT.from_segments([Segment(v, c, s, e) for v, c, s, e in gt_rows])
    return gt, TalPred.from_segments([Segment(v, c, s, e, sc) for v, c, s, e, sc in pred_rows])


# numbers from the official eval_detection.py (@82304fa9, numpy 1.23.5) on these exact inputs
EDGE_CASES = {
    "fall_through_past_used_gt": (
        [("v", "a", 0.0, 10.0), ("v", "a", 1.0, 12.0)],
        [("v", "a", 0.0, 8.0, 0.9), ("v", "a", 0.0, 9.0, 0.8), ("v", "a", 50.0, 60.0, 0.1)],
        {"a": [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.0]}),
    "equal_tiou_later_gt_first": (
        [("v", "a", 0.0, 4.0), ("v", "a", 2.0, 6.0)],
        [("v", "a", 2.0, 4.0, 0.9), ("v", "a", 4.0, 6.0, 0.8)],
        {"a": [0.5] + [0.0] * 9}),
    "tiou_exactly_on_thresholds": (
        [(f"v{k}", "a", 0.0, 100.0) for k in range(10)] + [(f"w{k}", "a", 0.0, 1.0) for k in range(10)],
        [(f"v{k}", "a", 0.0, 50.0 + 5 * k, 1.0 - k / 20) for k in range(10)]
        + [(f"w{k}", "a", 0.0, round(0.5 + 0.05 * k, 2), 0.4 - k / 40) for k in range(10)],
        {"a": [1.0, 0.81, 0.64, 0.4899999999999999, 0.35999999999999993, 0.25, 0.16000000000000003, 0.09,
               0.04000000000000001, 0.010000000000000002]}),
    "zero_length_duplicate_gt_unknown_video": (
        [("v", "a", 3.0, 3.0), ("v", "a", 5.0, 7.0), ("v", "a", 5.0, 7.0), ("v", "b", 1.0, 2.0)],
        [("v", "a", 9.0, 9.0, 0.9), ("v", "a", 5.0, 7.0, 0.8), ("v", "a", 5.0, 7.0, 0.7),
         ("x", "b", 1.0, 2.0, 0.95), ("v", "b", 1.0, 2.0, 0.5)],
        {"a": [1.0] * 10, "b": [0.5] * 10}),
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases_equal_official(name):
    gt_rows, pred_rows, expected = EDGE_CASES[name]
    report = evaluate_tal(*_case(gt_rows, pred_rows))
    assert report.tables["ap_per_class_tiou"] == expected  # bit-exact
    assert report.headline == np.mean(np.array(list(expected.values())).T.mean(axis=1))


def reference_average_map(gt: TalGT, pred: TalPred, thresholds=DEFAULT_TIOU, ties="later-first") -> np.ndarray:
    """The official rules one prediction at a time (slow, obviously-correct oracle). Returns (T, C) AP.
    ``ties="numpy"``: equal values ordered by numpy's ``argsort()[::-1]`` here, as the official code calls it."""
    from deeperaction.metrics.ap import average_precision_all_point
    ap = np.zeros((len(thresholds), len(gt.labels)))
    for c, name in enumerate(gt.labels):
        gidx = np.flatnonzero(gt.label == c)
        pidx = [i for i in range(len(pred)) if pred.labels[pred.label[i]] == name]
        if not pidx:
            continue
        if ties == "numpy":  # the official: score.argsort()[::-1] over the class's predictions in file order
            pidx = np.asarray(pidx)[pred.score[pidx].argsort()[::-1]].tolist()
        else:
            pidx = sorted(pidx, key=lambda i: (-pred.score[i], -i))  # descending score, later first
        lock = np.zeros((len(thresholds), len(gidx)), dtype=bool)
        tp = np.zeros((len(thresholds), len(pidx)))
        for k, i in enumerate(pidx):
            cand = [j for j, g in enumerate(gidx) if gt.videos[gt.video[g]] == pred.videos[pred.video[i]]]
            tiou = {j: float(segment_tiou(pred.t_start[i], pred.t_end[i], gt.t_start[gidx[j]],
                                          gt.t_end[gidx[j]])) for j in cand}
            if ties == "numpy":  # the official: tiou.argsort()[::-1] over the video's GTs in file order
                cand = [cand[j] for j in np.array([tiou[j] for j in cand]).argsort()[::-1]]
            else:
                cand.sort(key=lambda j: (not np.isnan(tiou[j]), -np.nan_to_num(tiou[j]), -j))
            for t, thr in enumerate(thresholds):
                for j in cand:
                    if tiou[j] < thr:
                        break
                    if not lock[t, j]:
                        lock[t, j], tp[t, k] = True, 1
                        break
        tpc, fpc = np.cumsum(tp, axis=1), np.cumsum(1 - tp, axis=1)
        for t in range(len(thresholds)):
            ap[t, c] = average_precision_all_point(tpc[t] / (tpc[t] + fpc[t]), tpc[t] / len(gidx))
    return ap


_grid = st.integers(0, 24).map(lambda k: k * 0.25)  # coarse grid: many tIoUs on thresholds, ties, zeros


@st.composite
def tal_case(draw):
    gt_rows, pred_rows = [], []
    for _ in range(draw(st.integers(1, 14))):
        v, c, s, n = draw(st.sampled_from("uvw")), draw(st.sampled_from("ab")), draw(_grid), draw(st.integers(0, 8))
        gt_rows.append((v, c, s, s + n * 0.25))
    labels = sorted({r[1] for r in gt_rows})
    for _ in range(draw(st.integers(0, 30))):
        v, c, s, n = draw(st.sampled_from("uvwx")), draw(st.sampled_from(labels)), draw(_grid), draw(st.integers(0, 8))
        pred_rows.append((v, c, s, s + n * 0.25, draw(st.integers(0, 6)) / 6))  # tied scores
    return _case(gt_rows, pred_rows)


@settings(max_examples=150, deadline=None)
@given(tal_case())
def test_vectorized_equals_reference_loop(case):
    gt, pred = case
    report = evaluate_tal(gt, pred)
    ref = reference_average_map(gt, pred)
    got = np.array([report.tables["ap_per_class_tiou"][c] for c in gt.labels]).T
    np.testing.assert_array_equal(got, ref)
    assert report.headline == ref.mean(axis=1).mean()


@settings(max_examples=60, deadline=None)
@given(tal_case(), st.randoms(use_true_random=False))
def test_ground_truth_as_prediction_scores_one(case, rnd):
    gt, _ = case
    segs = gt.segments()
    rnd.shuffle(segs)
    pred = TalPred.from_segments([Segment(s.video_id, s.label, s.start_s, s.end_s, rnd.choice([0.2, 0.7]))
                                  for s in segs])
    report = evaluate_tal(gt, pred)
    assert report.headline == 1.0
    assert all(v == 1.0 for v in report.per_class.values())


def test_unknown_label_is_an_error_or_ignored_with_a_warning():
    gt, pred = _case([("v", "a", 0.0, 1.0)], [("v", "a", 0.0, 1.0, 0.5), ("v", "zz", 0.0, 1.0, 0.9)])
    with pytest.raises(InputError, match="'zz' \\(1 predictions\\) is not a class"):
        evaluate_tal(gt, pred, unknown_labels="error")
    report = evaluate_tal(gt, pred)
    assert report.headline == 1.0
    assert any("1 predictions with 1 labels" in w and "zz" in w for w in report.warnings)


def test_custom_thresholds_and_report_shape():
    gt, pred = _case([("v", "a", 0.0, 10.0), ("v", "b", 0.0, 10.0)], [("v", "a", 0.0, 6.0, 0.5)])
    report = evaluate_tal(gt, pred, tiou_thresholds=[0.3, 0.7])
    assert report.per_threshold == {"0.3": 0.5, "0.7": 0.0}
    assert report.per_class == {"a": 0.5, "b": 0.0}
    assert report.headline == 0.25 and report.headline_name == "average mAP"
    d = report.to_dict()
    assert d["headline"] == {"name": "average mAP", "value": 0.25}
    assert d["ap_per_class_tiou"] == {"a": [1.0, 0.0], "b": [0.0, 0.0]}
    with pytest.raises(InputError):
        evaluate_tal(gt, pred, tiou_thresholds=[])


@pytest.mark.parametrize("n_other,pos", [(18, 0), (18, 8), (18, 9), (18, 17), (2, 0), (6, 1), (14, 6)])
def test_numpy_ties_follow_numpys_gt_order(n_other, pos):
    """A class's GTs in a video, two with equal tIoU for a prediction: which one is tried first is numpy's
    argsort's choice in ``numpy`` mode (with 20 GTs numpy 1.23.5 gave 0.01, 0.005, 0.01, 0.01 at the first
    four positions; AVX-512 sorts differ from a stable sort from 4 GTs on), the later one in the default."""
    rows = [("v", "a", 100.0 + 10 * k, 101.0 + 10 * k) for k in range(n_other)]
    rows[pos:pos] = [("v", "a", 0.0, 4.0), ("v", "a", 2.0, 6.0)]
    gt, pred = _case(rows, [("v", "a", 2.0, 4.0, 0.9), ("v", "a", 4.0, 6.0, 0.8)])
    ref = reference_average_map(gt, pred, ties="numpy")
    assert evaluate_tal(gt, pred, ties="numpy").headline == ref.mean(axis=1).mean()
    assert evaluate_tal(gt, pred).headline == pytest.approx(0.1 / (n_other + 2), abs=1e-15)  # later GT [2, 6] first


@st.composite
def crowded_case(draw):
    """Many tied scores in a class and many GTs in a video: groups larger than 16, where numpy's sorts differ."""
    gt_rows = [("v", "a", s * 0.5, s * 0.5 + draw(st.integers(1, 6)) * 0.5) for s in range(draw(st.integers(5, 30)))]
    pred_rows = [("v", "a", s * 0.5, s * 0.5 + draw(st.integers(1, 6)) * 0.5, draw(st.integers(0, 3)) / 3)
                 for s in draw(st.lists(st.integers(0, 30), min_size=1, max_size=60))]
    return _case(gt_rows, pred_rows)


@settings(max_examples=60, deadline=None)
@given(crowded_case())
def test_numpy_ties_equal_the_reference_with_numpys_argsort(case):
    gt, pred = case
    got = evaluate_tal(gt, pred, ties="numpy").tables["ap_per_class_tiou"]["a"]
    np.testing.assert_array_equal(got, reference_average_map(gt, pred, ties="numpy")[:, 0])

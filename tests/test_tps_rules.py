"""Kinetics-TPS rules on hand-made cases, and the vectorized matching against a per-frame reference."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from deeperaction.formats.kinetics_tps import read_tps
from deeperaction.metrics.tps import evaluate_tps
from deeperaction.metrics.tps_match import OrderedSums, match_humans


def _ref_frame(g: np.ndarray, p: np.ndarray) -> set[tuple[int, int]]:
    """Per-frame reference: float32 IoU matrix with the official rules, float64 padding, scipy."""
    g32, p32 = np.float32(g), np.float32(p)
    m = np.zeros((len(g), len(p)), dtype=np.float32)
    for i, a in enumerate(g32):
        for j, b in enumerate(p32):
            iw = min(a[2], b[2]) - max(a[0], b[0]) + 1  # numpy 1.x: float32 - float32, then float64
            ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
            if iw <= 0 or ih <= 0:
                m[i, j] = -1.0
                continue
            inter = iw * ih
            union = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - inter
            m[i, j] = inter / float(union)
    full = m
    if len(p) > len(g):
        full = np.concatenate((m, np.full((len(p) - len(g), len(p)), 0.0)), axis=0)
    elif len(g) > len(p):
        full = np.concatenate((m, np.full((len(g), len(g) - len(p)), 0.0)), axis=1)
    r, c = linear_sum_assignment(1 - full)
    return {(i, j) for i, j in zip(r, c) if i < len(g) and j < len(p) and m[i, j] > 0}


def _crowd(rng, n: int, base: np.ndarray | None = None) -> np.ndarray:
    if base is not None and len(base) and rng.random() < 0.7:  # jittered copies, sometimes exact duplicates
        src = base[rng.integers(0, len(base), n)]
        jit = rng.normal(0, 3, (n, 4)) * (rng.random((n, 1)) < 0.7)
        b = src + jit
    else:
        xy = rng.uniform(0, 60, (n, 2))
        b = np.hstack([xy, xy + rng.uniform(1, 40, (n, 2))])
    b = np.round(b, int(rng.integers(0, 2)))
    return np.hstack([np.minimum(b[:, :2], b[:, 2:]), np.maximum(b[:, :2], b[:, 2:])])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_vectorized_matching_equals_per_frame_scipy(seed):
    rng = np.random.default_rng(seed)
    n_frames = 40
    gt_n = rng.integers(1, 7, n_frames)
    pr_n = rng.integers(1, 9, n_frames)
    gts = [_crowd(rng, int(k)) for k in gt_n]
    prs = [_crowd(rng, int(k), g) for k, g in zip(pr_n, gts)]
    gt_h0, pr_h0 = np.cumsum(gt_n) - gt_n, np.cumsum(pr_n) - pr_n
    g, p, iou, padded, fr, _ = match_humans(np.vstack(gts), gt_h0, gt_n, np.vstack(prs), pr_h0, pr_n)
    assert (np.diff(g) >= 0).all()
    for f in range(n_frames):
        sel = fr == f
        got = {(int(a - gt_h0[f]), int(b - pr_h0[f])) for a, b in zip(g[sel], p[sel])}
        assert got == _ref_frame(gts[f], prs[f]), f
        assert (padded[sel] == (gt_n[f] != pr_n[f])).all()


@given(st.lists(st.tuples(st.integers(0, 4), st.floats(-1, 1, allow_nan=False)), max_size=60))
def test_ordered_sums_add_left_to_right(items):
    seg = np.array([s for s, _ in items], dtype=np.int64)
    val = np.array([v for _, v in items])
    got = OrderedSums(seg, 5)(val)
    for s in range(5):
        acc = 0.0
        for k, v in items:
            if k == s:
                acc += v
        assert got[s] == acc  # bit for bit


# hand-made cases --------------------------------------------------------------------------
def _h(box, parts):
    return {"box": box, "parts": parts}


def _score(tmp_path, gt_part, pred_part, gt_vid=None, pred_vid=None, **kw):
    vids = list(gt_part)
    for kind, part, vid in (("gt", gt_part, gt_vid), ("pred", pred_part, pred_vid)):
        d = tmp_path / kind
        d.mkdir(exist_ok=True)
        (d / f"{kind}_vid_result.json").write_text(json.dumps(vid or {v: "a" for v in vids}))
        (d / f"{kind}_part_result.json").write_text(json.dumps(part))
    return evaluate_tps(read_tps(tmp_path / "gt", "gt"), read_tps(tmp_path / "pred", "pred"), **kw)


GT_H = _h([0, 0, 99, 99], {"head": {"box": [10, 10, 29, 29], "verb": "raise"},
                           "hip": {"box": [40, 40, 59, 59], "verb": "none"}})


def _pred(head=([[10, 10, 29, 29]], ["raise"]), hip=([[40, 40, 59, 59]], ["none"]), box=(0, 0, 99, 99)):
    return _h(list(box), {"head": {"box": head[0], "verb": head[1]}, "hip": {"box": hip[0], "verb": hip[1]}})


def test_credit_is_one_over_proposals_and_needs_same_state(tmp_path):
    pred = _pred(head=([[10, 10, 29, 29], [0, 0, 5, 5]], ["raise", "raise"]), hip=([[40, 40, 59, 59]], ["bend"]))
    r = _score(tmp_path, {"v": {"img_00001.json": {"humans": [GT_H]}}},
               {"v": {"img_00001.json": {"humans": [pred]}}})
    assert r.per_video["v"] == pytest.approx((0.5 + 0.0) / 2)


def test_frame_rules_absent_frame_counts_zero_and_partless_frames(tmp_path):
    no_parts = _h([0, 0, 99, 99], {})
    gt = {"v": {"img_00001.json": {"humans": [GT_H]}, "img_00006.json": {"humans": [GT_H]},
                "img_00011.json": {"humans": []}, "img_00016.json": {"humans": [no_parts]},
                "img_00021.json": {"humans": [no_parts]}}}
    pred = {"v": {"img_00001.json": {"humans": [_pred()]}, "img_00016.json": {"humans": [_pred()]}}}
    r = _score(tmp_path, gt, pred)
    # frames: 1.0, absent (0), empty (dropped), part-less in pred (dropped), part-less absent (counts 0)
    assert r.per_video["v"] == pytest.approx(1.0 / 3)
    c = r.tables["counts"]
    assert (c["dropped_frames_no_humans"], c["dropped_frames_no_parts"], c["countable_frames"]) == (1, 1, 3)


def test_video_without_countable_frames_has_psc_one(tmp_path):
    gt = {"v": {"img_00001.json": {"humans": [GT_H]}}, "w": {"img_00001.json": {"humans": []}}}
    pred = {"v": {"img_00001.json": {"humans": [_pred()]}}}
    r = _score(tmp_path, gt, pred, pred_vid={"v": "a", "w": "a", "x": "b"})
    assert r.per_video["w"] == 1.0 and r.per_video["v"] == 1.0
    assert r.headline == pytest.approx(0.9999)
    assert r.tables["counts"]["extra_pred_videos"] == 1
    assert any("not in the GT" in w for w in r.warnings)


def test_thresholds_human_strict_part_inclusive(tmp_path):
    # human IoU exactly 0.5 (+1 pixel areas: 50 / 100) is not a match; part IoU exactly 0.3 counts
    half = _pred(box=(0, 0, 9, 4))
    gt_small = _h([0, 0, 9, 9], {"head": {"box": [0, 0, 9, 9], "verb": "raise"}})
    r = _score(tmp_path, {"v": {"img_00001.json": {"humans": [gt_small]}}},
               {"v": {"img_00001.json": {"humans": [half]}}})
    assert r.per_video["v"] == 0.0 and r.tables["counts"]["matched_humans"] == 0
    part30 = _h([0, 0, 9, 9], {"head": {"box": [[0, 0, 9, 2]], "verb": ["raise"]}})  # 30 / 100
    r = _score(tmp_path, {"v": {"img_00001.json": {"humans": [gt_small]}}},
               {"v": {"img_00001.json": {"humans": [part30]}}})
    assert r.per_video["v"] == 1.0
    r = _score(tmp_path, {"v": {"img_00001.json": {"humans": [gt_small]}}},
               {"v": {"img_00001.json": {"humans": [part30]}}}, part_iou=0.31)
    assert r.per_video["v"] == 0.0


def test_wrong_action_scores_zero(tmp_path):
    r = _score(tmp_path, {"v": {"img_00001.json": {"humans": [GT_H]}}},
               {"v": {"img_00001.json": {"humans": [_pred()]}}}, pred_vid={"v": "b"})
    assert r.per_video["v"] == 1.0 and r.headline == 0.0


def test_empty_sets(tmp_path):
    # a GT video with no frames and one with only empty frames: PSC 1.0 each (official), no predicted frames
    r = _score(tmp_path, {"v": {}, "w": {"img_00001.json": {"humans": []}}}, {"v": {}})
    assert r.per_video == {"v": 1.0, "w": 1.0} and r.headline == pytest.approx(0.9999)


def test_pred_humans_without_parts_or_proposals(tmp_path):
    gt = {"v": {"img_00001.json": {"humans": [GT_H]}}}
    empty = _h([0, 0, 99, 99], {"head": {"box": [], "verb": []}})
    r = _score(tmp_path, gt, {"v": {"img_00001.json": {"humans": [_h([0, 0, 99, 99], {}), empty]}}})
    assert r.per_video["v"] == 0.0 and r.tables["counts"]["matched_humans"] == 1

"""Diagnostics of spatio-temporal detection (MultiSports frame/video, AVA keyframes), Hoiem/DETAD style.

One core (:func:`analyze_matches`) takes detections and GT objects that share integer keys (a frame,
a keyframe, a video), an IoU function for (GT, detection) pairs, and the official matching rule
(per class by descending score; each detection takes its argmax-IoU GT of its class; TP if IoU >= thr
and that GT is still free; no fall-through). It types every false positive (double detection, wrong
label, localization, confusion, background), gives per-class PR curves, and flags missed GT so they
can be broken down by size and length. Numbers shown as official come from the metric's Report.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from deeperaction.metrics.ava import ava_iou_rows
from deeperaction.metrics.iou import box_iou_rows, tube_st_iou_pairs
from deeperaction.viz.matching import (BG_IOU, FP_TYPES, argmax_match, bin_rates, fp_types, group_max, key_pairs,
                                       pr_curve_points, segmented_ap)

SIZE_BINS = ([0, 0.01, 0.03, 0.1, 0.3], ["XS <1%", "S 1-3%", "M 3-10%", "L 10-30%", "XL >30%"])
"""Box area as a fraction of the frame."""
LENGTH_BINS = ([0, 17, 33, 65, 129], ["XS <=16", "S 17-32", "M 33-64", "L 65-128", "XL >128"])
"""Tube length in frames."""


def analyze_matches(d_key: np.ndarray, d_cls: np.ndarray, d_score: np.ndarray, g_key: np.ndarray,
                    g_cls: np.ndarray, iou_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    classes: np.ndarray, n_cls: int, thr: float) -> dict:
    """Match and type detections of ``classes``; arrays are in processing order (class, score desc).

    Returns ``order`` (detection index by rank), ``cls``, ``tp``, ``types``, ``gt_hit`` (per GT), ``ap``
    (per class index, nan without GT), ``npos``.
    """
    d_ok = np.flatnonzero(np.isin(d_cls, classes))
    o = np.lexsort((-d_score[d_ok], d_cls[d_ok]))  # stable: equal scores keep input order
    order = d_ok[o]
    cls = d_cls[order]
    n = len(order)
    g_ok = np.isin(g_cls, classes)
    pi, gi = key_pairs(d_key[order], np.where(g_ok, g_key, -1))
    iou = iou_fn(gi, order[pi]) if len(pi) else np.zeros(0)
    iou = np.where(np.isnan(iou), -1.0, iou)  # the official treats an undefined IoU as a false positive
    same = g_cls[gi] == cls[pi]
    same_max, same_pos = group_max(pi[same], iou[same], n, fill=-1.0)
    other_max, _ = group_max(pi[~same], iou[~same], n, fill=-1.0)
    best_gt = np.where(same_pos >= 0, gi[same][np.maximum(same_pos, 0)], -1)
    rank = np.arange(n)
    tp = argmax_match(rank, best_gt, same_max, thr)
    gt_hit = np.zeros(len(g_key), bool)
    gt_hit[best_gt[tp]] = True
    npos = np.bincount(g_cls[g_ok], minlength=n_cls).astype(np.float64)
    return {"order": order, "cls": cls, "tp": tp, "types": fp_types(tp, same_max, other_max, thr),
            "gt_hit": gt_hit, "gt_used": g_ok, "ap": segmented_ap(tp, cls, npos), "npos": npos}


def summarize(m: dict, names: list[str], classes: np.ndarray, *, top_curves: int = 300) -> dict:
    """JSON-ready summary of :func:`analyze_matches`: FP type counts overall and per class, PR curves."""
    tp, cls, types = m["tp"], m["cls"], m["types"]
    n_cls = len(m["npos"])
    fp = types >= 0
    counts = np.bincount(types[fp], minlength=len(FP_TYPES))
    by_cls = np.bincount(cls[fp] * 5 + types[fp], minlength=5 * n_cls).reshape(n_cls, 5)
    bounds = np.searchsorted(cls, np.arange(n_cls + 1))
    per_class, curves = {}, {}
    for c in classes.tolist():
        if m["npos"][c] <= 0:
            continue
        lo, hi = bounds[c], bounds[c + 1]
        per_class[names[c]] = {"gt": int(m["npos"][c]), "det": int(hi - lo), "tp": int(tp[lo:hi].sum()),
                               **{t: int(by_cls[c, j]) for j, t in enumerate(FP_TYPES)},
                               "ap_check": None if np.isnan(m["ap"][c]) else float(m["ap"][c])}
        if len(curves) < top_curves:
            curves[names[c]] = pr_curve_points(tp[lo:hi], int(m["npos"][c]))
    # composition of the top-1G..10G detections (by score over all classes), as in DETAD
    n_gt = int(m["npos"].sum())
    comp = {}
    if n_gt:
        score_rank = np.argsort(-m["score_sorted"], kind="stable")[:10 * n_gt] if "score_sorted" in m else []
        bins = np.minimum(np.arange(len(score_rank)) // n_gt, 9)
        tot = np.maximum(np.bincount(bins, minlength=10), 1)
        ty = types[score_rank] + 1
        mat = np.bincount(ty * 10 + bins, minlength=60).reshape(6, 10) / tot
        comp = {name: mat[j].tolist() for j, name in enumerate(("true positive",) + FP_TYPES)}
    return {"fp_counts": {t: int(counts[j]) for j, t in enumerate(FP_TYPES)}, "tp": int(tp.sum()),
            "detections": int(len(tp)), "gt": n_gt, "per_class": per_class, "pr_curves": curves,
            "fp_composition_top_g": comp}


def _with_scores(m: dict, score: np.ndarray) -> dict:
    m["score_sorted"] = score[m["order"]]
    return m


# ------------------------------------------------------------------------------------------ MultiSports
def _gt_frame_rows(tubes, classes: np.ndarray):
    """GT tube rows as boxes: (video, 1-based frame, label, tube index, box)."""
    lens = np.diff(tubes.offsets)
    t_of = np.repeat(np.arange(len(lens)), lens)
    frame = tubes.start[t_of] + (np.arange(len(t_of)) - tubes.offsets[:-1][t_of])
    return tubes.video[t_of], frame, tubes.label[t_of], t_of, tubes.boxes[:, :4]


def _area_fraction(boxes: np.ndarray, video: np.ndarray, res: np.ndarray) -> np.ndarray:
    """Box area over frame area (``res`` (n_videos, 2) = h, w; 0 = unknown -> nan)."""
    a = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    hw = res[video]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hw[:, 0] * hw[:, 1] > 0, a / (hw[:, 0] * hw[:, 1]), np.nan)


def analyze_multisports(gt, frame_dets=None, video_dets=None, *, protocol: str = "2022",
                        frame_iou: float = 0.5, video_iou: float = 0.5, worst: int = 6) -> dict:
    """Frame-level and video-level error analyses of MultiSports detections (either may be None)."""
    from deeperaction.formats.multisports import NEVER_SCORED

    names = list(gt.labels)
    tubes = gt.tube_arrays()
    n_cls, nv = len(names), len(gt.test_videos)
    has_gt = np.bincount(tubes.label, minlength=n_cls) > 0
    classes = np.array([c for c in range(n_cls) if names[c] not in NEVER_SCORED and has_gt[c]], dtype=np.int64)
    res = np.array([gt.resolution.get(v, (0, 0)) for v in gt.test_videos] + [(0, 0)], dtype=np.float64)
    plus_one = protocol == "2021"
    out: dict = {"protocol": protocol, "classes": [names[c] for c in classes]}
    if frame_dets is not None and len(tubes):
        gv, gf, gl, gtube, gbox = _gt_frame_rows(tubes, classes)
        fr = int(max(gf.max(initial=0), frame_dets.frame.max(initial=0))) + 2
        d_ok = (frame_dets.video >= 0) & (frame_dets.video < nv)
        d_key = np.where(d_ok, frame_dets.video * fr + frame_dets.frame, -1)
        m = analyze_matches(d_key, frame_dets.label, frame_dets.score, gv * fr + gf, gl,
                            lambda g, d: box_iou_rows(gbox[g], frame_dets.boxes[d].astype(np.float64),
                                                      plus_one=plus_one),
                            classes, n_cls, frame_iou)
        s = summarize(_with_scores(m, frame_dets.score), names, classes)
        used = m["gt_used"]
        missed = ~m["gt_hit"][used]
        s["missed_by_size"] = bin_rates(_area_fraction(gbox[used], gv[used], res), missed, *SIZE_BINS)
        s["missed_by_tube_length"] = bin_rates((tubes.end - tubes.start + 1)[gtube[used]], missed, *LENGTH_BINS)
        s["iou"] = frame_iou
        out["frame"] = s
    if video_dets is not None and len(tubes):
        det = video_dets.tubes
        m = analyze_matches(np.where(det.video >= 0, det.video, -1), det.label, det.score, tubes.video, tubes.label,
                            lambda g, d: tube_st_iou_pairs(tubes, det, g, d, protocol=protocol),
                            classes, n_cls, video_iou)
        s = summarize(_with_scores(m, det.score), names, classes)
        used = m["gt_used"]
        missed = ~m["gt_hit"][used]
        length = (tubes.end - tubes.start + 1)
        s["missed_by_tube_length"] = bin_rates(length[used], missed, *LENGTH_BINS)
        lens = np.diff(tubes.offsets)
        t_of = np.repeat(np.arange(len(tubes)), lens)
        frac = _area_fraction(tubes.boxes[:, :4], tubes.video[t_of], res)
        mean_frac = np.bincount(t_of, weights=np.nan_to_num(frac), minlength=len(tubes)) / np.maximum(lens, 1)
        s["missed_by_size"] = bin_rates(mean_frac[used], missed, *SIZE_BINS)
        s["iou"] = video_iou
        s["worst"] = _worst_videos_ms(gt, tubes, det, m, names, worst)
        out["video"] = s
    return out


def _worst_videos_ms(gt, tubes, det, m: dict, names: list[str], k: int) -> list[dict]:
    """Videos with the most missed GT tubes; for each, its worst missed tube's middle frame with the GT
    box and the best-scored detection boxes of that frame (for thumbnails)."""
    nv = len(gt.test_videos)
    used = m["gt_used"]
    miss = used & ~m["gt_hit"]
    n_miss = np.bincount(tubes.video[miss], minlength=nv)
    out = []
    inv = np.full(len(det), -1, np.int64)
    inv[m["order"]] = np.arange(len(m["order"]))
    for v in np.argsort(-n_miss, kind="stable")[:k].tolist():
        if n_miss[v] == 0:
            break
        t = int(np.flatnonzero(miss & (tubes.video == v))[0])
        mid = int((tubes.start[t] + tubes.end[t]) // 2)
        g_boxes = []
        for j in np.flatnonzero((tubes.video == v) & (tubes.start <= mid) & (tubes.end >= mid)).tolist():
            row = tubes.offsets[j] + (mid - tubes.start[j])
            g_boxes.append([*map(float, tubes.boxes[row, :4]), names[tubes.label[j]], bool(m["gt_hit"][j])])
        cand = np.flatnonzero((det.video == v) & (det.start <= mid) & (det.end >= mid))
        cand = cand[np.argsort(-det.score[cand], kind="stable")[:5]]
        p_boxes = []
        for d in cand.tolist():
            row = det.offsets[d] + (mid - det.start[d])
            ty = m["types"][inv[d]] if inv[d] >= 0 else 4
            p_boxes.append([*map(float, det.boxes[row, :4]), names[det.label[d]], float(det.score[d]),
                            "true positive" if ty < 0 else FP_TYPES[ty]])
        out.append({"video": gt.test_videos[v], "missed": int(n_miss[v]), "gt_tubes": int((tubes.video == v).sum()),
                    "frame": mid - 1, "gt": g_boxes, "pred": p_boxes,
                    "size": [float(x) for x in gt.resolution.get(gt.test_videos[v], (0, 0))]})
    return out


# -------------------------------------------------------------------------------------------------- AVA
def analyze_ava(gt, pred, labelmap: Mapping[int, str] | None = None, *, iou: float = 0.5, top_k: int = 50,
                worst: int = 6) -> dict:
    """Keyframe-level error analysis of AVA detections (label-map classes, top-k per keyframe kept,
    detections on keyframes without GT ignored, as the official scorer does)."""
    from deeperaction.formats.ava import keyframe_keys

    ids = sorted(labelmap) if labelmap else sorted(set(np.unique(gt.label).tolist()))
    n_cls = int(max(ids, default=0)) + 1
    names = [labelmap.get(i, str(i)) if labelmap else str(i) for i in range(n_cls)]
    classes = np.array(ids, dtype=np.int64)
    vocab = {v: i for i, v in enumerate(gt.videos)}
    pv = np.array([vocab.get(v, -1) for v in pred.videos] + [-1], dtype=np.int64)[pred.video]
    gts, pts = keyframe_keys(gt.timestamp), keyframe_keys(pred.timestamp)
    lo = int(min(gts.min(initial=0), pts.min(initial=0)))
    span = int(max(gts.max(initial=0), pts.max(initial=0))) - lo + 1
    g_key = gt.video.astype(np.int64) * span + (gts - lo)
    p_key = np.where(pv >= 0, pv * span + (pts - lo), -1)
    known = np.unique(np.r_[g_key, gt.empty_video.astype(np.int64) * span + (keyframe_keys(gt.empty_timestamp) - lo)])
    p_key = np.where(np.isin(p_key, known), p_key, -1)
    # top-k per keyframe by score (ties: file order)
    o = np.lexsort((np.arange(len(p_key)), -pred.score, p_key))
    sk = p_key[o]
    start = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]]) if len(sk) else np.zeros(0, np.int64)
    rank = np.arange(len(sk)) - np.repeat(start, np.diff(np.r_[start, len(sk)]))
    drop = o[rank >= top_k] if top_k >= 1 else np.zeros(0, np.int64)
    p_key[drop] = -1
    ok = (p_key >= 0) & (pred.boxes[:, 2] > pred.boxes[:, 0]) & (pred.boxes[:, 3] > pred.boxes[:, 1])
    d_cls = np.where(ok, pred.label, -1)
    m = analyze_matches(p_key, d_cls, pred.score, g_key, gt.label.astype(np.int64),
                        lambda g, d: ava_iou_rows(pred.boxes[d], gt.boxes[g]), classes, n_cls, iou)
    s = summarize(_with_scores(m, pred.score), names, classes)
    used = m["gt_used"]
    missed = ~m["gt_hit"][used]
    b = gt.boxes[used]
    s["missed_by_size"] = bin_rates((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), missed, *SIZE_BINS)
    s["iou"] = iou
    # worst keyframes: most missed GT boxes
    miss_keys, n_miss = np.unique(g_key[used][missed], return_counts=True)
    out = []
    inv = np.full(len(pred), -1, np.int64)
    inv[m["order"]] = np.arange(len(m["order"]))
    for i in np.argsort(-n_miss, kind="stable")[:worst].tolist():
        key = miss_keys[i]
        g = np.flatnonzero(g_key == key)
        p = np.flatnonzero(p_key == key)
        p = p[np.argsort(-pred.score[p], kind="stable")[:5]]
        out.append({"video": gt.videos[gt.video[g[0]]], "timestamp": float(gt.timestamp[g[0]]),
                    "missed": int(n_miss[i]), "normalized": True,
                    "gt": [[*map(float, gt.boxes[j]), names[gt.label[j]], bool(m["gt_hit"][j])] for j in g],
                    "pred": [[*map(float, pred.boxes[d]), names[pred.label[d]], float(pred.score[d]),
                              _type_name(m["types"][inv[d]]) if inv[d] >= 0 else "ignored"] for d in p]})
    s["worst"] = out
    return {"frame": s, "classes": [names[c] for c in classes]}


def _type_name(t: int) -> str:
    return "true positive" if t < 0 else FP_TYPES[t]


__all__ = ["analyze_matches", "analyze_multisports", "analyze_ava", "BG_IOU"]

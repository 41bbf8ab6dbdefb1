"""Diagnostics of temporal action localization (DETAD-style, Alwassel et al. ECCV 2018), vectorized.

From the ActivityNet-style GT and predictions: per-threshold TP flags with the official matching
(descending score, fall-through to the next best free GT), every false positive typed (double
detection, wrong label, localization, confusion, background; see :func:`~deeperaction.viz.matching.fp_types`),
the error composition of the top-1G..10G predictions, the average-mAP gained by removing each error
type, false negatives by segment length / coverage / instances per video, and the worst videos.
"""
from __future__ import annotations

import numpy as np

from deeperaction.formats.activitynet import TalGT, TalPred
from deeperaction.metrics.tal import DEFAULT_TIOU, score_order, segment_tiou
from deeperaction.viz.matching import (BG_IOU, FP_TYPES, bin_rates, fp_types, greedy_fallthrough, group_max,
                                       key_pairs, segmented_ap)

LENGTH_BINS = ([0, 3, 6, 12, 18], ["XS (0-3s]", "S (3-6s]", "M (6-12s]", "L (12-18s]", "XL >18s"])
COVERAGE_BINS = ([0, 0.02, 0.04, 0.06, 0.08], ["XS (0-.02]", "S (.02-.04]", "M (.04-.06]", "L (.06-.08]",
                                               "XL >.08"])
INSTANCE_BINS = ([1, 2, 5, 9], ["XS 1", "S 2-4", "M 5-8", "L >8"])
TOP_G = 10


def analyze_tal(gt: TalGT, pred: TalPred, thresholds=DEFAULT_TIOU, *, ties: str = "later-first",
                worst: int = 6) -> dict:
    """Everything the TAL report shows beyond the metric's own numbers, JSON-ready (see module doc)."""
    thr = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    n_cls, n_vid, n_gt = len(gt.labels), len(gt.videos), len(gt)
    lidx = {c: i for i, c in enumerate(gt.labels)}
    vidx = {v: i for i, v in enumerate(gt.videos)}
    cls = np.array([lidx.get(x, -1) for x in pred.labels] + [-1], dtype=np.int64)[pred.label]
    vid = np.array([vidx.get(x, -1) for x in pred.videos] + [-1], dtype=np.int64)[pred.video]
    keep = np.flatnonzero(cls >= 0)  # unknown labels: the metric errors or drops them; so do we
    order = keep[score_order(cls[keep], pred.score[keep], ties)]
    cls, vid = cls[order], vid[order]
    ps, pe, score = pred.t_start[order], pred.t_end[order], pred.score[order]
    n = len(order)

    # every (prediction, GT) pair in the same video, any class
    pi, gi = key_pairs(vid, gt.video)
    tiou = segment_tiou(ps[pi], pe[pi], gt.t_start[gi], gt.t_end[gi])
    nan = np.isnan(tiou)
    live = nan | (tiou >= min(BG_IOU, thr.min()))  # lower pairs change no flag and no type
    pi, gi, tiou, nan = pi[live], gi[live], tiou[live], nan[live]
    same = gt.label[gi] == cls[pi]
    val = np.where(nan, 1.0, tiou)  # official: a nan tIoU passes every threshold
    same_max, _ = group_max(pi[same], val[same], n)
    other_max, other_pos = group_max(pi[~same], val[~same], n)
    other_gt = np.where(other_pos >= 0, gi[~same][np.maximum(other_pos, 0)], -1)

    # official matching per threshold: preference nan first, then tIoU desc, then later GT first
    sp, sg, sv, sn = pi[same], gi[same], np.where(nan, 0.0, tiou)[same], nan[same]
    pref = np.lexsort((-sg, -sv, ~sn, sp))
    sp, sg, sv, sn = sp[pref], sg[pref], sv[pref], sn[pref]
    tp = np.zeros((len(thr), n), dtype=bool)
    gt_hit = np.zeros((len(thr), n_gt), dtype=bool)
    for k, t in enumerate(thr):
        ok = sn | (sv >= t)
        tp[k], g_of = greedy_fallthrough(sp[ok], sg[ok], n, n_gt)
        gt_hit[k, g_of[tp[k]]] = True
    types = np.stack([fp_types(tp[k], same_max, other_max, t) for k, t in enumerate(thr)])

    npos = np.bincount(gt.label, minlength=n_cls).astype(np.float64)
    ap = np.stack([segmented_ap(tp[k], cls, npos) for k in range(len(thr))])  # (T, C)
    base = float(np.nanmean(ap, axis=1).mean()) if n_cls else float("nan")
    gain = {}
    for j, name in enumerate(FP_TYPES):
        aps = [segmented_ap(tp[k], cls, npos, types[k] == j) for k in range(len(thr))]
        gain[name] = float(np.mean([np.nanmean(a) for a in aps])) - base

    # DETAD: composition of the top-1G .. top-10G predictions (global score order), averaged over tIoU
    glob = np.argsort(-score, kind="stable")[:TOP_G * n_gt]
    bins = np.minimum(np.arange(len(glob)) // max(n_gt, 1), TOP_G - 1)
    names = ("true positive",) + FP_TYPES
    tg = types[:, glob] + 1  # (T, top) 0 = TP, 1.. = FP type
    tot = np.maximum(np.bincount(bins, minlength=TOP_G), 1)
    comp_arr = np.zeros((len(names), TOP_G))
    for k in range(len(thr)):
        comp_arr += np.bincount(tg[k] * TOP_G + bins, minlength=len(names) * TOP_G).reshape(-1, TOP_G) / tot
    comp = {name: (comp_arr[j] / len(thr)).tolist() for j, name in enumerate(names)}
    tot_ty = np.bincount(tg.ravel(), minlength=len(names)) / len(thr)
    counts = {name: float(tot_ty[j + 1]) for j, name in enumerate(FP_TYPES)}

    # confused class pairs (wrong label + confusion) at the middle threshold
    mid = int(np.argmin(np.abs(thr - 0.5)))
    conf = np.flatnonzero(np.isin(types[mid], (1, 3)) & (other_gt >= 0))
    pair = cls[conf] * n_cls + gt.label[other_gt[conf]]
    up, uc = np.unique(pair, return_counts=True)
    top = np.argsort(-uc, kind="stable")[:15]
    confused = [{"predicted": gt.labels[int(up[i] // n_cls)], "actual": gt.labels[int(up[i] % n_cls)],
                 "count": int(uc[i])} for i in top]

    # false negatives by GT characteristics, averaged over thresholds
    missed = 1.0 - gt_hit.mean(axis=0)
    length = gt.t_end - gt.t_start
    inst = np.bincount(gt.video * n_cls + gt.label, minlength=n_vid * n_cls)[gt.video * n_cls + gt.label]
    fn = {"length": bin_rates(length, missed, *LENGTH_BINS),
          "instances": bin_rates(inst, missed, *INSTANCE_BINS)}
    dur = gt.duration[gt.video]
    if np.isfinite(dur).all() and (dur > 0).all():
        fn["coverage"] = bin_rates(length / dur, missed, *COVERAGE_BINS)

    per_class = {}
    n_pred = np.bincount(cls, minlength=n_cls)
    n_tp = np.bincount(cls[tp[mid]], minlength=n_cls)
    fp = types[mid] >= 0
    fp_by = np.bincount(cls[fp] * 5 + types[mid][fp], minlength=5 * n_cls).reshape(n_cls, 5)
    for c, name in enumerate(gt.labels):
        per_class[name] = {"gt": int(npos[c]), "pred": int(n_pred[c]), "tp": int(n_tp[c]),
                           "main_error": FP_TYPES[int(fp_by[c].argmax())] if fp_by[c].any() else "-"}
    return {
        "thresholds": thr.tolist(),
        "ap_check": {"average_map": base, "per_class": {c: [None if np.isnan(a) else float(a) for a in ap[:, i]]
                                                         for i, c in enumerate(gt.labels)}},
        "fp_types": list(FP_TYPES), "fp_counts_top10g": counts, "fp_composition_top_g": comp,
        "removal_gain": gain, "confused_pairs": confused, "false_negatives": fn, "per_class": per_class,
        "worst": _worst_videos(gt, vid, cls, ps, pe, score, types[mid], gt_hit[mid], worst),
        "counts": {"predictions": int(n), "gt": int(n_gt), "bg_iou": BG_IOU, "middle_tiou": float(thr[mid])},
    }


def _worst_videos(gt: TalGT, vid, cls, ps, pe, score, types, hit, k: int) -> list[dict]:
    """Videos with the most missed GT segments (ties: most high-scoring false positives)."""
    n_vid = len(gt.videos)
    miss = np.bincount(gt.video[~hit], minlength=n_vid)
    v_ok = vid >= 0
    fp_hi = np.bincount(vid[v_ok & (types >= 0) & (score >= np.median(score) if len(score) else 0)],
                        minlength=n_vid)
    order = np.lexsort((-fp_hi, -miss))[:k]
    out = []
    for v in order.tolist():
        if miss[v] == 0 and fp_hi[v] == 0:
            continue
        g = np.flatnonzero(gt.video == v)
        p = np.flatnonzero(vid == v)[:15]  # already in score order within each class: re-sort globally
        p = np.flatnonzero(vid == v)
        p = p[np.argsort(-score[p], kind="stable")[:12]]
        dur = float(gt.duration[v]) if np.isfinite(gt.duration[v]) else None
        out.append({
            "video": gt.videos[v], "duration": dur, "missed": int(miss[v]), "gt_count": len(g),
            "gt": [[float(gt.t_start[i]), float(gt.t_end[i]), gt.labels[gt.label[i]], bool(hit[i])] for i in g],
            "pred": [[float(ps[i]), float(pe[i]), gt.labels[cls[i]], float(score[i]),
                      "true positive" if types[i] < 0 else FP_TYPES[types[i]]] for i in p],
        })
    return out

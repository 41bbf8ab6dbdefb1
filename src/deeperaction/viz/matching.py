"""Vectorized helpers the error analyses share: key pairs, per-group maxima, matching, segmented AP.

These are diagnostics helpers (numpy only). The numbers a report headlines come from the metrics;
the analyses re-derive per-detection true/false positive flags with the same matching rules so that
every false positive can be given a type (see :func:`fp_types`).
"""
from __future__ import annotations

import numpy as np

FP_TYPES: tuple[str, ...] = ("double detection", "wrong label", "localization", "confusion", "background")
"""False-positive types of the detection-analysis literature (DETAD, Hoiem et al.), in order of precedence."""
BG_IOU = 0.1
"""Below this (t)IoU with every ground truth a false positive is background (DETAD, Hoiem, TIDE)."""


def key_pairs(pkey: np.ndarray, gkey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (prediction, GT) index pairs with equal integer key (``pkey < 0`` never pairs).

    Pairs come grouped by prediction (ascending), and for one prediction by GT index (ascending).
    """
    pkey, gkey = np.asarray(pkey, np.int64), np.asarray(gkey, np.int64)
    g_order = np.argsort(gkey, kind="stable")
    sk = gkey[g_order]
    lo = np.searchsorted(sk, pkey, "left")
    cnt = np.searchsorted(sk, pkey, "right") - lo
    cnt[pkey < 0] = 0
    pi = np.repeat(np.arange(len(pkey), dtype=np.int64), cnt)
    start = np.repeat(np.cumsum(cnt) - cnt, cnt)
    gi = g_order[np.repeat(lo, cnt) + (np.arange(len(pi), dtype=np.int64) - start)]
    return pi, gi


def group_max(owner: np.ndarray, values: np.ndarray, n: int, fill: float = 0.0
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per owner ``0..n-1``: the max of its ``values`` and the position (into ``values``) of the first max.

    ``owner`` must be sorted ascending. Owners without values get ``fill`` and position -1.
    """
    mx = np.full(n, fill, dtype=np.float64)
    pos = np.full(n, -1, dtype=np.int64)
    if len(owner) == 0:
        return mx, pos
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    m = np.maximum.reduceat(values, starts)
    lens = np.diff(np.r_[starts, len(owner)])
    hit = np.flatnonzero(values == np.repeat(m, lens))
    first = hit[np.searchsorted(hit, starts)]
    mx[owner[starts]] = m
    pos[owner[starts]] = first
    return mx, pos


def argmax_match(rank: np.ndarray, best_gt: np.ndarray, best_iou: np.ndarray, thr: float) -> np.ndarray:
    """MultiSports-2022 / AVA rule: each detection takes its argmax GT; TP if IoU >= thr and no
    better-ranked detection took that GT (no fall-through). ``best_gt`` -1: no GT. Returns TP flags."""
    tp = np.zeros(len(rank), dtype=bool)
    c = np.flatnonzero((best_gt >= 0) & (best_iou >= thr))
    c = c[np.argsort(rank[c], kind="stable")]
    _, first = np.unique(best_gt[c], return_index=True)
    tp[c[first]] = True
    return tp


def greedy_fallthrough(pi: np.ndarray, gi: np.ndarray, n_pred: int, n_gt: int) -> tuple[np.ndarray, np.ndarray]:
    """ActivityNet rule: predictions in rank order each take their most preferred free GT.

    Edges ``(pi, gi)`` are admissible pairs sorted by prediction rank, then by preference. Solved in
    rounds: an edge wins when it heads its prediction's remaining list and no better-ranked prediction
    still wants that GT. Returns (TP flags by rank, matched GT per rank or -1).
    """
    gt_of = np.full(n_pred, -1, dtype=np.int64)
    locked = np.zeros(n_gt, dtype=bool)
    big = np.iinfo(np.int64).max
    first_p = np.full(n_gt, big, dtype=np.int64)
    while pi.size:
        head = np.r_[True, pi[1:] != pi[:-1]]
        first_p[gi] = big
        np.minimum.at(first_p, gi, pi)
        win = head & (first_p[gi] == pi)
        gt_of[pi[win]] = gi[win]
        locked[gi[win]] = True
        keep = (gt_of[pi] < 0) & ~locked[gi]
        pi, gi = pi[keep], gi[keep]
    return gt_of >= 0, gt_of


def fp_types(tp: np.ndarray, same_iou: np.ndarray, other_iou: np.ndarray, thr: float,
             bg: float = BG_IOU) -> np.ndarray:
    """Type of every detection: -1 true positive, else an index into :data:`FP_TYPES`.

    ``same_iou``/``other_iou``: best (t)IoU with a GT of the same / another class. Precedence (DETAD):
    double detection (same class >= thr, GT already taken), wrong label (other class >= thr),
    localization (same class in [bg, thr)), confusion (other class in [bg, thr)), background.
    """
    out = np.full(len(tp), 4, dtype=np.int64)
    out[other_iou >= bg] = 3
    out[same_iou >= bg] = 2
    out[other_iou >= thr] = 1
    out[same_iou >= thr] = 0
    out[tp] = -1
    return out


def segmented_ap(tp: np.ndarray, cls: np.ndarray, npos: np.ndarray, removed: np.ndarray | None = None
                 ) -> np.ndarray:
    """All-point AP of every class at once from TP flags in processing order grouped by class.

    ``cls`` ascending (rank order within a class); ``npos[c]`` GT count; ``removed`` flags false
    positives to leave out (to measure what an error type costs). AP = sum over TPs of the interpolated
    precision / npos, which is what the VOC/ActivityNet all-point rule sums; the interpolated precision
    at a TP is the max precision over TPs at or after it, so only TP positions are visited. Classes
    without GT get nan, classes without detections 0.
    """
    n_cls = len(npos)
    t = np.flatnonzero(tp)
    if len(t) == 0:
        return np.where(npos > 0, 0.0, np.nan)
    c = cls[t]
    start = np.searchsorted(cls, c)  # first position of each TP's class
    seen = t - start + 1.0
    if removed is not None:
        cr = np.cumsum(removed)
        seen -= cr[t] - np.r_[0, cr][start]
    first_tp = np.searchsorted(c, c)
    ctp = np.arange(len(t)) - first_tp + 1.0
    prec = ctp / seen
    off = 2.0 * (n_cls - c)  # offsets keep classes from mixing in the running max
    interp = np.maximum.accumulate((prec + off)[::-1])[::-1] - off
    s = np.bincount(c, weights=interp, minlength=n_cls)
    return np.where(npos > 0, s / np.maximum(npos, 1), np.nan)


def pr_curve_points(tp: np.ndarray, npos: int, max_points: int = 120) -> tuple[list[float], list[float]]:
    """(recall, precision) of a ranked TP list, thinned to about ``max_points`` points (last kept)."""
    if len(tp) == 0 or npos <= 0:
        return [], []
    ctp = np.cumsum(tp)
    rec = ctp / npos
    prec = ctp / np.arange(1, len(tp) + 1)
    idx = np.unique(np.r_[np.linspace(0, len(tp) - 1, max_points).astype(np.int64), len(tp) - 1])
    return [round(float(x), 5) for x in rec[idx]], [round(float(x), 5) for x in prec[idx]]


def bin_rates(values: np.ndarray, missed: np.ndarray, edges: list[float], names: list[str]) -> dict:
    """Missed fraction per bin ``[edges[i], edges[i+1])`` of ``values``: {name: {"n", "missed", "rate"}}."""
    b = np.clip(np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right") - 1, 0,
                len(names) - 1)
    n = np.bincount(b, minlength=len(names))
    m = np.bincount(b, weights=missed.astype(np.float64), minlength=len(names))
    return {nm: {"n": int(n[i]), "missed": float(m[i]), "rate": float(m[i] / n[i]) if n[i] else None}
            for i, nm in enumerate(names)}

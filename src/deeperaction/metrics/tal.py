"""ActivityNet / FineAction / HACS temporal localization average mAP, equal to the official scorer.

Official: activitynet/ActivityNet ``Evaluation/eval_detection.py``. Per class, predictions by descending
score; each tries the GTs of its video in order of decreasing tIoU and takes the first unused one with
tIoU >= threshold (falling through past used ones); AP all-point; mAP = mean over classes; average mAP =
mean over thresholds. The greedy matching is computed for all predictions at once in rounds (see
:func:`greedy_match`), not one prediction at a time, so 400k predictions take about a second.

Ties. The official orders equal scores (and equal tIoUs of one prediction with several GTs) with numpy's
unstable ``argsort()[::-1]``, whose result depends on the numpy version and on the CPU (numpy >= 1.25 sorts
with AVX-512 kernels where the CPU has them, which order ties differently even for 16 items). Default
``ties="later-first"`` is deterministic, the same number on every machine: among equal values the later
item first (what the expression gives for a stable sort). Without ties it equals the official exactly.
``ties="numpy"`` calls the official's argsort expressions themselves: the official run with this machine's
numpy, which another CPU or numpy may not repeat.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from deeperaction.errors import InputError, Problem
from deeperaction.formats.activitynet import TalGT, TalPred
from deeperaction.metrics.ap import average_precision_all_point
from deeperaction.metrics.report import Report

DEFAULT_TIOU = np.linspace(0.5, 0.95, 10)
"""The official thresholds (float64 values of ``np.linspace``; 0.8999999999999999 is not 0.9)."""

TieOrder = Literal["later-first", "numpy"]


def segment_tiou(ps: np.ndarray, pe: np.ndarray, gs: np.ndarray, ge: np.ndarray) -> np.ndarray:
    """Elementwise tIoU of prediction and GT segments: the official float64 formula and operation order
    (no +1; two zero-length segments give nan, which the official treats as a match at any threshold)."""
    inter = (np.minimum(pe, ge) - np.maximum(ps, gs)).clip(0)
    union = (ge - gs) + (pe - ps) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / union


def score_order(cls: np.ndarray, score: np.ndarray, ties: TieOrder = "later-first") -> np.ndarray:
    """Permutation grouping predictions by class (ascending) and, within a class, by descending score.

    The official uses ``score.argsort()[::-1]`` on the class's predictions in file order. ``"later-first"``
    puts the later prediction first among equal scores (that expression's result for a stable sort);
    ``"numpy"`` calls the expression per class (see the module docstring).
    """
    n = len(score)
    if ties == "later-first":
        return np.lexsort((-np.arange(n), -score, cls))
    if ties != "numpy":
        raise ValueError(f"ties must be 'later-first' or 'numpy', got {ties!r}")
    by_cls = np.argsort(cls, kind="stable")
    bounds = np.flatnonzero(np.diff(cls[by_cls])) + 1
    parts = [idx[score[idx].argsort()[::-1]] for idx in np.split(by_cls, bounds) if len(idx)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def greedy_match(p: np.ndarray, g: np.ndarray, n_pred: int, n_gt: int) -> np.ndarray:
    """Exact result of the official sequential greedy matching, computed in vectorized rounds.

    Edges ``(p[i], g[i])`` are the admissible (prediction, GT) pairs, sorted by prediction (its rank in the
    processing order) and then by that prediction's preference. Sequentially, each prediction takes its
    most preferred free GT. In a round, an edge is accepted when it is its prediction's first remaining
    edge and no earlier prediction still has an edge to that GT: nothing processed before it can take
    the GT any more, so the sequential algorithm makes the same choice. Used GTs and matched predictions
    are then dropped. The earliest prediction with an edge always qualifies, so every round locks at least
    one GT in every connected group: rounds <= max GTs per (class, video) + 1.
    Returns ``tp`` (n_pred,) bool.
    """
    tp = np.zeros(n_pred, dtype=bool)
    locked = np.zeros(n_gt, dtype=bool)
    first_p = np.full(n_gt, np.iinfo(np.int64).max, dtype=np.int64)
    while p.size:
        head = np.empty(p.size, dtype=bool)
        head[0] = True
        np.not_equal(p[1:], p[:-1], out=head[1:])
        first_p[g] = np.iinfo(np.int64).max
        np.minimum.at(first_p, g, p)
        acc = head & (first_p[g] == p)
        tp[p[acc]] = True
        locked[g[acc]] = True
        keep = ~(tp[p] | locked[g])
        p, g = p[keep], g[keep]
    return tp


def _pairs(pkey: np.ndarray, gkey_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (prediction, GT) index pairs with equal (class, video) key, prediction-major, GT indices into
    the sorted GT; also the number of pairs of each prediction."""
    lo = np.searchsorted(gkey_sorted, pkey, "left")
    cnt = np.searchsorted(gkey_sorted, pkey, "right") - lo
    cnt[pkey < 0] = 0
    pi = np.repeat(np.arange(len(pkey), dtype=np.int64), cnt)
    start = np.repeat(np.cumsum(cnt) - cnt, cnt)
    gi = np.repeat(lo, cnt) + (np.arange(len(pi), dtype=np.int64) - start)
    return pi, gi, cnt


def gt_preference(pi: np.ndarray, gi: np.ndarray, tiou: np.ndarray, cnt: np.ndarray,
                  ties: TieOrder = "later-first") -> np.ndarray:
    """Order of the pairs: by prediction, then the order in which it tries its GTs.

    Official: ``tiou.argsort()[::-1]`` over the GTs of the class in the video, in file order: nan first
    (argsort puts nan last), then decreasing tIoU. Equal tIoUs: ``"later-first"`` tries the later GT first
    (what that expression gives while numpy's sort is an insertion sort); ``ties="numpy"`` calls the
    expression itself for every prediction whose GTs tie, as the official does.
    """
    nan = np.isnan(tiou)
    order = np.lexsort((-gi, -np.where(nan, 0.0, tiou), ~nan, pi))
    if ties == "numpy" and order.size > 1:
        t, p = tiou[order], pi[order]
        tied = (p[1:] == p[:-1]) & ((t[1:] == t[:-1]) | (np.isnan(t[1:]) & np.isnan(t[:-1])))
        starts = np.cumsum(cnt) - cnt
        for q in np.unique(p[1:][tied]).tolist():
            s, n = starts[q], cnt[q]
            order[s:s + n] = s + tiou[s:s + n].argsort()[::-1]
    return order


def _map_names(names: list[str], index: dict[str, int]) -> np.ndarray:
    return np.array([index.get(x, -1) for x in names], dtype=np.int64).reshape(-1)


def _key(t: float) -> str:
    return f"{round(float(t), 10):g}"


def evaluate_tal(gt: TalGT, pred: TalPred, *, tiou_thresholds=DEFAULT_TIOU,
                 unknown_labels: Literal["error", "ignore"] = "ignore", ties: TieOrder = "later-first") -> Report:
    """Average mAP over tIoU thresholds, as the official ActivityNet detection scorer computes it.

    Classes are ``gt.labels``; a class without predictions has AP 0. Predictions on videos outside the GT
    subset are false positives (as in the official; counted in a warning). A predicted label that is not a
    GT class crashes the official (KeyError) but cannot change any class's AP: those predictions are left
    out with a warning naming the labels, or with ``unknown_labels="error"`` they are an InputError.
    Equal tIoUs with two GTs: the later GT is tried first (official). ``ties``: see :func:`score_order`.
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    if thr.size == 0:
        raise InputError("no tIoU threshold given", field="tiou")
    n_cls, n_vid = len(gt.labels), len(gt.videos)
    if n_cls == 0:
        raise InputError(f"the ground truth has no annotated segment in subset {gt.subset!r}", field="subset")
    warnings: list[str] = []
    cls = _map_names(pred.labels, {c: i for i, c in enumerate(gt.labels)})[pred.label]
    vid = _map_names(pred.videos, {v: i for i, v in enumerate(gt.videos)})[pred.video]
    keep = cls >= 0
    if not keep.all():
        bad, counts = np.unique(pred.label[~keep], return_counts=True)
        if unknown_labels != "ignore":
            raise InputError([Problem(f"predicted label {pred.labels[b]!r} ({n} predictions) is not a class of"
                                      f" the ground-truth subset {gt.subset!r}", field="label")
                              for b, n in zip(bad.tolist(), counts.tolist())])
        warnings.append(f"{int((~keep).sum())} predictions with {len(bad)} labels that are not classes of the"
                        f" ground-truth subset {gt.subset!r} were left out (they cannot change any AP; --strict"
                        f" refuses them): {', '.join(pred.labels[b] for b in bad[:10].tolist())}"
                        + (" ..." if len(bad) > 10 else ""))
    cls, vid = cls[keep], vid[keep]
    ps, pe, score = pred.t_start[keep], pred.t_end[keep], pred.score[keep]
    outside = vid < 0
    if outside.any():
        nv = len(np.unique(pred.video[keep][outside]))
        warnings.append(f"{int(outside.sum())} predictions on {nv} videos not in the ground-truth subset"
                        f" {gt.subset!r} were scored as false positives (as the official scorer does)")

    order = score_order(cls, score, ties)
    cls, vid, ps, pe = cls[order], vid[order], ps[order], pe[order]
    g_order = np.lexsort((np.arange(len(gt)), gt.video, gt.label))
    gkey = (gt.label * n_vid + gt.video)[g_order]
    gs, ge = gt.t_start[g_order], gt.t_end[g_order]
    pi, gi, cnt = _pairs(np.where(vid >= 0, cls * n_vid + vid, -1), gkey)
    tiou = segment_tiou(ps[pi], pe[pi], gs[gi], ge[gi])
    pref = gt_preference(pi, gi, tiou, cnt, ties)
    pi, gi, tiou = pi[pref], gi[pref], tiou[pref]
    live = ~(tiou < thr.min())  # pairs under every threshold are never taken (nan is kept)
    pi, gi, tiou = pi[live], gi[live], tiou[live]

    n_pred, n_gt, n_thr = len(cls), len(gt), len(thr)
    ep, eg = [], []
    for t_i, t in enumerate(thr):  # stack thresholds: independent problems with offset ids
        ok = ~(tiou < t)  # official: `if tiou < thr: break` -> nan counts as admissible
        ep.append(pi[ok] + t_i * n_pred)
        eg.append(gi[ok] + t_i * n_gt)
    tp = greedy_match(np.concatenate(ep), np.concatenate(eg), n_thr * n_pred, n_thr * n_gt)
    tp = tp.reshape(n_thr, n_pred)

    ap = np.zeros((n_thr, n_cls))
    npos = np.bincount(gt.label, minlength=n_cls).astype(np.float64)
    bounds = np.searchsorted(cls, np.arange(n_cls + 1))
    for c in range(n_cls):
        lo, hi = bounds[c], bounds[c + 1]
        if hi == lo:
            continue
        tp_c = tp[:, lo:hi].astype(np.float64)
        tp_cum = np.cumsum(tp_c, axis=1)
        fp_cum = np.cumsum(1.0 - tp_c, axis=1)
        rec, prec = tp_cum / npos[c], tp_cum / (tp_cum + fp_cum)
        for t_i in range(n_thr):
            ap[t_i, c] = average_precision_all_point(prec[t_i], rec[t_i])
    m_ap = ap.mean(axis=1)
    no_pred = [gt.labels[c] for c in range(n_cls) if bounds[c + 1] == bounds[c]]
    if no_pred:
        warnings.append(f"{len(no_pred)} classes have no prediction (AP 0): {', '.join(no_pred[:10])}"
                        + (" ..." if len(no_pred) > 10 else ""))
    return Report(
        metric="tal", headline_name="average mAP", headline=float(m_ap.mean()),
        per_class={c: float(ap[:, i].mean()) for i, c in enumerate(gt.labels)},
        per_threshold={_key(t): float(m) for t, m in zip(thr, m_ap)},
        tables={"ap_per_class_tiou": {c: ap[:, i].tolist() for i, c in enumerate(gt.labels)},
                "tiou_thresholds": thr.tolist(),
                "counts": {"gt_segments": len(gt), "predictions": n_pred, "classes": n_cls,
                           "videos": n_vid, "predictions_outside_subset": int(outside.sum())}},
        warnings=warnings,
        options={"subset": gt.subset, "tiou_thresholds": thr.tolist(), "ties": ties,
                 "unknown_labels": unknown_labels})

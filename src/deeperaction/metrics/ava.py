"""AVA frame-mAP@0.5IOU, equal to the official ``get_ava_performance.py`` (PASCAL boxes), vectorized.

Rules (official): ids outside the label map dropped; top-``top_k`` detections per keyframe kept;
detections on keyframes absent from the GT ignored, on empty GT keyframes FPs; excluded keyframes
removed from both; per keyframe and class, degenerate detections dropped, IoU without +1 in
float64, each detection takes its argmax GT (first on ties) and is a TP if IoU >= ``iou`` and that
GT is unused; per class AP all-point; mAP = nanmean over classes with GT.

Tie rule: the official sorts each class by ``argsort()[::-1]`` (numpy's unstable sort). Here equal
scores are ordered "later first", i.e. ``argsort(kind="stable")[::-1]`` over the official
concatenation order (keyframes by first detection row, then within a keyframe by descending
score, file order among equal scores) -- what numpy 1.x's introsort does on short runs.
Results with distinct scores per class are exact; tied ones can differ from run to run of the
official code itself.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError
from deeperaction.formats.ava import AvaBoxes, keyframe_keys, read_ava_csv, read_exclusions, read_labelmap
from deeperaction.metrics.ap import average_precision_all_point
from deeperaction.metrics.report import Report

__all__ = ["evaluate_ava"]


def _keyframe_index(videos: list[str], parts: list[tuple[list[str], np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Map (video name, timestamp) pairs of several sources to shared int64 keyframe codes."""
    vocab = {v: i for i, v in enumerate(videos)}
    out = []
    for names, vid, ts in parts:
        remap = np.array([vocab.setdefault(n, len(vocab)) for n in names] + [0], dtype=np.int64)
        out.append((remap[vid], keyframe_keys(ts)))
    allts = np.concatenate([t for _, t in out] + [np.zeros(1, np.int64)])
    lo, hi = int(allts.min()), int(allts.max())
    span = hi - lo + 1
    if span * (len(vocab) + 1) >= 2 ** 62:
        raise InputError("timestamps span too wide to index keyframes (seconds expected)")
    return [v * span + (t - lo) for v, t in out]


def _heap_order(rows: list[int], score: np.ndarray, boxes: np.ndarray, label: np.ndarray, k: int) -> list[int]:
    """Replay the official reader for one keyframe: capacity-``k`` heap of ``(score, action, y1, x1,
    y2, x2)`` replaced only by a strictly higher score, then a stable sort by descending score."""
    heap: list = []
    for r in rows:
        t = (score[r], int(label[r]), boxes[r, 1], boxes[r, 0], boxes[r, 3], boxes[r, 2], r)
        if k < 1 or len(heap) < k:
            heapq.heappush(heap, t)
        elif t[0] > heap[0][0]:
            heapq.heapreplace(heap, t)
    return [t[-1] for t in sorted(heap, key=lambda t: -t[0])]


def _keyframe_order(kf: np.ndarray, score: np.ndarray, boxes: np.ndarray, label: np.ndarray, k: int,
                    exact_ties: bool) -> tuple[np.ndarray, np.ndarray]:
    """Rows kept by the official top-``k`` per keyframe, and each row's rank inside its keyframe.

    Vectorized: ``k`` best scores, rank by descending score then file order. Keyframes where the
    k-th and (k+1)-th scores tie (and, with ``exact_ties``, keyframes with equal scores within a
    class, whose order the official takes from its heap layout) are replayed with the heap.
    """
    n = len(kf)
    order = np.lexsort((np.arange(n), -score, kf))
    skf, ssc = kf[order], score[order]
    start = np.flatnonzero(np.r_[True, skf[1:] != skf[:-1]]) if n else np.zeros(0, np.int64)
    end = np.r_[start[1:], n]
    rank = np.arange(n) - np.repeat(start, end - start)
    keep = np.ones(n, bool)
    if k >= 1:
        keep[order[rank >= k]] = False
    pos = np.empty(n, np.int64)
    pos[order] = rank
    prev = np.r_[np.nan, ssc[:-1]]
    redo = set(np.unique(skf[(rank == k) & (ssc == prev)]).tolist()) if k >= 1 else set()
    if exact_ties:
        o2 = np.lexsort((score, label, kf))
        same = (kf[o2][1:] == kf[o2][:-1]) & (label[o2][1:] == label[o2][:-1]) & (score[o2][1:] == score[o2][:-1])
        redo |= set(np.unique(kf[o2][1:][same]).tolist())
    if redo:
        groups = np.searchsorted(skf[start], np.array(sorted(redo)))
        for g in groups.tolist():
            rows = np.sort(order[start[g]:end[g]])
            kept = _heap_order(rows.tolist(), score, boxes, label, k)
            keep[rows] = False
            keep[kept] = True
            pos[kept] = np.arange(len(kept))
    return keep, pos


def _iou_pairs(d: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Row-wise IoU of boxes ``x1, y1, x2, y2`` with the official float64 operation order (no +1)."""
    h = np.maximum(0.0, np.minimum(d[:, 3], g[:, 3]) - np.maximum(d[:, 1], g[:, 1]))
    w = np.maximum(0.0, np.minimum(d[:, 2], g[:, 2]) - np.maximum(d[:, 0], g[:, 0]))
    inter = h * w
    a1 = (d[:, 3] - d[:, 1]) * (d[:, 2] - d[:, 0])
    a2 = (g[:, 3] - g[:, 1]) * (g[:, 2] - g[:, 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / (a1 + a2 - inter)


def _as_boxes(x: AvaBoxes | str | Path, kind: str) -> AvaBoxes:
    return x if isinstance(x, AvaBoxes) else read_ava_csv(x, kind)


def evaluate_ava(gt: AvaBoxes | str | Path, pred: AvaBoxes | str | Path,
                 labelmap: Mapping[int, str] | str | Path, *,
                 exclusions: Iterable[tuple[str, float]] | str | Path | None = None,
                 iou: float = 0.5, top_k: int = 50, ties: str = "later-first") -> Report:
    """Frame-mAP of AVA detections against GT, as the official scorer prints it.

    ``gt``/``pred`` are :class:`AvaBoxes` or CSV paths; ``labelmap`` ``{id: name}`` or a ``.pbtxt``;
    ``exclusions`` ``(video, timestamp)`` pairs or a CSV path. ``ties``: ``"later-first"``
    (deterministic, see module doc) or ``"numpy"`` (replay the official order and its
    ``argsort()[::-1]`` with this machine's numpy: equal to the official run here). Headline
    ``PascalBoxes_Precision/mAP@0.5IOU``; ``per_class`` AP by class name (None: no GT).
    """
    if ties not in ("later-first", "numpy"):
        raise InputError(f"ties must be 'later-first' or 'numpy', got {ties!r}", field="ties")
    gt, pred = _as_boxes(gt, "gt"), _as_boxes(pred, "pred")
    if not isinstance(labelmap, Mapping):
        labelmap = read_labelmap(labelmap)
    if isinstance(exclusions, (str, Path)):
        exclusions = read_exclusions(exclusions)
    excl = list(exclusions or [])
    warnings: list[str] = []
    ids = np.array(sorted(labelmap), dtype=np.int64)
    n_cls = int(ids.max()) + 1

    ex_names = sorted({v for v, _ in excl})
    ex_vid = np.array([ex_names.index(v) for v, _ in excl], dtype=np.int64)
    ex_ts = np.array([t for _, t in excl], dtype=np.float64)
    g_kf, g_empty, p_kf, x_kf = _keyframe_index(gt.videos, [
        (gt.videos, gt.video, gt.timestamp), (gt.videos, gt.empty_video, gt.empty_timestamp),
        (pred.videos, pred.video, pred.timestamp), (ex_names, ex_vid, ex_ts)])
    known = np.unique(np.concatenate([g_kf, g_empty]))
    excluded = np.isin(known, x_kf)
    if excluded.any():
        warnings.append(f"{int(excluded.sum())} GT keyframes excluded by the exclusion list")
    known = known[~excluded]

    # ground truth: label map, exclusions
    g_in = np.isin(gt.label, ids)
    if (~g_in).any() or gt.dropped_unknown:
        warnings.append(f"{int((~g_in).sum()) + gt.dropped_unknown} GT rows with action ids outside the "
                        "label map dropped")
    g_in &= np.isin(g_kf, known)
    g_rows = np.flatnonzero(g_in)
    # GT order per keyframe and class: descending 8th column (person id), as the official sorts it
    g_rows = g_rows[np.lexsort((g_rows, -gt.score[g_rows], gt.label[g_rows], g_kf[g_rows]))]
    g_key = g_kf[g_rows] * n_cls + gt.label[g_rows]
    num_gt = np.bincount(gt.label[g_rows], minlength=n_cls)

    # detections: label map, then top-k per keyframe, keyframes outside the GT, exclusions
    p_in = np.isin(pred.label, ids)
    if (~p_in).any() or pred.dropped_unknown:
        warnings.append(f"{int((~p_in).sum()) + pred.dropped_unknown} detection rows with action ids "
                        "outside the label map dropped")
    rows = np.flatnonzero(p_in)
    # first row of each keyframe: the official concatenation order of keyframes
    first_kf, first_idx = np.unique(p_kf[rows], return_index=True)
    first_row = rows[first_idx]
    kept, within = _keyframe_order(p_kf[rows], pred.score[rows], pred.boxes[rows], pred.label[rows], top_k,
                                   ties == "numpy")
    p_within = np.zeros(len(pred.label), np.int64)
    p_within[rows] = within
    if (~kept).any():
        warnings.append(f"{int((~kept).sum())} detections beyond the top {top_k} of their keyframe dropped")
    rows = rows[kept]
    in_gt = np.isin(p_kf[rows], known)
    outside = ~in_gt & ~np.isin(p_kf[rows], x_kf)
    if outside.any():
        warnings.append(f"{int(outside.sum())} detections on {len(np.unique(p_kf[rows][outside]))} keyframes "
                        "absent from the GT ignored")
    if (~in_gt & ~outside).any():
        warnings.append(f"{int((~in_gt & ~outside).sum())} detections on excluded keyframes ignored")
    rows = rows[in_gt]
    b = pred.boxes[rows]
    valid = (b[:, 1] < b[:, 3]) & (b[:, 0] < b[:, 2])
    if (~valid).any():
        warnings.append(f"{int((~valid).sum())} detections with degenerate boxes (x2 <= x1 or y2 <= y1) dropped")
    rows = rows[valid]

    # processing order: keyframe, class, then the official order inside the keyframe
    kf, lab, sc = p_kf[rows], pred.label[rows], pred.score[rows]
    o = np.lexsort((p_within[rows], lab, kf))
    rows, kf, lab, sc = rows[o], kf[o], lab[o], sc[o]
    p_key = kf * n_cls + lab
    lo = np.searchsorted(g_key, p_key, "left")
    cnt = np.searchsorted(g_key, p_key, "right") - lo
    n = len(rows)
    pair_p = np.repeat(np.arange(n), cnt)
    pair_g = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(len(pair_p))
    ious = _iou_pairs(pred.boxes[rows[pair_p]], gt.boxes[g_rows[pair_g]])
    # argmax per detection (first maximum; NaN counts as maximum, as in np.argmax)
    key = np.where(np.isnan(ious), np.inf, ious)
    best = np.full(n, -1)
    best_iou = np.full(n, np.nan)
    if len(pair_p):
        starts = np.flatnonzero(np.r_[True, pair_p[1:] != pair_p[:-1]])
        mx = np.maximum.reduceat(key, starts)
        hit = np.flatnonzero(key == np.repeat(mx, np.diff(np.r_[starts, len(pair_p)])))
        det, first = np.unique(pair_p[hit], return_index=True)
        best[det] = pair_g[hit[first]]
        best_iou[det] = ious[hit[first]]
    with np.errstate(invalid="ignore"):
        cand = np.flatnonzero(best_iou >= iou)
    tp = np.zeros(n, bool)
    tp[cand[np.unique(best[cand], return_index=True)[1]]] = True

    # per class AP over the official concatenation order (keyframes by first row, then inside)
    kpos = first_row[np.searchsorted(first_kf, kf)]
    if ties == "numpy":
        o = np.lexsort((p_within[rows], kpos, lab))
        lab, tp, sc = lab[o], tp[o], sc[o]
        b = np.searchsorted(lab, np.arange(n_cls + 1))
        o = np.concatenate([b[c] + np.argsort(sc[b[c]:b[c + 1]])[::-1] for c in range(n_cls)] + [np.zeros(0, int)])
    else:  # equal scores: later first, i.e. argsort(kind="stable")[::-1]
        o = np.lexsort((-p_within[rows], -kpos, -sc, lab))
    lab, tp = lab[o], tp[o]
    bounds = np.searchsorted(lab, np.arange(n_cls + 1))
    ap = np.full(n_cls, np.nan)
    for c in np.flatnonzero(num_gt).tolist():
        t = tp[bounds[c]:bounds[c + 1]]
        if len(t) == 0:
            ap[c] = 0.0
            continue
        ctp = np.cumsum(t)
        prec = ctp.astype(float) / np.arange(1, len(t) + 1)
        ap[c] = average_precision_all_point(prec, ctp.astype(float) / num_gt[c])
    if np.isfinite(ap).any():
        mean_ap = float(np.nanmean(ap[1:]))  # the official array: index id - 1, ids 1..max
    else:
        mean_ap = float("nan")
        warnings.append("no GT boxes of any label-map class: mAP is undefined (nan)")
    name = f"PascalBoxes_Precision/mAP@{iou}IOU"
    return Report(
        metric="ava_frame_map", headline_name=name, headline=mean_ap,
        per_class={labelmap[i]: ap[i] for i in labelmap},
        tables={"num_gt_per_class": {labelmap[i]: int(num_gt[i]) for i in labelmap},
                "counts": {"gt_keyframes": int(len(known)), "gt_boxes": int(len(g_rows)),
                           "detections_scored": int(n), "true_positives": int(tp.sum())}},
        warnings=warnings, options={"iou": iou, "top_k": top_k, "ties": ties, "exclusions": len(excl)})

"""AVA frame-mAP@0.5IOU, equal to the official ``get_ava_performance.py`` (PASCAL boxes), vectorized.

Rules (official): ids outside the label map dropped; top-``top_k`` detections per keyframe kept;
detections on keyframes absent from the GT ignored, on empty GT keyframes FPs; excluded keyframes
removed from both; per keyframe and class, degenerate detections dropped, IoU without +1 in
float64, each detection takes its argmax GT (first on ties) and is a TP if IoU >= ``iou`` and that
GT is unused; per class AP all-point; mAP = nanmean over classes with GT.

Tie rule: the official sorts each class by ``argsort()[::-1]`` (numpy's unstable introsort), so
equal scores come out in an order that depends on the numpy build. ``ties="later-first"`` (default,
deterministic) orders them as ``argsort(kind="stable")[::-1]`` over the official concatenation
order (keyframes by first detection row, then inside a keyframe by descending score, file order
among equal scores) -- what numpy 1.x does on runs of <= 16. ``ties="numpy"`` replays the official
order exactly (including its heap layout inside a keyframe) and calls ``argsort()[::-1]``: equal
to the official scorer run with the same numpy. Checked against the official code (@82304fa9, with
numpy 1.26): both fixtures in both modes; 30 random tie-free cases (exclusions, 7-column rows,
duplicate GT, top-50 cuts, degenerate boxes, unknown ids, "902"/"0902" timestamps) equal to 1e-12
in both modes; 30 random tied cases equal in ``numpy`` mode, within 0.0065 mAP in ``later-first``.
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


def _order(keys: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Stable order of rows by non-negative integer ``keys`` (primary first), each below its bound:
    one int64 argsort when the bounds fit in 62 bits, else a lexsort."""
    total = 1
    for _, bound in keys:
        total *= max(int(bound), 1)
    if total < 2 ** 62:
        comp = np.zeros(len(keys[0][0]), np.int64)
        for k, bound in keys:
            comp *= max(int(bound), 1)
            comp += k
        return np.argsort(comp, kind="stable")
    return np.lexsort([k for k, _ in reversed(keys)])


def _keyframe_index(parts: list[tuple[list[str], np.ndarray, np.ndarray]]) -> tuple[list[np.ndarray], int]:
    """Dense keyframe ids shared by several (video names, video index, timestamp) sources."""
    vocab: dict[str, int] = {}
    vids, tss = [], []
    for names, vid, ts in parts:
        remap = np.array([vocab.setdefault(n, len(vocab)) for n in names] + [0], dtype=np.int64)
        vids.append(remap[np.asarray(vid, np.int64)])
        tss.append(keyframe_keys(ts))
    v, t = np.concatenate(vids), np.concatenate(tss)
    lo = int(t.min()) if len(t) else 0
    span = (int(t.max()) - lo + 1) if len(t) else 1
    if span * (len(vocab) + 1) < 2 ** 62:
        _, inv = np.unique(v * span + (t - lo), return_inverse=True)
    else:
        _, inv = np.unique(np.stack([v, t], 1), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    cuts = np.cumsum([len(x) for x in vids])[:-1]
    return np.split(inv, cuts), int(inv.max()) + 1 if len(inv) else 0


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


def _keyframe_order(kf: np.ndarray, n_kf: int, srank: np.ndarray, score: np.ndarray, boxes: np.ndarray,
                    label: np.ndarray, k: int, exact_ties: bool) -> tuple[np.ndarray, np.ndarray]:
    """Rows kept by the official top-``k`` per keyframe, and each row's rank inside its keyframe.

    Vectorized: ``k`` best scores, rank by descending score then file order. Keyframes where the
    k-th and (k+1)-th scores tie (and, with ``exact_ties``, keyframes with equal scores within a
    class, whose order the official takes from its heap layout) are replayed with the heap.
    ``srank`` is the dense rank of each score (ascending).
    """
    n = len(kf)
    n_s = int(srank.max()) + 1 if n else 1
    order = _order([(kf, n_kf), (n_s - 1 - srank, n_s)])
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
    if exact_ties and n:
        o2 = _order([(kf, n_kf), (label, int(label.max()) + 1), (srank, n_s)])
        a, b = o2[1:], o2[:-1]
        same = (kf[a] == kf[b]) & (label[a] == label[b]) & (srank[a] == srank[b])
        redo |= set(np.unique(kf[a][same]).tolist())
    if redo:
        for g in np.searchsorted(skf[start], np.array(sorted(redo))).tolist():
            rows = np.sort(order[start[g]:end[g]])
            kept = _heap_order(rows.tolist(), score, boxes, label, k)
            keep[rows] = False
            keep[kept] = True
            pos[kept] = np.arange(len(kept))
    return keep, pos


def ava_iou_rows(d: np.ndarray, g: np.ndarray) -> np.ndarray:
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


def _match(p_key: np.ndarray, p_boxes: np.ndarray, g_key: np.ndarray, g_boxes: np.ndarray, iou: float) -> np.ndarray:
    """TP flags of detections in processing order against GT sorted by ``g_key`` (keyframe, class):
    each detection takes its argmax GT (first maximum; NaN counts as maximum, as ``np.argmax``) and
    is a TP if the IoU >= ``iou`` and no earlier detection took that GT."""
    n = len(p_key)
    lo = np.searchsorted(g_key, p_key, "left")
    cnt = np.searchsorted(g_key, p_key, "right") - lo
    pair_p = np.repeat(np.arange(n), cnt)
    pair_g = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(len(pair_p))
    ious = ava_iou_rows(p_boxes[pair_p], g_boxes[pair_g])
    tp = np.zeros(n, bool)
    if not len(pair_p):
        return tp
    key = np.where(np.isnan(ious), np.inf, ious)
    starts = np.flatnonzero(np.r_[True, pair_p[1:] != pair_p[:-1]])
    mx = np.maximum.reduceat(key, starts)
    hit = np.flatnonzero(key == np.repeat(mx, np.diff(np.r_[starts, len(pair_p)])))
    det, first = np.unique(pair_p[hit], return_index=True)
    best, best_iou = pair_g[hit[first]], ious[hit[first]]
    with np.errstate(invalid="ignore"):
        ok = best_iou >= iou
    cand, gts = det[ok], best[ok]
    tp[cand[np.unique(gts, return_index=True)[1]]] = True
    return tp


def _class_aps(lab: np.ndarray, tp: np.ndarray, num_gt: np.ndarray) -> np.ndarray:
    """All-point AP per class from TP flags already in ranked order within each class (nan: no GT)."""
    bounds = np.searchsorted(lab, np.arange(len(num_gt) + 1))
    ap = np.full(len(num_gt), np.nan)
    for c in np.flatnonzero(num_gt).tolist():
        t = tp[bounds[c]:bounds[c + 1]]
        if len(t) == 0:
            ap[c] = 0.0
            continue
        ctp = np.cumsum(t)
        ap[c] = average_precision_all_point(ctp.astype(float) / np.arange(1, len(t) + 1),
                                            ctp.astype(float) / num_gt[c])
    return ap


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
    ex_pos = {v: i for i, v in enumerate(ex_names)}
    (g_kf, g_empty, p_kf, x_kf), n_kf = _keyframe_index([
        (gt.videos, gt.video, gt.timestamp), (gt.videos, gt.empty_video, gt.empty_timestamp),
        (pred.videos, pred.video, pred.timestamp),
        (ex_names, np.array([ex_pos[v] for v, _ in excl], np.int64), np.array([t for _, t in excl], float))])
    known = np.zeros(n_kf + 1, bool)
    known[g_kf] = known[g_empty] = True
    excluded = np.zeros(n_kf + 1, bool)
    excluded[x_kf] = True
    if (known & excluded).any():
        warnings.append(f"{int((known & excluded).sum())} GT keyframes excluded by the exclusion list")
    scored = known & ~excluded

    # ground truth: label map, exclusions; per keyframe and class by descending person id (official)
    g_in = np.isin(gt.label, ids)
    if (~g_in).any() or gt.dropped_unknown:
        warnings.append(f"{int((~g_in).sum()) + gt.dropped_unknown} GT rows with action ids outside the "
                        "label map dropped")
    g_rows = np.flatnonzero(g_in & scored[g_kf])
    g_lab = gt.label[g_rows]
    _, g_person = np.unique(-gt.score[g_rows], return_inverse=True)
    g_rows = g_rows[_order([(g_kf[g_rows], n_kf), (g_lab, n_cls), (g_person.reshape(-1), len(g_rows))])]
    g_key = g_kf[g_rows] * n_cls + gt.label[g_rows]
    num_gt = np.bincount(gt.label[g_rows], minlength=n_cls)

    # detections: label map, top-k per keyframe, keyframes outside the GT or excluded, degenerate boxes
    p_in = np.isin(pred.label, ids)
    if (~p_in).any() or pred.dropped_unknown:
        warnings.append(f"{int((~p_in).sum()) + pred.dropped_unknown} detection rows with action ids "
                        "outside the label map dropped")
    rows = np.flatnonzero(p_in)
    kf = p_kf[rows]
    uniq, first = np.unique(kf, return_index=True)   # keyframes ranked by their first row (official)
    kf_first = np.full(n_kf + 1, n_kf)
    kf_first[uniq] = np.argsort(np.argsort(first))
    _, srank = np.unique(pred.score[rows], return_inverse=True)
    srank = srank.reshape(-1)
    kept, within = _keyframe_order(kf, n_kf, srank, pred.score[rows], pred.boxes[rows], pred.label[rows],
                                   top_k, ties == "numpy")
    if (~kept).any():
        warnings.append(f"{int((~kept).sum())} detections beyond the top {top_k} of their keyframe dropped")
    outside = kept & ~known[kf] & ~excluded[kf]
    if outside.any():
        warnings.append(f"{int(outside.sum())} detections on {len(np.unique(kf[outside]))} keyframes "
                        "absent from the GT ignored")
    if (kept & excluded[kf]).any():
        warnings.append(f"{int((kept & excluded[kf]).sum())} detections on excluded keyframes ignored")
    b = pred.boxes[rows]
    valid = (b[:, 1] < b[:, 3]) & (b[:, 0] < b[:, 2])
    sel = kept & scored[kf]
    if (sel & ~valid).any():
        r = rows[np.flatnonzero(sel & ~valid)[0]]
        warnings.append(f"{int((sel & ~valid).sum())} detections with degenerate boxes (x2 <= x1 or y2 <= y1) dropped,"
                        f" as the official scorer drops them (--strict refuses them); the first: video"
                        f" {pred.videos[pred.video[r]]!r}, timestamp {pred.timestamp[r]:g}, box {pred.boxes[r].tolist()}")
    sel = np.flatnonzero(sel & valid)
    rows, kf, srank, within = rows[sel], kf[sel], srank[sel], within[sel]
    lab = pred.label[rows]
    n_w = int(within.max()) + 1 if len(rows) else 1
    o = _order([(kf, n_kf), (lab, n_cls), (within, n_w)])       # the official processing order
    rows, kf, srank, within, lab = rows[o], kf[o], srank[o], within[o], lab[o]
    tp = _match(kf * n_cls + lab, pred.boxes[rows], g_key, gt.boxes[g_rows], iou)

    # per class AP over the official concatenation order (keyframes by first row, then inside)
    kpos = kf_first[kf]
    n_s = int(srank.max()) + 1 if len(rows) else 1
    if ties == "numpy":
        o = _order([(lab, n_cls), (kpos, n_kf + 1), (within, n_w)])
        lab, tp, sc = lab[o], tp[o], pred.score[rows][o]
        bd = np.searchsorted(lab, np.arange(n_cls + 1))
        o = np.concatenate([bd[c] + np.argsort(sc[bd[c]:bd[c + 1]])[::-1] for c in range(n_cls)] + [np.zeros(0, int)])
    else:  # equal scores: later first, i.e. argsort(kind="stable")[::-1]
        o = _order([(lab, n_cls), (n_s - 1 - srank, n_s), (n_kf - kpos, n_kf + 1), (n_w - 1 - within, n_w)])
    ap = _class_aps(lab[o], tp[o], num_gt)
    if np.isfinite(ap).any():
        mean_ap = float(np.nanmean(ap[1:]))  # the official array: index id - 1, ids 1..max
    else:
        mean_ap = float("nan")
        warnings.append("no GT boxes of any label-map class: mAP is undefined (nan)")
    return Report(
        metric="ava_frame_map", headline_name=f"PascalBoxes_Precision/mAP@{iou}IOU", headline=mean_ap,
        per_class={labelmap[i]: ap[i] for i in labelmap},
        tables={"num_gt_per_class": {labelmap[i]: int(num_gt[i]) for i in labelmap},
                "counts": {"gt_keyframes": int(scored.sum()), "gt_boxes": int(len(g_rows)),
                           "detections_scored": int(len(rows)), "true_positives": int(tp.sum())}},
        warnings=warnings, options={"iou": iou, "top_k": top_k, "ties": ties, "exclusions": len(excl)})

"""MultiSports frame-AP (per class) and the greedy matching + AP rules both MultiSports scorers share.

Matching works on candidate (detection, GT) pairs with their IoU; pairs are grouped by detection, GT
ids are global. Two official rules:
- "2022": each detection takes its argmax-IoU GT (first max; a nan IoU wins argmax, as in numpy, and
  makes it a false positive); TP if IoU >= thr and that GT is unused, else FP (no fall-through).
- "2021": same, but a matched GT is removed, so later detections choose among the remaining ones.
Detections are processed per class by descending score; ties keep input order (stable sort) unless
``tie_order="numpy"`` (``np.argsort(-score)`` per class as the official calls it: its unstable order
depends on the numpy version and CPU).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deeperaction.metrics.ap import average_precision_all_point
from deeperaction.metrics.iou import box_iou_rows


@dataclass
class Candidates:
    """(detection, GT) pairs grouped by detection: ``seg_start[i]`` begins the pairs of ``seg_det[i]``."""

    seg_det: np.ndarray
    seg_start: np.ndarray
    seg_len: np.ndarray
    seg_group: np.ndarray
    pair_gt: np.ndarray
    pair_iou: np.ndarray

    @classmethod
    def build(cls, pair_det: np.ndarray, pair_gt: np.ndarray, pair_iou: np.ndarray, det_group: np.ndarray
              ) -> "Candidates":
        """From pairs sorted by detection (each detection's pairs in official GT order)."""
        if len(pair_det) == 0:
            z = np.zeros(0, np.int64)
            return cls(z, z, z, z, z, np.zeros(0))
        start = np.flatnonzero(np.r_[True, pair_det[1:] != pair_det[:-1]])
        seg_det = pair_det[start]
        return cls(seg_det, start, np.diff(np.r_[start, len(pair_det)]), det_group[seg_det], pair_gt, pair_iou)

    def best(self, alive: np.ndarray | None = None, segs: np.ndarray | None = None):
        """Per detection segment: (has_nan, max IoU, argmax GT) over the GTs still ``alive``.

        Argmax is the first maximum in official GT order; a nan IoU among them sets ``has_nan``.
        """
        if segs is None:
            lens, starts = self.seg_len, self.seg_start
            iou, gt = self.pair_iou, self.pair_gt
        else:
            lens = self.seg_len[segs]
            starts = np.r_[0, np.cumsum(lens)[:-1]]
            pidx = np.arange(int(lens.sum())) + np.repeat(self.seg_start[segs] - starts, lens)
            iou, gt = self.pair_iou[pidx], self.pair_gt[pidx]
        if len(iou) == 0:
            return np.zeros(0, bool), np.zeros(0), np.zeros(0, np.int64)
        isnan = np.isnan(iou)
        if alive is None:
            has_nan = np.logical_or.reduceat(isnan, starts)
            v = np.where(isnan, -np.inf, iou) if has_nan.any() else iou
        else:
            ok = alive[gt]
            has_nan = np.logical_or.reduceat(isnan & ok, starts)
            v = np.where(ok & ~isnan, iou, -np.inf)
        mx = np.maximum.reduceat(v, starts)
        first = np.minimum.reduceat(np.where(v == np.repeat(mx, lens), np.arange(len(v)), len(v)), starts)
        return has_nan, mx, gt[np.minimum(first, len(v) - 1)]


def match(cands: Candidates, rank: np.ndarray, n_dets: int, n_gt: int, thr: float, protocol: str,
          best=None) -> np.ndarray:
    """True-positive flag of every detection under the official rule of ``protocol``.

    ``rank[d]`` orders detections (lower first); ``best`` may pass a precomputed ``cands.best()``.
    """
    tp = np.zeros(n_dets, bool)
    if len(cands.seg_det) == 0:
        return tp
    big = np.iinfo(np.int64).max
    if protocol == "2022":
        has_nan, mx, gt = cands.best() if best is None else best
        c = np.flatnonzero(~has_nan & (mx >= thr))
        r = rank[cands.seg_det[c]]
        first = np.full(n_gt, big, dtype=np.int64)
        np.minimum.at(first, gt[c], r)  # earliest-ranked candidate of each GT takes it
        tp[cands.seg_det[c[first[gt[c]] == r]]] = True
        return tp
    alive = np.ones(n_gt, bool)
    pending = np.arange(len(cands.seg_det))
    win_rank = np.full(int(cands.seg_group.max()) + 1, big, dtype=np.int64)
    while len(pending):
        has_nan, mx, gt = cands.best(alive, pending)
        r = rank[cands.seg_det[pending]]
        grp = cands.seg_group[pending]
        c = np.flatnonzero(~has_nan & (mx >= thr))
        win_rank[grp] = big
        np.minimum.at(win_rank, grp[c], r[c])  # per group, the earliest detection that matches now
        w = c[win_rank[grp[c]] == r[c]]
        tp[cands.seg_det[pending[w]]] = True
        alive[gt[w]] = False
        # detections ranked before their group's winner saw the same GT set: final false positives
        pending = pending[r > win_rank[grp]]
    return tp


def detection_order(label: np.ndarray, score: np.ndarray, classes: np.ndarray, tie_order: str = "stable"
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Detections of ``classes`` ordered by (class, descending score); returns (order, class starts).

    ``order`` lists detection indices; class ``classes[i]`` occupies ``order[starts[i]:starts[i+1]]``.
    """
    classes = np.asarray(classes, dtype=np.int64)
    if np.any(np.diff(classes) <= 0):
        raise ValueError("classes must be strictly increasing")
    if tie_order == "numpy":  # exactly the official call on each class subset
        parts = []
        for c in classes:
            idx = np.flatnonzero(label == c)
            parts.append(idx[np.argsort(-score[idx])])
        order = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    else:
        wanted = np.zeros(int(max(label.max(initial=0), classes.max(initial=0))) + 2, bool)
        wanted[classes] = True
        idx = np.flatnonzero(wanted[np.clip(label, -1, len(wanted) - 2)] & (label >= 0))
        o = idx[np.argsort(-score[idx], kind="stable")]
        lab = label[o].astype(np.int16) if len(wanted) < 32000 else label[o]  # int16: radix sort
        order = o[np.argsort(lab, kind="stable")]
    counts = np.bincount(np.searchsorted(classes, label[order]), minlength=len(classes))
    return order.astype(np.int64), np.r_[0, np.cumsum(counts)].astype(np.int64)


def class_aps(tp_in_order: np.ndarray, starts: np.ndarray, n_gt: np.ndarray, protocol: str) -> list:
    """AP of each class from its TP flags in processing order (official PR points and AP rule).

    "2022": float64 VOC all-point AP. "2021": float32 PR with (P=1, R=0) prepended and trapezoid sum.
    """
    ctp_all = np.cumsum(tp_in_order)
    out = []
    for i in range(len(n_gt)):
        a, b = starts[i], starts[i + 1]
        ctp = ctp_all[a:b] - (ctp_all[a - 1] if a > 0 else 0)
        n = np.arange(1, b - a + 1)
        if protocol == "2022":
            out.append(np.float64(average_precision_all_point(ctp / n, ctp / n_gt[i])))
        else:
            pr = np.empty((b - a + 1, 2), dtype=np.float32)
            pr[0] = (1.0, 0.0)
            pr[1:, 0] = ctp / n
            pr[1:, 1] = ctp / n_gt[i]
            out.append(np.sum((pr[1:, 1] - pr[:-1, 1]) * (pr[1:, 0] + pr[:-1, 0]) * 0.5))
    return out


def lookup_groups(uk: np.ndarray, qcell: np.ndarray, qf: np.ndarray, fr: int = 1) -> np.ndarray:
    """Index in the sorted unique keys ``uk`` (= cell * fr + frame) of each query (cell, frame); -1 if absent.

    Uses a dense table over each cell's frame span (no sort of the queries) when that table is small,
    else a sorted search. Queries must be non-negative.
    """
    out = np.full(len(qcell), -1, np.int64)
    if len(uk) == 0 or len(qcell) == 0:
        return out
    cell, f = np.divmod(uk, fr)
    first = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    last = np.r_[first[1:], len(uk)] - 1
    fmin, span = f[first], f[last] - f[first] + 1
    if int(span.sum()) > 8 * len(uk) + 1_000_000 or int(cell[-1]) > 50_000_000:
        keys = qcell * fr + qf
        o = np.argsort(keys, kind="stable")
        g = np.searchsorted(uk, keys[o])
        hit = g < len(uk)
        hit[hit] = uk[g[hit]] == keys[o][hit]
        out[o[hit]] = g[hit]
        return out
    base = np.r_[0, np.cumsum(span)[:-1]]
    seg = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(uk)]))
    dense = np.full(int(span.sum()), -1, np.int64)
    dense[base[seg] + f - fmin[seg]] = np.arange(len(uk))
    cell_index = np.full(int(cell[-1]) + 2, -1, np.int64)
    cell_index[cell[first]] = np.arange(len(first))
    c = cell_index[np.minimum(qcell, len(cell_index) - 1)]
    ok = np.flatnonzero(c >= 0)
    c = c[ok]
    rel = qf[ok] - fmin[c]
    inside = (rel >= 0) & (rel < span[c])
    out[ok[inside]] = dense[base[c[inside]] + rel[inside]]
    return out


def expand_groups(d: np.ndarray, g: np.ndarray, gstart: np.ndarray, gcount: np.ndarray):
    """All (detection, GT position) pairs: each detection ``d[i]`` with every member of group ``g[i]``."""
    cnt = gcount[g]
    pair_det = np.repeat(d, cnt)
    pair_pos = np.repeat(gstart[g] - np.r_[0, np.cumsum(cnt)[:-1]], cnt) + np.arange(int(cnt.sum()))
    return pair_det, pair_pos


def frame_ap(gt, n_videos: int, dets, classes: np.ndarray, thr: float = 0.5, protocol: str = "2022",
             tie_order: str = "stable") -> dict[int, tuple[np.floating, int, int, int]]:
    """Frame-AP of each class in ``classes`` that has GT: ``{class: (AP, n_gt, n_det, n_tp)}``.

    ``gt``: test-video tubes (TubeArrays: label, video, start, offsets, boxes); ``dets``: FrameDetections
    (video index, 1-based frame, label, score, boxes). GT boxes are compared in float64 (the official
    builds them with ``tolist``); detection box areas stay in the file's dtype. Boxes: no +1 in "2022",
    +1 in "2021". Classes without GT are left out (official: skipped).
    """
    nl = int(max(gt.label.max(initial=0), dets.label.max(initial=0), np.max(classes, initial=0))) + 1
    lens = np.diff(gt.offsets)
    row_tube = np.repeat(np.arange(len(lens)), lens)
    in_cls = np.zeros(nl, bool)
    in_cls[classes] = True
    rows = np.flatnonzero(in_cls[gt.label[row_tube]])
    t = row_tube[rows]
    r_lab = gt.label[t]
    r_frm = gt.start[t] + (rows - gt.offsets[t])
    fr = int(r_frm.max(initial=0)) + 1
    key = (r_lab * n_videos + gt.video[t]) * fr + r_frm
    o = np.argsort(key, kind="stable")  # group (class, video, frame); official GT order inside
    key, rows, r_lab = key[o], rows[o], r_lab[o]
    uk, gstart, gcount = np.unique(key, return_index=True, return_counts=True)
    n_gt = np.bincount(r_lab, minlength=nl)
    cls = np.array([c for c in classes if n_gt[c] > 0], dtype=np.int64)

    order, starts = detection_order(dets.label, dets.score, cls, tie_order)
    rank = np.full(len(dets), -1, np.int64)
    rank[order] = np.arange(len(order))
    d = np.flatnonzero((rank >= 0) & (dets.video >= 0) & (dets.video < n_videos) & (dets.frame >= 1)
                       & (dets.frame < fr))
    g = lookup_groups(uk, dets.label[d] * n_videos + dets.video[d], dets.frame[d], fr)
    d, g = d[g >= 0], g[g >= 0]
    pair_det, pair_pos = expand_groups(d, g, gstart, gcount)
    iou = box_iou_rows(np.take(gt.boxes, rows[pair_pos], axis=0), np.take(dets.boxes, pair_det, axis=0),
                       plus_one=protocol == "2021")
    det_group = np.zeros(len(dets), np.int64)
    det_group[d] = g
    cands = Candidates.build(pair_det, pair_pos, iou.astype(np.float64, copy=False), det_group)
    tpo = match(cands, rank, len(dets), len(key), thr, protocol)[order]
    aps = class_aps(tpo, starts, n_gt[cls], protocol)
    return {int(c): (aps[i], int(n_gt[c]), int(starts[i + 1] - starts[i]), int(tpo[starts[i]:starts[i + 1]].sum()))
            for i, c in enumerate(cls)}

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
        """Per detection segment: (has_nan, max IoU, argmax GT) over the GTs still ``alive``."""
        segs = np.arange(len(self.seg_det)) if segs is None else segs
        lens = self.seg_len[segs]
        base = np.repeat(self.seg_start[segs] - np.r_[0, np.cumsum(lens)[:-1]], lens)
        pidx = np.arange(int(lens.sum())) + base
        iou, gt = self.pair_iou[pidx], self.pair_gt[pidx]
        ok = np.ones(len(pidx), bool) if alive is None else alive[gt]
        isnan = np.isnan(iou)
        starts = np.r_[0, np.cumsum(lens)[:-1]]
        if len(pidx) == 0:
            return np.zeros(0, bool), np.zeros(0), np.zeros(0, np.int64)
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
    if protocol == "2022":
        has_nan, mx, gt = cands.best() if best is None else best
        c = np.flatnonzero(~has_nan & (mx >= thr))
        c = c[np.argsort(rank[cands.seg_det[c]], kind="stable")]
        _, first = np.unique(gt[c], return_index=True)
        tp[cands.seg_det[c[first]]] = True
        return tp
    alive = np.ones(n_gt, bool)
    pending = np.arange(len(cands.seg_det))
    while len(pending):
        has_nan, mx, gt = cands.best(alive, pending)
        r = rank[cands.seg_det[pending]]
        grp = cands.seg_group[pending]
        c = np.flatnonzero(~has_nan & (mx >= thr))
        win_rank = np.full(int(grp.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
        if len(c):
            c = c[np.lexsort((r[c], grp[c]))]
            w = c[np.r_[True, grp[c][1:] != grp[c][:-1]]]
            win_rank[grp[w]] = r[w]
            tp[cands.seg_det[pending[w]]] = True
            alive[gt[w]] = False
        pending = pending[r > win_rank[grp]]
    return tp


def detection_order(label: np.ndarray, score: np.ndarray, classes: np.ndarray, tie_order: str = "stable"
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Detections of ``classes`` ordered by (class, descending score); returns (order, class starts).

    ``order`` lists detection indices; ``starts[i]`` is where class ``classes[i]`` begins (plus end).
    """
    parts = []
    for c in classes:
        idx = np.flatnonzero(label == c)
        kind = "stable" if tie_order == "stable" else "quicksort"
        parts.append(idx[np.argsort(-score[idx], kind=kind)])
    lens = [len(p) for p in parts]
    order = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return order.astype(np.int64), np.r_[0, np.cumsum(lens)].astype(np.int64)


def class_aps(tp_in_order: np.ndarray, starts: np.ndarray, n_gt: np.ndarray, protocol: str) -> list:
    """AP of each class from its TP flags in processing order (official PR points and AP rule).

    "2022": float64 VOC all-point AP. "2021": float32 PR with (P=1, R=0) prepended and trapezoid sum.
    """
    out = []
    for i in range(len(n_gt)):
        tps = tp_in_order[starts[i]:starts[i + 1]]
        ctp = np.cumsum(tps)
        n = np.arange(1, len(tps) + 1)
        if protocol == "2022":
            out.append(np.float64(average_precision_all_point(ctp / n, ctp / n_gt[i])))
        else:
            pr = np.empty((len(tps) + 1, 2), dtype=np.float32)
            pr[0] = (1.0, 0.0)
            pr[1:, 0] = ctp / n
            pr[1:, 1] = ctp / n_gt[i]
            out.append(np.sum((pr[1:, 1] - pr[:-1, 1]) * (pr[1:, 0] + pr[:-1, 0]) * 0.5))
    return out


def frame_ap(gt, n_videos: int, dets, classes: np.ndarray, thr: float = 0.5, protocol: str = "2022",
             tie_order: str = "stable") -> dict[int, tuple[np.floating, int, int, int]]:
    """Frame-AP of each class in ``classes`` that has GT: ``{class: (AP, n_gt, n_det, n_tp)}``.

    ``gt``: test-video tubes (TubeArrays: label, video, start, offsets, boxes); ``dets``: FrameDetections
    (video index, 1-based frame, label, score, boxes). GT boxes are compared in float64 (the official
    builds them with ``tolist``); detection box areas stay in the file's dtype. Boxes: no +1 in "2022",
    +1 in "2021". Classes without GT are left out (official: skipped).
    """
    lens = np.diff(gt.offsets)
    keep_t = np.isin(gt.label, classes)
    row_keep = np.repeat(keep_t, lens)
    r_lab = np.repeat(gt.label, lens)[row_keep]
    r_vid = np.repeat(gt.video, lens)[row_keep]
    r_frm = (np.repeat(gt.start - gt.offsets[:-1], lens) + np.arange(len(gt.boxes)))[row_keep]
    r_box = gt.boxes[row_keep]
    fr = int(r_frm.max(initial=0)) + 1
    key = (r_lab * n_videos + r_vid) * fr + r_frm
    o = np.argsort(key, kind="stable")
    key, r_box, r_lab = key[o], r_box[o], r_lab[o]
    uk, gstart, gcount = np.unique(key, return_index=True, return_counts=True)
    n_gt = np.bincount(r_lab, minlength=int(max(classes.max(initial=0), r_lab.max(initial=0))) + 1)
    cls = np.array([c for c in classes if n_gt[c] > 0], dtype=np.int64)

    order, starts = detection_order(dets.label, dets.score, cls, tie_order)
    rank = np.empty(len(dets), np.int64)
    rank[order] = np.arange(len(order))
    d = np.sort(order)
    ok = (dets.video[d] >= 0) & (dets.video[d] < n_videos) & (dets.frame[d] >= 1) & (dets.frame[d] < fr)
    d = d[ok]
    dkey = (dets.label[d] * n_videos + dets.video[d]) * fr + dets.frame[d]
    g = np.searchsorted(uk, dkey)
    found = g < len(uk)
    found[found] = uk[g[found]] == dkey[found]
    d, g = d[found], g[found]
    cnt = gcount[g]
    pair_det = np.repeat(d, cnt)
    pair_gt = np.repeat(gstart[g] - np.r_[0, np.cumsum(cnt)[:-1]], cnt) + np.arange(int(cnt.sum()))
    iou = box_iou_rows(r_box[pair_gt], dets.boxes[pair_det], plus_one=protocol == "2021")
    det_group = np.zeros(len(dets), np.int64)
    det_group[d] = g
    cands = Candidates.build(pair_det, pair_gt, iou.astype(np.float64), det_group)
    tp = match(cands, rank, len(dets), len(key), thr, protocol)
    aps = class_aps(tp[order], starts, n_gt[cls], protocol)
    return {int(c): (aps[i], int(n_gt[c]), int(starts[i + 1] - starts[i]), int(tp[order][starts[i]:starts[i + 1]].sum()))
            for i, c in enumerate(cls)}

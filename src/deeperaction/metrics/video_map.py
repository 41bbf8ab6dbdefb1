"""MultiSports video-AP per class at many ST-IoU thresholds (ST-IoUs computed once, vectorized).

Each detected tube is compared with the GT tubes of its class in its video (official GT list order);
spatio-temporal IoU as in :func:`deeperaction.metrics.iou.tube_st_iou_pairs`; matching and AP rules
as in :mod:`deeperaction.metrics.frame_map`. A detection in a video without GT of its class, or in a
video outside the test list, is a false positive.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deeperaction.metrics.frame_map import (Candidates, class_aps, detection_order, expand_groups, lookup_groups,
                                            match)
from deeperaction.metrics.iou import tube_st_iou_pairs


def video_ap(gt, n_videos: int, det, classes: np.ndarray, thresholds: Sequence[float],
             protocol: str = "2022", tie_order: str = "stable"
             ) -> tuple[dict[float, dict[int, tuple[np.floating, int, int, int]]], int]:
    """Video-AP per threshold and class: ``({thr: {class: (AP, n_gt, n_det, n_tp)}}, n_nan)``.

    ``gt``/``det`` are TubeArrays (``video`` indexes the test list, -1 = not a test video). Only
    ``classes`` with GT are scored. ``n_nan`` counts detections whose best ST-IoU was undefined (two
    identical one-frame tubes in "2022"): like the official scorer, they are false positives.
    """
    n_gt = np.bincount(gt.label[np.isin(gt.label, classes)],
                       minlength=int(max(classes.max(initial=0), gt.label.max(initial=0))) + 1)
    cls = np.array([c for c in classes if n_gt[c] > 0], dtype=np.int64)
    keep = np.isin(gt.label, cls)
    gidx = np.flatnonzero(keep)
    gkey = gt.label[gidx] * n_videos + gt.video[gidx]
    o = np.argsort(gkey, kind="stable")  # keeps the official list order inside (class, video)
    gidx, gkey = gidx[o], gkey[o]
    uk, gstart, gcount = np.unique(gkey, return_index=True, return_counts=True)

    order, starts = detection_order(det.label, det.score, cls, tie_order)
    rank = np.full(len(det), -1, np.int64)
    rank[order] = np.arange(len(order))
    d = np.flatnonzero((rank >= 0) & (det.video >= 0) & (det.video < n_videos))
    g = lookup_groups(uk, det.label[d] * n_videos + det.video[d], np.zeros(len(d), np.int64))
    d, g = d[g >= 0], g[g >= 0]
    pair_det, pos = expand_groups(d, g, gstart, gcount)
    st = tube_st_iou_pairs(gt, det, gidx[pos], pair_det, protocol=protocol)
    det_group = np.zeros(len(det), np.int64)
    det_group[d] = g
    cands = Candidates.build(pair_det, pos, st, det_group)
    best = cands.best()
    n_nan = int(best[0].sum())
    out: dict[float, dict[int, tuple]] = {}
    for thr in thresholds:
        tp = match(cands, rank, len(det), len(gidx), thr, protocol, best=best if protocol == "2022" else None)
        tpo = tp[order]
        aps = class_aps(tpo, starts, n_gt[cls], protocol)
        out[thr] = {int(c): (aps[i], int(n_gt[c]), int(starts[i + 1] - starts[i]),
                             int(tpo[starts[i]:starts[i + 1]].sum())) for i, c in enumerate(cls)}
    return out, n_nan

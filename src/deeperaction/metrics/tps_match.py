"""Kinetics-TPS building blocks, bit-exact to the official scorer: IoUs, human matching, ordered sums.

The official code matches humans per frame with Hungarian assignment on a float32 IoU matrix (+1
pixel areas, disjoint boxes -1). When no box overlaps two boxes of the other side, the assignment
must take every overlapping pair, so only frames with such a conflict call scipy, on the very
matrix the official code builds (same dtype, same padding), so that ties resolve identically.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def human_iou32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Official human IoU of row-paired boxes as float32: float32 coordinates and differences,
    float64 areas (numpy 1.x scalar promotion), -1 when disjoint, then stored in float32."""
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    iw = (np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])).astype(np.float64) + 1
    ih = (np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])).astype(np.float64) + 1
    inter = iw * ih
    area_a = ((a[:, 2] - a[:, 0]).astype(np.float64) + 1) * ((a[:, 3] - a[:, 1]).astype(np.float64) + 1)
    area_b = ((b[:, 2] - b[:, 0]).astype(np.float64) + 1) * ((b[:, 3] - b[:, 1]).astype(np.float64) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (area_a + area_b - inter)
    return np.where((iw > 0) & (ih > 0), iou, -1.0).astype(np.float32)


def part_iou64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Official part IoU of row-paired boxes in float64 (JSON numbers, +1 pixel areas, -1 disjoint)."""
    iw = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]) + 1
    ih = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]) + 1
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (area_a + area_b - inter)
    return np.where((iw > 0) & (ih > 0), iou, -1.0)


def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``[starts[i], starts[i]+counts[i])``: (owner i, element index) of every element."""
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - first[owner] + starts[owner]


def match_humans(gt_box: np.ndarray, gt_h0: np.ndarray, gt_n: np.ndarray, pr_box: np.ndarray,
                 pr_h0: np.ndarray, pr_n: np.ndarray) -> tuple:
    """Official Hungarian matching in many frames at once.

    Frame ``i`` has GT humans ``gt_h0[i] + range(gt_n[i])`` and predicted ``pr_h0[i] + range(pr_n[i])``.
    Returns (gt human, pred human, float32 IoU, padded, frame i) of every assigned pair with IoU > 0,
    sorted by GT human; ``padded`` (frame not square) decides the dtype of the official threshold test.
    Also returns the number of frames that needed scipy. GT humans must be numbered frame by frame.
    """
    sizes = gt_n * pr_n
    f_of, k = expand_ranges(np.zeros_like(sizes), sizes)
    npf = pr_n[f_of]
    gi = gt_h0[f_of] + k // npf
    pj = pr_h0[f_of] + k % npf
    iou = human_iou32(gt_box[gi], pr_box[pj])
    ov = iou > 0
    deg_g = np.bincount(gi[ov], minlength=len(gt_box))
    deg_p = np.bincount(pj[ov], minlength=len(pr_box))
    conflict = ov & ((deg_g[gi] > 1) | (deg_p[pj] > 1))
    hard = np.unique(f_of[conflict])
    keep = ov & ~np.isin(f_of, hard)
    out_g, out_p, out_iou, out_f = [gi[keep]], [pj[keep]], [iou[keep]], [f_of[keep]]
    pair0 = np.cumsum(sizes) - sizes
    for f in hard.tolist():
        ng, np_ = int(gt_n[f]), int(pr_n[f])
        m = iou[pair0[f]:pair0[f] + ng * np_].reshape(ng, np_)
        if np_ > ng:  # as the official code: pad with float64 zeros (the matrix becomes float64)
            m = np.concatenate((m, np.full((np_ - ng, np_), 0.0)), axis=0)
        elif ng > np_:
            m = np.concatenate((m, np.full((ng, ng - np_), 0.0)), axis=1)
        r, c = linear_sum_assignment(1 - m)
        sel = (r < ng) & (c < np_)
        r, c = r[sel], c[sel]
        v = m[r, c].astype(np.float32)
        pos = v > 0
        out_g.append(gt_h0[f] + r[pos])
        out_p.append(pr_h0[f] + c[pos])
        out_iou.append(v[pos])
        out_f.append(np.full(int(pos.sum()), f))
    g, p, v, fr = (np.concatenate(x) for x in (out_g, out_p, out_iou, out_f))
    order = np.argsort(g, kind="stable")
    g, p, v, fr = g[order], p[order], v[order], fr[order]
    return g, p, v, gt_n[fr] != pr_n[fr], fr, len(hard)


class OrderedSums:
    """Per-segment sums of values, each segment added left to right in element order, as Python does.

    numpy's ``add.reduce`` sums pairwise, which changes the last bits; the official per-frame and
    per-video sums are sequential, so this adds position by position across all segments at once.
    """

    def __init__(self, seg: np.ndarray, n_seg: int):
        seg = np.asarray(seg, dtype=np.int64)
        self.n_seg = n_seg
        o = np.argsort(seg, kind="stable")
        counts = np.bincount(seg, minlength=n_seg)
        first = np.cumsum(counts) - counts
        pos = np.empty(len(seg), dtype=np.int64)
        pos[o] = np.arange(len(seg)) - first[seg[o]]
        by_pos = np.argsort(pos, kind="stable")
        n_at = np.bincount(pos) if len(pos) else np.zeros(0, np.int64)
        bounds = np.r_[0, np.cumsum(n_at)]
        self.steps = [(seg[by_pos[bounds[j]:bounds[j + 1]]], by_pos[bounds[j]:bounds[j + 1]])
                      for j in range(len(n_at))]

    def __call__(self, values: np.ndarray) -> np.ndarray:
        acc = np.zeros(self.n_seg)
        for s, idx in self.steps:
            acc[s] += values[idx]
        return acc

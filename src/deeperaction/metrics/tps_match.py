"""Kinetics-TPS building blocks, bit-exact to the official scorer: IoUs, human matching, ordered sums.

The official code matches humans per frame with Hungarian assignment on a float32 IoU matrix (+1
pixel areas, disjoint boxes -1). When no box overlaps two boxes of the other side, the assignment
must take every overlapping pair, so only frames with such a conflict call scipy, on the very
matrix the official code builds (same dtype, same padding), so that ties resolve identically.
"""
from __future__ import annotations

import itertools

import numpy as np


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


def link_frames(gt, pred) -> np.ndarray:
    """For each GT frame of ``gt`` (a TpsSet), its row in ``pred`` (same video and frame number), else -1.

    Frames of a video the predictions do not hold at all (no action entry) are unlinked too.
    """
    span = int(max(gt.frame_num.max(initial=0), pred.frame_num.max(initial=0))) + 1
    pv = np.array([gt.video_index.get(v, -1) for v in pred.videos] + [-1])[pred.frame_video]
    pkey = np.where(pv >= 0, pv * span + pred.frame_num, -1)
    gkey = gt.frame_video * span + gt.frame_num
    pf = np.full(len(gkey), -1)
    if len(pkey):
        order = np.argsort(pkey, kind="stable")
        sk = pkey[order]
        at = np.searchsorted(sk, gkey).clip(max=len(sk) - 1)
        hit = sk[at] == gkey
        pf[hit] = order[at[hit]]
    has = np.array([v in pred.actions for v in gt.videos], dtype=bool)
    pf[~has[gt.frame_video]] = -1
    return pf


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
    Also returns the number of frames left to scipy. GT humans must be numbered frame by frame.
    """
    sizes = gt_n * pr_n
    f_of, k = expand_ranges(np.zeros_like(sizes), sizes)
    npf = pr_n[f_of]
    gi = gt_h0[f_of] + k // npf
    pj = pr_h0[f_of] + k % npf
    iou = human_iou32(gt_box[gi], pr_box[pj])
    ov = np.flatnonzero(iou > 0)  # overlapping pairs: the only ones that can ever match
    e_g, e_p, e_f = gi[ov], pj[ov], f_of[ov]
    padded = gt_n[e_f] != pr_n[e_f]
    # the official cost 1 - IoU: float32 arithmetic on a square matrix, float64 once padded
    cost = np.where(padded, 1 - iou[ov].astype(np.float64), (np.float32(1) - iou[ov]).astype(np.float64))
    chosen, hard = _easy_components(e_g, e_p, e_f, cost, len(gt_box), len(pr_box))
    keep = ov[chosen & ~np.isin(e_f, hard)]
    out_g, out_p, out_iou, out_f = [gi[keep]], [pj[keep]], [iou[keep]], [f_of[keep]]
    pair0 = np.cumsum(sizes) - sizes
    left = [hard[np.maximum(gt_n[hard], pr_n[hard]) > MAX_PERM_N]]
    for n in range(2, MAX_PERM_N + 1):
        group = hard[np.maximum(gt_n[hard], pr_n[hard]) == n]
        for c0 in range(0, len(group), 4096):
            f, r, c, rest = _by_permutations(group[c0:c0 + 4096], n, gt_n, pr_n, iou, pair0)
            at = pair0[f] + r * pr_n[f] + c
            out_g.append(gi[at])
            out_p.append(pj[at])
            out_iou.append(iou[at])
            out_f.append(f)
            left.append(rest)
    hard = np.sort(np.concatenate(left))
    if len(hard):  # scipy.optimize costs 0.25 s to import: only when some frame needs it
        from scipy.optimize import linear_sum_assignment
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


MAX_PERM_N = 5  # frames up to 5x5 are solved by trying all 120 assignments at once (vectorized)
_PERMS = {n: np.array(list(itertools.permutations(range(n)))) for n in range(2, MAX_PERM_N + 1)}


def _by_permutations(frames: np.ndarray, n: int, gt_n: np.ndarray, pr_n: np.ndarray, iou: np.ndarray,
                     pair0: np.ndarray) -> tuple[np.ndarray, ...]:
    """Exact assignment of frames whose padded matrix is n x n by scoring every permutation.

    A frame is solved when all permutations within 1e-9 of the minimum cost choose the same set of
    overlapping pairs (so scipy, whatever its tie order, must choose them too); the others are
    returned in ``left`` for scipy. Returns (frame, GT row, pred column, left).
    """
    ng, np_ = gt_n[frames], pr_n[frames]
    fl, k = expand_ranges(np.zeros_like(frames), ng * np_)
    m = np.zeros((len(frames), n, n), dtype=np.float32)  # padding: IoU 0 (dummy rows / columns)
    m[fl, k // np_[fl], k % np_[fl]] = iou[pair0[frames[fl]] + k]
    square = (ng == np_)[:, None, None]
    cost = np.where(square, (np.float32(1) - m).astype(np.float64), 1 - m.astype(np.float64))
    perms = _PERMS[n]
    rows = np.arange(n)
    total = cost[:, rows, perms].sum(-1)  # (F, n!)
    cell_bit = (rows * n)[None, :] + perms  # (n!, n): bit of cell (i, perms[i])
    sig = np.where(m[:, rows, perms] > 0, np.int64(1) << cell_bit, 0).sum(-1)  # chosen overlap cells
    best = total.argmin(1)
    near = total <= total[np.arange(len(frames)), best][:, None] + 1e-9
    ok = ~(near & (sig != sig[np.arange(len(frames)), best][:, None])).any(1)
    pick = perms[best[ok]]  # (F_ok, n)
    f_ok = np.repeat(frames[ok], n)
    r = np.tile(rows, int(ok.sum()))
    c = pick.reshape(-1)
    real = (r < gt_n[f_ok]) & (c < pr_n[f_ok])
    f_ok, r, c = f_ok[real], r[real], c[real]
    hit = iou[pair0[f_ok] + r * pr_n[f_ok] + c] > 0
    return f_ok[hit], r[hit], c[hit], frames[~ok]


def _easy_components(e_g: np.ndarray, e_p: np.ndarray, e_f: np.ndarray, cost: np.ndarray, n_g: int,
                     n_p: int) -> tuple[np.ndarray, np.ndarray]:
    """Solve the assignment where its answer is forced; return (edge chosen, frames left for scipy).

    Every overlapping pair lowers the total cost (cost - 2 < 0 against a disjoint pair), so the
    optimum is a maximum matching of the overlap graph, component by component. A single edge is
    taken; in a star (one box overlapping several boxes that overlap nothing else) the cheapest edge
    is taken, unless its cost ties (scipy's tie order then decides). Other shapes go to scipy.
    """
    deg_g = np.bincount(e_g, minlength=n_g)
    deg_p = np.bincount(e_p, minlength=n_p)
    # a node is a star centre if all its neighbours have degree 1
    g_star = np.bincount(e_g, weights=deg_p[e_p] > 1, minlength=n_g) == 0
    p_star = np.bincount(e_p, weights=deg_g[e_g] > 1, minlength=n_p) == 0
    single = (deg_g[e_g] == 1) & (deg_p[e_p] == 1)
    by_g = ~single & g_star[e_g]
    by_p = ~single & ~by_g & p_star[e_p]
    chosen = single.copy()
    hard = [e_f[~single & ~by_g & ~by_p]]
    for sel, centre in ((by_g, e_g), (by_p, e_p)):
        idx = np.flatnonzero(sel)
        if not len(idx):
            continue
        o = idx[np.lexsort((cost[idx], centre[idx]))]
        first = np.r_[True, centre[o][1:] != centre[o][:-1]]
        best = o[first]
        nxt = np.flatnonzero(first) + 1  # second-cheapest edge of the same centre (degree >= 2)
        tie = cost[o[nxt]] == cost[best]
        chosen[best[~tie]] = True
        hard.append(e_f[best[tie]])
    return chosen, np.unique(np.concatenate(hard))


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

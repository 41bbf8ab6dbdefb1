"""Box and tube IoU helpers with the official scorers' exact float operation order (numpy only).

The official MultiSports/ACT scorers compute ``ov / (area(a) + area(b) - ov)`` with each side's area in
that side's own dtype (float32 tubes stay float32), and average per-frame IoUs with ``np.mean`` (numpy's
pairwise summation). These helpers reproduce that bit for bit, for many box/tube pairs at once, so
IoUs that sit exactly on a threshold fall on the same side as in the official code.
"""
from __future__ import annotations

import numpy as np

_PW_BLOCK = 128  # numpy's PW_BLOCKSIZE (pairwise summation leaf size)


def box_area(b: np.ndarray, plus_one: bool = False) -> np.ndarray:
    """Areas of ``(N, 4)`` boxes in their own dtype; ``plus_one`` = pixel-inclusive (x2 - x1 + 1)."""
    if plus_one:
        return (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def _side_terms(b: np.ndarray, f32: np.ndarray | None, plus_one: bool):
    """x2, y2 (+1 if ``plus_one``) and area of one side, computed in float32 on rows flagged in ``f32``."""
    x2, y2 = (b[:, 2] + 1, b[:, 3] + 1) if plus_one else (b[:, 2], b[:, 3])
    area = box_area(b, plus_one)
    if f32 is not None and f32.any():
        b32 = b[f32].astype(np.float32)
        x2, y2, area = x2.copy(), y2.copy(), area.copy()
        if plus_one:
            x2[f32], y2[f32] = b32[:, 2] + 1, b32[:, 3] + 1
        area[f32] = box_area(b32, plus_one)
    return x2, y2, area


def box_iou_rows(a: np.ndarray, b: np.ndarray, plus_one: bool = False, a_f32: np.ndarray | None = None,
                 b_f32: np.ndarray | None = None) -> np.ndarray:
    """IoU of row ``i`` of ``a`` (ground-truth side) with row ``i`` of ``b``, official op order (0/0 = nan).

    Arrays promote as the official numpy expressions do. ``a_f32``/``b_f32`` flag rows (of float64
    arrays) that were float32 in the file and met a float64 partner: their per-side terms (area, x2 + 1)
    are rounded in float32 first, as numpy does before promoting.
    """
    ax2, ay2, aarea = _side_terms(a, a_f32, plus_one)
    bx2, by2, barea = _side_terms(b, b_f32, plus_one)
    w = np.maximum(0, np.minimum(ax2, bx2) - np.maximum(a[:, 0], b[:, 0]))
    h = np.maximum(0, np.minimum(ay2, by2) - np.maximum(a[:, 1], b[:, 1]))
    ov = w * h
    with np.errstate(invalid="ignore", divide="ignore"):
        return ov / (aarea + barea - ov)


def box_iou_matrix(a: np.ndarray, b: np.ndarray, plus_one: bool = False) -> np.ndarray:
    """``(len(a), len(b))`` IoU matrix with the same formula as :func:`box_iou_rows`."""
    ia, ib = np.meshgrid(np.arange(len(a)), np.arange(len(b)), indexing="ij")
    return box_iou_rows(a[ia.ravel()], b[ib.ravel()], plus_one).reshape(len(a), len(b))


def segment_sum_pairwise(x: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``np.sum(x[s:s+n])`` for every segment, bit-identical to numpy's pairwise summation, vectorized.

    numpy sums a contiguous run of ``n`` items sequentially if ``n < 8``, with 8 interleaved
    accumulators if ``n <= 128``, and otherwise splits it at ``n2 = n//2 - (n//2) % 8`` and recurses.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.zeros(len(starts), dtype=x.dtype)
    big = lengths > _PW_BLOCK
    if big.any():
        n = lengths[big]
        n2 = n // 2
        n2 -= n2 % 8
        out[big] = (segment_sum_pairwise(x, starts[big], n2)
                    + segment_sum_pairwise(x, starts[big] + n2, n - n2))
    small = lengths < 8
    if small.any():
        s, n = starts[small], lengths[small]
        r = np.zeros(len(s), dtype=x.dtype)
        for k in range(int(n.max(initial=0))):
            m = k < n
            r[m] = r[m] + x[s[m] + k]
        out[small] = r
    mid = ~big & ~small
    if mid.any():
        s, n = starts[mid], lengths[mid]
        lane = np.arange(8)
        r = x[s[:, None] + lane]
        nb = n // 8
        for blk in range(1, int(nb.max())):
            m = blk < nb
            r[m] = r[m] + x[s[m, None] + 8 * blk + lane]
        res = ((r[:, 0] + r[:, 1]) + (r[:, 2] + r[:, 3])) + ((r[:, 4] + r[:, 5]) + (r[:, 6] + r[:, 7]))
        tail0, ntail = s + 8 * nb, n % 8
        for k in range(int(ntail.max(initial=0))):
            m = k < ntail
            res[m] = res[m] + x[tail0[m] + k]
        out[mid] = res
    return out


def segment_mean_numpy(x: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``np.mean(x[s:s+n])`` per segment, bit-identical (float32 stays float32), ``n >= 1``."""
    s = segment_sum_pairwise(x, starts, lengths)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (s.astype(np.float64) / lengths).astype(x.dtype)


def tube_st_iou_pairs(gt, det, gi: np.ndarray, di: np.ndarray, *, protocol: str = "2022",
                      chunk: int = 4_000_000) -> np.ndarray:
    """Spatio-temporal IoU of tube pairs ``(gt[gi[k]], det[di[k]])`` (official formulas), float64 out.

    ``gt``/``det`` carry flat tube arrays (``start``, ``end``, ``offsets``, ``boxes``, ``is_f32``;
    contiguous 1-based frames). ST-IoU = mean per-frame box IoU over the temporal intersection times
    the temporal IoU: "2022" counts frames as points, ``(tmax - tmin) / (max_end - min_start)``, boxes
    without +1 (so a one-frame overlap gives 0 and two identical one-frame tubes give nan); "2021"
    counts frames, ``(tmax - tmin + 1) / (max_end - min_start + 1)``, boxes with +1. For a pair of
    float32 tubes the official code computes the per-frame IoUs and their mean in float32, and in
    "2022" also the temporal ratio and product (numpy 1.x scalar rules). No temporal overlap gives 0.
    """
    plus_one = protocol == "2021"
    gi, di = np.asarray(gi, np.int64), np.asarray(di, np.int64)
    gs, ge, ds, de = gt.start[gi], gt.end[gi], det.start[di], det.end[di]
    tmin, tmax = np.maximum(gs, ds), np.minimum(ge, de)
    out = np.zeros(len(gi), dtype=np.float64)
    both32 = gt.is_f32[gi] & det.is_f32[di]
    inter = tmax - tmin + (1 if plus_one else 0)
    union = np.maximum(ge, de) - np.minimum(gs, ds) + (1 if plus_one else 0)
    for f32 in (False, True):
        sel = np.flatnonzero((tmax >= tmin) & (both32 == f32))
        if len(sel) == 0:
            continue
        # bound the expanded per-frame arrays: pieces of pairs holding about `chunk` frames each
        csum = np.cumsum(tmax[sel] - tmin[sel] + 1)
        cuts = np.unique(np.searchsorted(csum, np.arange(chunk, int(csum[-1]), chunk), side="right"))
        for part in np.split(sel, cuts):
            if len(part):
                out[part] = _st_iou_piece(gt, det, gi[part], di[part], tmin[part], tmax[part],
                                          inter[part], union[part], f32, plus_one)
    return out


def _st_iou_piece(gt, det, gi, di, tmin, tmax, inter, union, f32: bool, plus_one: bool) -> np.ndarray:
    """ST-IoU of pairs that overlap in time, in one work dtype (float32 iff both tubes are)."""
    n = tmax - tmin + 1
    seg0 = np.concatenate([[0], np.cumsum(n)[:-1]])
    k = np.arange(int(n.sum())) - np.repeat(seg0, n)
    a = np.take(gt.boxes, np.repeat(gt.offsets[gi] + (tmin - gt.start[gi]), n) + k, axis=0)
    b = np.take(det.boxes, np.repeat(det.offsets[di] + (tmin - det.start[di]), n) + k, axis=0)
    if f32:
        iou = box_iou_rows(a.astype(np.float32), b.astype(np.float32), plus_one)
    else:
        iou = box_iou_rows(a, b, plus_one, np.repeat(gt.is_f32[gi], n), np.repeat(det.is_f32[di], n))
    mean = segment_mean_numpy(iou, seg0, n)
    # numpy 1.x scalars: float32 - float32 stays float32 (2022), but float32 + 1 (2021) is float64
    dt = np.float32 if (f32 and not plus_one) else np.float64
    with np.errstate(invalid="ignore", divide="ignore"):
        return (mean.astype(dt) * (inter.astype(dt) / union.astype(dt))).astype(np.float64)

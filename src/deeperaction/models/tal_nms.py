"""Non-maximum suppression of temporal segments in pure torch (no compiled extension: ActionFormer's C++
``nms_1d_cpu`` is its most common install failure): greedy NMS, Soft-NMS (Bodla et al. 2017, Gaussian or
linear decay) and boundary voting, all class-aware.

Shared rules. ``segs (N, 2)`` are ``(start, end)`` in any unit; the overlap of two segments is ``inter /
union`` with ``union`` floored at 1e-8 (two zero-length segments at one point overlap 0). Computed in float64 on
the CPU (the loops are short and sequential). Ties: among equal scores the segment earlier in the input is taken
first (a stable sort; ``torch.argmax`` returns the first maximum); ActionFormer's C++ breaks them by its swap
order instead, which only differs on exactly equal scores.
"""
from __future__ import annotations

import math

import torch

SOFT_METHODS = ("gaussian", "linear", "hard")
"""Decay of :func:`soft_nms_1d`: ``exp(-iou^2 / sigma)``; ``1 - iou`` above the threshold; 0 above it."""


def segment_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise overlap of ``a (N, 2)`` and ``b (M, 2)`` -> ``(N, M)`` (float64)."""
    a, b = a.double(), b.double()
    inter = (torch.minimum(a[:, None, 1], b[None, :, 1]) - torch.maximum(a[:, None, 0], b[None, :, 0])).clamp(min=0)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - inter
    return inter / union.clamp(min=1e-8)


def _one_to_all(seg: torch.Tensor, segs: torch.Tensor) -> torch.Tensor:
    """Overlap of one segment ``(2,)`` with ``segs (N, 2)`` -> ``(N,)`` (both float64)."""
    inter = (torch.minimum(seg[1], segs[:, 1]) - torch.maximum(seg[0], segs[:, 0])).clamp(min=0)
    return inter / ((seg[1] - seg[0]) + (segs[:, 1] - segs[:, 0]) - inter).clamp(min=1e-8)


def nms_1d(segs: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_threshold: float, *,
           max_num: int = 0) -> torch.Tensor:
    """Greedy class-aware NMS: by descending score, keep a segment and drop every later one of its class that
    overlaps it by more than ``iou_threshold`` (torchvision's ``>`` rule). Returns the kept indices in order of
    descending score (at most ``max_num``; 0 = all), on the input's device."""
    n = len(scores)
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=scores.device)
    order = torch.sort(scores.detach().double().cpu(), descending=True, stable=True).indices
    s = segs.detach().double().cpu()[order]
    lab = labels.detach().cpu()[order]
    alive = torch.ones(n, dtype=torch.bool)
    keep: list[int] = []
    for i in range(n):
        if not alive[i]:
            continue
        keep.append(i)
        if max_num and len(keep) >= max_num:
            break
        alive &= ~((_one_to_all(s[i], s) > iou_threshold) & (lab == lab[i]))
    return order[torch.tensor(keep, dtype=torch.long)].to(scores.device)


def soft_nms_1d(segs: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, *, sigma: float = 0.5,
                iou_threshold: float = 0.1, min_score: float = 1e-3, method: str = "gaussian",
                max_num: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-aware Soft-NMS (Bodla et al.): repeatedly take the highest remaining score, then decay the
    remaining segments of its class by their overlap ``o`` with it: ``gaussian`` ``exp(-o^2 / sigma)``,
    ``linear`` ``1 - o`` where ``o > iou_threshold``, ``hard`` 0 where ``o > iou_threshold``. A segment whose score
    is (at the start) or falls below ``min_score`` is dropped. Returns ``(indices, new scores)`` in the order taken
    (descending new score), at most ``max_num`` (0 = all): stopping early gives the same first ``max_num``, since
    scores only fall."""
    if method not in SOFT_METHODS:
        raise ValueError(f"soft-NMS method must be one of {', '.join(SOFT_METHODS)}, got {method!r}")
    n = len(scores)
    dev, dtype = scores.device, scores.dtype
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=dev), torch.zeros(0, dtype=dtype, device=dev)
    s = segs.detach().double().cpu()
    work = scores.detach().double().cpu().clone()
    lab = labels.detach().cpu()
    alive = work >= min_score
    keep: list[int] = []
    kept: list[float] = []
    neg = torch.tensor(-math.inf, dtype=torch.float64)
    limit = max_num if max_num > 0 else n
    while len(keep) < limit and bool(alive.any()):
        i = int(torch.argmax(torch.where(alive, work, neg)))
        keep.append(i)
        kept.append(float(work[i]))
        alive[i] = False
        same = torch.nonzero(alive & (lab == lab[i])).squeeze(1)
        if len(same) == 0:
            continue
        o = _one_to_all(s[i], s[same])
        if method == "gaussian":
            w = torch.exp(-(o * o) / sigma)
        elif method == "linear":
            w = torch.where(o > iou_threshold, 1.0 - o, torch.ones_like(o))
        else:
            w = torch.where(o > iou_threshold, torch.zeros_like(o), torch.ones_like(o))
        work[same] *= w
        alive[same] = work[same] >= min_score
    return (torch.tensor(keep, dtype=torch.long, device=dev),
            torch.tensor(kept, dtype=torch.float64).to(device=dev, dtype=dtype))


def vote_segments(kept: torch.Tensor, kept_labels: torch.Tensor, segs: torch.Tensor, scores: torch.Tensor,
                  labels: torch.Tensor, *, iou_threshold: float) -> torch.Tensor:
    """Boundary voting (ActionFormer's ``seg_voting``, class-aware): each kept segment becomes the mean of the
    candidates of its class overlapping it by at least ``iou_threshold`` (itself included), weighted by score x
    overlap. ``kept (K, 2)`` with ``kept_labels``; candidates ``segs (N, 2)``, ``scores``, ``labels`` (before NMS)."""
    if len(kept) == 0 or len(segs) == 0:
        return kept
    o = segment_iou(kept, segs)
    w = torch.where((o >= iou_threshold) & (kept_labels[:, None] == labels[None, :]),
                    o * scores.double()[None, :], torch.zeros_like(o))
    total = w.sum(1, keepdim=True)
    voted = (w @ segs.double()) / total.clamp(min=1e-12)
    return torch.where(total > 0, voted, kept.double()).to(kept.dtype)

"""Losses of the ``tal`` family (ActionFormer's, plus the relation and video heads'): which points answer for
which action (centre sampling within each level's range), sigmoid focal loss on the points' classes, a 1-D
distance-IoU loss on their boundary distances, the relation's regression of each candidate's tIoU, and the
video head's binary cross-entropy."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class TalLossWeights:
    """Weights of the terms (the class term has weight 1) and the focal loss's alpha/gamma; ``radius``: centre
    sampling radius in strides."""

    reg: float = 1.0
    relation: float = 1.0
    video: float = 0.5
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    radius: float = 1.5


def assign_points(points: torch.Tensor, strides: torch.Tensor, ranges: torch.Tensor, point_mask: torch.Tensor,
                  gt: torch.Tensor, num_classes: int, radius: float = 1.5
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Targets of every point: ``gt (B, M, 3)`` rows ``(start, end, class)`` in input rows (class -1: padding).

    A point answers for an action when it lies within ``radius`` strides of the action's centre and strictly
    inside the action (a point on a boundary has nothing to regress), and the action's farther boundary is in its
    level's range; among several, the shortest action (all of the shortest, if tied: multi-label). Returns
    ``cls (B, N, C)`` 0/1, ``reg (B, N, 2)`` distances to start and end in strides, ``pos (B, N)``.
    """
    s, e, lab = gt[..., 0].float(), gt[..., 1].float(), gt[..., 2].long()
    b, n = point_mask.shape
    if gt.shape[1] == 0:
        return (torch.zeros(b, n, num_classes, device=gt.device), torch.zeros(b, n, 2, device=gt.device),
                torch.zeros(b, n, dtype=torch.bool, device=gt.device))
    p, st = points[None, :, None], strides[None, :, None]
    left, right = p - s[:, None, :], e[:, None, :] - p  # (B, N, M)
    c, r = (s + e)[:, None, :] / 2, radius * st
    inside = (p > torch.maximum(c - r, s[:, None, :])) & (p < torch.minimum(c + r, e[:, None, :]))  # strictly
    far = torch.maximum(left, right)
    in_range = (far > ranges[None, :, 0, None]) & (far <= ranges[None, :, 1, None])
    cand = inside & in_range & (lab >= 0)[:, None, :] & point_mask.bool()[..., None]
    length = torch.where(cand, (e - s)[:, None, :].expand_as(cand), torch.full_like(left, float("inf")))
    min_len, best = length.min(-1)
    pos = torch.isfinite(min_len)
    shortest = cand & (length <= min_len[..., None])
    onehot = F.one_hot(lab.clamp(min=0), num_classes).float() * (lab >= 0)[..., None]
    cls = torch.bmm(shortest.float(), onehot).clamp(max=1.0)
    reg = torch.stack([left.gather(-1, best[..., None])[..., 0], right.gather(-1, best[..., None])[..., 0]], -1)
    return cls, reg / strides[None, :, None], pos


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0
                       ) -> torch.Tensor:
    """Elementwise focal loss (Lin et al.) of sigmoid logits against 0/1 targets; ``alpha`` < 0: unweighted."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss


def diou_loss_1d(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Distance-IoU loss of boundary distances ``(..., 2)`` (to start, to end) from a common point: ``1 - IoU +
    (centre distance / enclosing length) ** 2`` (ActionFormer's ``ctr_diou_loss_1d``)."""
    lp, rp, lg, rg = pred[..., 0], pred[..., 1], target[..., 0], target[..., 1]
    inter = torch.minimum(lp, lg) + torch.minimum(rp, rg)
    union = (lp + rp) + (lg + rg) - inter
    iou = inter / union.clamp(min=eps)
    enclosing = torch.maximum(lp, lg) + torch.maximum(rp, rg)
    rho = 0.5 * (rp - lp - rg + lg)
    return 1 - iou + (rho / enclosing.clamp(min=eps)) ** 2


def candidate_tiou(segs: torch.Tensor, labels: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """The relation's target: each candidate's tIoU with the best-overlapping GT action of its class (0 without
    one); ``segs (B, K, 2)``, ``labels (B, K)``, ``gt (B, M, 3)`` -> ``(B, K)``."""
    if gt.shape[1] == 0:
        return torch.zeros(segs.shape[:2], device=segs.device)
    s, e = segs[..., 0, None].float(), segs[..., 1, None].float()
    gs, ge, gl = gt[:, None, :, 0].float(), gt[:, None, :, 1].float(), gt[:, None, :, 2].long()
    inter = (torch.minimum(e, ge) - torch.maximum(s, gs)).clamp(min=0)
    iou = inter / ((e - s) + (ge - gs) - inter).clamp(min=1e-6)
    same = (labels[..., None] == gl) & (gl >= 0)
    return torch.where(same, iou, torch.zeros_like(iou)).amax(-1)


def tal_loss(out: dict[str, torch.Tensor], gt: torch.Tensor, w: TalLossWeights = TalLossWeights()
             ) -> torch.Tensor:
    """The training loss of a :class:`~deeperaction.models.tal.TalNet` output against ``gt (B, M, 3)``: focal
    class loss over the real points + ``w.reg`` x DIoU over the positive ones (both divided by the positives,
    at least 1) + ``w.relation`` x BCE of the relation logits against :func:`candidate_tiou` + ``w.video`` x BCE
    of the video logits against the classes present."""
    logits = out["cls_logits"].float()
    c = logits.shape[-1]
    cls_t, reg_t, pos = assign_points(out["points"], out["strides"], out["ranges"], out["point_mask"], gt, c,
                                      w.radius)
    valid = out["point_mask"].bool()
    npos = pos.sum().clamp(min=1).float()
    loss = sigmoid_focal_loss(logits[valid], cls_t[valid], w.focal_alpha, w.focal_gamma).sum() / npos
    if pos.any():
        loss = loss + w.reg * diou_loss_1d(out["offsets"].float()[pos], reg_t[pos]).sum() / npos
    else:
        loss = loss + 0.0 * out["offsets"].sum()
    if "relation_logits" in out:
        rl = out["relation_logits"].float()
        cv = out["cand_valid"]
        target = candidate_tiou(out["cand_segs"], out["cand_labels"], gt)
        rel = F.binary_cross_entropy_with_logits(rl[cv], target[cv]) if cv.any() else 0.0 * rl.sum()
        loss = loss + w.relation * rel
    if "video_logits" in out:
        vl = out["video_logits"].float()
        lab = gt[..., 2].long()
        present = (F.one_hot(lab.clamp(min=0), c).float() * (lab >= 0)[..., None]).amax(1) if gt.shape[1] else \
            torch.zeros_like(vl)
        loss = loss + w.video * F.binary_cross_entropy_with_logits(vl, present)
    return loss

"""Temporal action localization (ActivityNet / HACS / FineAction / THUMOS style) on per-row video features:
the ``tal`` family.

:class:`TemporalLocalizer` is an ActionFormer-style single-stage localizer: masked convolutions project the
feature rows ``(B, T, D)``, a pyramid of ``levels`` levels (each half the length of the one below, by a masked
max-pool) of transformer blocks with local (windowed) multi-head self-attention encodes them, and two heads
shared across levels give every point of every level class logits (sigmoid) and its distances to the start and
the end of the action it lies in (>= 0, in units of the level's stride). A point ``k`` of level ``l`` sits at
input row ``k * 2**l``; level ``l`` answers for actions whose farther boundary is ``(2**(l+1), 2**(l+2)]`` rows
away (:func:`level_ranges`). Padding rows (``mask`` False) change nothing at the real rows.

On top, two optional parts from the ActivityNet winners' systems: :class:`ProposalRelation` (self-attention
over a video's top candidate segments, which rescores each by its predicted overlap with the action, seeing the
others) and :class:`VideoHead` (video-level class scores that multiply the segment scores, or relabel them,
:func:`fuse_video_scores`). :class:`TalNet` holds the three; :func:`localize` turns its output into segments
(rows) with Soft-NMS / NMS in pure torch (:mod:`deeperaction.models.tal_nms`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from deeperaction.models.checkpoint import load_model_file
from deeperaction.models.tal_nms import nms_1d, soft_nms_1d, vote_segments

NMS_KINDS = ("soft", "hard", "none")
"""``tal.nms``: Soft-NMS, greedy NMS, or none (the top candidates as they are)."""


def level_ranges(levels: int) -> list[tuple[float, float]]:
    """Per level ``(lo, hi]``: the distances (rows) from a point to the farther boundary of the actions that level
    regresses (ActionFormer's (0,4], (4,8], ... (64, inf) for 6 levels)."""
    return [(0.0 if lv == 0 else float(2 ** (lv + 1)), math.inf if lv == levels - 1 else float(2 ** (lv + 2)))
            for lv in range(levels)]


# ---------------------------------------------------------------------------------------------- blocks
class MaskedConv(nn.Module):
    """Conv1d (same length) + LayerNorm + ReLU on ``(B, T, C)`` rows; padding rows in and out are zero, so a
    padded sequence gives exactly what the sequence alone gives."""

    def __init__(self, *, dim_in: int, dim_out: int, kernel: int = 3):
        super().__init__()
        self.conv = nn.Conv1d(dim_in, dim_out, kernel, padding=kernel // 2, bias=False)
        self.norm = nn.LayerNorm(dim_out)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[..., None].to(x.dtype)
        y = self.conv((x * m).transpose(1, 2)).transpose(1, 2)
        return F.relu(self.norm(y)) * m


class LocalSelfAttention(nn.Module):
    """Multi-head self-attention of each row to the rows within ``window // 2`` of it (a band), masked keys
    excluded: the window is gathered with ``unfold`` (memory ``T x window``), so any length works, shorter than the
    window or odd; no flash/xformers kernel needed."""

    def __init__(self, *, dim: int, heads: int, window: int, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"heads ({heads}) must divide the width ({dim})")
        self.heads, self.half = heads, max(0, window // 2)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        h, d, half = self.heads, c // self.heads, self.half
        w = 2 * half + 1
        q, k, v = self.qkv(x).view(b, t, 3, h, d).permute(2, 0, 3, 1, 4)  # each (B, H, T, d)
        kw = F.pad(k, (0, 0, half, half)).unfold(2, w, 1)  # (B, H, T, d, w)
        vw = F.pad(v, (0, 0, half, half)).unfold(2, w, 1)
        pad = torch.zeros(b, half, dtype=torch.bool, device=x.device)
        mw = torch.cat([pad, mask.bool(), pad], 1).unfold(1, w, 1)  # (B, T, w)
        att = torch.einsum("bhtd,bhtdw->bhtw", q * d ** -0.5, kw)
        att = att.masked_fill(~mw[:, None], torch.finfo(att.dtype).min).softmax(-1)
        out = torch.einsum("bhtw,bhtdw->bhtd", self.drop(att), vw)
        return self.proj(out.transpose(1, 2).reshape(b, t, c))


class LocalBlock(nn.Module):
    """Pre-norm transformer block: local self-attention and an MLP, each with a residual and stochastic depth;
    padding rows stay zero."""

    def __init__(self, *, dim: int, heads: int, window: int, mlp_ratio: float = 4.0, dropout: float = 0.0,
                 drop_path: float = 0.0):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = LocalSelfAttention(dim=dim, heads=heads, window=window, dropout=dropout)
        hidden = max(1, int(dim * mlp_ratio))
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))
        self.drop = nn.Dropout(dropout)
        self.drop_path = drop_path

    def _path(self, y: torch.Tensor) -> torch.Tensor:
        if not self.training or self.drop_path <= 0:
            return y
        keep = (torch.rand(y.shape[0], 1, 1, device=y.device) >= self.drop_path).to(y.dtype)
        return y * keep / (1 - self.drop_path)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[..., None].to(x.dtype)
        x = x + self._path(self.drop(self.attn(self.norm1(x), mask))) * m
        x = x + self._path(self.drop(self.mlp(self.norm2(x)))) * m
        return x * m


def downsample(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Half the rows: max over rows ``2k-1, 2k, 2k+1`` (padding never wins), mask ``mask[:, ::2]``; length
    ``ceil(T / 2)``."""
    filled = x.masked_fill(~mask[..., None], torch.finfo(x.dtype).min)
    y = F.max_pool1d(filled.transpose(1, 2), 3, 2, 1).transpose(1, 2)
    m = mask[:, ::2]
    return y * m[..., None].to(y.dtype), m


class PointHead(nn.Module):
    """Masked convolutions then a 3-tap conv to ``out`` channels per point (shared by every level)."""

    def __init__(self, *, dim: int, out: int, layers: int = 2, bias: float = 0.0):
        super().__init__()
        self.convs = nn.ModuleList([MaskedConv(dim_in=dim, dim_out=dim) for _ in range(layers)])
        self.out = nn.Conv1d(dim, out, 3, padding=1)
        nn.init.normal_(self.out.weight, std=0.01)
        nn.init.constant_(self.out.bias, bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = conv(x, mask)
        return self.out(x.transpose(1, 2)).transpose(1, 2) * mask[..., None].to(x.dtype)


# ---------------------------------------------------------------------------------------------- localizer
class TemporalLocalizer(nn.Module):
    """Feature rows -> per-point class logits and boundary distances over a pyramid of local-attention levels.

    ``forward(feats (B, T, D), mask (B, T) bool)`` returns a dict: ``cls_logits (B, N, C)``, ``offsets (B, N, 2)``
    (distances to start and end, in units of the point's stride, >= 0), ``point_mask (B, N)``, and per point
    ``points (N,)`` (input row), ``strides (N,)``, ``ranges (N, 2)``; plus ``features (B, T, W)`` (level 0),
    ``N`` = the points of all levels, level by level.
    """

    def __init__(self, *, in_dim: int, num_classes: int, width: int = 256, levels: int = 6, window: int = 19,
                 heads: int = 4, stem_blocks: int = 2, embed_layers: int = 2, head_layers: int = 2,
                 mlp_ratio: float = 4.0, dropout: float = 0.0, drop_path: float = 0.1, prior_prob: float = 0.01):
        super().__init__()
        self.num_classes, self.levels, self.width = num_classes, levels, width
        self.embed = nn.ModuleList([MaskedConv(dim_in=in_dim if i == 0 else width, dim_out=width)
                                    for i in range(max(1, embed_layers))])
        blk = dict(dim=width, heads=heads, window=window, mlp_ratio=mlp_ratio, dropout=dropout, drop_path=drop_path)
        self.stem = nn.ModuleList([LocalBlock(**blk) for _ in range(stem_blocks)])
        self.branch = nn.ModuleList([LocalBlock(**blk) for _ in range(levels - 1)])
        self.cls_head = PointHead(dim=width, out=num_classes, layers=head_layers,
                                  bias=-math.log((1 - prior_prob) / prior_prob))
        self.reg_head = PointHead(dim=width, out=2, layers=head_layers)
        self.scales = nn.Parameter(torch.ones(levels))
        self.register_buffer("_ranges", torch.tensor(level_ranges(levels)), persistent=False)

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        mask = mask.bool()
        x = feats
        for conv in self.embed:
            x = conv(x, mask)
        for blk in self.stem:
            x = blk(x, mask)
        xs, ms = [x], [mask]
        for blk in self.branch:
            x, m = downsample(xs[-1], ms[-1])
            xs.append(blk(x, m))
            ms.append(m)
        cls, reg, points, strides, ranges = [], [], [], [], []
        for lv, (x, m) in enumerate(zip(xs, ms)):
            cls.append(self.cls_head(x, m))
            reg.append(F.relu(self.scales[lv] * self.reg_head(x, m)))
            n, s = x.shape[1], 2 ** lv
            points.append(torch.arange(n, device=x.device, dtype=torch.float32) * s)
            strides.append(torch.full((n,), float(s), device=x.device))
            ranges.append(self._ranges[lv].expand(n, 2))
        return {"cls_logits": torch.cat(cls, 1), "offsets": torch.cat(reg, 1), "point_mask": torch.cat(ms, 1),
                "points": torch.cat(points), "strides": torch.cat(strides), "ranges": torch.cat(ranges),
                "features": xs[0]}


@torch.no_grad()
def decode_segments(cls_logits: torch.Tensor, offsets: torch.Tensor, points: torch.Tensor, strides: torch.Tensor,
                    point_mask: torch.Tensor, *, topk: int, score_thresh: float = 0.0
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Points -> the ``topk`` (point, class) candidates of each video by score: ``segs (B, K, 2)`` (start, end in
    input rows), ``scores (B, K)`` (sigmoid), ``labels (B, K)``, ``valid (B, K)`` (score above ``score_thresh``, a
    real point, positive length). Equal scores keep point-then-class order (stable sort)."""
    b, n, c = cls_logits.shape
    scores = cls_logits.float().sigmoid() * point_mask[..., None].float()
    k = max(1, min(topk, n * c))
    top, idx = torch.sort(scores.reshape(b, n * c), dim=1, descending=True, stable=True)
    top, idx = top[:, :k], idx[:, :k]
    pt, labels = idx // c, idx % c
    off = offsets.float().gather(1, pt[..., None].expand(-1, -1, 2)) * strides[pt][..., None]
    pos = points[pt]
    segs = torch.stack([pos - off[..., 0], pos + off[..., 1]], -1)
    valid = (top > score_thresh) & (segs[..., 1] > segs[..., 0]) & point_mask.gather(1, pt)
    return segs, top, labels, valid


# ---------------------------------------------------------------------------------------------- relation
def _range_means(csum: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, n_valid: torch.Tensor) -> torch.Tensor:
    """Means of the rows ``ceil(lo) .. floor(hi)`` (cut to the real rows; 0 where none) of features whose cumulative
    sums ``csum (B, T + 1, W)`` are given; ``lo``, ``hi`` ``(B, K)`` -> ``(B, K, W)``."""
    last = (n_valid - 1)[:, None].float()
    a = torch.ceil(lo).clamp(min=0)
    b = torch.minimum(torch.floor(hi), last)
    count = (b - a + 1).clamp(min=0)
    a = a.long().clamp(max=csum.shape[1] - 1)
    b1 = (b.long() + 1).clamp(min=0, max=csum.shape[1] - 1)
    take = lambda i: csum.gather(1, i[..., None].expand(-1, -1, csum.shape[2]))  # noqa: E731
    return (take(b1) - take(a)) * (count > 0)[..., None] / count.clamp(min=1)[..., None]


def _interpolate(features: torch.Tensor, at: torch.Tensor, n_valid: torch.Tensor) -> torch.Tensor:
    """Features ``(B, T, W)`` linearly interpolated at row positions ``at (B, K)`` (clamped to the real rows)."""
    last = (n_valid - 1).clamp(min=0)[:, None].float()
    at = torch.minimum(at.clamp(min=0), last)
    i0 = torch.floor(at)
    frac = (at - i0)[..., None]
    i1 = torch.minimum(i0 + 1, last)
    take = lambda i: features.gather(1, i.long()[..., None].expand(-1, -1, features.shape[2]))  # noqa: E731
    return take(i0) * (1 - frac) + take(i1) * frac


class ProposalRelation(nn.Module):
    """Self-attention over a video's top-``K`` candidate segments, giving each a rescoring logit: its predicted
    overlap (tIoU) with the best-matching action of its class, judged with the other candidates in view. The
    logit is the candidate's score logit plus a learned correction whose output layer starts at zero, so an
    untrained (or unhelpful) relation leaves the detector's ranking as it is.

    Each candidate is a token made of the level-0 features pooled inside the segment, just outside each boundary
    (a quarter of its length) and at both boundaries; its score; its class embedding; and its centre and length
    relative to the video. Tokens pass ``layers`` transformer encoder layers (padding candidates masked).
    """

    def __init__(self, *, width: int, num_classes: int, dim: int = 128, heads: int = 4, layers: int = 2,
                 dropout: float = 0.0):
        super().__init__()
        self.pool_proj = nn.Sequential(nn.LayerNorm(5 * width), nn.Linear(5 * width, dim))
        self.geom = nn.Linear(5, dim)
        self.cls_embed = nn.Embedding(num_classes, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, features: torch.Tensor, mask: torch.Tensor, segs: torch.Tensor, scores: torch.Tensor,
                labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """``features (B, T, W)``, ``mask (B, T)``, candidates ``segs (B, K, 2)`` rows, ``scores``, ``labels``,
        ``valid (B, K)`` -> logits ``(B, K)``."""
        features = features.float() * mask[..., None]
        n_valid = mask.sum(1)
        csum = F.pad(features.cumsum(1), (0, 0, 1, 0))
        s, e = segs[..., 0].float(), segs[..., 1].float()
        ctx = (e - s).clamp(min=1.0) / 4
        pooled = torch.cat([_range_means(csum, s - 0.5, e + 0.5, n_valid),
                            _range_means(csum, s - ctx - 0.5, s - 0.5 - 1e-4, n_valid),
                            _range_means(csum, e + 0.5 + 1e-4, e + ctx + 0.5, n_valid),
                            _interpolate(features, s, n_valid), _interpolate(features, e, n_valid)], -1)
        nv = n_valid.clamp(min=1).float()[:, None]
        sc = scores.float().clamp(1e-6, 1 - 1e-6)
        geom = torch.stack([(s + e) / 2 / nv, (e - s) / nv, torch.log1p(e - s) / 5, sc, torch.logit(sc) / 10], -1)
        tok = self.pool_proj(pooled) + self.geom(geom) + self.cls_embed(labels)
        pad = ~valid.bool()
        pad = pad & ~pad.all(1, keepdim=True)  # a video without candidates attends to all (its logits are unused)
        return torch.logit(sc) + self.out(self.norm(self.encoder(tok, src_key_padding_mask=pad))).squeeze(-1)


class VideoHead(nn.Module):
    """Video-level class logits from the mean and the max of the level-0 features over the real rows."""

    def __init__(self, *, width: int, num_classes: int, dropout: float = 0.1):
        super().__init__()
        self.mlp = nn.Sequential(nn.LayerNorm(2 * width), nn.Linear(2 * width, width), nn.ReLU(inplace=True),
                                 nn.Dropout(dropout), nn.Linear(width, num_classes))

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[..., None].to(features.dtype)
        mean = (features * m).sum(1) / m.sum(1).clamp(min=1)
        mx = features.masked_fill(~mask[..., None], torch.finfo(features.dtype).min).amax(1)
        return self.mlp(torch.cat([mean, mx], -1))


def fuse_video_scores(scores: torch.Tensor, labels: torch.Tensor, video_probs: torch.Tensor, *, power: float = 1.0,
                      relabel_top: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Segment scores x the video's probability of their class ** ``power`` (ActivityNet winners' fusion); with
    ``relabel_top`` k > 0 every segment is instead given each of the video's top-k classes (score x that class's
    probability ** power). Returns ``(scores, labels, index)``, ``index`` the source segment of each output."""
    vp = video_probs.to(scores.dtype)
    if relabel_top <= 0:
        return scores * vp[labels] ** power, labels, torch.arange(len(scores), device=scores.device)
    top = vp.topk(min(relabel_top, len(vp)))
    k = len(top.values)
    return ((scores[:, None] * top.values[None, :] ** power).reshape(-1), top.indices.repeat(len(scores)),
            torch.arange(len(scores), device=scores.device).repeat_interleave(k))


# ---------------------------------------------------------------------------------------------- network
class TalNet(nn.Module):
    """Localizer + optional relation and video heads. ``forward({"feats": (B, T, D), "mask": (B, T)})`` returns
    the localizer's dict plus ``video_logits (B, C)`` (video head) and, when the relation is on or in eval mode,
    the top-``topk`` candidates ``cand_segs``, ``cand_scores``, ``cand_labels``, ``cand_valid`` and
    ``relation_logits (B, K)``. The relation reads detached features: it never changes the localizer, so one
    trained network gives the rows with and without it."""

    def __init__(self, localizer: TemporalLocalizer, relation: ProposalRelation | None = None,
                 video_head: VideoHead | None = None, *, topk: int = 200, score_thresh: float = 0.0):
        super().__init__()
        self.localizer, self.relation, self.video_head = localizer, relation, video_head
        self.topk, self.score_thresh = topk, score_thresh
        self.num_classes = localizer.num_classes

    def forward(self, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        mask = x["mask"].bool()
        out = self.localizer(x["feats"], mask)
        if self.video_head is not None:
            out["video_logits"] = self.video_head(out["features"], mask)
        if self.relation is not None or not self.training:
            segs, scores, labels, valid = decode_segments(out["cls_logits"], out["offsets"], out["points"],
                                                          out["strides"], out["point_mask"], topk=self.topk,
                                                          score_thresh=self.score_thresh)
            out.update(cand_segs=segs, cand_scores=scores, cand_labels=labels, cand_valid=valid)
            if self.relation is not None:
                out["relation_logits"] = self.relation(out["features"].detach(), mask, segs, scores, labels, valid)
        return out


@dataclass(frozen=True)
class PostProcess:
    """From candidates to segments: ``nms`` soft | hard | none; ``iou_threshold`` (hard NMS, linear Soft-NMS);
    ``sigma`` and ``method`` (Soft-NMS, which drops nothing: weak candidates were left out by the decoder's
    ``score_thresh``, and ``max_segments`` caps the output); ``voting`` (boundary voting overlap, 0 = off);
    ``max_segments`` per video; ``relation_alpha``: final score = score ** (1 - a) x relation ** a;
    ``fusion_power`` and ``relabel_top`` (:func:`fuse_video_scores`)."""

    nms: str = "soft"
    iou_threshold: float = 0.1
    sigma: float = 0.5
    method: str = "gaussian"
    voting: float = 0.0
    max_segments: int = 100
    relation_alpha: float = 0.5
    fusion_power: float = 1.0
    relabel_top: int = 0


@torch.no_grad()
def localize(out: dict[str, torch.Tensor], post: PostProcess, *, relation: bool = True, fusion: bool = True
             ) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Per video of a :class:`TalNet` output (eval mode): ``(segs (n, 2) rows, scores (n,), labels (n,))`` on the
    CPU, best first: candidates, rescored by the relation (when on and present), suppressed, boundary-voted,
    fused with the video scores (when on and present), at most ``max_segments``."""
    res = []
    rel = out.get("relation_logits") if relation else None
    vid = out.get("video_logits") if fusion else None
    for b in range(out["cand_segs"].shape[0]):
        v = out["cand_valid"][b].cpu()
        segs = out["cand_segs"][b].float().cpu()[v].double()
        scores = out["cand_scores"][b].float().cpu()[v].double()
        labels = out["cand_labels"][b].cpu()[v]
        if rel is not None:
            r = torch.sigmoid(rel[b].float().cpu()[v]).double()
            scores = scores ** (1 - post.relation_alpha) * r ** post.relation_alpha
        if post.nms == "soft":
            keep, new = soft_nms_1d(segs, scores, labels, sigma=post.sigma, iou_threshold=post.iou_threshold,
                                    min_score=0.0, method=post.method, max_num=post.max_segments)
        elif post.nms == "hard":
            keep = nms_1d(segs, scores, labels, post.iou_threshold, max_num=post.max_segments)
            new = scores[keep]
        else:
            keep = torch.sort(scores, descending=True, stable=True).indices[:post.max_segments]
            new = scores[keep]
        kept, kl = segs[keep], labels[keep]
        if post.voting > 0:
            kept = vote_segments(kept, kl, segs, scores, labels, iou_threshold=post.voting)
        if vid is not None:
            new, kl, idx = fuse_video_scores(new, kl, torch.sigmoid(vid[b].float().cpu()).double(),
                                             power=post.fusion_power, relabel_top=post.relabel_top)
            kept = kept[idx]
            order = torch.sort(new, descending=True, stable=True).indices[:post.max_segments]
            kept, new, kl = kept[order], new[order], kl[order]
        res.append((kept, new, kl))
    return res


# ---------------------------------------------------------------------------------------------- builders
def build_localizer(*, in_dim: int, num_classes: int, width: int = 256, levels: int = 6, window: int = 19,
                    heads: int = 4, stem_blocks: int = 2, embed_layers: int = 2, head_layers: int = 2,
                    mlp_ratio: float = 4.0, dropout: float = 0.0, drop_path: float = 0.1,
                    prior_prob: float = 0.01) -> TemporalLocalizer:
    """The multi-scale local-attention localizer.

    in_dim: feature dimension D of the rows; num_classes: action classes C (one sigmoid each).
    width: channels of every level; levels: pyramid levels (level l: stride 2**l); window: rows each row attends
        to (odd; an even value attends to window // 2 each side); heads: attention heads (divide width).
    stem_blocks: transformer blocks at level 0 (then one per further level); embed_layers: masked convolutions
        projecting the input; head_layers: convolutions of each head before its output.
    mlp_ratio: hidden width of the blocks' MLP, x width; dropout: in attention and MLPs; drop_path: stochastic
        depth of the blocks' residual branches; prior_prob: initial class probability (focal-loss bias init).
    """
    if levels < 1 or width < 1 or heads < 1 or width % heads:
        raise ValueError(f"levels >= 1 and heads dividing width, got levels={levels} width={width} heads={heads}")
    return TemporalLocalizer(in_dim=in_dim, num_classes=num_classes, width=width, levels=levels, window=window,
                             heads=heads, stem_blocks=stem_blocks, embed_layers=embed_layers,
                             head_layers=head_layers, mlp_ratio=mlp_ratio, dropout=dropout, drop_path=drop_path,
                             prior_prob=prior_prob)


def build_relation(*, width: int, num_classes: int, dim: int = 128, heads: int = 4, layers: int = 2,
                   dropout: float = 0.0) -> ProposalRelation:
    """The proposal relation module.

    width: channels of the localizer's level-0 features it pools; num_classes: classes (embedded per candidate).
    dim: token width; heads: attention heads (divide dim); layers: encoder layers; dropout: in the encoder (its
        K x K attention dropout is slow on a CPU).
    """
    return ProposalRelation(width=width, num_classes=num_classes, dim=dim, heads=heads, layers=layers,
                            dropout=dropout)


def build_video_head(*, width: int, num_classes: int, dropout: float = 0.1) -> VideoHead:
    """The video-level classifier. width: channels of the level-0 features; num_classes: classes; dropout: before
    its output layer."""
    return VideoHead(width=width, num_classes=num_classes, dropout=dropout)


def build_tal_net(*, localizer: TemporalLocalizer, relation: ProposalRelation | None = None,
                  video_head: VideoHead | None = None, topk: int = 200, score_thresh: float = 0.0) -> TalNet:
    """The whole network. localizer / relation / video_head: the parts (None = off); topk: candidates per video
    decoded for the relation and NMS; score_thresh: candidates at or under this score are dropped."""
    return TalNet(localizer, relation, video_head, topk=topk, score_thresh=score_thresh)


def tal_from_config(cfg: dict, in_dim: int, num_classes: int) -> TalNet:
    """The network of a ``train tal`` config (or a tal model file's): ``model`` (architecture) and ``tal``
    (relation, video head, candidates) sections."""
    mc, tc = cfg["model"], cfg["tal"]
    loc = build_localizer(in_dim=in_dim, num_classes=num_classes, width=mc["width"], levels=mc["levels"],
                          window=mc["window"], heads=mc["heads"], stem_blocks=mc["stem_blocks"],
                          embed_layers=mc["embed_layers"], head_layers=mc["head_layers"], mlp_ratio=mc["mlp_ratio"],
                          dropout=mc["dropout"], drop_path=mc["drop_path"])
    rel = build_relation(width=mc["width"], num_classes=num_classes, dim=tc["relation_dim"],
                         heads=tc["relation_heads"], layers=tc["relation_layers"],
                         dropout=tc["relation_dropout"]) if tc["relation"] else None
    vh = build_video_head(width=mc["width"], num_classes=num_classes) if tc["video_head"] else None
    return build_tal_net(localizer=loc, relation=rel, video_head=vh, topk=tc["topk"], score_thresh=tc["score_thresh"])


def postprocess_from_config(cfg: dict, max_segments: int | None = None) -> PostProcess:
    """The :class:`PostProcess` of a config's ``tal`` section (``max_segments`` overrides ``tal.max_segments``)."""
    tc = cfg["tal"]
    return PostProcess(nms=tc["nms"], iou_threshold=tc["nms_iou"], sigma=tc["sigma"], method=tc["soft_method"],
                       voting=tc["voting"],
                       max_segments=max_segments or tc["max_segments"], relation_alpha=tc["relation_alpha"],
                       fusion_power=tc["fusion_power"], relabel_top=tc["relabel_top"])


def tal_from_file(path: str | Path) -> tuple[TalNet, dict]:
    """A trained localizer (``OUT/model.pt`` of ``train tal``, kind ``tal``) in eval mode, and its file
    (``config``, with the expected features in its ``features`` section, and ``classes``)."""
    ck = load_model_file(path, "tal", "a temporal localization model", "deeperaction train tal")
    net = tal_from_config(ck["config"], int(ck["config"]["features"]["dim"]), len(ck["classes"]))
    net.load_state_dict(ck["model"])
    return net.eval(), ck

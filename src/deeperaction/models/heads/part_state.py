"""Part-state recognition after the 1st-place Kinetics-TPS report: part features by RoIAlign on a video
backbone's feature map (early and late halves of the clip, so motion direction is kept), joined with the
whole-person feature, the part's box relative to the person, a part embedding and an embedding of the
(predicted) action; multi-head self-attention across the person's parts; one classifier per part.

Input of :class:`PartStateNet`: ``(clips (B, 3, T, H, W) normalised, boxes (B, 11, 4) person + 10 parts in
clip pixels, mask (B, 10) part present, action (B,) ids, ``num_actions`` = unknown)``. Output: logits
``(B, 10, MAX_STATES)`` with states a part cannot take at -1e4.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import roi_align

from deeperaction.kinematics.vocab import PART_STATES
from deeperaction.models.backbones import build_backbone
from deeperaction.schema import PARTS

MAX_STATES = max(len(v) for v in PART_STATES.values())
TIME_BINS = 2  # temporal bins of the RoI features (early / late half of the clip)


def state_valid_mask() -> torch.Tensor:
    """``(10, MAX_STATES)`` True where the state exists for the part."""
    m = torch.zeros(len(PARTS), MAX_STATES, dtype=torch.bool)
    for k, p in enumerate(PARTS):
        m[k, :len(PART_STATES[p])] = True
    return m


def video_trunk(*, name: str = "tiny3d", weights: str | None = None, frozen_bn: bool = False,
                layers: int = 3) -> tuple[nn.Module, int, int]:
    """A video backbone cut before its pooling: ``(B, 3, T, H, W) -> (B, C, T', H', W')``; returns the
    trunk, ``C`` and the spatial stride. ``layers``: residual stages kept for r3d/mc3/r2plus1d (3: stride 8,
    4: stride 16); ``tiny3d`` keeps all its convolutions (stride 8); ``small3d`` keeps ``layers + 1`` of its 5
    (3: stride 8)."""
    net = build_backbone(name=name, num_classes=2, weights=weights, frozen_bn=frozen_bn)
    if name == "tiny3d":
        convs = list(net.features.children())[:-2]  # drop AdaptiveAvgPool3d and Flatten
        return nn.Sequential(*convs), convs[-3].out_channels, 8
    if name == "small3d":
        blocks = min(layers + 1, 5)  # conv + BN + ReLU each; strides 2, 2, 2, 1, 2 in space
        convs = list(net.features.children())[: 3 * blocks]
        return nn.Sequential(*convs), convs[-3].out_channels, 16 if blocks == 5 else 2 ** min(blocks, 3)
    if name in ("r3d_18", "mc3_18", "r2plus1d_18"):
        stages = [net.stem, net.layer1, net.layer2, net.layer3, net.layer4][: layers + 1]
        return nn.Sequential(*stages), 64 * 2 ** (layers - 1), 2 ** layers
    raise ValueError(f"part-state trunks: tiny3d, small3d, r3d_18, mc3_18, r2plus1d_18; got {name!r}")


def roi_features(fmap: torch.Tensor, boxes: torch.Tensor, stride: int, out: int = 3) -> torch.Tensor:
    """RoIAlign of ``boxes (B, R, 4)`` (input pixels) on ``fmap (B, C, T', H', W')`` pooled into
    ``TIME_BINS`` temporal bins: ``(B, R, TIME_BINS * C)``."""
    b, c, t = fmap.shape[:3]
    f = F.adaptive_avg_pool3d(fmap, (TIME_BINS, fmap.shape[3], fmap.shape[4]))  # (B, C, 2, H', W')
    f = f.transpose(1, 2).flatten(0, 1)  # (B * 2, C, H', W')
    r = boxes.shape[1]
    rois = boxes.repeat_interleave(TIME_BINS, 0).flatten(0, 1).float()  # (B * 2 * R, 4)
    idx = torch.arange(b * TIME_BINS, device=fmap.device).repeat_interleave(r).float()[:, None]
    pooled = roi_align(f.float(), torch.cat([idx, rois], 1), out, spatial_scale=1.0 / stride, sampling_ratio=2,
                       aligned=True).mean((2, 3))  # (B * 2 * R, C)
    return pooled.view(b, TIME_BINS, r, c).permute(0, 2, 1, 3).reshape(b, r, TIME_BINS * c).to(fmap.dtype)


def relative_boxes(boxes: torch.Tensor) -> torch.Tensor:
    """Part boxes relative to the person box: ``(B, 10, 4)`` centre and size in person units."""
    person, parts = boxes[:, :1], boxes[:, 1:]
    pw = (person[..., 2] - person[..., 0]).clamp(min=1.0)
    ph = (person[..., 3] - person[..., 1]).clamp(min=1.0)
    cx = ((parts[..., 0] + parts[..., 2]) / 2 - person[..., 0]) / pw
    cy = ((parts[..., 1] + parts[..., 3]) / 2 - person[..., 1]) / ph
    return torch.stack([cx, cy, (parts[..., 2] - parts[..., 0]) / pw, (parts[..., 3] - parts[..., 1]) / ph], -1)


class PartStateHead(nn.Module):
    """Tokens per part (RoI + person feature + geometry + part and action embeddings) -> attention across
    parts -> per-part state logits. ``action_dropout``: share of training samples whose action is hidden
    (the "unknown" id), so the head also works without an action model."""

    def __init__(self, channels: int, num_actions: int, dim: int = 128, heads: int = 4, layers: int = 1,
                 dropout: float = 0.1, action_dropout: float = 0.3, use_action: bool = True):
        super().__init__()
        self.num_actions, self.action_dropout, self.use_action = num_actions, action_dropout, use_action
        feat = TIME_BINS * channels
        self.part_proj = nn.Sequential(nn.LayerNorm(feat), nn.Linear(feat, dim))
        self.person_proj = nn.Sequential(nn.LayerNorm(feat), nn.Linear(feat, dim))
        self.geo = nn.Linear(4, dim)
        self.part_embed = nn.Parameter(torch.zeros(len(PARTS), dim))
        nn.init.normal_(self.part_embed, std=0.02)
        self.action_embed = nn.Embedding(num_actions + 1, dim)  # last id: unknown
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, batch_first=True, norm_first=True)
        self.attn = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.cls_w = nn.Parameter(torch.randn(len(PARTS), dim, MAX_STATES) * dim ** -0.5)
        self.cls_b = nn.Parameter(torch.zeros(len(PARTS), MAX_STATES))
        self.register_buffer("valid", state_valid_mask(), persistent=False)

    def forward(self, feats: torch.Tensor, boxes: torch.Tensor, mask: torch.Tensor,
                action: torch.Tensor) -> torch.Tensor:
        """``feats (B, 11, F)`` RoI features (person first), ``boxes (B, 11, 4)``, ``mask (B, 10)``,
        ``action (B,)`` -> logits ``(B, 10, MAX_STATES)``."""
        action = action.clone()
        if not self.use_action:
            action[:] = self.num_actions
        elif self.training and self.action_dropout > 0:
            hide = torch.rand(action.shape, device=action.device) < self.action_dropout
            action[hide] = self.num_actions
        tok = (self.part_proj(feats[:, 1:]) + self.person_proj(feats[:, :1]) + self.geo(relative_boxes(boxes))
               + self.part_embed + self.action_embed(action)[:, None])
        pad = ~mask.bool()
        pad = pad & ~pad.all(1, keepdim=True)  # a person without parts: attend to everything (ignored later)
        h = self.norm(self.attn(tok, src_key_padding_mask=pad))
        logits = torch.einsum("bpd,pds->bps", h.float(), self.cls_w.float()) + self.cls_b.float()
        return logits.masked_fill(~self.valid, -1e4)


class PartStateNet(nn.Module):
    """Video trunk + :class:`PartStateHead`; ``forward((clips, boxes, mask, action)) -> (B, 10, S)``."""

    def __init__(self, trunk: nn.Module, channels: int, stride: int, num_actions: int, roi: int = 3, **head_kw):
        super().__init__()
        self.trunk, self.stride, self.roi = trunk, stride, roi
        self.head = PartStateHead(channels, num_actions, **head_kw)

    def forward(self, x: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        clips, boxes, mask, action = x
        feats = roi_features(self.trunk(clips), boxes, self.stride, self.roi)
        return self.head(feats, boxes, mask, action)


def build_part_state_net(*, num_actions: int, trunk: str = "tiny3d", weights: str | None = None,
                         frozen_bn: bool = False, layers: int = 3, dim: int = 128, heads: int = 4,
                         attn_layers: int = 1, dropout: float = 0.1, action_dropout: float = 0.3,
                         use_action: bool = True) -> PartStateNet:
    """The part-state model of the 1st-place Kinetics-TPS report: RoI features of the person and its parts
    on a video trunk, related by self-attention, one state classifier per part.

    num_actions: action classes (the head is told the video's action; one extra id = unknown).
    trunk: video backbone cut before pooling (tiny3d, small3d, r3d_18, mc3_18, r2plus1d_18); weights: its local state
        dict or None; frozen_bn: constant BatchNorm; layers: residual stages kept (3: stride 8).
    dim: token width; heads: attention heads; attn_layers: attention layers; dropout: in the head.
    action_dropout: share of training samples whose action is hidden; use_action: feed the action at all.
    """
    net, channels, stride = video_trunk(name=trunk, weights=weights, frozen_bn=frozen_bn, layers=layers)
    return PartStateNet(net, channels, stride, num_actions, dim=dim, heads=heads, layers=attn_layers,
                        dropout=dropout, action_dropout=action_dropout, use_action=use_action)

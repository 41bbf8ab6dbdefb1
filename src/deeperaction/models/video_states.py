"""Video-level part states (2nd-place Kinetics-TPS report): a video classifier predicting, per part, the
video's most frequent state; at test time its answer is broadcast to every frame and person."""
from __future__ import annotations

import torch
from torch import nn

from deeperaction.models.backbones import build_backbone
from deeperaction.models.heads.part_state import MAX_STATES, state_valid_mask
from deeperaction.schema import PARTS


class VideoStateNet(nn.Module):
    """``clips (B, 3, T, H, W) -> logits (B, 10, MAX_STATES)``; states a part cannot take at -1e4."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.register_buffer("valid", state_valid_mask(), persistent=False)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        logits = self.backbone(clips).float().view(-1, len(PARTS), MAX_STATES)
        return logits.masked_fill(~self.valid, -1e4)


def build_video_state_net(*, name: str = "tiny3d", weights: str | None = None, frozen_bn: bool = False,
                          dropout: float = 0.5) -> VideoStateNet:
    """A :func:`build_backbone` classifier with ``10 x MAX_STATES`` outputs, read as per-part logits.

    name: video backbone (:data:`~deeperaction.models.backbones.BACKBONES`); weights: local state dict or
    None; frozen_bn: constant BatchNorm; dropout: before the classifier.
    """
    return VideoStateNet(build_backbone(name=name, num_classes=len(PARTS) * MAX_STATES, weights=weights,
                                        frozen_bn=frozen_bn, dropout=dropout))

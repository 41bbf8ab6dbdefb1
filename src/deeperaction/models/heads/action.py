"""Video-level action classification: the classifier layer put on every backbone, and multi-clip testing."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ActionHead(nn.Linear):
    """A linear classifier with dropout on its input. It *is* an ``nn.Linear`` (same ``weight``/``bias``
    keys), so torchvision checkpoints load into it unchanged."""

    def __init__(self, in_features: int, num_classes: int, dropout: float = 0.5):
        super().__init__(in_features, num_classes)
        self.dropout = dropout
        nn.init.normal_(self.weight, std=0.01)
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.dropout(x, self.dropout, self.training))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, dropout={self.dropout}"


@torch.no_grad()
def multi_clip_scores(model: nn.Module, clips: torch.Tensor, chunk: int = 32) -> torch.Tensor:
    """Class probabilities of each video, averaged over its clips: ``clips (B, K, ...)`` -> ``(B, classes)``.

    Clips are run ``chunk`` at a time, so long videos with many test clips fit in memory.
    """
    b, k = clips.shape[:2]
    flat = clips.flatten(0, 1)
    probs = torch.cat([model(flat[i:i + chunk]).float().softmax(-1) for i in range(0, len(flat), chunk)])
    return probs.view(b, k, -1).mean(1)

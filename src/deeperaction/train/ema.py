"""Exponential moving average of a model's weights (evaluated instead of the raw weights when enabled)."""
from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEMA:
    """Keeps ``ema = decay * ema + (1 - decay) * weights`` after every step; buffers are copied.

    The effective decay ramps up as ``min(decay, (1 + n) / (10 + n))`` so early averages are not dominated
    by the random initialisation.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold the current weights of ``model`` (unwrapped, same architecture) into the average."""
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        ema_p = [p for p in self.module.parameters()]
        cur_p = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(ema_p, cur_p, 1.0 - d)
        bufs = list(self.module.buffers())
        if bufs:
            torch._foreach_copy_(bufs, list(model.buffers()))

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "decay": self.decay, "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.decay, self.updates = state["decay"], state["updates"]

"""Optimizers and the learning-rate schedule: AdamW or SGD, linear warm-up then cosine decay (per step)."""
from __future__ import annotations

import math

import torch
from torch import nn


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two groups: weights decayed; biases, norm parameters and other 1-D tensors not."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, name: str = "sgd", lr: float = 0.05, momentum: float = 0.9,
                    weight_decay: float = 1e-4, fused: bool = False) -> torch.optim.Optimizer:
    """SGD (momentum, nesterov) or AdamW over :func:`param_groups`; ``fused`` (CUDA): one kernel for the
    whole update instead of a few per parameter group."""
    groups = param_groups(model, weight_decay)
    extra = {"fused": True} if fused else {}
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=momentum > 0, **extra)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), **extra)
    raise ValueError(f"unknown optimizer {name!r}; use 'sgd' or 'adamw'")


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_ratio: float = 0.0) -> float:
    """LR multiplier at ``step``: 0.01 -> 1 linearly over ``warmup_steps``, then cosine to ``min_ratio``."""
    if warmup_steps > 0 and step < warmup_steps:
        return 0.01 + 0.99 * step / warmup_steps
    span = max(1, total_steps - warmup_steps)
    t = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))


def build_scheduler(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                    min_ratio: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step :class:`LambdaLR` following :func:`warmup_cosine` (its state is checkpointed)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: warmup_cosine(s, warmup_steps, total_steps, min_ratio))

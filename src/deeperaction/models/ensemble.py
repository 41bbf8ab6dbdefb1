"""Weighted ensembles of action classifiers: combine per-model class probabilities, and fit the weights
on held-out scores. Models may see different inputs (RGB clips, keypoints), so the ensemble works on
their score arrays; :class:`WeightedEnsemble` is the module form for models that share one input."""
from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn


def ensemble_scores(scores: list[np.ndarray], weights: list[float] | np.ndarray | None = None) -> np.ndarray:
    """Weighted mean of ``(N, C)`` probability arrays (weights normalised to sum 1; default equal)."""
    stack = np.stack([np.asarray(s, dtype=np.float64) for s in scores])
    w = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(scores),) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"need {len(scores)} non-negative weights with a positive sum, got {w.tolist()}")
    return np.tensordot(w / w.sum(), stack, axes=1)


def fit_weights(scores: list[np.ndarray], labels: np.ndarray, steps: int = 10) -> np.ndarray:
    """Weights maximising top-1 accuracy (ties: lowest log-loss) on held-out ``scores``, searched on a
    simplex grid of ``steps`` divisions (exhaustive; fine for a handful of models)."""
    labels = np.asarray(labels)
    k = len(scores)
    best, best_key = np.full(k, 1.0 / k), None
    for combo in itertools.product(range(steps + 1), repeat=k - 1):
        if sum(combo) > steps:
            continue
        w = np.array([*combo, steps - sum(combo)], dtype=np.float64) / steps
        p = ensemble_scores(scores, w)
        acc = float((p.argmax(1) == labels).mean())
        nll = float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, None)).mean())
        key = (acc, -nll)
        if best_key is None or key > best_key:
            best, best_key = w, key
    return best


class WeightedEnsemble(nn.Module):
    """``sum_i w_i softmax(model_i(x))`` for models sharing one input; outputs probabilities."""

    def __init__(self, models: list[nn.Module], weights: list[float] | None = None):
        super().__init__()
        self.models = nn.ModuleList(models)
        w = torch.ones(len(models)) if weights is None else torch.tensor(weights, dtype=torch.float32)
        self.register_buffer("weights", w / w.sum())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([m(x).float().softmax(-1) for m in self.models])
        return torch.einsum("m,mbc->bc", self.weights, probs)

"""Checkpoints that resume to the identical next step: weights, optimizer, schedule, EMA, step counters.

Randomness needs no saved state: the engine reseeds from ``(seed, step, rank)`` every step.

``last.pt`` is rewritten atomically every epoch (and every ``ckpt_every_steps``); ``best.pt`` keeps the best
evaluation. ``--resume auto`` picks ``last.pt`` in the run folder when there is one.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from deeperaction.errors import InputError


def save_checkpoint(path: str | Path, **state: Any) -> None:
    """``torch.save`` to a temporary file then rename, so a kill mid-write leaves the old file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint onto the CPU; a missing or unreadable file is a user error."""
    path = Path(path)
    if not path.is_file():
        raise InputError("checkpoint not found", file=path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise InputError(f"not a readable checkpoint ({type(e).__name__}: {e})", file=path) from None


def resolve_resume(resume: str | None, out: str | Path) -> Path | None:
    """``None``/"" -> no resume; ``auto`` -> ``OUT/last.pt`` if it exists; else the given path."""
    if not resume:
        return None
    if resume == "auto":
        last = Path(out) / "last.pt"
        return last if last.is_file() else None
    return Path(resume)


def export_model(out: str | Path, kind: str, config: dict, classes: list[str]) -> Path:
    """Write ``OUT/model.pt`` (``kind``, config, classes, weights) from the run's best checkpoint (else its
    last): the one file that ``deeperaction parse`` and the predictors load."""
    out = Path(out)
    best = out / "best.pt" if (out / "best.pt").is_file() else out / "last.pt"
    save_checkpoint(out / "model.pt", kind=kind, config=config, classes=classes, model=load_checkpoint(best)["model"])
    return out / "model.pt"

"""Training checkpoints that resume to the identical next step (weights, optimizer, schedule, EMA, step
counters; written by :func:`deeperaction.models.checkpoint.save_checkpoint`), and the run's ``model.pt``.

Randomness needs no saved state: the engine reseeds from ``(seed, step, rank)`` every step.

``last.pt`` is rewritten atomically every epoch (and every ``ckpt_every_steps``); ``best.pt`` keeps the best
evaluation. ``--resume auto`` picks ``last.pt`` in the run folder when there is one.
"""
from __future__ import annotations

from pathlib import Path

from deeperaction.models.checkpoint import load_checkpoint, save_checkpoint


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

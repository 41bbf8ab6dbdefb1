"""The ``model.pt`` / checkpoint files the predictors load (written by ``deeperaction train``)."""
from __future__ import annotations

from pathlib import Path

from deeperaction.errors import InputError


def load_model_checkpoint(path: str | Path) -> dict:
    """A deeperaction checkpoint (a dict with ``config`` and ``model``); anything else is an InputError."""
    from deeperaction.train.checkpoint import load_checkpoint

    ck = load_checkpoint(path)
    if not isinstance(ck, dict) or "config" not in ck or "model" not in ck:
        raise InputError("not a deeperaction model checkpoint (no config/model)", file=path)
    return ck

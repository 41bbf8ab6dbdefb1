"""The ``model.pt`` / checkpoint files the predictors load (written by ``deeperaction train``)."""
from __future__ import annotations

from pathlib import Path

from deeperaction.errors import InputError


def load_model_checkpoint(path: str | Path, kind: str | None = None, what: str = "", made_by: str = "") -> dict:
    """A deeperaction checkpoint (a dict with ``config`` and ``model``), of ``kind`` when given; anything
    else is an InputError ("not {what} (kind ...; expected {kind}, from `{made_by}`)")."""
    from deeperaction.train.checkpoint import load_checkpoint

    ck = load_checkpoint(path)
    if not isinstance(ck, dict) or "config" not in ck or "model" not in ck:
        raise InputError("not a deeperaction model checkpoint (no config/model)", file=path)
    if kind is not None and ck.get("kind") != kind:
        raise InputError(f"not {what or kind} (kind {ck.get('kind')!r}; expected {kind}"
                         + (f", from `{made_by}`)" if made_by else ")"), file=path)
    return ck

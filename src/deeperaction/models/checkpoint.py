"""Model files and checkpoints: ``torch.save`` written whole, read onto the CPU (``weights_only``), a
deeperaction model file checked for its ``kind``, and local state dicts loaded into a model (never downloaded).

A model file (``model.pt`` of ``deeperaction train``, or a run's ``best.pt``) is a dict holding ``config`` (the
resolved training config), ``model`` (the state dict), ``kind`` (the model family) and ``classes``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

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


def load_model_file(path: str | Path, kind: str | None = None, what: str = "", made_by: str = "") -> dict:
    """A deeperaction model file (a dict with ``config`` and ``model``), of ``kind`` when given; anything else
    is an InputError ("not {what} (kind ...; expected {kind}, from `{made_by}`)")."""
    ck = load_checkpoint(path)
    if not isinstance(ck, dict) or "config" not in ck or "model" not in ck:
        raise InputError("not a deeperaction model checkpoint (no config/model)", file=path)
    if kind is not None and ck.get("kind") != kind:
        raise InputError(f"not {what or kind} (kind {ck.get('kind')!r}; expected {kind}"
                         + (f", from `{made_by}`)" if made_by else ")"), file=path)
    return ck


def load_weights(model: nn.Module, path: str | Path | None, *, skip_mismatch: bool = True) -> dict[str, list[str]]:
    """Load a local state dict (a bare one, or a checkpoint holding ``model``/``state_dict``) into ``model``;
    ``path`` None or "" loads nothing.

    Tensors whose shape differs (e.g. a 400-class Kinetics head for a 10-class task) are skipped when
    ``skip_mismatch``; a file that fits less than half of the model is an error. Returns the ``missing``,
    ``unexpected`` and ``skipped`` key lists.
    """
    if not path:
        return {"missing": [], "unexpected": [], "skipped": []}
    path = Path(path)
    if not path.is_file():
        raise InputError("weights file not found", file=path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise InputError(f"not a readable state dict ({type(e).__name__}: {e})", file=path) from None
    for key in ("model", "state_dict", "model_state"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict):
        raise InputError("expected a state dict", file=path)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.state_dict()
    skipped = [k for k, v in state.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if skipped and not skip_mismatch:
        raise InputError(f"shape mismatch for {', '.join(skipped[:5])}", file=path)
    for k in skipped:
        del state[k]
    res = model.load_state_dict(state, strict=False)
    if len(res.missing_keys) > len(skipped) + 8 and len(res.missing_keys) > len(own) // 2:
        raise InputError(f"weights do not fit this model: {len(res.missing_keys)} of {len(own)} tensors "
                         f"missing (e.g. {res.missing_keys[0]})", file=path)
    return {"missing": list(res.missing_keys), "unexpected": list(res.unexpected_keys), "skipped": skipped}

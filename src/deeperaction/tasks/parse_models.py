"""Trained models for ``parse``: loading one by kind, and model bundles (a folder described by
``bundle.json``, or holding the default file names)."""
from __future__ import annotations

import json
from pathlib import Path

from deeperaction.errors import InputError, ProblemList


def _loaders() -> dict:
    """Predictor loader of each kind of trained model (imported late: torch loads only when a trained model
    is asked for)."""
    from deeperaction.tasks.action_predictors import load_action_predictor
    from deeperaction.tasks.predictors import load_part_predictor, load_person_predictor, load_state_predictor

    return {"person": load_person_predictor, "part": load_part_predictor, "state": load_state_predictor,
            "action": load_action_predictor}


KINDS = ("person", "part", "state", "action")


def load_plugin(path: str | Path, kind: str, device: str):
    """A trained ``kind`` (:data:`KINDS`) model from ``path``: its predictor, ready for ``parse``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not (kind == "action" and str(path) == "default") and not Path(path).is_file():
        raise InputError(f"no such {kind} model file", file=path)
    return _loaders()[kind](path, device=device)


BUNDLE_KEYS = ("person_model", "part_model", "state_model", "action_model")
BUNDLE_DEFAULTS = {"person_model": ("person_model.pt",), "part_model": ("part_model.pt",),
                   "state_model": ("state_model.pt", "prior.json"), "action_model": ("action_model.pt", "ensemble.json")}
"""File names looked for in a bundle folder without ``bundle.json`` (first found wins)."""


def resolve_bundle(folder: str | Path) -> dict[str, str]:
    """``{option: path}`` of a model bundle: ``bundle.json`` ``{"part_model": "part_model.pt", ...}`` (paths
    relative to the folder, any of :data:`BUNDLE_KEYS`), else the files of :data:`BUNDLE_DEFAULTS`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such model bundle folder", file=folder)
    spec = folder / "bundle.json"
    if not spec.is_file():
        found = {}
        for key, names in BUNDLE_DEFAULTS.items():
            path = next((folder / n for n in names if (folder / n).is_file()), None)
            if path is not None:
                found[key] = str(path)
        if not found:
            raise InputError("no bundle.json nor any of " + ", ".join(n for v in BUNDLE_DEFAULTS.values() for n in v),
                             file=folder)
        return found
    try:
        obj = json.loads(spec.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"not valid JSON: {e}", file=spec) from None
    problems = ProblemList(spec)
    if not isinstance(obj, dict) or not obj:
        raise InputError('expected an object like {"part_model": "part_model.pt"}', file=spec)
    out = {}
    for key, name in obj.items():
        if key not in BUNDLE_KEYS:
            problems.add(f"unknown key; known: {', '.join(BUNDLE_KEYS)}", field=str(key))
        elif not isinstance(name, str) or not (folder / name).is_file():
            problems.add(f"no such model file {name!r} in {folder}", field=key)
        else:
            out[key] = str(folder / name)
    problems.raise_if_any()
    return out

"""Temporal feature files: one ``VIDEO.npy`` of shape ``(T, D)`` per video, and beside it ``VIDEO.json``, the
sidecar that says how the rows were made (frame rate, window, stride, backbone, dimension).

Row ``i`` describes the window of frames ``[i * stride, i * stride + window)`` of the video sampled at ``fps``;
its centre is at ``(i * stride + window / 2) / fps`` seconds. A localizer trained on rows of one (fps, stride,
window) and fed rows of another localizes at the wrong times and scores near zero without any error, so
:func:`check_features` compares a file's sidecar with what a model expects and refuses a mismatch in one line.
Feature releases without sidecars (THUMOS / ActivityNet ``.npy`` per video) are read with the values a config
gives (:func:`read_features` with ``meta``).
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError
from deeperaction.outputs import write_atomic

FEATURES_VERSION = 1


@dataclass(frozen=True)
class FeatureMeta:
    """How the rows of a feature file were made. ``frames``: frames of the video at ``fps`` (0 if unknown);
    ``duration``: the video's length in seconds (0 if unknown)."""

    fps: float
    window: int
    stride: int
    backbone: str
    dim: int
    frames: int = 0
    duration: float = 0.0
    extra: dict = field(default_factory=dict)

    def centres(self, n: int) -> np.ndarray:
        """Seconds at the centre of each of ``n`` rows."""
        return (np.arange(n) * self.stride + self.window / 2) / self.fps

    @property
    def step_s(self) -> float:
        """Seconds between two rows."""
        return self.stride / self.fps

    def to_json(self) -> dict:
        return {"version": FEATURES_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, d: dict, *, file: str | Path | None = None) -> "FeatureMeta":
        try:
            return cls(fps=float(d["fps"]), window=int(d["window"]), stride=int(d["stride"]),
                       backbone=str(d["backbone"]), dim=int(d["dim"]), frames=int(d.get("frames", 0)),
                       duration=float(d.get("duration", 0.0)), extra=dict(d.get("extra", {})))
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"feature sidecar lacks or mangles {e}; it needs fps, window, stride, backbone, dim",
                             file=file) from None


def sidecar_path(npy: str | Path) -> Path:
    """``VIDEO.json`` beside ``VIDEO.npy``."""
    return Path(npy).with_suffix(".json")


def write_features(path: str | Path, feats: np.ndarray, meta: FeatureMeta) -> Path:
    """Write ``feats (T, D)`` as float32 ``.npy`` and its sidecar, each atomically (no half-written file)."""
    path = Path(path)
    feats = np.ascontiguousarray(feats, dtype=np.float32)
    if feats.ndim != 2 or feats.shape[1] != meta.dim:
        raise ValueError(f"features must be (T, {meta.dim}), got {feats.shape}")

    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.save(buf, feats)
    write_atomic(path, buf.getvalue())
    write_atomic(sidecar_path(path), json.dumps(meta.to_json(), indent=1))
    return path


def read_sidecar(npy: str | Path) -> FeatureMeta | None:
    """The sidecar of a feature file, None when it has none; a broken one is one line naming it."""
    side = sidecar_path(npy)
    if not side.is_file():
        return None
    try:
        return FeatureMeta.from_json(json.loads(side.read_text()), file=side)
    except json.JSONDecodeError as e:
        raise InputError(f"feature sidecar is not JSON ({e.msg} at line {e.lineno})", file=side) from None


def read_features(path: str | Path, *, meta: FeatureMeta | None = None) -> tuple[np.ndarray, FeatureMeta]:
    """``(feats (T, D) float32, meta)`` of one file. The sidecar is used when present; without one ``meta``
    (from a config) must be given. Every problem is one line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("feature file not found", file=path)
    side, found = sidecar_path(path), read_sidecar(path)
    if found is not None:
        if meta is not None:
            check_features(found, meta, file=side)
        meta = found
    elif meta is None:
        raise InputError(f"no sidecar {side.name} beside it: give the features' fps, window and stride in the "
                         "config (data.feature_fps, data.feature_window, data.feature_stride)", file=path)
    try:
        feats = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise InputError(f"not a numpy array file ({e})", file=path) from None
    if feats.ndim == 1:
        feats = feats[:, None]
    if feats.ndim != 2:
        raise InputError(f"features must be 2-D (time, dim), got shape {feats.shape}", file=path)
    if not np.isfinite(feats).all():
        raise InputError("features hold NaN or infinite values", file=path)
    if feats.shape[1] != meta.dim:
        raise InputError(f"features have dimension {feats.shape[1]}, the model expects {meta.dim}", file=path)
    return feats.astype(np.float32, copy=False), meta


def check_features(found: FeatureMeta, expected: FeatureMeta, *, file: str | Path | None = None) -> None:
    """Refuse features made differently from what a model expects: one line naming both values.
    Compared: dimension, fps, stride, window (the backbone name only when the model names one)."""
    pairs = [("dim", found.dim, expected.dim), ("fps", found.fps, expected.fps),
             ("stride", found.stride, expected.stride), ("window", found.window, expected.window)]
    for name, a, b in pairs:
        if (name == "fps" and not math.isclose(a, b, rel_tol=1e-3)) or (name != "fps" and a != b):
            raise InputError(f"features were made with {name} {a:g}, the model expects {name} {b:g} "
                             "(re-extract them, or give a model trained on these)", file=file, field=name)
    if expected.backbone and found.backbone and found.backbone != expected.backbone:
        raise InputError(f"features come from backbone {found.backbone!r}, the model expects "
                         f"{expected.backbone!r}", file=file, field="backbone")

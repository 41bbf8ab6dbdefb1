"""A trained ``tal`` model (``deeperaction train tal``) applied to one video's feature rows: the segments it
localizes, in seconds, exactly as training evaluated them (the same network, decoding, relation, NMS and fusion
of :mod:`deeperaction.models.tal`). Its input must be made as its training features were (fps, window, stride,
dimension, backbone): anything else is refused in one line, never localized at the wrong times."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from deeperaction.datasets.tal import rows_to_seconds
from deeperaction.errors import InputError
from deeperaction.formats.features import FeatureMeta, check_features
from deeperaction.models.tal import localize, postprocess_from_config, tal_from_file

DEFAULT_TAL_MODEL = Path(__file__).resolve().parents[1] / "data" / "models" / "tal_default.pt"
"""The shipped localizer (``load_tal_predictor("default")``)."""


class TalPredictor:
    """``predict(feats, meta, duration=...)`` of a ``tal`` model file; ``classes`` are its action labels and
    ``meta`` the features it expects. ``max_segments``: segments per video (default: the model's, 100)."""

    def __init__(self, path: str | Path, device: str = "cpu", *, max_segments: int | None = None):
        self.net, ck = tal_from_file(path)
        self.path = Path(path)
        self.cfg, self.classes = ck["config"], list(ck["classes"])
        self.meta = FeatureMeta.from_json(self.cfg["features"], file=path)
        self.post = postprocess_from_config(self.cfg, max_segments)
        self.device = torch.device(device)
        self.net.to(self.device)

    @torch.no_grad()
    def predict(self, feats: np.ndarray | torch.Tensor, meta: FeatureMeta, *, duration: float,
                relation: bool = True, fusion: bool = True, max_segments: int | None = None
                ) -> list[tuple[float, float, str, float]]:
        """Segments ``(start_s, end_s, label, score)`` of one video's rows ``feats (T, D)`` made as ``meta`` says,
        best first, cut to ``[0, duration]``; ``relation`` / ``fusion``: use those parts when the model has them."""
        check_features(meta, self.meta)
        x = torch.as_tensor(np.asarray(feats, dtype=np.float32) if not torch.is_tensor(feats) else feats).float()
        if x.ndim != 2 or x.shape[1] != self.meta.dim or len(x) == 0:
            raise InputError(f"features must be (T >= 1, {self.meta.dim}), got {tuple(x.shape)}", field="feats")
        if not torch.isfinite(x).all():
            raise InputError("features hold NaN or infinite values", field="feats")
        if not duration > 0:
            raise InputError(f"duration must be > 0 seconds, got {duration}", field="duration")
        post = self.post if max_segments is None else dataclasses.replace(self.post, max_segments=max_segments)
        out = self.net({"feats": x[None].to(self.device), "mask": torch.ones(1, len(x), dtype=torch.bool,
                                                                            device=self.device)})
        segs, scores, labels = localize(out, post, relation=relation, fusion=fusion)[0]
        sec = np.clip(rows_to_seconds(segs.numpy(), self.meta), 0.0, duration)
        return [(float(a), float(b), self.classes[int(c)], float(s))
                for (a, b), s, c in zip(sec.tolist(), scores.tolist(), labels.tolist()) if b > a]


def load_tal_predictor(spec: str | Path = "default", device: str = "cpu", **kwargs) -> TalPredictor:
    """The localizer of ``spec``: ``"default"`` (the shipped model, :data:`DEFAULT_TAL_MODEL`) or a model file."""
    path = DEFAULT_TAL_MODEL if str(spec) == "default" else Path(spec)
    if not path.is_file():
        what = "the shipped localizer is not installed" if str(spec) == "default" else "model file not found"
        raise InputError(f"{what} (give a model.pt of `deeperaction train tal`)", file=path)
    return TalPredictor(path, device, **kwargs)

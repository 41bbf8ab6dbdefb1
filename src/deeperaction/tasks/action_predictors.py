"""Inference adapters of trained action models for ``parse --action-model``: a ``deeperaction train tps``
checkpoint (video or skeleton kind; ``classes.txt`` beside it) or an ensemble file ``{"kind": "ensemble",
"models": [paths], "weights": [w]}`` (paths relative to it). The networks come from
:func:`deeperaction.models.action.action_model_from_config`."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from deeperaction.datasets.transforms import augment_clips, normalize_skeletons
from deeperaction.errors import InputError
from deeperaction.models.action import action_model_from_config
from deeperaction.models.checkpoint import load_model_file
from deeperaction.models.ensemble import ensemble_scores
from deeperaction.models.heads.action import multi_clip_scores
from deeperaction.schema import JOINTS, VideoParse
from deeperaction.video.reader import probe, read_frames, sample_clip_indices


class ActionPredictor:
    """A ``deeperaction train tps`` classifier: video clips (multi-clip, centre crop) or the keypoints of
    the parse (skeleton kind; persons with the most confident keypoints, frames interpolated)."""

    def __init__(self, path: Path, device: str = "cpu"):
        ck = load_model_file(path)
        self.cfg = cfg = ck["config"]
        names = path.parent / "classes.txt"
        self.classes = list(ck.get("classes") or (names.read_text().split() if names.is_file() else []))
        if not self.classes:
            raise InputError("no class list (classes.txt beside the checkpoint)", file=path)
        self.net = action_model_from_config(cfg, len(self.classes), weights="")
        self.net.load_state_dict(ck["model"])
        self.device = torch.device(device)
        self.net.to(self.device).eval()

    @torch.no_grad()
    def scores(self, video_path: str | Path, parse: VideoParse) -> np.ndarray:
        dc = self.cfg["data"]
        if self.cfg["model"]["kind"] == "skeleton":
            x = skeleton_clips(parse, dc["clip_len"], dc["frame_stride"], dc["test_clips"])
        else:
            n = probe(video_path).n_frames
            idx = sample_clip_indices(n, dc["clip_len"], dc["frame_stride"], dc["test_clips"], "uniform")
            h, w = dc["cache_size"]
            clips = read_frames(video_path, idx.reshape(-1), size=(w, h)).reshape(*idx.shape, h, w, 3)
            x = augment_clips(torch.from_numpy(clips).to(self.device), dc["crop"], None)
        return multi_clip_scores(self.net, x.to(self.device)[None])[0].cpu().numpy()

    def predict_action(self, video_path: str | Path, parse: VideoParse) -> dict[str, float]:
        return dict(zip(self.classes, self.scores(video_path, parse).tolist()))


def skeleton_clips(parse: VideoParse, clip_len: int, stride: int, k: int, persons: int = 2) -> torch.Tensor:
    """``(K, M, T, J, 3)`` normalised keypoint clips of the parse's tracks (every source frame, linearly
    interpolated between parsed frames), the ``persons`` most confident tracks first."""
    frames = np.array([fp.frame for fp in parse.frames]) if parse.frames else np.zeros(1, int)
    n = int(frames.max()) + 1
    tracks: dict[int, np.ndarray] = {}
    for r, fp in enumerate(parse.frames):
        for p in fp.persons:
            if p.keypoints is not None:
                tracks.setdefault(p.track_id, np.full((len(frames), len(JOINTS), 3), np.nan))[r] = p.keypoints
    seqs = []
    for seq in tracks.values():
        ok = ~np.isnan(seq[:, 0, 0])
        full = np.zeros((n, len(JOINTS), 3), np.float32)
        for c in range(3):
            for j in range(len(JOINTS)):
                full[:, j, c] = np.interp(np.arange(n), frames[ok], seq[ok, j, c], left=0, right=0)
        seqs.append(full)
    seqs.sort(key=lambda s: -s[..., 2].sum())
    seqs = (seqs + [np.zeros((n, len(JOINTS), 3), np.float32)] * persons)[:persons]
    seq = np.stack(seqs)  # (M, T, J, 3)
    idx = sample_clip_indices(n, clip_len, stride, k, "uniform")
    return torch.from_numpy(np.stack([normalize_skeletons(seq[:, row]) for row in idx]))


class EnsembleActionPredictor:
    """Weighted mean of several action predictors' probabilities (classes must match)."""

    def __init__(self, members: list[ActionPredictor], weights: list[float]):
        if len({tuple(m.classes) for m in members}) != 1:
            raise InputError("ensemble members have different class lists")
        self.members, self.weights, self.classes = members, np.asarray(weights, float), members[0].classes

    def predict_action(self, video_path: str | Path, parse: VideoParse) -> dict[str, float]:
        p = ensemble_scores([m.scores(video_path, parse) for m in self.members], self.weights)
        return dict(zip(self.classes, p.tolist()))


def load_action_predictor(path: str | Path, device: str = "cpu"):
    """An action predictor from a ``train tps`` checkpoint or an ensemble JSON file (see the module doc)."""
    path = Path(path)
    if path.suffix == ".json":
        try:
            obj = json.loads(path.read_text())
            members = [ActionPredictor(path.parent / m, device) for m in obj["models"]]
            return EnsembleActionPredictor(members, obj.get("weights") or [1.0] * len(members))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise InputError(f"not an ensemble file ({type(e).__name__}: {e})", file=path) from None
    return ActionPredictor(path, device)

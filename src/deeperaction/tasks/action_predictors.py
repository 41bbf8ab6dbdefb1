"""Inference adapters of trained action models for ``parse --action-model``: a ``deeperaction train tps``
checkpoint (video or skeleton kind; ``classes.txt`` beside it), the skeleton model shipped in the package
(``default``), or an ensemble file ``{"kind": "ensemble", "models": [paths], "weights": [w]}`` (paths relative
to it). The networks come from :func:`deeperaction.models.action.action_model_from_config`.

A skeleton model file that names its frame rate (``fps``; the shipped one) classifies each track: the
track's keypoints are resampled to that rate, cut into overlapping windows, and the window probabilities
averaged; the video's action is the mean over tracks weighted by their windows, the ``none`` class (no action
of the vocabulary) set aside. A file with ``mirror_test`` set (``detect_skeleton.pt``) scores each window as
the mean of it and its mirror image (left and right exchanged), as it was trained on both. A model with a dense
head (``model.dense_head``) also labels every 4-frame step of a window; a track's action curves are then the
mean of the window curve and each frame's step probabilities averaged over the windows that cover it (the two
readings together rank frames better than either, docs/detect.md).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from deeperaction.datasets.clips import crop_square, interpolate_boxes, square_around
from deeperaction.datasets.transforms import augment_clips, flip_keypoints, normalize_skeletons
from deeperaction.errors import InputError
from deeperaction.models.action import action_model_from_config
from deeperaction.models.checkpoint import load_model_file
from deeperaction.models.ensemble import ensemble_scores
from deeperaction.models.heads.action import multi_clip_scores
from deeperaction.schema import JOINTS, VideoParse
from deeperaction.video.reader import probe, read_frames, sample_clip_indices

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "data" / "models" / "action_skeleton.pt"
"""The shipped skeleton action model (trained by ``scripts/train_default_action.py`` on synthetic data)."""
DETECT_MODEL = DEFAULT_MODEL.with_name("detect_skeleton.pt")
""":data:`DEFAULT_MODEL` fine-tuned on BlazePose tracks of rendered synthetic people
(``scripts/train_detect_skeleton.py``, 6 epochs on 220 videos, 80 of them seen from above, 40 of those with
walkers who stop and bystanders who talk with their hands: the ``plaza`` preset)."""
DETECT_ENSEMBLE = DEFAULT_MODEL.with_name("detect_skeleton.json")
"""``detect``'s default action model: :data:`DETECT_MODEL` and a 4-epoch run on 320 videos
(``detect_skeleton_v320_e4.pt``), their action curves averaged (an ensemble file, as ``--model`` takes)."""
NONE = "none"


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
        self.fps = ck.get("fps")  # per-track classification at this frame rate (skeleton models that name it)
        self.mirror = bool(ck.get("mirror_test", False))  # windows scored with their mirror images too
        self.dense = bool(cfg["model"].get("dense_head", False))  # per-step labels (skeleton kind)

    @property
    def per_track(self) -> bool:
        return self.cfg["model"]["kind"] == "skeleton" and bool(self.fps)

    @torch.no_grad()
    def _window_probs(self, windows: list[np.ndarray]) -> np.ndarray:
        """Class probabilities ``(N, C)`` of normalised keypoint windows ``(T, J, 3)`` (with their mirror images
        when the model file asks for it)."""
        x = torch.from_numpy(np.stack(windows))[:, None].to(self.device)
        p = self.net(x).float().softmax(-1)
        if self.mirror:
            p = (p + self.net(flip_keypoints(x, 0.0)).float().softmax(-1)) / 2
        return p.cpu().numpy()

    @torch.no_grad()
    def _dense_probs(self, windows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities of normalised keypoint windows ``(N, C)`` and of each of their steps
        ``(N, T / STEP, C)`` (dense-head models; with the mirror images when the model file asks for it)."""
        x = torch.from_numpy(np.stack(windows))[:, None].to(self.device)
        views = [x, flip_keypoints(x, 0.0)] if self.mirror else [x]
        out = [self.net.dense(v) for v in views]
        window = sum(w.float().softmax(-1) for w, _ in out) / len(out)
        steps = sum(st.float().softmax(-1) for _, st in out) / len(out)
        return window.cpu().numpy(), steps.cpu().numpy()

    @torch.no_grad()
    def track_scores(self, parse: VideoParse) -> dict[int, tuple[np.ndarray, int]]:
        """``{track_id: (probabilities, windows)}`` of every track with keypoints (per-track models)."""
        length, out = self.cfg["data"]["clip_len"], {}
        for tid, seq in track_sequences(parse, self.fps).items():
            if len(seq) < length:  # a short track: repeat its ends to fill one window
                pad = length - len(seq)
                seq = np.concatenate([np.repeat(seq[:1], pad // 2, 0), seq, np.repeat(seq[-1:], pad - pad // 2, 0)])
            starts = list(range(0, len(seq) - length + 1, max(1, length // 2)))
            if starts[-1] != len(seq) - length:
                starts.append(len(seq) - length)
            probs = self._window_probs([normalize_skeletons(seq[s:s + length][None])[0] for s in starts])
            out[tid] = (probs.mean(0), len(starts))
        return out

    @torch.no_grad()
    def track_curves(self, parse: VideoParse, hop_s: float = 0.2, video: str | Path | None = None
                     ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Action probabilities over time of each track (per-track models; keypoints only, ``video`` unused):
        ``{track_id: (frames, probs)}`` with
        ``frames`` every source frame from the track's first parsed frame to its last and ``probs (n, C)``:
        windows every ``hop_s`` seconds, each window's probabilities at its centre, linear between centres
        (dense-head models: the mean of that and each frame's steps averaged over the windows that cover it,
        :func:`dense_curve`)."""
        if not self.per_track:
            raise ValueError("action curves need a skeleton model that names its frame rate (the shipped one)")
        length, hop = self.cfg["data"]["clip_len"], max(1, round(hop_s * self.fps))
        src_fps = parse.fps or self.fps
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for fp in parse.frames:
            for p in fp.persons:
                if p.keypoints is not None:
                    first.setdefault(p.track_id, fp.frame)
                    last[p.track_id] = fp.frame
        out = {}
        for tid, seq in track_sequences(parse, self.fps).items():
            n = len(seq)
            if n < length:
                pad = length - n
                seq = np.concatenate([np.repeat(seq[:1], pad // 2, 0), seq, np.repeat(seq[-1:], pad - pad // 2, 0)])
                starts, offset = [0], -(pad // 2)
            else:
                starts, offset = list(range(0, n - length + 1, hop)), 0
                if starts[-1] != n - length:
                    starts.append(n - length)
            wins = [normalize_skeletons(seq[s:s + length][None])[0] for s in starts]
            frames = np.arange(first[tid], last[tid] + 1)
            t = (frames - first[tid]) / src_fps  # seconds after the track's first frame
            centres = (np.array(starts) + offset + (length - 1) / 2) / self.fps
            if self.dense:
                window, steps = self._dense_probs(wins)
                at, dense = dense_curve(steps, np.array(starts) + offset, n, length // steps.shape[1])
                curve = (_resample(t, centres, window) + _resample(t, at / self.fps, dense)) / 2
            else:
                curve = _resample(t, centres, self._window_probs(wins))
            out[tid] = (frames, curve)
        return out

    def predict_all(self, video_path: str | Path, parse: VideoParse
                    ) -> tuple[dict[str, float], dict[int, dict[str, float]]]:
        """The video's action probabilities and each track's (``{}`` unless per-track), tracks classified once."""
        if not self.per_track:
            return self.predict_action(video_path, parse), {}
        tracks = self.track_scores(parse)
        return (dict(zip(self.classes, self._pool(tracks).tolist())),
                {tid: dict(zip(self.classes, p.tolist())) for tid, (p, _) in tracks.items()})

    def predict_tracks(self, video_path: str | Path, parse: VideoParse) -> dict[int, dict[str, float]]:
        """Each track's action probabilities (per-track models; else ``{}``)."""
        return self.predict_all(video_path, parse)[1]

    def _pool(self, tracks: dict[int, tuple[np.ndarray, int]]) -> np.ndarray:
        """The video's probabilities: the tracks' mean weighted by their windows (no track: all on "none")."""
        if not tracks:
            p = np.zeros(len(self.classes))
            if NONE in self.classes:
                p[self.classes.index(NONE)] = 1.0
            return p
        w = np.array([n for _, n in tracks.values()], float)
        return (np.stack([p for p, _ in tracks.values()]) * w[:, None]).sum(0) / w.sum()

    @torch.no_grad()
    def scores(self, video_path: str | Path, parse: VideoParse) -> np.ndarray:
        dc = self.cfg["data"]
        if self.per_track:
            return self._pool(self.track_scores(parse))
        if self.cfg["model"]["kind"] == "skeleton":
            x = skeleton_clips(parse, dc["clip_len"], dc["frame_stride"], dc["test_clips"])
        else:
            info = probe(video_path)
            idx = sample_clip_indices(info.n_frames, dc["clip_len"], dc["frame_stride"], dc["test_clips"], "uniform")
            h, w = dc["cache_size"]
            clips = read_frames(video_path, idx.reshape(-1), size=(w, h)).reshape(*idx.shape, h, w, 3)
            if dc.get("crop_mode", "frame") == "person":  # squares around the main track, as in training
                track = main_track_boxes(parse, info.n_frames) * np.array([w / info.width, h / info.height] * 2)
                clips = np.stack([crop_square(c, square_around(track[r], dc["person_margin"], (h, w)),
                                              dc["person_size"]) for c, r in zip(clips, idx)])
            x = augment_clips(torch.from_numpy(clips).to(self.device), dc["crop"], None)
        return multi_clip_scores(self.net, x.to(self.device)[None])[0].cpu().numpy()

    def predict_action(self, video_path: str | Path, parse: VideoParse) -> dict[str, float]:
        return dict(zip(self.classes, self.scores(video_path, parse).tolist()))


def main_track_boxes(parse: VideoParse, n_frames: int) -> np.ndarray:
    """Boxes ``(n_frames, 4)`` (source pixels) of the parse's main track, the one covering the most box area
    over the parsed frames, interpolated between them (NaN when the parse found nobody)."""
    area: dict[int, float] = {}
    for fp in parse.frames:
        for p in fp.persons:
            area[p.track_id] = area.get(p.track_id, 0.0) + float((p.box[2] - p.box[0]) * (p.box[3] - p.box[1]))
    if not area:
        return np.full((n_frames, 4), np.nan)
    tid = max(area, key=area.get)
    seen = [(fp.frame, p.box) for fp in parse.frames for p in fp.persons if p.track_id == tid]
    return interpolate_boxes(np.array([f for f, _ in seen]), np.array([b for _, b in seen]), n_frames)


def video_action(scores: dict[str, float]) -> str:
    """The video's action: the best class other than :data:`NONE` (a video names an action; "none" only
    says how sure the tracks are that they do one)."""
    named = {k: v for k, v in scores.items() if k != NONE}
    return max(named, key=named.get) if named else NONE


def _resample(t: np.ndarray, at: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Probabilities ``(W, C)`` given at times ``at`` -> at times ``t`` ``(n, C)``: linear, held at the ends."""
    return np.stack([np.interp(t, at, probs[:, c]) for c in range(probs.shape[1])], 1)


def dense_curve(steps: np.ndarray, starts: np.ndarray, n: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame probabilities of a track of ``n`` frames from its windows' step probabilities ``(W, S, C)``
    (windows starting at ``starts``, negative before a short track's first frame; ``step`` frames a step):
    ``(frames, (m, C))``, each frame the mean of the steps of all windows that cover it (frames outside the
    track, the repeated ends of a short one, left out)."""
    w, s, c = steps.shape
    frame = (np.asarray(starts)[:, None, None] + np.arange(s)[None, :, None] * step + np.arange(step)[None, None, :])
    rows = np.broadcast_to(steps[:, :, None, :], (w, s, step, c)).reshape(-1, c)
    frame = frame.reshape(-1)
    ok = (frame >= 0) & (frame < n)
    total = np.zeros((n, c))
    np.add.at(total, frame[ok], rows[ok])
    count = np.bincount(frame[ok], minlength=n)
    have = np.flatnonzero(count)
    return have.astype(np.float64), total[have] / count[have, None]


def track_sequences(parse: VideoParse, fps: float) -> dict[int, np.ndarray]:
    """Each track's keypoints ``(n, J, 3)`` resampled at ``fps`` over its time span: coordinates and
    confidence interpolated linearly between the parsed frames where the joint was seen (0 where never)."""
    rows: dict[int, list[tuple[float, np.ndarray]]] = {}
    src_fps = parse.fps or fps
    for fp in parse.frames:
        for p in fp.persons:
            if p.keypoints is not None:
                rows.setdefault(p.track_id, []).append((fp.frame / src_fps, p.keypoints))
    out = {}
    for tid, items in rows.items():
        t = np.array([a for a, _ in items])
        kp = np.nan_to_num(np.stack([k for _, k in items]).astype(np.float32), nan=0.0)
        grid = t[0] + np.arange(int(np.floor((t[-1] - t[0]) * fps)) + 1) / fps
        seq = np.zeros((len(grid), kp.shape[1], 3), np.float32)
        for j in range(kp.shape[1]):
            seen = kp[:, j, 2] > 0
            if seen.sum() == 0:
                continue
            for c in range(3):
                seq[:, j, c] = np.interp(grid, t[seen], kp[seen, j, c])
        out[tid] = seq
    return out


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

    @property
    def per_track(self) -> bool:
        return all(m.per_track for m in self.members)

    def track_curves(self, parse: VideoParse, hop_s: float = 0.2, video: str | Path | None = None
                     ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """The weighted mean of the members' action curves (:meth:`ActionPredictor.track_curves`), for
        ``detect``."""
        curves = [m.track_curves(parse, hop_s, video) for m in self.members]
        return {tid: (frames, ensemble_scores([c[tid][1] for c in curves], self.weights))
                for tid, (frames, _) in curves[0].items()}


def load_action_predictor(path: str | Path, device: str = "cpu"):
    """An action predictor from a ``train tps`` checkpoint, ``default`` (the shipped skeleton model) or an
    ensemble JSON file (see the module doc)."""
    path = DEFAULT_MODEL if str(path) == "default" else Path(path)
    if path.suffix == ".json":
        try:
            obj = json.loads(path.read_text())
            members = [ActionPredictor(path.parent / m, device) for m in obj["models"]]
            return EnsembleActionPredictor(members, obj.get("weights") or [1.0] * len(members))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise InputError(f"not an ensemble file ({type(e).__name__}: {e})", file=path) from None
    return ActionPredictor(path, device)

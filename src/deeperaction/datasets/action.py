"""Training data of the action classifiers: keypoint sequences of a TPS folder for the skeleton classifier,
the main person's boxes for person-centred video clips (clips: :mod:`deeperaction.datasets.clips`, read from
the clip cache or decoded on the fly), and an unlimited stream of synthetic keypoint windows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from deeperaction.datasets.clips import VideoItem
from deeperaction.datasets.tps_folder import read_keypoints
from deeperaction.datasets.transforms import normalize_skeletons
from deeperaction.schema import JOINTS
from deeperaction.video.reader import sample_clip_indices


class SkeletonClips(Dataset):
    """Keypoint clips: training items ``(M, T, J, 3)`` normalised (one random window); evaluation items
    ``(K, M, T, J, 3)``; the ``persons`` most confident persons of the video, zero-padded."""

    def __init__(self, sequences: list[np.ndarray], labels: list[int], clip_len: int = 32, stride: int = 1,
                 persons: int = 2, train: bool = True, test_clips: int = 4, seed: int = 0):
        self.seqs = []
        for kp in sequences:  # (T, M, J, 3) -> (persons, T, J, 3) by total confidence
            order = np.argsort(-kp[..., 2].sum(axis=(0, 2)), kind="stable")[:persons]
            sel = kp[:, order].transpose(1, 0, 2, 3)
            pad = np.zeros((persons - len(order), *sel.shape[1:]), np.float32)
            self.seqs.append(np.concatenate([sel, pad]))
        self.labels, self.clip_len, self.stride, self.train = labels, clip_len, stride, train
        self.test_clips, self.seed, self.epoch = test_clips, seed, 0

    @classmethod
    def from_items(cls, root: str | Path, items: list[VideoItem], **kw) -> "SkeletonClips":
        return cls([read_keypoints(root, it) for it in items], [it.label for it in items], **kw)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        seq = self.seqs[i]
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            idx = sample_clip_indices(seq.shape[1], self.clip_len, self.stride, 1, "random", rng)
        else:
            idx = sample_clip_indices(seq.shape[1], self.clip_len, self.stride, self.test_clips, "uniform")
        clips = np.stack([normalize_skeletons(seq[:, row]) for row in idx])
        out = torch.from_numpy(clips)
        return (out[0] if self.train else out), self.labels[i]


def main_person_boxes(root: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{video: (frames, boxes (n, 4))}`` of a TPS GT folder: at each annotated frame the largest person box
    (source pixels): the person the video's action is about, for person-centred clips."""
    from deeperaction.formats.kinetics_tps import read_tps

    tps = read_tps(root, "gt")
    area = (tps.human_box[:, 2] - tps.human_box[:, 0]) * (tps.human_box[:, 3] - tps.human_box[:, 1])
    out: dict[str, tuple[list[int], list[np.ndarray]]] = {}
    for f in range(tps.n_frames):
        h0, h1 = tps.frame_h0[f], tps.frame_h0[f + 1]
        if h1 > h0:
            best = h0 + int(np.argmax(area[h0:h1]))
            v = out.setdefault(tps.videos[tps.frame_video[f]], ([], []))
            v[0].append(int(tps.frame_num[f]))
            v[1].append(tps.human_box[best])
    return {v: (np.array(fr), np.array(bx).reshape(-1, 4)) for v, (fr, bx) in out.items()}


# --- unlimited synthetic keypoint windows ---------------------------------------------------------------

NONE_ACTION = "none"
"""Class of a window in which the person does no action of the vocabulary (idle, standing by)."""


LIMBS = {"arm": ("shoulder", "elbow", "wrist", "hand"), "leg": ("hip", "knee", "ankle", "foot")}
_SIDES = {limb: (np.array([JOINTS.index(f"left_{n}") for n in names]),
                 np.array([JOINTS.index(f"right_{n}") for n in names])) for limb, names in LIMBS.items()}
_ENDS = np.array([JOINTS.index(f"{side}_{n}") for side in ("left", "right")
                  for n in ("elbow", "wrist", "hand", "knee", "ankle", "foot")])


def degrade_keypoints(kp: np.ndarray, rng: np.random.Generator, *, noise: float = 0.05, drop_joint: float = 0.08,
                      keep_every: tuple[int, int] = (1, 5), conf: tuple[float, float] = (0.5, 1.0),
                      swap: float = 0.0, outlier: float = 0.0, swap_sides: float = 0.0,
                      shift: dict[str, float] | None = None) -> np.ndarray:
    """Exact generator keypoints ``(T, J, 3)`` made to look like a pose estimator's on real footage.

    Each degradation has a random strength, down to none, so that exact keypoints stay in the training
    distribution too. noise: at most this Gaussian jitter in torso lengths (a per-joint offset for the window
    plus a per-frame part); drop_joint: at most this share of (frame, joint) left undetected (confidence 0);
    keep_every: poses exist only every k-th frame (parse runs at a stride), linearly interpolated between, k
    drawn from the range; conf: confidence of a visible joint, between a per-window floor drawn from this
    range and 1. swap: at most this share of frames in which a pose estimator's left/right confusion swaps
    one arm's or leg's joints (in runs of 1-6 frames); outlier: at most this share of (frame, limb-end joint)
    thrown off by about half a torso (a hand or foot put on the wrong thing); swap_sides: chance that the whole
    window has its left and right joints exchanged, positions kept (a person taken as seen from behind, as
    pose estimators often do; 14% of frames on the generator's people at 320x240); shift: ``{joint: torso
    lengths}`` moved along the body's axis (towards the head when positive), scaled by a random strength per
    window: where a pose estimator puts a joint of a body that the generator puts elsewhere (its ankles sit
    higher, its neck lower).
    """
    kp = kp.astype(np.float32).copy()
    t, j = kp.shape[:2]
    vis = kp[..., 2] > 0
    xy = kp[..., :2]
    neck, hip = xy[:, JOINTS.index("neck")], 0.5 * (xy[:, JOINTS.index("left_hip")] + xy[:, JOINTS.index("right_hip")])
    torso = float(np.median(np.linalg.norm(neck - hip, axis=-1))) or 1.0
    sd = noise * torso * rng.uniform(0.0, 1.0)
    xy += rng.normal(0, sd, (1, j, 2)).astype(np.float32) + rng.normal(0, 0.6 * sd, (t, j, 2)).astype(np.float32)
    if shift:
        up = (neck - hip) / np.maximum(np.linalg.norm(neck - hip, axis=-1, keepdims=True), 1e-6)  # (T, 2)
        k = rng.uniform(0.0, 1.0) * torso
        for name, d in shift.items():
            xy[:, JOINTS.index(name)] += (k * d * up).astype(np.float32)
    if swap > 0:  # no draws when off: the shipped model's stream stays as it was
        for _ in range(rng.poisson(t * swap * rng.uniform(0.0, 1.0) / 3.5)):
            left, right = _SIDES[str(rng.choice(list(LIMBS)))]
            f0 = int(rng.integers(t))
            f1 = min(t, f0 + int(rng.integers(1, 7)))
            xy[f0:f1, left], xy[f0:f1, right] = xy[f0:f1, right].copy(), xy[f0:f1, left].copy()
    if swap_sides > 0 and rng.random() < swap_sides:
        for left, right in _SIDES.values():
            xy[:, left], xy[:, right] = xy[:, right].copy(), xy[:, left].copy()
        ear = [JOINTS.index("left_ear"), JOINTS.index("right_ear")]
        xy[:, ear] = xy[:, ear[::-1]]
    if outlier > 0:
        hit = rng.random((t, len(_ENDS))) < outlier * rng.uniform(0.0, 1.0)
        xy[:, _ENDS] += np.where(hit[..., None], rng.normal(0, 0.5 * torso, (t, len(_ENDS), 2)), 0).astype(np.float32)
    k = int(rng.integers(keep_every[0], keep_every[1] + 1))
    if k > 1 and t > k:
        keep = np.arange(int(rng.integers(0, k)), t, k)
        for c in range(2):
            for q in range(j):
                xy[:, q, c] = np.interp(np.arange(t), keep, xy[keep, q, c])
    vis &= rng.random((t, j)) >= drop_joint * rng.uniform(0.0, 1.0)
    floor = rng.uniform(*conf)
    kp[..., 2] = np.where(vis, rng.uniform(floor, 1.0, (t, j)), 0.0).astype(np.float32)
    kp[~vis, :2] = 0.0
    return kp


def action_windows(track, n_frames: int, length: int, min_share: float = 0.7) -> list[tuple[int, str]]:
    """Windows ``(start, label)`` of ``length`` frames of a generator person track in which one action (or no
    action: :data:`NONE_ACTION`) covers at least ``min_share`` of the frames and the person is present."""
    if n_frames < length:
        return []
    labels = np.full(n_frames, NONE_ACTION, dtype=object)
    for inst in track.instances:
        labels[max(0, inst.start):min(n_frames, inst.end)] = inst.action
    out = []
    for s in range(0, n_frames - length + 1, max(1, length // 4)):
        if track.present[s:s + length].mean() < 0.9:
            continue
        names, counts = np.unique(labels[s:s + length].astype(str), return_counts=True)
        best = int(np.argmax(counts))
        if counts[best] >= min_share * length:
            out.append((s, str(names[best])))
    return out


class SynthSkeletonStream(Dataset):
    """Keypoint windows of fresh synthetic people, made from the generator's labels on the fly (no video is
    rendered: ~10 ms a sample in a DataLoader worker), so training never sees the same window twice.

    Item ``i`` is a function of ``(seed, i)`` only: the person, window, time scale, degradation and label.
    Samples mix the generator's three tasks (single actions, several people with idle gaps, walkers crossing);
    ``classes`` are the action vocabulary plus :data:`NONE_ACTION`. Items: ``(1, T, J, 3)`` normalised
    keypoints (one person) and the class id; with ``test=True``, ``(1, 1, T, J, 3)`` (one test clip).
    """

    def __init__(self, classes: list[str], length: int, *, seed: int = 0, size: int = 100_000, preset: str = "easy",
                 scale: tuple[float, float] = (0.75, 1.33), degrade: bool | dict = True, test: bool = False):
        self.classes, self.index = list(classes), {c: i for i, c in enumerate(classes)}
        self.length, self.seed, self.size, self.preset = length, seed, size, preset
        self.scale, self.degrade, self.test = scale, degrade, test

    def __len__(self) -> int:
        return self.size

    def sample(self, i: int) -> tuple[np.ndarray, str]:
        """Un-normalised ``(T, J, 3)`` window and its label name."""
        from deeperaction.synth import ground_truth, make_spec

        rng = np.random.default_rng([self.seed, i])
        for attempt in range(50):
            task = str(rng.choice(["tps", "stad", "tal"], p=[0.5, 0.35, 0.15]))
            spec = make_spec(task, int(rng.integers(2**31)), self.seed, size=(320, 240), preset=self.preset,
                             duration=(4.0, 8.0) if task != "tal" else (8.0, 16.0))
            lab = ground_truth(spec)
            r = float(np.exp(rng.uniform(np.log(self.scale[0]), np.log(self.scale[1]))))
            src = int(round(self.length * r))
            wins = [(p, s, a) for p in lab.persons for s, a in action_windows(p, lab.n_frames, src)]
            if not wins:
                continue
            known = [w for w in wins if w[2] != NONE_ACTION]
            pool = known if known and rng.random() < 0.85 else wins  # mostly actions, some idle windows
            person, s, action = pool[int(rng.integers(len(pool)))]
            if action not in self.index:
                continue
            kp = person.keypoints[s:s + src]
            at = np.linspace(0, src - 1, self.length)  # time scale: slower or faster than the generator
            kp = np.stack([np.stack([np.interp(at, np.arange(src), kp[:, q, c]) for c in range(3)], -1)
                           for q in range(kp.shape[1])], 1).astype(np.float32)
            kp[..., 2] = (kp[..., 2] > 0.5).astype(np.float32)
            if self.degrade and rng.random() < 0.8:  # a fifth stays exact
                kp = degrade_keypoints(kp, rng, **(self.degrade if isinstance(self.degrade, dict) else {}))
            return kp, action
        raise RuntimeError(f"no usable window after 50 attempts (seed {self.seed}, index {i})")

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        kp, action = self.sample(i)
        x = torch.from_numpy(normalize_skeletons(kp[None]))  # (1, T, J, 3): one person
        return (x[None] if self.test else x), self.index[action]


# --- unlimited synthetic video clips ---------------------------------------------------------------------

class SynthClipStream(Dataset):
    """Video clips of fresh synthetic Kinetics-TPS-like videos, rendered on the fly inside the DataLoader
    workers (only the clip's frames are drawn), so a model never sees the same clip twice and needs no disk.

    Item ``i`` is a function of ``(seed, i)``: a video spec, a clip of ``clip_len`` frames every ``stride``-th
    inside the action, and the video's action as the label. ``crop_mode="person"``: a square of side
    ``person_size`` around the acting person's boxes over the clip (``margin`` context), else whole frames of
    ``frame_size``. Items: uint8 ``(T, H, W, 3)``; with ``test=True``, ``(1, T, H, W, 3)``.
    """

    def __init__(self, classes: list[str], *, clip_len: int = 8, stride: int = 2, seed: int = 0,
                 length: int = 10_000, preset: str = "easy", frame_size: tuple[int, int] = (160, 120),
                 crop_mode: str = "person", person_size: int = 64, margin: float = 0.3, test: bool = False):
        self.classes, self.index = list(classes), {c: i for i, c in enumerate(classes)}
        self.clip_len, self.stride, self.seed, self.length = clip_len, stride, seed, length
        self.preset, self.frame_size, self.crop_mode = preset, tuple(frame_size), crop_mode
        self.person_size, self.margin, self.test = person_size, margin, test
        self.base_seed = seed

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        if not self.test:
            self.seed = self.base_seed + 7919 * epoch

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from deeperaction.datasets.clips import crop_square, square_around
        from deeperaction.synth import make_spec
        from deeperaction.synth.video import Scene

        rng = np.random.default_rng([self.seed, i])
        while True:
            spec = make_spec("tps", int(rng.integers(2**31)), self.seed, size=self.frame_size, preset=self.preset)
            if spec.action in self.index:
                break
        scene = Scene(spec)
        main = scene.labels.persons[0]
        inst = main.instances[0]
        span = (self.clip_len - 1) * self.stride + 1
        lo, hi = max(0, inst.start), max(0, min(spec.n_frames, inst.end) - span)
        start = int(rng.integers(lo, hi + 1)) if hi >= lo else 0
        idx = np.clip(start + self.stride * np.arange(self.clip_len), 0, spec.n_frames - 1)
        frames = np.stack([scene.frame(int(t)) for t in idx])
        if self.crop_mode == "person":
            boxes = np.where(main.present[idx, None], main.boxes[idx], np.nan)
            frames = crop_square(frames, square_around(boxes, self.margin, frames.shape[1:3]), self.person_size)
        x = torch.from_numpy(np.ascontiguousarray(frames))
        return (x[None] if self.test else x), self.index[spec.action]

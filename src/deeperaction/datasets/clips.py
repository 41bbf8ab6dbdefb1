"""Clip datasets for action recognition: uint8 clips from the clip cache (fast) or decoded on the fly with
PyAV (small or changing data). Training items are one random clip ``(T, H, W, 3)``; evaluation items are
``K`` evenly spread clips ``(K, T, H, W, 3)``. Randomness is a function of ``(seed, epoch, index)``.

Person-centred clips (the winning reports classify people, not frames): with :meth:`centre_on` each clip is
cut to a square around one person's boxes over the clip's frames (plus a margin), resized to ``size``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from deeperaction.datasets.clip_cache import ClipCache
from deeperaction.errors import InputError
from deeperaction.video.reader import probe, read_frames, sample_clip_indices


def square_around(boxes: np.ndarray, margin: float, frame_hw: tuple[int, int]) -> tuple[float, float, float]:
    """Centre ``(cx, cy)`` and side of the square around the union of ``boxes (N, 4)`` (NaN rows ignored)
    grown by ``margin``; the whole frame's square when no box is known."""
    ok = np.isfinite(boxes).all(1)
    h, w = frame_hw
    if not ok.any():
        return w / 2, h / 2, float(max(h, w))
    b = boxes[ok]
    x1, y1, x2, y2 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    side = max(x2 - x1, y2 - y1, 8.0) * (1 + margin)
    return float((x1 + x2) / 2), float((y1 + y2) / 2), float(side)


def crop_square(frames: np.ndarray, centre_side: tuple[float, float, float], size: int) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 frames -> ``(T, size, size, 3)``: the square ``(cx, cy, side)`` of each frame,
    resized (outside the frame: edge pixels repeated)."""
    import cv2

    cx, cy, side = centre_side
    s = size / side
    m = np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]], np.float32)
    return np.stack([cv2.warpAffine(f, m, (size, size), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE) for f in frames])


def interpolate_boxes(frames: np.ndarray, boxes: np.ndarray, n_frames: int) -> np.ndarray:
    """Boxes known at some frames -> ``(n_frames, 4)``: linear between them, held before the first and after the
    last (NaN everywhere when none is known)."""
    out = np.full((n_frames, 4), np.nan)
    if len(frames):
        o = np.argsort(frames)
        for c in range(4):
            out[:, c] = np.interp(np.arange(n_frames), np.asarray(frames)[o], np.asarray(boxes)[o, c])
    return out


class KeyframeClips(Dataset):
    """Base of the datasets whose samples are clips centred on annotated frames of cached videos (part states,
    spatio-temporal detection): the cache rows of ``video_ids``, each video's box scale from its source
    ``sizes[i] = (w, h)`` to the cache's pixels, the epoch, and the clip's stored-frame indices."""

    def __init__(self, cache, video_ids: list[str], sizes: list[tuple[int, int]], *, clip_len: int, stride: int,
                 seed: int = 0):
        missing = [v for v in video_ids if v not in cache.by_id]
        if missing:
            raise InputError(f"{len(missing)} video(s) not in the clip cache, e.g. {missing[0]}", file=cache.folder)
        self.cache, self.clip_len, self.stride, self.seed, self.epoch = cache, clip_len, stride, seed, 0
        self.cache_ix = np.array([cache.by_id[v] for v in video_ids])
        h, w = cache.size
        self.scale = np.array([[w / sw, h / sh] * 2 for sw, sh in sizes], np.float32).reshape(-1, 4)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def clip_indices(self, frame: int) -> np.ndarray:
        """Stored-frame indices of the clip centred on source ``frame`` (clamped to the video later)."""
        offsets = (np.arange(self.clip_len) - (self.clip_len - 1) / 2) * self.stride
        return np.maximum(np.round((frame + offsets) / self.cache.step).astype(np.int64), 0)


@dataclass(frozen=True)
class VideoItem:
    """A labelled video: its id, where it is (a file or a frame folder), its class index."""

    video_id: str
    path: str
    label: int


class _ClipSampling(Dataset):
    """Shared clip sampling: random start when training, ``test_clips`` uniform clips otherwise."""

    def __init__(self, labels: list[int], clip_len: int, stride: int, train: bool, test_clips: int, seed: int):
        self.labels = labels
        self.clip_len, self.stride, self.train = clip_len, stride, train
        self.test_clips, self.seed, self.epoch = test_clips, seed, 0
        self.repeat = 1  # training: clips drawn from each video per epoch (each at its own random start)
        self.person: list[np.ndarray] | None = None  # per item: (stored frames, 4) boxes in stored pixels
        self.person_size, self.person_margin = 0, 0.0

    def centre_on(self, boxes: list[np.ndarray], size: int = 112, margin: float = 0.3) -> "_ClipSampling":
        """Person-centred clips from now on: ``boxes[i]`` are item ``i``'s person boxes ``(frames, 4)`` for each
        frame this dataset stores, in its pixels (NaN where unknown); clips become ``size`` squares."""
        if len(boxes) != len(self.labels):
            raise ValueError(f"{len(boxes)} box tracks for {len(self.labels)} items")
        self.person, self.person_size, self.person_margin = boxes, int(size), float(margin)
        self.frame_shape = (self.person_size, self.person_size, 3)
        return self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels) * (self.repeat if self.train else 1)

    def indices(self, i: int, n_frames: int, draw: int = 0) -> np.ndarray:
        """``(K, clip_len)`` frame indices of item ``i`` (K = 1 when training; ``draw``: which of its
        ``repeat`` clips this epoch)."""
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, i, draw] if draw else [self.seed, self.epoch, i])
            return sample_clip_indices(n_frames, self.clip_len, self.stride, 1, "random", rng)
        return sample_clip_indices(n_frames, self.clip_len, self.stride, self.test_clips, "uniform")

    def frames(self, i: int, idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def n_frames(self, i: int) -> int:
        raise NotImplementedError

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        i, draw = i % len(self.labels), i // len(self.labels)
        idx = self.indices(i, self.n_frames(i), draw)
        flat = self.frames(i, idx.reshape(-1))
        if self.person is not None:  # one square per clip around the person over the clip's frames
            track = self.person[i]
            rows = idx.clip(0, len(track) - 1)
            flat = np.concatenate([crop_square(flat[k * idx.shape[1]:(k + 1) * idx.shape[1]],
                                               square_around(track[r], self.person_margin, flat.shape[1:3]),
                                               self.person_size) for k, r in enumerate(rows)])
        clips = flat.reshape(*idx.shape, *self.frame_shape)
        clips = torch.from_numpy(np.ascontiguousarray(clips))
        return (clips[0] if self.train else clips), self.labels[i]


class CachedClips(_ClipSampling):
    """Clips read from a :class:`ClipCache` (memory-mapped; page cache does the rest).

    ``stride`` counts source frames; with a cache storing every ``step``-th frame it becomes
    ``max(1, stride // step)`` stored frames.
    """

    def __init__(self, cache: ClipCache | str | Path, items: list[VideoItem], clip_len: int = 16,
                 stride: int = 2, train: bool = True, test_clips: int = 4, seed: int = 0):
        self.cache = cache if isinstance(cache, ClipCache) else ClipCache(cache)
        missing = [it.video_id for it in items if it.video_id not in self.cache.by_id]
        if missing:
            raise InputError(f"{len(missing)} videos are not in the cache (e.g. {missing[0]!r}); rebuild it",
                             file=self.cache.folder)
        self.rows = [self.cache.by_id[it.video_id] for it in items]
        self.frame_shape = (*self.cache.size, 3)
        super().__init__([it.label for it in items], clip_len, max(1, stride // self.cache.step), train,
                         test_clips, seed)

    def n_frames(self, i: int) -> int:
        return self.cache.videos[self.rows[i]].n_frames

    def frames(self, i: int, idx: np.ndarray) -> np.ndarray:
        return self.cache.clip(self.rows[i], idx)


class DecodedClips(_ClipSampling):
    """Clips decoded from the videos at each access (PyAV, frame-exact seek), resized to ``size=(h, w)``."""

    def __init__(self, items: list[VideoItem], size: tuple[int, int] = (128, 171), clip_len: int = 16,
                 stride: int = 2, train: bool = True, test_clips: int = 4, seed: int = 0):
        self.items = items
        self.size_hw = (int(size[0]), int(size[1]))
        self.frame_shape = (*self.size_hw, 3)
        self._n: dict[int, int] = {}
        super().__init__([it.label for it in items], clip_len, stride, train, test_clips, seed)

    def n_frames(self, i: int) -> int:
        if i not in self._n:
            self._n[i] = probe(self.items[i].path).n_frames
        return self._n[i]

    def frames(self, i: int, idx: np.ndarray) -> np.ndarray:
        h, w = self.size_hw
        return read_frames(self.items[i].path, idx, size=(w, h))

"""Clip datasets for action recognition: uint8 clips from the clip cache (fast) or decoded on the fly with
PyAV (small or changing data). Training items are one random clip ``(T, H, W, 3)``; evaluation items are
``K`` evenly spread clips ``(K, T, H, W, 3)``. Randomness is a function of ``(seed, epoch, index)``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from deeperaction.datasets.clip_cache import ClipCache
from deeperaction.errors import InputError
from deeperaction.video.reader import probe, read_frames, sample_clip_indices


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

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels)

    def indices(self, i: int, n_frames: int) -> np.ndarray:
        """``(K, clip_len)`` frame indices of item ``i`` (K = 1 when training)."""
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            return sample_clip_indices(n_frames, self.clip_len, self.stride, 1, "random", rng)
        return sample_clip_indices(n_frames, self.clip_len, self.stride, self.test_clips, "uniform")

    def frames(self, i: int, idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def n_frames(self, i: int) -> int:
        raise NotImplementedError

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        idx = self.indices(i, self.n_frames(i))
        clips = self.frames(i, idx.reshape(-1)).reshape(*idx.shape, *self.frame_shape)
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
        self.frame_shape = (int(size[0]), int(size[1]), 3)
        self._n: dict[int, int] = {}
        super().__init__([it.label for it in items], clip_len, stride, train, test_clips, seed)

    def n_frames(self, i: int) -> int:
        if i not in self._n:
            self._n[i] = probe(self.items[i].path).n_frames
        return self._n[i]

    def frames(self, i: int, idx: np.ndarray) -> np.ndarray:
        h, w, _ = self.frame_shape
        return read_frames(self.items[i].path, idx, size=(w, h))

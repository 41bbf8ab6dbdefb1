"""The clip cache: every video decoded once into uint8 frames at training resolution, in one memory-mapped
file plus an index, so training reads clips at memory speed instead of decoding H.264 (~3 CPU-ms a frame).

Layout of a cache folder: ``frames.u8`` (all frames back to back, ``(N, H, W, 3)`` uint8) and
``index.json`` ``{"size": [H, W], "step": s, "videos": [{"id", "source", "offset", "n_frames", "fps"}]}``.
The index is written last (atomically), so a folder with an index is complete.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError
from deeperaction.video.reader import iter_frames, probe

INDEX, FRAMES = "index.json", "frames.u8"


@dataclass(frozen=True)
class CachedVideo:
    """One video in the cache: frames ``offset : offset + n_frames`` of ``frames.u8``."""

    id: str
    source: str
    offset: int
    n_frames: int
    fps: float


def _decode(job: tuple[str, str, int, int, int]) -> tuple[str, np.ndarray, float]:
    """Worker: all frames (every ``step``-th) of one video at ``(h, w)``, upright RGB uint8."""
    vid, src, h, w, step = job
    frames = [f for _, f in iter_frames(src, step=step, size=(w, h))]
    fps = probe(src).fps / step
    arr = np.stack(frames) if frames else np.zeros((0, h, w, 3), np.uint8)
    return vid, arr, fps


def build_clip_cache(videos: Sequence[tuple[str, str | Path]], out: str | Path, size: tuple[int, int] = (128, 171),
                     step: int = 1, workers: int = 4,
                     progress: Callable[[int, int], None] | None = None) -> "ClipCache":
    """Decode ``videos`` (``(id, path)`` pairs; files or frame folders) into a cache at ``out``.

    size: stored ``(height, width)``; step: keep every ``step``-th frame; workers: decoding processes.
    An existing complete cache with the same videos, size and step is reused as it is.
    """
    out = Path(out)
    h, w = int(size[0]), int(size[1])
    want = [(str(v), str(p)) for v, p in videos]
    if (out / INDEX).is_file():
        cache = ClipCache(out)
        if cache.size == (h, w) and cache.step == step and [(v.id, v.source) for v in cache.videos] == want:
            return cache
    out.mkdir(parents=True, exist_ok=True)
    (out / INDEX).unlink(missing_ok=True)
    entries: dict[str, dict] = {}
    offset = 0
    jobs = [(v, p, h, w, step) for v, p in want]
    ctx = mp.get_context("spawn")  # no fork of a process that may hold torch/OpenMP threads
    with open(out / FRAMES, "wb") as f:
        pool = ctx.Pool(workers) if workers > 1 else None
        results = pool.imap_unordered(_decode, jobs) if pool else map(_decode, jobs)
        try:
            for i, (vid, arr, fps) in enumerate(results):
                if len(arr) == 0:
                    raise InputError("no frame could be decoded", file=dict(want)[vid], video=vid)
                f.write(np.ascontiguousarray(arr).data)
                entries[vid] = {"id": vid, "source": dict(want)[vid], "offset": offset, "n_frames": len(arr),
                                "fps": fps}
                offset += len(arr)
                if progress is not None:
                    progress(i + 1, len(jobs))
        finally:
            if pool:
                pool.terminate()
    index = {"size": [h, w], "step": step, "videos": [entries[v] for v, _ in want]}
    tmp = out / (INDEX + ".tmp")
    tmp.write_text(json.dumps(index))
    os.replace(tmp, out / INDEX)
    return ClipCache(out)


class ClipCache:
    """Read side of a cache folder; the frame file is memory-mapped lazily (so it pickles to workers)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not (self.folder / INDEX).is_file():
            raise InputError(f"no {INDEX}: not a clip cache, or its build did not finish", file=self.folder)
        index = json.loads((self.folder / INDEX).read_text())
        self.size: tuple[int, int] = (int(index["size"][0]), int(index["size"][1]))
        self.step: int = int(index["step"])
        self.videos = [CachedVideo(**v) for v in index["videos"]]
        self.by_id = {v.id: i for i, v in enumerate(self.videos)}
        self._frames: np.memmap | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_frames": None}

    @property
    def frames(self) -> np.memmap:
        """All frames, ``(N, H, W, 3)`` uint8, memory-mapped read-only."""
        if self._frames is None:
            total = sum(v.n_frames for v in self.videos)
            self._frames = np.memmap(self.folder / FRAMES, np.uint8, "r", shape=(total, *self.size, 3))
        return self._frames

    def clip(self, video: int, indices: np.ndarray) -> np.ndarray:
        """Frames ``indices`` (0-based in stored frames, clamped to the video) of video number ``video``."""
        v = self.videos[video]
        idx = np.clip(np.asarray(indices, dtype=np.int64), 0, v.n_frames - 1) + v.offset
        return self.frames[idx]

    def __len__(self) -> int:
        return len(self.videos)


def cache_for(data: dict, items: Sequence, progress: Callable[[int, int], None] | None = None) -> "ClipCache":
    """Build (or reuse) the clip cache of ``items`` (:class:`~deeperaction.datasets.clips.VideoItem`) as a
    config's ``data`` section says: at ``cache`` with ``cache_size``, ``cache_step``, ``workers`` decoders."""
    return build_clip_cache([(it.video_id, it.path) for it in items], data["cache"], tuple(data["cache_size"]),
                            data["cache_step"], max(1, data["workers"]), progress)

"""An on-disk store of uint8 images of any shapes (person crops, resized frames), memory-mapped on reading,
so a detector's training set can be larger than memory and is decoded once, not at every run.

Layout of a store folder: ``data.u8`` (the arrays back to back) and ``index.npz`` (``offsets``, ``shapes``
and the caller's small metadata arrays). The folder is written under a temporary name and renamed into
place when complete, so a store that exists is whole (two processes building the same one both finish;
the first rename wins). :func:`store_key` names a store by what it was built from.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np

DATA, INDEX = "data.u8", "index.npz"
T = TypeVar("T")


def store_key(**what) -> str:
    """A short hash of ``what`` (JSON-able: source paths with their modification times, sizes, options)."""
    return hashlib.sha1(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def source_stamp(path: str | Path) -> list:
    """``[absolute path, mtime_ns, size]`` of a file: a store built from it is stale once it changes."""
    p = Path(path).resolve()
    st = p.stat()
    return [str(p), st.st_mtime_ns, st.st_size]


class ArrayWriter:
    """Append arrays (``add``: one; ``add_many``: the rows of a stacked array), then ``close(**meta)``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.tmp = self.folder.with_name(f".{self.folder.name}.{uuid.uuid4().hex[:8]}.tmp")
        self.tmp.mkdir(parents=True)
        self._f = open(self.tmp / DATA, "wb")
        self._pos = 0
        self.offsets: list[int] = []
        self.shapes: list[tuple[int, ...]] = []

    def add(self, a: np.ndarray) -> None:
        a = np.ascontiguousarray(a, dtype=np.uint8)
        self.offsets.append(self._pos)
        self.shapes.append(a.shape)
        self._f.write(a.tobytes())
        self._pos += a.nbytes

    def add_many(self, stacked: np.ndarray) -> None:
        """Each row of ``stacked`` as one array (written in one piece)."""
        stacked = np.ascontiguousarray(stacked, dtype=np.uint8)
        if len(stacked) == 0:
            return
        per = stacked[0].nbytes
        self.offsets.extend((self._pos + per * np.arange(len(stacked))).tolist())
        self.shapes.extend([stacked.shape[1:]] * len(stacked))
        self._f.write(stacked.tobytes())
        self._pos += stacked.nbytes

    def close(self, **meta: np.ndarray) -> "ArrayStore":
        """Write the index and move the store into place; returns it opened for reading."""
        self._f.close()
        ndim = max((len(s) for s in self.shapes), default=0)
        shapes = np.array([list(s) + [0] * (ndim - len(s)) for s in self.shapes], np.int64).reshape(-1, ndim)
        np.savez(self.tmp / INDEX, offsets=np.array(self.offsets, np.int64), shapes=shapes, **meta)
        try:
            os.rename(self.tmp, self.folder)
        except OSError:  # another process finished the same store first: keep theirs
            shutil.rmtree(self.tmp, ignore_errors=True)
        return ArrayStore(self.folder)

    def abort(self) -> None:
        self._f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class ArrayStore:
    """Read side: ``store[i]`` is a read-only view of array ``i`` (no copy); ``meta`` holds the rest of the
    index; :meth:`stacked` is the whole store as one ``(N, *shape)`` array when all shapes are equal."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        with np.load(self.folder / INDEX) as z:
            self.offsets, self.shapes = z["offsets"], z["shapes"]
            self.meta = {k: z[k] for k in z.files if k not in ("offsets", "shapes")}
        size = (self.folder / DATA).stat().st_size
        self._mm = np.memmap(self.folder / DATA, np.uint8, "r") if size else np.zeros(0, np.uint8)

    @staticmethod
    def exists(folder: str | Path) -> bool:
        return (Path(folder) / INDEX).is_file()

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, i: int) -> np.ndarray:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        shape = tuple(int(v) for v in self.shapes[i])
        o = int(self.offsets[i])
        return self._mm[o:o + int(np.prod(shape))].reshape(shape)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[i] for i in range(len(self)))

    def stacked(self) -> np.ndarray:
        if len(self) == 0:
            return np.zeros((0,), np.uint8)
        if (self.shapes != self.shapes[0]).any():
            raise ValueError(f"{self.folder}: arrays of different shapes cannot be stacked")
        shape = tuple(int(v) for v in self.shapes[0])
        return self._mm[: len(self) * int(np.prod(shape))].reshape(len(self), *shape)


def store_folder(cache: str | Path | None, prefix: str, root: str | Path, items: list, **options) -> Path | None:
    """Where the store of a TPS set lives in ``cache`` (None without one): ``prefix-<hash>`` of the GT part
    file, the videos (``items``: ``video_id`` + ``path``) and ``options``."""
    if not cache:
        return None
    return Path(cache) / (f"{prefix}-" + store_key(
        gt=source_stamp(Path(root) / "gt_part_result.json"), videos=[source_stamp(it.path) for it in items],
        ids=[it.video_id for it in items], **options))


def build_once(folder: Path | None, build: Callable[[ArrayWriter | None], T], meta: Callable[[T], dict],
               load: Callable[[ArrayStore], T]) -> T:
    """``build(None)`` without a folder; else the store in ``folder`` read by ``load``, built first when
    missing (``build(writer)`` writes the arrays, ``meta(result)`` gives the index's other arrays)."""
    if folder is None:
        return build(None)
    if ArrayStore.exists(folder):
        return load(ArrayStore(folder))
    writer = ArrayWriter(folder)
    try:
        made = build(writer)
    except BaseException:
        writer.abort()
        raise
    return load(writer.close(**meta(made)))

"""A folder of image files as a video: frames in natural order (``img_2`` before ``img_10``), RGB uint8.

Kinetics-TPS ships frames as ``img_00001.jpg``...; frame 0 is the first file. The frame rate is not
stored in a folder: ``fps.txt`` holding a number is used if present, else :data:`DEFAULT_FPS`.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from deeperaction.errors import InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
DEFAULT_FPS = 25.0


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def list_frames(folder: Path) -> list[Path]:
    """Image files of ``folder`` in natural order; InputError if there are none."""
    if not folder.is_dir():
        raise InputError("no such folder", file=folder)
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                   key=_natural_key)
    if not files:
        raise InputError(f"folder has no image frames ({', '.join(IMAGE_SUFFIXES)})", file=folder)
    return files


def folder_fps(folder: Path) -> float:
    """Frame rate of a frame folder: ``fps.txt`` if present and valid, else :data:`DEFAULT_FPS`."""
    f = folder / "fps.txt"
    try:
        fps = float(f.read_text().strip())
        return fps if fps > 0 else DEFAULT_FPS
    except (OSError, ValueError):
        return DEFAULT_FPS


def read_image(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """One image file as RGB uint8, resized to ``size=(w, h)`` if given; InputError if unreadable."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError("cannot read as an image (corrupt or not an image)", file=path)
    if size is not None and (img.shape[1], img.shape[0]) != tuple(size):
        img = cv2.resize(img, (int(size[0]), int(size[1])), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def probe_folder(folder: Path, info_cls):
    """``VideoInfo`` of a frame folder (size from the first image)."""
    files = list_frames(folder)
    first = read_image(files[0])
    fps = folder_fps(folder)
    return info_cls(str(folder), fps, len(files), first.shape[1], first.shape[0], len(files) / fps, 0)


def iter_folder(folder: Path, *, start: int = 0, stop: int | None = None, step: int = 1,
                size: tuple[int, int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, rgb)`` for the folder's frames ``start:stop:step``."""
    files = list_frames(folder)
    for i in range(start, len(files) if stop is None else min(stop, len(files)), step):
        yield i, read_image(files[i], size)


def read_folder(folder: Path, indices: np.ndarray, *, size: tuple[int, int] | None = None) -> np.ndarray:
    """Frames at ``indices`` of a frame folder, ``(N, H, W, 3)``."""
    files = list_frames(folder)
    bad = indices[indices >= len(files)]
    if bad.size:
        raise InputError(f"frame {int(bad[0])} is past the last frame {len(files) - 1}", file=folder,
                         frame=int(bad[0]))
    cache: dict[int, np.ndarray] = {}
    out = []
    for i in indices.tolist():
        if i not in cache:
            cache[i] = read_image(files[i], size)
        out.append(cache[i])
    return np.stack(out)


def resize_long(rgb: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """``rgb`` resized so its long side is ``size`` (area filter when shrinking); returns it and the scale."""
    h, w = rgb.shape[:2]
    s = size / max(h, w)
    if s == 1.0:
        return rgb, 1.0
    out = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                     interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return out, s

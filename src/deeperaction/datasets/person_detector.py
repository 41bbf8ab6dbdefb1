"""Training data of the person detector: the annotated frames of a Kinetics-TPS GT folder (every 5th frame)
with their GT person boxes, resized so the long side is ``size`` pixels.

Frames are decoded once, at the annotated indices only, and kept in memory (uint8, about ``size^2 * 2.3``
bytes each: 230 KB at 320 px, so ~0.3 GB per thousand frames), or with a cache folder in an on-disk store,
memory-mapped (:mod:`deeperaction.datasets.array_store`), for sets larger than memory. A training sample
may be zoomed in (a random crop of ``1/zoom`` of the frame, resized back; boxes mostly outside are dropped)
and mirrored.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from deeperaction.datasets.array_store import ArrayStore, ArrayWriter, build_once, store_folder
from deeperaction.datasets.clips import VideoItem
from deeperaction.datasets.part_states import read_part_table
from deeperaction.errors import InputError
from deeperaction.video.frames import resize_long
from deeperaction.video.reader import read_frames


@dataclass
class FrameSet:
    """``images``: sequence of ``(H, W, 3)`` uint8 (long side ``size``; a list, or an on-disk
    :class:`ArrayStore`), ``boxes``: list of ``(P, 4)`` person boxes in image pixels, ``scale``: image pixels
    per source pixel, ``video``/``frame``: where each is from."""

    images: list[np.ndarray] | ArrayStore
    boxes: list[np.ndarray]
    scale: np.ndarray
    video: np.ndarray
    frame: np.ndarray
    video_ids: list[str]

    def __len__(self) -> int:
        return len(self.boxes)


def build_frame_set(root: str | Path, items: list[VideoItem], size: int | None = 320,
                    progress: Callable[[int, int], None] | None = None, cache: str | Path | None = None) -> FrameSet:
    """The :class:`FrameSet` of ``items`` (videos of the TPS GT folder ``root``), frames resized to a long
    side of ``size`` pixels (None: as decoded). With ``cache`` (a folder) the frames go to an on-disk
    :class:`ArrayStore` there, named by the GT file, the videos and the size: built once, memory-mapped."""
    return build_once(store_folder(cache, "person_frames", root, items, size=size),
                      lambda w: _build_frames(root, items, size, progress, w), _frame_meta, _frame_set)


def _frame_meta(fs: FrameSet) -> dict[str, np.ndarray]:
    return {"boxes": np.concatenate(fs.boxes).reshape(-1, 4), "counts": np.array([len(b) for b in fs.boxes]),
            "scale": fs.scale, "video": fs.video, "frame": fs.frame, "video_ids": np.array(fs.video_ids)}


def _frame_set(store: ArrayStore) -> FrameSet:
    m = store.meta
    boxes = np.split(m["boxes"].astype(np.float32), np.cumsum(m["counts"])[:-1])
    return FrameSet(store, boxes, m["scale"], m["video"], m["frame"], [str(v) for v in m["video_ids"]])


def _build_frames(root: str | Path, items: list[VideoItem], size: int | None,
                  progress: Callable[[int, int], None] | None, writer: ArrayWriter | None) -> FrameSet:
    """The frame set, its images in memory or (``writer``) written to a store (``images`` then empty)."""
    table, _ = read_part_table(root, unknown_ok=True)
    vindex = {v: i for i, v in enumerate(table.video_ids)}
    images, boxes, scale, video, frame = [], [], [], [], []
    for n, item in enumerate(items):
        v = vindex.get(item.video_id)
        rows = np.flatnonzero(table.video == v) if v is not None else np.zeros(0, int)
        if len(rows) == 0:
            continue
        uniq, inv = np.unique(table.frame[rows], return_inverse=True)
        decoded = read_frames(item.path, uniq)
        for f in range(len(uniq)):
            img, s = resize_long(decoded[f], size) if size else (decoded[f], 1.0)
            if writer is None:
                images.append(np.ascontiguousarray(img))
            else:
                writer.add(img)
            boxes.append((table.boxes[rows[inv == f], 0].astype(np.float64) * s).astype(np.float32))
            scale.append(s)
            video.append(n)
            frame.append(int(uniq[f]))
        if progress:
            progress(n + 1, len(items))
    if not boxes:
        raise InputError("no annotated frame with people in these videos", file=root)
    return FrameSet(images, boxes, np.array(scale), np.array(video), np.array(frame), [it.video_id for it in items])


def zoom_crop(img: np.ndarray, boxes: np.ndarray, zoom: float, rng: np.random.Generator,
              min_visible: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A random window of ``1/zoom`` of the image, resized back to the image's size; boxes clipped to it,
    those with under ``min_visible`` of their area inside dropped."""
    h, w = img.shape[:2]
    cw, ch = w / zoom, h / zoom
    x0, y0 = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
    sx, sy = w / cw, h / ch
    m = np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy]])
    out = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    b = (boxes.astype(np.float64) - [x0, y0, x0, y0]) * [sx, sy, sx, sy]
    area = np.prod(b[:, 2:] - b[:, :2], 1)
    c = b.copy()
    c[:, 0::2], c[:, 1::2] = c[:, 0::2].clip(0, w), c[:, 1::2].clip(0, h)
    inside = np.prod(np.clip(c[:, 2:] - c[:, :2], 0, None), 1)
    keep = (inside >= min_visible * np.maximum(area, 1e-9)) & (c[:, 2] - c[:, 0] >= 2) & (c[:, 3] - c[:, 1] >= 2)
    return out, c[keep].astype(np.float32)


class PersonFrames(Dataset):
    """Samples ``(image uint8 (H, W, 3), target)``, target ``{"boxes" (P, 4), "labels" (P,) all 1}`` (image
    pixels); evaluation targets add ``"scale"`` (image pixels per source pixel)."""

    def __init__(self, fs: FrameSet, train: bool = True, flip: float = 0.5, zoom: float = 1.5, seed: int = 0):
        self.fs, self.train, self.flip, self.zoom, self.seed, self.epoch = fs, train, flip, zoom, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.fs)

    def __getitem__(self, i: int):
        img, boxes = self.fs.images[i], self.fs.boxes[i]
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            if self.zoom > 1 and rng.random() < 0.5:
                img, boxes = zoom_crop(img, boxes, rng.uniform(1.0, self.zoom), rng)
            if self.flip > 0 and rng.random() < self.flip:
                w = img.shape[1]
                img = np.ascontiguousarray(img[:, ::-1])
                boxes = np.stack([w - boxes[:, 2], boxes[:, 1], w - boxes[:, 0], boxes[:, 3]], 1) if len(boxes) \
                    else boxes
        target = {"boxes": torch.from_numpy(np.asarray(boxes, np.float32).reshape(-1, 4)),
                  "labels": torch.ones(len(boxes), dtype=torch.int64)}
        if not self.train:
            target["scale"] = float(self.fs.scale[i])
        return torch.from_numpy(np.array(img)), target  # a copy (read-only memmap)


def collate_frames(batch: list) -> tuple[list[torch.Tensor], list[dict]]:
    """Images stay a list (sizes may differ); one target dict per image."""
    return [b[0] for b in batch], [b[1] for b in batch]

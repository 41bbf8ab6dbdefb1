"""Training data of the pose-guided part detector: square person crops of every annotated (frame, person)
of a Kinetics-TPS GT folder (TPS annotates every 5th frame), the person's keypoints and the GT part boxes
in crop pixels.

Keypoints come from ``labels/V.npz`` / ``keypoints/V.npy`` beside the videos (what ``deeperaction synth``
writes; see :func:`deeperaction.datasets.tps_folder.read_keypoints`): each GT person takes the skeleton
whose keypoint box overlaps its box most (rows with none overlapping are dropped). A sample adds Gaussian
noise of ``kp_noise`` frame pixels to the keypoints (the stand-in for a pose estimator), may be mirrored
(left/right parts AND joints swap), then gets the pose drawn on it (:func:`draw_pose`). Frames are
decoded once, at the annotated indices only; the crops are kept in memory (uint8, ``N x S x S x 3``), or
with a cache folder in an on-disk store, memory-mapped (:mod:`deeperaction.datasets.array_store`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from deeperaction.datasets.array_store import ArrayStore, ArrayWriter, build_once, store_folder
from deeperaction.datasets.clips import VideoItem
from deeperaction.datasets.part_states import PART_FLIP, read_part_table
from deeperaction.datasets.tps_folder import read_keypoints
from deeperaction.datasets.transforms import JOINT_FLIP
from deeperaction.errors import InputError
from deeperaction.metrics.iou import box_iou_rows
from deeperaction.perception.parts_from_pose import part_boxes
from deeperaction.perception.pose_drawing import crop_params, crop_people, draw_pose, flip_crop, to_crop
from deeperaction.schema import PARTS
from deeperaction.video.reader import read_frames


@dataclass
class CropSet:
    """Crops of a set: ``crops (N, S, S, 3)`` uint8, ``keypoints (N, J, 3)`` / ``boxes (N, 10, 4)`` /
    ``person (N, 4)`` in crop pixels, ``mask (N, 10)`` parts present, ``params (N, 3)`` crop squares
    ``x0, y0, side`` in frame pixels, ``video (N,)`` index into ``video_ids``, ``frame (N,)``."""

    crops: np.ndarray
    keypoints: np.ndarray
    boxes: np.ndarray
    person: np.ndarray
    mask: np.ndarray
    params: np.ndarray
    video: np.ndarray
    frame: np.ndarray
    video_ids: list[str]
    dropped: int = 0  # GT persons without a matching skeleton

    def __len__(self) -> int:
        return len(self.keypoints)


def _kp_boxes(kp: np.ndarray, min_conf: float) -> np.ndarray:
    """``(..., 4)`` bounding boxes of the confident keypoints ``(..., J, 3)`` (zeros when none)."""
    ok = kp[..., 2] >= min_conf
    big, small = np.where(ok[..., None], kp[..., :2], np.inf).min(-2), np.where(ok[..., None], kp[..., :2], -np.inf).max(-2)
    out = np.concatenate([big, small], -1)
    return np.where(ok.any(-1)[..., None], out, 0.0)


_META = ("keypoints", "boxes", "person", "mask", "params", "video", "frame")


def build_crop_set(root: str | Path, items: list[VideoItem], size: int = 128, enlarge: float = 0.1,
                   min_conf: float = 0.3, progress: Callable[[int, int], None] | None = None,
                   cache: str | Path | None = None) -> CropSet:
    """The :class:`CropSet` of ``items`` (videos of the TPS GT folder ``root``), crops ``size`` pixels.

    With ``cache`` (a folder) the crops go to an on-disk :class:`ArrayStore` there, named by the GT file,
    the videos and the options, and are memory-mapped: built once, then reused by every run."""
    folder = store_folder(cache, "part_crops", root, items, size=size, enlarge=enlarge, min_conf=min_conf)
    return build_once(folder, lambda w: _build_crops(root, items, size, enlarge, min_conf, progress, w),
                      lambda cs: {**{k: getattr(cs, k) for k in _META}, "video_ids": np.array(cs.video_ids),
                                  "dropped": np.array(cs.dropped)}, _crop_set)


def _crop_set(store: ArrayStore) -> CropSet:
    m = store.meta
    return CropSet(store.stacked(), *(m[k] for k in _META), [str(v) for v in m["video_ids"]], int(m["dropped"]))


def _build_crops(root: str | Path, items: list[VideoItem], size: int, enlarge: float, min_conf: float,
                 progress: Callable[[int, int], None] | None, writer: ArrayWriter | None) -> CropSet:
    """The crop set, its crops in memory or (``writer``) written to a store (``crops`` then empty)."""
    table, _ = read_part_table(root, unknown_ok=True)
    vindex = {v: i for i, v in enumerate(table.video_ids)}
    parts = {k: [] for k in ("crops", "keypoints", "boxes", "person", "mask", "params", "video", "frame")}
    dropped = 0
    for n, item in enumerate(items):
        v = vindex.get(item.video_id)
        rows = np.flatnonzero(table.video == v) if v is not None else np.zeros(0, int)
        if len(rows) == 0:
            continue
        kp_all = read_keypoints(root, item)  # (T, M, J, 3)
        frames = table.frame[rows]
        inside = frames < len(kp_all)
        dropped += int((~inside).sum())
        rows, frames = rows[inside], frames[inside]
        gt_person = table.boxes[rows, 0].astype(np.float64)
        cand = kp_all[frames]  # (R, M, J, 3)
        iou = box_iou_rows(np.repeat(gt_person, cand.shape[1], 0), _kp_boxes(cand, min_conf).reshape(-1, 4))
        iou = np.nan_to_num(iou.reshape(len(rows), cand.shape[1]))  # 0/0 (no skeleton) -> 0
        best = iou.argmax(1)
        ok = iou[np.arange(len(rows)), best] > 0.3
        dropped += int((~ok).sum())
        rows, frames, best, gt_person = rows[ok], frames[ok], best[ok], gt_person[ok]
        if len(rows) == 0:
            continue
        kps = cand[ok][np.arange(len(rows)), best]
        uniq, inv = np.unique(frames, return_inverse=True)
        images = read_frames(item.path, uniq)
        params = crop_params(gt_person, enlarge)
        crops = np.zeros((len(rows), size, size, 3), np.uint8)
        for f in range(len(uniq)):  # one frame's people at once
            sel = np.flatnonzero(inv == f)
            crops[sel] = crop_people(images[f], params[sel], size)
        boxes = to_crop(table.boxes[rows, 1:].astype(np.float64), params, size).clip(0, size)
        kp = kps.astype(np.float64).copy()
        kp[..., :2] = to_crop(kp[..., :2], params, size)
        mask = table.mask[rows] & (boxes[..., 2] - boxes[..., 0] >= 1) & (boxes[..., 3] - boxes[..., 1] >= 1)
        if writer is not None:
            writer.add_many(crops)
            crops = crops[:0]
        for k, a in zip(parts, (crops, kp, boxes, to_crop(gt_person, params, size), mask, params,
                                np.full(len(rows), n), frames)):
            parts[k].append(a)
        if progress:
            progress(n + 1, len(items))
    if not parts["keypoints"]:
        raise InputError("no annotated person with a matching skeleton (labels/V.npz keypoints)", file=root)
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return CropSet(cat["crops"], cat["keypoints"].astype(np.float32), cat["boxes"].astype(np.float32),
                   cat["person"].astype(np.float32), cat["mask"], cat["params"], cat["video"], cat["frame"],
                   [it.video_id for it in items], dropped)


class PartCrops(Dataset):
    """Samples ``(image uint8 (S, S, C), target)`` with target ``{"boxes" (K, 4), "labels" (K,) 1..10}`` of
    the present parts (crop pixels) and, for evaluation, ``"all" (10, 4)``, ``"mask" (10,)``, ``"geo"
    (10, 4)`` + ``"geo_valid"`` (geometric boxes from the same noisy keypoints), ``"params" (3,)``."""

    def __init__(self, cs: CropSet, mode: str = "dots", kp_noise: float = 1.5, train: bool = True, flip: float = 0.5,
                 seed: int = 0, min_conf: float = 0.3):
        self.cs, self.mode, self.kp_noise, self.train, self.flip = cs, mode, kp_noise, train, flip
        self.seed, self.min_conf, self.epoch = seed, min_conf, 0
        self.size = cs.crops.shape[1]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.cs)

    def sample(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Crop, noisy keypoints, part boxes, mask, person box of sample ``i`` (mirrored or not)."""
        cs = self.cs
        rng = np.random.default_rng([self.seed, self.epoch if self.train else 2**20, i])
        kp = cs.keypoints[i].copy()
        kp[:, :2] += rng.normal(0.0, self.kp_noise * self.size / cs.params[i, 2], (len(kp), 2))
        crop, boxes, mask, person = cs.crops[i], cs.boxes[i], cs.mask[i], cs.person[i]
        if self.train and self.flip > 0 and rng.random() < self.flip:
            crop, kp, boxes = flip_crop(crop, kp, boxes, PART_FLIP, JOINT_FLIP)
            mask = mask[PART_FLIP]
            person = np.array([self.size - person[2], person[1], self.size - person[0], person[3]], np.float32)
        return crop, kp, boxes, mask, person

    def __getitem__(self, i: int):
        crop, kp, boxes, mask, person = self.sample(i)
        image = draw_pose(crop, kp, self.mode, min_conf=self.min_conf)
        target = {"boxes": torch.from_numpy(boxes[mask].astype(np.float32)),
                  "labels": torch.from_numpy(np.flatnonzero(mask) + 1)}
        if not self.train:
            geo, valid, _ = part_boxes(kp[None], person[None], min_conf=self.min_conf,
                                       frame_size=(self.size, self.size))
            target.update(all=torch.from_numpy(boxes.astype(np.float32)), mask=torch.from_numpy(mask.copy()),
                          geo=torch.from_numpy(geo[0].astype(np.float32)), geo_valid=torch.from_numpy(valid[0]),
                          params=torch.from_numpy(self.cs.params[i].astype(np.float32)))
        return torch.from_numpy(np.array(image)), target  # a copy: the crops may be a read-only memmap


def collate_crops(batch: list) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """Stack the images ``(B, S, S, C)``; targets stay a list (one dict per crop)."""
    return torch.stack([b[0] for b in batch]), [b[1] for b in batch]


PART_LABELS = {name: k + 1 for k, name in enumerate(PARTS)}
"""Detector label of each part (0 is the background)."""

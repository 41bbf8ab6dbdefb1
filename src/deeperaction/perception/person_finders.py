"""Person boxes per frame behind one small interface: OpenCV HOG (offline default for small people) or a
torchvision detector loaded from a weights file. ``detector(rgb) -> (boxes (N, 4), scores (N,))``."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from deeperaction.errors import InputError


class PersonFinder(Protocol):
    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes ``(N, 4)`` x1, y1, x2, y2 in pixels of ``rgb`` and their scores ``(N,)``."""


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU ``(len(a), len(b))`` of x1, y1, x2, y2 boxes (continuous areas, no +1)."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def containment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))``: share of each box of ``a`` covered by each box of ``b``."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 1e-12, None).prod(-1)
    return inter / area_a[:, None]


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.4, contain: float = 0.8) -> np.ndarray:
    """Indices kept by greedy NMS (best first); a box mostly inside a kept one is also suppressed."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    boxes = np.asarray(boxes, float)[order]
    ov = iou_matrix(boxes, boxes)
    inside = containment(boxes, boxes)
    keep: list[int] = []
    alive = np.ones(len(boxes), bool)
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        keep.append(i)
        alive &= ~((ov[i] > iou) | (inside[:, i] > contain))
    return order[np.array(keep, dtype=np.int64)]


class HogPersonDetector:
    """OpenCV's default HOG + linear SVM people detector (Dalal-Triggs), run on an upscaled frame.

    Its window is 64x128, so people shorter than ~128/``upscale`` px are missed; ``upscale`` 1.5 finds
    pedestrians ~90 px tall. ``min_score`` is the SVM margin. Scores are mapped to (0, 1) by a logistic.
    """

    def __init__(self, upscale: float = 1.5, min_score: float = 0.0, win_stride: int = 8,
                 scale_step: float = 1.1, levels: int = 16, max_side: int = 1400):
        # window, block, block stride, cell, bins, ..., levels: OpenCV's defaults but fewer pyramid
        # levels (people taller than ~128 * 1.1^16 / upscale px are BlazePose's job anyway)
        self.hog = cv2.HOGDescriptor((64, 128), (16, 16), (8, 8), (8, 8), 9, 1, -1, 0, 0.2, True, int(levels))
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.upscale, self.min_score = float(upscale), float(min_score)
        self.win_stride, self.scale_step, self.max_side = int(win_stride), float(scale_step), int(max_side)

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = rgb.shape[:2]
        s = min(self.upscale, self.max_side / max(h, w))
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if s != 1.0:
            gray = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
        if gray.shape[0] < 128 or gray.shape[1] < 64:  # smaller than the window: nothing to find (and
            return np.zeros((0, 4)), np.zeros(0)        # OpenCV's detectMultiScale crashes on it)
        rects, weights = self.hog.detectMultiScale(gray, hitThreshold=self.min_score,
                                                   winStride=(self.win_stride,) * 2, padding=(8, 8),
                                                   scale=self.scale_step)
        if len(rects) == 0:
            return np.zeros((0, 4)), np.zeros(0)
        r = np.asarray(rects, float).reshape(-1, 4)
        boxes = np.column_stack([r[:, 0], r[:, 1], r[:, 0] + r[:, 2], r[:, 1] + r[:, 3]]) / s
        # the HOG window has a margin around the person: shrink it (64x128 window, person ~ 40x100)
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        bw, bh = (boxes[:, 2] - boxes[:, 0]) * 0.62, (boxes[:, 3] - boxes[:, 1]) * 0.82
        boxes = np.column_stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
        scores = 1.0 / (1.0 + np.exp(-np.asarray(weights, float).reshape(-1)))
        keep = nms(boxes, scores, 0.3)
        return boxes[keep], scores[keep]


class TorchvisionPersonDetector:
    """A torchvision Faster R-CNN (ResNet-50 FPN, COCO labels: person = 1) from a local weights file."""

    def __init__(self, weights: str | Path, device: str = "cpu", min_score: float = 0.5):
        import torch
        from torchvision.models.detection import fasterrcnn_resnet50_fpn

        weights = Path(weights)
        if not weights.is_file():
            raise InputError("no such detector weights file", file=weights)
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            state = state.get("model", state) if isinstance(state, dict) else state
            model = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
            model.load_state_dict(state)
        except Exception as e:  # noqa: BLE001 - any load failure is the user's file
            raise InputError(f"cannot load as torchvision fasterrcnn_resnet50_fpn weights ({e})",
                             file=weights) from None
        self.model = model.eval().to(device)
        self.device, self.min_score, self._torch = device, float(min_score), torch

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = self._torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div(255)
        with self._torch.inference_mode():
            out = self.model([t.to(self.device)])[0]
        keep = (out["labels"] == 1) & (out["scores"] >= self.min_score)
        return out["boxes"][keep].cpu().numpy().astype(float), out["scores"][keep].cpu().numpy().astype(float)


def load_detector(spec: str | None, device: str = "cpu") -> PersonFinder | None:
    """``"hog"`` (default helper for small people), ``"hog+"`` (finer: 1.8x upscale, finds ~90 px tall
    people better, half the speed), ``"none"``/None (BlazePose's own detector only), or a path to
    torchvision Faster R-CNN weights."""
    if spec in (None, "", "none"):
        return None
    if spec == "hog":
        return HogPersonDetector()
    if spec == "hog+":
        return HogPersonDetector(upscale=1.8)
    return TorchvisionPersonDetector(spec, device=device)

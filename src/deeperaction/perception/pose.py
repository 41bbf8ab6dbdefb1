"""2D pose of several people per frame, mapped onto ``schema.JOINTS`` (offline default: BlazePose full).

:class:`MediapipePose` runs mediapipe's Tasks PoseLandmarker (its own person detector + landmarks) on the
whole frame, and on crops around boxes from another detector for people too small for BlazePose's
detector. Any object with the :class:`PoseModel` methods can replace it.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from deeperaction.perception import mediapipe_bundle
from deeperaction.schema import JOINTS

# BlazePose's 33 landmarks -> schema.JOINTS: one index, or several to average (hand = index+pinky,
# neck = the two shoulders). BlazePose's "left" is the person's left, as in schema.JOINTS.
MP33_TO_JOINTS: dict[str, tuple[int, ...]] = {
    "nose": (0,), "left_ear": (7,), "right_ear": (8,), "neck": (11, 12),
    "left_shoulder": (11,), "right_shoulder": (12,), "left_elbow": (13,), "right_elbow": (14,),
    "left_wrist": (15,), "right_wrist": (16,), "left_hand": (17, 19), "right_hand": (18, 20),
    "left_hip": (23,), "right_hip": (24,), "left_knee": (25,), "right_knee": (26,),
    "left_ankle": (27,), "right_ankle": (28,), "left_foot": (31,), "right_foot": (32,),
}
_MAP = np.zeros((len(JOINTS), 33))
for _j, _name in enumerate(JOINTS):
    _MAP[_j, list(MP33_TO_JOINTS[_name])] = 1.0 / len(MP33_TO_JOINTS[_name])
CORE_JOINTS = [JOINTS.index(n) for n in ("nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip")]


@dataclass
class PoseResult:
    """One person's pose: ``keypoints (J, 3)`` x, y (pixels), confidence in ``schema.JOINTS`` order."""

    keypoints: np.ndarray
    score: float

    @property
    def box(self) -> np.ndarray:
        """Bounding box of the keypoints with confidence >= 0.3 (all keypoints if none is)."""
        kp = self.keypoints
        ok = kp[:, 2] >= 0.3
        pts = kp[ok, :2] if ok.any() else kp[:, :2]
        return np.concatenate([pts.min(0), pts.max(0)])


class PoseModel(Protocol):
    """What the parse pipeline needs from a pose model."""

    def detect(self, rgb: np.ndarray) -> list[PoseResult]:
        """All people found in the whole frame."""

    def in_boxes(self, rgb: np.ndarray, boxes: np.ndarray, pad: float = 0.25,
                 mask_grow: float | None = 0.15) -> list[PoseResult | None]:
        """The pose of the person in each box (None where none is found), from a square crop around it grown
        by ``pad``, the columns beyond ``mask_grow`` x its width from the box masked (None: none)."""


def mp33_to_joints(lm: np.ndarray, width: float, height: float) -> np.ndarray:
    """BlazePose landmarks ``(33, 4)`` normalized x, y, visibility, presence -> ``(J, 3)`` pixels + conf."""
    xy = _MAP @ (lm[:, :2] * np.array([width, height]))
    conf = np.minimum(lm[:, 2], lm[:, 3])
    # a joint averaged from several landmarks is as confident as the weakest of them
    jconf = np.array([conf[list(MP33_TO_JOINTS[n])].min() for n in JOINTS])
    # BlazePose extrapolates joints outside the image (close-ups) with high visibility: not seen
    outside = (xy[:, 0] < -0.02 * width) | (xy[:, 0] > 1.02 * width) | (xy[:, 1] < -0.02 * height) | \
              (xy[:, 1] > 1.02 * height)
    return np.column_stack([xy, np.where(outside, 0.0, jconf)])


def crop_square(box: np.ndarray, pad: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer square crop around ``box`` enlarged by ``pad`` (fraction of its longer side), clipped."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = max(box[2] - box[0], box[3] - box[1]) * (1 + 2 * pad)
    x1, y1 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x2, y2 = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


def mask_beside(crop: np.ndarray, box: np.ndarray, x0: int, grow: float) -> np.ndarray:
    """A copy of ``crop`` (whose left column is ``x0`` in the frame) with the columns left and right of
    ``box`` grown by ``grow`` x its width painted in the crop's mean colour (the crop itself if none is)."""
    bw = box[2] - box[0]
    a = int(np.clip(np.floor(box[0] - grow * bw) - x0, 0, crop.shape[1]))
    b = int(np.clip(np.ceil(box[2] + grow * bw) - x0, a, crop.shape[1]))
    if a == 0 and b == crop.shape[1]:
        return crop
    out = crop.copy()
    mean = crop.reshape(-1, crop.shape[-1]).mean(0).astype(crop.dtype)
    out[:, :a] = mean
    out[:, b:] = mean
    return out


@contextmanager
def quiet_stderr():
    """Silence C++ log lines written to fd 2 (mediapipe's EGL/feedback-tensor notices) for a moment."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class MediapipePose:
    """BlazePose full (mediapipe 0.10.21 wheel, offline) for several people; CPU, XNNPACK.

    ``num_poses``: most people per frame; ``min_detection``/``min_presence``: BlazePose's thresholds;
    ``crop_size``: crops around boxes from another detector are resized to this many pixels (square).
    """

    def __init__(self, num_poses: int = 10, min_detection: float = 0.5, min_presence: float = 0.5,
                 crop_size: int = 256, task_path: str | Path | None = None):
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        path = str(task_path or mediapipe_bundle.pose_task_path())

        def make(n: int):
            opts = vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=path), running_mode=vision.RunningMode.IMAGE,
                num_poses=n, min_pose_detection_confidence=min_detection,
                min_pose_presence_confidence=min_presence, min_tracking_confidence=min_presence)
            return vision.PoseLandmarker.create_from_options(opts)

        self._warm: set[int] = set()
        with quiet_stderr():  # creation and the first inference print C++ notices that are no concern
            self._multi = make(max(1, int(num_poses)))
            self._single = make(1)
            blank = np.zeros((64, 64, 3), np.uint8)
            self._run(self._multi, blank)
            self._run(self._single, blank)
        self.crop_size = int(crop_size)

    def _run(self, landmarker, rgb: np.ndarray) -> list[PoseResult]:
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if id(landmarker) in self._warm:
            res = landmarker.detect(image)
        else:  # until a first pose is found, mediapipe may print one-time notices
            with quiet_stderr():
                res = landmarker.detect(image)
            if res.pose_landmarks:
                self._warm.add(id(landmarker))
        h, w = rgb.shape[:2]
        out = []
        for pose in res.pose_landmarks:
            lm = np.array([(p.x, p.y, p.visibility or 0.0, p.presence or 0.0) for p in pose], dtype=np.float64)
            kp = mp33_to_joints(lm, w, h)
            out.append(PoseResult(kp, float(kp[CORE_JOINTS, 2].mean())))
        return out

    def detect(self, rgb: np.ndarray) -> list[PoseResult]:
        return self._run(self._multi, rgb)

    def in_boxes(self, rgb: np.ndarray, boxes: np.ndarray, pad: float = 0.25,
                 mask_grow: float | None = 0.15) -> list[PoseResult | None]:
        """The pose in a square crop around each box. With ``mask_grow``, the crop's columns farther than
        that share of the box width from the box are painted with the crop's mean colour: a neighbour
        walking beside the person is then not the pose found (on vtest.avi: 86 of 97 HOG boxes get their
        own pose, against 68 unmasked). None: the plain crop."""
        import cv2

        h, w = rgb.shape[:2]
        out: list[PoseResult | None] = []
        for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
            x1, y1, x2, y2 = crop_square(box, pad, w, h)
            crop = rgb[y1:y2, x1:x2]
            if mask_grow is not None:
                crop = mask_beside(crop, box, x1, mask_grow)
            scale = self.crop_size / max(crop.shape[:2])
            if scale != 1.0:
                crop = cv2.resize(crop, None, fx=scale, fy=scale,
                                  interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
            found = self._run(self._single, crop)
            if not found:
                out.append(None)
                continue
            kp = found[0].keypoints.copy()
            kp[:, :2] = kp[:, :2] / scale + (x1, y1)
            out.append(PoseResult(kp, found[0].score))
        return out

    def close(self) -> None:
        self._multi.close()
        self._single.close()

"""Pose guidance for the part detector (2nd-place Kinetics-TPS report): square person crops and the
person's keypoints drawn onto the crop, as coloured dots + limbs or as extra Gaussian heatmap channels.

numpy + OpenCV only (no torch), shared by the training crops and the parse-time predictor, so both see
exactly the same pictures. Crop geometry: a square of side ``(1 + enlarge) x max(box w, box h)`` centred
on the person box (zero padding outside the frame), resized to ``size x size``.
"""
from __future__ import annotations

import cv2
import numpy as np

from deeperaction.schema import JOINT_INDEX, JOINTS, SKELETON_EDGES

MODES = ("dots", "heatmaps", "none")
"""How keypoints reach the detector: drawn dots + limbs (3 channels), J heatmap channels, or not at all."""


def _joint_colours() -> np.ndarray:
    """``(J, 3)`` uint8 RGB: evenly spaced saturated hues, interleaved so neighbours (left/right) differ."""
    n = len(JOINTS)
    hsv = np.zeros((1, n, 3), np.uint8)
    hsv[0, :, 0] = (np.arange(n) * 3 % n) * 180 // n  # consecutive joints 3/J of the hue circle apart
    hsv[0, :, 1:] = 255
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0]


JOINT_COLOURS: np.ndarray = _joint_colours()
"""Fixed RGB colour of each joint of ``schema.JOINTS`` (the detector learns which colour is which joint)."""
EDGES = np.array([(JOINT_INDEX[a], JOINT_INDEX[b]) for a, b in SKELETON_EDGES])


def in_channels(mode: str) -> int:
    """Input channels of the detector for a pose ``mode``."""
    if mode not in MODES:
        raise ValueError(f"pose mode must be one of {', '.join(MODES)}, got {mode!r}")
    return 3 + len(JOINTS) if mode == "heatmaps" else 3


def crop_params(boxes: np.ndarray, enlarge: float = 0.1) -> np.ndarray:
    """``(P, 3)`` crop squares ``x0, y0, side`` (frame pixels) of person ``boxes (P, 4)``."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    side = np.maximum(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * (1 + enlarge), 2.0)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    return np.stack([cx - side / 2, cy - side / 2, side], 1)


def to_crop(xy: np.ndarray, params: np.ndarray, size: int) -> np.ndarray:
    """Points or boxes ``(P, ..., 2k)`` (x, y interleaved) from frame to crop pixels of each person."""
    p = params.reshape(len(params), *([1] * (xy.ndim - 1)), 3)
    out = np.array(xy, np.float64, copy=True)
    s = size / p[..., 2]
    out[..., 0::2] = (out[..., 0::2] - p[..., 0]) * s
    out[..., 1::2] = (out[..., 1::2] - p[..., 1]) * s
    return out


def from_crop(xy: np.ndarray, params: np.ndarray, size: int) -> np.ndarray:
    """Inverse of :func:`to_crop`: crop pixels back to frame pixels."""
    p = params.reshape(len(params), *([1] * (xy.ndim - 1)), 3)
    out = np.array(xy, np.float64, copy=True)
    s = p[..., 2] / size
    out[..., 0::2] = out[..., 0::2] * s + p[..., 0]
    out[..., 1::2] = out[..., 1::2] * s + p[..., 1]
    return out


def crop_people(frame: np.ndarray, params: np.ndarray, size: int) -> np.ndarray:
    """``(P, size, size, 3)`` uint8 crops of ``frame (H, W, 3)`` at ``params`` (zero outside the frame)."""
    out = np.zeros((len(params), size, size, frame.shape[2]), np.uint8)
    for i, (x0, y0, side) in enumerate(params):  # one warp per person (P is small)
        s = size / side
        m = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]], np.float64)
        out[i] = cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                borderValue=0)
    return out


def flip_crop(crop: np.ndarray, keypoints: np.ndarray, boxes: np.ndarray, part_flip: list[int],
              joint_flip: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mirror a crop ``(S, S, C)`` with its keypoints ``(J, 3)`` and part boxes ``(K, 4)`` (crop pixels):
    x mirrored, left/right joints and left/right parts swapped (``*_flip`` index lists)."""
    w = crop.shape[1]
    kp = keypoints[joint_flip].copy()
    kp[:, 0] = w - kp[:, 0]
    b = boxes[part_flip].copy()
    b[:, [0, 2]] = w - boxes[part_flip][:, [2, 0]]
    return np.ascontiguousarray(crop[:, ::-1]), kp, b


def dot_radius(size: int) -> int:
    """Joint dot radius for a crop side: ~ size / 60, at least 1 pixel."""
    return max(1, round(size / 60))


def draw_pose(crop_rgb: np.ndarray, keypoints_in_crop: np.ndarray, mode: str = "dots", *, min_conf: float = 0.3,
              radius: int | None = None, sigma: float | None = None) -> np.ndarray:
    """The crop with the pose drawn on it: ``dots`` -> ``(H, W, 3)`` uint8, each confident joint a filled
    circle of its :data:`JOINT_COLOURS` colour over thin anti-aliased limb lines; ``heatmaps`` -> ``(H, W,
    3 + J)`` uint8, the crop then one Gaussian (peak 255, ``sigma`` ~ size / 40) per joint (zero if not
    confident); ``none`` -> the crop unchanged."""
    h, w = crop_rgb.shape[:2]
    kp = np.asarray(keypoints_in_crop, np.float64).reshape(len(JOINTS), 3)
    ok = (kp[:, 2] >= min_conf) & np.isfinite(kp[:, :2]).all(1)
    if mode == "none":
        return crop_rgb
    if mode == "heatmaps":
        s = sigma if sigma is not None else max(1.0, min(h, w) / 40)
        xy = np.where(ok[:, None], kp[:, :2], -1e6)
        gx = np.exp(-((np.arange(w)[None] - xy[:, :1]) ** 2) / (2 * s * s))  # (J, W)
        gy = np.exp(-((np.arange(h)[None] - xy[:, 1:2]) ** 2) / (2 * s * s))  # (J, H)
        hm = np.einsum("jh,jw->hwj", gy, gx)
        return np.concatenate([crop_rgb, np.round(hm * 255).astype(np.uint8)], 2)
    if mode != "dots":
        raise ValueError(f"pose mode must be one of {', '.join(MODES)}, got {mode!r}")
    out = np.ascontiguousarray(crop_rgb.copy())
    r = radius if radius is not None else dot_radius(min(h, w))
    shift = 4  # sub-pixel positions (cv2 fixed point, 1/16 px)
    pts = np.round(np.nan_to_num(kp[:, :2]) * (1 << shift)).clip(-2**28, 2**28).astype(np.int64)
    for a, b in EDGES[ok[EDGES].all(1)]:
        colour = ((JOINT_COLOURS[a].astype(int) + JOINT_COLOURS[b]) // 2).tolist()
        cv2.line(out, tuple(pts[a].tolist()), tuple(pts[b].tolist()), colour, 1, cv2.LINE_AA, shift)
    for j in np.flatnonzero(ok):
        cv2.circle(out, tuple(pts[j].tolist()), r << shift, JOINT_COLOURS[j].tolist(), -1, cv2.LINE_AA, shift)
    return out

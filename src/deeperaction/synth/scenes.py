"""Procedural scenes: textured backgrounds with clutter, moving distractors, camera pan/zoom, lighting,
blur and noise, with difficulty presets.

The background is painted once per video on a canvas larger than the frame; the camera is a per-frame
similarity (pan + zoom) from canvas to frame, applied to the background and to the people alike.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np


@dataclass(frozen=True)
class Preset:
    """Difficulty knobs (units noted)."""

    people: tuple[int, int]     # people per video, inclusive range (stad)
    clutter: int                # background clutter shapes
    distractors: int            # moving objects in front of the background
    pan: float                  # camera pan amplitude, fraction of frame width
    zoom: float                 # camera zoom amplitude, fraction (0.1 = +-10 %)
    light: float                # lighting gain amplitude over time
    blur: float                 # Gaussian blur sigma (px), 0 = none
    noise: float                # pixel noise sigma (0-255 scale)
    style: float                # per-angle motion style noise (deg)
    walkers: float = 0.0        # stad: share of people who walk or run through in any direction (a street)
    horizon: tuple[float, float] = (0.3, 0.5)     # the horizon's row, fraction of the canvas height (drawn)
    elevation: tuple[float, float] = (0.0, 0.0)   # degrees the camera looks down on the people (drawn per video)
    lively: bool = False        # idle people talk with their hands, fold their arms, turn to others, shift weight
    stops: float = 0.0          # stad: share of walkers who stop on their way for 1.5-5 s, then walk on


_STREET = Preset((2, 5), 12, 2, 0.06, 0.06, 0.12, 0.0, 3.0, 3.0, walkers=0.6)
_OVERHEAD = replace(_STREET, horizon=(0.05, 0.2), elevation=(20.0, 50.0))

PRESETS: dict[str, Preset] = {
    "easy": Preset((1, 2), 4, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0),
    "default": Preset((1, 4), 12, 2, 0.06, 0.06, 0.12, 0.0, 3.0, 3.0),
    "hard": Preset((2, 6), 25, 4, 0.12, 0.12, 0.25, 0.8, 8.0, 5.0),
    # default's scene, with most people walking or running toward, away from or across the camera
    "street": _STREET,
    # street's people seen from above, as a surveillance camera sees them (OpenCV's vtest.avi): the horizon
    # near the top, a stride toward the camera shows as one foot lower in the frame than the other
    "overhead": _OVERHEAD,
    # overhead's scene as people use a square: walkers stop on their way and walk on, and nobody idles at
    # attention: between their actions people talk with their hands, fold their arms, turn to one another
    "plaza": replace(_OVERHEAD, lively=True, stops=0.5),
}

MARGIN = 1.3
"""Canvas size relative to the frame (room for pan and zoom)."""


def canvas_size(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of the background canvas for a frame ``size``."""
    return int(size[0] * MARGIN), int(size[1] * MARGIN)


def paint_background(rng: np.random.Generator, size: tuple[int, int], clutter: int, horizon: float) -> np.ndarray:
    """A canvas ``(H*MARGIN, W*MARGIN, 3)`` with wall above the ``horizon`` row, floor below, and clutter."""
    w, h = canvas_size(size)
    wall, floor = rng.integers(60, 230, 3), rng.integers(40, 200, 3)
    y = np.arange(h, dtype=np.float32)[:, None, None]
    grad = np.where(y < horizon, wall * (0.85 + 0.3 * y / h), floor * (0.7 + 0.5 * (y - horizon) / h))
    img = np.broadcast_to(grad, (h, w, 3)).astype(np.float32).copy()
    small = rng.normal(0, 1, (h // 8 + 1, w // 8 + 1, 1)).astype(np.float32)
    tex = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[..., None] * rng.uniform(4, 14)
    fine = rng.normal(0, rng.uniform(2, 6), (h, w, 1)).astype(np.float32)
    img = np.clip(img + tex + fine, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:  # floor tiles in perspective
        col = tuple(int(c) for c in np.clip(floor * 0.7, 0, 255))
        for k in range(-12, 13):
            cv2.line(img, (int(w / 2 + k * w / 12), h), (int(w / 2 + k * w / 60), int(horizon)), col, 1, cv2.LINE_AA)
        for k in range(1, 8):
            yy = int(horizon + (h - horizon) * (k / 8) ** 1.8)
            cv2.line(img, (0, yy), (w, yy), col, 1, cv2.LINE_AA)
    for _ in range(clutter):  # posters, shelves, plants, boxes
        c = tuple(int(v) for v in rng.integers(0, 255, 3))
        x0, y0 = int(rng.uniform(0, w)), int(rng.uniform(0, horizon * 1.1))
        bw, bh = int(rng.uniform(0.03, 0.15) * w), int(rng.uniform(0.05, 0.3) * h)
        kind = rng.integers(3)
        if kind == 0:
            cv2.rectangle(img, (x0, y0), (x0 + bw, y0 + bh), c, -1, cv2.LINE_AA)
            cv2.rectangle(img, (x0, y0), (x0 + bw, y0 + bh), tuple(v // 2 for v in c), 2, cv2.LINE_AA)
        elif kind == 1:
            cv2.ellipse(img, (x0, y0), (bw // 2 + 1, bh // 3 + 1), 0, 0, 360, c, -1, cv2.LINE_AA)
        else:
            pts = np.array([[x0, y0], [x0 + bw, y0 + bh // 3], [x0 + bw // 2, y0 + bh]], np.int32)
            cv2.fillConvexPoly(img, pts, c, cv2.LINE_AA)
    return img


def camera_path(rng: np.random.Generator, T: int, fps: float, size: tuple[int, int], preset: Preset) -> np.ndarray:
    """Per-frame 2x3 affine maps canvas -> frame, ``(T, 2, 3)``: slow smooth pan and zoom."""
    w, h = size
    t = np.arange(T) / fps
    def wander(amp):
        f, ph = rng.uniform(0.03, 0.12, 2), rng.uniform(0, 2 * np.pi, 2)
        return amp * 0.5 * (np.sin(2 * np.pi * f[0] * t + ph[0]) + np.sin(2 * np.pi * f[1] * t + ph[1]))
    zoom = 1.0 + wander(preset.zoom) + preset.zoom
    cx = w * MARGIN / 2 + wander(preset.pan * w)
    cy = h * MARGIN / 2 + wander(preset.pan * h * 0.3)
    M = np.zeros((T, 2, 3))
    M[:, 0, 0] = M[:, 1, 1] = zoom
    M[:, 0, 2] = w / 2 - zoom * cx
    M[:, 1, 2] = h / 2 - zoom * cy
    return M


def apply_affine(M: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to points ``(..., 2)``."""
    return pts @ M[:, :2].T + M[:, 2]


@dataclass
class Distractor:
    """A moving object (ball, box, frisbee) crossing the frame: position is linear + bounce in time."""

    p0: np.ndarray
    v: np.ndarray
    r: float
    colour: tuple[int, int, int]
    kind: int
    front: bool

    def draw(self, img: np.ndarray, t: float) -> None:
        h, w = img.shape[:2]
        p = self.p0 + self.v * t
        p = np.array([np.mod(p[0], w + 4 * self.r) - 2 * self.r, p[1] - abs(np.sin(3 * t)) * self.r * 2])
        c = (int(p[0] * 16), int(p[1] * 16))
        if self.kind == 0:
            cv2.circle(img, c, int(self.r * 16), self.colour, -1, cv2.LINE_AA, 4)
        else:
            cv2.ellipse(img, c, (int(self.r * 16), int(self.r * 10)), float(t * 90 % 360), 0, 360, self.colour, -1,
                        cv2.LINE_AA, 4)


def make_distractors(rng: np.random.Generator, n: int, size: tuple[int, int]) -> list[Distractor]:
    """``n`` random moving distractors for a frame of ``size``."""
    w, h = size
    return [Distractor(np.array([rng.uniform(0, w), rng.uniform(0.2 * h, 0.9 * h)]),
                       np.array([rng.choice([-1, 1]) * rng.uniform(0.1, 0.5) * w, 0.0]),
                       rng.uniform(0.015, 0.04) * min(w, h) + 1, tuple(int(c) for c in rng.integers(0, 255, 3)),
                       int(rng.integers(2)), bool(rng.random() < 0.3)) for _ in range(n)]


def lighting(rng: np.random.Generator, T: int, fps: float, amp: float) -> np.ndarray:
    """Per-frame brightness gain ``(T,)``: a slow global change (the tint is in the background colours)."""
    t = np.arange(T) / fps
    return 1.0 + amp * np.sin(2 * np.pi * rng.uniform(0.02, 0.1) * t + rng.uniform(0, 6.3))


def noise_bank(rng: np.random.Generator, size: tuple[int, int], sigma: float, n: int = 4) -> list[np.ndarray]:
    """A few pre-drawn int16 noise frames, cycled and shifted per frame (cheap per-frame noise)."""
    if sigma <= 0:
        return []
    w, h = size
    return [rng.normal(0, sigma, (h, w, 3)).astype(np.int16) for _ in range(n)]

"""A toy action set for tests, smoke runs and benchmarks: a square (and a stick figure's keypoints) moving
right, left, down or up — the direction is the class. Written in the Kinetics-TPS layout when asked, so
the real data path (videos, ``gt_vid_result.json``, ``keypoints/``, clip cache) runs on it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from deeperaction.schema import JOINTS

TOY_CLASSES = ("move_right", "move_left", "move_down", "move_up")
DIRECTIONS = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], dtype=np.float64)

# a standing figure in a unit box (x right, y down), one row per joint of schema.JOINTS
_POSE = np.array([[0.5, 0.08], [0.45, 0.07], [0.55, 0.07], [0.5, 0.2], [0.38, 0.22], [0.62, 0.22],
                  [0.33, 0.38], [0.67, 0.38], [0.31, 0.52], [0.69, 0.52], [0.30, 0.57], [0.70, 0.57],
                  [0.42, 0.55], [0.58, 0.55], [0.41, 0.75], [0.59, 0.75], [0.40, 0.93], [0.60, 0.93],
                  [0.37, 0.98], [0.63, 0.98]])
assert len(_POSE) == len(JOINTS)


def moving_squares(n: int, frames: int = 8, size: int = 32, seed: int = 0, speed: float = 1.5,
                   width: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` clips ``(n, frames, size, width, 3)`` uint8, labels ``(n,)`` and the square's centre track
    ``(n, frames, 2)``; background is dark noise, the square a bright random colour."""
    rng = np.random.default_rng(seed)
    width = width or size
    labels = rng.integers(0, len(TOY_CLASSES), n)
    side = max(4, size // 4)
    clips = rng.integers(0, 60, (n, frames, size, width, 3), dtype=np.uint8)
    start = rng.uniform(side, [width - 2 * side, size - 2 * side], (n, 2))
    track = start[:, None] + DIRECTIONS[labels][:, None] * speed * np.arange(frames)[None, :, None]
    track = np.clip(track, 0, [width - side, size - side])
    colour = rng.integers(150, 256, (n, 3), dtype=np.uint8)
    ys, xs = np.arange(size)[None, None, :, None], np.arange(width)[None, None, None, :]
    x0 = np.round(track[..., 0])[..., None, None]
    y0 = np.round(track[..., 1])[..., None, None]
    mask = (xs >= x0) & (xs < x0 + side) & (ys >= y0) & (ys < y0 + side)  # (n, T, H, W)
    clips[mask] = np.repeat(colour, frames * side * side, axis=0)  # C order: clip by clip, side*side each
    return clips, labels, track + side / 2


def toy_keypoints(track: np.ndarray, height: float, noise: float = 0.5, seed: int = 0) -> np.ndarray:
    """A stick figure ``height`` pixels tall following ``track (T, 2)``: ``(T, J, 3)`` x, y, 1."""
    rng = np.random.default_rng(seed)
    pose = (_POSE - [0.5, 0.5]) * height
    xy = track[:, None, :] + pose[None] + rng.normal(0, noise, (len(track), len(JOINTS), 2))
    return np.concatenate([xy, np.ones((len(track), len(JOINTS), 1))], axis=-1).astype(np.float32)


def write_toy_tps(out: str | Path, n_videos: int, frames: int = 24, size: tuple[int, int] = (64, 80),
                  seed: int = 0, fps: float = 25.0, speed: float = 1.0) -> Path:
    """Write ``n_videos`` toy videos in the Kinetics-TPS layout under ``out``: ``videos/V.mp4``,
    ``gt_vid_result.json`` and ``keypoints/V.npy`` ``(T, 1, J, 3)``. Returns ``out``."""
    from deeperaction.video.writer import VideoWriter  # noqa: PLC0415 - only the writer needs PyAV encode

    out = Path(out)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    (out / "keypoints").mkdir(exist_ok=True)
    h, w = size
    clips, labels, tracks = moving_squares(n_videos, frames, h, seed, speed, width=w)
    actions = {}
    for i in range(n_videos):
        vid = f"toy_{i:05d}"
        with VideoWriter(out / "videos" / f"{vid}.mp4", fps=fps, size=(w, h)) as wr:
            for frame in clips[i]:
                wr.write(frame)
        np.save(out / "keypoints" / f"{vid}.npy", toy_keypoints(tracks[i], h / 4, seed=seed + i)[:, None])
        actions[vid] = TOY_CLASSES[labels[i]]
    (out / "gt_vid_result.json").write_text(json.dumps(actions, indent=1))
    return out

"""MoSI pseudo-motion clips (Huang et al., CVPR 2021, "Self-supervised motion learning from static images"):
a window slides over one still image at a sampled speed and direction, and a video network learns to tell
which, learning motion before it ever sees a labelled video.

Classes: ``static`` and 4 directions x 2 speeds of the window (``left_slow`` ... ``down_fast``; the image
content moves the other way). Speeds are the window's travel over the clip as a share of its side. With the
static mask, only a random rectangle of the clip moves; the rest stays the first window (the model must
find the moving region). Images: frames of fresh synthetic videos rendered on the fly, or a folder of images.
Item ``i`` is a function of ``(seed, i)``.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from deeperaction.errors import InputError

DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
SPEEDS = {"slow": 0.25, "fast": 0.6}  # window travel over the clip, share of the window side
MOSI_CLASSES = ["static"] + [f"{d}_{s}" for d in DIRECTIONS for s in SPEEDS]
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def class_motion(name: str) -> tuple[int, int, float]:
    """``(dx, dy, travel)`` of a class: direction unit steps and the travel share (0 for static)."""
    if name == "static":
        return 0, 0, 0.0
    d, s = name.split("_")
    return (*DIRECTIONS[d], SPEEDS[s])


def pseudo_motion(image: np.ndarray, name: str, size: int, clip_len: int, rng: np.random.Generator,
                  mask: bool = False) -> np.ndarray:
    """``(T, size, size, 3)`` uint8: a ``size`` window sliding over ``image`` as class ``name`` says (the image is
    resized so the whole path fits); ``mask``: only a random rectangle moves."""
    dx, dy, travel = class_motion(name)
    span = size * (1 + max(SPEEDS.values()))
    h, w = image.shape[:2]
    s = span / min(h, w) * rng.uniform(1.0, 1.3)
    img = cv2.resize(image, (max(int(np.ceil(w * s)), int(span) + 1), max(int(np.ceil(h * s)), int(span) + 1)),
                     interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    h, w = img.shape[:2]
    dist = travel * size
    x0 = rng.uniform(max(0, -dx * dist), w - size - max(0, dx * dist))
    y0 = rng.uniform(max(0, -dy * dist), h - size - max(0, dy * dist))
    t = np.linspace(0, 1, clip_len)
    frames = []
    for k in range(clip_len):  # sub-pixel windows through an affine warp
        m = np.array([[1, 0, -(x0 + dx * dist * t[k])], [0, 1, -(y0 + dy * dist * t[k])]], np.float32)
        frames.append(cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    clip = np.stack(frames)
    if mask and travel > 0:
        mh, mw = (rng.uniform(0.4, 0.8, 2) * size).astype(int)
        my, mx = int(rng.integers(0, size - mh + 1)), int(rng.integers(0, size - mw + 1))
        still = np.repeat(clip[:1], clip_len, 0)
        still[:, my:my + mh, mx:mx + mw] = clip[:, my:my + mh, mx:mx + mw]
        clip = still
    return clip


class ImageSource:
    """Still images for MoSI: ``folder`` (any images in it, recursively) or ``"synth"`` (frames of ``pool``
    synthetic videos of ``seed``, rendered once per process on first use)."""

    def __init__(self, folder: str | Path = "synth", preset: str = "default", size: tuple[int, int] = (320, 240),
                 pool: int = 256, seed: int = 0):
        self.folder, self.preset, self.size, self.pool, self.seed = str(folder), preset, size, pool, seed
        self._frames: list[np.ndarray] = []  # synthetic frames, rendered once per process on first use
        self.files: list[Path] = []
        if self.folder != "synth":
            root = Path(folder)
            if not root.is_dir():
                raise InputError("no such folder of images", file=root)
            self.files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self.files:
                raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in this folder", file=root)

    def image(self, rng: np.random.Generator) -> np.ndarray:
        if self.files:
            path = self.files[int(rng.integers(len(self.files)))]
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                raise InputError("not a readable image", file=path)
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if not self._frames:
            self._frames = [self._render(k) for k in range(self.pool)]
        return self._frames[int(rng.integers(len(self._frames)))]

    def _render(self, k: int) -> np.ndarray:
        """Frame of synthetic video ``k`` of this source's seed (deterministic)."""
        from deeperaction.synth import make_spec
        from deeperaction.synth.video import Scene

        rng = np.random.default_rng([self.seed, k])
        spec = make_spec(str(rng.choice(["tps", "stad"])), k, self.seed, size=self.size, preset=self.preset,
                         duration=(1.0, 2.0))
        return Scene(spec).frame(int(rng.integers(spec.n_frames)))


class MosiClips(Dataset):
    """Pseudo-motion clips ``(T, size, size, 3)`` uint8 and their class id (balanced over the classes);
    ``test=True`` gives ``(1, T, size, size, 3)`` (one test clip)."""

    def __init__(self, source: ImageSource, *, size: int = 112, clip_len: int = 8, seed: int = 0, length: int = 10_000,
                 mask: float = 0.5, test: bool = False):
        self.source, self.size, self.clip_len, self.seed = source, size, clip_len, seed
        self.length, self.mask, self.test = length, mask, test

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        if not self.test:
            self.seed = self.seed - 7919 * getattr(self, "_epoch", 0) + 7919 * epoch
            self._epoch = epoch

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        rng = np.random.default_rng([self.seed, i])
        label = int(rng.integers(len(MOSI_CLASSES)))
        clip = pseudo_motion(self.source.image(rng), MOSI_CLASSES[label], self.size, self.clip_len, rng,
                             mask=bool(rng.random() < self.mask))
        x = torch.from_numpy(clip)
        return (x[None] if self.test else x), label

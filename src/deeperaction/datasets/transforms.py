"""Augmentation on the device, batched: uint8 clips in, normalised float clips out (random resized crop,
flip, colour jitter in one affine resample), plus horizontal flips of keypoints and parts that swap left
and right. Randomness comes from an explicit ``torch.Generator`` so a step can be repeated exactly."""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from deeperaction.schema import JOINT_INDEX, JOINTS, LEFT_RIGHT_PARTS, PartDet

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
"""Normalisation of torchvision's Kinetics-400 video models."""


def _swap_index(names: tuple[str, ...]) -> list[int]:
    idx = {n: i for i, n in enumerate(names)}
    swap = {"left_": "right_", "right_": "left_"}
    out = []
    for n in names:
        for a, b in swap.items():
            if n.startswith(a):
                n = b + n[len(a):]
                break
        out.append(idx[n])
    return out


JOINT_FLIP: list[int] = _swap_index(JOINTS)
"""``kp[..., JOINT_FLIP, :]`` swaps left and right joints (used with a mirrored x)."""


@functools.lru_cache(maxsize=64)
def device_constant(values: tuple, device: torch.device | str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A small constant tensor on ``device``, made once: ``torch.tensor(values, device=cuda)`` copies from
    pageable memory and synchronises the stream, which would stall the training loop every step."""
    return torch.tensor(values, dtype=dtype).to(device)


def _uniform(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen, device=gen.device)


def normalize_clips(clips: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, T, H, W, 3)`` -> float ``(B, 3, T, H, W)`` with the Kinetics mean/std, uncropped (part boxes
    keep their pixel coordinates): the input of the part-state models, in training and in parse alike."""
    x = clips.float().div_(255.0)
    x = (x - device_constant(KINETICS_MEAN, x.device)) / device_constant(KINETICS_STD, x.device)
    return x.permute(0, 4, 1, 2, 3).contiguous()


def crop_params(gen: torch.Generator | None, n: int, height: int, width: int, scale: tuple[float, float],
                ratio: tuple[float, float] = (3 / 4, 4 / 3), flip: float = 0.5,
                eval_fraction: float = 0.875, device: torch.device | str = "cpu") -> torch.Tensor:
    """Affine matrices ``(n, 2, 3)`` for :func:`F.affine_grid`: random resized crops (area share in
    ``scale``, aspect in ``ratio``, mirrored with probability ``flip``); ``gen=None`` gives the centred
    square of side ``eval_fraction * min(height, width)`` (the evaluation crop)."""
    if gen is None:
        side = eval_fraction * min(height, width)
        cw = torch.full((n,), side / width, device=device)
        ch = torch.full((n,), side / height, device=device)
        cx = torch.zeros(n, device=device)
        cy = torch.zeros(n, device=device)
        sign = torch.ones(n, device=device)
    else:
        area = _uniform(gen, n, *scale) * height * width
        logr = _uniform(gen, n, math.log(ratio[0]), math.log(ratio[1]))
        w = torch.sqrt(area * torch.exp(logr)).clamp(max=width)
        h = torch.sqrt(area / torch.exp(logr)).clamp(max=height)
        cw, ch = w / width, h / height  # crop size as a fraction of the frame
        cx = (torch.rand(n, generator=gen, device=gen.device) * 2 - 1) * (1 - cw)
        cy = (torch.rand(n, generator=gen, device=gen.device) * 2 - 1) * (1 - ch)
        sign = torch.where(torch.rand(n, generator=gen, device=gen.device) < flip, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3, device=cw.device)
    theta[:, 0, 0], theta[:, 0, 2] = cw * sign, cx
    theta[:, 1, 1], theta[:, 1, 2] = ch, cy
    return theta


def augment_clips(clips: torch.Tensor, size: int, gen: torch.Generator | None = None,
                  scale: tuple[float, float] = (0.6, 1.0), flip: float = 0.5, colour: float = 0.0,
                  mean: tuple[float, ...] = KINETICS_MEAN, std: tuple[float, ...] = KINETICS_STD,
                  channels_last: bool = False) -> torch.Tensor:
    """uint8 clips ``(B, T, H, W, 3)`` -> float ``(B, 3, T, size, size)``, normalised.

    Training (``gen`` given): one random resized crop and flip per clip (all its frames alike), then
    brightness/contrast/saturation jitter of strength ``colour``. Evaluation (``gen=None``): centre crop.
    """
    b, t, h, w, c = clips.shape
    x = clips.permute(0, 1, 4, 2, 3).reshape(b * t, c, h, w).float().div_(255.0)
    theta = crop_params(gen, b, h, w, scale, flip=flip, device=clips.device)
    grid = F.affine_grid(theta.repeat_interleave(t, 0), [b * t, c, size, size], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    x = x.view(b, t, c, size, size)
    if gen is not None and colour > 0:
        x = colour_jitter(x, gen, colour)
    m = device_constant(tuple(mean), x.device).view(1, 1, c, 1, 1)
    s = device_constant(tuple(std), x.device).view(1, 1, c, 1, 1)
    x = ((x - m) / s).permute(0, 2, 1, 3, 4)
    return x.contiguous(memory_format=torch.channels_last_3d if channels_last else torch.contiguous_format)


def colour_jitter(x: torch.Tensor, gen: torch.Generator, strength: float) -> torch.Tensor:
    """Per-clip brightness, contrast and saturation factors in ``[1 - strength, 1 + strength]`` on
    ``(B, T, 3, H, W)`` floats in [0, 1]."""
    b = x.shape[0]
    f = _uniform(gen, 3 * b, 1 - strength, 1 + strength).view(3, b, 1, 1, 1, 1)
    x = x * f[0]
    gray = (0.299 * x[:, :, 0:1] + 0.587 * x[:, :, 1:2] + 0.114 * x[:, :, 2:3])
    x = (x - gray.mean(dim=(1, 2, 3, 4), keepdim=True)) * f[1] + gray.mean(dim=(1, 2, 3, 4), keepdim=True)
    gray = (0.299 * x[:, :, 0:1] + 0.587 * x[:, :, 1:2] + 0.114 * x[:, :, 2:3])
    return ((x - gray) * f[2] + gray).clamp_(0.0, 1.0)


def flip_keypoints(kp: np.ndarray | torch.Tensor, width: float) -> np.ndarray | torch.Tensor:
    """Mirror ``(..., J, 3)`` keypoints (x, y, conf) of the canonical skeleton in a frame ``width`` wide:
    x -> width - x, and left/right joints swapped. ``width=0`` mirrors around 0 (normalised coordinates)."""
    if isinstance(kp, torch.Tensor):  # a device index made once (a list index is copied to the device each call)
        out = kp.index_select(-2, device_constant(tuple(JOINT_FLIP), kp.device, torch.long))
    else:
        out = kp[..., JOINT_FLIP, :].copy()
    out[..., 0] = width - out[..., 0]
    return out


def flip_boxes(boxes: np.ndarray, width: float) -> np.ndarray:
    """Mirror ``(N, 4)`` pixel boxes ``x1, y1, x2, y2`` in a frame ``width`` wide."""
    out = np.asarray(boxes, dtype=np.float64).copy()
    out[:, [0, 2]] = width - out[:, [2, 0]]
    return out


def flip_parts(parts: dict[str, PartDet], width: float) -> dict[str, PartDet]:
    """Mirror a person's parts: boxes flipped, ``left_*`` and ``right_*`` exchanged (head, hip stay)."""
    out = {}
    for name, p in parts.items():
        new = LEFT_RIGHT_PARTS.get(name, name)
        out[new] = PartDet(new, flip_boxes(p.boxes, width), list(p.states), p.scores.copy())
    return out


def augment_skeletons(kp: torch.Tensor, gen: torch.Generator | None, flip: float = 0.5,
                      scale: tuple[float, float] = (0.85, 1.15), rotate_deg: float = 10.0) -> torch.Tensor:
    """Random mirror (left/right swap), scale and rotation of normalised ``(B, M, T, J, 3)`` keypoints
    (one transform per sample); ``gen=None`` returns them unchanged."""
    if gen is None:
        return kp
    b = kp.shape[0]
    mirrored = flip_keypoints(kp, 0.0)
    do_flip = (torch.rand(b, generator=gen, device=gen.device) < flip).view(b, 1, 1, 1, 1)
    kp = torch.where(do_flip, mirrored, kp)
    ang = _uniform(gen, b, -rotate_deg, rotate_deg) * math.pi / 180
    s = _uniform(gen, b, *scale)
    cos, sin = torch.cos(ang) * s, torch.sin(ang) * s
    rot = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)  # (B, 2, 2)
    xy = torch.einsum("bij,bmtkj->bmtki", rot, kp[..., :2])
    return torch.cat([xy, kp[..., 2:]], dim=-1)


def normalize_skeletons(kp: np.ndarray) -> np.ndarray:
    """Pixel keypoints ``(M, T, J, 3)`` -> centred on the first person's mean hip centre and divided by the
    median torso length (neck to hip centre) over all visible persons and frames; zero where unseen."""
    kp = np.asarray(kp, dtype=np.float32).copy()
    vis = kp[..., 2] > 0
    lh, rh, nk = JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"], JOINT_INDEX["neck"]
    hip = (kp[..., lh, :2] + kp[..., rh, :2]) / 2  # (M, T, 2)
    hip_ok = vis[..., lh] & vis[..., rh]
    torso_ok = hip_ok & vis[..., nk]
    torso = np.linalg.norm(kp[..., nk, :2] - hip, axis=-1)[torso_ok]
    scale = float(np.median(torso)) if torso.size else 1.0
    main = hip_ok[0] if hip_ok[0].any() else hip_ok.any(0)
    centre = hip[0][main].mean(0) if main.any() else (kp[..., :2][vis].mean(0) if vis.any() else np.zeros(2))
    kp[..., :2] = (kp[..., :2] - centre) / max(scale, 1e-6)
    kp[~vis] = 0.0
    return kp

"""Skeleton geometry on keypoint sequences ``(T, J, 2|3)``: gap filling, smoothing, torso scale, angles.

All functions are vectorized over time and robust to missing joints (NaN in, NaN out).
"""
from __future__ import annotations

import numpy as np

from deeperaction.schema import JOINT_INDEX


def J(name: str) -> int:
    """Index of a joint of the canonical skeleton."""
    return JOINT_INDEX[name]


def fill_gaps(xy: np.ndarray, valid: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate missing joints over gaps of at most ``max_gap`` frames.

    ``xy`` (T, J, 2), ``valid`` (T, J) bool. Returns (filled xy with NaN where still missing, available mask).
    Leading/trailing gaps up to ``max_gap`` take the nearest valid value.
    """
    T, nj = valid.shape
    out = np.full_like(xy, np.nan, dtype=np.float64)
    avail = np.zeros((T, nj), bool)
    t = np.arange(T)
    for j in range(nj):
        v = valid[:, j]
        if not v.any():
            continue
        tv = t[v]
        for c in range(2):
            out[:, j, c] = np.interp(t, tv, xy[v, j, c])
        # distance (in frames) to the nearest valid frame decides whether the fill is trusted
        idx = np.searchsorted(tv, t)
        left = tv[np.clip(idx - 1, 0, len(tv) - 1)]
        right = tv[np.clip(idx, 0, len(tv) - 1)]
        gap = np.where(v, 0, np.where((idx > 0) & (idx < len(tv)), right - left - 1,
                                      np.minimum(np.abs(t - left), np.abs(t - right))))
        avail[:, j] = gap <= max_gap
    out[~avail] = np.nan
    return out, avail


def moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average along axis 0 with edge padding; NaNs propagate only where present."""
    if width <= 1 or x.shape[0] < 2:
        return x.copy()
    h = width // 2
    pad = [(h, h)] + [(0, 0)] * (x.ndim - 1)
    xp = np.pad(x, pad, mode="edge")
    c = np.cumsum(np.concatenate([np.zeros((1,) + x.shape[1:]), xp]), axis=0)
    return (c[2 * h + 1:] - c[:-2 * h - 1]) / (2 * h + 1)


def rolling_nanmedian(x: np.ndarray, width: int) -> np.ndarray:
    """Centred rolling median of a 1-D series, ignoring NaNs (all-NaN windows give NaN)."""
    h = max(width // 2, 0)
    xp = np.pad(x, (h, h), mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(xp, 2 * h + 1)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(win, axis=1)


def torso_length(xy: np.ndarray) -> np.ndarray:
    """Per-frame neck-to-hip-centre distance ``(T,)``; falls back to 1.2 x shoulder width if hips are missing."""
    neck = xy[:, J("neck")]
    hipc = 0.5 * (xy[:, J("left_hip")] + xy[:, J("right_hip")])
    L = np.linalg.norm(neck - hipc, axis=-1)
    sw = np.linalg.norm(xy[:, J("left_shoulder")] - xy[:, J("right_shoulder")], axis=-1)
    return np.where(np.isfinite(L), L, 1.2 * sw)


def signed_angle(v: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Signed angle in degrees from ``ref`` to ``v`` (both (..., 2)), in (-180, 180]."""
    cross = ref[..., 0] * v[..., 1] - ref[..., 1] * v[..., 0]
    dot = (ref * v).sum(-1)
    return np.degrees(np.arctan2(cross, dot))


def unsigned_angle(v: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Unsigned angle in degrees between ``v`` and ``ref`` (both (..., 2)), in [0, 180]."""
    return np.abs(signed_angle(v, ref))


def joint_angle(xy: np.ndarray, a: str, b: str, c: str) -> np.ndarray:
    """Interior angle at joint ``b`` between ``a`` and ``c`` in degrees (180 = straight), ``(T,)``."""
    return unsigned_angle(xy[:, J(a)] - xy[:, J(b)], xy[:, J(c)] - xy[:, J(b)])


def unwrap_deg(a: np.ndarray) -> np.ndarray:
    """Unwrap a degree series over time, keeping NaNs where they are."""
    ok = np.isfinite(a)
    if ok.sum() < 2:
        return a
    out = a.copy()
    out[ok] = np.degrees(np.unwrap(np.radians(a[ok])))
    return out

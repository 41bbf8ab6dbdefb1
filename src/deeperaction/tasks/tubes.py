"""Action tubes from per-track action scores over time (numpy): smooth each class's curve, label each frame
with its best class when that clears a threshold, bridge short gaps, drop blips, and cut one tube per
(track, action instance): the longest continuous runs, as the MultiSports winner trims its tubes.

A person does one action at a time here (MultiSports labels are exclusive); tracks are independent, so two
people crossing keep their own tubes as long as the tracker keeps their identities.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deeperaction.schema import Tube


@dataclass
class TubeOptions:
    """How score curves become tubes (times in seconds, converted with the video's frame rate)."""

    threshold: float = 0.4   # a frame takes its best class when the smoothed probability is at least this
    smooth_s: float = 0.3    # centred moving average of each class's curve
    max_gap_s: float = 0.6   # a gap this short between two runs of one action (other labels or none) is bridged
    min_len_s: float = 0.5   # runs shorter than this (after bridging) are blips: dropped


def smooth(curves: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average along axis 0 of ``(n, C)``, the window shrinking at the ends (no padding bias)."""
    if width <= 1 or len(curves) < 2:
        return curves.astype(np.float64)
    c = np.cumsum(np.r_[np.zeros((1, curves.shape[1])), curves.astype(np.float64)], axis=0)
    n, h = len(curves), width // 2
    lo, hi = np.clip(np.arange(n) - h, 0, n), np.clip(np.arange(n) + h + 1, 0, n)
    return (c[hi] - c[lo]) / (hi - lo)[:, None]


def runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs ``(label, start, end)`` (end exclusive) of an int array."""
    if len(labels) == 0:
        return []
    cut = np.flatnonzero(np.diff(labels)) + 1
    starts, ends = np.r_[0, cut], np.r_[cut, len(labels)]
    return [(int(labels[s]), int(s), int(e)) for s, e in zip(starts, ends)]


def label_frames(scores: np.ndarray, fps: float, opts: TubeOptions) -> np.ndarray:
    """Each frame's action class (-1: none) from ``(n, C)`` probabilities, after smoothing, bridging and
    dropping blips."""
    sm = smooth(scores, max(1, round(opts.smooth_s * fps)) | 1)
    best = sm.argmax(1)
    lab = np.where(sm[np.arange(len(sm)), best] >= opts.threshold, best, -1)
    max_gap, min_len = round(opts.max_gap_s * fps), max(1, round(opts.min_len_s * fps))
    for c in np.unique(lab[lab >= 0]):  # bridge: frames between two runs of c, when the gap is short
        at = np.flatnonzero(lab == c)
        gaps = np.flatnonzero(np.diff(at) > 1)
        for g in gaps:
            a, b = at[g], at[g + 1]
            if b - a - 1 <= max_gap:
                lab[a + 1:b] = c
    for c, s, e in runs(lab):
        if c >= 0 and e - s < min_len:
            lab[s:e] = -1
    return lab


def track_tubes(video_id: str, track_id: int, frames: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                classes: list[str], fps: float, opts: TubeOptions | None = None) -> list[tuple[int, Tube]]:
    """The tubes of one track: ``frames (n,)`` contiguous, ``boxes (n, 4)``, ``scores (n, C)`` probabilities of
    ``classes`` (a "none" class, if present, never makes a tube). Returns ``(track_id, Tube)`` pairs; a
    tube's score is the mean smoothed probability of its action over its frames."""
    opts = opts or TubeOptions()
    frames = np.asarray(frames)
    if len(frames) == 0:
        return []
    if (np.diff(frames) != 1).any():
        raise ValueError("track frames must be contiguous and increasing")
    keep = [i for i, c in enumerate(classes) if c != "none"]
    sc = np.asarray(scores, np.float64)[:, keep]
    lab = label_frames(sc, fps, opts)
    sm = smooth(sc, max(1, round(opts.smooth_s * fps)) | 1)
    out = []
    for c, s, e in runs(lab):
        if c >= 0:
            out.append((track_id, Tube(video_id, classes[keep[c]], float(sm[s:e, c].mean()), frames[s:e].copy(),
                                       np.asarray(boxes, np.float64)[s:e].copy())))
    return out

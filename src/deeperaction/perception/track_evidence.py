"""Temporal evidence that a track is a person: it persists over several parsed frames, and its body keeps its
size from one pose to the next as a body does.

Skeletons drawn on clutter flicker: on bikes.mp4 BlazePose's confident poses on a van's window and a parked
bicycle appear in 5 of 17 and 7 of 39 consecutive frames, never 3 in a row, while the man in the suit and
the cyclist are seen in nearly every frame. When a hallucinated skeleton does persist, its size jumps (a torso
of 67, 72, 42, 72, 41 px on the van's window) where a person's changes by a few per cent between parsed
frames. Both checks are cheap: a pass over each track's rows after the video is parsed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TrackEvidence:
    """What a track's rows say: ``hits`` (parsed frames it is seen in), ``run`` (the most hits in a row, at
    most ``max_gap`` missed parsed frames between two), ``shot_rows`` (parsed frames of its shot: a track
    cannot be seen in more), ``body_change`` (median absolute log change of the body's size between
    consecutive poses; NaN with fewer than three poses)."""

    hits: int
    run: int
    shot_rows: int
    body_change: float

    def persists(self, min_frames: int) -> bool:
        """Seen in a run of ``min_frames`` parsed frames, or in every parsed frame of a shorter shot."""
        return self.run >= min(min_frames, self.shot_rows)

    def moves_like_a_body(self, max_change: float) -> bool:
        """Its size changes by at most ``max_change`` (median, log) between poses; no poses: no opinion."""
        return not (self.body_change > max_change)


def longest_run(rows: np.ndarray, max_gap: int = 1) -> int:
    """The most of the sorted row numbers ``rows`` in one run whose neighbours are at most ``max_gap`` + 1
    apart (``max_gap`` missed parsed frames between two hits)."""
    rows = np.asarray(rows, np.int64)
    if rows.size == 0:
        return 0
    breaks = np.flatnonzero(np.diff(rows) > max_gap + 1)
    edges = np.concatenate([[0], breaks + 1, [rows.size]])
    return int(np.diff(edges).max())


def body_change(scales: np.ndarray) -> float:
    """Median ``|log(s[t] / s[t-1])|`` over consecutive finite, positive body sizes ``scales`` (NaN: no pose
    in that row, skipped); NaN with fewer than three. One change is no evidence: two poses may lie many parsed
    frames apart, and a squat or a jumping jack changes a torso by a quarter (a small synthetic person's
    23 and 29 px four parsed frames apart), while a skeleton on clutter jumps again and again."""
    s = np.asarray(scales, float)
    s = s[np.isfinite(s) & (s > 0)]
    if s.size < 3:
        return float("nan")
    return float(np.median(np.abs(np.diff(np.log(s)))))


def track_evidence(rows: np.ndarray, scales: np.ndarray, shot_rows: int, max_gap: int = 1) -> TrackEvidence:
    """The :class:`TrackEvidence` of a track seen in parsed rows ``rows`` (sorted) with body sizes ``scales``
    (NaN: no pose) in a shot of ``shot_rows`` parsed frames."""
    return TrackEvidence(int(len(rows)), longest_run(rows, max_gap), int(shot_rows), body_change(scales))

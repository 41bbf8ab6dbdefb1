"""Action tubes from per-track action scores over time (numpy): smooth each class's curve, label the track's
frames jointly by Viterbi (each frame's label an action or none, each label change paying a cost, as Saha et
al.'s action tubes trim theirs), bridge short gaps, drop blips, and cut one tube per (track, action
instance): the longest continuous runs, as the MultiSports winner trims its tubes.

Where the tracker did not see the person (occluded, missed: the track's box and keypoints only interpolated),
the scores are no evidence: :func:`span_unseen` draws the curves straight across such stretches from the seen
frames on either side, and the Viterbi labelling gives them no weight, so an action seen before and after an
occlusion stays one tube.

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

    threshold: float = 0.25  # none's score: an action frame needs its smoothed probability above this
    smooth_s: float = 0.3    # centred moving average of each class's curve
    switch_cost: float = 4.0  # Viterbi: each label change costs this (log-probability); 0: frames on their own
    max_gap_s: float = 0.0   # then a gap this short between two runs of one action (other labels or none) is bridged
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


def viterbi_labels(probs: np.ndarray, none: float, switch_cost: float, seen: np.ndarray | None = None
                   ) -> np.ndarray:
    """The labels (-1: none) of ``(n, C)`` probabilities that maximise the sum of each frame's log probability
    of its label (``none`` scoring ``none`` everywhere) minus ``switch_cost`` per label change; frames where
    ``seen (n,)`` is False score nothing (a label holds through them; nothing seen: all none). With no cost,
    each frame's best class when it reaches ``none``; ties keep the current label, then the lower class."""
    n, c = probs.shape
    if n == 0:
        return np.zeros(0, np.int64)
    if seen is not None and not np.any(seen):
        return np.full(n, -1, np.int64)
    logp = np.log(np.clip(np.c_[probs, np.full(n, none)], 1e-9, None))  # state c: none
    if seen is not None:
        logp[~np.asarray(seen, bool)] = 0.0
    states = np.arange(c + 1)
    score, back = logp[0].copy(), np.zeros((n, c + 1), np.int64)
    for t in range(1, n):
        j = int(score.argmax())
        stay = score >= score[j] - switch_cost
        back[t] = np.where(stay, states, j)
        score = np.where(stay, score, score[j] - switch_cost) + logp[t]
    lab = np.empty(n, np.int64)
    lab[-1] = int(score.argmax())
    for t in range(n - 1, 0, -1):
        lab[t - 1] = back[t, lab[t]]
    return np.where(lab == c, -1, lab)


def span_unseen(scores: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``(n, C)`` scores with the frames where ``seen`` is False replaced by the straight line between the
    nearest seen frames (the ends held); unchanged when every frame or none is seen."""
    seen = np.asarray(seen, bool)
    if seen.all() or not seen.any():
        return np.asarray(scores, np.float64)
    at, x = np.flatnonzero(seen), np.arange(len(seen))
    sc = np.asarray(scores, np.float64)
    return np.stack([np.interp(x, at, sc[at, k]) for k in range(sc.shape[1])], 1)


def smooth_curves(scores: np.ndarray, fps: float, opts: TubeOptions) -> np.ndarray:
    """``(n, C)`` probabilities smoothed over ``opts.smooth_s`` seconds (an odd number of frames)."""
    return smooth(scores, max(1, round(opts.smooth_s * fps)) | 1)


def label_frames(scores: np.ndarray, fps: float, opts: TubeOptions, seen: np.ndarray | None = None) -> np.ndarray:
    """Each frame's action class (-1: none) from ``(n, C)`` probabilities, after smoothing, Viterbi labelling
    (``seen``: as :func:`viterbi_labels`), bridging and dropping blips."""
    return _label_smoothed(smooth_curves(scores, fps, opts), fps, opts, seen)


def _label_smoothed(sm: np.ndarray, fps: float, opts: TubeOptions, seen: np.ndarray | None = None) -> np.ndarray:
    """:func:`label_frames` of curves already smoothed."""
    lab = viterbi_labels(sm, opts.threshold, opts.switch_cost, seen)
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
                classes: list[str], fps: float, opts: TubeOptions | None = None, seen: np.ndarray | None = None
                ) -> list[tuple[int, Tube]]:
    """The tubes of one track: ``frames (n,)`` contiguous, ``boxes (n, 4)``, ``scores (n, C)`` probabilities of
    ``classes`` (a "none" class, if present, never makes a tube); ``seen (n,)``: False where the tracker did
    not see the person (those frames' scores are no evidence; None: all seen). Returns ``(track_id, Tube)``
    pairs; a tube's score is the mean smoothed probability of its action over its frames."""
    opts = opts or TubeOptions()
    frames = np.asarray(frames)
    if len(frames) == 0:
        return []
    if (np.diff(frames) != 1).any():
        raise ValueError("track frames must be contiguous and increasing")
    keep = [i for i, c in enumerate(classes) if c != "none"]
    sc = np.asarray(scores, np.float64)[:, keep]
    if seen is not None:
        if len(seen) != len(frames):
            raise ValueError("seen needs one flag per frame")
        sc = span_unseen(sc, seen)
    sm = smooth_curves(sc, fps, opts)
    lab = _label_smoothed(sm, fps, opts, seen)
    out = []
    for c, s, e in runs(lab):
        if c >= 0:
            out.append((track_id, Tube(video_id, classes[keep[c]], float(sm[s:e, c].mean()), frames[s:e].copy(),
                                       np.asarray(boxes, np.float64)[s:e].copy())))
    return out

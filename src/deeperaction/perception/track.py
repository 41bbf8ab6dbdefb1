"""Link people across (sampled) frames into tracks with stable ids: IoU + centre distance against a
constant-velocity prediction, optimal assignment by the Hungarian method (scipy), and offline
keypoint smoothing along each track."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from deeperaction.perception.detect_person import iou_matrix


@dataclass
class _Track:
    id: int
    box: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    misses: int = 0
    hits: int = 1


class Tracker:
    """Online tracker over the frames it is given (one call per processed frame).

    ``min_iou``: gate on IoU with the predicted box; a pair also passes the gate when the centres are
    closer than ``max_center`` x the box height (fast motion between sampled frames). ``max_misses``:
    processed frames a track survives unmatched. ``momentum``: velocity smoothing (0 = last step only).
    """

    def __init__(self, min_iou: float = 0.1, max_center: float = 0.6, max_misses: int = 5,
                 momentum: float = 0.5):
        self.min_iou, self.max_center, self.max_misses, self.momentum = min_iou, max_center, max_misses, momentum
        self.tracks: list[_Track] = []
        self.next_id = 0

    def _cost(self, pred: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        iou = iou_matrix(pred, boxes)
        cp = (pred[:, None, :2] + pred[:, None, 2:]) / 2
        cb = (boxes[None, :, :2] + boxes[None, :, 2:]) / 2
        h = np.maximum((pred[:, None, 3] - pred[:, None, 1] + boxes[None, :, 3] - boxes[None, :, 1]) / 2, 1.0)
        dist = np.linalg.norm(cp - cb, axis=-1) / h
        cost = (1.0 - iou) + 0.5 * np.minimum(dist, 2.0)
        gate = (iou >= self.min_iou) | (dist <= self.max_center)
        return np.where(gate, cost, np.inf)

    def update(self, boxes: np.ndarray) -> np.ndarray:
        """Assign track ids ``(N,)`` to this frame's boxes ``(N, 4)``; new ids for unmatched boxes."""
        boxes = np.asarray(boxes, float).reshape(-1, 4)
        ids = np.full(len(boxes), -1, dtype=np.int64)
        if self.tracks and len(boxes):
            pred = np.stack([t.box + t.velocity * (1 + t.misses) for t in self.tracks])
            cost = self._cost(pred, boxes)
            finite = np.where(np.isfinite(cost), cost, 1e6)
            rows, cols = linear_sum_assignment(finite)
            for r, c in zip(rows, cols):
                if not np.isfinite(cost[r, c]):
                    continue
                t = self.tracks[r]
                step = (boxes[c] - t.box) / (1 + t.misses)
                t.velocity = self.momentum * t.velocity + (1 - self.momentum) * step
                t.box, t.misses, t.hits = boxes[c].copy(), 0, t.hits + 1
                ids[c] = t.id
        matched = set(ids[ids >= 0].tolist())
        for t in self.tracks:
            if t.id not in matched:
                t.misses += 1
        self.tracks = [t for t in self.tracks if t.misses <= self.max_misses]
        for c in np.flatnonzero(ids < 0):
            self.tracks.append(_Track(self.next_id, boxes[c].copy()))
            ids[c] = self.next_id
            self.next_id += 1
        return ids


def smooth_keypoints(kp: np.ndarray, width: int) -> np.ndarray:
    """Confidence-weighted centred moving average of a track's keypoints ``(T, J, 3)`` over ``width``
    samples (odd); confidences are kept; NaN rows (frames where the track is absent) are skipped."""
    kp = np.asarray(kp, float)
    if width <= 1 or len(kp) < 2:
        return kp.copy()
    half = width // 2
    w = np.nan_to_num(kp[:, :, 2:3], nan=0.0)
    xy = np.nan_to_num(kp[:, :, :2], nan=0.0) * w
    pad = ((half, half), (0, 0), (0, 0))
    cw, cxy = np.cumsum(np.pad(w, pad), 0), np.cumsum(np.pad(xy, pad), 0)
    cw = np.concatenate([np.zeros((1,) + cw.shape[1:]), cw])
    cxy = np.concatenate([np.zeros((1,) + cxy.shape[1:]), cxy])
    sw = cw[width:] - cw[:-width]
    sxy = cxy[width:] - cxy[:-width]
    out = kp.copy()
    good = (sw[..., 0] > 1e-6) & np.isfinite(kp[:, :, 0])
    out[..., :2] = np.where(good[..., None], sxy / np.maximum(sw, 1e-6), kp[..., :2])
    return out

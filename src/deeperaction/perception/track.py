"""Link people across (sampled) frames into tracks with stable ids: IoU + centre distance against a
constant-velocity prediction, optimal assignment by the Hungarian method (scipy); re-identification of
lost tracks by appearance (colour histograms of the upper and lower body); offline keypoint smoothing."""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from deeperaction.perception.person_finders import iou_matrix


HIST_BINS = (8, 4)  # hue x saturation bins per body half


def appearance(rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``(N, D)`` unit appearance vectors of people: hue-saturation histograms of the upper and lower half
    of the central 60 % of each box (less background), square-rooted so that a dot product is the
    Bhattacharyya coefficient of the histograms (1 = same colours, 0 = disjoint)."""
    h, w = rgb.shape[:2]
    d = 2 * HIST_BINS[0] * HIST_BINS[1]
    out = np.zeros((len(boxes), d), np.float32)
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, float).reshape(-1, 4)):
        cx, bw = (x1 + x2) / 2, (x2 - x1) * 0.3
        xa, xb = int(max(0, cx - bw)), int(min(w, cx + bw + 1))
        ya, yb = int(max(0, y1)), int(min(h, y2 + 1))
        if xb - xa < 2 or yb - ya < 4:
            continue
        hsv = cv2.cvtColor(np.ascontiguousarray(rgb[ya:yb, xa:xb]), cv2.COLOR_RGB2HSV)
        mid = (yb - ya) // 2
        for k, half in enumerate((hsv[:mid], hsv[mid:])):
            hist = cv2.calcHist([half], [0, 1], None, list(HIST_BINS), [0, 180, 0, 256]).ravel()
            out[i, k * d // 2:(k + 1) * d // 2] = np.sqrt(hist / max(hist.sum(), 1.0))
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norm, 1e-6)


def _at_border(boxes: np.ndarray, frame: tuple[int, int], margin: float = 2.0) -> np.ndarray:
    """``(N, 2)`` whether each box reaches within ``margin`` pixels of the left or right edge of a ``(width,
    height)`` frame (its width cut off), and of the top or bottom edge (its height)."""
    w, h = frame
    return np.stack([(boxes[:, 0] <= margin) | (boxes[:, 2] >= w - 1 - margin),
                     (boxes[:, 1] <= margin) | (boxes[:, 3] >= h - 1 - margin)], 1)


@dataclass
class _Track:
    id: int
    box: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    misses: int = 0
    hits: int = 1
    feat: np.ndarray | None = None  # running mean of the appearance vectors (unit length)


class Tracker:
    """Online tracker over the frames it is given (one call per processed frame).

    ``min_iou``: gate on IoU with the predicted box; a pair also passes the gate when the centres are
    closer than ``max_center`` x the box height (fast motion between sampled frames). A box whose height
    differs from the track's last box's by more than ``max_resize`` x, or whose width by more than its square
    (limbs swing out), is not that person: a body does not grow or shrink that much between processed frames,
    while a detector's box around several people, or a pose spread over two, does. With the frame given, a
    width or height that the frame's border cuts off is not compared where it is the smaller one (a person
    walking in or out) and is allowed the square of the limit where it is the larger (a close-up).
    ``max_misses``: processed frames a track survives unmatched. ``momentum``: velocity smoothing (0 = last
    step only). With frames given to :meth:`update`, appearance joins the cost (weight ``w_app``), vetoes
    pairs whose colours differ (similarity below ``min_sim``), and a box left unmatched takes the id of a track lost
    for up to ``max_lost`` processed frames whose colours match (similarity >= ``reid_sim``), whose size
    is within 1.6x and whose last place is within ``reid_reach`` box heights (+ 0.5 a missed frame).
    """

    def __init__(self, min_iou: float = 0.1, max_center: float = 0.6, max_misses: int = 5,
                 momentum: float = 0.5, w_app: float = 0.5, min_sim: float = 0.5, reid_sim: float = 0.8,
                 max_lost: int = 60, reid_reach: float = 2.0, max_resize: float = 1.5):
        self.min_iou, self.max_center, self.max_misses, self.momentum = min_iou, max_center, max_misses, momentum
        self.max_resize = max_resize
        self.w_app, self.min_sim, self.reid_sim, self.max_lost, self.reid_reach = \
            w_app, min_sim, reid_sim, max_lost, reid_reach
        self.tracks: list[_Track] = []
        self.lost: list[_Track] = []
        self.next_id = 0

    def predictions(self, min_hits: int = 3, max_misses: int = 0) -> list[tuple[int, np.ndarray]]:
        """``(id, predicted box)`` of the tracks seen at least ``min_hits`` times and missed at most
        ``max_misses`` frames in a row: where to look again for people the detectors missed this frame."""
        return [(t.id, t.box + t.velocity * (1 + t.misses)) for t in self.tracks
                if t.hits >= min_hits and t.misses <= max_misses]

    def cut(self) -> None:
        """A shot cut: every track ends (none is re-identified later); new ids continue the numbering."""
        self.tracks, self.lost = [], []

    def _cost(self, pred: np.ndarray, last: np.ndarray, boxes: np.ndarray,
              frame: tuple[int, int] | None = None) -> np.ndarray:
        """``(T, N)`` cost of giving each track (predicted boxes ``pred``, last boxes ``last``: a size change is
        not extrapolated across missed frames) each box; inf where the gates of the class doc close."""
        iou = iou_matrix(pred, boxes)
        cp = (pred[:, None, :2] + pred[:, None, 2:]) / 2
        cb = (boxes[None, :, :2] + boxes[None, :, 2:]) / 2
        h = np.maximum((pred[:, None, 3] - pred[:, None, 1] + boxes[None, :, 3] - boxes[None, :, 1]) / 2, 1.0)
        dist = np.linalg.norm(cp - cb, axis=-1) / h
        cost = (1.0 - iou) + 0.5 * np.minimum(dist, 2.0)
        gate = (iou >= self.min_iou) | (dist <= self.max_center)
        grow = np.log(np.maximum(boxes[None, :, 2:] - boxes[None, :, :2], 1.0)
                      / np.maximum(last[:, None, 2:] - last[:, None, :2], 1.0))  # (T, N, [w, h]): log size ratio
        limit = np.log(self.max_resize) * np.array([2.0, 1.0])
        if frame is not None:  # the border cuts off a size: the person walks in or out, or is close
            at_last, at_new = _at_border(last, frame)[:, None], _at_border(boxes, frame)[None]
            smaller_cut = np.where(grow > 0, at_last, at_new)  # walking in or out: the smaller size is no body's
            larger_cut = np.where(grow > 0, at_new, at_last)  # a close-up partly out of the frame: compared loosely
            limit = np.where(smaller_cut, np.inf, np.where(larger_cut, 2 * limit, limit))
        return np.where(gate & (np.abs(grow) <= limit + 1e-9).all(-1), cost, np.inf)

    @staticmethod
    def _similarity(tracks: list[_Track], feats: np.ndarray) -> np.ndarray:
        """``(T, N)`` appearance similarity; 1 where a track has no appearance yet (no opinion)."""
        have = [t.feat is not None for t in tracks]
        sim = np.ones((len(tracks), len(feats)))
        if any(have):
            tf = np.stack([t.feat if t.feat is not None else np.zeros(feats.shape[1]) for t in tracks])
            sim = np.where(np.array(have)[:, None], tf @ feats.T, 1.0)
        return sim

    def _matched(self, t: _Track, box: np.ndarray, feat: np.ndarray | None) -> None:
        step = (box - t.box) / (1 + t.misses)
        t.velocity = self.momentum * t.velocity + (1 - self.momentum) * step
        t.box, t.misses, t.hits = box.copy(), 0, t.hits + 1
        if feat is not None and feat.any():
            f = feat if t.feat is None else 0.8 * t.feat + 0.2 * feat
            t.feat = f / max(float(np.linalg.norm(f)), 1e-6)

    def update(self, boxes: np.ndarray, rgb: np.ndarray | None = None) -> np.ndarray:
        """Assign track ids ``(N,)`` to this frame's boxes ``(N, 4)``; new ids for unmatched boxes. With the
        frame ``rgb``, appearance is used as the class doc says."""
        boxes = np.asarray(boxes, float).reshape(-1, 4)
        feats = appearance(rgb, boxes) if rgb is not None and len(boxes) else None
        ids = np.full(len(boxes), -1, dtype=np.int64)
        if self.tracks and len(boxes):
            pred = np.stack([t.box + t.velocity * (1 + t.misses) for t in self.tracks])
            cost = self._cost(pred, np.stack([t.box for t in self.tracks]), boxes,
                              None if rgb is None else rgb.shape[:2][::-1])
            if feats is not None:
                sim = self._similarity(self.tracks, feats)
                cost = np.where(sim >= self.min_sim, cost + self.w_app * (1.0 - sim), np.inf)
            finite = np.where(np.isfinite(cost), cost, 1e6)
            rows, cols = linear_sum_assignment(finite)
            for r, c in zip(rows, cols):
                if np.isfinite(cost[r, c]):
                    self._matched(self.tracks[r], boxes[c], None if feats is None else feats[c])
                    ids[c] = self.tracks[r].id
        if feats is not None:
            self._reidentify(boxes, feats, ids)
        matched = set(ids[ids >= 0].tolist())
        for t in self.tracks:
            if t.id not in matched:
                t.misses += 1
        for t in self.lost:
            t.misses += 1
        self.lost = [t for t in self.lost + [t for t in self.tracks if t.misses > self.max_misses]
                     if t.misses <= self.max_lost and t.feat is not None]
        self.tracks = [t for t in self.tracks if t.misses <= self.max_misses]
        for c in np.flatnonzero(ids < 0):
            t = _Track(self.next_id, boxes[c].copy())
            if feats is not None and feats[c].any():
                t.feat = feats[c].copy()
            self.tracks.append(t)
            ids[c] = self.next_id
            self.next_id += 1
        return ids

    def _reidentify(self, boxes: np.ndarray, feats: np.ndarray, ids: np.ndarray) -> None:
        """Give unmatched boxes the ids of lost tracks that look the same and could have walked there."""
        free = np.flatnonzero(ids < 0)
        pool = [t for t in self.lost if t.feat is not None]
        if not len(free) or not pool:
            return
        b = boxes[free]
        sim = self._similarity(pool, feats[free])
        pred = np.stack([t.box for t in pool])  # last place seen: people stop and turn while unseen
        hp, hb = pred[:, 3] - pred[:, 1], b[:, 3] - b[:, 1]
        ratio = np.maximum(hp[:, None], 1.0) / np.maximum(hb[None, :], 1.0)
        cp, cb = (pred[:, :2] + pred[:, 2:]) / 2, (b[:, :2] + b[:, 2:]) / 2
        reach = (self.reid_reach + 0.5 * np.array([t.misses for t in pool]))[:, None] * np.maximum(hb[None, :], 1.0)
        ok = (sim >= self.reid_sim) & (ratio < 1.6) & (ratio > 1 / 1.6) & \
             (np.linalg.norm(cp[:, None] - cb[None], axis=-1) <= reach)
        cost = np.where(ok, 1.0 - sim, 1e6)
        rows, cols = linear_sum_assignment(cost)
        back = []
        for r, c in zip(rows, cols):
            if ok[r, c]:
                t = pool[r]
                self._matched(t, b[c], feats[free[c]])
                ids[free[c]] = t.id
                back.append(t)
        self.lost = [t for t in self.lost if all(t is not x for x in back)]
        self.tracks += back


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

"""Single-class box AP (VOC all-point, IoU >= 0.5 by default), for person detectors: exact from the matched
detections, or from additive score histograms (what a distributed evaluation can sum over ranks)."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from deeperaction.metrics.ap import average_precision_all_point
from deeperaction.metrics.iou import box_iou_matrix


def match_image(boxes: np.ndarray, scores: np.ndarray, gt: np.ndarray, iou: float = 0.5) -> np.ndarray:
    """True-positive flags of one image's detections (VOC greedy rule): by descending score (stable), each
    detection takes its highest-IoU GT; TP when that IoU >= ``iou`` and the GT is still free, else FP."""
    boxes, gt = np.asarray(boxes, float).reshape(-1, 4), np.asarray(gt, float).reshape(-1, 4)
    tp = np.zeros(len(boxes), bool)
    if len(boxes) == 0 or len(gt) == 0:
        return tp
    ov = box_iou_matrix(boxes, gt)
    used = np.zeros(len(gt), bool)
    for d in np.argsort(-np.asarray(scores, float), kind="stable"):
        g = int(np.argmax(ov[d]))
        if ov[d, g] >= iou and not used[g]:
            tp[d] = used[g] = True
    return tp


def match_images(images: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], iou: float = 0.5
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`match_image` over ``(boxes, scores, gt)`` of many images: all scores, TP flags, GT count."""
    scores, tps, n_gt = [np.zeros(0)], [np.zeros(0, bool)], 0
    for boxes, sc, gt in images:
        scores.append(np.asarray(sc, float).reshape(-1))
        tps.append(match_image(boxes, sc, gt, iou))
        n_gt += len(np.asarray(gt).reshape(-1, 4))
    return np.concatenate(scores), np.concatenate(tps), n_gt


def box_ap(scores: np.ndarray, tp: np.ndarray, n_gt: int) -> float:
    """All-point AP of detections (all images together) with their TP flags, over ``n_gt`` GT boxes."""
    if n_gt == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    hit = np.asarray(tp, bool)[order]
    ctp, cfp = np.cumsum(hit), np.cumsum(~hit)
    return average_precision_all_point(ctp / np.maximum(ctp + cfp, 1), ctp / n_gt)


def score_histograms(scores: np.ndarray, tp: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """TP and FP counts per score bin of ``[0, 1]`` (``bins`` equal bins; scores outside are clipped)."""
    b = np.clip((np.asarray(scores, float) * bins).astype(np.int64), 0, bins - 1)
    tp = np.asarray(tp, bool)
    return (np.bincount(b[tp], minlength=bins).astype(float), np.bincount(b[~tp], minlength=bins).astype(float))


def binned_ap(tp_hist: np.ndarray, fp_hist: np.ndarray, n_gt: float) -> float:
    """AP from :func:`score_histograms` sums: the PR curve sampled at the bin edges (detections of one bin
    are taken together, so it is within one bin's share of the exact AP)."""
    if n_gt <= 0:
        return float("nan")
    ctp, cfp = np.cumsum(np.asarray(tp_hist)[::-1]), np.cumsum(np.asarray(fp_hist)[::-1])
    keep = (ctp + cfp) > 0
    ctp, cfp = ctp[keep], cfp[keep]
    return average_precision_all_point(ctp / (ctp + cfp), ctp / n_gt)

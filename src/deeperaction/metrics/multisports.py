"""MultiSports frame-mAP and video-mAP, exact to the official scorers of 2022 and 2021 (results x100).

``protocol="2022"``: MCG-NJU/MultiSports ``evaluate_multisports.py`` (headline V@0.1:0.9).
``protocol="2021"``: the ICCV 2021 CodaLab ``evaluate.py`` (+1 boxes, frame-count temporal IoU, matched
GT removed, float32 trapezoid AP; its range averages are float64 sums of float32 mAPs).
Both skip 6 classes by name and classes without GT; a class with GT and no detections scores 0.
Where the official code crashes we define the result: tubes with gaps or repeated frames are refused
by the readers (InputError); a video-detections file missing a label key scores that class as having
no detections; an undefined ST-IoU (2022: two identical one-frame tubes, 0/0) is a false positive.
Ties in score keep input order (``tie_order="stable"``); ``"numpy"`` calls ``np.argsort(-score)`` per
class like the official code, whose order varies with numpy version and CPU.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError
from deeperaction.formats.multisports import (NEVER_SCORED, FrameDetections, MultiSportsGT, VideoDetections,
                                              read_frame_detections, read_multisports_gt, read_video_detections)
from deeperaction.metrics.frame_map import frame_ap
from deeperaction.metrics.report import Report
from deeperaction.metrics.video_map import video_ap

OFFICIAL_RANGES: dict[str, tuple[float, ...]] = {
    "V@0.05:0.45": tuple(0.05 + 0.05 * i for i in range(9)),
    "V@0.1:0.9": tuple(0.1 + 0.1 * i for i in range(9)),
    "V@0.5:0.95": tuple(0.5 + 0.05 * i for i in range(10)),
}
"""The official range averages, thresholds built exactly as the official loops build them."""
DEFAULT_THRESHOLDS = OFFICIAL_RANGES["V@0.1:0.9"]


def _mean_x100(aps: list) -> float:
    """Official class mean: ``np.mean(100 * np.array(aps))`` (float32 throughout in 2021)."""
    if not aps:
        return float("nan")
    return float(np.mean(100 * np.array(aps)))


def _x100(ap: np.floating) -> float:
    """A class AP as the official prints it: ``100 * ap`` in the AP's dtype (float32 in 2021)."""
    a = np.asarray(ap).reshape(-1)[:1]  # a scalar or a 1-element array, keeping its dtype
    return float((100 * a)[0])


def _range_name(ths: Sequence[float]) -> str:
    for name, rng in OFFICIAL_RANGES.items():
        if tuple(ths) == rng:
            return name
    return f"V@{min(ths):g}:{max(ths):g}" if len(ths) > 1 else f"V@{ths[0]:g}"


def _range_mean(values: list[float]) -> float:
    """Official range average: ``ap = 0; ap += mAP_t`` in float64, then divided by the count."""
    s = 0.0
    for v in values:
        s = s + v
    return s / len(values)


def evaluate_multisports(gt: MultiSportsGT | str | Path, frame_dets: FrameDetections | str | Path | None = None,
                         video_dets: VideoDetections | str | Path | None = None, *, protocol: str = "2022",
                         thresholds: Sequence[float] = DEFAULT_THRESHOLDS, frame_iou: float = 0.5,
                         tie_order: str = "stable") -> Report:
    """Score MultiSports detections; headline = mean video-mAP over ``thresholds`` (V@0.1:0.9 by default).

    Also reports F@0.5 (frame-mAP at ``frame_iou``), V@0.2, V@0.5 and the official ranges
    V@0.05:0.45 / V@0.1:0.9 / V@0.5:0.95 (``per_threshold``), per-class APs (``tables``), x100.
    Without video detections the headline is the frame-mAP. Paths are read with the checking readers.
    """
    if protocol not in ("2022", "2021"):
        raise InputError(f"unknown protocol {protocol!r}; use 2022 or 2021", field="protocol")
    if tie_order not in ("stable", "numpy"):
        raise InputError(f"unknown tie order {tie_order!r}; use stable or numpy", field="tie_order")
    if frame_dets is None and video_dets is None:
        raise InputError("give frame detections, video detections, or both")
    thresholds = tuple(float(t) for t in thresholds)
    if not thresholds or not all(0.0 < t <= 1.0 for t in thresholds):
        raise InputError("thresholds must be in (0, 1]", field="thresholds")
    if not isinstance(gt, MultiSportsGT):
        gt = read_multisports_gt(gt)
    if frame_dets is not None and not isinstance(frame_dets, FrameDetections):
        frame_dets = read_frame_detections(frame_dets, gt)
    if video_dets is not None and not isinstance(video_dets, VideoDetections):
        video_dets = read_video_detections(video_dets, gt)

    labels = gt.labels
    scored = np.array([i for i, n in enumerate(labels) if n not in NEVER_SCORED], dtype=np.int64)
    tubes = gt.tube_arrays()
    nv = len(gt.test_videos)
    has_gt = set(np.unique(tubes.label).tolist())
    per_thr: dict[str, float] = {}
    tables: dict = {"classes": {
        "never_scored": [n for n in labels if n in NEVER_SCORED],
        "without_gt": [labels[i] for i in scored if i not in has_gt],
        "scored": [labels[i] for i in scored if i in has_gt]}}
    warnings = list(gt.warnings)
    per_class: dict[str, float] = {}
    headline_name, headline = "", float("nan")

    if frame_dets is not None:
        res = frame_ap(tubes, nv, frame_dets, scored, frame_iou, protocol, tie_order)
        aps = [r[0] for r in res.values()]
        fname = f"F@{frame_iou:g}"
        per_thr[fname] = _mean_x100(aps)
        tables["frame_ap_per_class"] = {labels[c]: _x100(r[0]) for c, r in res.items()}
        tables["frame_counts_per_class"] = {labels[c]: {"gt": r[1], "det": r[2], "tp": r[3]} for c, r in res.items()}
        warnings += frame_dets.warnings
        _warn_ignored(warnings, "frame", frame_dets.label, res, labels)
        headline_name, headline, per_class = fname, per_thr[fname], dict(tables["frame_ap_per_class"])

    if video_dets is not None:
        want = dict.fromkeys(thresholds + (0.2, 0.5) + sum(OFFICIAL_RANGES.values(), ()))
        res_v, n_nan = video_ap(tubes, nv, video_dets.tubes, scored, list(want), protocol, tie_order)
        mAP = {t: _mean_x100([r[0] for r in res_v[t].values()]) for t in want}
        per_thr["V@0.2"], per_thr["V@0.5"] = mAP[0.2], mAP[0.5]
        for name, rng in OFFICIAL_RANGES.items():
            per_thr[name] = _range_mean([mAP[t] for t in rng])
        headline_name = _range_name(thresholds)
        headline = per_thr[headline_name] = _range_mean([mAP[t] for t in thresholds])
        for t in thresholds:
            per_thr.setdefault(f"V@{t:g}", mAP[t])
        per_cls_x100 = {repr(t): {labels[c]: _x100(r[0]) for c, r in res_v[t].items()}
                        for t in want}
        tables["video_map_per_threshold"] = {repr(t): mAP[t] for t in want}
        tables["video_ap_per_class"] = per_cls_x100
        per_class = {n: float(np.mean([per_cls_x100[repr(t)][n] for t in thresholds]))
                     for n in per_cls_x100[repr(thresholds[0])]}
        warnings += video_dets.warnings
        _warn_ignored(warnings, "video", video_dets.tubes.label, res_v[thresholds[0]], labels)
        if n_nan:
            warnings.append(f"{n_nan} detected tubes had an undefined ST-IoU (identical one-frame tubes, 0/0);"
                            " counted as false positives, as the official scorer does")
    if not tables["classes"]["scored"]:
        warnings.append("no scored class has ground truth in the test videos: mAP is undefined")
    return Report(metric=f"multisports-{protocol}", headline_name=headline_name, headline=headline,
                  per_class=per_class, per_threshold=per_thr, tables=tables, warnings=warnings,
                  options={"protocol": protocol, "thresholds": list(thresholds), "frame_iou": frame_iou,
                           "tie_order": tie_order, "units": "percent (x100)"})


def _warn_ignored(warnings: list[str], what: str, det_labels: np.ndarray, res: dict, labels: list[str]) -> None:
    """Say how many detections fell in classes that are not scored (never-scored or without GT)."""
    n = int(np.sum(~np.isin(det_labels, np.array(list(res.keys()), dtype=np.int64))))
    if n:
        warnings.append(f"{n} {what} detections are of classes that are not scored (never scored, no GT, "
                        "or unknown label) and were ignored")

"""MultiSports files: GT pickle, ``frame_detections.pkl`` and ``video_detections.pkl`` (read/write/validate).

File layouts (frames are 1-based in files, 0-based in :class:`~deeperaction.schema.Tube`):
- GT: ``{"labels": [66 names], "train_videos": [[names]], "test_videos": [[names]], "nframes": {v: n},
  "resolution": {v: (h, w)}, "gttubes": {v: {label_index: [float32 (T, 5) frame, x1, y1, x2, y2]}}}``
- frame detections: ndarray ``(N, 8)`` = video_index (into ``test_videos[0]``), frame, label, score, x1..y2
- video detections: ``{label_index: [(video, score, ndarray (L, 6) = frame, x1, y1, x2, y2, box_score)]}``
Readers raise :class:`InputError` on what the scorer cannot use; ``validate_multisports`` lists every problem.
"""
from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deeperaction.errors import InputError, ProblemList
from deeperaction.formats.multisports_check import check_frame_dets, check_gt, check_video_dets, summarize_soft
from deeperaction.formats.multisports_data import (
    MULTISPORTS_LABELS,
    NEVER_SCORED,
    FrameDetections,
    LabelInfo,
    MultiSportsGT,
    TubeArrays,
    VideoDetections,
    multisports_default_labels,
)
from deeperaction.formats.safe_pickle import safe_load
from deeperaction.outputs import write_atomic
from deeperaction.schema import Tube

__all__ = ["MULTISPORTS_LABELS", "NEVER_SCORED", "FrameDetections", "LabelInfo", "MultiSportsGT", "TubeArrays",
           "VideoDetections", "multisports_default_labels", "read_multisports_gt", "read_frame_detections",
           "read_video_detections", "validate_multisports", "write_multisports_gt", "write_frame_detections",
           "write_video_detections"]

# ---------------------------------------------------------------- readers


def _load(path: str | Path) -> Any:
    return safe_load(path)


def _read(path: str | Path, check, *gt: MultiSportsGT, **options):
    """Load ``path`` and run ``check(obj, *gt, fatal, soft, **options)``: fatal problems raise (every one
    listed), soft ones become the result's warnings."""
    fatal, soft = ProblemList(path), ProblemList(path)
    out = check(_load(path), *gt, fatal, soft, **options)
    fatal.raise_if_any()
    out.path, out.warnings = str(path), summarize_soft(soft)
    return out


def read_multisports_gt(path: str | Path) -> MultiSportsGT:
    """Read and check a MultiSports GT pickle; InputError lists every problem the scorer cannot use."""
    return _read(path, check_gt)


def read_frame_detections(path: str | Path, gt: MultiSportsGT, *, strict: bool = False) -> FrameDetections:
    """Read and check ``frame_detections.pkl`` against ``gt`` (InputError on unusable rows). Boxes with
    x2 < x1 or y2 < y1 are scored as the official scorer scores them (one warning), ``strict`` refuses them."""
    return _read(path, check_frame_dets, gt, strict=strict)


def read_video_detections(path: str | Path, gt: MultiSportsGT, *, strict: bool = False) -> VideoDetections:
    """Read and check ``video_detections.pkl`` against ``gt`` (InputError on unusable tubes); ``strict`` as
    :func:`read_frame_detections`."""
    return _read(path, check_video_dets, gt, strict=strict)


def validate_multisports(path: str | Path, kind: str = "gt", gt: MultiSportsGT | str | Path | None = None
                         ) -> ProblemList:
    """Every problem in a MultiSports file (``kind`` = gt | frame | video); detections need ``gt``."""
    problems = ProblemList(path)
    try:
        obj = _load(path)
    except InputError as e:
        problems.extend(e.problems)
        return problems
    soft = ProblemList(path)
    if kind == "gt":
        check_gt(obj, problems, soft)
    elif kind in ("frame", "video"):
        if gt is None:
            raise InputError(f"validating {kind} detections needs the GT (--gt)", file=path)
        gt_obj = gt if isinstance(gt, MultiSportsGT) else read_multisports_gt(gt)
        check = check_frame_dets if kind == "frame" else check_video_dets
        check(obj, gt_obj, problems, soft)
    else:
        raise InputError(f"unknown kind {kind!r}; use gt, frame or video", file=path)
    problems.extend(soft)
    return problems


# ---------------------------------------------------------------- writers

def _dump(path: str | Path, obj: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, pickle.dumps(obj, protocol=4))


def write_multisports_gt(path: str | Path, *, labels: Sequence[str],
                         videos: Mapping[str, tuple[int, tuple[int, int]]], test_videos: Sequence[str],
                         train_videos: Sequence[str] = (), tubes: Iterable[Tube] = (),
                         dtype: type = np.float32) -> None:
    """Write a GT pickle. ``videos``: ``{v: (nframes, (h, w))}``; Tube labels are names, frames 0-based."""
    labels = list(labels)
    index = {n: i for i, n in enumerate(labels)}
    gttubes: dict[str, dict[int, list[np.ndarray]]] = {v: {} for v in videos}
    for t in tubes:
        if t.video_id not in gttubes:
            raise InputError(f"tube of unknown video {t.video_id!r} (not in videos)", file=path)
        if t.label not in index:
            raise InputError(f"unknown label {t.label!r}", file=path, video=t.video_id)
        arr = np.concatenate([t.frames[:, None] + 1, t.boxes], axis=1).astype(dtype)
        gttubes[t.video_id].setdefault(index[t.label], []).append(arr)
    _dump(path, {"labels": labels, "train_videos": [list(train_videos)], "test_videos": [list(test_videos)],
                 "nframes": {v: int(n) for v, (n, _) in videos.items()},
                 "resolution": {v: (int(hw[0]), int(hw[1])) for v, (_, hw) in videos.items()},
                 "gttubes": gttubes})


def write_frame_detections(path: str | Path, gt_labels: Sequence[str], video_order: Sequence[str],
                           rows: Iterable[tuple[str, int, str, float, Sequence[float]]]) -> None:
    """Write ``frame_detections.pkl`` from rows ``(video, frame 0-based, label name, score, box)``.

    ``video_order`` is the GT's ``test_videos`` list (the file stores indices into it).
    """
    vidx = {v: i for i, v in enumerate(video_order)}
    lidx = {n: i for i, n in enumerate(gt_labels)}
    out = []
    for v, f, lab, s, box in rows:
        if v not in vidx or lab not in lidx:
            raise InputError(f"unknown {'video' if v not in vidx else 'label'} in detection row",
                             file=path, video=v, frame=f + 1, field="video" if v not in vidx else "label")
        out.append((vidx[v], f + 1, lidx[lab], s, *np.asarray(box, dtype=np.float64).reshape(4)))
    _dump(path, np.array(out, dtype=np.float64).reshape(-1, 8))


def write_video_detections(path: str | Path, labels: Sequence[str], tubes: Iterable[Tube],
                           dtype: type = np.float32) -> None:
    """Write ``video_detections.pkl`` (every label a key); the box-score column holds the tube score."""
    lidx = {n: i for i, n in enumerate(labels)}
    out: dict[int, list] = {i: [] for i in range(len(labels))}
    for t in tubes:
        if t.label not in lidx:
            raise InputError(f"unknown label {t.label!r}", file=path, video=t.video_id)
        arr = np.concatenate([t.frames[:, None] + 1, t.boxes, np.full((len(t.frames), 1), t.score)], axis=1)
        out[lidx[t.label]].append((t.video_id, float(t.score), arr.astype(dtype)))
    _dump(path, out)

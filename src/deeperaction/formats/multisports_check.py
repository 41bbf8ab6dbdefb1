"""Vectorized checks of MultiSports files, every problem listed: what makes the scorer fail is fatal
(the readers raise), what it accepts but is suspicious is soft (warnings in the metric report)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from deeperaction.errors import ProblemList
from deeperaction.formats.multisports_data import (FrameDetections, MultiSportsGT, VideoDetections,
                                                    concat_rows, flatten_tubes)

_MAX_PER_KIND = 20  # individual lines per kind of row problem; the rest is counted in one line
_BOX_FIELDS = ("x1", "y1", "x2", "y2")


def summarize_soft(soft: ProblemList) -> list[str]:
    """Soft problems (the official scorer accepts them) as warning lines for the metric report."""
    lines = [str(p) for p in soft.items[:10]]
    if len(soft) > 10:
        lines.append(f"... and {len(soft) - 10} more such warnings (see `deeperaction validate multisports`)")
    return lines


def _report_rows(pl: ProblemList, bad: np.ndarray, msg: str, where) -> None:
    """Add one line per flagged row (first few) and a count line for the rest."""
    idx = np.flatnonzero(bad)
    for i in idx[:_MAX_PER_KIND]:
        pl.add(msg, **where(int(i)))
    if len(idx) > _MAX_PER_KIND:
        pl.add(f"{msg}: {len(idx) - _MAX_PER_KIND} more like this")


def _report_reversed(bad: np.ndarray, where, target: ProblemList, what: str) -> None:
    """One line for all boxes with x2 < x1 or y2 < y1: their count, at the first one's place."""
    idx = np.flatnonzero(bad)
    if len(idx):
        target.add(f"box has x2 < x1 or y2 < y1 ({len(idx)} such boxes in the file; {what})", **where(int(idx[0])))


REVERSED_GT = "an error in ground truth"
REVERSED_PRED = "scored as the official scorer scores them; --strict refuses them"


def _check_tube_rows(arrs: list[np.ndarray], meta: list[tuple[str, str]], nframes: Mapping[str, Any],
                     fatal: ProblemList, soft: ProblemList, ncols: int, reversed_to: ProblemList | None = None,
                     reversed_what: str = REVERSED_PRED) -> np.ndarray:
    """Row checks of structurally valid tubes: finite, integer contiguous frames, box order, frame range.

    Returns the tubes concatenated as float64 (reused to flatten them).
    """
    full = concat_rows(arrs, ncols)
    if not arrs:
        return full
    lens = np.array([len(a) for a in arrs])
    tube_of = np.repeat(np.arange(len(arrs)), lens)
    cat = full[:, :5]
    frames = cat[:, 0]

    def where(i: int, fld: str | None = None) -> dict:
        v, what = meta[tube_of[i]]
        return {"video": v, "frame": _num(frames[i]), "field": f"{what}{'.' + fld if fld else ''}"}

    finite = np.isfinite(cat).all(axis=1)
    _report_rows(fatal, ~finite, "NaN or infinite value in tube row", where)
    integer = finite & (frames == np.round(frames))
    _report_rows(fatal, finite & ~integer, "frame number is not an integer", lambda i: where(i, "frame"))
    step = np.diff(frames)
    same_tube = tube_of[1:] == tube_of[:-1]
    gap = same_tube & integer[1:] & integer[:-1] & (step != 1)
    _report_rows(fatal, np.concatenate([[False], gap & (step > 1)]),
                 "tube has a gap before this frame (frames must be contiguous)", lambda i: where(i, "frame"))
    _report_rows(fatal, np.concatenate([[False], gap & (step < 1)]),
                 "tube frame repeated or not increasing", lambda i: where(i, "frame"))
    with np.errstate(invalid="ignore"):
        _report_reversed(finite & ((cat[:, 3] < cat[:, 1]) | (cat[:, 4] < cat[:, 2])), lambda i: where(i, "box"),
                         soft if reversed_to is None else reversed_to, reversed_what)
        per_video = {m[0]: _nframes(nframes, m[0]) for m in meta}
        nf = np.array([per_video[m[0]] for m in meta], dtype=np.float64)[tube_of]
        out = integer & ((frames < 1) | (frames > nf))
    _report_rows(soft, out, "frame outside 1..nframes of the video", lambda i: where(i, "frame"))
    return full


def _num(x: float) -> int | float:
    return int(x) if np.isfinite(x) and x == int(x) else float(x)


def _nframes(nframes: Mapping[str, Any], v: str) -> float:
    n = nframes.get(v) if isinstance(nframes, Mapping) else None
    return float(n) if isinstance(n, (int, np.integer)) else np.inf


def _is_tube(a: Any, ncols: int) -> bool:
    return (isinstance(a, np.ndarray) and a.ndim == 2 and a.shape[0] >= 1 and a.shape[1] == ncols
            and a.dtype.kind in "fiu")


def check_gt(obj: Any, fatal: ProblemList, soft: ProblemList) -> MultiSportsGT | None:
    """Check a loaded GT object; fatal problems make it unusable, soft ones the official scorer accepts."""
    if not isinstance(obj, dict):
        fatal.add(f"GT must be a dict, got {type(obj).__name__}")
        return None
    for k in ("labels", "test_videos", "nframes", "resolution", "gttubes"):
        if k not in obj:
            fatal.add("missing key", field=k)
    if fatal:
        return None
    labels = obj["labels"]
    if not (isinstance(labels, (list, tuple)) and all(isinstance(x, str) for x in labels)):
        fatal.add("must be a list of class names", field="labels")
        labels = []
    splits = {}
    for key in ("test_videos", "train_videos"):
        val = obj.get(key, [[]])
        if (isinstance(val, (list, tuple)) and len(val) >= 1 and isinstance(val[0], (list, tuple))
                and all(isinstance(x, str) for x in val[0])):
            splits[key] = list(val[0])
        elif isinstance(val, (list, tuple)) and all(isinstance(x, str) for x in val):
            fatal.add("must be a list holding one list of video names ([[names]]; note the extra list)",
                      field=key)
            splits[key] = list(val)
        else:
            fatal.add("must be [[video names]]", field=key)
            splits[key] = []
    seen = set()
    for v in splits["test_videos"]:
        if v in seen:
            fatal.add("video listed twice", video=v, field="test_videos")
        seen.add(v)
    nframes, resolution, gttubes = obj["nframes"], obj["resolution"], obj["gttubes"]
    for key, val in (("nframes", nframes), ("resolution", resolution), ("gttubes", gttubes)):
        if not isinstance(val, dict):
            fatal.add("must be a dict keyed by video", field=key)
    if fatal:
        return None
    for v in splits["test_videos"]:
        if v not in gttubes:
            fatal.add("test video has no entry in gttubes (use an empty dict)", video=v, field="gttubes")
        if not isinstance(nframes.get(v), (int, np.integer)) or nframes.get(v) < 1:
            soft.add("missing or invalid frame count", video=v, field="nframes")
        r = resolution.get(v)
        if not (isinstance(r, (tuple, list)) and len(r) == 2):
            soft.add("missing or invalid (height, width)", video=v, field="resolution")
    arrs, meta = [], []
    for v, per_label in gttubes.items():
        if not isinstance(per_label, dict):
            fatal.add("must be a dict {label_index: [tubes]}", video=str(v), field="gttubes")
            continue
        for lab, tubes in per_label.items():
            if not isinstance(lab, (int, np.integer)) or not 0 <= lab < len(labels):
                fatal.add(f"unknown label index {lab!r}", video=str(v), field="gttubes")
                continue
            if not isinstance(tubes, (list, tuple)):
                fatal.add("must be a list of tubes", video=str(v), field=f"gttubes[{lab}]")
                continue
            for j, t in enumerate(tubes):
                what = f"gttubes[{lab}][{j}] ({labels[lab]})"
                if not _is_tube(t, 5):
                    fatal.add("tube must be a numeric ndarray (T>=1, 5): frame, x1, y1, x2, y2",
                              video=str(v), field=what)
                else:
                    arrs.append(t)
                    meta.append((str(v), what))
    _check_tube_rows(arrs, meta, nframes, fatal, soft, 5, fatal, REVERSED_GT)
    return MultiSportsGT(list(labels), splits["test_videos"], splits["train_videos"], dict(nframes),
                         {v: tuple(r) for v, r in resolution.items() if isinstance(r, (tuple, list))},
                         {v: {int(k): list(t) for k, t in d.items()} for v, d in gttubes.items()
                          if isinstance(d, dict)})


def check_frame_dets(obj: Any, gt: MultiSportsGT, fatal: ProblemList, soft: ProblemList, strict: bool = False
                      ) -> FrameDetections | None:
    """Check a loaded frame-detections array against the GT."""
    if isinstance(obj, np.ndarray) and obj.size == 0:
        obj = np.zeros((0, 8))
    if not (isinstance(obj, np.ndarray) and obj.ndim == 2 and obj.shape[1] == 8 and obj.dtype.kind in "fiu"):
        shape = getattr(obj, "shape", None)
        fatal.add(f"must be a numeric ndarray (N, 8) [video_index, frame, label, score, x1, y1, x2, y2], "
                  f"got {type(obj).__name__}{'' if shape is None else ' ' + str(shape)}")
        return None
    a = obj.astype(np.float64, copy=False)
    test = gt.test_videos

    def where(i: int, fld: str | None = None) -> dict:
        vi = a[i, 0]
        ok = np.isfinite(vi) and vi == int(vi) and 0 <= vi < len(test)
        return {"video": test[int(vi)] if ok else f"#{_num(vi)}", "frame": _num(a[i, 1]),
                "field": f"row {i}{'.' + fld if fld else ''}"}

    finite = np.isfinite(a).all(axis=1)
    _report_rows(fatal, ~finite, "NaN or infinite value", where)
    for col, name in ((0, "video_index"), (1, "frame"), (2, "label")):
        _report_rows(fatal, finite & (a[:, col] != np.round(a[:, col])), "must be an integer",
                     lambda i, name=name: where(i, name))
    with np.errstate(invalid="ignore"):
        vi, lab = a[:, 0], a[:, 2]
        bad_v = finite & ((vi < 0) | (vi >= len(test)))
        _report_rows(soft, bad_v, f"video index outside 0..{len(test) - 1} of test_videos (counts as a false "
                     "positive)", lambda i: where(i, "video_index"))
        _report_rows(soft, finite & ((lab < 0) | (lab >= len(gt.labels))),
                     "label index unknown (ignored by the scorer)", lambda i: where(i, "label"))
        _report_reversed(finite & ((a[:, 6] < a[:, 4]) | (a[:, 7] < a[:, 5])), lambda i: where(i, "box"),
                         fatal if strict else soft, REVERSED_PRED)
        nf = np.array([_nframes(gt.nframes, v) for v in test] + [np.inf])
        vclip = np.where(bad_v | ~finite, len(test), np.nan_to_num(vi, nan=0)).astype(np.int64)
        _report_rows(soft, finite & ((a[:, 1] < 1) | (a[:, 1] > nf[vclip])),
                     "frame outside 1..nframes of the video", lambda i: where(i, "frame"))
    if fatal:
        return None
    return FrameDetections(video=vi.astype(np.int64), frame=a[:, 1].astype(np.int64),
                           label=lab.astype(np.int64), score=a[:, 3].copy(),
                           boxes=np.ascontiguousarray(obj[:, 4:8]))


def check_video_dets(obj: Any, gt: MultiSportsGT, fatal: ProblemList, soft: ProblemList, strict: bool = False
                      ) -> VideoDetections | None:
    """Check loaded video detections {label: [(video, score, (L, 6))]} against the GT."""
    if not isinstance(obj, dict):
        fatal.add(f"must be a dict {{label_index: [(video, score, tube)]}}, got {type(obj).__name__}")
        return None
    vindex = {v: i for i, v in enumerate(gt.test_videos)}
    arrs, labs, vids, scores, names, meta = [], [], [], [], [], []
    for lab, entries in obj.items():
        if not isinstance(lab, (int, np.integer)):
            fatal.add(f"label key must be an int index, got {lab!r}")
            continue
        if not 0 <= lab < len(gt.labels):
            soft.add(f"label index {lab} unknown (its {len(entries) if hasattr(entries, '__len__') else '?'} "
                     "tubes are ignored)")
            continue
        if not isinstance(entries, (list, tuple)):
            fatal.add("must be a list of (video, score, tube)", field=f"[{lab}]")
            continue
        for j, e in enumerate(entries):
            what = f"[{lab}][{j}] ({gt.labels[lab]})"
            if not (isinstance(e, (tuple, list)) and len(e) == 3):
                fatal.add("entry must be (video, score, ndarray (L, 6))", field=what)
                continue
            v, s, t = e
            if not isinstance(v, str):
                fatal.add(f"video must be a name (str), got {type(v).__name__}", field=what)
                continue
            if not isinstance(s, (float, int, np.floating, np.integer)) or not np.isfinite(s):
                fatal.add(f"score must be a finite number, got {s!r}", video=v, field=what)
                continue
            if not _is_tube(t, 6):
                fatal.add("tube must be a numeric ndarray (L>=1, 6): frame, x1, y1, x2, y2, box_score",
                          video=v, field=what)
                continue
            if v not in vindex:
                soft.add("video not in the GT test_videos (counts as a false positive)", video=v, field=what)
            arrs.append(t)
            labs.append(int(lab))
            vids.append(vindex.get(v, -1))
            scores.append(float(s))
            names.append(v)
            meta.append((v, what))
    missing = [i for i in range(len(gt.labels)) if i not in obj]
    if missing:
        soft.add(f"{len(missing)} label keys missing (scored as no detections): "
                 f"{', '.join(gt.labels[i] for i in missing[:5])}{' ...' if len(missing) > 5 else ''}")
    cat = _check_tube_rows(arrs, meta, gt.nframes, fatal, soft, 6, fatal if strict else soft)
    if fatal:
        return None
    return VideoDetections(flatten_tubes(arrs, np.array(labs, np.int64), np.array(vids, np.int64),
                                          np.array(scores), 6, names, cat))

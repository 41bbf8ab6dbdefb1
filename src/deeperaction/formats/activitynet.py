"""ActivityNet-style temporal localization JSON (ActivityNet 1.3, FineAction, HACS): read, write, validate.

Ground truth ``{"database": {video: {"subset", "annotations": [{"segment": [s, e], "label"}], "duration"?}},
"taxonomy", "version"}``; predictions ``{"results": {video: [{"label", "score", "segment"}]}, "version",
"external_data"}``; times in seconds. Readers return columnar numpy records, fast at 400k predictions.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from deeperaction.errors import InputError, ProblemList
from deeperaction.formats.activitynet_check import check_gt, check_pred, load_json_into
from deeperaction.formats.jsonio import no_gc
from deeperaction.outputs import write_atomic
from deeperaction.schema import Segment


@dataclass
class TalGT:
    """Ground-truth segments of one subset, columnar. ``labels`` are the scored classes: the labels present
    in the subset, in order of first appearance (the official class order)."""

    subset: str
    videos: list[str]  # every video of the subset, file order (also those without annotations)
    labels: list[str]
    video: np.ndarray  # (N,) int64 index into videos
    label: np.ndarray  # (N,) int64 index into labels
    t_start: np.ndarray  # (N,) float64 seconds
    t_end: np.ndarray  # (N,) float64 seconds
    duration: np.ndarray  # (len(videos),) float64 seconds, nan where unknown

    def __len__(self) -> int:
        return len(self.video)

    def segments(self) -> list[Segment]:
        """The annotations as :class:`Segment` records (score 1.0), in file order."""
        return [Segment(self.videos[v], self.labels[c], s, e, 1.0) for v, c, s, e in
                zip(self.video.tolist(), self.label.tolist(), self.t_start.tolist(), self.t_end.tolist())]

    @classmethod
    def from_segments(cls, segments: Iterable[Segment], *, videos: Iterable[str] = (),
                      durations: Mapping[str, float] | None = None, subset: str = "validation") -> "TalGT":
        """Build ground truth in memory (videos without segments may be listed in ``videos``)."""
        segs = list(segments)
        vids = list(dict.fromkeys(chain(videos, (s.video_id for s in segs))))
        vidx = {v: i for i, v in enumerate(vids)}
        labels = list(dict.fromkeys(s.label for s in segs))
        lidx = {c: i for i, c in enumerate(labels)}
        dur = np.array([float((durations or {}).get(v, math.nan)) for v in vids], dtype=np.float64)
        return cls(subset, vids, labels, np.array([vidx[s.video_id] for s in segs], dtype=np.int64),
                   np.array([lidx[s.label] for s in segs], dtype=np.int64),
                   np.array([s.start_s for s in segs], dtype=np.float64),
                   np.array([s.end_s for s in segs], dtype=np.float64), dur)


@dataclass
class TalPred:
    """Predicted segments, columnar, in file order (the order decides the official tie-breaking)."""

    videos: list[str]
    labels: list[str]
    video: np.ndarray  # (N,) int64 index into videos
    label: np.ndarray  # (N,) int64 index into labels
    t_start: np.ndarray  # (N,) float64 seconds
    t_end: np.ndarray  # (N,) float64 seconds
    score: np.ndarray  # (N,) float64, never rounded to float32 (that would create ties)

    def __len__(self) -> int:
        return len(self.video)

    def segments(self) -> list[Segment]:
        """The predictions as :class:`Segment` records, in file order."""
        return [Segment(self.videos[v], self.labels[c], s, e, sc) for v, c, s, e, sc in
                zip(self.video.tolist(), self.label.tolist(), self.t_start.tolist(), self.t_end.tolist(),
                    self.score.tolist())]

    @classmethod
    def from_segments(cls, segments: Iterable[Segment]) -> "TalPred":
        """Build predictions in memory from :class:`Segment` records (order kept)."""
        segs = list(segments)
        vids = list(dict.fromkeys(s.video_id for s in segs))
        labels = list(dict.fromkeys(s.label for s in segs))
        vidx, lidx = {v: i for i, v in enumerate(vids)}, {c: i for i, c in enumerate(labels)}
        col = lambda f: np.array([float(getattr(s, f)) for s in segs], dtype=np.float64)  # noqa: E731
        return cls(vids, labels, np.array([vidx[s.video_id] for s in segs], dtype=np.int64),
                   np.array([lidx[s.label] for s in segs], dtype=np.int64), col("start_s"), col("end_s"),
                   col("score"))


def validate_activitynet(path: str | Path, kind: str = "auto", gt: TalGT | str | Path | None = None,
                         subset: str = "validation") -> ProblemList:
    """Every problem of an ActivityNet-style GT (``kind="gt"``) or prediction (``"pred"``) file.

    ``"auto"`` decides by the top-level field (``database`` or ``results``). With ``gt`` (a :class:`TalGT`
    or a GT path read with ``subset``), predictions are also checked against its classes, videos and
    durations. Includes what only the official scorer needs (``version``, ``taxonomy``, ``external_data``).
    """
    problems = ProblemList(path)
    if not Path(path).is_file():
        problems.add("no such file" if not Path(path).exists() else "not a file")
        return problems
    data = load_json_into(path, problems)
    if problems:
        return problems
    if kind == "auto":
        kind = "pred" if isinstance(data, dict) and "results" in data and "database" not in data else "gt"
    if kind == "gt":
        check_gt(data, problems, strict=True)
    elif kind == "pred":
        if gt is not None and not isinstance(gt, TalGT):
            gt = read_activitynet_gt(gt, subset)
        check_pred(data, problems, strict=True, gt=gt)
    else:
        raise ValueError(f"kind must be 'gt', 'pred' or 'auto', got {kind!r}")
    return problems


# ---------------------------------------------------------------------------------------------- readers
def read_activitynet_gt(path: str | Path, subset: str = "validation") -> TalGT:
    """Read the annotations of one subset; InputError listing every problem if the file is malformed."""
    problems = ProblemList(path)
    data = load_json_into(path, problems)
    problems.raise_if_any()
    check_gt(data, problems, strict=False)
    problems.raise_if_any()
    videos, dur, vi, li, ts, te = [], [], [], [], [], []
    lidx: dict[str, int] = {}
    for vid, v in data["database"].items():
        if v["subset"] != subset:
            continue
        k = len(videos)
        videos.append(vid)
        d = v.get("duration")
        dur.append(math.nan if d is None else float(d))
        for a in v["annotations"]:
            vi.append(k)
            li.append(lidx.setdefault(a["label"], len(lidx)))
            ts.append(float(a["segment"][0]))
            te.append(float(a["segment"][1]))
    if not videos:
        found = sorted({v["subset"] for v in data["database"].values()})
        raise InputError(f"no video in subset {subset!r} (subsets in the file: {', '.join(found) or 'none'})",
                         file=str(path), field="subset")
    f64 = lambda x: np.array(x, dtype=np.float64)  # noqa: E731
    return TalGT(subset, videos, list(lidx), np.array(vi, dtype=np.int64), np.array(li, dtype=np.int64),
                 f64(ts), f64(te), f64(dur))


def read_activitynet_pred(path: str | Path) -> TalPred:
    """Read predictions into columns (float64 scores); InputError listing every problem if malformed.

    The common well-formed case is checked with vectorized passes; only a bad file is walked item by
    item to name each problem.
    """
    problems = ProblemList(path)
    data = load_json_into(path, problems)
    problems.raise_if_any()
    try:
        with no_gc():
            return _pred_columns(data["results"])
    except (KeyError, TypeError, IndexError, ValueError, OverflowError):
        check_pred(data, problems, strict=False)
        problems.raise_if_any()
        raise InputError("malformed predictions", file=str(path))  # not reached for a checked document


def _pred_columns(results: dict) -> TalPred:
    """Columns of a well-formed ``results`` mapping; raises ValueError/TypeError/KeyError on anything else."""
    if type(results) is not dict:
        raise TypeError("results")
    lists = list(results.values())
    if not set(map(type, lists)) <= {list}:
        raise TypeError("video entry")
    items = list(chain.from_iterable(lists))
    if not set(map(type, items)) <= {dict}:
        raise TypeError("item")
    labels = list(map(itemgetter("label"), items))
    segs = list(map(itemgetter("segment"), items))
    scores = list(map(itemgetter("score"), items))
    if not set(map(type, labels)) <= {str} or not set(map(type, segs)) <= {list}:
        raise TypeError("label/segment")
    if not set(map(len, segs)) <= {2}:
        raise ValueError("segment length")
    starts, ends = list(map(itemgetter(0), segs)), list(map(itemgetter(1), segs))
    if not set(map(type, chain(starts, ends, scores))) <= {int, float}:
        raise TypeError("numbers")
    ts, te, sc = (np.array(x, dtype=np.float64) for x in (starts, ends, scores))
    if not (np.isfinite(ts).all() and np.isfinite(te).all() and np.isfinite(sc).all() and (te >= ts).all()):
        raise ValueError("values")
    names = list(dict.fromkeys(labels))
    lidx = dict(zip(names, range(len(names))))
    label = np.fromiter(map(lidx.__getitem__, labels), dtype=np.int64, count=len(labels))
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    video = np.repeat(np.arange(len(lists), dtype=np.int64), counts)
    return TalPred(list(results), names, video, label, ts, te, sc)


# ---------------------------------------------------------------------------------------------- writers
def write_activitynet_gt(path: str | Path, segments: Iterable[Segment], *, subsets: Mapping[str, str],
                         durations: Mapping[str, float], fps: Mapping[str, float] | None = None,
                         version: str = "deeperaction") -> None:
    """Write a GT file; ``subsets`` lists every video (also those without segments) with its subset."""
    db: dict[str, dict] = {}
    for vid, sub in subsets.items():
        entry: dict[str, Any] = {"subset": sub}
        if vid in durations:
            entry["duration"] = float(durations[vid])
        if fps is not None and vid in fps:
            entry["fps"] = float(fps[vid])
        entry["annotations"] = []
        db[vid] = entry
    for s in segments:
        if s.video_id not in db:
            raise ValueError(f"segment of video {s.video_id!r}, which is not in subsets")
        db[s.video_id]["annotations"].append({"segment": [float(s.start_s), float(s.end_s)],
                                              "label": s.label})
    _dump(path, {"version": version, "taxonomy": [], "database": db})


def write_activitynet_pred(path: str | Path, segments: Iterable[Segment], *, version: str = "VERSION 1.3",
                           external_data: Mapping[str, Any] | None = None) -> None:
    """Write a prediction file (segments grouped by video, in order of first appearance)."""
    res: dict[str, list] = {}
    for s in segments:
        res.setdefault(s.video_id, []).append({"label": s.label, "score": float(s.score),
                                               "segment": [float(s.start_s), float(s.end_s)]})
    ext = dict(external_data) if external_data is not None else {"used": False, "details": ""}
    _dump(path, {"version": version, "external_data": ext, "results": res})


def _dump(path: str | Path, obj: dict) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(p, json.dumps(obj, allow_nan=False, separators=(",", ":")))

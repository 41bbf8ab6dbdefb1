"""ActivityNet-style temporal localization JSON (ActivityNet 1.3, FineAction, HACS): read, write, validate.

Ground truth ``{"database": {video: {"subset", "annotations": [{"segment": [s, e], "label"}], "duration"?}},
"taxonomy", "version"}``; predictions ``{"results": {video: [{"label", "score", "segment"}]}, "version",
"external_data"}``; times in seconds. Readers return columnar numpy records, fast at 400k predictions.
"""
from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from deeperaction.errors import InputError, ProblemList
from deeperaction.schema import Segment

GT_FIELDS = ("database", "taxonomy", "version")
PRED_FIELDS = ("results", "version", "external_data")


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


# ----------------------------------------------------------------------------------------------- checks
def _num(x: Any) -> bool:
    """A finite JSON number (bools are not numbers here)."""
    return type(x) in (int, float) and abs(x) < 1e300  # False for nan, inf and huge ints


def _short(x: Any) -> str:
    s = json.dumps(x) if not isinstance(x, float) or math.isfinite(x) else str(x)
    return s if len(s) <= 40 else s[:37] + "..."


def _segment_problem(seg: Any) -> str | None:
    """Why ``seg`` is not a valid ``[start, end]`` in seconds, or None."""
    if type(seg) is not list or len(seg) != 2:
        return f"must be [start, end] (2 numbers), got {_short(seg)}"
    if not (_num(seg[0]) and _num(seg[1])):
        return f"start and end must be finite numbers, got {_short(seg)}"
    if seg[1] < seg[0]:
        return f"end {seg[1]} is before start {seg[0]}"
    return None


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: building 400k small dicts/lists otherwise triggers
    collections that double the parse time. Nothing parsed here holds reference cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _load_json(path: str | Path, problems: ProblemList) -> Any:
    """Parse a JSON file; a decode error becomes one problem (None returned)."""
    raw = Path(path).read_bytes()
    try:
        with _no_gc():
            return json.loads(raw)
    except UnicodeDecodeError as e:
        problems.add(f"not UTF-8 text ({e.reason} at byte {e.start})")
    except json.JSONDecodeError as e:
        end = e.pos >= len(e.doc.rstrip()) or e.msg.startswith("Unterminated string")
        problems.add(("truncated JSON: unexpected end of file" if end else f"malformed JSON: {e.msg}")
                     + f" (line {e.lineno}, column {e.colno})")
    return None


def _check_top(data: Any, fields: tuple[str, ...], problems: ProblemList, strict: bool) -> Any:
    """Check the top-level object; return its main mapping (``database``/``results``) or None."""
    if not isinstance(data, dict):
        problems.add(f"top level must be a JSON object with {', '.join(map(repr, fields))}")
        return None
    main = fields[0]
    for f in fields[1:]:
        if strict and f not in data:
            problems.add("missing top-level field (the official scorer rejects the file without it)", field=f)
    if main not in data:
        other = {"results": ("database", "ground-truth"), "database": ("results", "prediction")}[main]
        hint = f" (this looks like a {other[1]} file)" if other[0] in data else ""
        problems.add("missing top-level field" + hint, field=main)
        return None
    if not isinstance(data[main], dict):
        problems.add(f"must be an object keyed by video id, got {type(data[main]).__name__}", field=main)
        return None
    return data[main]


def _check_gt(data: Any, problems: ProblemList, strict: bool) -> None:
    """Add every problem of a parsed GT document (``strict``: also what only the official server needs)."""
    db = _check_top(data, GT_FIELDS, problems, strict)
    for vid, v in (db or {}).items():
        if not isinstance(v, dict):
            problems.add("video entry must be an object", video=vid)
            continue
        if type(v.get("subset")) is not str:
            problems.add("missing or non-string subset", video=vid, field="subset")
        dur = v.get("duration")
        if dur is not None and not (_num(dur) and dur >= 0):
            problems.add(f"duration must be a number >= 0, got {_short(dur)}", video=vid, field="duration")
            dur = None
        anns = v.get("annotations")
        if type(anns) is not list:
            problems.add("missing or not a list", video=vid, field="annotations")
            continue
        for i, a in enumerate(anns):
            where = f"annotations[{i}]"
            if not isinstance(a, dict):
                problems.add("annotation must be an object", video=vid, field=where)
                continue
            if type(a.get("label")) is not str:
                problems.add(f"label must be a string, got {_short(a.get('label'))}", video=vid,
                             field=f"{where}.label")
            msg = _segment_problem(a.get("segment"))
            if msg:
                problems.add(msg, video=vid, field=f"{where}.segment")
            elif strict and dur is not None and (a["segment"][0] < 0 or a["segment"][1] > dur):
                problems.add(f"segment {_short(a['segment'])} outside the video [0, {dur}]", video=vid,
                             field=f"{where}.segment")


def _check_pred(data: Any, problems: ProblemList, strict: bool, gt: TalGT | None = None) -> None:
    """Add every problem of a parsed prediction document; with ``gt``, also labels/videos/durations."""
    res = _check_top(data, PRED_FIELDS, problems, strict)
    classes = set(gt.labels) if gt is not None else None
    gvid = {v: i for i, v in enumerate(gt.videos)} if gt is not None else {}
    unknown: dict[str, list] = {}
    for vid, items in (res or {}).items():
        if type(items) is not list:
            problems.add("must be a list of predictions", video=vid, field="results")
            continue
        if gt is not None and vid not in gvid and items:
            problems.add(f"video not in the ground-truth subset {gt.subset!r}: its {len(items)} predictions"
                         " count as false positives", video=vid)
        dur = gt.duration[gvid[vid]] if vid in gvid else math.nan
        for i, r in enumerate(items):
            where = f"results[{i}]"
            if not isinstance(r, dict):
                problems.add("prediction must be an object", video=vid, field=where)
                continue
            label = r.get("label")
            if type(label) is not str:
                problems.add(f"label must be a string, got {_short(label)}", video=vid, field=f"{where}.label")
            elif classes is not None and label not in classes:
                unknown.setdefault(label, [0, vid])[0] += 1
            if not _num(r.get("score")):
                problems.add(f"score must be a finite number, got {_short(r.get('score'))}", video=vid,
                             field=f"{where}.score")
            msg = _segment_problem(r.get("segment"))
            if msg:
                problems.add(msg, video=vid, field=f"{where}.segment")
            elif dur == dur and (r["segment"][0] < 0 or r["segment"][1] > dur):
                problems.add(f"segment {_short(r['segment'])} outside the video [0, {dur}]", video=vid,
                             field=f"{where}.segment")
    for label, (n, vid) in unknown.items():
        problems.add(f"label {label!r} is not a class of the ground-truth subset {gt.subset!r}"
                     f" ({n} predictions, first in this video)", video=vid, field="label")


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
    data = _load_json(path, problems)
    if problems:
        return problems
    if kind == "auto":
        kind = "pred" if isinstance(data, dict) and "results" in data and "database" not in data else "gt"
    if kind == "gt":
        _check_gt(data, problems, strict=True)
    elif kind == "pred":
        if gt is not None and not isinstance(gt, TalGT):
            gt = read_activitynet_gt(gt, subset)
        _check_pred(data, problems, strict=True, gt=gt)
    else:
        raise ValueError(f"kind must be 'gt', 'pred' or 'auto', got {kind!r}")
    return problems


# ---------------------------------------------------------------------------------------------- readers
def read_activitynet_gt(path: str | Path, subset: str = "validation") -> TalGT:
    """Read the annotations of one subset; InputError listing every problem if the file is malformed."""
    problems = ProblemList(path)
    data = _load_json(path, problems)
    problems.raise_if_any()
    _check_gt(data, problems, strict=False)
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
    data = _load_json(path, problems)
    problems.raise_if_any()
    try:
        with _no_gc():
            return _pred_columns(data["results"])
    except (KeyError, TypeError, IndexError, ValueError, OverflowError):
        _check_pred(data, problems, strict=False)
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
    with open(p, "w") as f:
        json.dump(obj, f, allow_nan=False, separators=(",", ":"))

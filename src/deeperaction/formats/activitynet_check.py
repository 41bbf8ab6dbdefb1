"""Checks of ActivityNet-style JSON (every problem listed, naming video and field) and the JSON loading
shared by the readers and the validator."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deeperaction.errors import InputError, ProblemList
from deeperaction.formats.jsonio import load_json

if TYPE_CHECKING:
    from deeperaction.formats.activitynet import TalGT

GT_FIELDS = ("database", "taxonomy", "version")
PRED_FIELDS = ("results", "version", "external_data")


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


def load_json_into(path: str | Path, problems: ProblemList) -> Any:
    """:func:`~deeperaction.formats.jsonio.load_json`, a decode error added to ``problems`` (None returned)."""
    try:
        return load_json(path)
    except InputError as e:
        problems.extend(e.problems)
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


def check_gt(data: Any, problems: ProblemList, strict: bool) -> None:
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


def check_pred(data: Any, problems: ProblemList, strict: bool, gt: TalGT | None = None) -> None:
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

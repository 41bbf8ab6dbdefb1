"""Full structural check of loaded Kinetics-TPS JSON objects, collecting every problem.

The reader's fast path only calls this when its vectorized checks fail, so the cost of walking
every field in Python is paid only for broken inputs (or by ``deeperaction validate tps``).
"""
from __future__ import annotations

import math
import re
from typing import Any

from deeperaction.errors import ProblemList
from deeperaction.schema import PARTS

MAX_HUMANS = 10  # official: at most 10 human proposals per frame
MAX_PROPOSALS = 5  # official: at most 5 proposals per part
FRAME_RE = re.compile(r"img_(\d{5,})\.json")
_PARTS = frozenset(PARTS)


def frame_number(name: str) -> int | None:
    """0-based frame of an official frame file name (``img_00001.json`` -> 0), None if malformed.

    The name must be exactly ``img_{n:05d}.json`` with n >= 1 so that int and string keys agree.
    """
    m = FRAME_RE.fullmatch(name)
    if m is None:
        return None
    n = int(m.group(1))
    if n < 1 or f"img_{n:05d}.json" != name:
        return None
    return n - 1


def _is_num(x: Any) -> bool:
    return (type(x) is int or type(x) is float) and math.isfinite(x)


def _type(x: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "number", float: "number"}.get(type(x), type(x).__name__)


def check_box(b: Any, pl: ProblemList, video: str, frame: str, fld: str, reversed_ok: bool = False) -> None:
    """A box is a list of 4 finite numbers with x2 >= x1 and y2 >= y1 (the latter not checked with
    ``reversed_ok``: the official scorer scores such predicted boxes)."""
    if not isinstance(b, list) or len(b) != 4:
        what = f"an array of {len(b)} items" if isinstance(b, list) else _type(b)
        pl.add(f"expected [x1, y1, x2, y2], got {what}", video=video, frame=frame, field=fld)
        return
    bad = [i for i, x in enumerate(b) if not _is_num(x)]
    if bad:
        pl.add(f"coordinates must be finite numbers, got {[b[i] for i in bad]!r}",
               video=video, frame=frame, field=fld)
        return
    if not reversed_ok and (b[2] < b[0] or b[3] < b[1]):
        pl.add(f"x2 < x1 or y2 < y1 in {b!r}", video=video, frame=frame, field=fld)


def check_vid_obj(obj: Any, pl: ProblemList) -> None:
    """The actions file: a JSON object {video: action string}."""
    if not isinstance(obj, dict):
        pl.add(f"expected a JSON object {{video: action}}, got {_type(obj)}")
        return
    for vid, act in obj.items():
        if not isinstance(act, str):
            pl.add(f"action must be a string, got {_type(act)}", video=vid, field="action")


def _check_part(p: Any, kind: str, pl: ProblemList, vid: str, fr: str, fld: str, reversed_ok: bool) -> None:
    if not isinstance(p, dict):
        pl.add(f"part must be an object, got {_type(p)}", video=vid, frame=fr, field=fld)
        return
    for key in ("box", "verb"):
        if key not in p:
            pl.add(f"missing {key!r}", video=vid, frame=fr, field=f"{fld}.{key}")
    box, verb = p.get("box"), p.get("verb")
    if kind == "gt":
        if "box" in p:
            check_box(box, pl, vid, fr, f"{fld}.box")
        if "verb" in p and not isinstance(verb, str):
            pl.add(f"verb must be a string, got {_type(verb)}", video=vid, frame=fr, field=f"{fld}.verb")
        return
    if "box" in p:
        if not isinstance(box, list):
            pl.add(f"box must be a list of proposals [[x1, y1, x2, y2], ...], got {_type(box)}",
                   video=vid, frame=fr, field=f"{fld}.box")
            box = None
        else:
            if len(box) > MAX_PROPOSALS:
                pl.add(f"{len(box)} proposals, at most {MAX_PROPOSALS} allowed", video=vid, frame=fr,
                       field=f"{fld}.box")
            for j, b in enumerate(box):
                check_box(b, pl, vid, fr, f"{fld}.box[{j}]", reversed_ok)
    if "verb" in p:
        if not isinstance(verb, list):
            pl.add(f"verb must be a list of state strings, got {_type(verb)}", video=vid, frame=fr,
                   field=f"{fld}.verb")
            verb = None
        else:
            for j, v in enumerate(verb):
                if not isinstance(v, str):
                    pl.add(f"state must be a string, got {_type(v)}", video=vid, frame=fr,
                           field=f"{fld}.verb[{j}]")
    if isinstance(box, list) and isinstance(verb, list) and len(box) != len(verb):
        pl.add(f"{len(box)} boxes but {len(verb)} verbs", video=vid, frame=fr, field=f"{fld}.verb")


def _check_human(h: Any, kind: str, pl: ProblemList, vid: str, fr: str, fld: str, reversed_ok: bool) -> None:
    if not isinstance(h, dict):
        pl.add(f"human must be an object, got {_type(h)}", video=vid, frame=fr, field=fld)
        return
    if "box" not in h:
        pl.add("missing 'box'", video=vid, frame=fr, field=f"{fld}.box")
    else:
        check_box(h["box"], pl, vid, fr, f"{fld}.box", reversed_ok)
    if "parts" not in h:
        pl.add("missing 'parts'", video=vid, frame=fr, field=f"{fld}.parts")
        return
    parts = h["parts"]
    if not isinstance(parts, dict):
        pl.add(f"parts must be an object {{part: ...}}, got {_type(parts)}", video=vid, frame=fr,
               field=f"{fld}.parts")
        return
    for name, p in parts.items():
        if name not in _PARTS:
            pl.add(f"unknown part name {name!r} (expected one of {', '.join(PARTS)})", video=vid,
                   frame=fr, field=f"{fld}.parts.{name}")
        _check_part(p, kind, pl, vid, fr, f"{fld}.parts.{name}", reversed_ok)


def check_part_obj(obj: Any, kind: str, pl: ProblemList, reversed_ok: bool = False) -> None:
    """The part file: {video: {"img_00001.json": {"humans": [...]}}} (``kind`` "gt" or "pred");
    ``reversed_ok``: boxes with x2 < x1 or y2 < y1 are not problems (predictions, as the official scores them)."""
    if not isinstance(obj, dict):
        pl.add(f"expected a JSON object {{video: {{frame file: {{'humans': [...]}}}}}}, got {_type(obj)}")
        return
    for vid, frames in obj.items():
        if not isinstance(frames, dict):
            pl.add(f"expected an object {{frame file: ...}}, got {_type(frames)}", video=vid)
            continue
        for fr, val in frames.items():
            if frame_number(fr) is None:
                pl.add("bad frame file name, expected img_NNNNN.json (5+ digits, from img_00001.json)",
                       video=vid, frame=fr)
            if not isinstance(val, dict) or "humans" not in val:
                pl.add("missing 'humans'" if isinstance(val, dict) else
                       f"frame must be an object {{'humans': [...]}}, got {_type(val)}",
                       video=vid, frame=fr, field="humans")
                continue
            humans = val["humans"]
            if not isinstance(humans, list):
                pl.add(f"humans must be an array, got {_type(humans)}", video=vid, frame=fr, field="humans")
                continue
            if kind == "pred" and len(humans) > MAX_HUMANS:
                pl.add(f"{len(humans)} humans, at most {MAX_HUMANS} allowed", video=vid, frame=fr,
                       field="humans")
            for i, h in enumerate(humans):
                _check_human(h, kind, pl, vid, fr, f"humans[{i}]", reversed_ok)


def check_cross(vid_obj: Any, part_obj: Any, kind: str, vid_pl: ProblemList, part_pl: ProblemList) -> None:
    """Videos of the part file need an action; GT actions need a part entry (official KeyError)."""
    if not (isinstance(vid_obj, dict) and isinstance(part_obj, dict)):
        return
    for vid in part_obj:
        if vid not in vid_obj:
            part_pl.add(f"video has parts but no action in {vid_pl.file}", video=vid)
    if kind == "gt":
        for vid in vid_obj:
            if vid not in part_obj:
                vid_pl.add(f"video has an action but no entry in {part_pl.file}", video=vid)

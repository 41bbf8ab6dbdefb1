"""Kinetics-TPS files: read into a columnar :class:`TpsSet`, write from schema objects, validate.

Files (official names): ``{gt,pred}_vid_result.json`` = {video: action} and
``{gt,pred}_part_result.json`` = {video: {"img_00001.json": {"humans": [{"box": [x1,y1,x2,y2],
"parts": {part: {"box": ..., "verb": ...}}}]}}}; GT parts hold one box and a state string, predicted
parts lists of up to 5 boxes and states. ``img_{frame+1:05d}.json`` is internal 0-based ``frame``.
The part file is decoded by msgspec into typed structs (``tps_decode``); a file it refuses goes through
``jsonio.load_json`` and, if still unusable, the validator, which names every problem.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from deeperaction.errors import InputError, Problem, ProblemList
from deeperaction.formats.jsonio import load_json, no_gc
from deeperaction.formats.tps_columns import Slow, columns
from deeperaction.formats.tps_decode import decode_part_file
from deeperaction.formats.tps_set import TpsSet, frame_file
from deeperaction.formats.tps_validate import check_cross, check_part_obj, check_vid_obj
from deeperaction.formats.tps_write import KINDS, official_paths, write_tps

def _check(kind: str) -> None:
    if kind not in KINDS:
        raise InputError(f"kind must be 'gt' or 'pred', got {kind!r}")


def _problems(vid_obj: Any, part_obj: Any, kind: str, files: tuple[Path, Path], reversed_ok: bool) -> ProblemList:
    vid_pl, part_pl, out = ProblemList(files[0]), ProblemList(files[1]), ProblemList()
    check_vid_obj(vid_obj, vid_pl)
    check_part_obj(part_obj, kind, part_pl, reversed_ok)
    check_cross(vid_obj, part_obj, kind, vid_pl, part_pl)
    out.extend(vid_pl)
    out.extend(part_pl)
    return out


def read_tps(path: str | Path | None = None, kind: str = "gt", *, vid_file: str | Path | None = None,
             part_file: str | Path | None = None, strict: bool = False) -> TpsSet:
    """Read a GT or prediction set from a folder with the official names, or from the two files.

    Raises InputError listing every problem (file, video, frame, field) if the files are invalid.
    Predicted boxes with x2 < x1 or y2 < y1 are kept, as the official scorer scores them (their count and
    first place in ``degenerate``); ``strict`` refuses them. In GT they are always an error.
    """
    _check(kind)
    if path is not None:
        dv, dp = official_paths(path, kind)
        if not Path(path).is_dir():
            raise InputError(f"not a folder (expected one holding {dv.name} and {dp.name})", file=path)
        vid_file, part_file = vid_file or dv, part_file or dp
    if vid_file is None or part_file is None:
        raise InputError(f"give a folder or both the {kind} vid and part files")
    files = (Path(vid_file), Path(part_file))
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise InputError([Problem("no such file", m) for m in missing])
    with no_gc():
        vid_obj = load_json(files[0])
        tps = decode_part_file(files[1].read_bytes(), vid_obj, kind, files) if _actions_ok(vid_obj) else None
        if tps is None:
            part_obj = load_json(files[1])
            tps = _fast_read(vid_obj, part_obj, kind, files)
    if tps is None:
        _problems(vid_obj, part_obj, kind, files, reversed_ok=not strict).raise_if_any()
        raise InputError(f"could not read {kind} files (no specific problem found)", file=files[1])
    if strict and tps.degenerate:
        n, first = tps.degenerate
        raise InputError(f"{first} ({n} boxes with x2 < x1 or y2 < y1 in all; refused by --strict)")
    return tps


def _actions_ok(vid_obj: Any) -> bool:
    return type(vid_obj) is dict and all(type(a) is str for a in vid_obj.values())


def _fast_read(vid_obj: Any, part_obj: Any, kind: str, files: tuple[Path, Path]) -> TpsSet | None:
    fast = _actions_ok(vid_obj)
    if fast and kind == "gt":  # every GT action needs a part entry (official KeyError otherwise)
        fast = type(part_obj) is dict and part_obj.keys() == vid_obj.keys()
    if fast:
        try:
            return columns(vid_obj, part_obj, kind, files)
        except Slow:
            pass
    return None


def validate_tps(paths: str | Path | Iterable[str | Path], kind: str | None = None) -> ProblemList:
    """Check TPS files or folders (kind told from gt_/pred_ names unless given); never raises.

    ``paths``: folders with the official names and/or files; one vid and one part file of the same
    kind are also checked against each other. Returns every problem found.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out = ProblemList()
    loose: dict[str, list[Path]] = {}
    for p in map(Path, paths):
        if not p.exists():
            pl = ProblemList(p)
            pl.add("no such file or folder")
            out.extend(pl)
        elif p.is_dir():
            kinds = [kind] if kind else [k for k in KINDS if any(f.exists() for f in official_paths(p, k))]
            if not kinds:
                pl = ProblemList(p)
                pl.add("no gt_/pred_ result files in this folder")
                out.extend(pl)
            for k in kinds:
                out.extend(_validate_files(*official_paths(p, k), k))
        elif (k := kind or guess_kind(p)) in KINDS:
            loose.setdefault(k, []).append(p)
        else:
            pl = ProblemList(p)
            pl.add("cannot tell gt from pred by the name: pass kind 'gt' or 'pred' (--kind)")
            out.extend(pl)
    for k, files in loose.items():
        vids = [f for f in files if _looks_like_vid(f)]
        parts = [f for f in files if f not in vids]
        if len(vids) == 1 and len(parts) == 1:
            out.extend(_validate_files(vids[0], parts[0], k))
            continue
        for f in vids:
            out.extend(_validate_files(f, None, k))
        for f in parts:
            out.extend(_validate_files(None, f, k))
    return out


def _validate_files(vid: Path | None, part: Path | None, kind: str) -> ProblemList:
    out = ProblemList()
    objs: list[Any] = []
    for f in (vid, part):
        if f is None:
            objs.append(None)
            continue
        try:
            if not f.is_file():
                raise InputError("no such file", file=f)
            with no_gc():
                objs.append(load_json(f))
        except InputError as e:
            out.extend(e.problems)
            objs.append(None)
    if vid is not None and objs[0] is not None:
        pl = ProblemList(vid)
        check_vid_obj(objs[0], pl)
        out.extend(pl)
    if part is not None and objs[1] is not None:
        pl = ProblemList(part)
        check_part_obj(objs[1], kind, pl)
        out.extend(pl)
    if objs[0] is not None and objs[1] is not None:
        vpl, ppl = ProblemList(vid), ProblemList(part)
        check_cross(objs[0], objs[1], kind, vpl, ppl)
        out.extend(vpl)
        out.extend(ppl)
    return out


def guess_kind(path: Path) -> str | None:
    """'gt' or 'pred' from a file name (gt_*/pred_*) or from the official files in a folder."""
    if path.is_dir():
        found = [k for k in KINDS if any(f.exists() for f in official_paths(path, k))]
        return found[0] if len(found) == 1 else None
    name = path.name.lower()
    return "gt" if name.startswith("gt") else "pred" if name.startswith("pred") else None


def _looks_like_vid(path: Path) -> bool:
    name = path.name.lower()
    if "vid" in name and "part" not in name:
        return True
    if "part" in name:
        return False
    return path.stat().st_size < 1 << 20 and b'"humans"' not in path.read_bytes()


__all__ = ["TpsSet", "frame_file", "official_paths", "read_tps", "validate_tps", "write_tps"]

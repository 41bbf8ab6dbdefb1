"""Kinetics-TPS files: read into a columnar :class:`TpsSet`, write from schema objects, validate.

Files (official names): ``{gt,pred}_vid_result.json`` = {video: action} and
``{gt,pred}_part_result.json`` = {video: {"img_00001.json": {"humans": [{"box": [x1,y1,x2,y2],
"parts": {part: {"box": ..., "verb": ...}}}]}}}; GT parts hold one box and a state string, predicted
parts lists of up to 5 boxes and states. ``img_{frame+1:05d}.json`` is internal 0-based ``frame``.
Uses ``orjson`` to parse when it is installed (about 2x faster), else the standard library.
"""
from __future__ import annotations

import gc
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from deeperaction.errors import InputError, Problem, ProblemList
from deeperaction.formats.tps_set import TpsSet, frame_file
from deeperaction.formats.tps_validate import (MAX_HUMANS, MAX_PROPOSALS, check_cross, check_part_obj,
                                               check_vid_obj, frame_number)
from deeperaction.schema import PARTS, VideoParse

try:  # optional fast parser; same objects, same key order
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

KINDS = ("gt", "pred")


def official_paths(folder: str | Path, kind: str) -> tuple[Path, Path]:
    """The official file names in ``folder``: ``{kind}_vid_result.json``, ``{kind}_part_result.json``."""
    folder = Path(folder)
    return folder / f"{kind}_vid_result.json", folder / f"{kind}_part_result.json"


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: building millions of small lists/dicts otherwise triggers
    repeated full collections (3x slower parsing); nothing created here is cyclic."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_json(path: str | Path) -> Any:
    """Parse a JSON file; a syntax error becomes an InputError naming file, line and column."""
    path = Path(path)
    data = path.read_bytes()
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass  # let the standard parser explain (and accept NaN, which validation then names)
    try:
        return json.loads(data)
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text ({e.reason} at byte {e.start})", file=path) from None
    except json.JSONDecodeError as e:
        what = "truncated JSON" if e.pos >= len(data.rstrip()) else "malformed JSON"
        raise InputError(f"{what}: {e.msg} at line {e.lineno} column {e.colno}", file=path) from None


_get_humans, _get_box, _get_parts, _get_verb = (itemgetter(k) for k in ("humans", "box", "parts", "verb"))


class _Slow(Exception):
    """The fast path met something unexpected: run the full validator to name the problems."""


def _boxes(rows: list, n: int) -> np.ndarray:
    """Rows of 4 JSON numbers -> float64 (n, 4); anything else (ragged, strings, null, bool) -> _Slow."""
    if n == 0:
        return np.zeros((0, 4))
    try:
        a = np.array(rows)
    except (ValueError, TypeError):
        raise _Slow from None
    if a.shape != (n, 4) or a.dtype.kind not in "iuf":
        raise _Slow
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all() or (a[:, 2] < a[:, 0]).any() or (a[:, 3] < a[:, 1]).any():
        raise _Slow
    return a


def _intern(values: list, start: list[str]) -> tuple[np.ndarray, list[str]]:
    """Strings -> int64 ids into a vocabulary that begins with ``start``; non-strings -> _Slow."""
    vocab = {s: i for i, s in enumerate(start)}
    try:
        for s in dict.fromkeys(values):
            if type(s) is not str:
                raise _Slow
            if s not in vocab:
                vocab[s] = len(vocab)
    except TypeError:  # unhashable (a list where a string belongs)
        raise _Slow from None
    ids = np.fromiter(map(vocab.__getitem__, values), dtype=np.int64, count=len(values))
    return ids, list(vocab)


def _offsets(counts: list[int]) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _only(items: list, t: type) -> None:
    if not set(map(type, items)) <= {t}:
        raise _Slow


def _columns(actions: dict, part_obj: dict, kind: str, files: tuple[Path, Path]) -> TpsSet:
    """Flatten the part file into a TpsSet with C-level map/chain passes (no Python loop per part);
    raises _Slow on anything unexpected so that the full validator can name it."""
    if type(part_obj) is not dict or not actions.keys() >= part_obj.keys():
        raise _Slow
    gt = kind == "gt"
    chain = itertools.chain.from_iterable
    try:
        video_frames = list(part_obj.values())
        _only(video_frames, dict)
        fnames = list(chain(video_frames))
        humans_lists = list(map(_get_humans, chain(map(dict.values, video_frames))))
        _only(humans_lists, list)
        humans = list(chain(humans_lists))
        hb = list(map(_get_box, humans))
        parts_dicts = list(map(_get_parts, humans))
        _only(parts_dicts, dict)
        pn = list(chain(parts_dicts))
        parts = list(chain(map(dict.values, parts_dicts)))
        pb = list(map(_get_box, parts))
        pv = list(map(_get_verb, parts))
        if not gt:
            _only(pb, list)
            _only(pv, list)
            pnq = list(map(len, pb))
            if pnq != list(map(len, pv)):
                raise _Slow
            pb = list(chain(pb))
            pv = list(chain(pv))
    except (KeyError, TypeError, AttributeError):
        raise _Slow from None
    frame_num = np.fromiter(map(frame_number, fnames), dtype=np.float64, count=len(fnames))
    if np.isnan(frame_num).any():  # frame_number gives None -> nan
        raise _Slow
    n_p = len(pn)
    frame_h0 = _offsets(list(map(len, humans_lists)))
    if not gt and len(fnames) and np.diff(frame_h0).max() > MAX_HUMANS:
        raise _Slow
    human_box = _boxes(hb, len(hb))
    part_name, part_names = _intern(pn, list(PARTS))
    if len(part_names) > len(PARTS):
        raise _Slow
    if gt:
        part_q0 = np.arange(n_p + 1, dtype=np.int64)
    else:
        part_q0 = _offsets(pnq)
        if n_p and np.diff(part_q0).max() > MAX_PROPOSALS:
            raise _Slow
    prop_box = _boxes(pb, int(part_q0[-1]))
    prop_state, states = _intern(pv, [])
    frame_video = np.repeat(np.arange(len(video_frames)), list(map(len, video_frames)))
    return TpsSet(kind, actions, list(part_obj), frame_video, frame_num.astype(np.int64), frame_h0,
                  human_box, _offsets(list(map(len, parts_dicts))), part_name, part_q0, prop_box,
                  prop_state, part_names, states, files)


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise InputError(f"kind must be 'gt' or 'pred', got {kind!r}")


def _problems(vid_obj: Any, part_obj: Any, kind: str, files: tuple[Path, Path]) -> ProblemList:
    vid_pl, part_pl, out = ProblemList(files[0]), ProblemList(files[1]), ProblemList()
    check_vid_obj(vid_obj, vid_pl)
    check_part_obj(part_obj, kind, part_pl)
    check_cross(vid_obj, part_obj, kind, vid_pl, part_pl)
    out.extend(vid_pl)
    out.extend(part_pl)
    return out


def read_tps(path: str | Path | None = None, kind: str = "gt", *, vid_file: str | Path | None = None,
             part_file: str | Path | None = None) -> TpsSet:
    """Read a GT or prediction set from a folder with the official names, or from the two files.

    Raises InputError listing every problem (file, video, frame, field) if the files are invalid.
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
        vid_obj, part_obj = load_json(files[0]), load_json(files[1])
        tps = _fast_read(vid_obj, part_obj, kind, files)
    if tps is not None:
        return tps
    problems = _problems(vid_obj, part_obj, kind, files)
    problems.raise_if_any()
    raise InputError(f"could not read {kind} files (no specific problem found)", file=files[1])


def _fast_read(vid_obj: Any, part_obj: Any, kind: str, files: tuple[Path, Path]) -> TpsSet | None:
    fast = type(vid_obj) is dict and all(type(a) is str for a in vid_obj.values())
    if fast and kind == "gt":  # every GT action needs a part entry (official KeyError otherwise)
        fast = type(part_obj) is dict and part_obj.keys() == vid_obj.keys()
    if fast:
        try:
            return _columns(vid_obj, part_obj, kind, files)
        except _Slow:
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
        k = kind or guess_kind(p)
        if not p.exists():
            pl = ProblemList(p)
            pl.add("no such file or folder")
            out.extend(pl)
        elif k not in KINDS:
            pl = ProblemList(p)
            pl.add("no gt_/pred_ result files in this folder" if p.is_dir() and guess_kind(p) is None
                   and not any(f.exists() for kk in KINDS for f in official_paths(p, kk)) else
                   "cannot tell gt from pred by the name: pass kind 'gt' or 'pred' (--kind)")
            out.extend(pl)
        elif p.is_dir():
            out.extend(_validate_files(*official_paths(p, k), k))
        else:
            loose.setdefault(k, []).append(p)
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


# writing ---------------------------------------------------------------------------------
def _num(x: float) -> int | float:
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def _box(b: np.ndarray) -> list:
    return [_num(v) for v in b]


def write_tps(out_dir: str | Path, parses: Iterable[VideoParse] | Mapping[str, VideoParse],
              kind: str = "gt") -> tuple[Path, Path]:
    """Write ``{kind}_vid_result.json`` and ``{kind}_part_result.json`` from VideoParse objects.

    GT parts take their first proposal; parts without proposals are left out. Frames are written in
    the order given; a video's action must be set.
    """
    _check(kind)
    items = list(parses.values()) if isinstance(parses, Mapping) else list(parses)
    actions: dict[str, str] = {}
    part_obj: dict[str, dict] = {}
    for vp in items:
        if vp.action is None:
            raise InputError("video has no action; set VideoParse.action", video=vp.video_id)
        actions[vp.video_id] = vp.action
        frames: dict[str, dict] = {}
        for fp in vp.frames:
            humans = []
            for person in fp.persons:
                parts: dict[str, dict] = {}
                for name, pd in person.parts.items():
                    if kind == "gt":
                        if len(pd.boxes):
                            parts[name] = {"box": _box(pd.boxes[0]), "verb": pd.states[0]}
                    else:
                        parts[name] = {"box": [_box(b) for b in pd.boxes], "verb": list(pd.states)}
                humans.append({"box": _box(person.box), "parts": parts})
            frames[frame_file(fp.frame)] = {"humans": humans}
        part_obj[vp.video_id] = frames
    vid_path, part_path = official_paths(out_dir, kind)
    vid_path.parent.mkdir(parents=True, exist_ok=True)
    vid_path.write_text(json.dumps(actions))
    part_path.write_text(json.dumps(part_obj, separators=(",", ":")))
    return vid_path, part_path

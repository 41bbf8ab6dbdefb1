"""Flattening of a parsed Kinetics-TPS part file into a :class:`TpsSet` (no loop per part), and the checks
both readers share (``tps_decode`` for msgspec structs, :func:`columns` for ``json`` dicts).

Every step is a C-level ``map``/``chain`` pass or a numpy call; anything unexpected raises
:class:`Slow`, and the caller then runs the full validator to name the problems.
"""
from __future__ import annotations

import itertools
from operator import itemgetter
from pathlib import Path

import numpy as np

from deeperaction.errors import Problem
from deeperaction.formats.tps_set import TpsSet
from deeperaction.formats.tps_validate import MAX_HUMANS, MAX_PROPOSALS, frame_number
from deeperaction.schema import PARTS

_get_humans, _get_box, _get_parts, _get_verb = (itemgetter(k) for k in ("humans", "box", "parts", "verb"))
_IMG, _JSON = np.frombuffer(b"img_", np.uint8), np.frombuffer(b".json", np.uint8)


class Slow(Exception):
    """The fast path met something unexpected: run the full validator to name the problems."""


def offsets(counts: list[int]) -> np.ndarray:
    """CSR offsets ``[0, c0, c0 + c1, ...]`` (int64) of a list of counts."""
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def intern_strings(values: list, start: list[str]) -> tuple[np.ndarray, list[str]]:
    """Strings -> int64 ids into a vocabulary: ``start`` then the other strings, sorted; else Slow."""
    vocab = {s: i for i, s in enumerate(start)}
    try:
        new = set(values).difference(vocab)
    except TypeError:  # unhashable (a list where a string belongs)
        raise Slow from None
    if not all(type(s) is str for s in new):
        raise Slow
    for s in sorted(new):
        vocab[s] = len(vocab)
    ids = np.fromiter(map(vocab.__getitem__, values), dtype=np.int64, count=len(values))
    return ids, list(vocab)


def frame_numbers(names: list[str]) -> np.ndarray:
    """0-based frames of frame-file names (``img_00001.json`` -> 0) as :func:`frame_number`; else Slow.
    The usual 14-character names are read in one numpy pass."""
    raw = "".join(names).encode() if names and all(len(n) == 14 for n in names) else b""
    if len(raw) == 14 * len(names) > 0:  # all ASCII
        m = np.frombuffer(raw, np.uint8).reshape(-1, 14)
        digits = m[:, 4:9].astype(np.int64) - 48
        if ((m[:, :4] == _IMG).all() and (m[:, 9:] == _JSON).all() and ((digits >= 0) & (digits <= 9)).all()):
            out = digits @ np.array([10000, 1000, 100, 10, 1]) - 1
            if (out >= 0).all():
                return out
        raise Slow
    out = np.fromiter((-1 if (f := frame_number(n)) is None else f for n in names), np.int64, count=len(names))
    if (out < 0).any():
        raise Slow
    return out


def check_frame_counts(kind: str, frame_h0: np.ndarray | None, part_q0: np.ndarray | None) -> None:
    """Predictions: at most 10 humans per frame and 5 proposals per part (else Slow: the validator names it)."""
    if kind == "gt":
        return
    if frame_h0 is not None and len(frame_h0) > 1 and np.diff(frame_h0).max() > MAX_HUMANS:
        raise Slow
    if part_q0 is not None and len(part_q0) > 1 and np.diff(part_q0).max() > MAX_PROPOSALS:
        raise Slow


def check_boxes(tps: TpsSet) -> TpsSet:
    """Non-finite boxes -> Slow. Boxes with x2 < x1 or y2 < y1: GT -> Slow (the validator names each one);
    predictions keep them -- the official scorer scores them with its IoU formula -- and ``tps.degenerate``
    holds their count and the first place."""
    for a in (tps.human_box, tps.prop_box):
        if not np.isfinite(a).all():
            raise Slow
    bad_h = (tps.human_box[:, 2] < tps.human_box[:, 0]) | (tps.human_box[:, 3] < tps.human_box[:, 1])
    bad_q = (tps.prop_box[:, 2] < tps.prop_box[:, 0]) | (tps.prop_box[:, 3] < tps.prop_box[:, 1])
    n = int(bad_h.sum() + bad_q.sum())
    if not n:
        return tps
    if tps.kind == "gt":
        raise Slow
    first = _first_place(tps, np.flatnonzero(bad_h), np.flatnonzero(bad_q))
    tps.degenerate = (n, first)
    return tps


def _first_place(tps: TpsSet, bad_h: np.ndarray, bad_q: np.ndarray) -> Problem:
    """Where the first reversed box of the file is (file order: a human's box before its parts')."""
    cands = [(int(h), -1, -1) for h in bad_h[:1]]
    if len(bad_q):
        p = int(np.searchsorted(tps.part_q0, bad_q[0], "right") - 1)
        cands.append((int(np.searchsorted(tps.human_p0, p, "right") - 1), p, int(bad_q[0])))
    h, p, q = min(cands)
    f = int(np.searchsorted(tps.frame_h0, h, "right") - 1)
    fld = f"humans[{h - tps.frame_h0[f]}]"
    fld += ".box" if p < 0 else f".parts.{tps.part_names[tps.part_name[p]]}.box[{q - tps.part_q0[p]}]"
    box = (tps.human_box[h] if p < 0 else tps.prop_box[q]).tolist()
    return Problem(f"x2 < x1 or y2 < y1 in {box}", str(tps.files[1]) if tps.files[1] else None,
                   tps.videos[tps.frame_video[f]], f"img_{int(tps.frame_num[f]) + 1:05d}.json", fld)


def _boxes(rows: list, n: int) -> np.ndarray:
    """Rows of 4 JSON numbers -> float64 (n, 4); anything else (ragged, strings, null, bool) -> Slow."""
    if n == 0:
        return np.zeros((0, 4))
    try:
        a = np.array(rows)
    except (ValueError, TypeError):
        raise Slow from None
    if a.shape != (n, 4) or a.dtype.kind not in "iuf":
        raise Slow
    return a.astype(np.float64, copy=False)


def _only(items: list, t: type) -> None:
    if not set(map(type, items)) <= {t}:
        raise Slow


def columns(actions: dict, part_obj: dict, kind: str, files: tuple[Path, Path]) -> TpsSet:
    """Flatten the part file parsed by ``json`` into a TpsSet with C-level map/chain passes (no Python loop
    per part); raises Slow on anything unexpected so that the full validator can name it."""
    if type(part_obj) is not dict or not actions.keys() >= part_obj.keys():
        raise Slow
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
            # (a non-list box fails later: flattening it gives ragged or non-numeric rows)
            _only(pv, list)
            pnq = list(map(len, pb))
            if pnq != list(map(len, pv)):
                raise Slow
            pb = list(chain(pb))
            pv = list(chain(pv))
    except (KeyError, TypeError, AttributeError):
        raise Slow from None
    frame_num = frame_numbers(fnames)
    n_p = len(pn)
    frame_h0 = offsets(list(map(len, humans_lists)))
    part_q0 = np.arange(n_p + 1, dtype=np.int64) if gt else offsets(pnq)
    check_frame_counts(kind, frame_h0, part_q0)
    human_box = _boxes(hb, len(hb))
    part_name, part_names = intern_strings(pn, list(PARTS))
    if len(part_names) > len(PARTS):
        raise Slow
    prop_box = _boxes(pb, int(part_q0[-1]))
    prop_state, states = intern_strings(pv, [])
    frame_video = np.repeat(np.arange(len(video_frames)), list(map(len, video_frames)))
    return check_boxes(TpsSet(kind, actions, list(part_obj), frame_video, frame_num, frame_h0, human_box,
                                 offsets(list(map(len, parts_dicts))), part_name, part_q0, prop_box, prop_state,
                                 part_names, states, files))

"""Fast flattening of a parsed Kinetics-TPS part file into a :class:`TpsSet` (no loop per part).

Every step is a C-level ``map``/``chain`` pass or a numpy call; anything unexpected raises
:class:`Slow`, and the caller then runs the full validator to name the problems.
"""
from __future__ import annotations

import itertools
from operator import itemgetter
from pathlib import Path

import numpy as np

from deeperaction.formats.tps_set import TpsSet
from deeperaction.formats.tps_validate import MAX_HUMANS, MAX_PROPOSALS, frame_number
from deeperaction.schema import PARTS

_get_humans, _get_box, _get_parts, _get_verb = (itemgetter(k) for k in ("humans", "box", "parts", "verb"))


class Slow(Exception):
    """The fast path met something unexpected: run the full validator to name the problems."""


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
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all() or (a[:, 2] < a[:, 0]).any() or (a[:, 3] < a[:, 1]).any():
        raise Slow
    return a


def _intern(values: list, start: list[str]) -> tuple[np.ndarray, list[str]]:
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


def _offsets(counts: list[int]) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _only(items: list, t: type) -> None:
    if not set(map(type, items)) <= {t}:
        raise Slow


def columns(actions: dict, part_obj: dict, kind: str, files: tuple[Path, Path]) -> TpsSet:
    """Flatten the part file into a TpsSet with C-level map/chain passes (no Python loop per part);
    raises Slow on anything unexpected so that the full validator can name it."""
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
    frame_num = np.fromiter(map(frame_number, fnames), dtype=np.float64, count=len(fnames))
    if np.isnan(frame_num).any():  # frame_number gives None -> nan
        raise Slow
    n_p = len(pn)
    frame_h0 = _offsets(list(map(len, humans_lists)))
    if not gt and len(fnames) and np.diff(frame_h0).max() > MAX_HUMANS:
        raise Slow
    human_box = _boxes(hb, len(hb))
    part_name, part_names = _intern(pn, list(PARTS))
    if len(part_names) > len(PARTS):
        raise Slow
    if gt:
        part_q0 = np.arange(n_p + 1, dtype=np.int64)
    else:
        part_q0 = _offsets(pnq)
        if n_p and np.diff(part_q0).max() > MAX_PROPOSALS:
            raise Slow
    prop_box = _boxes(pb, int(part_q0[-1]))
    prop_state, states = _intern(pv, [])
    frame_video = np.repeat(np.arange(len(video_frames)), list(map(len, video_frames)))
    return TpsSet(kind, actions, list(part_obj), frame_video, frame_num.astype(np.int64), frame_h0,
                  human_box, _offsets(list(map(len, parts_dicts))), part_name, part_q0, prop_box,
                  prop_state, part_names, states, files)



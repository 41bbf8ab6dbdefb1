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


# --- from raw bytes (tps_fastparse) ----------------------------------------------------------

_K1, _K2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)
_BITS = 16
_POPCOUNT = np.array([bin(i).count("1") for i in range(1 << 13)], dtype=np.int64)


def _strings(b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[str]:
    return [b[i:j].tobytes().decode("utf-8") for i, j in zip(lo.tolist(), hi.tolist())]


def intern_spans(b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Strings ``b[lo:hi]`` -> int64 ids into their sorted vocabulary (as ``_intern(values, [])``).

    Up to 16 bytes a string packs exactly into two zero-padded words (JSON strings hold no NUL);
    a 16-bit hash of the words picks a table slot, checked against the slot's first string.
    """
    n = lo.size
    length = hi - lo
    if n == 0 or length.max() > 16:
        return _intern(_strings(b, lo, hi), []) if n else (np.zeros(0, np.int64), [])
    padded = np.concatenate([b, np.zeros(16, np.uint8)])
    m = np.lib.stride_tricks.sliding_window_view(padded, 16)[lo]
    m = m * (np.arange(16) < length[:, None])
    w = m.view("<u8")
    h = (w[:, 0] * _K1 + w[:, 1] * _K2) >> np.uint64(64 - _BITS)
    slot = np.full(1 << _BITS, -1, np.int64)
    slot[h] = np.arange(n)
    rep = slot[h]
    if not (w[rep] == w).all():  # two strings share a slot (about 1 in 10^4 vocabularies)
        return _intern(_strings(b, lo, hi), [])
    used = np.flatnonzero(slot >= 0)
    first = slot[used]
    words = _strings(b, lo[first], hi[first])
    order = sorted(range(len(words)), key=words.__getitem__)
    ids = np.zeros(1 << _BITS, np.int64)
    ids[used[order]] = np.arange(len(order))
    return ids[h], [words[i] for i in order]


def _frame_numbers(b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """0-based frames of frame-file names (``img_00001.json`` -> 0) as ``frame_number``; else Slow."""
    out = np.zeros(lo.size, np.int64)
    length = hi - lo
    short = np.flatnonzero(length == 14)  # img_ + 5 digits + .json, vectorized
    if short.size:
        m = np.lib.stride_tricks.sliding_window_view(b, 14)[lo[short]]
        digits = m[:, 4:9].astype(np.int64) - 48
        if not ((m[:, :4] == np.frombuffer(b"img_", np.uint8)).all()
                and (m[:, 9:] == np.frombuffer(b".json", np.uint8)).all()
                and ((digits >= 0) & (digits <= 9)).all()):
            raise Slow
        out[short] = digits @ np.array([10000, 1000, 100, 10, 1]) - 1
    other = np.flatnonzero(length != 14)
    for i, name in zip(other, _strings(b, lo[other], hi[other])):
        f = frame_number(name) if len(name) <= 18 else None  # up to 9 digits
        if f is None:
            raise Slow
        out[i] = f
    if (out < 0).any():
        raise Slow
    return out


def _check_boxes(a: np.ndarray) -> None:
    if not np.isfinite(a).all() or (a[:, 2] < a[:, 0]).any() or (a[:, 3] < a[:, 1]).any():
        raise Slow


def columns_from_bytes(data: bytes, actions: dict, kind: str, files: tuple[Path, Path]) -> TpsSet | None:
    """The TpsSet of a part file's raw bytes, identical to ``columns(actions, json.loads(data), ...)``;
    None when the file is not in the regular layout or needs the full validator."""
    from deeperaction.formats.tps_fastparse import scan

    sc = scan(data, kind)
    if sc is None:
        return None
    try:
        return _assemble(sc, actions, kind, files)
    except Slow:
        return None


def _assemble(sc, actions: dict, kind: str, files: tuple[Path, Path]) -> TpsSet:
    b, sk, st = sc.b, sc.sk, sc.str_tok
    is_key = sk[st + 1] == ord(":")
    # a key opening an object: s : { X ... -- X is H for a frame; } or a frame key (s : {) for a
    # video; B or an extra key (s : n|s, e.g. "number": 1) for a part
    opens = is_key & (sk[st + 2] == ord("{"))
    inner, inner2 = sk[st + 3], sk[st + 5]
    fr = np.flatnonzero(opens & (inner == ord("H")))
    vid = np.flatnonzero(opens & ((inner == ord("}")) | (inner == ord("s")) & (inner2 == ord("{"))))
    pt = np.flatnonzero(opens & ((inner == ord("B")) | (inner == ord("s")) & (inner2 != ord("{"))))
    vk, fk, pk, verb_tok = st[vid], st[fr], st[pt], st[~is_key]
    videos = _strings(b, sc.str_lo[vid], sc.str_hi[vid])
    if len(set(videos)) != len(videos) or not actions.keys() >= set(videos):
        raise Slow
    if kind == "gt" and len(videos) != len(actions):  # every GT action needs a part entry
        raise Slow
    n_f = fk.size
    frame_video = np.repeat(np.arange(len(videos)), np.diff(np.r_[np.searchsorted(fk, vk), n_f]))
    frame_num = _frame_numbers(b, sc.str_lo[fr], sc.str_hi[fr])
    if np.unique(frame_video * 10**9 + frame_num).size != n_f:  # a frame named twice
        raise Slow
    hk = np.flatnonzero(sk == ord("{"))
    hk = hk[(sk[hk - 1] == ord("[")) | (sk[hk - 1] == ord(","))]  # humans: the only objects in lists
    frame_h0 = np.r_[np.searchsorted(hk, fk), hk.size]
    if kind != "gt" and n_f and np.diff(frame_h0).max() > MAX_HUMANS:
        raise Slow
    boxes = sc.num.reshape(-1, 4)
    box_tok = sc.num_tok[0::4]  # token of each box's first number
    is_human = np.zeros(len(boxes), bool)
    is_human[np.searchsorted(box_tok, hk)] = True  # a human's first box is its own
    human_box, prop_box = boxes[is_human], boxes[~is_human]
    _check_boxes(human_box)
    _check_boxes(prop_box)
    human_p0 = np.r_[np.searchsorted(pk, hk), pk.size]
    if hk.size and np.diff(human_p0).max() > len(PARTS):
        raise Slow  # some part named twice
    ids, names = intern_spans(b, sc.str_lo[pt], sc.str_hi[pt])
    try:
        remap = np.array([PARTS.index(x) for x in names], dtype=np.int64)
    except ValueError:
        raise Slow from None
    part_name = remap[ids] if ids.size else np.zeros(0, np.int64)
    sums = np.r_[0, np.cumsum(np.left_shift(1, part_name))]  # distinct powers of 2 add without carry
    if (_POPCOUNT[sums[human_p0[1:]] - sums[human_p0[:-1]]] != np.diff(human_p0)).any():
        raise Slow  # a part named twice in one human
    if kind == "gt":
        part_q0 = np.arange(pk.size + 1, dtype=np.int64)
    else:
        part_q0 = np.r_[np.searchsorted(box_tok[~is_human], pk), len(prop_box)]
        if not np.array_equal(part_q0, np.r_[np.searchsorted(verb_tok, pk), verb_tok.size]):
            raise Slow  # box and verb lists of different lengths
        if pk.size and np.diff(part_q0).max() > MAX_PROPOSALS:
            raise Slow
    verbs = ~is_key
    prop_state, states = intern_spans(b, sc.str_lo[verbs], sc.str_hi[verbs])
    return TpsSet(kind, actions, videos, frame_video, frame_num, frame_h0.astype(np.int64), human_box,
                  human_p0.astype(np.int64), part_name, part_q0.astype(np.int64), prop_box, prop_state,
                  list(PARTS), states, files)

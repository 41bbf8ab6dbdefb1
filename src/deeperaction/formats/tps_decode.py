"""Kinetics-TPS part files decoded by msgspec straight into typed structs, then flattened into a TpsSet.

msgspec checks the official layout while it parses (every box 4 numbers, every state a string, the keys
``humans``/``box``/``parts``/``verb`` present, other keys ignored) and builds small structs instead of
dicts; the structs are flattened with C-level ``map``/``chain`` passes, no Python loop per part. A file
msgspec refuses, or one the flattening does not expect, gives None: the caller then parses it with the
standard library and the full validator, which names every problem. Numbers are msgspec's correctly
rounded doubles, bit for bit what ``json.loads`` gives (a differential property test holds it to that).
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable
from operator import attrgetter
from pathlib import Path

import msgspec
import numpy as np

from deeperaction.formats.jsonio import no_gc
from deeperaction.formats.tps_columns import (Slow, check_boxes, check_frame_counts, frame_numbers,
                                              intern_strings, offsets)
from deeperaction.formats.tps_set import TpsSet
from deeperaction.schema import PARTS

Box = tuple[float, float, float, float]


class _GtPart(msgspec.Struct, gc=False):
    box: Box
    verb: str


class _GtHuman(msgspec.Struct, gc=False):
    box: Box
    parts: dict[str, _GtPart]


class _GtFrame(msgspec.Struct, gc=False):
    humans: list[_GtHuman]


class _PredPart(msgspec.Struct, gc=False):
    box: list[Box]
    verb: list[str]


class _PredHuman(msgspec.Struct, gc=False):
    box: Box
    parts: dict[str, _PredPart]


class _PredFrame(msgspec.Struct, gc=False):
    humans: list[_PredHuman]


_DECODERS = {"gt": msgspec.json.Decoder(dict[str, dict[str, _GtFrame]]),
             "pred": msgspec.json.Decoder(dict[str, dict[str, _PredFrame]])}
_chain = itertools.chain.from_iterable
_humans, _box, _parts, _verb = (attrgetter(k) for k in ("humans", "box", "parts", "verb"))


def _boxes(rows: Iterable[Box], n: int) -> np.ndarray:
    return np.fromiter(_chain(rows), np.float64, count=4 * n).reshape(n, 4)


_CHUNK_BYTES = 2 << 20  # decode this much JSON at a time: the structs of a whole file would need ~10x its size


def decode_part_file(data: bytes, actions: dict[str, str], kind: str, files: tuple[Path, Path]) -> TpsSet | None:
    """The TpsSet of a part file's bytes, identical to ``columns(actions, json.loads(data), ...)``; None
    when msgspec or the flattening refuses it (the caller then runs the validator to name the problem).
    Large files are decoded a group of whole videos at a time (same result, a fraction of the memory)."""
    try:
        with no_gc():
            tps = _decode(data, kind) if len(data) <= _CHUNK_BYTES else _decode_in_chunks(data, kind)
        if tps is None:
            return None
        if not actions.keys() >= set(tps.videos) or (kind == "gt" and len(tps.videos) != len(actions)):
            return None  # a video without an action, or a GT action without parts: the validator names it
        tps.actions, tps.files = actions, files
        return check_boxes(tps)
    except Slow:
        return None


def _decode_in_chunks(data: bytes, kind: str) -> TpsSet | None:
    """Split the top-level object into groups of whole videos of about ``_CHUNK_BYTES`` (msgspec keeps each
    video as raw JSON), decode the groups one by one and join their columns in file order."""
    try:
        top = msgspec.json.decode(data, type=dict[str, msgspec.Raw])
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    items = list(top.items())
    del top
    ends = np.cumsum([len(raw) for _, raw in items])
    cuts = np.unique(np.searchsorted(ends, np.arange(_CHUNK_BYTES, ends[-1] if len(ends) else 0, _CHUNK_BYTES)))
    parts = []
    for lo, hi in zip(np.r_[0, cuts + 1], np.r_[cuts + 1, len(items)]):
        if hi > lo:
            chunk = b"{" + b",".join(msgspec.json.encode(k) + b":" + bytes(raw) for k, raw in items[lo:hi]) + b"}"
            parts.append(_decode(chunk, kind))
            if parts[-1] is None:
                return None
    return concat_sets(parts) if parts else _decode(b"{}", kind)


def _decode(data: bytes, kind: str) -> TpsSet | None:
    """Columns of a part file, without its actions; None if msgspec refuses it."""
    try:
        obj = _DECODERS[kind].decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    video_frames = list(obj.values())
    frame_num = frame_numbers(list(_chain(video_frames)))
    humans_lists = list(map(_humans, _chain(map(dict.values, video_frames))))
    humans = list(_chain(humans_lists))
    frame_h0 = offsets(list(map(len, humans_lists)))
    check_frame_counts(kind, frame_h0, None)
    human_box = _boxes(map(_box, humans), len(humans))
    parts_dicts = list(map(_parts, humans))
    human_p0 = offsets(list(map(len, parts_dicts)))
    part_name, names = intern_strings(list(_chain(parts_dicts)), list(PARTS))
    if len(names) > len(PARTS):
        raise Slow  # an unknown part name
    parts = list(_chain(map(dict.values, parts_dicts)))
    del humans, humans_lists, parts_dicts
    boxes, verbs = list(map(_box, parts)), list(map(_verb, parts))
    del parts
    if kind == "gt":
        part_q0 = np.arange(len(boxes) + 1, dtype=np.int64)
        prop_box = _boxes(boxes, len(boxes))
    else:
        n_q = list(map(len, boxes))
        if n_q != list(map(len, verbs)):
            raise Slow  # box and verb lists of different lengths
        part_q0 = offsets(n_q)
        check_frame_counts(kind, None, part_q0)
        prop_box = _boxes(_chain(boxes), int(part_q0[-1]))
        verbs = list(_chain(verbs))
    del boxes
    prop_state, states = intern_strings(verbs, [])
    frame_video = np.repeat(np.arange(len(video_frames)), list(map(len, video_frames)))
    return TpsSet(kind, {}, list(obj), frame_video, frame_num, frame_h0, human_box, human_p0, part_name, part_q0,
                  prop_box, prop_state, list(PARTS), states)


def concat_sets(parts: list[TpsSet]) -> TpsSet:
    """Join the columns of consecutive groups of videos of one file into one TpsSet (state vocabulary merged
    and sorted, as one decode makes it)."""
    if len(parts) == 1:
        return parts[0]
    states = sorted(set(itertools.chain.from_iterable(p.states for p in parts)))
    index = {s: i for i, s in enumerate(states)}

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])

    def cat_offsets(name: str, count) -> np.ndarray:  # CSR offsets: drop each group's end, shift by the counts before
        shift = np.cumsum([0] + [count(p) for p in parts])
        return np.concatenate([getattr(p, name)[:-1] + shift[k] for k, p in enumerate(parts)] + [shift[-1:]])

    frame_video = np.concatenate([p.frame_video + k for p, k in
                                  zip(parts, np.cumsum([0] + [len(p.videos) for p in parts]))])
    prop_state = np.concatenate([np.array([index[s] for s in p.states] + [0], np.int64)[p.prop_state] for p in parts])
    return TpsSet(parts[0].kind, {}, [v for p in parts for v in p.videos], frame_video, cat("frame_num"),
                  cat_offsets("frame_h0", lambda p: p.n_humans), cat("human_box"),
                  cat_offsets("human_p0", lambda p: p.n_parts), cat("part_name"),
                  cat_offsets("part_q0", lambda p: len(p.prop_box)), cat("prop_box"), prop_state, list(PARTS), states)

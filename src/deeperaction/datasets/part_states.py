"""Part-state training data from the Kinetics-TPS layout: one sample per annotated (frame, person) with the
person box, the 10 part boxes, their state ids and the video's action (the RoI head); or per video, the most
frequent state of each part over its annotated persons and frames (video-level states, 2nd-place report,
a target for a video classifier whose answer is broadcast). Clips come from the clip cache.

Any TPS GT folder works (``gt_vid_result.json`` + ``gt_part_result.json`` beside the videos, as
``deeperaction synth`` writes them). Boxes are kept in the source video's pixels and scaled to the cache
frame size when a sample is read. A training sample may be flipped left/right (left and right parts swap
boxes, masks and states: their vocabularies are the same).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deeperaction.datasets.clip_cache import ClipCache
from deeperaction.datasets.clips import CachedClips, KeyframeClips, VideoItem, crop_square, square_around
from deeperaction.datasets.transforms import _swap_index
from deeperaction.errors import InputError, ProblemList
from deeperaction.formats.kinetics_tps import read_tps
from deeperaction.kinematics.vocab import PART_STATES
from deeperaction.schema import PARTS, VideoParse

IGNORE = -100
"""State id of a part without a label (absent part): ignored by the loss and the accuracy."""
MAX_STATES = max(len(v) for v in PART_STATES.values())
PART_FLIP: list[int] = _swap_index(PARTS)
"""``x[..., PART_FLIP]`` swaps left and right parts."""
STATE_INDEX: list[dict[str, int]] = [{s: i for i, s in enumerate(PART_STATES[p])} for p in PARTS]


@dataclass
class PartTable:
    """Every annotated (frame, person) of a set, as arrays: ``video`` (N,) index into ``video_ids``,
    ``frame`` (N,) 0-based, ``boxes`` (N, 11, 4) person then parts (source pixels), ``mask`` (N, 10),
    ``states`` (N, 10) ids into ``PART_STATES[part]`` (IGNORE where absent), ``action`` (N,)."""

    video_ids: list[str]
    video: np.ndarray
    frame: np.ndarray
    boxes: np.ndarray
    mask: np.ndarray
    states: np.ndarray
    action: np.ndarray

    def __len__(self) -> int:
        return len(self.video)


def parse_table(parses: dict[str, VideoParse], classes: list[str], unknown_ok: bool = False) -> PartTable:
    """Flatten GT parses into a :class:`PartTable`; an unknown state or action is reported (all at once)."""
    problems = ProblemList("gt_part_result.json")
    index = {c: i for i, c in enumerate(classes)}
    rows: list[tuple] = []
    vids = list(parses)
    for v, vid in enumerate(vids):
        vp = parses[vid]
        a = index.get(vp.action or "", len(classes))
        if a == len(classes) and not unknown_ok:
            problems.add(f"action {vp.action!r} is not one of the {len(classes)} classes", video=vid)
        for fp in vp.frames:
            for person in fp.persons:
                boxes = np.zeros((len(PARTS) + 1, 4), np.float32)
                boxes[0] = person.box
                mask = np.zeros(len(PARTS), bool)
                states = np.full(len(PARTS), IGNORE, np.int64)
                for k, name in enumerate(PARTS):
                    det = person.parts.get(name)
                    if det is None or len(det.boxes) == 0:
                        continue
                    s = STATE_INDEX[k].get(det.states[0])
                    if s is None:
                        problems.add(f"state {det.states[0]!r} is not one of {PART_STATES[name]}", video=vid,
                                     frame=fp.frame, field=name)
                        continue
                    boxes[k + 1], mask[k], states[k] = det.boxes[0], True, s
                if mask.any():
                    rows.append((v, fp.frame, boxes, mask, states, a))
    problems.raise_if_any()
    if not rows:
        raise InputError("no annotated person with parts in the ground truth")
    v, f, b, m, s, a = zip(*rows)
    return PartTable(vids, np.array(v), np.array(f), np.stack(b), np.stack(m), np.stack(s), np.array(a))


def read_part_table(root: str | Path, classes: list[str] | None = None,
                    unknown_ok: bool = False) -> tuple[PartTable, list[str]]:
    """The :class:`PartTable` of a TPS GT folder and the action classes (sorted, unless given); with
    ``unknown_ok`` an action outside ``classes`` gets the "unknown" id ``len(classes)``."""
    parses = read_tps(root, kind="gt").to_parses()
    classes = classes if classes is not None else sorted({vp.action for vp in parses.values() if vp.action})
    return parse_table(parses, classes, unknown_ok), classes


def flip_sample(clip: np.ndarray, boxes: np.ndarray, mask: np.ndarray, states: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mirror a sample: ``clip (T, H, W, 3)``, ``boxes (11, 4)`` in clip pixels; left/right parts swap."""
    w = clip.shape[2]
    b = boxes.copy()
    b[:, [0, 2]] = w - boxes[:, [2, 0]]
    b[1:] = b[1:][PART_FLIP]
    return clip[:, :, ::-1], b, mask[PART_FLIP], states[PART_FLIP]


def person_crop(clip: np.ndarray, boxes: np.ndarray, margin: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A person-centred sample (``data.crop_mode: person``): the square around the person box ``boxes[0]``
    grown by ``margin``, resized to ``size``; ``boxes (11, 4)`` (person, parts) moved into its pixels."""
    cx, cy, side = square_around(boxes[:1].astype(np.float64), margin, clip.shape[1:3])
    s = size / side
    out = boxes.astype(np.float32).copy()
    out[:, [0, 2]] = (boxes[:, [0, 2]] - cx) * s + size / 2
    out[:, [1, 3]] = (boxes[:, [1, 3]] - cy) * s + size / 2
    return crop_square(clip, (cx, cy, side), size), out


class PartStateClips(KeyframeClips):
    """Samples ``((clip uint8 (T, H, W, 3), boxes (11, 4) clip pixels, mask (10,), action), states (10,))``;
    the clip is centred on the annotated frame (``clip_len`` frames ``stride`` source frames apart); with
    ``person_size``, a square of that side around the person (``margin`` context) instead of the whole frame."""

    def __init__(self, cache: ClipCache, table: PartTable, sizes: dict[str, tuple[int, int]], clip_len: int = 8,
                 stride: int = 2, train: bool = True, flip: float = 0.5, seed: int = 0, person_size: int = 0,
                 margin: float = 0.3):
        super().__init__(cache, table.video_ids, [sizes[v] for v in table.video_ids],
                         clip_len=clip_len, stride=stride, seed=seed)
        self.table, self.train, self.flip, self.person_size, self.margin = table, train, flip, person_size, margin

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i: int):
        t = self.table
        v = t.video[i]
        clip = self.cache.clip(self.cache_ix[v], self.clip_indices(int(t.frame[i])))
        boxes, mask, states = t.boxes[i] * self.scale[v], t.mask[i], t.states[i]
        if self.person_size:
            clip, boxes = person_crop(clip, boxes, self.margin, self.person_size)
        if self.train and self.flip > 0 and np.random.default_rng([self.seed, self.epoch, i]).random() < self.flip:
            clip, boxes, mask, states = flip_sample(clip, boxes, mask, states)
        x = (torch.from_numpy(np.ascontiguousarray(clip)), torch.from_numpy(boxes.astype(np.float32)),
             torch.from_numpy(mask.copy()), int(t.action[i]))
        return x, torch.from_numpy(states.copy())


def video_state_targets(table: PartTable) -> dict[str, np.ndarray]:
    """``{video: (10,) state ids}``: most frequent state of each part (ties: lower id); IGNORE if unseen."""
    V, P = len(table.video_ids), len(PARTS)
    counts = np.zeros((V, P, MAX_STATES), np.int64)
    v = np.repeat(table.video, P)
    p = np.tile(np.arange(P), len(table.video))
    s = table.states.reshape(-1)
    ok = s != IGNORE
    np.add.at(counts, (v[ok], p[ok], s[ok]), 1)
    best = np.where(counts.sum(-1) > 0, counts.argmax(-1), IGNORE)
    return {vid: best[i] for i, vid in enumerate(table.video_ids)}


class VideoStateClips(CachedClips):
    """Clips of whole videos (one random clip when training, ``test_clips`` uniform ones otherwise) with the
    video's ``(10,)`` state targets (no flip: the targets would need their left/right swapped)."""

    def __init__(self, cache: ClipCache, items: list[VideoItem], targets: dict[str, np.ndarray], clip_len: int = 8,
                 stride: int = 2, train: bool = True, test_clips: int = 4, seed: int = 0):
        super().__init__(cache, items, clip_len, stride, train, test_clips, seed)
        full = np.full(len(PARTS), IGNORE, np.int64)
        self.targets = [torch.from_numpy(np.asarray(targets.get(it.video_id, full), np.int64)) for it in items]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        clips, _ = super().__getitem__(i)
        return clips, self.targets[i]

"""MultiSports data held in memory: the class list, the GT, frame detections and tubes as flat arrays
(what the readers in :mod:`deeperaction.formats.multisports` return and the metrics consume)."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from deeperaction.errors import InputError
from deeperaction.schema import Tube


MULTISPORTS_LABELS: tuple[str, ...] = (
    "aerobic push up", "aerobic explosive push up", "aerobic explosive support", "aerobic leg circle",
    "aerobic helicopter", "aerobic support", "aerobic v support", "aerobic horizontal support",
    "aerobic straight jump", "aerobic illusion", "aerobic bent leg(s) jump", "aerobic pike jump",
    "aerobic straddle jump", "aerobic split jump", "aerobic scissors leap", "aerobic kick jump",
    "aerobic off axis jump", "aerobic butterfly jump", "aerobic split", "aerobic turn",
    "aerobic balance turn", "volleyball serve", "volleyball block", "volleyball first pass",
    "volleyball defend", "volleyball protect", "volleyball second pass", "volleyball adjust",
    "volleyball save", "volleyball second attack", "volleyball spike", "volleyball dink",
    "volleyball no offensive attack", "football shoot", "football long pass", "football short pass",
    "football through pass", "football cross", "football dribble", "football trap", "football throw",
    "football diving", "football tackle", "football steal", "football clearance", "football block",
    "football press", "football aerial duels", "basketball pass", "basketball drive",
    "basketball dribble", "basketball 3-point shot", "basketball 2-point shot", "basketball free throw",
    "basketball block", "basketball offensive rebound", "basketball defensive rebound",
    "basketball pass steal", "basketball dribble steal", "basketball interfere shot",
    "basketball pick-and-roll defensive", "basketball sag", "basketball screen",
    "basketball pass-inbound", "basketball save", "basketball jump ball",
)
"""The 66 official class names in the official GT order (label index = position)."""

NEVER_SCORED: frozenset[str] = frozenset({
    "aerobic kick jump", "aerobic off axis jump", "aerobic butterfly jump", "aerobic balance turn",
    "basketball save", "basketball jump ball"})
"""Classes both official scorers skip by name (too few instances)."""


class LabelInfo(NamedTuple):
    """One official class: index in the GT ``labels`` list, name, sport, and whether it is scored."""

    index: int
    name: str
    sport: str
    scored: bool


def multisports_default_labels() -> list[LabelInfo]:
    """The 66 official MultiSports classes in official order, the 6 never-scored ones marked."""
    return [LabelInfo(i, n, n.split(" ", 1)[0], n not in NEVER_SCORED) for i, n in enumerate(MULTISPORTS_LABELS)]


@dataclass
class TubeArrays:
    """Many tubes as flat arrays (what the video metric consumes).

    Tube ``i`` has rows ``offsets[i]:offsets[i+1]`` of ``boxes``; frames ``start[i]..end[i]`` (1-based,
    contiguous). ``is_f32[i]`` says the file stored it as float32 (the official scorer then computes its
    ST-IoU in float32). ``video`` indexes ``test_videos`` (-1: not a test video).
    """

    label: np.ndarray
    video: np.ndarray
    score: np.ndarray
    start: np.ndarray
    end: np.ndarray
    offsets: np.ndarray
    boxes: np.ndarray
    is_f32: np.ndarray
    video_ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.label)


@dataclass
class MultiSportsGT:
    """A MultiSports ground-truth pickle; ``gttubes`` keeps the file's arrays (1-based frames)."""

    labels: list[str]
    test_videos: list[str]
    train_videos: list[str]
    nframes: dict[str, int]
    resolution: dict[str, tuple[int, int]]
    gttubes: dict[str, dict[int, list[np.ndarray]]]
    path: str | None = None
    warnings: list[str] = field(default_factory=list)
    _arrays: TubeArrays | None = field(default=None, repr=False)

    def subset(self, name: str) -> "MultiSportsGT":
        """The GT scored on another split: ``"test"`` (the official scorer's ``test_videos``) or ``"train"``
        (``train_videos`` take their place, so detections index into that list)."""
        if name == "test":
            return self
        if name != "train":
            raise InputError(f"subset must be 'test' or 'train', got {name!r}", file=self.path, field="subset")
        return dataclasses.replace(self, test_videos=list(self.train_videos), _arrays=None)

    def tubes(self, videos: Iterable[str] | None = None) -> list[Tube]:
        """The GT tubes of ``videos`` (default: test videos) as schema Tubes (0-based frames, label names)."""
        out = []
        for v in (self.test_videos if videos is None else videos):
            for lab, tubes in self.gttubes.get(v, {}).items():
                for t in tubes:
                    out.append(Tube(v, self.labels[lab], 1.0, t[:, 0].astype(np.int64) - 1, t[:, 1:5]))
        return out

    def tube_arrays(self) -> TubeArrays:
        """Test-video tubes as flat arrays, in the official order (video list order, then label, then list)."""
        if self._arrays is None:
            items = [(iv, lab, t) for iv, v in enumerate(self.test_videos)
                     for lab, ts in self.gttubes[v].items() for t in ts]
            self._arrays = flatten_tubes(
                [t for _, _, t in items], np.array([lab for _, lab, _ in items], dtype=np.int64),
                np.array([iv for iv, _, _ in items], dtype=np.int64), np.ones(len(items)), ncols=5)
        return self._arrays


@dataclass
class FrameDetections:
    """Rows of ``frame_detections.pkl``: video index, 1-based frame, label index, score, box.

    ``boxes`` keeps the file's dtype (the official scorer computes box areas in it).
    """

    video: np.ndarray
    frame: np.ndarray
    label: np.ndarray
    score: np.ndarray
    boxes: np.ndarray
    path: str | None = None
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.video)


@dataclass
class VideoDetections:
    """Tubes of ``video_detections.pkl`` as :class:`TubeArrays` (file order within each label)."""

    tubes: TubeArrays
    path: str | None = None
    warnings: list[str] = field(default_factory=list)


def concat_rows(arrs: list[np.ndarray], ncols: int) -> np.ndarray:
    return np.concatenate(arrs, dtype=np.float64) if arrs else np.zeros((0, ncols))


def flatten_tubes(arrs: list[np.ndarray], label: np.ndarray, video: np.ndarray, score: np.ndarray,
                   ncols: int, video_ids: list[str] | None = None, cat: np.ndarray | None = None) -> TubeArrays:
    """Concatenate checked tube arrays (frame + box columns first) into :class:`TubeArrays`."""
    lens = np.array([len(a) for a in arrs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    cat = concat_rows(arrs, ncols) if cat is None else cat
    first, last = offsets[:-1], np.maximum(offsets[1:] - 1, 0)
    return TubeArrays(label=label.astype(np.int64), video=video.astype(np.int64),
                      score=np.asarray(score, dtype=np.float64), start=cat[first, 0].astype(np.int64)
                      if len(arrs) else np.zeros(0, np.int64), end=cat[last, 0].astype(np.int64)
                      if len(arrs) else np.zeros(0, np.int64), offsets=offsets,
                      boxes=np.ascontiguousarray(cat[:, 1:5]),
                      is_f32=np.array([a.dtype == np.float32 for a in arrs], dtype=bool),
                      video_ids=list(video_ids or []))

"""The columnar in-memory form of a Kinetics-TPS file pair (GT or predictions).

Everything is a flat numpy array with CSR-style offsets (video -> frames -> humans -> parts ->
proposals), so the metric can work without per-box Python loops. A GT part is a part with exactly
one proposal. Order follows the files (the official Score sums in file order).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deeperaction.errors import Problem
from deeperaction.schema import FrameParse, PartDet, Person, VideoParse


def frame_file(frame: int) -> str:
    """Official frame file name of a 0-based frame: frame 0 -> ``img_00001.json``."""
    return f"img_{frame + 1:05d}.json"


@dataclass
class TpsSet:
    """A Kinetics-TPS GT or prediction set: the actions dict plus flat arrays of humans and parts.

    ``frame_h0[f]:frame_h0[f+1]`` are frame ``f``'s humans, ``human_p0[h]:human_p0[h+1]`` human
    ``h``'s parts (in file order), ``part_q0[p]:part_q0[p+1]`` part ``p``'s proposals.
    ``part_name``/``prop_state`` index ``part_names``/``states``.
    """

    kind: str  # "gt" or "pred"
    actions: dict[str, str]  # video -> action, in file order
    videos: list[str]  # every video of the part file (all of them also in ``actions`` once valid)
    frame_video: np.ndarray  # (F,) int64 index into ``videos``
    frame_num: np.ndarray  # (F,) int64 0-based frame (img_00001.json -> 0)
    frame_h0: np.ndarray  # (F+1,) int64 offsets into humans
    human_box: np.ndarray  # (H, 4) float64 x1, y1, x2, y2
    human_p0: np.ndarray  # (H+1,) int64 offsets into parts
    part_name: np.ndarray  # (P,) int64 index into ``part_names``
    part_q0: np.ndarray  # (P+1,) int64 offsets into proposals
    prop_box: np.ndarray  # (Q, 4) float64
    prop_state: np.ndarray  # (Q,) int64 index into ``states``
    part_names: list[str]
    states: list[str]
    files: tuple[Path | None, Path | None] = (None, None)
    degenerate: tuple[int, Problem] | None = None  # predictions: boxes with x2 < x1 or y2 < y1 (count, first)
    video_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.video_index = {v: i for i, v in enumerate(self.videos)}

    # sizes -------------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return len(self.frame_num)

    @property
    def n_humans(self) -> int:
        return len(self.human_box)

    @property
    def n_parts(self) -> int:
        return len(self.part_name)

    def frame_counts(self) -> np.ndarray:
        """Humans per frame, (F,)."""
        return np.diff(self.frame_h0)

    def video_frame_ranges(self) -> dict[str, tuple[int, int]]:
        """Video -> (first, end) frame row; frames of a video are contiguous in the part file."""
        if not self.n_frames:
            return {}
        starts = np.flatnonzero(np.r_[True, self.frame_video[1:] != self.frame_video[:-1]])
        ends = np.r_[starts[1:], self.n_frames]
        return {self.videos[self.frame_video[s]]: (int(s), int(e)) for s, e in zip(starts, ends)}

    # conversion --------------------------------------------------------------------------
    def to_parses(self) -> dict[str, VideoParse]:
        """Schema objects, one VideoParse per video (fps 0.0 and size (0, 0): TPS files hold neither).

        Videos of the actions file with no part entry get a VideoParse with no frames.
        """
        out: dict[str, VideoParse] = {}
        ranges = self.video_frame_ranges()
        names, states = self.part_names, self.states
        for vid in list(self.actions) + [v for v in self.videos if v not in self.actions]:
            frames: list[FrameParse] = []
            f0, f1 = ranges.get(vid, (0, 0))
            for f in range(f0, f1):
                persons = []
                for h in range(self.frame_h0[f], self.frame_h0[f + 1]):
                    parts: dict[str, PartDet] = {}
                    for p in range(self.human_p0[h], self.human_p0[h + 1]):
                        q0, q1 = self.part_q0[p], self.part_q0[p + 1]
                        name = names[self.part_name[p]]
                        parts[name] = PartDet(name, self.prop_box[q0:q1].copy(),
                                              [states[s] for s in self.prop_state[q0:q1]],
                                              np.ones(q1 - q0))
                    persons.append(Person(self.human_box[h].copy(), parts=parts))
                frames.append(FrameParse(int(self.frame_num[f]), persons))
            out[vid] = VideoParse(vid, 0.0, (0, 0), frames, self.actions.get(vid))
        return out

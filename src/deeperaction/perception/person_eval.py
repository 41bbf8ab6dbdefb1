"""People found against hand counts of real footage (``tests/data/*_person_*.json``): found, missed, invented.

An annotation lists frames; a frame has a ``count`` of clearly visible people and, where they were drawn,
their ``people`` boxes and ``optional`` boxes (people partly seen: finding them is neither required nor an
error). With boxes, a reported person matches a box at IoU >= ``min_iou`` (best score first); one matching no
required box and lying mostly inside (or on) an optional one is set aside; any other is invented. With a
count only, ``min(reported, count)`` are found and the rest invented (a lower bound on what is invented).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deeperaction.perception.person_finders import containment, iou_matrix


@dataclass
class PeopleScore:
    """Totals over the annotated frames: ``required`` people, ``found`` of them, ``invented`` reports, and
    the frames with an invented person."""

    required: int = 0
    found: int = 0
    invented: int = 0
    frames: int = 0
    frames_invented: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.required if self.required else 1.0

    @property
    def precision(self) -> float:
        return self.found / (self.found + self.invented) if self.found + self.invented else 1.0

    def line(self) -> str:
        return (f"found {self.found}/{self.required} (recall {self.recall:.2f}), invented {self.invented} "
                f"(precision {self.precision:.2f}) on {self.frames} frames")


def load_annotation(path: str | Path) -> dict[int, dict]:
    """``{frame: {"count": n, "people": [...], "optional": [...]}}`` of an annotation file."""
    return {int(k): v for k, v in json.loads(Path(path).read_text())["frames"].items()}


def score_frame(ann: dict, boxes: np.ndarray, scores: np.ndarray | None = None,
                min_iou: float = 0.3) -> tuple[int, int, int]:
    """``(required, found, invented)`` of one frame's reported ``boxes`` (N, 4) against its annotation."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    need = int(ann["count"])
    if "people" not in ann:
        return need, min(len(boxes), need), max(0, len(boxes) - need)
    gt = np.asarray(ann["people"], float).reshape(-1, 4)
    opt = np.asarray(ann.get("optional", []), float).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, float)) if scores is not None else np.arange(len(boxes))
    free = np.ones(len(gt), bool)
    found = invented = 0
    for i in order:
        if len(gt):
            ov = np.where(free, iou_matrix(boxes[i:i + 1], gt)[0], -1.0)
            j = int(np.argmax(ov))
            if ov[j] >= min_iou:
                free[j] = False
                found += 1
                continue
        if len(opt) and (iou_matrix(boxes[i:i + 1], opt).max() >= min_iou
                         or containment(boxes[i:i + 1], opt).max() >= 0.5):
            continue
        invented += 1
    return need, found, invented


def score_people(annotation: dict[int, dict], reported: dict[int, tuple[np.ndarray, np.ndarray]],
                 min_iou: float = 0.3) -> PeopleScore:
    """Totals over the annotated frames that were parsed: ``reported[frame] = (boxes, scores)`` for every
    parsed frame (empty arrays: nobody); annotated frames not in ``reported`` are left out."""
    s = PeopleScore()
    for f, ann in sorted(annotation.items()):
        if f not in reported:
            continue
        boxes, scores = reported[f]
        need, found, invented = score_frame(ann, boxes, scores, min_iou)
        s.required += need
        s.found += found
        s.invented += invented
        s.frames += 1
        s.frames_invented += invented > 0
    return s


def reported_people(parse) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``{frame: (boxes, scores)}`` of a :class:`~deeperaction.schema.VideoParse`."""
    return {f.frame: (np.array([p.box for p in f.persons]).reshape(-1, 4), np.array([p.score for p in f.persons]))
            for f in parse.frames}

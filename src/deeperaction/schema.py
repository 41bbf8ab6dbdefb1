"""The typed records shared by every task, and the vocabularies (data, not code).

Boxes are float ``(N, 4)`` numpy arrays ``x1, y1, x2, y2`` in pixels of the original frame.
Frames are 0-based indices internally; formats convert at their boundary (TPS ``img_00001.jpg`` is 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PARTS: tuple[str, ...] = (
    "head", "hip", "left_arm", "right_arm", "left_hand", "right_hand",
    "left_leg", "right_leg", "left_foot", "right_foot",
)
"""The 10 Kinetics-TPS body parts, in the official order."""

LEFT_RIGHT_PARTS: dict[str, str] = {
    "left_arm": "right_arm", "right_arm": "left_arm", "left_hand": "right_hand",
    "right_hand": "left_hand", "left_leg": "right_leg", "right_leg": "left_leg",
    "left_foot": "right_foot", "right_foot": "left_foot",
}
"""Part swapped by a horizontal flip (head and hip map to themselves)."""

JOINTS: tuple[str, ...] = (
    "nose", "left_ear", "right_ear", "neck",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hand", "right_hand", "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle", "left_foot", "right_foot",
)
"""The canonical 2D skeleton of deeperaction: keypoint arrays are ``(len(JOINTS), 3)`` = x, y, confidence.
The synthetic generator draws it and the pose models are mapped onto it, so kinematic state rules
work on both."""

JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINTS)}

SKELETON_EDGES: tuple[tuple[str, str], ...] = (
    ("nose", "neck"), ("left_ear", "nose"), ("right_ear", "nose"),
    ("neck", "left_shoulder"), ("neck", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("left_wrist", "left_hand"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("right_wrist", "right_hand"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("left_ankle", "left_foot"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("right_ankle", "right_foot"),
)
"""Bones to draw."""

TPS_FRAME_STRIDE = 5
"""Kinetics-TPS annotates every 5th frame."""


def as_boxes(x, n: int | None = None) -> np.ndarray:
    """Return ``x`` as a float64 ``(N, 4)`` array (a single box becomes ``(1, 4)``)."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a.reshape(-1, 4) if a.size else np.zeros((0, 4))
    if a.ndim != 2 or a.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4), got {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"expected {n} boxes, got {a.shape[0]}")
    return a


@dataclass
class PartDet:
    """Up to K box proposals for one body part, each with a state label and a score."""

    name: str
    boxes: np.ndarray  # (K, 4)
    states: list[str]
    scores: np.ndarray  # (K,)

    def __post_init__(self) -> None:
        self.boxes = as_boxes(self.boxes)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if not (len(self.states) == len(self.boxes) == len(self.scores)):
            raise ValueError(f"part {self.name}: {len(self.boxes)} boxes, {len(self.states)} states,"
                             f" {len(self.scores)} scores")


@dataclass
class Person:
    """One person in one frame: box, detection score, track id, optional keypoints and parts."""

    box: np.ndarray  # (4,)
    score: float = 1.0
    track_id: int = -1
    keypoints: np.ndarray | None = None  # (J, 3): x, y, visibility/confidence
    parts: dict[str, PartDet] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, dtype=np.float64).reshape(4)
        if self.keypoints is not None:
            self.keypoints = np.asarray(self.keypoints, dtype=np.float64)


@dataclass
class FrameParse:
    """All persons found in one frame (0-based index)."""

    frame: int
    persons: list[Person] = field(default_factory=list)


@dataclass
class VideoParse:
    """Part-level parse of a video: frames, the video's action with class scores, each track's action scores
    (``track_actions[track_id] = {class: probability}``, when an action model ran on the tracks) and the shot
    cuts found (``cuts``: the first frame of every new shot; no track spans one)."""

    video_id: str
    fps: float
    size: tuple[int, int]  # (width, height)
    frames: list[FrameParse] = field(default_factory=list)
    action: str | None = None
    action_scores: dict[str, float] = field(default_factory=dict)
    track_actions: dict[int, dict[str, float]] = field(default_factory=dict)
    cuts: list[int] = field(default_factory=list)


@dataclass
class Tube:
    """An action tube: one label over strictly increasing, contiguous 0-based frames."""

    video_id: str
    label: str
    score: float
    frames: np.ndarray  # (T,) int
    boxes: np.ndarray  # (T, 4)

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames, dtype=np.int64).reshape(-1)
        self.boxes = as_boxes(self.boxes, len(self.frames))


@dataclass
class Segment:
    """A temporal action segment in seconds."""

    video_id: str
    label: str
    start_s: float
    end_s: float
    score: float = 1.0


@dataclass
class KeyframeBox:
    """An AVA keyframe box: normalized ``x1, y1, x2, y2`` at a timestamp (seconds)."""

    video_id: str
    timestamp: float
    box_norm: np.ndarray  # (4,)
    label: int | str
    score: float = 1.0

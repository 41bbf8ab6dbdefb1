"""Ground truth of synthetic videos in the official formats (Kinetics-TPS, MultiSports, AVA, ActivityNet),
plus the conversions to schema records, so the same readers, validators and metrics run on it.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from deeperaction.kinematics.vocab import PART_STATES
from deeperaction.schema import PARTS, TPS_FRAME_STRIDE, FrameParse, KeyframeBox, PartDet, Person, Segment, Tube, VideoParse
from deeperaction.synth.motions import ACTION_NAMES
from deeperaction.synth.video import VideoLabels

SPLIT_DIRS = {"training": "train", "validation": "val", "testing": "test"}
AVA_LABELMAP: dict[int, str] = {i + 1: a for i, a in enumerate(ACTION_NAMES)}
"""AVA action ids of the synthetic vocabulary (1-based, in ACTION_NAMES order)."""


def to_video_parse(lab: VideoLabels, stride: int = TPS_FRAME_STRIDE) -> VideoParse:
    """Every ``stride``-th frame's present persons with their present parts, one box + state per part."""
    spec = lab.spec
    frames = []
    for f in range(0, spec.n_frames, stride):
        persons = []
        for p in lab.persons:
            if not p.present[f]:
                continue
            parts = {name: PartDet(name, p.part_boxes[f, i][None], [PART_STATES[name][p.states[f, i]]], [1.0])
                     for i, name in enumerate(PARTS) if p.part_present[f, i]}
            persons.append(Person(p.boxes[f], 1.0, p.track_id, p.keypoints[f], parts))
        frames.append(FrameParse(f, persons))
    return VideoParse(spec.video_id, spec.fps, spec.size, frames, spec.action,
                      {spec.action: 1.0} if spec.action else {})


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of True as (start, end) with end exclusive."""
    m = np.r_[False, np.asarray(mask, bool), False].astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def to_tubes(lab: VideoLabels, min_len: int = 2) -> list[Tube]:
    """One tube per contiguous visible stretch of each action instance (stretches shorter than ``min_len`` dropped)."""
    out = []
    for p in lab.persons:
        for inst in p.instances:
            m = np.zeros(lab.n_frames, bool)
            m[max(inst.start, 0):min(inst.end, lab.n_frames)] = True
            for s, e in runs(m & p.present):
                if e - s >= min_len:
                    fr = np.arange(s, e)
                    out.append(Tube(lab.spec.video_id, inst.action, 1.0, fr, p.boxes[s:e]))
    return out


def to_keyframes(lab: VideoLabels) -> tuple[list[KeyframeBox], list[tuple[str, float]]]:
    """AVA keyframes at whole seconds (1 Hz): boxes of acting persons (normalized), and empty keyframes."""
    w, h = lab.spec.size
    boxes, empty = [], []
    for ts in range(1, int(lab.n_frames / lab.spec.fps) + 1):
        f = int(round(ts * lab.spec.fps))
        if f >= lab.n_frames:
            break
        n = 0
        for p in lab.persons:
            a = p.action_at(f)
            if a is None or not p.present[f]:
                continue
            b = p.boxes[f] / np.array([w, h, w, h])
            boxes.append(KeyframeBox(lab.spec.video_id, float(ts), b, ACTION_NAMES.index(a) + 1, float(p.track_id)))
            n += 1
        if n == 0:
            empty.append((lab.spec.video_id, float(ts)))
    return boxes, empty


def to_segments(lab: VideoLabels) -> list[Segment]:
    """Temporal segments (seconds) of every action instance of every person."""
    fps = lab.spec.fps
    return [Segment(lab.spec.video_id, i.action, max(i.start, 0) / fps, min(i.end, lab.n_frames) / fps, 1.0)
            for p in lab.persons for i in p.instances]


def write_tps_gt(out: Path, labels: Sequence[VideoLabels], splits: Sequence[str]) -> dict[str, str]:
    """Kinetics-TPS GT, one folder per split; returns {split: folder}."""
    from deeperaction.formats.kinetics_tps import write_tps
    dirs = {}
    for split in sorted(set(splits)):
        d = out / "annotations" / "tps" / SPLIT_DIRS[split]
        write_tps(d, {lab.spec.video_id: to_video_parse(lab) for lab, s in zip(labels, splits) if s == split}, kind="gt")
        dirs[split] = str(d.relative_to(out))
    return dirs


def write_stad_gt(out: Path, labels: Sequence[VideoLabels], splits: Sequence[str]) -> dict[str, str]:
    """MultiSports GT pickle (train_videos = training, test_videos = validation; every video's tubes) and
    AVA CSVs per split with a label map."""
    from deeperaction.formats.ava import write_ava_csv, write_labelmap
    from deeperaction.formats.multisports import write_multisports_gt
    d = out / "annotations" / "stad"
    d.mkdir(parents=True, exist_ok=True)
    tubes = [t for lab in labels for t in to_tubes(lab)]
    vids = [lab.spec.video_id for lab in labels]
    write_multisports_gt(d / "multisports_gt.pkl", labels=list(ACTION_NAMES),
                         videos={lab.spec.video_id: (lab.n_frames, lab.spec.size[::-1]) for lab in labels},
                         test_videos=[v for v, s in zip(vids, splits) if s == "validation"],
                         train_videos=[v for v, s in zip(vids, splits) if s == "training"], tubes=tubes)
    write_labelmap(d / "ava_labelmap.pbtxt", AVA_LABELMAP)
    files = {"multisports": str((d / "multisports_gt.pkl").relative_to(out)),
             "ava_labelmap": str((d / "ava_labelmap.pbtxt").relative_to(out))}
    for split in sorted(set(splits)):
        boxes, empty = [], []
        for lab, s in zip(labels, splits):
            if s == split:
                b, e = to_keyframes(lab)
                boxes += b
                empty += e
        p = d / f"ava_{SPLIT_DIRS[split]}.csv"
        write_ava_csv(p, boxes, kind="gt", empty_keyframes=empty)
        files[f"ava_{split}"] = str(p.relative_to(out))
    return files


def write_tal_gt(out: Path, labels: Sequence[VideoLabels], splits: Sequence[str]) -> dict[str, str]:
    """ActivityNet-style GT JSON (seconds) with every video's subset and duration."""
    from deeperaction.formats.activitynet import write_activitynet_gt
    p = out / "annotations" / "tal" / "activitynet_gt.json"
    write_activitynet_gt(p, [s for lab in labels for s in to_segments(lab)],
                         subsets={lab.spec.video_id: s for lab, s in zip(labels, splits)},
                         durations={lab.spec.video_id: lab.n_frames / lab.spec.fps for lab in labels},
                         fps={lab.spec.video_id: lab.spec.fps for lab in labels})
    return {"activitynet": str(p.relative_to(out))}


def save_labels(path: Path, lab: VideoLabels) -> None:
    """All per-frame GT of a video as one ``.npz`` (arrays stacked over persons)."""
    P = lab.persons
    stack = lambda k: np.stack([getattr(p, k) for p in P]) if P else np.zeros((0, lab.n_frames))  # noqa: E731
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, keypoints=stack("keypoints").astype(np.float32), boxes=stack("boxes").astype(np.float32),
                        present=stack("present"), part_boxes=stack("part_boxes").astype(np.float32),
                        part_present=stack("part_present"), states=stack("states").astype(np.int8),
                        track_ids=np.array([p.track_id for p in P]))


def instances_json(lab: VideoLabels) -> list[dict]:
    """Action instances of a video for the manifest (frames 0-based, end exclusive)."""
    return [{"track": p.track_id, "action": i.action, "start": int(i.start), "end": int(i.end)}
            for p in lab.persons for i in p.instances]


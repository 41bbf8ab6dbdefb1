"""Conversions between the official formats: MultiSports tubes -> AVA keyframe CSVs (1 Hz); a TPS, MultiSports
or ActivityNet GT set -> a perfect prediction set (to check a pipeline end to end); any TPS set -> one flat
CSV row per part proposal (a training / analysis index that pandas or a spreadsheet reads)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError
from deeperaction.formats.activitynet import read_activitynet_gt, write_activitynet_pred
from deeperaction.formats.ava import write_ava_csv, write_labelmap
from deeperaction.formats.kinetics_tps import read_tps
from deeperaction.formats.multisports import (
    read_multisports_gt,
    read_video_detections,
    write_frame_detections,
    write_video_detections,
)
from deeperaction.formats.tps_set import TpsSet
from deeperaction.formats.tps_write import write_tps
from deeperaction.outputs import write_atomic
from deeperaction.schema import KeyframeBox

TPS_ROW_FIELDS = ("video", "action", "frame", "person", "part", "proposal", "x1", "y1", "x2", "y2", "state")


def tube_keyframes(video: str, label: int, tag: float, frames: np.ndarray, boxes: np.ndarray, fps: float,
                   size_hw: tuple[int, int]) -> list[KeyframeBox]:
    """The AVA keyframes (whole seconds ``t >= 1``, frame ``round(t * fps)``, 0-based) a tube covers, boxes
    normalized by the frame size; ``label`` is the AVA action id, ``tag`` the person id or the score."""
    h, w = size_hw
    if len(frames) == 0:
        return []
    t = np.arange(max(1, int(frames[0] // fps)), int(frames[-1] // fps) + 2)
    key = np.rint(t * fps).astype(np.int64)
    k = np.clip(np.searchsorted(frames, key), 0, len(frames) - 1)
    hit = frames[k] == key
    norm = np.clip(np.asarray(boxes, np.float64)[k[hit]] / np.array([w, h, w, h]), 0.0, 1.0)
    return [KeyframeBox(video, float(ts), b, label, tag) for ts, b in zip(t[hit], norm)]


def multisports_to_ava(gt_path: str | Path, out_dir: str | Path, *, fps: float = 25.0,
                       video_dets: str | Path | None = None) -> dict[str, Path]:
    """MultiSports GT (and optionally ``video_detections.pkl``) -> ``gt.csv``, ``labelmap.pbtxt`` (ids 1..66 in
    GT label order) and ``detections.csv``: the same tubes scored per keyframe by the AVA frame-mAP. Test
    videos only; keyframes without a GT box are written as empty keyframes so they count."""
    if fps <= 0:
        raise InputError(f"--fps must be positive, got {fps}", field="fps")
    gt = read_multisports_gt(gt_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"labelmap": out / "labelmap.pbtxt", "gt": out / "gt.csv"}
    write_labelmap(files["labelmap"], {i + 1: name for i, name in enumerate(gt.labels)})
    boxes: list[KeyframeBox] = []
    person = 0
    for v in gt.test_videos:
        for lab, tubes in gt.gttubes.get(v, {}).items():
            for t in tubes:
                person += 1
                boxes += tube_keyframes(v, lab + 1, float(person), t[:, 0].astype(np.int64) - 1, t[:, 1:5], fps,
                                        gt.resolution[v])
    seen = {(b.video_id, b.timestamp) for b in boxes}
    empty = [(v, float(t)) for v in gt.test_videos for t in range(1, int((gt.nframes[v] - 1) / fps) + 1)
             if (v, float(t)) not in seen]
    write_ava_csv(files["gt"], boxes, kind="gt", empty_keyframes=empty)
    if video_dets is not None:
        dets = read_video_detections(video_dets, gt).tubes
        rows: list[KeyframeBox] = []
        for i in range(len(dets)):
            v = gt.test_videos[dets.video[i]] if dets.video[i] >= 0 else None
            if v is None:
                continue
            lo, hi = dets.offsets[i], dets.offsets[i + 1]
            frames = np.arange(dets.start[i], dets.end[i] + 1) - 1
            rows += tube_keyframes(v, int(dets.label[i]) + 1, float(dets.score[i]), frames, dets.boxes[lo:hi], fps,
                                   gt.resolution[v])
        files["detections"] = out / "detections.csv"
        write_ava_csv(files["detections"], rows, kind="pred")
    return files


def tps_gt_to_pred(gt_dir: str | Path, out_dir: str | Path) -> tuple[Path, Path]:
    """A TPS GT set written as a prediction set (one proposal per part): scores a perfect 0.9999."""
    return write_tps(out_dir, read_tps(gt_dir, kind="gt").to_parses(), kind="pred")


def multisports_gt_to_pred(gt_path: str | Path, out_dir: str | Path, *, subset: str = "test") -> tuple[Path, Path]:
    """The GT tubes of a split as ``frame_detections.pkl`` + ``video_detections.pkl`` (score 1): every
    MultiSports number 100 (``eval multisports --subset`` the same split)."""
    gt = read_multisports_gt(gt_path).subset(subset)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tubes = gt.tubes()
    files = out / "frame_detections.pkl", out / "video_detections.pkl"
    write_frame_detections(files[0], gt.labels, gt.test_videos,
                           ((t.video_id, int(f), t.label, 1.0, b) for t in tubes for f, b in zip(t.frames, t.boxes)))
    write_video_detections(files[1], gt.labels, tubes)
    return files


def tal_gt_to_pred(gt_path: str | Path, out: str | Path, *, subset: str = "validation") -> Path:
    """The GT segments of a subset as an ActivityNet prediction file (score 1): average mAP 1.0."""
    out = Path(out)
    write_activitynet_pred(out, read_activitynet_gt(gt_path, subset).segments())
    return out


def tps_rows(tps: TpsSet) -> Iterable[tuple]:
    """One row per part proposal (:data:`TPS_ROW_FIELDS`; frames 0-based, persons numbered per frame)."""
    h_frame = np.repeat(np.arange(tps.n_frames), np.diff(tps.frame_h0))
    h_rank = np.arange(len(tps.human_box)) - tps.frame_h0[h_frame]
    p_human = np.repeat(np.arange(len(tps.human_box)), np.diff(tps.human_p0))
    q_part = np.repeat(np.arange(len(tps.part_name)), np.diff(tps.part_q0))
    q_rank = np.arange(len(tps.prop_box)) - tps.part_q0[q_part]
    q_human = p_human[q_part]
    q_frame = h_frame[q_human]
    for q in range(len(tps.prop_box)):
        f = q_frame[q]
        v = tps.videos[tps.frame_video[f]]
        yield (v, tps.actions.get(v, ""), int(tps.frame_num[f]), int(h_rank[q_human[q]]),
               tps.part_names[tps.part_name[q_part[q]]], int(q_rank[q]), *tps.prop_box[q].tolist(),
               tps.states[tps.prop_state[q]])


def tps_to_csv(path: str | Path, out_csv: str | Path, kind: str = "gt") -> int:
    """Write :func:`tps_rows` of a TPS folder as CSV with a header; returns the number of rows."""
    tps = read_tps(path, kind=kind)
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(TPS_ROW_FIELDS)
    n = 0
    for row in tps_rows(tps):
        w.writerow(row)
        n += 1
    write_atomic(out_csv, buf.getvalue())
    return n

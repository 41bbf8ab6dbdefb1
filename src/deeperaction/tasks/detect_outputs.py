"""``deeperaction detect`` into a folder: per video its render and timeline; at the root the tubes of every video
(``tubes.json``), the MultiSports submission (``frame_detections.pkl``, ``video_detections.pkl``) and AVA-style
detections at 1 Hz keyframes (``ava_detections.csv`` + ``ava_labelmap.pbtxt``), each ready for ``eval``.

With the ground truth's MultiSports pickle (``gt``), the submission uses its label list and its test-video
order (so ``eval multisports`` scores it directly); otherwise the model's labels and the videos' sorted ids.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError
from deeperaction.formats.ava import write_ava_csv, write_labelmap
from deeperaction.formats.convert import tube_keyframes
from deeperaction.formats.multisports import read_multisports_gt, write_frame_detections, write_video_detections
from deeperaction.outputs import write_atomic
from deeperaction.schema import Tube
from deeperaction.tasks.detect import DetectOptions, Detector, DetectRun
from deeperaction.tasks.folder_runs import each_video, shard_videos


FRAME_COLUMNS = ["track_id", "frame", "label", "score", "x1", "y1", "x2", "y2"]
"""Columns of a video's ``frame_detections`` rows in ``tubes.json`` (label: index into its ``labels``)."""


def tubes_json(runs: dict[str, DetectRun]) -> dict:
    """``{"videos": {video: {"fps", "size", "labels", "tubes": [{"track_id", "label", "score", "frames",
    "boxes"}], "frame_detections": {"columns", "rows"}}}}`` (0-based frames, strictly increasing; boxes x1, y1,
    x2, y2 in pixels). Frame detections: every tracked person's best classes at every frame (the frame-mAP's
    input; the tubes are the video-mAP's)."""
    out = {}
    for vid, r in runs.items():
        labels = [c for c in r.classes if c != "none"]
        index = {c: i for i, c in enumerate(labels)}
        out[vid] = {"fps": r.parse.fps, "size": list(r.parse.size), "labels": labels,
                    "tubes": [{"track_id": int(tid), "label": t.label, "score": round(float(t.score), 5),
                               "frames": t.frames.tolist(), "boxes": np.round(t.boxes, 2).tolist()}
                              for tid, t in r.tubes],
                    "frame_detections": {"columns": FRAME_COLUMNS, "rows": [
                        [int(tid), int(f), index[r.classes[c]], round(float(sc), 5), *np.round(b, 2).tolist()]
                        for tid, f, c, sc, b in r.frame_dets]}}
    return {"videos": out}


def _frame_rows(vid: str, v: dict) -> list[tuple[int, int, str, float, np.ndarray]]:
    """``(track_id, frame, label, score, box)`` of a video's frame detections (older files: its tube frames)."""
    fd = v.get("frame_detections")
    if fd is None:
        return [(t["track_id"], int(f), t["label"], float(t["score"]), np.asarray(b)) for t in v["tubes"]
                for f, b in zip(t["frames"], t["boxes"])]
    return [(int(r[0]), int(r[1]), v["labels"][int(r[2])], float(r[3]), np.asarray(r[4:8], np.float64))
            for r in fd["rows"]]


def write_submissions(out: Path, videos: dict, gt: str | Path | None = None) -> list[str]:
    """Write the MultiSports pickles and the AVA CSV of the ``tubes.json`` content ``videos`` ({video: ...})
    into ``out``; returns warning lines."""
    warnings = []
    classes = next(iter(videos.values()))["labels"] if videos else []
    if gt is not None:
        g = read_multisports_gt(gt)
        labels, order = list(g.labels), list(g.test_videos)
        outside = sorted(set(videos) - set(order))
        if outside:
            warnings.append(f"{len(outside)} videos are not test videos of {gt} and are left out of the MultiSports "
                            f"files (e.g. {outside[0]})")
    else:
        labels, order = classes, sorted(videos)
    tubes = [Tube(vid, t["label"], t["score"], t["frames"], t["boxes"]) for vid, v in videos.items() if vid in order
             for t in v["tubes"] if t["label"] in labels]
    frame_rows = {vid: _frame_rows(vid, v) for vid, v in videos.items()}
    rows = ((vid, f, lab, sc, b) for vid in order if vid in frame_rows for _, f, lab, sc, b in frame_rows[vid]
            if lab in labels)
    write_frame_detections(out / "frame_detections.pkl", labels, order, rows)
    write_video_detections(out / "video_detections.pkl", labels, tubes)
    ids = {c: i + 1 for i, c in enumerate(classes)}
    keyframes = []
    for vid, v in videos.items():  # AVA: the frame detections at whole seconds (1 Hz keyframes)
        w, h = v["size"]
        fps = v["fps"] or 25.0
        for _, f, lab, sc, b in frame_rows[vid]:
            if round(f / fps) >= 1 and np.rint(round(f / fps) * fps) == f:  # a keyframe: skip the rest fast
                keyframes += tube_keyframes(vid, ids[lab], sc, np.array([f]), b[None], fps, (h, w))
    write_ava_csv(out / "ava_detections.csv", keyframes, kind="pred")
    write_labelmap(out / "ava_labelmap.pbtxt", {i: c for c, i in ids.items()})
    return warnings


def merge_outputs(out: Path, gt: str | Path | None = None) -> list[str]:
    """Merge every ``out/*/tubes.json`` (a folder of videos, shards may run at once) or ``out/tubes.json``
    into the root files; returns warning lines."""
    subs = sorted(p / "tubes.json" for p in out.iterdir() if (p / "tubes.json").is_file())
    videos: dict = {}
    for f in subs:
        videos.update(json.loads(f.read_text())["videos"])
    if not subs and (out / "tubes.json").is_file():
        videos = json.loads((out / "tubes.json").read_text())["videos"]
    write_atomic(out / "tubes.json", json.dumps({"videos": videos}, separators=(",", ":")))
    return write_submissions(out, videos, gt)


def detect_to_folder(inputs: str | Path, out: str | Path, options: DetectOptions | None = None, *,
                     render: bool = True, shard: tuple[int, int] = (0, 1), gt: str | Path | None = None,
                     on_video: Callable[[Path, int], Callable[[int], None] | None] | None = None,
                     on_error: Callable[[InputError], None] | None = None,
                     on_warning: Callable[[str], None] | None = None) -> dict:
    """Detect the tubes of a video, frame folder, or folder of them into ``out``; returns a summary. A video of
    a folder that fails is reported through ``on_error`` and skipped (``failed``)."""
    from deeperaction.viz.timeline import write_timeline

    mine, single, n_inputs = shard_videos(inputs, shard)
    out = Path(out)
    summary = {"videos": 0, "failed": 0, "tubes": 0, "frames": 0, "inputs": n_inputs, "shard_videos": len(mine),
               "out": str(out), "timings": {}}
    if not mine:
        return summary
    t_start = time.perf_counter()
    det = Detector(options)
    timings = summary["timings"]
    timings["load"] = time.perf_counter() - t_start  # models loaded once per run
    try:
        for video, info, r in each_video(mine, single, lambda v, cb: det.detect(v, on_frame=cb), summary,
                                         on_video, on_error):
            for w in r.run.warnings:
                if on_warning:
                    on_warning(w)
            dest = out if single else out / video.stem
            dest.mkdir(parents=True, exist_ok=True)
            t = dict(r.timings)
            t0 = time.perf_counter()
            write_atomic(dest / "tubes.json", json.dumps(tubes_json({r.parse.video_id: r}), separators=(",", ":")))
            t["write"] = t.get("write", 0.0) + time.perf_counter() - t0
            if render:
                from deeperaction.video.render_tubes import render_tubes

                render_tubes(video, r.tubes, r.parse, dest / "render.mp4", stop=det.opts.max_frames, timings=t)
                t0 = time.perf_counter()
                write_timeline(dest / "timeline.png", r.tubes, r.parse, r.classes)
                t["render"] += time.perf_counter() - t0
            for k, v in t.items():
                timings[k] = timings.get(k, 0.0) + v
            summary["videos"] += 1
            summary["tubes"] += len(r.tubes)
            summary["frames"] += min(info.n_frames, det.opts.max_frames or info.n_frames)
    finally:
        det.close()
    if summary["videos"]:
        for w in merge_outputs(out, gt):
            if on_warning:
                on_warning(w)
    return summary

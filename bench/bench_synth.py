"""Synthetic video generation speed: frames/s (render + H.264 encode + GT) at 320x240 and 640x480, 2 workers.

``python -m bench.bench_synth [--quick]``; output under ``bench_out/synth_*`` (git-ignored).
"""
from __future__ import annotations

import argparse
import json
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
    for size in ((320, 240), (640, 480)):
        out = Path("bench_out") / f"synth_{size[0]}x{size[1]}"
        shutil.rmtree(out, ignore_errors=True)
        n = 2 if args.quick else 8
        cpu0 = time.process_time()
        with timer() as t:
            m = generate(out, videos=n, seed=0, task="tps", size=size, preset="default", workers=args.workers,
                         duration=(6.0, 6.0))
        man = json.loads(m.read_text())
        frames = sum(v["frames"] for v in man["videos"])
        rows.append({"bench": "synth", "case": f"tps {size[0]}x{size[1]} default", "wall_s": round(t(), 3),
                     "peak_mib": round(peak_mib(), 1), "reference_s": None,
                     "note": f"{frames} frames, {frames / t():.0f} frames/s with {args.workers} workers"
                             f" (target >= 300 at 320x240); main-process CPU {time.process_time() - cpu0:.1f} s"})
    emit(rows)


if __name__ == "__main__":
    main()

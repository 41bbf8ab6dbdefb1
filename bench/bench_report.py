"""Benchmark: HTML report generation at the test-set sizes of the evaluation benchmarks (target < 10 s each).

``python -m bench.bench_report [--quick]`` from the repo root. Inputs come from the generators of the
evaluation benchmarks (``bench.gen_tal``, ``gen_tps``, ``gen_multisports``, ``gen_ava``; cached under
``bench_out/``); each task runs in its own process. ``wall_s`` is the report alone (analysis + plots +
HTML, i.e. ``write_report`` given the metric's Report); the note gives the metric's own time.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench._util import emit, peak_mib

TASKS = ("tal", "tps", "multisports", "ava")
OUT = Path(__file__).resolve().parents[1] / "bench_out" / "report"


def _gen(module: str, quick: bool) -> Path:
    r = subprocess.run([sys.executable, "-m", f"bench.{module}", *(["--quick"] if quick else [])], check=True,
                       capture_output=True, text=True)
    return Path(r.stdout.strip().splitlines()[-1])


def _inputs(task: str, quick: bool):
    """(report, gt, pred, kwargs, metric seconds, note)."""
    if task == "tal":
        from deeperaction.formats.activitynet import read_activitynet_gt, read_activitynet_pred
        from deeperaction.metrics.tal import evaluate_tal
        d = _gen("gen_tal", quick)
        g, p = read_activitynet_gt(d / "gt.json"), read_activitynet_pred(d / "pred.json")
        t = time.perf_counter()
        r = evaluate_tal(g, p)
        return r, g, p, {}, time.perf_counter() - t, f"{len(g.videos)} videos, {len(p) // 1000}k preds"
    if task == "tps":
        from deeperaction.formats.kinetics_tps import read_tps
        from deeperaction.metrics.tps import evaluate_tps
        from bench.gen_tps import ensure
        d = ensure(quick)
        g, p = read_tps(d / "gt_dir", "gt"), read_tps(d / "pred_dir", "pred")
        t = time.perf_counter()
        r = evaluate_tps(g, p, allow_missing=True)
        return r, g, p, {}, time.perf_counter() - t, f"{len(g.actions)} videos, {g.n_parts // 1000}k GT parts"
    if task == "multisports":
        from deeperaction.formats.multisports import (read_frame_detections, read_multisports_gt,
                                                      read_video_detections)
        from deeperaction.metrics.multisports import evaluate_multisports
        from bench.gen_multisports import generate
        d = generate(quick)
        g = read_multisports_gt(d / "gt.pkl")
        f = read_frame_detections(d / "frame_detections.pkl", g)
        v = read_video_detections(d / "video_detections.pkl", g)
        t = time.perf_counter()
        r = evaluate_multisports(g, f, v)
        return r, g, (f, v), {}, time.perf_counter() - t, f"{len(g.test_videos)} videos, {len(f) // 1000}k frame dets"
    from deeperaction.formats.ava import read_ava_csv, read_labelmap
    from deeperaction.metrics.ava import evaluate_ava
    d = _gen("gen_ava", quick)
    lm = read_labelmap(d / "labelmap.pbtxt")
    g, p = read_ava_csv(d / "gt.csv", "gt"), read_ava_csv(d / "detections.csv", "pred")
    t = time.perf_counter()
    r = evaluate_ava(g, p, lm)
    return r, g, p, {"labelmap": lm}, time.perf_counter() - t, f"{len(g)} GT boxes, {len(p) // 1000}k dets"


def one(task: str, quick: bool) -> dict:
    from deeperaction.viz.report import write_report
    r, g, p, kw, metric_s, note = _inputs(task, quick)
    out = OUT / f"{task}{'_quick' if quick else ''}.html"
    t = time.perf_counter()
    write_report(task, r, g, p, out, **kw)
    wall = time.perf_counter() - t
    return {"bench": "report", "case": f"{task} ({'quick' if quick else 'full'})", "wall_s": round(wall, 3),
            "peak_mib": round(peak_mib(), 1), "reference_s": None,
            "note": f"{note}; metric {metric_s:.1f} s; {out.stat().st_size / 1e6:.1f} MB html"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="the generators' quick sizes")
    ap.add_argument("--one", choices=TASKS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.quick)))
        return
    rows = []
    for task in TASKS:
        r = subprocess.run([sys.executable, "-m", "bench.bench_report", "--one", task,
                            *(["--quick"] if args.quick else [])], capture_output=True, text=True)
        lines = r.stdout.strip().splitlines()
        if r.returncode != 0 or not lines:
            sys.stderr.write(r.stderr[-2000:])
            rows.append({"bench": "report", "case": f"{task}: FAILED", "wall_s": None, "peak_mib": None,
                         "note": f"exit {r.returncode}"})
        else:
            rows.append(json.loads(lines[-1]))
    emit(rows)


if __name__ == "__main__":
    main()

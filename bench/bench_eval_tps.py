"""Benchmark: Kinetics-TPS reading (JSON -> columns), the Score metric and the CLI end to end, at test-set size.

``python -m bench.bench_eval_tps [--quick]``. Data come from ``bench.gen_tps`` (cached under bench_out/).
Reading and the metric each run in a child process so that each row's peak memory is its own; the metric
child loads the already-read sets from a pickle.

References: reading is compared with ``json.loads`` of the same two part files in the same process (gc
paused, the standard library's best); the end-to-end row times ``deeperaction eval tps`` (with its 5x5
sweep) as a command, median of 3. With ``DEEPERACTION_OFFICIAL_TPS=/path/eval_detection.py`` (the official
scorer, not shipped) that row's reference is the official Score computed by its own functions (load + one
``cal_task_acc`` + ``cal_area``; its ``eval()`` adds the 25-pass sweep and takes ~7x longer).
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench._util import emit, peak_mib, timer

_OFFICIAL_MAIN = """
import json, sys, os.path as osp
sys.path.insert(0, osp.dirname(sys.argv[1]))
import eval_detection as E
g = json.load(open("gt_dir/gt_vid_result.json")); gp = json.load(open("gt_dir/gt_part_result.json"))
p = json.load(open("pred_dir/pred_vid_result.json")); pp = json.load(open("pred_dir/pred_part_result.json"))
print(E.cal_area(E.cal_task_acc(g, gp, p, pp, max_human_iou=0.5, max_part_iou=0.3)))
"""


def _stage_read(data: Path, cache: Path) -> list[dict]:
    from deeperaction.formats.kinetics_tps import read_tps

    cpu = time.process_time()
    with timer() as t_gt:
        gt = read_tps(data / "gt_dir", "gt")
    with timer() as t_pred:
        pred = read_tps(data / "pred_dir", "pred")
    cpu = time.process_time() - cpu
    peak = peak_mib()  # before the json.loads reference, which holds the dicts of both files
    json_s = _json_only(data)
    cache.write_bytes(pickle.dumps((gt, pred), protocol=pickle.HIGHEST_PROTOCOL))
    size = sum(f.stat().st_size for f in data.glob("*/*.json")) / 2**20
    note = (f"cpu {cpu:.2f} s; msgspec typed decode; reference: json.loads of the two part files, gc paused, "
            f"same process; {gt.n_frames} frames, {gt.n_parts} GT parts, {pred.n_humans} pred humans, "
            f"{len(pred.prop_box)} proposals, {size:.0f} MiB JSON")
    return [{"bench": "eval_tps", "case": "read gt+pred (JSON -> columns)", "wall_s": t_gt() + t_pred(),
             "cpu_s": cpu, "peak_mib": peak, "reference_s": json_s, "note": note}]


def _json_only(data: Path) -> float:
    """Seconds of the standard library's ``json.loads`` of the two part files, gc off (the yardstick)."""
    import gc

    blobs = [(data / d / f"{d[:-4]}_part_result.json").read_bytes() for d in ("gt_dir", "pred_dir")]
    gc.disable()
    with timer() as t:
        for b in blobs:
            json.loads(b)
    gc.enable()
    return t()


def _end_to_end(data: Path) -> dict:
    """``deeperaction eval tps`` as a command (median of 3), against the official Score if its script is given."""
    cmd = [sys.executable, "-m", "deeperaction", "eval", "tps", "--gt", str(data / "gt_dir"),
           "--pred", str(data / "pred_dir")]

    def wall(args: list[str], cwd: Path | None = None) -> float:
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, cwd=cwd)
        return time.perf_counter() - t0

    ours = statistics.median(wall(cmd) for _ in range(3))
    official = os.environ.get("DEEPERACTION_OFFICIAL_TPS")
    ref = statistics.median(wall([sys.executable, "-c", _OFFICIAL_MAIN, official], data) for _ in range(3)) \
        if official else None
    return {"bench": "eval_tps", "case": "end to end: deeperaction eval tps (Score + 5x5 sweep)", "wall_s": ours,
            "peak_mib": None, "reference_s": ref,
            "note": "median of 3 runs as a command" + ("; reference: official Score (load + 1 pass)" if ref
                                                       else "; set DEEPERACTION_OFFICIAL_TPS for the official")}


def _stage_eval(cache: Path) -> list[dict]:
    from deeperaction.metrics.tps import evaluate_tps

    gt, pred = pickle.loads(cache.read_bytes())
    rows = []
    for sweep in (False, True):
        cpu = time.process_time()
        with timer() as t:
            r = evaluate_tps(gt, pred, sweep=sweep)
        cpu = time.process_time() - cpu
        c = r.tables["counts"]
        rows.append({"bench": "eval_tps", "case": "metric" + (" + official 5x5 sweep" if sweep else ""),
                     "wall_s": t(), "peak_mib": peak_mib(), "reference_s": None,
                     "note": f"cpu {cpu:.2f} s; Score {r.headline:.6f}; {c['hungarian_frames']} frames"
                             " needed scipy"})
    return rows


def _child(args: list[str]) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "bench.bench_eval_tps", *args], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="10x smaller input (93 videos)")
    ap.add_argument("--stage", choices=["read", "eval"], help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.stage:
        cache = a.data / "sets.pkl"
        emit(_stage_read(a.data, cache) if a.stage == "read" else _stage_eval(cache))
        return
    from bench.gen_tps import ensure

    data = ensure(a.quick)
    rows = _child(["--stage", "read", "--data", str(data)]) + _child(["--stage", "eval", "--data", str(data)])
    rows.append(_end_to_end(data))
    emit(rows)


if __name__ == "__main__":
    main()

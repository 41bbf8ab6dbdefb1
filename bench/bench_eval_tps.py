"""Benchmark: Kinetics-TPS reading (JSON -> columns) and the Score metric, at test-set size.

``python -m bench.bench_eval_tps [--quick]``. Data come from ``bench.gen_tps`` (cached under
bench_out/). Reading and the metric each run in a child process so that each row's peak memory is
its own; the metric child loads the already-read sets from a pickle. The official scorer takes
11.8 s for the whole job (reference).
"""
from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

from bench._util import emit, peak_mib, timer

REFERENCE_TOTAL_S = 11.8
# Wall times on a shared machine can be several times the CPU time; each note also gives the CPU
# seconds of the step (time.process_time), the number to compare when the machine is busy.


def _stage_read(data: Path, cache: Path) -> list[dict]:
    from deeperaction.formats import kinetics_tps
    from deeperaction.formats.kinetics_tps import read_tps

    from deeperaction.formats.tps_columns import columns_from_bytes

    took: list[bool] = []

    def spy(*args):  # which reader ran: the byte scanner, or json + columns after it stepped aside
        out = columns_from_bytes(*args)
        took.append(out is not None)
        return out

    kinetics_tps.columns_from_bytes = spy
    json_s = _json_only(data)
    cpu = time.process_time()
    with timer() as t_gt:
        gt = read_tps(data / "gt_dir", "gt")
    with timer() as t_pred:
        pred = read_tps(data / "pred_dir", "pred")
    cpu = time.process_time() - cpu
    cache.write_bytes(pickle.dumps((gt, pred), protocol=pickle.HIGHEST_PROTOCOL))
    size = sum(f.stat().st_size for f in data.glob("*/*.json")) / 2**20
    parser = "byte scanner" if all(took) else "json.loads"
    note = (f"cpu {cpu:.2f} s, {parser} (json.loads alone: {json_s:.2f} s); {gt.n_frames} frames, "
            f"{gt.n_parts} GT parts, {pred.n_humans} pred humans, {len(pred.prop_box)} proposals, {size:.0f} MiB JSON")
    return [{"bench": "eval_tps", "case": "read gt+pred (JSON -> columns)", "wall_s": t_gt() + t_pred(),
             "peak_mib": peak_mib(), "reference_s": None, "note": note}]


def _json_only(data: Path) -> float:
    """CPU seconds of the standard library's ``json.loads`` of the two part files, gc off (the yardstick
    "beyond JSON parsing" is measured against)."""
    import gc

    blobs = [(data / d / f"{d[:-4]}_part_result.json").read_bytes() for d in ("gt_dir", "pred_dir")]
    gc.disable()
    cpu = time.process_time()
    for b in blobs:
        json.loads(b)
    cpu = time.process_time() - cpu
    gc.enable()
    return cpu


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
    total = rows[0]["wall_s"] + rows[2]["wall_s"]
    rows.append({"bench": "eval_tps", "case": "total: read + metric with sweep" + (" (quick)" if a.quick else ""),
                 "wall_s": total, "peak_mib": max(r["peak_mib"] for r in rows),
                 "reference_s": None if a.quick else REFERENCE_TOTAL_S,
                 "note": "official eval_detection.py: 11.8 s" if not a.quick else "10x smaller input"})
    emit(rows)


if __name__ == "__main__":
    main()

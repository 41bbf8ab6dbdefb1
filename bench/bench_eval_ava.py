"""Benchmark: AVA frame-mAP@0.5IOU at test-set size (57.6k keyframes, 229k GT rows, 1.68M detection rows).

``python -m bench.bench_eval_ava [--quick]`` (from the repo root). Inputs come from ``bench.gen_ava``, run in
a separate process so that the peak memory measured here is reading + scoring only. Reference: the official
``get_ava_performance.py`` takes 191 s on this size (issue 2); run here on ``bench_out/ava/full`` it used 348 CPU-s
and 1.0 GiB and printed mAP 0.1640097052779383, which ``ties="numpy"`` reproduces bit for bit (all 60 classes).
Also prints CPU seconds, which stay honest when other processes share the machine.
"""
from __future__ import annotations

import argparse
import time

from bench._util import generate_inputs, emit, peak_mib, timer
from bench.gen_ava import ROOT

OFFICIAL_FULL_S = 191.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="8 videos x 300 keyframes")
    args = ap.parse_args()
    size = generate_inputs("gen_ava", args.quick)
    from deeperaction.formats.ava import read_ava_csv, read_labelmap
    from deeperaction.metrics.ava import evaluate_ava

    folder = ROOT / size
    c0 = time.process_time()
    with timer() as t_read:
        gt = read_ava_csv(folder / "gt.csv", "gt")
        pred = read_ava_csv(folder / "detections.csv", "pred")
        labelmap = read_labelmap(folder / "labelmap.pbtxt")
    c_read, peak_read = time.process_time() - c0, peak_mib()
    c0 = time.process_time()
    with timer() as t_eval:
        report = evaluate_ava(gt, pred, labelmap)
    c_eval = time.process_time() - c0
    n_kf = report.tables["counts"]["gt_keyframes"]
    note = f"{n_kf} keyframes, {len(gt)} GT rows, {len(pred)} detection rows"
    emit([
        {"bench": "eval", "case": f"ava read csv ({size})", "wall_s": round(t_read(), 3),
         "peak_mib": round(peak_read, 1), "reference_s": None, "note": f"{note}; cpu {c_read:.2f} s"},
        {"bench": "eval", "case": f"ava frame-mAP ({size})", "wall_s": round(t_eval(), 3),
         "peak_mib": round(peak_mib(), 1), "reference_s": None,
         "note": f"mAP {report.headline:.4f}; cpu {c_eval:.2f} s"},
        {"bench": "eval", "case": f"ava read + score ({size})", "wall_s": round(t_read() + t_eval(), 3),
         "peak_mib": round(peak_mib(), 1), "reference_s": OFFICIAL_FULL_S if size == "full" else None,
         "note": f"cpu {c_read + c_eval:.2f} s" + ("; official: 191 s (348 CPU-s, 1.0 GiB here)" if size == "full" else "")},
    ])


if __name__ == "__main__":
    main()

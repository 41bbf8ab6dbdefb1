"""Benchmark: ActivityNet/FineAction average mAP at test-set size (4000 videos, 106 classes, 400k predictions).

``python -m bench.bench_eval_tal [--quick]`` (from the repo root). Inputs come from ``bench.gen_tal``, run in
a separate process so that the peak memory measured here is reading + scoring only. References: the official
``eval_detection.py`` takes 181 s and 5.1 GiB at full size (issue 2). Run here in one process (joblib
n_jobs=1, 2-core VM) it took 627 s CPU / 318 MiB at full size and 79 s CPU at --quick size, and gave the
same numbers as ours bit for bit at both sizes.
"""
from __future__ import annotations

import argparse

from bench._util import generate_inputs, emit, peak_mib, timer
from bench.gen_tal import ROOT, SIZES

OFFICIAL_S = {"full": 181.0, "quick": 79.4}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="400 videos, 40k predictions")
    args = ap.parse_args()
    size = generate_inputs("gen_tal", args.quick)
    from deeperaction.formats.activitynet import read_activitynet_gt, read_activitynet_pred
    from deeperaction.metrics.tal import evaluate_tal

    folder = ROOT / size
    with timer() as t_read:
        gt = read_activitynet_gt(folder / "gt.json")
        pred = read_activitynet_pred(folder / "pred.json")
    peak_read = peak_mib()
    with timer() as t_eval:
        report = evaluate_tal(gt, pred)
    n_vid, n_cls, n_pred = SIZES[size]
    note = f"{n_vid} videos, {n_cls} classes, {len(gt)} GT, {n_pred // 1000}k preds"
    emit([
        {"bench": "eval", "case": f"tal read json ({size})", "wall_s": round(t_read(), 3),
         "peak_mib": round(peak_read, 1), "reference_s": None, "note": note},
        {"bench": "eval", "case": f"tal average mAP ({size})", "wall_s": round(t_eval(), 3),
         "peak_mib": round(peak_mib(), 1), "reference_s": None,
         "note": f"average mAP {report.headline:.4f}"},
        {"bench": "eval", "case": f"tal read + score ({size})", "wall_s": round(t_read() + t_eval(), 3),
         "peak_mib": round(peak_mib(), 1), "reference_s": OFFICIAL_S[size],
         "note": "official: 181 s, 5.1 GiB (issue 2); 1 proc here 627 s" if size == "full" else "official: 79 s CPU, 99 MiB"},
    ])


if __name__ == "__main__":
    main()

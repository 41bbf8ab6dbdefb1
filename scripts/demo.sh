#!/usr/bin/env bash
# make demo: the main job on the embedded default. Run through `make demo` (the venv is on PATH).
set -euo pipefail
out=demo_out
mkdir -p "$out"
fx=../shared/fixtures/official/kinetics_tps/small
echo "Scoring the bundled Kinetics-TPS example with the official metric:"
deeperaction eval tps --gt "$fx/gt_dir" --pred "$fx/pred_dir" --json "$out/tps_eval.json"
echo "Wrote $out/tps_eval.json"

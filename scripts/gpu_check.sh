#!/usr/bin/env bash
# The first thing to run when a GPU is lent: every trainer and predictor for a few steps on CUDA, one line
# each (scripts/gpu_check.py). Without CUDA it says so and exits 0. Extra arguments go to the script.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}src exec "$PY" scripts/gpu_check.py "$@"

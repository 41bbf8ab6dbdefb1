#!/usr/bin/env bash
# Measure the margin of every learning test's bar: each runs with 3 seed offsets (data and initialisation,
# DEEPERACTION_LEARN_SEED) and with numpy's AVX-512 kernels on and off; the tests print "LEARN name seed=k
# metric=value ..." lines, collected here into one table (seconds per run: ~2 minutes on 2 cores).
# Usage: bash scripts/learning_margins.sh [pytest -k expression]
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
TESTS="tests/test_persondet_learn.py tests/test_partdet_learn.py tests/test_parts_learn.py tests/test_train_engine.py tests/test_mosi.py tests/test_stad_model.py tests/test_stad_ava.py tests/test_tal_model.py"
NO_AVX512="AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"
log=$(mktemp)
for seed in 0 1 2; do
  for kernels in default no-avx512; do
    feats=""; [ "$kernels" = no-avx512 ] && feats=$NO_AVX512
    NPY_DISABLE_CPU_FEATURES="$feats" DEEPERACTION_LEARN_SEED=$seed "$PY" -m pytest -q -s -p no:cacheprovider \
      ${1:+-k "$1"} $TESTS 2>&1 | sed -n "s/^.*\(LEARN .*\)$/\1 kernels=$kernels/p; s/^\(FAILED .*\)$/\1 seed=$seed kernels=$kernels/p" >>"$log"
  done
done
sort "$log"
rm -f "$log"

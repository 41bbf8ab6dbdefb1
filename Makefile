# deeperaction: every target sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

# numpy without its AVX-512 kernels (x86-simd-sort orders ties and sums floats differently): CI runs the
# metric tests both ways, so a machine of either kind checks both paths.
NO_AVX512 := NPY_DISABLE_CPU_FEATURES="AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"
METRIC_TESTS := tests/test_ava_metric.py tests/test_tal_metric.py tests/test_multisports_metric.py \
	tests/test_multisports_official.py tests/test_tps_metric.py tests/test_tps_rules.py tests/test_tps_fastread.py

.PHONY: install test test-metrics-no-avx512 test-slow demo bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-metrics-no-avx512: $(STAMP)
	$(NO_AVX512) $(BIN)/python -m pytest -q $(METRIC_TESTS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

demo: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/demo.sh

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH)

clean:
	rm -rf $(VENV) demo_out bench_out .pytest_cache .hypothesis

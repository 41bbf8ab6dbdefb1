"""``deeperaction bench``: finds the checkout's benchmarks, expands groups, runs one and writes its rows."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deeperaction.cli import app
from deeperaction.cli.bench import bench_root, expand
from deeperaction.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def test_root_and_names(tmp_path):
    assert bench_root(REPO / "src") == REPO
    assert bench_root(tmp_path) == REPO  # outside the checkout: the package's own source tree
    with pytest.raises(InputError, match="source checkout"):
        bench_root(tmp_path, source=tmp_path)
    known = ["eval_tal", "eval_tps", "eval_ava", "eval_multisports", "parse"]
    assert expand(["parse", "eval", "eval_tal"], known) == ["parse", "eval_tps", "eval_multisports", "eval_tal",
                                                            "eval_ava"]
    with pytest.raises(InputError, match="unknown benchmark 'nope'"):
        expand(["nope"], known)


def test_bench_runs_one_and_writes_rows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["bench", "eval_tal", "--quick", "--json", "rows.json"])
    assert res.exit_code == 0, res.output
    rows = json.loads((tmp_path / "rows.json").read_text())
    cases = {r["case"]: r for r in rows}
    assert "tal average mAP (quick)" in cases and cases["tal read + score (quick)"]["wall_s"] > 0
    bad = CliRunner().invoke(app, ["bench", "nope"])
    assert bad.exit_code == 2 and "unknown benchmark" in bad.output

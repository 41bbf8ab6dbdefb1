"""The synthetic generator's GT fed back as predictions scores perfectly through the CLI, for every subset of
every task: synth -> convert (GT -> predictions) -> eval, all as commands."""
from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from deeperaction.cli import app

runner = CliRunner()
COMMON = ["--videos", "6", "--seed", "3", "--size", "96x72", "--fps", "10", "--x264-preset", "ultrafast"]


def _ok(args: list[str]) -> str:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, (args, r.output)
    return " ".join(r.output.split())


def _headline(out: str) -> float:
    return float(re.search(r"= ([0-9.]+)", out).group(1))


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("gt_as_pred")
    _ok(["synth", str(root / "short"), "--task", "all", "--duration", "6:8", *COMMON])
    _ok(["synth", str(root / "long"), "--task", "tal", "--duration", "20:24", *COMMON])  # idle gaps need length
    return root


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_tps(synth, tmp_path, split):
    gt = synth / "short" / "annotations" / "tps" / split
    _ok(["convert", "tps-pred", str(gt), str(tmp_path)])
    assert _headline(_ok(["eval", "tps", "--gt", str(gt), "--pred", str(tmp_path)])) == 0.9999


@pytest.mark.parametrize("protocol", ["2022", "2021"])
@pytest.mark.parametrize("subset", ["test", "train"])
def test_multisports(synth, tmp_path, subset, protocol):
    gt = synth / "short" / "annotations" / "stad" / "multisports_gt.pkl"
    _ok(["convert", "multisports-pred", str(gt), str(tmp_path), "--subset", subset])
    out = _ok(["eval", "multisports", "--gt", str(gt), "--pred", str(tmp_path), "--subset", subset,
               "--protocol", protocol, "--json", str(tmp_path / "r.json")])
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["headline"]["value"] == pytest.approx(100.0), out
    assert all(v == pytest.approx(100.0) for v in rep["per_threshold"].values()), rep["per_threshold"]


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_ava(synth, split):
    d = synth / "short" / "annotations" / "stad"
    csv = d / f"ava_{split}.csv"
    assert _headline(_ok(["eval", "ava", "--gt", str(csv), "--pred", str(csv), "--labelmap",
                          str(d / "ava_labelmap.pbtxt")])) == 1.0


@pytest.mark.parametrize("subset", ["training", "validation", "testing"])
def test_tal(synth, tmp_path, subset):
    gt = synth / "long" / "annotations" / "tal" / "activitynet_gt.json"
    _ok(["convert", "tal-pred", str(gt), str(tmp_path / "p.json"), "--subset", subset])
    assert _headline(_ok(["eval", "tal", "--gt", str(gt), "--pred", str(tmp_path / "p.json"),
                          "--subset", subset])) == 1.0

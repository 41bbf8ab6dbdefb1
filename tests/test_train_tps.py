"""`deeperaction train tps` end to end on the toy set in the Kinetics-TPS layout: video model through the
clip cache, skeleton model on keypoints, user errors as exit 2, and a 2-process torchrun (gloo, CPU)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deeperaction.cli import app
from deeperaction.datasets.toy import write_toy_tps
from deeperaction.train.logging import read_metrics

pytestmark = pytest.mark.usefixtures("torch_one_thread")


REPO = Path(__file__).resolve().parents[1]
TOY_CFG = REPO / "configs" / "toy_tiny3d.yaml"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_tps(tmp_path_factory.mktemp("toytps"), 64, frames=16, size=(40, 48), seed=1, speed=2.0)


def _sets(toy: Path, out: Path, *extra: str) -> list[str]:
    args = [f"data.root={toy}", f"train.out={out}", "data.cache_size=[40, 48]", "data.crop=32",
            "train.epochs=4", "train.batch_size=8", "data.val_fraction=0.25", *extra]
    return [a for x in args for a in ("--set", x)]


def test_cli_trains_video_model_through_the_cache(toy, tmp_path):
    res = CliRunner().invoke(app, ["train", "tps", str(TOY_CFG), *_sets(toy, tmp_path / "run", f"data.cache={toy / 'cache'}"),
                                   "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "r.json").read_text())
    assert summary["eval"]["videos"] == 15 and summary["eval"]["accuracy"] >= 0.5, summary  # chance 0.25
    assert (toy / "cache" / "index.json").is_file() and (tmp_path / "run" / "classes.txt").is_file()
    steps = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "step"]
    assert steps[-1]["loss"] < steps[0]["loss"]
    # resume auto on a finished run: nothing left to do, same result
    res = CliRunner().invoke(app, ["train", "tps", str(TOY_CFG), *_sets(toy, tmp_path / "run", f"data.cache={toy / 'cache'}"),
                                   "--resume", "auto"])
    assert res.exit_code == 0, res.output


def test_cli_trains_skeleton_model(toy, tmp_path):
    sets = _sets(toy, tmp_path / "sk", "model.kind=skeleton", "data.clip_len=12", "data.frame_stride=1",
                 "optim.name=adamw", "optim.lr=0.005", "optim.weight_decay=0.01", "train.epochs=4")
    res = CliRunner().invoke(app, ["train", "tps", str(TOY_CFG), *sets, "--json", str(tmp_path / "s.json")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "s.json").read_text())["eval"]["accuracy"] >= 0.5


def test_cli_user_errors_exit_2(toy, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim: {lr: fast}\n")
    res = CliRunner().invoke(app, ["train", "tps", str(bad)])
    assert res.exit_code == 2 and "optim.lr" in res.output
    res = CliRunner().invoke(app, ["train", "tps", str(TOY_CFG), "--set", f"data.root={tmp_path}"])
    assert res.exit_code == 2 and "gt_vid_result.json" in res.output
    res = CliRunner().invoke(app, ["train", "tps", str(TOY_CFG), *_sets(toy, tmp_path / "x", "train.batch_size=1000")])
    assert res.exit_code == 2 and "train.batch_size" in res.output
    res = CliRunner().invoke(app, ["train", "tps", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2
    res = CliRunner().invoke(app, ["train", "tps", str(TOY_CFG), *_sets(toy, tmp_path / "y", "model.kind=skeleton",
                                                                      "model.dense_head=true")])
    assert res.exit_code == 2 and "model.dense_head" in res.output  # per-step labels: not in TPS clips


def test_torchrun_two_processes_gloo(toy, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "deeperaction", "train", "tps", str(TOY_CFG),
           *_sets(toy, tmp_path / "ddp", "train.epochs=2", "train.batch_size=8", f"data.cache={toy / 'cache'}"),
           "--json", str(tmp_path / "d.json")]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = read_metrics(tmp_path / "ddp" / "metrics.jsonl")
    assert [r["world"] for r in records if r["kind"] == "start"] == [2]  # rank 0 logs alone
    evals = [r for r in records if r["kind"] == "eval"]
    assert evals[-1]["videos"] == 15  # both ranks' shares of the held-out set, summed
    assert evals[-1]["step"] == 2 * (49 // 2 // 8)  # 49 training videos split over 2 ranks, batch 8
    final = json.loads((tmp_path / "d.json").read_text())["eval"]
    assert final == pytest.approx({k: evals[-1][k] for k in ("accuracy", "top5", "videos")}, abs=1e-6)


def test_trains_on_synth_output(tmp_path):
    """`deeperaction synth` output (videos/ and labels/*.npz beside annotations/tps/train) trains as is."""
    from deeperaction.synth.generate import generate
    generate(tmp_path / "syn", videos=6, seed=0, task="tps", size=(64, 48), duration=(1.0, 1.5))
    root = tmp_path / "syn" / "annotations" / "tps" / "train"
    n = len(json.loads((root / "gt_vid_result.json").read_text()))
    for kind in ("skeleton", "video"):
        sets = [f"data.root={root}", f"data.val_root={root}", f"train.out={tmp_path / kind}", f"model.kind={kind}",
                "data.cache=", "data.cache_size=[48, 64]", "data.crop=32", "train.epochs=1", "train.batch_size=2",
                "data.clip_len=8"]
        res = CliRunner().invoke(app, ["train", "tps", str(TOY_CFG), *[a for x in sets for a in ("--set", x)],
                                       "--json", str(tmp_path / f"{kind}.json")])
        assert res.exit_code == 0, res.output
        assert json.loads((tmp_path / f"{kind}.json").read_text())["eval"]["videos"] == n

    # the trained checkpoints drive `parse --action-model`: each alone, and a weighted ensemble of both
    classes = (tmp_path / "video" / "classes.txt").read_text().split()
    (tmp_path / "ens.json").write_text(json.dumps({"kind": "ensemble", "models": ["video/best.pt", "skeleton/best.pt"],
                                                   "weights": [0.3, 0.7]}))
    video = sorted((tmp_path / "syn" / "videos").glob("*.mp4"))[0]
    for model in (tmp_path / "video" / "best.pt", tmp_path / "skeleton" / "best.pt", tmp_path / "ens.json"):
        out = tmp_path / f"parse_{model.stem}"
        res = CliRunner().invoke(app, ["parse", str(video), "--out", str(out), "--no-render",
                                       "--action-model", str(model)])
        assert res.exit_code == 0, res.output
        rich = json.loads((out / "parse.json").read_text())
        assert rich["action"] in classes and set(rich["action_scores"]) == set(classes)
        assert sum(rich["action_scores"].values()) == pytest.approx(1.0, abs=1e-4)
        assert json.loads((out / "pred_vid_result.json").read_text()) == {video.stem: rich["action"]}
    bad = CliRunner().invoke(app, ["parse", str(video), "--out", str(tmp_path / "x"), "--no-render",
                                   "--action-model", str(tmp_path / "video" / "metrics.jsonl")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output

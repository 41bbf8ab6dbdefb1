"""The part-level trainers run under torchrun with no code change: 2 CPU processes (gloo) train the part-state
head, the pose-guided part detector and the person detector, and the held-out evaluation counts every part
(person) once (both ranks' shares summed), as a single process does."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deeperaction.synth import generate
from deeperaction.train.logging import read_metrics

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def syn(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ddp_parts")
    generate(root / "syn", videos=6, seed=0, task="tps", size=(160, 120), preset="easy")
    return root / "syn" / "annotations" / "tps"


def _train(what: str, config: str, syn: Path, out: Path, procs: int) -> dict:
    sets = [f"data.root={syn / 'train'}", f"data.val_root={syn / 'val'}", "train.epochs=1", f"train.out={out}",
            f"data.cache={out.parent / 'cache'}", "train.progress=false"]
    launch = ([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs)]
              if procs > 1 else [sys.executable])
    cmd = [*launch, "-m", "deeperaction", "train", what, str(REPO / "configs" / config),
           *[a for s in sets for a in ("--set", s)], "--json", str(out) + ".json"]
    proc = subprocess.run(cmd, cwd=out.parent, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(Path(str(out) + ".json").read_text())


@pytest.mark.parametrize("what,config,count", [("parts", "parts_tiny3d.yaml", "parts"),
                                              ("partdet", "partdet_tiny.yaml", "parts"),
                                              ("persondet", "persondet_tiny.yaml", "gt")])
def test_two_processes_count_every_held_out_part_once(syn, tmp_path, what, config, count):
    one = _train(what, config, syn, tmp_path / "one", 1)
    two = _train(what, config, syn, tmp_path / "two", 2)
    assert two["eval"][count] == one["eval"][count] > 0
    starts = [r for r in read_metrics(tmp_path / "two" / "metrics.jsonl") if r["kind"] == "start"]
    assert [r["world"] for r in starts] == [2]  # rank 0 logs alone
    assert Path(two["model_path"]).is_file()

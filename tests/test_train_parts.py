"""Pieces of the engine: schedule, parameter groups, EMA, sampler sharding/resume, checkpoints."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from deeperaction.errors import InputError
from deeperaction.models.checkpoint import load_checkpoint, save_checkpoint
from deeperaction.train.checkpoint import resolve_resume
from deeperaction.train.ddp import ShardedSampler
from deeperaction.train.ema import ModelEMA
from deeperaction.train.schedule import build_optimizer, build_scheduler, param_groups, warmup_cosine


def test_warmup_then_cosine():
    assert warmup_cosine(0, 10, 110) == pytest.approx(0.01)
    assert warmup_cosine(5, 10, 110) == pytest.approx(0.01 + 0.99 * 0.5)
    assert warmup_cosine(10, 10, 110) == pytest.approx(1.0)
    assert warmup_cosine(60, 10, 110) == pytest.approx(0.5)
    assert warmup_cosine(110, 10, 110, min_ratio=0.1) == pytest.approx(0.1)
    opt = build_optimizer(nn.Linear(3, 2), "adamw", lr=0.2)
    sched = build_scheduler(opt, 0, 4)
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.2 * 0.5 * (1 + math.cos(math.pi * s / 4)) for s in range(4)])


def test_norms_and_biases_are_not_decayed():
    m = nn.Sequential(nn.Conv3d(3, 4, 3), nn.BatchNorm3d(4), nn.Flatten(), nn.Linear(4, 2))
    decay, no_decay = param_groups(m, 0.1)
    assert {id(p) for p in decay["params"]} == {id(m[0].weight), id(m[3].weight)}
    assert no_decay["weight_decay"] == 0.0 and len(no_decay["params"]) == 4  # conv bias, BN weight+bias, linear bias
    with pytest.raises(ValueError, match="unknown optimizer"):
        build_optimizer(m, "adam")


def test_ema_follows_weights():
    m = nn.Linear(2, 1)
    ema = ModelEMA(m, decay=0.5)
    start = ema.module.weight.clone()
    with torch.no_grad():
        m.weight.add_(1.0)
    ema.update(m)  # first update: d = min(0.5, 2 / 11)
    d = 2 / 11
    assert torch.allclose(ema.module.weight, d * start + (1 - d) * m.weight)
    assert not ema.module.weight.requires_grad


def test_sampler_shards_pads_and_resumes():
    n, world, bs = 10, 3, 2
    shards = [list(ShardedSampler(n, r, world, seed=1, batch_size=bs)) for r in range(world)]
    assert all(len(s) == 4 for s in shards)  # ceil(10 / 3) = 4 each, padded by repeats
    assert set(sum(shards, [])) == set(range(n))
    s = ShardedSampler(n, 0, 1, seed=1, batch_size=bs)
    s.set_epoch(3)
    full = list(s)
    s.set_epoch(3, start_batch=2)
    assert list(s) == full[4:] and len(s) == 6
    s.set_epoch(4)
    assert list(s) != full and sorted(s) == list(range(n))
    assert list(ShardedSampler(5, shuffle=False)) == [0, 1, 2, 3, 4]
    assert sum(len(ShardedSampler(7, r, 2, shuffle=False, pad=False)) for r in range(2)) == 7


def test_checkpoint_roundtrip_and_resume_paths(tmp_path):
    save_checkpoint(tmp_path / "run" / "last.pt", model={"w": torch.ones(2)}, step=3, config={"a": [1, 2]})
    ck = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ck["step"] == 3 and torch.equal(ck["model"]["w"], torch.ones(2))
    assert not list((tmp_path / "run").glob("*.tmp"))
    assert resolve_resume("auto", tmp_path / "run") == tmp_path / "run" / "last.pt"
    assert resolve_resume("auto", tmp_path / "none") is None
    assert resolve_resume("", tmp_path) is None
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    np.testing.assert_equal(ck["config"], {"a": [1, 2]})

"""The training engine learns a toy task on CPU, resumes to the identical next step, and logs JSONL."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import LEARN_SEED, learn_print
from torch.utils.data import Dataset

from deeperaction.train.action import action_task
from deeperaction.train.config import load_config
from deeperaction.train.engine import fit, seed_everything
from deeperaction.train.logging import read_metrics

pytestmark = pytest.mark.usefixtures("torch_one_thread")


DIRS = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]])  # right, left, down, up: the class is the direction


class MovingSquares(Dataset):
    """uint8 clips (T, H, W, 3) of a square moving in one of 4 directions on a noisy background."""

    def __init__(self, n: int, seed: int, frames: int = 8, size: int = 32, test: bool = False):
        rng = np.random.default_rng(seed)
        self.labels = rng.integers(0, 4, n)
        self.clips = rng.integers(0, 60, (n, frames, size, size, 3), dtype=np.uint8)
        side = 8
        for i, c in enumerate(self.labels):
            x0, y0 = rng.integers(side, size - 2 * side, 2)
            colour = rng.integers(150, 256, 3)
            for t in range(frames):
                x, y = np.array([x0, y0]) + DIRS[c] * t * 1.5
                x, y = int(np.clip(x, 0, size - side)), int(np.clip(y, 0, size - side))
                self.clips[i, t, y:y + side, x:x + side] = colour
        self.test = test

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        clip = torch.from_numpy(self.clips[i])
        return (clip[None] if self.test else clip), int(self.labels[i])


def tiny_cfg(tmp_path, *extra: str) -> dict:
    return load_config(None, [f"train.out={tmp_path}", "model.name=tiny3d", "model.dropout=0.0", "data.crop=32",
                              "data.workers=0", "data.flip=0.0", "data.colour=0.1", "data.scale=[0.8, 1.0]",
                              "train.batch_size=16", "train.epochs=3", "train.log_every=4", "optim.lr=0.1",
                              "optim.warmup_epochs=0.5", "train.progress=false", *extra])


def test_tiny_config_learns_moving_squares(tmp_path):
    cfg = tiny_cfg(tmp_path, f"train.seed={LEARN_SEED}")
    seed_everything(LEARN_SEED)
    task = action_task(cfg, MovingSquares(192, 1 + 10 * LEARN_SEED), MovingSquares(96, 2 + 10 * LEARN_SEED, test=True),
                       num_classes=4)
    res = fit(task, cfg)
    logs = read_metrics(tmp_path / "metrics.jsonl")
    losses = [r["loss"] for r in logs if r["kind"] == "step"]
    learn_print("moving_squares", accuracy=res["eval"]["accuracy"], loss_ratio=losses[-1] / losses[0])
    assert losses[-1] < 0.6 * losses[0], losses
    assert res["eval"]["accuracy"] >= 0.75, res["eval"]  # chance is 0.25
    assert res["step"] == 3 * (192 // 16)
    assert (tmp_path / "last.pt").is_file() and (tmp_path / "best.pt").is_file()
    assert {r["kind"] for r in logs} >= {"start", "step", "eval", "epoch"}
    assert 0.0 <= logs[-1]["data_wait_share"] < 1.0 and logs[-1]["clips_per_s"] > 0


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_resume_reaches_identical_next_step(tmp_path, ema):
    extra = ("train.epochs=3", f"train.ema={ema}", "model.dropout=0.3", "data.workers=0")
    full_dir, part_dir = tmp_path / "full", tmp_path / "part"
    seed_everything(0)
    full = fit(action_task(tiny_cfg(full_dir, *extra), MovingSquares(64, 1), None, 4), tiny_cfg(full_dir, *extra))
    # stop in the middle of the second epoch, then resume from last.pt with a freshly initialised model
    seed_everything(0)
    fit(action_task(tiny_cfg(part_dir, *extra), MovingSquares(64, 1), None, 4),
        tiny_cfg(part_dir, *extra, "train.max_steps=6"))
    seed_everything(123)
    resumed = fit(action_task(tiny_cfg(part_dir, *extra), MovingSquares(64, 1), None, 4),
                  tiny_cfg(part_dir, *extra), resume="auto")
    assert resumed["step"] == full["step"] == 12
    for (k, a), b in zip(full["model"].state_dict().items(), resumed["model"].state_dict().values()):
        assert torch.equal(a, b), k
    if ema:
        for a, b in zip(full["ema"].module.parameters(), resumed["ema"].module.parameters()):
            assert torch.equal(a, b)


class _FakeEvent:
    """A CUDA event stand-in: ``record`` stamps the next time of a scripted GPU timeline."""

    def __init__(self, times: list[float]):
        self.times, self.t = times, None

    def record(self):
        self.t = self.times.pop(0)

    def synchronize(self):
        pass

    def elapsed_time(self, other) -> float:
        return other.t - self.t


def test_gpu_idle_meter_counts_only_the_gaps_between_steps():
    from deeperaction.train.logging import GpuIdleMeter

    # GPU timeline (ms): step 1 runs 0-10, idle until 14, step 2 runs 14-24, step 3 starts at once: 24-34
    times = [0.0, 10.0, 14.0, 24.0, 24.0, 34.0]
    meter = GpuIdleMeter(event=lambda: _FakeEvent(times))
    assert meter.summary() == {}
    for _ in range(3):
        meter.begin()
        meter.end()
    s = meter.summary()
    assert s["gpu_idle_share"] == pytest.approx(4 / 34) and s["gpu_busy_ms_per_step"] == pytest.approx(10.0)


def test_channels_last_3d_only_for_3d_convolutions():
    """CUDA runs put video models in channels_last_3d; a model with 2-D convolutions (skeleton classifier,
    detectors) must not be touched (the H200 run crashed: 'required rank 5 tensor')."""
    from deeperaction.models.backbones import build_backbone
    from deeperaction.models.skeleton import build_skeleton_classifier
    from deeperaction.train.engine import channels_last_3d

    video = channels_last_3d(build_backbone(name="tiny3d", num_classes=4))
    convs = [m.weight for m in video.modules() if isinstance(m, torch.nn.Conv3d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last_3d) for w in convs)
    skel = channels_last_3d(build_skeleton_classifier(num_classes=4))
    assert skel(torch.zeros(2, 1, 16, 20, 3)).shape == (2, 4)


def test_flip_keypoints_tensor_equals_numpy():
    from deeperaction.datasets.transforms import flip_keypoints

    kp = np.random.default_rng(0).random((2, 3, 20, 3)).astype(np.float32)
    np.testing.assert_array_equal(flip_keypoints(torch.from_numpy(kp), 0.0).numpy(), flip_keypoints(kp, 0.0))

"""Train the skeleton action model that ships in the package (``deeperaction/data/models/action_skeleton.pt``):
the default action classifier of ``parse`` (video and per-track actions), ``detect`` and ``localize``.

Data: windows of fresh synthetic people made from the generator's labels on the fly (no rendering), made to
look like a pose estimator's output on real footage (keypoint noise, missed joints, poses only every k-th
frame, confidence noise), plus mirror / scale / rotation on the device; 14 actions + "none". Held out:
windows of another seed. Fixed seeds: the same command gives the same file (on one machine and torch).

    python scripts/train_default_action.py [--epochs 3] [--steps 150] [--out runs/default_action] [--install]

``--install`` copies the model into ``src/deeperaction/data/models/``. About 6 minutes on 2 CPU cores. Short on
purpose: longer training (6 x 250 steps) fits the synthetic people better (fresh-seed video accuracy on
``default`` 0.87 -> 0.97) but transfers worse to real pedestrians (vtest.avi walking tracks named walk 7 -> 5
of 11); docs/training.md has the numbers.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from deeperaction.datasets.action import NONE_ACTION, SynthSkeletonStream
from deeperaction.models.checkpoint import load_checkpoint, save_checkpoint
from deeperaction.synth import ACTION_NAMES
from deeperaction.train.action import action_task
from deeperaction.train.config import load_config
from deeperaction.train.engine import fit, seed_everything

REPO = Path(__file__).resolve().parents[1]
FPS = 25.0       # the generator's frame rate: tracks are resampled to it before classification
LENGTH = 48      # frames per window (1.9 s at 25 fps)
SHIFT = {"left_ankle": 0.17, "right_ankle": 0.17, "left_knee": 0.05, "right_knee": 0.05, "left_wrist": 0.06,
         "right_wrist": 0.06, "left_hand": 0.07, "right_hand": 0.07, "neck": -0.09, "left_ear": -0.07,
         "right_ear": -0.07, "nose": -0.04, "left_hip": -0.04, "right_hip": -0.04}
"""Median offsets (torso lengths, towards the head) of BlazePose's joints from the generator's on its people."""


class EpochStream(SynthSkeletonStream):
    """Fresh samples every epoch: the seed moves with the epoch."""

    def set_epoch(self, epoch: int) -> None:
        self.seed = self.base_seed + 7919 * epoch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=150, help="steps per epoch")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "default_action")
    ap.add_argument("--install", action="store_true", help="copy the model into the package")
    ap.add_argument("--noise", type=float, default=0.05, help="most keypoint jitter, torso lengths")
    ap.add_argument("--swap", type=float, default=0.0, help="most share of frames with a left/right limb swap")
    ap.add_argument("--outlier", type=float, default=0.0, help="most share of limb ends thrown off")
    ap.add_argument("--swap-sides", type=float, default=0.0, help="chance of a window with left and right exchanged")
    ap.add_argument("--shift", action="store_true", help="move joints where BlazePose puts them on the generator's "
                    "people (SHIFT, measured at 320x240)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    classes = list(ACTION_NAMES) + [NONE_ACTION]
    cfg = load_config(None, [
        "model.kind=skeleton", "model.dropout=0.3", f"data.clip_len={LENGTH}", "data.frame_stride=1",
        "data.test_clips=1", "data.flip=0.5", f"data.workers={a.workers}", f"train.batch_size={a.batch}",
        f"train.epochs={a.epochs}", "optim.name=adamw", "optim.lr=0.002", "optim.weight_decay=0.05",
        "optim.warmup_epochs=0.3", "optim.label_smoothing=0.1", "train.log_every=50", f"train.out={a.out}",
        "train.seed=0"])
    seed_everything(0)
    train = EpochStream(classes, LENGTH, seed=1000, size=a.steps * a.batch,
                        degrade={"noise": a.noise, "swap": a.swap, "outlier": a.outlier,
                                 "swap_sides": a.swap_sides, "shift": SHIFT if a.shift else None})
    train.base_seed = 1000
    val = SynthSkeletonStream(classes, LENGTH, seed=424242, size=1500, test=True)
    res = fit(action_task(cfg, train, val, len(classes)), cfg)
    ck = load_checkpoint(a.out / "best.pt")
    model = a.out / "model.pt"
    save_checkpoint(model, kind="action", config=cfg, classes=classes, model=ck["model"], fps=FPS,
                    trained_by="scripts/train_default_action.py")
    print(f"held-out accuracy {res['eval'].get('accuracy'):.3f} -> {model}")
    if a.install:
        dest = REPO / "src" / "deeperaction" / "data" / "models" / "action_skeleton.pt"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(model, dest)
        print(f"installed {dest} ({dest.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

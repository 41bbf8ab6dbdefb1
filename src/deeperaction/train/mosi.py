"""MoSI self-supervised initialisation of video backbones (``deeperaction train mosi``): classify the speed
and direction of pseudo-motion made from still images (:mod:`deeperaction.datasets.mosi`), then start an
action model from it (``model.weights: OUT/model.pt``; the classifier head is skipped, it has another size).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from deeperaction.datasets.mosi import MOSI_CLASSES, ImageSource, MosiClips
from deeperaction.datasets.transforms import augment_clips
from deeperaction.errors import InputError
from deeperaction.models.backbones import build_backbone
from deeperaction.models.heads.action import multi_clip_scores
from deeperaction.train.config import DATA, MODEL, OPTIM, TRAIN, load_config, section
from deeperaction.train.engine import Task, fit_and_export

MOSI_DEFAULTS: dict[str, dict[str, Any]] = {
    "data": section(DATA, ("workers", "prefetch", "clip_len", "crop", "colour"), clip_len=8, crop=64, workers=2,
                    colour=0.0),
    "model": section(MODEL, ("name", "weights", "frozen_bn", "dropout", "channels_last"), name="tiny3d", dropout=0.0),
    "optim": section(OPTIM, tuple(OPTIM), name="adamw", lr=5e-3, weight_decay=0.01, warmup_epochs=0.5,
                     label_smoothing=0.0),
    "train": section(TRAIN, tuple(TRAIN), epochs=4, batch_size=16, out="runs/mosi"),
    "mosi": {
        "images": "synth",        # "synth" (frames of synthetic videos) or a folder of images (any, recursively)
        "pool": 256,              # synthetic frames rendered once per worker ("synth" only)
        "size": 64,               # window side, pixels (the clip before the training crop)
        "mask": 0.5,              # share of clips where only a random rectangle moves (static mask)
        "steps": 200,             # training clips per epoch = steps x batch_size (fresh ones every epoch)
        "val_clips": 400,         # held-out clips (another seed) for the accuracy
    },
}
"""The MoSI options: the shared ``optim``/``train``, the ``data`` and ``model`` keys it reads and ``mosi``."""


def load_mosi_config(path: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """:data:`MOSI_DEFAULTS`, then the YAML file, then ``section.key=value`` overrides; checked."""
    cfg = load_config(path, overrides, defaults=MOSI_DEFAULTS)
    if cfg["data"]["crop"] > cfg["mosi"]["size"]:
        raise InputError(f"data.crop ({cfg['data']['crop']}) must not exceed mosi.size ({cfg['mosi']['size']})",
                         file=path, field="data.crop")
    return cfg


def mosi_task(cfg: dict) -> Task:
    """Pseudo-motion classification: the configured backbone with a 9-class head."""
    dc, mc, pc, tc = cfg["data"], cfg["model"], cfg["mosi"], cfg["train"]
    images = ImageSource(pc["images"], pool=pc["pool"], seed=tc["seed"])
    train_set = MosiClips(images, size=pc["size"], clip_len=dc["clip_len"], seed=tc["seed"],
                          length=pc["steps"] * tc["batch_size"], mask=pc["mask"])
    held = ImageSource(pc["images"], pool=max(32, pc["pool"] // 4), seed=tc["seed"] + 1)
    val_set = MosiClips(held, size=pc["size"], clip_len=dc["clip_len"], seed=tc["seed"] + 1, length=pc["val_clips"],
                        mask=pc["mask"], test=True)
    model = build_backbone(name=mc["name"], num_classes=len(MOSI_CLASSES), weights=mc["weights"],
                           frozen_bn=mc["frozen_bn"], dropout=mc["dropout"])
    channels_last = mc["channels_last"]

    def prepare(batch, device, gen):  # crops and colour, never a flip: it would swap left and right
        x, y = batch
        x = x.to(device, non_blocking=True)
        return augment_clips(x, dc["crop"], gen, (0.7, 1.0), 0.0, dc["colour"],
                             channels_last=channels_last and device.type == "cuda"), y.to(device, non_blocking=True)

    def eval_batch(net, batch, device):
        x, y = batch
        x = x.to(device)
        b, k = x.shape[:2]
        clips = augment_clips(x.flatten(0, 1), dc["crop"], None).unflatten(0, (b, k))
        pred = multi_clip_scores(net, clips).argmax(-1).cpu()
        return {"correct": float((pred == y).sum()), "count": float(len(y))}

    def loss(logits, y):
        return F.cross_entropy(logits.float(), y, label_smoothing=cfg["optim"]["label_smoothing"])

    def summarize(s):
        return {"accuracy": s.get("correct", 0.0) / max(1.0, s.get("count", 0.0))}

    return Task(model=model, train_set=train_set, val_set=val_set, prepare=prepare, loss=loss,
                eval_batch=eval_batch, summarize=summarize, best_key="accuracy")


def train_mosi(cfg: dict, resume: str | None = None) -> dict[str, Any]:
    """Python twin of ``deeperaction train mosi``: fit, then ``OUT/model.pt`` (kind ``mosi``) to start an action
    model from (``model.weights``)."""
    torch.manual_seed(cfg["train"]["seed"])
    return fit_and_export(lambda info: (mosi_task(cfg), list(MOSI_CLASSES)), cfg, resume, "mosi")

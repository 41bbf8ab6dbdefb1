"""Train the part-state models of the Kinetics-TPS winning reports from a config: the learned part-state
head (``parts.kind: part_state``), the video-level part states (``video_states``) and the frequency prior
(``prior``, counted, not trained). Data: a TPS GT folder (``data.root``, ``data.val_root``) + its videos
(:mod:`deeperaction.datasets.part_states`); networks: :mod:`deeperaction.models.part_states`.

Each run writes ``OUT/model.pt`` (``{"kind", "config", "classes", "model"}``, best evaluation's weights)
or ``OUT/prior.json``, which :func:`deeperaction.tasks.predictors.load_state_predictor` loads.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from deeperaction.datasets.clip_cache import ClipCache, cache_for
from deeperaction.datasets.part_states import (IGNORE, PartStateClips, PartTable, VideoStateClips, read_part_table,
                                               video_state_targets)
from deeperaction.datasets.tps_folder import train_val_split
from deeperaction.datasets.transforms import normalize_clips
from deeperaction.errors import InputError
from deeperaction.models.part_states import KINDS as PART_KINDS
from deeperaction.models.part_states import part_states_from_config
from deeperaction.models.prior import FrequencyPrior
from deeperaction.train.config import CLIP_DATA, DATA, MODEL, OPTIM, TPS_DATA, TRAIN, load_config, section
from deeperaction.train.ddp import barrier
from deeperaction.train.engine import Task, fit_and_export
from deeperaction.video.reader import probe

PARTS_DEFAULTS: dict[str, dict[str, Any]] = {
    "data": section(DATA, TPS_DATA + CLIP_DATA + ("flip", "crop_mode", "person_size", "person_margin"), clip_len=8,
                    frame_stride=2, person_size=64),
    "model": section(MODEL, ("name", "weights", "frozen_bn", "dropout", "channels_last"), dropout=0.1),
    "optim": section(OPTIM, tuple(OPTIM), name="adamw", lr=1e-3, weight_decay=0.01, label_smoothing=0.0),
    "train": section(TRAIN, tuple(TRAIN)),
    "parts": {
    "kind": "part_state",     # "part_state" (RoI head) | "video_states" (video classifier) | "prior" (counts)
    "layers": 3,              # residual stages of r3d/mc3/r2plus1d kept for RoIAlign (3: stride 8, 4: 16)
    "dim": 128,               # token width of the part-state head
    "heads": 4,               # attention heads across the 10 parts
    "attn_layers": 1,         # self-attention layers across the parts
    "roi": 3,                 # RoIAlign output side (cells), averaged after pooling
    "action_dropout": 0.3,    # share of training samples whose action is hidden ("unknown" id)
    "use_action": True,       # feed the (predicted) action class to the head
    },
}
"""The part-state models' options (``deeperaction train parts``): the shared ``optim``/``train``, the ``data``
and ``model`` keys they read and the ``parts`` section."""


def load_part_states_config(path: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """:data:`PARTS_DEFAULTS`, then the YAML file, then ``section.key=value`` overrides."""
    cfg = load_config(path, overrides, defaults=PARTS_DEFAULTS)
    if cfg["parts"]["kind"] not in PART_KINDS:
        raise InputError(f"must be one of {', '.join(PART_KINDS)}, got {cfg['parts']['kind']!r}",
                         file=path, field="parts.kind")
    return cfg


def state_loss(logits: torch.Tensor, states: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy over labelled parts: ``logits (B, 10, S)``, ``states (B, 10)`` (IGNORE = no label)."""
    return F.cross_entropy(logits.float().flatten(0, 1), states.flatten(), ignore_index=IGNORE,
                           label_smoothing=smoothing)


def state_sums(logits: torch.Tensor, states: torch.Tensor) -> dict[str, float]:
    """Additive accuracy sums: all labelled parts, and those whose state is not "none" (id 0)."""
    pred = logits.argmax(-1)
    ok = states != IGNORE
    act = ok & (states > 0)
    hit = pred == states
    return {"correct": float((hit & ok).sum()), "count": float(ok.sum()),
            "correct_active": float((hit & act).sum()), "active": float(act.sum())}


def state_summary(s: dict[str, float]) -> dict[str, float]:
    return {"accuracy": s.get("correct", 0.0) / max(1.0, s.get("count", 0.0)),
            "active_accuracy": s.get("correct_active", 0.0) / max(1.0, s.get("active", 0.0)),
            "parts": s.get("count", 0.0)}


def _sizes(cache: ClipCache) -> dict[str, tuple[int, int]]:
    return {v.id: (probe(v.source).width, probe(v.source).height) for v in cache.videos}


def part_states_task(cfg: dict, info=None) -> tuple[Task, list[str]]:
    """The :class:`Task` of ``parts.kind`` (part_state or video_states) and the action classes."""
    dc, pc, tc = cfg["data"], cfg["parts"], cfg["train"]
    if not dc["cache"]:
        raise InputError("part models read clips from the clip cache: set data.cache", field="data.cache")
    split = train_val_split(dc, tc["seed"], val_classes="own")
    train_items, val_items, classes = split.train, split.val, split.classes
    if info is None or info.main:
        cache_for(dc, train_items + val_items)
    barrier()
    cache = ClipCache(dc["cache"])
    val_root = dc["val_root"] or dc["root"]
    train_ids, val_ids = {it.video_id for it in train_items}, {it.video_id for it in val_items}
    smoothing = cfg["optim"]["label_smoothing"]
    if pc["kind"] == "part_state":
        table, _ = read_part_table(dc["root"], classes)
        vtable = read_part_table(val_root, classes, True)[0] if dc["val_root"] else table
        sizes = _sizes(cache)
        if dc["crop_mode"] not in ("frame", "person"):
            raise InputError(f"data.crop_mode must be frame or person, got {dc['crop_mode']!r}", field="data.crop_mode")
        crop = {"person_size": dc["person_size"] if dc["crop_mode"] == "person" else 0, "margin": dc["person_margin"]}
        train_set = PartStateClips(cache, _subset(table, train_ids), sizes, dc["clip_len"], dc["frame_stride"],
                                   train=True, flip=dc["flip"], seed=tc["seed"], **crop)
        val_set = PartStateClips(cache, _subset(vtable, val_ids), sizes, dc["clip_len"], dc["frame_stride"],
                                 train=False, **crop) if val_ids else None
        model = part_states_from_config(cfg, len(classes))

        def prepare(batch, device, gen):
            (clips, boxes, mask, action), y = batch
            x = (normalize_clips(clips.to(device, non_blocking=True)), boxes.to(device), mask.to(device),
                 action.to(device))
            return x, y.to(device)

        def eval_batch(net, batch, device):
            x, y = prepare(batch, device, None)
            return state_sums(net(x), y)
    elif pc["kind"] == "video_states":
        table, _ = read_part_table(dc["root"], classes)
        targets = video_state_targets(table)
        if dc["val_root"]:
            targets.update(video_state_targets(read_part_table(val_root, classes, True)[0]))
        train_set = VideoStateClips(cache, train_items, targets, dc["clip_len"], dc["frame_stride"], True,
                                    dc["test_clips"], tc["seed"])
        val_set = VideoStateClips(cache, val_items, targets, dc["clip_len"], dc["frame_stride"], False,
                                  dc["test_clips"], tc["seed"]) if val_items else None
        model = part_states_from_config(cfg, len(classes))

        def prepare(batch, device, gen):
            clips, y = batch
            return normalize_clips(clips.to(device, non_blocking=True)), y.to(device)

        def eval_batch(net, batch, device):
            clips, y = batch
            b, k = clips.shape[:2]
            x = normalize_clips(clips.flatten(0, 1).to(device))
            probs = net(x).float().softmax(-1).view(b, k, *y.shape[1:], -1).mean(1)
            return state_sums(probs, y.to(device))
    else:
        raise InputError(f"parts.kind must be part_state, video_states or prior, got {pc['kind']!r}",
                         field="parts.kind")

    def loss(logits, y):
        return state_loss(logits, y, smoothing)

    task = Task(model=model, train_set=train_set, val_set=val_set, prepare=prepare, loss=loss,
                eval_batch=eval_batch, summarize=state_summary, best_key="accuracy")
    return task, classes


def _subset(table, ids: set[str]):
    keep_v = np.array([v in ids for v in table.video_ids])
    rows = keep_v[table.video]
    return PartTable(table.video_ids, table.video[rows], table.frame[rows], table.boxes[rows], table.mask[rows],
                     table.states[rows], table.action[rows])


def train_prior(cfg: dict) -> dict[str, Any]:
    """Count the frequency prior on ``data.root`` and write ``OUT/prior.json``; held-out accuracy too."""
    dc = cfg["data"]
    table, classes = read_part_table(dc["root"])
    prior = FrequencyPrior.fit(classes, table.action, table.states)
    out = Path(cfg["train"]["out"])
    out.mkdir(parents=True, exist_ok=True)
    prior.save(out / "prior.json")
    result: dict[str, Any] = {"out": str(out), "classes": classes, "model_path": str(out / "prior.json")}
    if dc["val_root"]:
        vt, _ = read_part_table(dc["val_root"], classes, True)
        pred = prior.predict(vt.action)
        ok = vt.states != IGNORE
        result["eval"] = {"accuracy": float((pred == vt.states)[ok].mean()), "parts": int(ok.sum())}
    return result


def train_part_states(cfg: dict, resume: str | None = None) -> dict[str, Any]:
    """Python twin of a ``train parts`` run: fit, then write ``OUT/model.pt`` from the best checkpoint."""
    if cfg["parts"]["kind"] == "prior":
        return train_prior(cfg)
    return fit_and_export(lambda info: part_states_task(cfg, info), cfg, resume, cfg["parts"]["kind"])

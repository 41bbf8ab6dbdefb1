"""Train the temporal action localizer (``deeperaction train tal``): ActionFormer-style local-attention pyramid
with the proposal relation module and the video-level head of :mod:`deeperaction.models.tal`, on per-video
feature rows and an ActivityNet-style annotation file (ActivityNet 1.3, HACS, FineAction, THUMOS14 as
ActionFormer converts it, or ``deeperaction synth --task tal``; :mod:`deeperaction.datasets.tal`).

Training: windows of ``data.max_len`` rows of the ``data.subset_train`` videos. Evaluation (every
``train.eval_every`` epochs, ``best.pt`` by ``avg_map``): the official ActivityNet average mAP
(:func:`deeperaction.metrics.tal.evaluate_tal`, tIoU ``tal.tiou``) on the whole ``data.subset_val`` videos,
with ``map@`` the first, middle and last threshold; ``avg_map`` is the configured model (relation and fusion
as ``tal.relation`` / ``tal.video_head`` say), and one run also gives the ablation rows ``avg_map_plain`` (no
relation, no fusion), ``avg_map_relation`` and ``avg_map_fusion`` where those parts exist. Writes
``OUT/model.pt`` of kind ``tal``; its config gains a ``features`` section: the FeatureMeta (JSON) of the
training features, which the predictor requires of its input.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch.distributed as dist

from deeperaction.datasets.tal import (TalFullVideos, TalSet, TalWindows, collate_tal, config_meta, read_tal_set,
                                       rows_to_seconds)
from deeperaction.errors import InputError
from deeperaction.formats.activitynet import TalGT, TalPred
from deeperaction.metrics.tal import evaluate_tal
from deeperaction.models.checkpoint import load_weights
from deeperaction.models.tal import NMS_KINDS, localize, postprocess_from_config, tal_from_config
from deeperaction.models.tal_nms import SOFT_METHODS
from deeperaction.schema import Segment
from deeperaction.train.config import DATA, MODEL, OPTIM, TRAIN, load_config, section
from deeperaction.train.engine import Task, fit_and_export
from deeperaction.train.tal_loss import TalLossWeights, tal_loss

TAL_DATA: dict[str, Any] = {
    "gt": "",                # ActivityNet-style annotations (ActivityNet/HACS/FineAction/THUMOS) or a synth folder
    "features": "",          # folder of VIDEO.npy (T, D) per video (or v_VIDEO.npy), VIDEO.json sidecars beside
    "subset_train": "training",  # subset trained on (case and spelling free: train/training; THUMOS: validation)
    "subset_val": "validation",  # subset evaluated on ("" = no evaluation; THUMOS: test)
    "feature_fps": 0.0,      # features without sidecars: frame rate of their rows (0 = all have sidecars)
    "feature_window": 0,     # features without sidecars: frames each row covers
    "feature_stride": 0,     # features without sidecars: frames between rows
    "feature_backbone": "",  # backbone name; checked against the sidecars' when both name one ("" = not checked)
    "max_len": 512,          # rows of a training window (longer videos: random crops; shorter: padded)
}
"""The ``data`` keys of the TAL family (beside the shared ``workers`` and ``prefetch``)."""

TAL_MODEL: dict[str, Any] = {
    "width": 256,            # channels of every pyramid level
    "levels": 6,             # pyramid levels (level l: stride 2**l; boundaries (2**(l+1), 2**(l+2)] rows away)
    "window": 19,            # rows each row attends to in the local self-attention (odd)
    "heads": 4,              # attention heads (must divide width)
    "stem_blocks": 2,        # transformer blocks at level 0 (then one per level)
    "embed_layers": 2,       # masked convolutions projecting the features
    "head_layers": 2,        # convolutions of the class and boundary heads before their output
    "mlp_ratio": 4.0,        # hidden width of the blocks' MLP, x width
    "drop_path": 0.1,        # stochastic depth of the blocks' residual branches
}
"""The ``model`` keys of the TAL family's architecture (beside the shared ``weights`` and ``dropout``)."""

TAL_DEFAULTS: dict[str, dict[str, Any]] = {
    "data": {**TAL_DATA, **section(DATA, ("workers", "prefetch"), workers=2)},
    "model": {**section(MODEL, ("weights", "dropout"), dropout=0.0), **TAL_MODEL},
    "optim": section(OPTIM, tuple(OPTIM), name="adamw", lr=5e-4, weight_decay=0.05, warmup_epochs=5.0,
                     label_smoothing=0.0),
    "train": section(TRAIN, tuple(TRAIN), out="runs/tal", epochs=40, batch_size=8, ema=0.999, eval_every=5),
    "tal": {
        "relation": True,        # proposal relation module: self-attention over the top candidates rescores each
        "relation_dim": 128,     # width of its candidate tokens
        "relation_heads": 4,     # its attention heads (must divide relation_dim)
        "relation_layers": 2,    # its encoder layers
        "relation_dropout": 0.0,  # dropout in its encoder (its K x K attention dropout is slow on a CPU)
        "relation_alpha": 0.5,   # final score = score ** (1 - a) x predicted tIoU ** a
        "relation_weight": 1.0,  # loss weight of its tIoU regression
        "video_head": True,      # video-level classifier whose class probabilities multiply the segment scores
        "video_weight": 0.5,     # loss weight of its binary cross-entropy
        "fusion_power": 1.0,     # segment score x video probability ** power
        "relabel_top": 0,        # > 0: give every segment each of the video's top-k classes instead (winners' style)
        "reg_weight": 1.0,       # loss weight of the boundary DIoU loss (class focal loss: 1)
        "focal_alpha": 0.25,     # focal loss alpha (< 0: unweighted)
        "focal_gamma": 2.0,      # focal loss gamma
        "radius": 1.5,           # centre sampling: points within this many strides of an action's centre learn it
        "topk": 200,             # candidates per video kept by score before the relation and NMS (dense: more)
        "score_thresh": 0.001,   # candidates at or under this score are dropped (before the relation and NMS)
        "nms": "soft",           # "soft" (Soft-NMS) | "hard" (greedy NMS) | "none"; pure torch
        "soft_method": "gaussian",  # Soft-NMS decay: "gaussian" exp(-iou^2/sigma) | "linear" 1-iou above nms_iou
        "sigma": 0.5,            # Soft-NMS Gaussian sigma
        "nms_iou": 0.1,          # hard NMS / linear Soft-NMS overlap threshold
        "voting": 0.0,           # boundary voting: mean of candidates overlapping a kept one >= this (0 = off)
        "max_segments": 100,     # segments kept per video
        "tiou": [0.5, 0.95, 0.05],  # evaluation tIoU thresholds: first, last, step (THUMOS: [0.3, 0.7, 0.1])
    },
}
"""The TAL options (``deeperaction train tal``): ``data`` (features and annotations), ``model``
(architecture), the shared ``optim``/``train`` and the ``tal`` section (heads, losses, candidates, NMS)."""

BEST_KEY = "avg_map"


def load_tal_config(path: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """:data:`TAL_DEFAULTS`, then the YAML file, then ``section.key=value`` overrides; values checked."""
    cfg = load_config(path, overrides, defaults=TAL_DEFAULTS)
    mc, tc, dc = cfg["model"], cfg["tal"], cfg["data"]
    checks = [
        ("model.heads", mc["heads"] >= 1 and mc["width"] % mc["heads"] == 0,
         f"must divide model.width ({mc['width']}), got {mc['heads']}"),
        ("tal.relation_heads", tc["relation_heads"] >= 1 and tc["relation_dim"] % tc["relation_heads"] == 0,
         f"must divide tal.relation_dim ({tc['relation_dim']}), got {tc['relation_heads']}"),
        ("tal.nms", tc["nms"] in NMS_KINDS, f"must be one of {', '.join(NMS_KINDS)}, got {tc['nms']!r}"),
        ("tal.soft_method", tc["soft_method"] in SOFT_METHODS[:2], f"must be gaussian or linear, got "
                                                                   f"{tc['soft_method']!r}"),
        ("tal.relation_alpha", 0 <= tc["relation_alpha"] <= 1, f"must be in [0, 1], got {tc['relation_alpha']}"),
        ("tal.sigma", tc["sigma"] > 0, f"must be > 0, got {tc['sigma']}"),
        ("tal.tiou", 0 < tc["tiou"][0] <= tc["tiou"][1] <= 1 and tc["tiou"][2] > 0,
         f"must be [first, last, step] with 0 < first <= last <= 1, step > 0; got {tc['tiou']}"),
        ("data.max_len", dc["max_len"] >= 1, f"must be >= 1, got {dc['max_len']}"),
    ]
    for key in ("width", "levels", "window", "stem_blocks", "embed_layers"):
        checks.append((f"model.{key}", mc[key] >= 1, f"must be >= 1, got {mc[key]}"))
    for key in ("relation_dim", "relation_layers", "topk", "max_segments"):
        checks.append((f"tal.{key}", tc[key] >= 1, f"must be >= 1, got {tc[key]}"))
    for key, ok, message in checks:
        if not ok:
            raise InputError(message, file=path, field=key)
    return cfg


def tiou_thresholds(cfg: dict) -> np.ndarray:
    """The evaluation thresholds of ``tal.tiou`` (first, last, step; the official 0.5:0.95 is ``np.linspace``)."""
    first, last, step = cfg["tal"]["tiou"]
    return np.linspace(first, last, int(round((last - first) / step)) + 1)


def loss_weights(cfg: dict) -> TalLossWeights:
    tc = cfg["tal"]
    return TalLossWeights(reg=tc["reg_weight"], relation=tc["relation_weight"], video=tc["video_weight"],
                          focal_alpha=tc["focal_alpha"], focal_gamma=tc["focal_gamma"], radius=tc["radius"])


@dataclasses.dataclass
class TalData:
    """A ``train tal`` config's data: training set, held-out set (None without ``data.subset_val``) and the GT
    the held-out predictions are scored against."""

    train: TalSet
    val: TalSet | None
    val_gt: TalGT | None


def tal_data(cfg: dict, warn: bool = True) -> TalData:
    """Read the config's data (every feature file checked against the first or the config); warning lines
    (videos without features, dropped segments) go to stderr when ``warn``."""
    dc = cfg["data"]
    fallback = config_meta(fps=dc["feature_fps"], window=dc["feature_window"], stride=dc["feature_stride"],
                           backbone=dc["feature_backbone"])
    train = read_tal_set(dc["gt"], dc["features"], dc["subset_train"], meta=fallback, fallback=fallback,
                         field="data.subset_train")
    named = dc["feature_backbone"]
    if named and train.meta.backbone and train.meta.backbone != named:
        raise InputError(f"features come from backbone {train.meta.backbone!r}, the config names {named!r}",
                         file=train.videos[0].path, field="data.feature_backbone")
    if not train.classes:
        raise InputError(f"no annotated segment in subset {dc['subset_train']!r}", field="data.subset_train")
    val, val_gt = None, None
    if dc["subset_val"]:
        val = read_tal_set(dc["gt"], dc["features"], dc["subset_val"], classes=train.classes, meta=train.meta,
                           fallback=fallback, field="data.subset_val")
        segs = [Segment(v.id, name, float(s), float(e)) for v in val.videos
                for (s, e), name in zip(v.segments.tolist(), v.label_names)]
        if not segs:
            raise InputError(f"no annotated segment in subset {dc['subset_val']!r} to evaluate on",
                             field="data.subset_val")
        val_gt = TalGT.from_segments(segs, videos=[v.id for v in val.videos],
                                     durations={v.id: v.duration for v in val.videos}, subset=dc["subset_val"])
    if warn:
        for line in train.warnings + (val.warnings if val else []):
            print(f"warning: {line}", file=sys.stderr, flush=True)
    return TalData(train, val, val_gt)


def segments_in_seconds(dets, video) -> list[Segment]:
    """One video's detections ``(segs rows, scores, labels)`` as :class:`Segment`s in seconds, cut to the video
    (empty ones dropped), with the given class names."""
    segs, scores, labels, classes = dets
    sec = np.clip(rows_to_seconds(segs.numpy(), video.meta), 0.0, video.duration)
    keep = sec[:, 1] > sec[:, 0]
    return [Segment(video.id, classes[int(c)], float(a), float(b), float(s))
            for (a, b), s, c, k in zip(sec.tolist(), scores.tolist(), labels.tolist(), keep.tolist()) if k]


def variants(cfg: dict) -> dict[str, tuple[bool, bool]]:
    """Evaluation rows: name -> (relation, fusion); ``avg_map`` is the configured model."""
    rel, vid = cfg["tal"]["relation"], cfg["tal"]["video_head"]
    out = {"": (rel, vid)}
    if rel or vid:
        out["_plain"] = (False, False)
    if rel and vid:
        out["_relation"], out["_fusion"] = (True, False), (False, True)
    return out


def _gather(items: list) -> list:
    """Python objects of every rank, concatenated (identity when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        out: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(out, items)
        return [x for part in out for x in part]
    return items


def score_rows(gt: TalGT, preds: list[Segment], thresholds: np.ndarray, prefix: str = "") -> dict[str, float]:
    """``avg_map`` and ``map@`` the first, middle and last threshold (fractions) of predictions against ``gt``."""
    rep = evaluate_tal(gt, TalPred.from_segments(preds), tiou_thresholds=thresholds)
    keys = list(rep.per_threshold)
    out = {f"avg_map{prefix}": rep.headline}
    if not prefix:
        for k in dict.fromkeys([keys[0], keys[len(keys) // 2], keys[-1]]):
            out[f"map@{k}"] = rep.per_threshold[k]
    return out


def tal_task(cfg: dict, info=None, data: TalData | None = None) -> Task:
    """The :class:`Task` of a ``train tal`` config (``info``: the distributed run, None = one process)."""
    data = data or tal_data(cfg, warn=info is None or info.main)
    tr = data.train
    model = tal_from_config(cfg, tr.meta.dim, len(tr.classes))
    if cfg["model"]["weights"]:
        load_weights(model, cfg["model"]["weights"])
    train_set = TalWindows(tr.videos, max_len=cfg["data"]["max_len"], seed=cfg["train"]["seed"])
    post = postprocess_from_config(cfg)
    rows = variants(cfg)
    thresholds = tiou_thresholds(cfg)
    weights = loss_weights(cfg)
    seen: dict[str, list[Segment]] = {k: [] for k in rows}

    def prepare(batch, device, gen):
        x, y = batch
        return ({"feats": x["feats"].to(device, non_blocking=True), "mask": x["mask"].to(device, non_blocking=True)},
                y.to(device, non_blocking=True))

    def eval_batch(net, batch, device):
        out = net({"feats": batch["feats"].to(device), "mask": batch["mask"].to(device)})
        for key, (rel, fus) in rows.items():
            for i, dets in zip(batch["index"].tolist(), localize(out, post, relation=rel, fusion=fus)):
                seen[key].extend(segments_in_seconds((*dets, tr.classes), data.val.videos[i]))
        return {"videos": float(len(batch["index"]))}

    def summarize(sums):
        res: dict[str, float] = {}
        for key in rows:
            preds = _gather(seen[key])
            seen[key] = []
            res.update(score_rows(data.val_gt, preds, thresholds, key))
        res["videos"] = sums.get("videos", 0.0)
        return res

    has_val = data.val is not None
    return Task(model=model, train_set=train_set, val_set=TalFullVideos(data.val.videos) if has_val else None,
                prepare=prepare, loss=lambda out, y: tal_loss(out, y, weights),
                eval_batch=eval_batch if has_val else None, summarize=summarize, best_key=BEST_KEY,
                collate=collate_tal, eval_batch_size=1)


def train_tal(cfg: dict, resume: str | None = None) -> dict[str, Any]:
    """Python twin of a ``train tal`` run: fit, then write ``OUT/model.pt`` (kind ``tal``, config with the
    ``features`` section) from the best checkpoint; the result's ``eval`` holds the last ``avg_map`` rows."""
    holder: dict[str, Any] = {}

    def make(info):
        data = tal_data(cfg, warn=info.main)
        holder["meta"] = data.train.meta
        return tal_task(cfg, info, data), data.train.classes

    def tune(out: Path, c: dict) -> dict:
        return {**c, "features": holder["meta"].to_json()}

    return fit_and_export(make, cfg, resume, "tal", tune)

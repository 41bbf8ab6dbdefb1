"""Train the action classifiers (``deeperaction train tps``): a video backbone on uint8 clips (augmented on the
device) or the skeleton classifier on keypoint sequences, from a Kinetics-TPS folder; accuracy by multi-clip
testing. :func:`action_task` makes the :class:`~deeperaction.train.engine.Task` of any datasets, and
:func:`train_action` the whole run from a config (folder -> clip cache -> datasets -> fit).

Datasets yield ``(clip, label)`` for training and ``(clips, label)`` with ``K`` test clips for evaluation:
video clips are uint8 ``(T, H, W, 3)``, skeletons float ``(M, T, J, 3)`` (normalised, see
:func:`deeperaction.datasets.transforms.normalize_skeletons`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from deeperaction.datasets.action import SkeletonClips, SynthClipStream, main_person_boxes
from deeperaction.datasets.clip_cache import ClipCache, cache_for
from deeperaction.datasets.clips import CachedClips, DecodedClips, interpolate_boxes
from deeperaction.datasets.tps_folder import train_val_split
from deeperaction.datasets.transforms import augment_clips, augment_skeletons
from deeperaction.errors import InputError
from deeperaction.models.action import action_model_from_config
from deeperaction.models.heads.action import multi_clip_scores
from deeperaction.train.ddp import DistInfo, barrier, cleanup, init_distributed
from deeperaction.train.engine import Task, fit, seed_everything
from deeperaction.video.reader import probe


def _accuracy_sums(probs: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    top = probs.topk(min(5, probs.shape[1]), dim=1).indices
    return {"correct": float((top[:, 0] == labels).sum()), "correct5": float((top == labels[:, None]).any(1).sum()),
            "count": float(len(labels))}


def _accuracy(sums: dict[str, float]) -> dict[str, float]:
    n = max(1.0, sums.get("count", 0.0))
    return {"accuracy": sums.get("correct", 0.0) / n, "top5": sums.get("correct5", 0.0) / n,
            "videos": sums.get("count", 0.0)}


def action_task(cfg: dict, train_set: Dataset, val_set: Dataset | None, num_classes: int,
                model: nn.Module | None = None) -> Task:
    """The :class:`Task` for action classification as ``cfg`` says (``model.kind`` video or skeleton)."""
    dc, mc = cfg["data"], cfg["model"]
    model = model if model is not None else action_model_from_config(cfg, num_classes)
    smoothing = cfg["optim"]["label_smoothing"]
    channels_last = mc.get("channels_last", False)

    def to_device(batch, device: torch.device):
        x, y = batch
        return x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    if mc["kind"] == "skeleton":
        def prepare(batch, device, gen):
            x, y = to_device(batch, device)
            return augment_skeletons(x, gen, flip=dc["flip"]), y

        def test_inputs(x):
            return x
    else:
        def prepare(batch, device, gen):
            x, y = to_device(batch, device)
            cl = channels_last and device.type == "cuda"
            return augment_clips(x, dc["crop"], gen, tuple(dc["scale"]), dc["flip"], dc["colour"],
                                 channels_last=cl), y

        def test_inputs(x):
            b, k = x.shape[:2]
            cl = channels_last and x.device.type == "cuda"
            return augment_clips(x.flatten(0, 1), dc["crop"], None, channels_last=cl).unflatten(0, (b, k))

    def loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), y, label_smoothing=smoothing)

    def eval_batch(net: nn.Module, batch, device: torch.device) -> dict[str, float]:
        x, y = to_device(batch, device)
        return _accuracy_sums(multi_clip_scores(net, test_inputs(x)), y)

    return Task(model=model, train_set=train_set, val_set=val_set, prepare=prepare, loss=loss,
                eval_batch=eval_batch, summarize=_accuracy, best_key="accuracy")


def folder_action_task(cfg: dict, info: DistInfo | None = None) -> tuple[Task, list[str]]:
    """The action-recognition :class:`Task` of the TPS folders ``cfg`` names, and its class names. With
    ``data.cache`` set, rank 0 builds the cache if needed while the other ranks wait, then every rank reads it."""
    info = info or DistInfo()
    dc, tc = cfg["data"], cfg["train"]
    if cfg["model"].get("dense_head"):  # its head would stay untrained, and be read by detect
        raise InputError("model.dense_head learns per-step labels, which TPS clips do not have (its trainer is "
                         "scripts/train_detect_skeleton.py)", field="model.dense_head")
    split = train_val_split(dc, tc["seed"])
    train, val, classes = split.train, split.val, split.classes
    common = {"clip_len": dc["clip_len"], "stride": dc["frame_stride"], "test_clips": dc["test_clips"],
              "seed": tc["seed"]}
    if cfg["model"]["kind"] == "skeleton":
        roots = (dc["root"], dc["val_root"] or dc["root"])
        train_set = SkeletonClips.from_items(roots[0], train, train=True, **common)
        val_set = SkeletonClips.from_items(roots[1], val, train=False, **common) if val else None
    elif dc["cache"]:
        if info.main:
            cache_for(dc, train + val)
        barrier()
        cache = ClipCache(dc["cache"])
        train_set = CachedClips(cache, train, train=True, **common)
        val_set = CachedClips(cache, val, train=False, **common) if val else None
    else:
        size = tuple(dc["cache_size"])
        train_set = DecodedClips(train, size, train=True, **common)
        val_set = DecodedClips(val, size, train=False, **common) if val else None
    if cfg["model"]["kind"] == "video":
        train_set.repeat = int(dc["repeat"])
    if dc["crop_mode"] == "person" and cfg["model"]["kind"] == "video":
        step = dc["cache_step"] if dc["cache"] else 1
        for ds, items, root in ((train_set, train, dc["root"]), (val_set, val, split.val_root)):
            if ds is not None:
                tracks = person_tracks(ds, items, root, tuple(dc["cache_size"]), step)
                ds.centre_on(tracks, dc["person_size"], dc["person_margin"])
    elif dc["crop_mode"] != "frame":
        raise InputError(f"data.crop_mode must be frame or person, got {dc['crop_mode']!r}", field="data.crop_mode")
    if dc["source"] == "synth" and cfg["model"]["kind"] == "video":  # held out: the folder; trained: fresh clips
        train_set = SynthClipStream(classes, clip_len=dc["clip_len"], stride=dc["frame_stride"], seed=tc["seed"] + 1,
                                    length=dc["synth_clips"], preset=dc["synth_preset"],
                                    frame_size=tuple(dc["synth_size"]), crop_mode=dc["crop_mode"],
                                    person_size=dc["person_size"], margin=dc["person_margin"])
    elif dc["source"] != "folder":
        raise InputError(f"data.source must be folder or synth, got {dc['source']!r}", field="data.source")
    task = action_task(cfg, train_set, val_set, len(classes))
    task.eval_batch_size = max(1, tc["batch_size"] // max(1, dc["test_clips"]))
    return task, classes


def person_tracks(ds, items: list, root: str, stored_hw: tuple[int, int], step: int) -> list[np.ndarray]:
    """Each item's main-person boxes (from the TPS GT of ``root``) for every frame the dataset stores, in its
    pixels (stored frames are every ``step``-th source frame at ``stored_hw``)."""
    boxes = main_person_boxes(root)
    out = []
    for i, it in enumerate(items):
        info = probe(it.path)
        frames, b = boxes.get(it.video_id, (np.zeros(0, int), np.zeros((0, 4))))
        h, w = stored_hw
        scale = np.array([w / info.width, h / info.height] * 2)
        out.append(interpolate_boxes(frames / step, b * scale, ds.n_frames(i)))
    return out


def train_action(cfg: dict, resume: str | None = None) -> dict[str, Any]:
    """Python twin of ``deeperaction train tps``: train, return the engine's result plus ``classes``."""
    info = init_distributed()
    seed_everything(cfg["train"]["seed"])
    task, classes = folder_action_task(cfg, info)
    Path(cfg["train"]["out"]).mkdir(parents=True, exist_ok=True)
    if info.main:
        (Path(cfg["train"]["out"]) / "classes.txt").write_text("\n".join(classes) + "\n")
    try:
        result = fit(task, cfg, resume, info)
    finally:
        cleanup()
    result["classes"] = classes
    return result

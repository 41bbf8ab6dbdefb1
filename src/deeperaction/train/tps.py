"""Train the Kinetics-TPS video action classifier from a config: find the videos, build or open the clip
cache, make the datasets and the :class:`Task`, and :func:`fit` it (``deeperaction train tps``)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from deeperaction.datasets.clip_cache import ClipCache, build_clip_cache
from deeperaction.datasets.clips import CachedClips, DecodedClips, VideoItem
from deeperaction.datasets.tps_dataset import SkeletonClips, split_items, tps_items
from deeperaction.errors import InputError
from deeperaction.train.action import action_task
from deeperaction.train.ddp import DistInfo, barrier, cleanup, init_distributed
from deeperaction.train.engine import Task, fit, seed_everything


def tps_splits(cfg: dict) -> tuple[list[VideoItem], list[VideoItem], list[str]]:
    """Training and held-out videos with the class list, from ``data.root`` / ``data.val_root``."""
    dc = cfg["data"]
    if not dc["root"]:
        raise InputError("set data.root to a Kinetics-TPS folder (gt_vid_result.json + videos)", field="data.root")
    items, classes = tps_items(dc["root"])
    if dc["val_root"]:
        val, _ = tps_items(dc["val_root"], classes)
        return items, val, classes
    train, val = split_items(items, dc["val_fraction"], cfg["train"]["seed"])
    return train, val, classes


def prepare_cache(cfg: dict, items: list[VideoItem], progress: Callable[[int, int], None] | None = None) -> ClipCache:
    """Build (or reuse) the clip cache of ``items`` at ``data.cache`` with ``data.workers`` decoders."""
    dc = cfg["data"]
    return build_clip_cache([(it.video_id, it.path) for it in items], dc["cache"], tuple(dc["cache_size"]),
                            dc["cache_step"], max(1, dc["workers"]), progress)


def tps_task(cfg: dict, info: DistInfo | None = None) -> tuple[Task, list[str]]:
    """The action-recognition :class:`Task` for ``cfg`` and its class names. With ``data.cache`` set, rank
    0 builds the cache if needed while the other ranks wait, then every rank reads it."""
    info = info or DistInfo()
    dc, tc = cfg["data"], cfg["train"]
    train, val, classes = tps_splits(cfg)
    common = {"clip_len": dc["clip_len"], "stride": dc["frame_stride"], "test_clips": dc["test_clips"],
              "seed": tc["seed"]}
    if cfg["model"]["kind"] == "skeleton":
        roots = (dc["root"], dc["val_root"] or dc["root"])
        train_set = SkeletonClips.from_items(roots[0], train, train=True, **common)
        val_set = SkeletonClips.from_items(roots[1], val, train=False, **common) if val else None
    elif dc["cache"]:
        if info.main:
            prepare_cache(cfg, train + val)
        barrier()
        cache = ClipCache(dc["cache"])
        train_set = CachedClips(cache, train, train=True, **common)
        val_set = CachedClips(cache, val, train=False, **common) if val else None
    else:
        size = tuple(dc["cache_size"])
        train_set = DecodedClips(train, size, train=True, **common)
        val_set = DecodedClips(val, size, train=False, **common) if val else None
    task = action_task(cfg, train_set, val_set, len(classes))
    task.eval_batch_size = max(1, tc["batch_size"] // max(1, dc["test_clips"]))
    return task, classes


def train_tps(cfg: dict, resume: str | None = None) -> dict[str, Any]:
    """Python twin of ``deeperaction train tps``: train, return the engine's result plus ``classes``."""
    info = init_distributed()
    seed_everything(cfg["train"]["seed"])
    task, classes = tps_task(cfg, info)
    Path(cfg["train"]["out"]).mkdir(parents=True, exist_ok=True)
    if info.main:
        (Path(cfg["train"]["out"]) / "classes.txt").write_text("\n".join(classes) + "\n")
    try:
        result = fit(task, cfg, resume, info)
    finally:
        cleanup()
    result["classes"] = classes
    return result

"""Train the spatio-temporal action detector (``deeperaction train stad``): MultiSports / AVA style action
classification of the people at keyframes, with the switchable context, memory and pose-part blocks of
:mod:`deeperaction.models.stad`. Data: the official MultiSports GT pickle + its videos
(:mod:`deeperaction.datasets.stad`); ``data.root`` = the pickle or a folder holding it; training videos = its
``train_videos``; held-out = its ``test_videos``, or every video of ``data.val_root``'s GT when set. With
``data.format: ava``, AVA keyframe CSVs, their label map and person proposals (:mod:`deeperaction.datasets.ava`):
every annotated keyframe is a sample, evaluated at exactly those keyframes.

Evaluation (every epoch, ``best.pt`` by ``frame_map@0.5``): the official MultiSports frame-mAP at IoU 0.5
(:func:`deeperaction.metrics.multisports.evaluate_multisports`, as a fraction) at the held-out keyframes (every
``stad.keyframe_stride``-th frame with a known person; the GT scored at exactly those frames), with the GT
person boxes as detections (acting people from the GT tubes, idle ones from ``labels/<video>.npz`` when there),
each carrying its class scores. Training keyframes: every ``stad.keyframe_stride``-th frame with an acting
person. Writes ``OUT/model.pt`` of kind ``stad``.

The memory block reads a long-term feature bank computed before training by one frozen pass of
``stad.memory_model`` (a trained ``stad`` model file, e.g. the run without memory, as in LFB) or, when "",
of this network as initialised, over every ``stad.memory_stride``-th frame of every training and held-out video.
"""
from __future__ import annotations

import copy
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from deeperaction.datasets.clip_cache import ClipCache, cache_for
from deeperaction.datasets.ava import AvaSet, find_labelmap, read_ava_set
from deeperaction.datasets.clips import VideoItem
from deeperaction.datasets.stad import (MemoryBank, StadClips, StadTable, StadVideo, batch_to, build_table,
                                        compute_memory_bank, concat_tables, find_gt, keyframe_gt, keyframes,
                                        read_stad_videos)
from deeperaction.errors import InputError
from deeperaction.formats.ava import read_labelmap
from deeperaction.formats.multisports import FrameDetections, MultiSportsGT, read_multisports_gt
from deeperaction.metrics.multisports import evaluate_multisports
from deeperaction.models.stad import LOSSES, TRUNKS, class_probs, stad_from_config, stad_from_file
from deeperaction.train.config import DATA, MODEL, OPTIM, TRAIN, load_config, section
from deeperaction.train.ddp import barrier
from deeperaction.train.engine import Task, fit_and_export

STAD_DEFAULTS: dict[str, dict[str, Any]] = {
    "data": {**section(DATA, ("root", "val_root", "cache", "cache_size", "cache_step", "clip_len", "frame_stride",
                              "flip", "colour", "workers", "prefetch"), clip_len=8, frame_stride=4, colour=0.0),
             "format": "multisports",  # "multisports" (GT pickle) | "ava" (data.root / val_root = keyframe CSVs)
             "labelmap": "",           # ava: the .pbtxt of the classes ("" = ava_labelmap.pbtxt beside data.root)
             "proposals": "",          # ava: person proposals of the training keyframes (CSV or pickle; "" none)
             "val_proposals": "",      # ava: the held-out keyframes' people ("" = the GT boxes, as MultiSports)
             "proposal_score": 0.8,    # ava: proposals scoring less are left out
             "video_start_s": 0.0},    # ava: the timestamp of a video's first frame (900 for AVA's 15-min cuts)
    "model": section(MODEL, ("name", "weights", "frozen_bn", "dropout", "channels_last"), dropout=0.1),
    "optim": section(OPTIM, tuple(OPTIM), name="adamw", lr=1e-3, weight_decay=0.01, label_smoothing=0.0),
    "train": section(TRAIN, tuple(TRAIN), out="runs/stad"),
    "stad": {
        "loss": "softmax",       # "softmax" (classes + background, MultiSports) | "sigmoid" (multi-label, AVA)
        "context": True,         # person -> feature-map cells and person -> other people interaction blocks
        "memory": False,         # person -> long-term feature bank (the same track in earlier and later clips)
        "pose_parts": False,     # 10 part boxes from keypoints (labels/V.npz) -> RoI features -> SE -> fused
        "layers": 3,             # residual stages of r3d/mc3/r2plus1d kept for RoIAlign (3: stride 8)
        "dim": 128,              # width of the person, context and memory tokens
        "heads": 4,              # attention heads of every interaction block (must divide dim)
        "blocks": 1,             # interaction blocks per path (repeated)
        "roi": 3,                # RoIAlign output side (cells), averaged after pooling
        "se_reduction": 2,       # bottleneck factor of the squeeze-and-excitation across the 10 parts
        "max_people": 8,         # people per keyframe, padded with a mask (acting ones first, the rest dropped)
        "keyframe_stride": 8,    # keyframes (training and evaluation): every n-th frame with an acting person
        "memory_size": 4,        # bank entries per person, half before and half after the keyframe (even)
        "memory_stride": 16,     # frames between bank entries of a track
        "memory_model": "",      # stad model.pt whose frozen pass fills the bank; "" = this network as initialised
        "memory_dim": 0,         # width of the bank's features (the memory model's stad.dim); 0 = stad.dim
    },
}
"""The STAD options (``deeperaction train stad``): the shared ``optim``/``train``, the ``data`` and ``model``
keys it reads and the ``stad`` section."""

BEST_KEY = "frame_map@0.5"
FORMATS = ("multisports", "ava")


def load_stad_config(path: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """:data:`STAD_DEFAULTS`, then the YAML file, then ``section.key=value`` overrides; values checked."""
    cfg = load_config(path, overrides, defaults=STAD_DEFAULTS)
    sc, mc = cfg["stad"], cfg["model"]
    dc = cfg["data"]
    checks = [
        ("data.format", dc["format"] in FORMATS, f"must be one of {', '.join(FORMATS)}, got {dc['format']!r}"),
        ("data.val_root", dc["format"] != "ava" or bool(dc["val_root"]),
         "an AVA training run needs a held-out CSV (e.g. ava_val_v2.2.csv)"),
        ("data.proposal_score", 0 <= dc["proposal_score"] <= 1, f"must be in [0, 1], got {dc['proposal_score']}"),
        ("stad.loss", sc["loss"] in LOSSES, f"must be one of {', '.join(LOSSES)}, got {sc['loss']!r}"),
        ("model.name", mc["name"] in TRUNKS, f"stad trunks: {', '.join(TRUNKS)}; got {mc['name']!r}"),
        ("stad.heads", sc["heads"] >= 1 and sc["dim"] % sc["heads"] == 0,
         f"must divide stad.dim ({sc['dim']}), got {sc['heads']}"),
        ("stad.memory_size", not sc["memory"] or (sc["memory_size"] >= 2 and sc["memory_size"] % 2 == 0),
         f"must be even and >= 2, got {sc['memory_size']}"),
        ("data.clip_len", cfg["data"]["clip_len"] >= 1, f"must be >= 1, got {cfg['data']['clip_len']}"),
        ("stad.memory_dim", sc["memory_dim"] >= 0, f"must be >= 0, got {sc['memory_dim']}"),
        ("stad.memory_model", not (sc["memory"] and sc["memory_model"]) or Path(sc["memory_model"]).is_file(),
         f"no such model file: {sc['memory_model']!r}"),
    ]
    for key in ("layers", "dim", "blocks", "roi", "se_reduction", "max_people", "keyframe_stride", "memory_stride"):
        checks.append((f"stad.{key}", sc[key] >= 1, f"must be >= 1, got {sc[key]}"))
    for key, ok, message in checks:
        if not ok:
            raise InputError(message, file=path, field=key)
    return cfg


def stad_loss(logits: torch.Tensor, y: torch.Tensor, loss: str = "softmax", smoothing: float = 0.0) -> torch.Tensor:
    """Mean over real people (``y`` rows of -1 are padding): softmax cross-entropy against the labels spread
    evenly (no label: background, the last logit), or per-class binary cross-entropy (``sigmoid``)."""
    valid = y[..., 0] >= 0
    lg, t = logits.float()[valid], y[valid].float()
    if len(t) == 0:
        return logits.float().sum() * 0.0
    if loss == "sigmoid":
        return F.binary_cross_entropy_with_logits(lg, t)
    target = torch.cat([t, (t.sum(-1, keepdim=True) == 0).float()], -1)
    target = target / target.sum(-1, keepdim=True)
    if smoothing > 0:
        target = target * (1 - smoothing) + smoothing / target.shape[-1]
    return -(target * lg.log_softmax(-1)).sum(-1).mean()


def people_scores(net: torch.nn.Module, x: dict[str, torch.Tensor], loss: str, device: torch.device
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities of the real people of a collated batch: ``rows (M, 2)`` = (sample index, slot) and
    ``probs (M, C)``."""
    probs = class_probs(net(batch_to(x, device)), loss).cpu().numpy()
    b, p = np.nonzero(x["mask"].numpy())
    return np.stack([x["index"].numpy()[b], p], 1).astype(np.int64), probs[b, p]


@torch.no_grad()
def predict_people(net: torch.nn.Module, dataset: StadClips, loss: str, device: torch.device | str = "cpu",
                   batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """:func:`people_scores` over a whole dataset (eval mode): ``rows (M, 2)``, ``probs (M, C)``."""
    device = torch.device(device)
    was = net.training
    net.eval()
    rows, probs = [], []
    for x, _ in torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0):
        r, p = people_scores(net, x, loss, device)
        rows.append(r)
        probs.append(p)
    net.train(was)
    return (np.concatenate(rows) if rows else np.zeros((0, 2), np.int64),
            np.concatenate(probs) if probs else np.zeros((0, dataset.num_classes), np.float32))


def frame_detections(table: StadTable, rows: np.ndarray, probs: np.ndarray) -> FrameDetections:
    """MultiSports frame detections of scored people: every (person, class) a row with the person's GT box
    (source pixels); video indices are the table's (= the evaluation GT's ``test_videos`` order)."""
    n, c = probs.shape
    i, p = rows[:, 0], rows[:, 1]
    return FrameDetections(video=np.repeat(table.video[i], c), frame=np.repeat(table.frame[i] + 1, c),
                           label=np.tile(np.arange(c), n), score=probs.reshape(-1).astype(np.float64),
                           boxes=np.repeat(table.boxes[i, p].astype(np.float64), c, axis=0))


def frame_map(gt: MultiSportsGT, table: StadTable, rows: np.ndarray, probs: np.ndarray) -> float:
    """Official frame-mAP@0.5 (a fraction; nan without scorable GT) of the people scores at the table's frames."""
    rep = evaluate_multisports(gt, frame_detections(table, rows, probs))
    return float(rep.per_threshold["F@0.5"]) / 100.0


def _gather(arr: np.ndarray) -> np.ndarray:
    """Rows of every rank, concatenated (identity when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        out: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(out, arr)
        return np.concatenate(out)
    return arr


def stad_classes(cfg: dict) -> list[str]:
    """The action classes: the labels of ``data.root``'s GT, or of the AVA label map (in action id order)."""
    dc = cfg["data"]
    if dc["format"] == "ava":
        lm = read_labelmap(find_labelmap(Path(dc["root"]), dc["labelmap"]))
        return [lm[a] for a in sorted(lm)]
    return list(read_multisports_gt(find_gt(dc["root"])).labels)


def _read_sets(cfg: dict) -> tuple[MultiSportsGT, list[StadVideo], MultiSportsGT, list[StadVideo]]:
    """The training GT and videos, the held-out GT and videos (checked: videos found, keypoints if needed)."""
    dc, sc = cfg["data"], cfg["stad"]
    gt_path = find_gt(dc["root"])
    gt = read_multisports_gt(gt_path)
    if not gt.train_videos:
        raise InputError("the GT lists no train_videos", file=gt_path, field="data.root")
    if dc["val_root"]:
        vpath = find_gt(dc["val_root"], "data.val_root")
        vgt = read_multisports_gt(vpath)
        if list(vgt.labels) != list(gt.labels):
            raise InputError("its GT has other labels than data.root's", file=vpath, field="data.val_root")
        val_ids, vfield = list(dict.fromkeys(vgt.test_videos + vgt.train_videos)), "data.val_root"
    else:
        vpath, vgt, val_ids, vfield = gt_path, gt, list(gt.test_videos), "data.root"
    train = read_stad_videos(gt, gt_path, list(gt.train_videos))
    val = read_stad_videos(vgt, vpath, val_ids, vfield)
    if sc["pose_parts"]:
        missing = [v.id for v in train + val if not v.has_keypoints]
        if missing:
            raise InputError(f"the pose-part path needs keypoints, and {len(missing)} video(s) have no "
                             f"labels/<video>.npz (e.g. {missing[0]}); set stad.pose_parts=false",
                             field="stad.pose_parts")
    return gt, train, vgt, val


def _cache(cfg: dict, videos: list[StadVideo], info) -> ClipCache:
    dc = cfg["data"]
    if not dc["cache"]:
        raise InputError("STAD reads clips from the clip cache: set data.cache", field="data.cache")
    items: dict[str, VideoItem] = {}
    for v in videos:
        if v.id in items and items[v.id].path != v.path:
            raise InputError(f"video id {v.id!r} names two files: {items[v.id].path} and {v.path}",
                             field="data.val_root")
        items[v.id] = VideoItem(v.id, v.path, 0)
    if info is None or info.main:
        cache_for(dc, list(items.values()))
    barrier()
    return ClipCache(dc["cache"])


def memory_bank(cfg: dict, model: torch.nn.Module, cache: ClipCache, videos: list[StadVideo],
                device: torch.device | str = "cpu", table: StadTable | None = None) -> MemoryBank:
    """The long-term feature bank of ``videos``: a frozen pass of ``stad.memory_model`` (else of a copy of
    ``model``) over every ``stad.memory_stride``-th frame with a person (or over ``table``'s people: AVA's
    keyframes); its width must be the memory's."""
    sc, dc = cfg["stad"], cfg["data"]
    if sc["memory_model"]:
        net, ck = stad_from_file(sc["memory_model"])
        clip_len, stride = ck["config"]["data"]["clip_len"], ck["config"]["data"]["frame_stride"]
    else:
        net, clip_len, stride = copy.deepcopy(model), dc["clip_len"], dc["frame_stride"]
    if table is None:
        table = build_table(videos, [keyframes(v, sc["memory_stride"], labelled=False) for v in videos],
                            sc["max_people"])
    ds = StadClips(cache, table, model.num_classes, clip_len=clip_len, stride=stride, train=False)
    bank = compute_memory_bank(net.to(device), ds, stride=sc["memory_stride"], device=device,
                               batch_size=cfg["train"]["batch_size"])
    want = sc["memory_dim"] or sc["dim"]
    if len(bank.feats) and bank.dim != want:
        raise InputError(f"the memory model's features have {bank.dim} channels, the memory block expects {want}",
                         file=sc["memory_model"] or None, field="stad.memory_dim")
    return bank


@dataclass
class StadData:
    """What a ``train stad`` config reads: the classes, the training and held-out samples (``val_set`` None
    without held-out keyframes), the held-out videos and the GT scored at the held-out keyframes."""

    classes: list[str]
    train_set: StadClips
    val_set: StadClips | None
    val_videos: list[StadVideo]
    val_gt: MultiSportsGT
    eval_gt: MultiSportsGT
    bank: MemoryBank | None


def stad_data(cfg: dict, model: torch.nn.Module, info=None) -> StadData:
    """The data of a config for ``model`` (the memory bank, when ``stad.memory``, by ``stad.memory_model`` or a
    frozen copy of ``model``). Training keyframes: every ``stad.keyframe_stride``-th frame with an acting
    person; held-out ones: every ``stad.keyframe_stride``-th frame with any known person (idle people are
    scored too: their class scores are false positives)."""
    dc, sc, tc = cfg["data"], cfg["stad"], cfg["train"]
    if dc["format"] == "ava":
        return _ava_data(cfg, model, info)
    gt, train_videos, vgt, val_videos = _read_sets(cfg)
    cache = _cache(cfg, train_videos + val_videos, info)
    device = info.device if info is not None else torch.device("cpu")
    bank = memory_bank(cfg, model, cache, train_videos + val_videos, device) if sc["memory"] else None
    clip = {"clip_len": dc["clip_len"], "stride": dc["frame_stride"], "bank": bank, "memory_size": sc["memory_size"]}
    train_table = build_table(train_videos, [keyframes(v, sc["keyframe_stride"]) for v in train_videos],
                              sc["max_people"])
    if len(train_table) == 0:
        raise InputError("no training keyframe with an acting person", field="data.root")
    train_set = StadClips(cache, train_table, len(gt.labels), train=True, flip=dc["flip"], seed=tc["seed"], **clip)
    val_frames = [keyframes(v, sc["keyframe_stride"], labelled=False) for v in val_videos]
    val_table = build_table(val_videos, val_frames, sc["max_people"])
    val_set = StadClips(cache, val_table, len(gt.labels), train=False, **clip) if len(val_table) else None
    val_gt = dataclasses.replace(vgt, test_videos=[v.id for v in val_videos], train_videos=[], _arrays=None)
    return StadData(list(gt.labels), train_set, val_set, val_videos, val_gt,
                    keyframe_gt(vgt, val_videos, val_frames), bank)


def _read_ava(cfg: dict) -> tuple[AvaSet, AvaSet]:
    """The training and held-out AVA keyframes (warning lines printed once)."""
    dc, sc = cfg["data"], cfg["stad"]
    if sc["pose_parts"]:
        raise InputError("the pose-part path needs keypoints, which AVA files do not have; set stad.pose_parts=false",
                         field="stad.pose_parts")
    common = {"labelmap": dc["labelmap"], "proposal_score": dc["proposal_score"],
              "video_start_s": dc["video_start_s"], "max_people": sc["max_people"]}
    train = read_ava_set(dc["root"], proposals=dc["proposals"], **common)
    val = read_ava_set(dc["val_root"], proposals=dc["val_proposals"], gt_boxes=not dc["val_proposals"],
                       field="data.val_root", proposals_field="data.val_proposals", **common)
    if val.action_ids != train.action_ids:
        raise InputError("its label map has other classes than data.root's", file=dc["val_root"],
                         field="data.val_root")
    for line in train.warnings + val.warnings:
        print(f"warning: {line}", file=sys.stderr, flush=True)
    return train, val


def _ava_data(cfg: dict, model: torch.nn.Module, info=None) -> StadData:
    """:func:`stad_data` of AVA files: every annotated keyframe a sample (training: GT people and matched or
    negative proposals; held out: the GT boxes, or ``data.val_proposals``' people), scored by frame-mAP@0.5
    against the held-out CSV's boxes at exactly its keyframes."""
    dc, sc, tc = cfg["data"], cfg["stad"], cfg["train"]
    train, val = _read_ava(cfg)
    if len(train.table) == 0:
        raise InputError("no training keyframe with a person", file=dc["root"], field="data.root")
    cache = _cache(cfg, train.videos + val.videos, info)
    bank = None
    if sc["memory"]:
        table = concat_tables(train.table, val.table)
        off = table.frame % sc["memory_stride"]
        if off.any():
            gap = np.diff(np.unique(train.table.frame[train.table.video == train.table.video[0]]))
            hint = f"; its keyframes are {int(np.median(gap))} frames apart" if len(gap) else ""
            raise InputError(f"the memory bank lies on every {sc['memory_stride']}-th frame, and "
                             f"{int((off > 0).sum())} keyframe(s) are not on it{hint}", field="stad.memory_stride")
        bank = memory_bank(cfg, model, cache, table.videos, info.device if info is not None else "cpu", table)
    clip = {"clip_len": dc["clip_len"], "stride": dc["frame_stride"], "bank": bank, "memory_size": sc["memory_size"]}
    n = len(train.classes)
    train_set = StadClips(cache, train.table, n, train=True, flip=dc["flip"], seed=tc["seed"], **clip)
    val_set = StadClips(cache, val.table, n, train=False, **clip) if len(val.table) else None
    return StadData(train.classes, train_set, val_set, val.videos, val.gt, val.gt, bank)


def stad_task(cfg: dict, info=None) -> Task:
    """The :class:`Task` of a ``train stad`` config: keyframe samples of the training videos, people scored by
    frame-mAP@0.5 on the held-out keyframes (``info``: the distributed run, None = one process)."""
    sc = cfg["stad"]
    num_classes = len(stad_classes(cfg))
    model = stad_from_config(cfg, num_classes)
    data = stad_data(cfg, model, info)
    loss_name, smoothing, colour = sc["loss"], cfg["optim"]["label_smoothing"], cfg["data"]["colour"]
    seen: list[tuple[np.ndarray, np.ndarray]] = []  # this evaluation's people scores (frame-mAP is not a sum)

    def prepare(batch, device, gen):
        x, y = batch
        return batch_to(x, device, gen, colour), y.to(device, non_blocking=True)

    def eval_batch(net, batch, device):
        x, _ = batch
        rows, probs = people_scores(net, x, loss_name, device)
        seen.append((rows, probs.astype(np.float32)))
        return {"people": float(len(rows)), "keyframes": float(len(x["index"]))}

    def summarize(sums):
        rows = _gather(np.concatenate([r for r, _ in seen]) if seen else np.zeros((0, 2), np.int64))
        probs = _gather(np.concatenate([p for _, p in seen]) if seen else np.zeros((0, num_classes), np.float32))
        seen.clear()
        return {BEST_KEY: frame_map(data.eval_gt, data.val_set.table, rows, probs),
                "people": sums.get("people", 0.0), "keyframes": sums.get("keyframes", 0.0)}

    return Task(model=model, train_set=data.train_set, val_set=data.val_set, prepare=prepare,
                loss=lambda logits, y: stad_loss(logits, y, loss_name, smoothing), eval_batch=eval_batch,
                summarize=summarize, best_key=BEST_KEY)


def train_stad(cfg: dict, resume: str | None = None) -> dict[str, Any]:
    """Python twin of a ``train stad`` run: fit, then write ``OUT/model.pt`` (kind ``stad``) from the best
    checkpoint; the result's ``eval`` holds the last ``frame_map@0.5``."""
    return fit_and_export(lambda info: (stad_task(cfg, info), stad_classes(cfg)), cfg, resume, "stad")

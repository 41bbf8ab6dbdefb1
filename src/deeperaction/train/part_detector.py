"""Train the pose-guided part detector (2nd-place Kinetics-TPS report) on the shared engine: person crops
of a TPS GT folder with noisy keypoints drawn on them (:mod:`deeperaction.datasets.part_detector`) ->
torchvision detector of the 10 parts (:mod:`deeperaction.models.part_detector`).

Evaluation (on ``data.val_root``, or ``data.val_fraction`` of the videos): part boxes decoded as the
parser does (top box per part; the geometric ``parts_from_pose`` box when the score is under
``partdet.score_thresh``), compared in frame pixels with the official part IoU (+1 pixel areas):
``mean_iou`` and ``recall`` (share of GT parts with IoU >= 0.3, the Kinetics-TPS part threshold), the
raw detector's (``det_*``, no fallback) and the geometric boxes' from the same keypoints (``geo_*``).
Writes ``OUT/model.pt`` (kind ``part_detector``) for ``deeperaction parse --part-model``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from deeperaction.datasets.part_detector import PartCrops, build_crop_set, collate_crops
from deeperaction.datasets.tps_folder import train_val_split
from deeperaction.errors import InputError
from deeperaction.metrics.tps_match import part_iou64
from deeperaction.models.part_detector import ARCHS, TRUNKS, decode_parts, images_to_tensors, part_detector_from_config
from deeperaction.perception.pose_drawing import MODES, from_crop
from deeperaction.schema import PARTS
from deeperaction.train.config import DATA, MODEL, OPTIM, TPS_DATA, TRAIN, load_config, section
from deeperaction.train.engine import Task, fit_and_export

PART_THRESH = 0.3  # Kinetics-TPS: a part box is right at IoU >= 0.3
PARTDET_DEFAULTS: dict[str, dict[str, Any]] = {
    "data": section(DATA, TPS_DATA + ("flip",), workers=0),
    "model": section(MODEL, ("weights",)),
    "optim": section(OPTIM, tuple(OPTIM), name="adamw", lr=2e-3, weight_decay=1e-4, warmup_epochs=0.5, clip_grad=10.0),
    "train": section(TRAIN, tuple(TRAIN), epochs=12, batch_size=16, out="runs/partdet"),
    "partdet": {
    "arch": "fcos",           # "fcos" (one stage, faster on CPU) | "fasterrcnn" (two stage)
    "trunk": "tiny",          # "tiny" (5 conv stages, CPU-sized) | "resnet18" (torchvision, random init)
    "width": 32,              # first width of the tiny trunk (doubles/triples/quadruples deeper)
    "fpn_dim": 64,            # FPN channels (a multiple of 32 for FCOS)
    "crop": 128,              # square person crop side, pixels (256 on a GPU)
    "enlarge": 0.1,           # person box enlarged by this share before cropping
    "mode": "dots",           # pose on the crop: "dots" (coloured joints + limbs) | "heatmaps" (J channels) | "none"
    "kp_noise": 1.5,          # Gaussian noise on the training/eval keypoints, frame pixels (pose-estimator stand-in)
    "min_conf": 0.3,          # keypoint confidence needed to draw a joint
    "score_thresh": 0.2,      # below this the part falls back to the geometric box from the keypoints
    },
}
"""The pose-guided part detector's options (``deeperaction train partdet``): the shared ``optim``/``train``,
the ``data`` keys it reads and its ``partdet`` section."""


def load_part_detector_config(path: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """:data:`PARTDET_DEFAULTS`, then the YAML file, then ``section.key=value`` overrides; checked."""
    cfg = load_config(path, overrides, defaults=PARTDET_DEFAULTS)
    pc = cfg["partdet"]
    for key, allowed in (("arch", ARCHS), ("trunk", TRUNKS), ("mode", MODES)):
        if pc[key] not in allowed:
            raise InputError(f"must be one of {', '.join(allowed)}, got {pc[key]!r}", file=path, field=f"partdet.{key}")
    if pc["arch"] == "fcos" and pc["fpn_dim"] % 32:
        raise InputError(f"FCOS needs a multiple of 32 (GroupNorm groups), got {pc['fpn_dim']}", file=path,
                         field="partdet.fpn_dim")
    if pc["crop"] < 32:
        raise InputError(f"must be >= 32 pixels, got {pc['crop']}", file=path, field="partdet.crop")
    return cfg


def fallback_boxes(boxes: torch.Tensor, scores: torch.Tensor, geo: torch.Tensor, geo_valid: torch.Tensor,
                   thresh: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Detected boxes ``(B, 10, 4)``, geometric ones where the score is under ``thresh`` and the geometric
    box exists; returns boxes and ``valid (B, 10)`` (a part is produced by either)."""
    use_geo = (scores < thresh) & geo_valid
    out = torch.where(use_geo[..., None], geo, boxes)
    return out, (scores >= thresh) | geo_valid


def _iou_sums(pred: np.ndarray, valid: np.ndarray, gt: np.ndarray, mask: np.ndarray, prefix: str) -> dict[str, float]:
    iou = np.where(valid[mask], np.maximum(part_iou64(pred[mask], gt[mask]), 0.0), 0.0)
    return {f"{prefix}iou": float(iou.sum()), f"{prefix}hit": float((iou >= PART_THRESH).sum())}


def part_box_sums(net: torch.nn.Module, batch, device: torch.device, thresh: float) -> dict[str, float]:
    """Additive IoU sums of one evaluation batch (frame pixels): detector + fallback, raw detector, geometric."""
    images, targets = batch
    det = net(images_to_tensors(images.to(device)))
    boxes, scores = (t.cpu() for t in decode_parts(det))
    geo = torch.stack([t["geo"] for t in targets])
    gvalid = torch.stack([t["geo_valid"] for t in targets])
    fb, fvalid = fallback_boxes(boxes, scores, geo, gvalid, thresh)
    params = torch.stack([t["params"] for t in targets]).numpy().astype(np.float64)
    size = images.shape[1]
    gt = from_crop(torch.stack([t["all"] for t in targets]).numpy(), params, size)
    mask = torch.stack([t["mask"] for t in targets]).numpy()
    sums = {"parts": float(mask.sum())}
    sums |= _iou_sums(from_crop(fb.numpy(), params, size), fvalid.numpy(), gt, mask, "")
    sums |= _iou_sums(from_crop(boxes.numpy(), params, size), scores.numpy() > 0, gt, mask, "det_")
    sums |= _iou_sums(from_crop(geo.numpy(), params, size), gvalid.numpy(), gt, mask, "geo_")
    return sums


def part_box_summary(s: dict[str, float]) -> dict[str, float]:
    n = max(1.0, s.get("parts", 0.0))
    out = {"parts": s.get("parts", 0.0)}
    for p in ("", "det_", "geo_"):
        out[f"{p}mean_iou"] = s.get(f"{p}iou", 0.0) / n
        out[f"{p}recall"] = s.get(f"{p}hit", 0.0) / n
    return out


def part_detector_task(cfg: dict) -> Task:
    """The detector :class:`Task`: crops built in memory from ``data.root`` (and ``data.val_root``)."""
    dc, pc, tc = cfg["data"], cfg["partdet"], cfg["train"]
    split = train_val_split(dc, tc["seed"], needs="videos + labels", val_classes="own")
    kw = dict(size=pc["crop"], enlarge=pc["enlarge"], min_conf=pc["min_conf"], cache=dc["cache"] or None)
    train_set = PartCrops(build_crop_set(dc["root"], split.train, **kw), pc["mode"], pc["kp_noise"], True,
                          dc["flip"], tc["seed"], pc["min_conf"])
    val_set = PartCrops(build_crop_set(split.val_root, split.val, **kw), pc["mode"], pc["kp_noise"], False,
                        seed=tc["seed"], min_conf=pc["min_conf"]) if split.val else None

    def prepare(batch, device, gen):
        images, targets = batch
        x = images_to_tensors(images.to(device, non_blocking=True))
        y = [{"boxes": t["boxes"].to(device), "labels": t["labels"].to(device)} for t in targets]
        return (x, y), y

    def loss(losses: dict[str, torch.Tensor], y) -> torch.Tensor:
        return sum(v.float() for v in losses.values())

    return Task(model=part_detector_from_config(cfg), train_set=train_set, val_set=val_set, prepare=prepare, loss=loss,
                eval_batch=lambda net, batch, device: part_box_sums(net, batch, device, pc["score_thresh"]),
                summarize=part_box_summary, best_key="mean_iou", collate=collate_crops)


def train_part_detector(cfg: dict, resume: str | None = None) -> dict[str, Any]:
    """Python twin of ``deeperaction train partdet``: fit, then ``OUT/model.pt`` from the best checkpoint."""
    return fit_and_export(lambda info: (part_detector_task(cfg), ["__background__", *PARTS]), cfg, resume,
                          "part_detector")


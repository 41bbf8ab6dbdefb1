"""Train the person detector on the shared engine: annotated frames of a TPS GT folder -> a one-class
torchvision detector (FCOS / Faster R-CNN / RetinaNet).

Evaluation (on ``data.val_root``, or ``data.val_fraction`` of the videos), in source pixels: person AP at
IoU >= 0.5 (VOC all-point, from score histograms summed over ranks, so within 1/``AP_BINS`` of the exact
AP), and recall / precision of the boxes scoring at least ``persondet.score_thresh`` (what ``parse`` keeps);
detections after the predictor's NMS.
Writes ``OUT/model.pt`` (kind ``person_detector``) for ``deeperaction parse --person-model``.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deeperaction.datasets.person_detector import PersonFrames, build_frame_set, collate_frames
from deeperaction.datasets.tps_folder import tps_items, train_val_split
from deeperaction.errors import InputError
from deeperaction.metrics.box_ap import binned_ap, box_ap, match_images, score_histograms
from deeperaction.models.detector import ARCHS, TRUNKS, images_to_tensors
from deeperaction.models.person_detector import NMS_IOU, person_detector_from_config, postprocess
from deeperaction.train.config import DATA, MODEL, OPTIM, TPS_DATA, TRAIN, load_config, section
from deeperaction.train.engine import Task, fit_and_export
from deeperaction.train.logging import read_metrics

AP_BINS = 200
PERSONDET_DEFAULTS: dict[str, dict[str, Any]] = {
    "data": section(DATA, TPS_DATA + ("flip", "colour"), workers=0),  # frames in memory: no decoding workers
    "model": section(MODEL, ("weights",)),
    "optim": section(OPTIM, tuple(OPTIM), name="adamw", lr=2e-3, weight_decay=1e-4, warmup_epochs=0.5, clip_grad=10.0),
    "train": section(TRAIN, tuple(TRAIN), epochs=12, batch_size=16, out="runs/persondet"),
    "persondet": {
    "arch": "fcos",           # "fcos" (one stage, faster on CPU) | "fasterrcnn" | "retinanet"
    "trunk": "tiny",          # "tiny" (5 conv stages, CPU-sized) | "resnet18" (torchvision, random init)
    "width": 32,              # first width of the tiny trunk
    "fpn_dim": 64,            # FPN channels (a multiple of 32 for FCOS)
    "size": 320,              # frames resized to this long side, pixels (640 on a GPU for small people)
    "zoom": 1.5,              # training: half the frames are a random window of 1/zoom..1 of the frame
    "score_thresh": 0.3,      # boxes kept by parse (and counted in recall / precision)
    "match_iou": 0.5,         # a detection is right at IoU >= this (AP50)
    "calibrate": True,        # model.pt keeps the validation F1-best score floor (best epoch) as score_thresh
    },
}
"""The person detector's options (``deeperaction train persondet``): the shared ``optim``/``train``, the
``data`` keys it reads and its ``persondet`` section."""


def load_person_detector_config(path: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """:data:`PERSONDET_DEFAULTS`, then the YAML file, then ``section.key=value`` overrides; checked."""
    cfg = load_config(path, overrides, defaults=PERSONDET_DEFAULTS)
    pc = cfg["persondet"]
    for key, allowed in (("arch", ARCHS), ("trunk", TRUNKS)):
        if pc[key] not in allowed:
            raise InputError(f"must be one of {', '.join(allowed)}, got {pc[key]!r}", file=path,
                             field=f"persondet.{key}")
    if pc["arch"] == "fcos" and pc["fpn_dim"] % 32:
        raise InputError(f"FCOS needs a multiple of 32 (GroupNorm groups), got {pc['fpn_dim']}", file=path,
                         field="persondet.fpn_dim")
    if pc["size"] < 64:
        raise InputError(f"must be >= 64 pixels, got {pc['size']}", file=path, field="persondet.size")
    if not 0 < pc["match_iou"] < 1 or not 0 <= pc["score_thresh"] < 1:
        raise InputError("match_iou must be in (0, 1) and score_thresh in [0, 1)", file=path, field="persondet")
    return cfg


def person_box_sums(net: torch.nn.Module, batch, device: torch.device, match_iou: float = 0.5,
                    score_thresh: float = 0.3) -> dict[str, float]:
    """Additive sums of one evaluation batch: GT count, TP/FP score histograms, TP/FP above the threshold."""
    images, targets = batch
    dets = net(images_to_tensors([im.to(device) for im in images]))

    def per_image():
        for d, t in zip(dets, targets):
            b, sc = postprocess(d, 0.0, NMS_IOU)  # as the predictor does, before its score floor
            yield b / t["scale"], sc, t["boxes"].numpy().astype(np.float64) / t["scale"]

    s, tp, n_gt = match_images(per_image(), match_iou)
    th, fh = score_histograms(s, tp, AP_BINS)
    sure = s >= score_thresh
    sums = {"gt": float(n_gt), "tp": float((tp & sure).sum()), "fp": float((~tp & sure).sum())}
    sums |= {f"h_tp{i:03d}": float(v) for i, v in enumerate(th)}
    sums |= {f"h_fp{i:03d}": float(v) for i, v in enumerate(fh)}
    return sums


def person_box_summary(s: dict[str, float]) -> dict[str, float]:
    th = np.array([s.get(f"h_tp{i:03d}", 0.0) for i in range(AP_BINS)])
    fh = np.array([s.get(f"h_fp{i:03d}", 0.0) for i in range(AP_BINS)])
    gt, tp, fp = s.get("gt", 0.0), s.get("tp", 0.0), s.get("fp", 0.0)
    ap = binned_ap(th, fh, gt)
    # every bin edge as a score floor: recall and precision of the boxes above it, the F1-best floor
    ctp, cfp = np.cumsum(th[::-1])[::-1], np.cumsum(fh[::-1])[::-1]
    f1 = 2 * ctp / np.maximum(ctp + cfp + gt, 1e-9)
    k = int(np.argmax(f1))
    return {"gt": gt, "ap50": 0.0 if np.isnan(ap) else ap, "recall": tp / max(gt, 1.0),
            "precision": tp / max(tp + fp, 1.0), "f1": float(f1[k]), "f1_thresh": k / AP_BINS}


def person_ap(detect: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], root: str | Path,
              match_iou: float = 0.5, score_thresh: float = 0.3) -> dict[str, float]:
    """Exact AP (VOC all-point) at ``match_iou`` of any person detector ``detect(rgb) -> (boxes, scores)``
    on the annotated frames of the TPS GT folder ``root`` (source pixels), with the recall and precision of
    its boxes scoring at least ``score_thresh``: a trained detector, HOG or a user's, on the same frames."""
    items, _ = tps_items(root)
    fs = build_frame_set(root, items, None)
    s, tp, n_gt = match_images(((*detect(img), gt) for img, gt in zip(fs.images, fs.boxes)), match_iou)
    sure = s >= score_thresh
    return {"gt": float(n_gt), "frames": float(len(fs)), "ap50": box_ap(s, tp, n_gt),
            "recall": float((tp & sure).sum() / max(n_gt, 1)),
            "precision": float((tp & sure).sum() / max(sure.sum(), 1))}


def _contrast(im: torch.Tensor, c: float) -> torch.Tensor:
    m = im.mean()
    return ((im - m) * c + m).clamp_(0, 1)


def person_detector_task(cfg: dict) -> Task:
    """The person detector :class:`Task`: annotated frames in memory from ``data.root`` (and ``data.val_root``)."""
    dc, pc, tc = cfg["data"], cfg["persondet"], cfg["train"]
    split = train_val_split(dc, tc["seed"], val_classes="own")
    cache = dc["cache"] or None  # "" = in memory; else an on-disk frame store in that folder
    train_set = PersonFrames(build_frame_set(dc["root"], split.train, pc["size"], cache=cache), True, dc["flip"],
                             pc["zoom"], tc["seed"])
    val_set = PersonFrames(build_frame_set(split.val_root, split.val, pc["size"], cache=cache), False) \
        if split.val else None
    colour = float(dc["colour"])

    def prepare(batch, device, gen):
        images, targets = batch
        x = images_to_tensors([im.to(device, non_blocking=True) for im in images])
        if colour > 0:  # per-image brightness and contrast in [1 - colour, 1 + colour]
            f = (torch.rand(2, len(x), generator=gen, device=gen.device) * 2 - 1) * colour + 1
            x = [_contrast(im * a, c) for im, a, c in zip(x, f[0].tolist(), f[1].tolist())]
        y = [{"boxes": t["boxes"].to(device), "labels": t["labels"].to(device)} for t in targets]
        return (x, y), y

    def loss(losses: dict[str, torch.Tensor], y) -> torch.Tensor:
        return sum(v.float() for v in losses.values())

    return Task(model=person_detector_from_config(cfg), train_set=train_set, val_set=val_set, prepare=prepare,
                loss=loss,
                eval_batch=lambda net, batch, device: person_box_sums(net, batch, device, pc["match_iou"],
                                                                      pc["score_thresh"]),
                summarize=person_box_summary, best_key="ap50", collate=collate_frames)


def calibrated(out: Path, cfg: dict) -> dict:
    """``cfg`` with ``persondet.score_thresh`` set to the F1-best score floor of the best evaluation (the
    epoch ``best.pt`` holds) when ``persondet.calibrate`` is on and the run was evaluated."""
    evals = [r for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "eval" and "f1_thresh" in r] \
        if (out / "metrics.jsonl").is_file() else []
    if not cfg["persondet"]["calibrate"] or not evals:
        return cfg
    best = max(evals, key=lambda r: r["ap50"])  # the first best, as the engine keeps best.pt
    tuned = copy.deepcopy(cfg)
    tuned["persondet"]["score_thresh"] = float(best["f1_thresh"])
    return tuned


def train_person_detector(cfg: dict, resume: str | None = None) -> dict[str, Any]:
    """Python twin of ``deeperaction train persondet``: fit, then ``OUT/model.pt`` from the best checkpoint
    (score floor calibrated on the validation set, :func:`calibrated`)."""
    return fit_and_export(lambda info: (person_detector_task(cfg), ["__background__", "person"]), cfg, resume,
                          "person_detector", calibrated)

"""The person detector (``deeperaction train persondet``): a torchvision detector of one class over whole
frames resized to a long side of ``size`` pixels, and the post-processing of its detections. Its predictor,
which ``parse --person-model`` runs top-down, is :mod:`deeperaction.tasks.predictors`.

People are tall: anchors have height/width 1, 2 and 3 (Faster R-CNN, RetinaNet).
"""
from __future__ import annotations

import numpy as np
import torch

from deeperaction.models.checkpoint import load_weights
from deeperaction.models.detector import Detector, build_detector

PERSON_RATIOS = (1.0, 2.0, 3.0)
NMS_IOU = 0.5  # people overlap less than parts: duplicates above this are one person


def build_person_detector(*, arch: str = "fcos", trunk: str = "tiny", size: int = 320, fpn_dim: int = 64,
                          width: int = 32, weights: str | None = None) -> Detector:
    """A one-class (label 1 = person) detector for frames of long side ``size``.

    arch: ``fcos`` | ``fasterrcnn`` | ``retinanet``; trunk: ``tiny`` | ``resnet18``; size: frame long side,
    pixels; fpn_dim: FPN width; width: the tiny trunk's first width; weights: local state dict or None.
    """
    # FCOS: "anchor" side = the level's stride (4 on the first level), as torchvision's FCOS assumes (it
    # assigns objects to levels and samples centres by it); anchor detectors: anchors that fit people
    base = 4.0 if arch == "fcos" else max(8.0, size / 20)
    model = build_detector(arch=arch, trunk=trunk, num_classes=2, size=size, fpn_dim=fpn_dim, width=width,
                           anchor_base=base, aspect_ratios=PERSON_RATIOS)
    load_weights(model, weights)
    return model


def person_detector_from_config(cfg: dict, weights: str | None = None) -> Detector:
    """The detector a ``train persondet`` config (or a person-detector model file's) describes; ``weights``:
    local path, else ``model.weights``."""
    pc = cfg["persondet"]
    return build_person_detector(arch=pc["arch"], trunk=pc["trunk"], size=pc["size"], fpn_dim=pc["fpn_dim"],
                                 width=pc["width"], weights=weights if weights is not None else cfg["model"]["weights"])


def postprocess(det: dict[str, torch.Tensor], min_score: float, nms_iou: float) -> tuple[np.ndarray, np.ndarray]:
    """One image's detections -> boxes and scores (numpy, detector pixels) scoring at least ``min_score``,
    after NMS at ``nms_iou`` (FCOS keeps overlapping duplicates up to IoU 0.6)."""
    from torchvision.ops import nms

    keep = det["scores"] >= min_score
    boxes, scores = det["boxes"][keep].float(), det["scores"][keep].float()
    keep = nms(boxes, scores, nms_iou)
    return boxes[keep].cpu().numpy().astype(np.float64), scores[keep].cpu().numpy().astype(np.float64)

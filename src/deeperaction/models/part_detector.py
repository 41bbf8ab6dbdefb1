"""The pose-guided part detector (2nd-place Kinetics-TPS report): a torchvision detector (Faster R-CNN or
FCOS / RetinaNet, :mod:`deeperaction.models.detector`) over square person crops with the keypoints drawn
on them, 10 part classes + background. Heatmap inputs (3 + J channels) patch the first convolution. Every
person has at most one box per part, so :func:`decode_parts` keeps the top-scoring box of each class.
"""
from __future__ import annotations

import torch

from deeperaction.models.checkpoint import load_weights
from deeperaction.models.detector import ARCHS, TRUNKS, Detector, build_detector, images_to_tensors
from deeperaction.perception.pose_drawing import in_channels
from deeperaction.schema import PARTS

PartDetector = Detector  # the part detector is a plain :class:`~deeperaction.models.detector.Detector`
__all__ = ["ARCHS", "TRUNKS", "PartDetector", "build_part_detector", "decode_parts", "images_to_tensors",
           "part_detector_from_config"]


def build_part_detector(*, arch: str = "fasterrcnn", trunk: str = "tiny", in_channels: int = 3, crop: int = 128,
                        fpn_dim: int = 64, width: int = 32, weights: str | None = None) -> Detector:
    """A detector of the 10 parts (labels 1..10 in ``schema.PARTS`` order; 0 = background).

    arch: ``fasterrcnn`` | ``fcos`` | ``retinanet``; trunk: ``tiny`` | ``resnet18``; in_channels: 3 (dots /
    plain) or 3 + J (heatmaps); crop: input side in pixels (images are not resized); fpn_dim: FPN width;
    width: first width of the tiny trunk; weights: local state-dict path to start from.
    """
    model = build_detector(arch=arch, trunk=trunk, num_classes=len(PARTS) + 1, size=crop, in_channels=in_channels,
                           fpn_dim=fpn_dim, width=width, anchor_base=max(4, crop // 16))
    load_weights(model, weights)
    return model


def part_detector_from_config(cfg: dict, weights: str | None = None) -> Detector:
    """The detector a ``train partdet`` config (or a part-detector model file's) describes; ``weights``:
    local path, else ``model.weights``."""
    pc = cfg["partdet"]
    return build_part_detector(arch=pc["arch"], trunk=pc["trunk"], in_channels=in_channels(pc["mode"]),
                               crop=pc["crop"], fpn_dim=pc["fpn_dim"], width=pc["width"],
                               weights=weights if weights is not None else cfg["model"]["weights"])


def decode_parts(detections: list[dict[str, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-scoring box per part class of each image: ``boxes (B, 10, 4)``, ``scores (B, 10)`` (0 where the
    class was not detected)."""
    k = len(PARTS)
    dev = detections[0]["boxes"].device if detections else torch.device("cpu")
    boxes = torch.zeros(len(detections), k, 4, device=dev)
    scores = torch.zeros(len(detections), k, device=dev)
    for i, d in enumerate(detections):  # per image: a scatter-max over (class) on <= 100 detections
        lab, sc = d["labels"] - 1, d["scores"].float()
        keep = (lab >= 0) & (lab < k)
        lab, sc, bx = lab[keep], sc[keep], d["boxes"][keep].float()
        order = torch.argsort(sc, descending=True, stable=True)
        lab, sc, bx = lab[order], sc[order], bx[order]
        pos = torch.full((k,), len(lab), device=dev, dtype=torch.long)  # first (best) row of each class
        pos = pos.scatter_reduce(0, lab, torch.arange(len(lab), device=dev), reduce="amin")
        has = pos < len(lab)
        boxes[i, has], scores[i, has] = bx[pos[has]], sc[pos[has]]
    return boxes, scores

"""A person detector trained on the data (``deeperaction train persondet``): a torchvision detector of one
class over whole frames resized to a long side of ``size`` pixels, and its predictor, which ``parse
--person-model`` runs top-down (people first, then a pose in each box).

People are tall: anchors have height/width 1, 2 and 3 (Faster R-CNN, RetinaNet).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from deeperaction.models.detector import Detector, build_detector, images_to_tensors, load_weights
from deeperaction.models.model_file import load_model_checkpoint
from deeperaction.video.frames import resize_long

PERSON_RATIOS = (1.0, 2.0, 3.0)
NMS_IOU = 0.5  # people overlap less than parts: duplicates above this are one person


def build_person_detector(arch: str = "fcos", trunk: str = "tiny", size: int = 320, fpn_dim: int = 64,
                          width: int = 32, weights: str | None = None) -> Detector:
    """A one-class (label 1 = person) detector for frames of long side ``size``; ``weights``: local path."""
    # FCOS: "anchor" side = the level's stride (4 on the first level), as torchvision's FCOS assumes (it
    # assigns objects to levels and samples centres by it); anchor detectors: anchors that fit people
    base = 4.0 if arch == "fcos" else max(8.0, size / 20)
    model = build_detector(arch, trunk, 2, size, fpn_dim=fpn_dim, width=width, anchor_base=base,
                           aspect_ratios=PERSON_RATIOS)
    return load_weights(model, weights)


def detector_from_config(cfg: dict, weights: str | None = None) -> Detector:
    """The detector a ``persondet`` config describes (``weights``: local path, else ``model.weights``)."""
    pc = cfg["persondet"]
    return build_person_detector(pc["arch"], pc["trunk"], pc["size"], pc["fpn_dim"], pc["width"],
                                 weights if weights is not None else (cfg["model"]["weights"] or None))


def postprocess(det: dict[str, torch.Tensor], min_score: float, nms_iou: float) -> tuple[np.ndarray, np.ndarray]:
    """One image's detections -> boxes and scores (numpy, detector pixels) scoring at least ``min_score``,
    after NMS at ``nms_iou`` (FCOS keeps overlapping duplicates up to IoU 0.6)."""
    from torchvision.ops import nms

    keep = det["scores"] >= min_score
    boxes, scores = det["boxes"][keep].float(), det["scores"][keep].float()
    keep = nms(boxes, scores, nms_iou)
    return boxes[keep].cpu().numpy().astype(np.float64), scores[keep].cpu().numpy().astype(np.float64)


class PersonDetectorPredictor:
    """``predictor(rgb) -> (boxes (N, 4), scores (N,))`` in frame pixels (the
    :class:`~deeperaction.perception.detect_person.PersonDetector` interface), boxes scoring at least
    ``min_score`` (default: the config's ``persondet.score_thresh``), after NMS at ``nms_iou``."""

    def __init__(self, ck: dict, device: str = "cpu", min_score: float | None = None, nms_iou: float = NMS_IOU):
        self.cfg = ck["config"]
        self.pc = self.cfg["persondet"]
        self.net = detector_from_config(self.cfg, weights="")
        self.net.load_state_dict(ck["model"])
        self.device = torch.device(device)
        self.net.to(self.device).eval()
        self.min_score = float(self.pc["score_thresh"] if min_score is None else min_score)
        self.nms_iou = float(nms_iou)

    @torch.no_grad()
    def detect_batch(self, frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Boxes and scores of each RGB frame (any sizes), in its own pixels."""
        resized = [resize_long(f, self.pc["size"]) for f in frames]
        images = images_to_tensors([torch.from_numpy(np.ascontiguousarray(r)).to(self.device) for r, _ in resized])
        out = []
        for (_, s), d in zip(resized, self.net(images)):
            boxes, scores = postprocess(d, self.min_score, self.nms_iou)
            out.append((boxes / s, scores))
        return out

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.detect_batch([rgb])[0]


def load_person_predictor(path: str | Path, device: str = "cpu") -> PersonDetectorPredictor:
    """The person detector of a ``deeperaction train persondet`` ``model.pt`` (kind ``person_detector``)."""
    ck = load_model_checkpoint(path, "person_detector", "a person detector", "deeperaction train persondet")
    return PersonDetectorPredictor(ck, device)

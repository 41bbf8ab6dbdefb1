"""Action recognition as a :class:`~deeperaction.train.engine.Task`: a video backbone on uint8 clips
(augmented on the device) or the skeleton classifier on keypoint sequences; accuracy by multi-clip testing.

Datasets yield ``(clip, label)`` for training and ``(clips, label)`` with ``K`` test clips for evaluation:
video clips are uint8 ``(T, H, W, 3)``, skeletons float ``(M, T, J, 3)`` (normalised, see
:func:`deeperaction.datasets.transforms.normalize_skeletons`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from deeperaction.datasets.transforms import augment_clips, augment_skeletons
from deeperaction.models.backbones import build_backbone
from deeperaction.models.heads.action import multi_clip_scores
from deeperaction.models.skeleton import build_skeleton_classifier
from deeperaction.train.engine import Task


def build_action_model(cfg: dict, num_classes: int) -> nn.Module:
    """The classifier ``cfg['model']`` describes (video backbone or skeleton classifier)."""
    mc = cfg["model"]
    if mc["kind"] == "skeleton":
        return build_skeleton_classifier(num_classes, dropout=mc["dropout"])
    if mc["kind"] != "video":
        raise ValueError(f"model.kind must be 'video' or 'skeleton', got {mc['kind']!r}")
    return build_backbone(mc["name"], num_classes, mc["weights"] or None, mc["frozen_bn"], mc["dropout"])


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
    model = model if model is not None else build_action_model(cfg, num_classes)
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

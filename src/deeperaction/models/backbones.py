"""Video backbones by explicit builder: torchvision's 3D networks (random init; weights only from a local
path, never downloaded) with our classifier, optional frozen BatchNorm; plus ``tiny3d`` for CPU tests and ``small3d`` for CPU recipes."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision.models import video as tvv

from deeperaction.models.checkpoint import load_weights
from deeperaction.models.heads.action import ActionHead


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone needs: its builder, the attribute holding the classifier, the input it expects."""

    build: object
    head: str  # attribute path of the classifier: "fc", "head", "classifier.1", "head.1"
    crop: int  # spatial input size it was designed for (s3d and mvit need 224)
    clip_len: int | None = None  # fixed number of frames (mvit), None = any


class Tiny3D(nn.Module):
    """A 3-layer 3D CNN (~60k parameters): learns toy motion in seconds on a CPU; for tests and smoke runs."""

    def __init__(self, num_classes: int = 400, width: int = 16):
        super().__init__()
        chans = [3, width, 2 * width, 4 * width]
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(zip(chans[:-1], chans[1:])):
            stride = (1, 2, 2) if i == 0 else (2, 2, 2)
            layers += [nn.Conv3d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool3d(1), nn.Flatten())
        self.fc = nn.Linear(chans[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class Small3D(nn.Module):
    """A 5-layer 3D CNN (~0.4M parameters) whose receptive field spans a whole 56-112 px person crop, so it sees
    the pose as well as local motion; the CPU recipe's RGB backbone (``configs/tps_rgb_cpu.yaml``)."""

    def __init__(self, num_classes: int = 400, width: int = 16):
        super().__init__()
        plan = [(3, width, (1, 2, 2)), (width, 2 * width, (1, 2, 2)), (2 * width, 4 * width, (2, 2, 2)),
                (4 * width, 4 * width, (1, 1, 1)), (4 * width, 8 * width, (2, 2, 2))]
        layers: list[nn.Module] = []
        for cin, cout, stride in plan:
            layers += [nn.Conv3d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool3d(1), nn.Flatten())
        self.fc = nn.Linear(8 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


BACKBONES: dict[str, BackboneSpec] = {
    "r3d_18": BackboneSpec(tvv.r3d_18, "fc", 112),
    "mc3_18": BackboneSpec(tvv.mc3_18, "fc", 112),
    "r2plus1d_18": BackboneSpec(tvv.r2plus1d_18, "fc", 112),
    "swin3d_t": BackboneSpec(tvv.swin3d_t, "head", 112),
    "swin3d_s": BackboneSpec(tvv.swin3d_s, "head", 112),
    "s3d": BackboneSpec(tvv.s3d, "classifier.1", 224),
    "mvit_v1_b": BackboneSpec(tvv.mvit_v1_b, "head.1", 224, 16),
    "mvit_v2_s": BackboneSpec(tvv.mvit_v2_s, "head.1", 224, 16),
    "tiny3d": BackboneSpec(Tiny3D, "fc", 32),
    "small3d": BackboneSpec(Small3D, "fc", 56),
}
"""Every backbone :func:`build_backbone` knows, with the input it expects."""


class FrozenBatchNorm(nn.Module):
    """BatchNorm with fixed statistics and affine parameters (any number of spatial dims); same state keys."""

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm):
        super().__init__()
        n = bn.num_features
        self.eps = bn.eps
        for name, default in (("weight", torch.ones(n)), ("bias", torch.zeros(n)),
                              ("running_mean", torch.zeros(n)), ("running_var", torch.ones(n))):
            src = getattr(bn, name)
            self.register_buffer(name, (src.detach().clone() if src is not None else default).float())

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * scale.view(shape).to(x.dtype) + shift.view(shape).to(x.dtype)


def freeze_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm layer in ``module`` by a :class:`FrozenBatchNorm` holding its values."""
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(module, name, FrozenBatchNorm(child))
        else:
            freeze_batchnorm(child)
    return module


def _get(module: nn.Module, path: str) -> nn.Module:
    for part in path.split("."):
        module = getattr(module, part)
    return module


def _set(module: nn.Module, path: str, value: nn.Module) -> None:
    *parents, last = path.split(".")
    setattr(_get(module, ".".join(parents)) if parents else module, last, value)


def build_backbone(*, name: str = "r3d_18", num_classes: int, weights: str | Path | None = None,
                   frozen_bn: bool = False, dropout: float = 0.5) -> nn.Module:
    """A video classifier ``(B, 3, T, H, W) -> (B, num_classes)`` logits.

    name: a key of :data:`BACKBONES`.
    num_classes: outputs of the classifier.
    weights: a local state dict (e.g. torchvision's Kinetics-400 file); a classifier of another size is
        skipped and trained from scratch; None or "" = random initialisation.
    frozen_bn: BatchNorm layers become constants (with pretrained weights and small batches).
    dropout: probability before the classifier.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}")
    spec = BACKBONES[name]
    model = spec.build(num_classes=num_classes)
    old = _get(model, spec.head)
    if isinstance(old, nn.Linear):
        _set(model, spec.head, ActionHead(old.in_features, num_classes, dropout))
    if name.startswith("mvit") or name == "s3d":
        _get(model, spec.head.rsplit(".", 1)[0])[0].p = dropout  # their own Dropout before the classifier
    load_weights(model, weights)
    if frozen_bn:
        freeze_batchnorm(model)
    return model

"""Video backbones by explicit builder: torchvision's 3D networks (random init; weights only from a local
path, never downloaded) with our classifier, optional frozen BatchNorm; plus ``tiny3d`` for CPU tests."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision.models import video as tvv

from deeperaction.errors import InputError
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


def load_weights(model: torch.nn.Module, path: str | Path, skip_mismatch: bool = True) -> dict[str, list[str]]:
    """Load a local state dict (a bare one, or a checkpoint holding ``model``/``state_dict``) into ``model``.

    Tensors whose shape differs (e.g. a 400-class Kinetics head for a 10-class task) are skipped when
    ``skip_mismatch``; returns the ``missing``, ``unexpected`` and ``skipped`` key lists.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("weights file not found", file=path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise InputError(f"not a readable state dict ({type(e).__name__}: {e})", file=path) from None
    for key in ("model", "state_dict", "model_state"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict):
        raise InputError("expected a state dict", file=path)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.state_dict()
    skipped = [k for k, v in state.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if skipped and not skip_mismatch:
        raise InputError(f"shape mismatch for {', '.join(skipped[:5])}", file=path)
    for k in skipped:
        del state[k]
    res = model.load_state_dict(state, strict=False)
    if len(res.missing_keys) > len(skipped) + 8 and len(res.missing_keys) > len(own) // 2:
        raise InputError(f"weights do not fit this model: {len(res.missing_keys)} of {len(own)} tensors "
                         f"missing (e.g. {res.missing_keys[0]})", file=path)
    return {"missing": list(res.missing_keys), "unexpected": list(res.unexpected_keys), "skipped": skipped}


def build_backbone(name: str, num_classes: int, weights_path: str | Path | None = None, frozen_bn: bool = False,
                   dropout: float = 0.5) -> nn.Module:
    """A video classifier ``(B, 3, T, H, W) -> (B, num_classes)`` logits.

    name: a key of :data:`BACKBONES`. weights_path: a local state dict (e.g. torchvision's Kinetics-400
    file); a classifier of another size is skipped and trained from scratch. frozen_bn: BatchNorm layers
    become constants (use with pretrained weights and small batches). dropout: before the classifier.
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
    if weights_path:
        load_weights(model, weights_path)
    if frozen_bn:
        freeze_batchnorm(model)
    return model

"""Action classifiers (config -> nn.Module): a torchvision video backbone on clips or the skeleton classifier
on keypoint sequences, as ``deeperaction train tps`` configures them (``model.kind``)."""
from __future__ import annotations

from torch import nn

from deeperaction.models.backbones import build_backbone
from deeperaction.models.skeleton import build_skeleton_classifier

KINDS = ("video", "skeleton")


def build_action_model(*, num_classes: int, kind: str = "video", name: str = "r3d_18", weights: str | None = None,
                       frozen_bn: bool = False, dropout: float = 0.5, adaptive_graph: bool = False,
                       dense_head: bool = False) -> nn.Module:
    """An action classifier with ``num_classes`` outputs.

    kind: ``video`` (``(B, 3, T, H, W)`` clips) or ``skeleton`` (``(B, M, T, J, 3)`` keypoints).
    name: video backbone (:data:`~deeperaction.models.backbones.BACKBONES`; video kind only).
    weights: local state dict to start from (video kind), None for random initialisation.
    frozen_bn: constant BatchNorm (video kind). dropout: before the classifier.
    adaptive_graph: skeleton kind: graph blocks that also learn free joint-to-joint links.
    dense_head: skeleton kind: a second head that labels every step of the window.
    """
    if kind == "skeleton":
        return build_skeleton_classifier(num_classes=num_classes, dropout=dropout, adaptive=adaptive_graph,
                                         dense=dense_head)
    if kind != "video":
        raise ValueError(f"model.kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return build_backbone(name=name, num_classes=num_classes, weights=weights, frozen_bn=frozen_bn, dropout=dropout)


def action_model_from_config(cfg: dict, num_classes: int, weights: str | None = None) -> nn.Module:
    """The classifier a ``train tps`` config (or an action model file's) describes; ``weights``: local path,
    else ``model.weights``."""
    mc = cfg["model"]
    return build_action_model(num_classes=num_classes, kind=mc["kind"], name=mc["name"],
                              weights=weights if weights is not None else mc["weights"],
                              frozen_bn=mc["frozen_bn"], dropout=mc["dropout"],
                              adaptive_graph=bool(mc.get("adaptive_graph", False)),  # older files lack the keys
                              dense_head=bool(mc.get("dense_head", False)))

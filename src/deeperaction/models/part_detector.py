"""The pose-guided part detector (2nd-place Kinetics-TPS report): a torchvision detector (Faster R-CNN or
FCOS) over square person crops with the keypoints drawn on them, 10 part classes + background.

Built with random weights (never downloaded; ``weights`` = a local state-dict path). Trunks: ``tiny``
(5 conv-BN-ReLU stages, CPU-sized) or ``resnet18`` (torchvision, BatchNorm trained), both under an FPN;
heatmap inputs (3 + J channels) patch the first convolution. Every person has at most one box per part,
so :func:`decode_parts` keeps the top-scoring box of each class.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models import resnet18
from torchvision.models.detection import FCOS, FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from deeperaction.schema import PARTS

ARCHS = ("fasterrcnn", "fcos")
TRUNKS = ("tiny", "resnet18")
IMAGE_MEAN, IMAGE_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # ImageNet RGB; pose channels 0.5/0.5


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def tiny_trunk(in_ch: int = 3, width: int = 32) -> tuple[nn.Module, list[int]]:
    """Five stride-2 conv stages (strides 2..32); returns the trunk and the widths of ``layer1..layer4``."""
    w = [width, width, 2 * width, 3 * width, 4 * width]
    trunk = nn.Sequential(OrderedDict([("stem", _stage(in_ch, w[0]))] +
                                      [(f"layer{i}", _stage(w[i - 1], w[i])) for i in range(1, 5)]))
    return trunk, w[1:]


def resnet18_trunk(in_ch: int = 3) -> tuple[nn.Module, list[int]]:
    """torchvision resnet18 (random init, trainable BatchNorm); a wider first conv for pose heatmaps."""
    net = resnet18(weights=None)
    if in_ch != 3:
        net.conv1 = nn.Conv2d(in_ch, 64, 7, 2, 3, bias=False)
    del net.fc, net.avgpool
    return net, [64, 128, 256, 512]


def build_part_detector(arch: str = "fasterrcnn", trunk: str = "tiny", in_channels: int = 3, crop: int = 128,
                        fpn_dim: int = 64, width: int = 32, weights: str | None = None) -> nn.Module:
    """A detector of the 10 parts (labels 1..10 in ``schema.PARTS`` order; 0 = background).

    arch: ``fasterrcnn`` | ``fcos``; trunk: ``tiny`` | ``resnet18``; in_channels: 3 (dots / plain) or
    3 + J (heatmaps); crop: input side in pixels (images are not resized); fpn_dim: FPN width; width:
    first width of the tiny trunk; weights: local state-dict path to start from.
    """
    if arch not in ARCHS or trunk not in TRUNKS:
        raise ValueError(f"arch must be one of {ARCHS} and trunk one of {TRUNKS}, got {arch!r}, {trunk!r}")
    body, widths = tiny_trunk(in_channels, width) if trunk == "tiny" else resnet18_trunk(in_channels)
    backbone = BackboneWithFPN(body, {f"layer{i}": str(i - 1) for i in range(1, 5)}, widths, fpn_dim,
                               extra_blocks=LastLevelMaxPool())
    base = max(4, crop // 16)  # anchor side of the stride-4 level; doubles per level (5 levels)
    sizes = tuple((base * 2 ** i,) for i in range(5))
    mean = IMAGE_MEAN + [0.5] * (in_channels - 3)
    std = IMAGE_STD + [0.5] * (in_channels - 3)
    common = dict(min_size=crop, max_size=crop, image_mean=mean, image_std=std)
    n_cls = len(PARTS) + 1
    if arch == "fasterrcnn":
        anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
        rep = 256
        det = FasterRCNN(backbone, None, rpn_anchor_generator=anchors,
                         box_roi_pool=MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2),
                         box_head=TwoMLPHead(fpn_dim * 49, rep), box_predictor=FastRCNNPredictor(rep, n_cls),
                         rpn_pre_nms_top_n_train=600, rpn_post_nms_top_n_train=300, rpn_pre_nms_top_n_test=300,
                         rpn_post_nms_top_n_test=100, rpn_batch_size_per_image=128, box_batch_size_per_image=128,
                         box_score_thresh=0.0, box_detections_per_img=100, **common)
    else:
        anchors = AnchorGenerator(sizes, ((1.0,),) * len(sizes))
        det = FCOS(backbone, n_cls, anchor_generator=anchors, score_thresh=0.01, detections_per_img=100,
                   topk_candidates=300, **common)
    model = PartDetector(det, in_channels, crop)
    if weights:
        from deeperaction.train.checkpoint import load_checkpoint

        state = load_checkpoint(weights)
        model.load_state_dict(state.get("model", state) if isinstance(state, dict) else state)
    return model


class PartDetector(nn.Module):
    """The torchvision detector behind one call: ``forward((images, targets))`` in train mode returns the
    loss dict, ``forward(images)`` in eval mode the detections. Always fp32 (autocast off): box regression
    losses in bf16 lose pixels at these sizes, and the model is small."""

    def __init__(self, det: nn.Module, in_channels: int, crop: int):
        super().__init__()
        self.det, self.in_channels, self.crop = det, in_channels, crop

    def forward(self, x):
        images, targets = x if isinstance(x, tuple) else (x, None)
        with torch.autocast(images[0].device.type, enabled=False):
            images = [im.float() for im in images]
            if self.training:
                return self.det(images, targets)
            return self.det(images)


def images_to_tensors(crops: torch.Tensor) -> list[torch.Tensor]:
    """uint8 ``(B, S, S, C)`` -> list of float ``(C, S, S)`` in [0, 1] (the detector normalises)."""
    x = crops.permute(0, 3, 1, 2).float().div_(255.0)
    return list(x.unbind(0))


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

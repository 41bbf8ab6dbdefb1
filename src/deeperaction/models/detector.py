"""torchvision detectors built from scratch for our detectors (pose-guided parts, people): Faster R-CNN,
FCOS or RetinaNet over a ``tiny`` or ``resnet18`` trunk with an FPN, random init, weights by local path.

Images are never resized inside: the caller gives images whose long side is ``size`` (``min_size =
max_size = size`` makes torchvision's transform a no-op for them; it only normalises and pads).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models import resnet18
from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

ARCHS = ("fasterrcnn", "fcos", "retinanet")
TRUNKS = ("tiny", "resnet18")
IMAGE_MEAN, IMAGE_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # ImageNet RGB; extra channels 0.5/0.5


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
    """torchvision resnet18 (random init, trainable BatchNorm); a wider first conv for extra channels."""
    net = resnet18(weights=None)
    if in_ch != 3:
        net.conv1 = nn.Conv2d(in_ch, 64, 7, 2, 3, bias=False)
    del net.fc, net.avgpool
    return net, [64, 128, 256, 512]


def build_detector(*, arch: str, trunk: str, num_classes: int, size: int, in_channels: int = 3, fpn_dim: int = 64,
                   width: int = 32, anchor_base: float | None = None,
                   aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0), detections: int = 100,
                   min_score: float = 0.0) -> "Detector":
    """A torchvision detector of ``num_classes`` classes (0 = background) for images of long side ``size``.

    arch: ``fasterrcnn`` | ``fcos`` | ``retinanet``; trunk: ``tiny`` (5 conv stages) | ``resnet18`` (random
    init); in_channels: image channels (3, or 3 + heatmaps); fpn_dim: FPN width; width: the tiny trunk's
    first width; anchor_base: anchor side on the stride-4 level (doubles per level, 5 levels; default ``size / 16``);
    aspect_ratios: anchor height / width (Faster R-CNN, RetinaNet); detections: kept per image;
    min_score: the detector's own score floor.
    """
    if arch not in ARCHS or trunk not in TRUNKS:
        raise ValueError(f"arch must be one of {ARCHS} and trunk one of {TRUNKS}, got {arch!r}, {trunk!r}")
    body, widths = tiny_trunk(in_channels, width) if trunk == "tiny" else resnet18_trunk(in_channels)
    backbone = BackboneWithFPN(body, {f"layer{i}": str(i - 1) for i in range(1, 5)}, widths, fpn_dim,
                               extra_blocks=LastLevelMaxPool())
    base = anchor_base or max(4.0, size / 16)
    sizes = tuple((float(base * 2 ** i),) for i in range(5))
    mean = IMAGE_MEAN + [0.5] * (in_channels - 3)
    std = IMAGE_STD + [0.5] * (in_channels - 3)
    common = dict(min_size=size, max_size=size, image_mean=mean, image_std=std)
    if arch == "fasterrcnn":
        anchors = AnchorGenerator(sizes, (tuple(aspect_ratios),) * len(sizes))
        rep = 256
        det = FasterRCNN(backbone, None, rpn_anchor_generator=anchors,
                         box_roi_pool=MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2),
                         box_head=TwoMLPHead(fpn_dim * 49, rep), box_predictor=FastRCNNPredictor(rep, num_classes),
                         rpn_pre_nms_top_n_train=600, rpn_post_nms_top_n_train=300, rpn_pre_nms_top_n_test=300,
                         rpn_post_nms_top_n_test=100, rpn_batch_size_per_image=128, box_batch_size_per_image=128,
                         box_score_thresh=min_score, box_detections_per_img=detections, **common)
    elif arch == "fcos":
        anchors = AnchorGenerator(sizes, ((1.0,),) * len(sizes))  # FCOS: one "anchor" = the level's scale
        det = FCOS(backbone, num_classes, anchor_generator=anchors, score_thresh=max(min_score, 0.01),
                   detections_per_img=detections, topk_candidates=300, **common)
    else:
        scales = tuple(tuple(s[0] * 2 ** (k / 3) for k in range(3)) for s in sizes)  # 3 scales per octave
        anchors = AnchorGenerator(scales, (tuple(aspect_ratios),) * len(sizes))
        det = RetinaNet(backbone, num_classes, anchor_generator=anchors, score_thresh=max(min_score, 0.01),
                        detections_per_img=detections, topk_candidates=300, **common)
    return Detector(det, in_channels, size)


class Detector(nn.Module):
    """The torchvision detector behind one call: ``forward((images, targets))`` in train mode returns the
    loss dict, ``forward(images)`` in eval mode the detections. Always fp32 (autocast off): box regression
    losses in bf16 lose pixels at these sizes, and the models are small."""

    def __init__(self, det: nn.Module, in_channels: int, size: int):
        super().__init__()
        self.det, self.in_channels, self.size = det, in_channels, size

    def forward(self, x):
        images, targets = x if isinstance(x, tuple) else (x, None)
        with torch.autocast(images[0].device.type, enabled=False):
            images = [im.float() for im in images]
            if self.training:
                return self.det(images, targets)
            return self.det(images)


def images_to_tensors(images: torch.Tensor | list[torch.Tensor]) -> list[torch.Tensor]:
    """uint8 ``(B, H, W, C)`` (or a list of ``(H, W, C)``) -> list of float ``(C, H, W)`` in [0, 1] (the
    detector normalises)."""
    if isinstance(images, torch.Tensor):
        x = images.permute(0, 3, 1, 2).float().div_(255.0)
        return list(x.unbind(0))
    return [im.permute(2, 0, 1).float().div_(255.0) for im in images]

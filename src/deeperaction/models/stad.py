"""Spatio-temporal action detection (MultiSports / AVA style) on given person boxes: the ``stad`` family.

A clip ``(B, 3, T, H, W)`` goes through a video trunk (:func:`~deeperaction.models.heads.part_state.video_trunk`);
each person's box at the keyframe is pooled by RoIAlign (:func:`~deeperaction.models.heads.part_state.roi_features`)
into one token, which then passes the switchable blocks of the ablation ladder:

1. ``pose_parts``: the 10 part boxes made from the person's keypoints
   (:func:`deeperaction.perception.parts_from_pose.part_boxes`) are pooled the same way, weighted by a
   squeeze-and-excitation across the parts (:class:`PartSE`) and added to the person token;
2. ``context``: the person attends to the feature map's cells (scene context) and to the other people of the
   clip (:class:`InteractionBlock`, person -> context and person -> person);
3. ``memory``: the person attends to a long-term feature bank: ``K`` pooled features of the same track from
   earlier and later clips, computed once by a frozen pass of a model over the video
   (``StadNet.person_features``; the bank itself is built by ``deeperaction.datasets.stad.compute_memory_bank``).

Heads: ``softmax`` over the classes + background (MultiSports, one action per person) or ``sigmoid`` per class
(AVA, multi-label). Input of :class:`StadNet`: a dict with ``clips`` (normalised), ``boxes (B, P, 4)`` clip
pixels, ``mask (B, P)`` real people; ``keypoints (B, P, J, 3)`` clip pixels for ``pose_parts``; ``memory (B, P,
K, D_m)`` and ``memory_mask (B, P, K)`` for ``memory``. Output: logits ``(B, P, C + 1)`` (softmax, background
last) or ``(B, P, C)`` (sigmoid).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from deeperaction.models.checkpoint import load_model_file
from deeperaction.models.heads.part_state import TIME_BINS, roi_features, video_trunk
from deeperaction.perception.parts_from_pose import part_boxes
from deeperaction.schema import JOINTS, PARTS

LOSSES = ("softmax", "sigmoid")
"""``stad.loss``: softmax over classes + background (MultiSports) or one sigmoid per class (AVA)."""
TRUNKS = ("tiny3d", "small3d", "r3d_18", "mc3_18", "r2plus1d_18")
"""Video trunks the RoI features are pooled from (:func:`video_trunk`)."""


def pose_part_boxes(keypoints: torch.Tensor, boxes: torch.Tensor, *, min_conf: float = 0.3
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The 10 part boxes of each person from its keypoints: ``keypoints (..., J, 3)`` and ``boxes (..., 4)``
    in pixels -> ``part boxes (..., 10, 4)`` and ``valid (..., 10)`` (on the input's device; computed in numpy
    by :func:`~deeperaction.perception.parts_from_pose.part_boxes`, so there is no gradient through it)."""
    lead = boxes.shape[:-1]
    kp = keypoints.detach().float().cpu().numpy().reshape(-1, len(JOINTS), 3)
    pb = boxes.detach().float().cpu().numpy().reshape(-1, 4)
    if len(pb) == 0:
        out, valid = np.zeros((0, len(PARTS), 4)), np.zeros((0, len(PARTS)), bool)
    else:
        out, valid, _ = part_boxes(kp, pb, min_conf=min_conf)
    return (torch.from_numpy(out).float().to(boxes.device).view(*lead, len(PARTS), 4),
            torch.from_numpy(valid).to(boxes.device).view(*lead, len(PARTS)))


class InteractionBlock(nn.Module):
    """``query (B, Q, D)`` attends to ``keys (B, K, D)``: pre-norm cross-attention with a residual, then a
    pre-norm MLP with a residual. A row whose keys are all masked (or a block that is off) returns its query
    unchanged, so a person without context or memory keeps its own feature."""

    def __init__(self, *, dim: int, heads: int = 4, mlp_ratio: float = 2.0, dropout: float = 0.0,
                 enabled: bool = True):
        super().__init__()
        self.enabled = enabled
        self.norm_q, self.norm_k, self.norm_x = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        hidden = max(1, int(dim * mlp_ratio))
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``key_mask (B, K)``: True where a key is real (None: all are)."""
        if not self.enabled or keys.shape[1] == 0:
            return query
        if key_mask is None:
            key_mask = torch.ones(keys.shape[:2], dtype=torch.bool, device=keys.device)
        key_mask = key_mask.bool()
        has = key_mask.any(1)
        pad = ~key_mask & has[:, None]  # a row without keys attends to all of them; its result is dropped
        k = self.norm_k(keys)
        a = self.attn(self.norm_q(query), k, k, key_padding_mask=pad, need_weights=False)[0]
        gate = has[:, None, None].to(a.dtype)
        x = query + self.drop(a) * gate
        return x + self.drop(self.mlp(self.norm_x(x))) * gate


class PartSE(nn.Module):
    """Squeeze-and-excitation across the 10 body parts: each part's feature is squeezed to its mean, a
    bottleneck MLP turns the 10 means into 10 weights in (0, 1) (absent parts: 0); returns ``(feats x
    weights, weights)``."""

    def __init__(self, *, parts: int = len(PARTS), reduction: int = 2):
        super().__init__()
        hidden = max(1, parts // reduction)
        self.fc = nn.Sequential(nn.Linear(parts, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, parts))

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``feats (N, 10, D)``, ``mask (N, 10)`` part present -> ``(N, 10, D)``, ``(N, 10)``."""
        m = mask.to(feats.dtype)
        w = torch.sigmoid(self.fc(feats.mean(-1) * m)) * m
        return feats * w[..., None], w


def part_geometry(boxes: torch.Tensor, parts: torch.Tensor) -> torch.Tensor:
    """Part boxes relative to their person box: ``boxes (..., 4)``, ``parts (..., 10, 4)`` -> ``(..., 10, 4)``
    centre and size in person units (the pose, as the part layout says it)."""
    person = boxes[..., None, :]
    pw = (person[..., 2] - person[..., 0]).clamp(min=1.0)
    ph = (person[..., 3] - person[..., 1]).clamp(min=1.0)
    cx = ((parts[..., 0] + parts[..., 2]) / 2 - person[..., 0]) / pw
    cy = ((parts[..., 1] + parts[..., 3]) / 2 - person[..., 1]) / ph
    return torch.stack([cx, cy, (parts[..., 2] - parts[..., 0]) / pw, (parts[..., 3] - parts[..., 1]) / ph], -1)


class PosePartPath(nn.Module):
    """RoI features of the 10 part boxes + their place in the person box + a learned part embedding -> part
    tokens -> :class:`PartSE` weights -> the weighted mean over present parts, projected and added to the
    person feature."""

    def __init__(self, *, feat: int, dim: int, se_reduction: int = 2):
        super().__init__()
        self.proj = nn.Sequential(nn.LayerNorm(feat), nn.Linear(feat, dim))
        self.geo = nn.Linear(4, dim)
        self.part_embed = nn.Parameter(torch.zeros(len(PARTS), dim))
        nn.init.normal_(self.part_embed, std=0.02)
        self.se = PartSE(parts=len(PARTS), reduction=se_reduction)
        self.fuse = nn.Linear(dim, dim)

    def forward(self, person: torch.Tensor, part_feats: torch.Tensor, valid: torch.Tensor,
                geometry: torch.Tensor) -> torch.Tensor:
        """``person (B, P, D)``, ``part_feats (B, P, 10, F)``, ``valid (B, P, 10)``, ``geometry (B, P, 10, 4)``
        (:func:`part_geometry`) -> ``(B, P, D)``."""
        b, p = person.shape[:2]
        tok = self.proj(part_feats) + self.geo(geometry).to(part_feats.dtype) + self.part_embed
        weighted, _ = self.se(tok.flatten(0, 1), valid.flatten(0, 1))
        v = valid.to(tok.dtype)
        pooled = weighted.view(b, p, len(PARTS), -1).sum(2) / v.sum(-1, keepdim=True).clamp(min=1.0)
        return person + self.fuse(pooled) * v.amax(-1, keepdim=True)


def cell_centres(h: int, w: int, device: torch.device) -> torch.Tensor:
    """``(h * w, 2)`` centres of a feature map's cells in [0, 1] (x, y), row-major like ``flatten(2)``."""
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).reshape(-1, 2)


class StadNet(nn.Module):
    """Video trunk + RoI person tokens + the switchable pose-part, context and memory blocks + classifier.
    Blocks that are off hold no parameters (so DDP never sees unused ones)."""

    def __init__(self, trunk: nn.Module, *, channels: int, stride: int, num_classes: int, dim: int = 128,
                 heads: int = 4, blocks: int = 1, roi: int = 3, context: bool = True, memory: bool = False,
                 memory_dim: int = 0, memory_size: int = 4, pose_parts: bool = False, se_reduction: int = 2,
                 loss: str = "softmax", dropout: float = 0.1):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        feat = TIME_BINS * channels
        self.trunk, self.stride, self.roi, self.loss, self.num_classes = trunk, stride, roi, loss, num_classes
        self.person_proj = nn.Sequential(nn.LayerNorm(feat), nn.Linear(feat, dim))
        self.box_pos = nn.Linear(4, dim)
        self.parts = PosePartPath(feat=feat, dim=dim, se_reduction=se_reduction) if pose_parts else None
        n_ctx = blocks if context else 0
        if context:
            self.cell_proj = nn.Sequential(nn.LayerNorm(channels), nn.Linear(channels, dim))
            self.cell_pos = nn.Linear(2, dim)
        self.context_blocks = nn.ModuleList(InteractionBlock(dim=dim, heads=heads, dropout=dropout)
                                            for _ in range(n_ctx))
        self.actor_blocks = nn.ModuleList(InteractionBlock(dim=dim, heads=heads, dropout=dropout)
                                          for _ in range(n_ctx))
        self.memory_size = memory_size if memory else 0
        if memory:
            md = memory_dim or dim
            self.memory_proj = nn.Sequential(nn.LayerNorm(md), nn.Linear(md, dim))
            self.memory_pos = nn.Parameter(torch.zeros(memory_size, dim))
            nn.init.normal_(self.memory_pos, std=0.02)
        self.memory_blocks = nn.ModuleList(InteractionBlock(dim=dim, heads=heads, dropout=dropout)
                                           for _ in range(blocks if memory else 0))
        self.norm, self.drop = nn.LayerNorm(dim), nn.Dropout(dropout)
        self.cls = nn.Linear(dim, num_classes + (loss == "softmax"))

    def person_features(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B, P, dim)`` person features before the memory block (what a memory bank stores)."""
        clips, mask = x["clips"], x["mask"].bool()
        boxes = x["boxes"].float()
        b, p = mask.shape
        fmap = self.trunk(clips)
        h, w = clips.shape[-2:]
        if self.parts is not None:
            if "keypoints" not in x:
                raise ValueError("the pose-part path needs keypoints (B, P, J, 3) in the input")
            pb, valid = pose_part_boxes(x["keypoints"], boxes)
            valid = valid & mask[..., None]
            feats = roi_features(fmap, torch.cat([boxes[:, :, None], pb], 2).flatten(1, 2), self.stride, self.roi)
            feats = feats.view(b, p, len(PARTS) + 1, -1)
            person_feat = feats[:, :, 0]
        else:
            person_feat = roi_features(fmap, boxes, self.stride, self.roi)
        scale = boxes.new_tensor([w, h, w, h])
        tok = self.person_proj(person_feat) + self.box_pos(boxes / scale).to(person_feat.dtype)
        if self.parts is not None:
            tok = self.parts(tok, feats[:, :, 1:], valid, part_geometry(boxes, pb) * valid[..., None])
        if len(self.context_blocks):
            cells = fmap.mean(2)  # (B, C, H', W'): the clip's scene, time-averaged
            pos = self.cell_pos(cell_centres(cells.shape[2], cells.shape[3], cells.device))
            ctx = self.cell_proj(cells.flatten(2).transpose(1, 2)) + pos.to(cells.dtype)
            for cb, ab in zip(self.context_blocks, self.actor_blocks):
                tok = cb(tok, ctx)
                tok = ab(tok, tok, mask)
        return tok

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits ``(B, P, C + 1)`` (softmax; background last) or ``(B, P, C)`` (sigmoid)."""
        tok = self.person_features(x)
        if len(self.memory_blocks):
            mem, mm = x["memory"], x["memory_mask"].bool()
            b, p, k = mm.shape
            if k != self.memory_size:
                raise ValueError(f"memory has {k} entries per person, the model {self.memory_size}")
            keys = self.memory_proj(mem.flatten(0, 1).to(tok.dtype)) + self.memory_pos
            q = tok.flatten(0, 1)[:, None]
            for blk in self.memory_blocks:
                q = blk(q, keys, mm.flatten(0, 1))
            tok = q[:, 0].view(b, p, -1)
        return self.cls(self.drop(self.norm(tok)))


def class_probs(logits: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-class probabilities ``(..., C)`` of the logits of a ``loss`` head (softmax: background dropped)."""
    if loss == "softmax":
        return logits.float().softmax(-1)[..., :-1]
    return logits.float().sigmoid()


def build_interaction_block(*, dim: int, heads: int = 4, mlp_ratio: float = 2.0, dropout: float = 0.0,
                            enabled: bool = True) -> InteractionBlock:
    """One interaction block (cross-attention + MLP, both residual): how a person reads context or memory.

    dim: token width; heads: attention heads (must divide dim); mlp_ratio: MLP hidden width / dim;
    dropout: on attention weights and both residual branches; enabled: False = identity (ablations).
    """
    return InteractionBlock(dim=dim, heads=heads, mlp_ratio=mlp_ratio, dropout=dropout, enabled=enabled)


def build_part_se(*, parts: int = len(PARTS), reduction: int = 2) -> PartSE:
    """Squeeze-and-excitation weighting of body parts: which parts matter for this person's action.

    parts: number of parts (10); reduction: bottleneck factor of the excitation MLP.
    """
    return PartSE(parts=parts, reduction=reduction)


def build_stad_net(*, num_classes: int, trunk: str = "tiny3d", weights: str | None = None, frozen_bn: bool = False,
                   layers: int = 3, dim: int = 128, heads: int = 4, blocks: int = 1, roi: int = 3,
                   context: bool = True, memory: bool = False, memory_dim: int = 0, memory_size: int = 4,
                   pose_parts: bool = False, se_reduction: int = 2, loss: str = "softmax",
                   dropout: float = 0.1) -> StadNet:
    """The STAD network: RoI person features on a video trunk, refined by pose parts, context and memory.

    num_classes: action classes (the softmax head adds a background class).
    trunk: video backbone cut before pooling (:data:`TRUNKS`); weights: its local state dict or None (never
        downloaded); frozen_bn: constant BatchNorm; layers: residual stages kept (3: stride 8).
    dim: token width; heads: attention heads of every interaction block; blocks: interaction blocks per path
        (repeated); roi: RoIAlign output side (cells, averaged); dropout: in the blocks and before the classifier.
    context: person -> feature-map cells and person -> other people blocks.
    memory: person -> long-term feature bank block; memory_dim: width of the bank's features (0 = dim);
        memory_size: bank entries per person (K, half before and half after the keyframe).
    pose_parts: the pose-part path (needs keypoints); se_reduction: bottleneck of its part SE.
    loss: ``softmax`` (classes + background) or ``sigmoid`` (multi-label).
    """
    if trunk not in TRUNKS:
        raise ValueError(f"stad trunks: {', '.join(TRUNKS)}; got {trunk!r}")
    net, channels, stride = video_trunk(name=trunk, weights=weights, frozen_bn=frozen_bn, layers=layers)
    return StadNet(net, channels=channels, stride=stride, num_classes=num_classes, dim=dim, heads=heads,
                   blocks=blocks, roi=roi, context=context, memory=memory, memory_dim=memory_dim,
                   memory_size=memory_size, pose_parts=pose_parts, se_reduction=se_reduction, loss=loss,
                   dropout=dropout)


def stad_from_config(cfg: dict, num_classes: int, weights: str | None = None) -> StadNet:
    """The network of a ``train stad`` config (or a stad model file's); ``weights``: local path of the trunk's
    state dict, else ``model.weights``."""
    mc, sc = cfg["model"], cfg["stad"]
    return build_stad_net(num_classes=num_classes, trunk=mc["name"],
                          weights=(weights if weights is not None else mc["weights"]) or None,
                          frozen_bn=mc["frozen_bn"], layers=sc["layers"], dim=sc["dim"], heads=sc["heads"],
                          blocks=sc["blocks"], roi=sc["roi"], context=sc["context"], memory=sc["memory"],
                          memory_dim=sc["memory_dim"], memory_size=sc["memory_size"],
                          pose_parts=sc["pose_parts"], se_reduction=sc["se_reduction"], loss=sc["loss"],
                          dropout=mc["dropout"])


def stad_from_file(path: str | Path) -> tuple[StadNet, dict]:
    """A trained STAD model (``OUT/model.pt`` of ``train stad``, kind ``stad``) in eval mode, and its file
    (``config``, ``classes``)."""
    ck = load_model_file(path, "stad", "a STAD model", "deeperaction train stad")
    net = stad_from_config(ck["config"], len(ck["classes"]), weights="")
    net.load_state_dict(ck["model"])
    return net.eval(), ck

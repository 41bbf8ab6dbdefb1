"""A skeleton-sequence action classifier on 2D keypoints of the canonical 20-joint skeleton: small
spatial-temporal graph convolutions (ST-GCN style), fast on a CPU, a good default next to video models."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from deeperaction.models.heads.action import ActionHead
from deeperaction.schema import JOINT_INDEX, JOINTS, SKELETON_EDGES


def skeleton_adjacency(joints: tuple[str, ...] = JOINTS,
                       edges: tuple[tuple[str, str], ...] = SKELETON_EDGES) -> torch.Tensor:
    """Symmetrically normalised adjacency with self loops, ``D^-1/2 (A + I) D^-1/2``, ``(J, J)``."""
    idx = {n: i for i, n in enumerate(joints)}
    a = np.eye(len(joints))
    for u, v in edges:
        a[idx[u], idx[v]] = a[idx[v], idx[u]] = 1.0
    d = 1.0 / np.sqrt(a.sum(1))
    return torch.tensor(a * d[:, None] * d[None, :], dtype=torch.float32)


_PARENT_OF = {"nose": "neck", "left_ear": "nose", "right_ear": "nose", "neck": "neck",
              "left_shoulder": "neck", "right_shoulder": "neck", "left_elbow": "left_shoulder",
              "right_elbow": "right_shoulder", "left_wrist": "left_elbow", "right_wrist": "right_elbow",
              "left_hand": "left_wrist", "right_hand": "right_wrist", "left_hip": "left_shoulder",
              "right_hip": "right_shoulder", "left_knee": "left_hip", "right_knee": "right_hip",
              "left_ankle": "left_knee", "right_ankle": "right_knee", "left_foot": "left_ankle",
              "right_foot": "right_ankle"}
_PARENT = [JOINT_INDEX[_PARENT_OF[n]] for n in JOINTS]  # bone vector of each joint: joint - parent


def skeleton_features(kp: torch.Tensor) -> torch.Tensor:
    """``(N, T, J, 3)`` normalised x, y, conf -> ``(N, 7, T, J)``: position, confidence, velocity, bone."""
    xy, conf = kp[..., :2], kp[..., 2:3]
    vel = torch.zeros_like(xy)
    vel[:, 1:] = (xy[:, 1:] - xy[:, :-1]) * (conf[:, 1:] * conf[:, :-1] > 0)
    bone = (xy - xy[:, :, _PARENT]) * conf
    return torch.cat([xy * conf, conf, vel, bone], dim=-1).permute(0, 3, 1, 2)


class GraphBlock(nn.Module):
    """Graph convolution over joints (fixed adjacency, learnable edge weights; with ``adaptive`` also a free
    learned joint-to-joint matrix, zero at the start, as 2s-AGCN's, so distant joints - two wrists, head and
    hips - meet in one block) then a separable temporal convolution, with a residual connection."""

    def __init__(self, cin: int, cout: int, adj: torch.Tensor, stride: int = 1, kernel_t: int = 9,
                 adaptive: bool = False):
        super().__init__()
        self.register_buffer("adj", adj)
        self.edge = nn.Parameter(torch.ones_like(adj))
        self.free = nn.Parameter(torch.zeros_like(adj)) if adaptive else None
        self.spatial = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
        self.temporal = nn.Sequential(  # depthwise over time, then pointwise: cheap on a CPU
            nn.Conv2d(cout, cout, (kernel_t, 1), (stride, 1), (kernel_t // 2, 0), groups=cout),
            nn.Conv2d(cout, cout, 1), nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if cin == cout and stride == 1 else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, (stride, 1)), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, T, J)
        a = self.adj * self.edge if self.free is None else self.adj * self.edge + self.free
        y = torch.einsum("nctj,jk->nctk", x, a)
        return torch.relu(self.temporal(self.spatial(y)) + self.skip(x))


class SkeletonClassifier(nn.Module):
    """``(B, M, T, J, 3)`` normalised keypoints of up to M persons -> ``(B, num_classes)`` logits.

    Each person is encoded alone; their features are max-pooled (absent persons are all-zero keypoints).
    With ``dense`` a second head also labels every step of the window (``T / STEP`` steps, :meth:`dense`):
    where in the window an action starts and ends, which one label per window cannot say.
    """

    STEP = 4
    """Frames per output step of :meth:`dense` (the two stride-2 blocks)."""

    def __init__(self, num_classes: int, width: int = 64, dropout: float = 0.3, adaptive: bool = False,
                 dense: bool = False):
        super().__init__()
        adj = skeleton_adjacency()
        self.norm = nn.BatchNorm1d(7 * len(JOINTS))
        self.blocks = nn.Sequential(GraphBlock(7, width, adj, adaptive=adaptive),
                                    GraphBlock(width, width, adj, stride=2, adaptive=adaptive),
                                    GraphBlock(width, 2 * width, adj, stride=2, adaptive=adaptive))
        self.fc = ActionHead(2 * width, num_classes, dropout)
        self.dense_fc = (nn.Sequential(nn.Dropout(dropout), nn.Conv1d(2 * width, num_classes, 3, padding=1))
                         if dense else None)

    def forward(self, kp: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(kp))

    def embed(self, kp: torch.Tensor) -> torch.Tensor:
        """``(B, M, T, J, 3)`` -> ``(B, 2 * width)``: the pooled features the classifier reads (the skeleton
        features of ``localize``)."""
        return self._pool_persons(kp, self._features(kp).mean(dim=(2, 3)))

    def dense(self, kp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, M, T, J, 3)`` -> the window's logits ``(B, K)`` and each step's ``(B, T / STEP, K)`` (step ``i``
        covers frames ``[STEP * i, STEP * (i + 1))``); needs ``dense=True``."""
        if self.dense_fc is None:
            raise ValueError("this skeleton classifier has no dense head (built without dense=True)")
        f = self._features(kp).mean(3)  # (B*M, C, T')
        b = kp.shape[0]
        steps = self._pool_persons(kp, f.flatten(1)).view(b, f.shape[1], f.shape[2])
        return self.fc(self._pool_persons(kp, f.mean(2))), self.dense_fc(steps).transpose(1, 2)

    def _features(self, kp: torch.Tensor) -> torch.Tensor:
        """``(B, M, T, J, 3)`` -> ``(B*M, C, T', J)``: the graph blocks' output of each person."""
        b, m, t, j, _ = kp.shape
        x = skeleton_features(kp.flatten(0, 1))  # (B*M, 7, T, J)
        x = self.norm(x.permute(0, 1, 3, 2).reshape(b * m, 7 * j, t)).view(b * m, 7, j, t).permute(0, 1, 3, 2)
        return self.blocks(x)

    @staticmethod
    def _pool_persons(kp: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-person features ``(B*M, D)`` -> ``(B, D)``: the max over the persons present (zeros if none)."""
        b, m = kp.shape[:2]
        x = x.view(b, m, -1)
        present = (kp[..., 2] > 0).flatten(2).any(-1, keepdim=True)  # (B, M, 1)
        x = torch.where(present, x, torch.full_like(x, -1e4)).amax(1)
        return torch.where(x <= -1e4, torch.zeros_like(x), x)


def build_skeleton_classifier(*, num_classes: int, width: int = 64, dropout: float = 0.3,
                              adaptive: bool = False, dense: bool = False) -> SkeletonClassifier:
    """The keypoint classifier.

    num_classes: action classes; width: channels of the first blocks (64: ~0.3M parameters); dropout:
    before the classifier; adaptive: each block also learns a free joint-to-joint matrix (:class:`GraphBlock`);
    dense: a second head labels every step of the window (:meth:`SkeletonClassifier.dense`).
    """
    return SkeletonClassifier(num_classes, width, dropout, adaptive, dense)

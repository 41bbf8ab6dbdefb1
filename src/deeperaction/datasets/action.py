"""Training data of the action classifiers: keypoint sequences of a TPS folder for the skeleton classifier
(video clips: :mod:`deeperaction.datasets.clips`, read from the clip cache or decoded on the fly)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from deeperaction.datasets.clips import VideoItem
from deeperaction.datasets.tps_folder import read_keypoints
from deeperaction.datasets.transforms import normalize_skeletons
from deeperaction.video.reader import sample_clip_indices


class SkeletonClips(Dataset):
    """Keypoint clips: training items ``(M, T, J, 3)`` normalised (one random window); evaluation items
    ``(K, M, T, J, 3)``; the ``persons`` most confident persons of the video, zero-padded."""

    def __init__(self, sequences: list[np.ndarray], labels: list[int], clip_len: int = 32, stride: int = 1,
                 persons: int = 2, train: bool = True, test_clips: int = 4, seed: int = 0):
        self.seqs = []
        for kp in sequences:  # (T, M, J, 3) -> (persons, T, J, 3) by total confidence
            order = np.argsort(-kp[..., 2].sum(axis=(0, 2)), kind="stable")[:persons]
            sel = kp[:, order].transpose(1, 0, 2, 3)
            pad = np.zeros((persons - len(order), *sel.shape[1:]), np.float32)
            self.seqs.append(np.concatenate([sel, pad]))
        self.labels, self.clip_len, self.stride, self.train = labels, clip_len, stride, train
        self.test_clips, self.seed, self.epoch = test_clips, seed, 0

    @classmethod
    def from_items(cls, root: str | Path, items: list[VideoItem], **kw) -> "SkeletonClips":
        return cls([read_keypoints(root, it) for it in items], [it.label for it in items], **kw)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        seq = self.seqs[i]
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            idx = sample_clip_indices(seq.shape[1], self.clip_len, self.stride, 1, "random", rng)
        else:
            idx = sample_clip_indices(seq.shape[1], self.clip_len, self.stride, self.test_clips, "uniform")
        clips = np.stack([normalize_skeletons(seq[:, row]) for row in idx])
        out = torch.from_numpy(clips)
        return (out[0] if self.train else out), self.labels[i]

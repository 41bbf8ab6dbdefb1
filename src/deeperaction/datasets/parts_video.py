"""Video-level part states (2nd-place Kinetics-TPS report): each video's "most frequent state of each part"
over its annotated persons and frames, as a target for a video classifier whose answer is broadcast."""
from __future__ import annotations

import numpy as np
import torch

from deeperaction.datasets.clip_cache import ClipCache
from deeperaction.datasets.clips import CachedClips, VideoItem
from deeperaction.datasets.parts import IGNORE, MAX_STATES, PartTable
from deeperaction.schema import PARTS


def video_state_targets(table: PartTable) -> dict[str, np.ndarray]:
    """``{video: (10,) state ids}``: most frequent state of each part (ties: lower id); IGNORE if unseen."""
    V, P = len(table.video_ids), len(PARTS)
    counts = np.zeros((V, P, MAX_STATES), np.int64)
    v = np.repeat(table.video, P)
    p = np.tile(np.arange(P), len(table.video))
    s = table.states.reshape(-1)
    ok = s != IGNORE
    np.add.at(counts, (v[ok], p[ok], s[ok]), 1)
    best = np.where(counts.sum(-1) > 0, counts.argmax(-1), IGNORE)
    return {vid: best[i] for i, vid in enumerate(table.video_ids)}


class VideoStateClips(CachedClips):
    """Clips of whole videos (one random clip when training, ``test_clips`` uniform ones otherwise) with the
    video's ``(10,)`` state targets (no flip: the targets would need their left/right swapped)."""

    def __init__(self, cache: ClipCache, items: list[VideoItem], targets: dict[str, np.ndarray], clip_len: int = 8,
                 stride: int = 2, train: bool = True, test_clips: int = 4, seed: int = 0):
        super().__init__(cache, items, clip_len, stride, train, test_clips, seed)
        full = np.full(len(PARTS), IGNORE, np.int64)
        self.targets = [torch.from_numpy(np.asarray(targets.get(it.video_id, full), np.int64)) for it in items]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        clips, _ = super().__getitem__(i)
        return clips, self.targets[i]

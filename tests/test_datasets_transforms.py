"""Device-side augmentation: exact evaluation crop, per-clip consistency, flips that swap left/right."""
from __future__ import annotations

import numpy as np
import torch

from deeperaction.datasets.transforms import (KINETICS_MEAN, KINETICS_STD, JOINT_FLIP, augment_clips,
                                              augment_skeletons, flip_boxes, flip_keypoints, flip_parts,
                                              normalize_skeletons)
from deeperaction.schema import JOINT_INDEX, JOINTS, PartDet


def _clips(b=2, t=3, h=16, w=20, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (b, t, h, w, 3), dtype=np.uint8))


def test_eval_crop_is_the_exact_centre_pixels():
    x = _clips(h=16, w=20)
    out = augment_clips(x, 14, None)  # centre square of 0.875 * 16 = 14 px: no resampling
    ref = x[:, :, 1:15, 3:17].permute(0, 4, 1, 2, 3).float() / 255
    m = torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1, 1)
    s = torch.tensor(KINETICS_STD).view(1, 3, 1, 1, 1)
    assert out.shape == (2, 3, 3, 14, 14)
    torch.testing.assert_close(out, (ref - m) / s, atol=1e-5, rtol=0)


def test_training_flip_mirrors_and_all_frames_share_the_crop():
    x = _clips(b=1, t=4, h=16, w=16)
    x[:, 1:] = x[:, :1]  # identical frames -> identical outputs when the crop is per clip
    g = torch.Generator().manual_seed(0)
    flipped = augment_clips(x, 16, g, scale=(1.0, 1.0), flip=1.0, colour=0.0)
    g = torch.Generator().manual_seed(0)
    plain = augment_clips(x, 16, g, scale=(1.0, 1.0), flip=0.0, colour=0.0)
    torch.testing.assert_close(flipped, plain.flip(-1), atol=1e-5, rtol=0)
    assert torch.equal(plain[:, :, 0], plain[:, :, 3])
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(augment_clips(x, 12, g1, colour=0.3), augment_clips(x, 12, g2, colour=0.3))
    assert augment_clips(x, 12, g1, channels_last=True).is_contiguous(memory_format=torch.channels_last_3d)


def test_keypoint_and_part_flips_swap_sides():
    assert JOINTS[JOINT_FLIP[JOINT_INDEX["left_wrist"]]] == "right_wrist"
    assert JOINT_FLIP[JOINT_INDEX["nose"]] == JOINT_INDEX["nose"]
    kp = np.random.default_rng(0).uniform(0, 100, (5, len(JOINTS), 3))
    once = flip_keypoints(kp, 100.0)
    assert once[0, JOINT_INDEX["right_knee"], 0] == 100.0 - kp[0, JOINT_INDEX["left_knee"], 0]
    np.testing.assert_allclose(flip_keypoints(once, 100.0), kp)
    np.testing.assert_allclose(flip_boxes(np.array([[10, 5, 30, 9]]), 100), [[70, 5, 90, 9]])
    parts = {"left_hand": PartDet("left_hand", [[0, 0, 10, 10]], ["open"], [1.0]),
             "head": PartDet("head", [[40, 0, 60, 20]], ["look"], [1.0])}
    out = flip_parts(parts, 100)
    assert set(out) == {"right_hand", "head"} and out["right_hand"].name == "right_hand"
    np.testing.assert_allclose(out["right_hand"].boxes, [[90, 0, 100, 10]])


def test_skeleton_normalisation_and_augmentation():
    kp = np.zeros((2, 4, len(JOINTS), 3), np.float32)
    kp[0, :, :, 2] = 1
    kp[0, :, JOINT_INDEX["neck"], :2] = [100, 50]
    kp[0, :, JOINT_INDEX["left_hip"], :2] = [90, 90]
    kp[0, :, JOINT_INDEX["right_hip"], :2] = [110, 90]
    n = normalize_skeletons(kp)
    np.testing.assert_allclose(n[0, 0, JOINT_INDEX["neck"], :2], [0, -1])
    assert (n[1] == 0).all()
    t = torch.from_numpy(n)[None]
    assert torch.equal(augment_skeletons(t, None), t)
    out = augment_skeletons(t, torch.Generator().manual_seed(0), flip=1.0, scale=(1, 1), rotate_deg=0)
    torch.testing.assert_close(out, flip_keypoints(t, 0.0))

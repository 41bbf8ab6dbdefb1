"""Kinematic part-state rules on hand-made keypoint sequences: each rule fires, scale/noise invariance."""
from __future__ import annotations

import numpy as np
import pytest

from deeperaction.kinematics import PART_STATES, STATE_RULES, part_state_ids, part_states
from deeperaction.schema import JOINT_INDEX, JOINTS, PARTS

FPS = 25.0
STAND = {  # a standing person, torso length 100 px, image y pointing down
    "nose": (0, -140), "left_ear": (-12, -150), "right_ear": (12, -150), "neck": (0, -100),
    "left_shoulder": (-40, -100), "right_shoulder": (40, -100), "left_elbow": (-45, -50),
    "right_elbow": (45, -50), "left_wrist": (-48, 0), "right_wrist": (48, 0), "left_hand": (-49, 15),
    "right_hand": (49, 15), "left_hip": (-25, 0), "right_hip": (25, 0), "left_knee": (-27, 60),
    "right_knee": (27, 60), "left_ankle": (-28, 120), "right_ankle": (28, 120), "left_foot": (-28, 130),
    "right_foot": (28, 130),
}


def standing(T: int = 50) -> np.ndarray:
    kp = np.zeros((T, len(JOINTS), 3))
    for name, (x, y) in STAND.items():
        kp[:, JOINT_INDEX[name]] = (x + 200, y + 200, 1.0)
    return kp


def rotate_about(kp, joints, pivot, deg):
    """Rotate joints about a pivot joint by per-frame angles (degrees, image plane)."""
    a = np.radians(deg)[:, None]
    p = kp[:, JOINT_INDEX[pivot], :2][:, None]
    idx = [JOINT_INDEX[j] for j in joints]
    v = kp[:, idx, :2] - p
    c, s = np.cos(a), np.sin(a)
    kp[:, idx, 0] = p[..., 0] + c * v[..., 0] - s * v[..., 1]
    kp[:, idx, 1] = p[..., 1] + s * v[..., 0] + c * v[..., 1]
    return kp


def test_vocabulary_is_consistent():
    assert set(PART_STATES) == set(PARTS)
    assert all(v[0] == "none" for v in PART_STATES.values())
    n = sum(len(v) for v in PART_STATES.values())
    assert 30 <= n <= 45
    kinds = {p.split("_")[-1] for p in PARTS}
    for kind, state, rule in STATE_RULES:
        assert kind in kinds and rule
        assert any(state in PART_STATES[p] for p in PARTS if p.endswith(kind))


def test_still_person_is_all_none_even_with_jitter():
    kp = standing()
    kp[:, :, :2] += np.random.default_rng(0).normal(0, 1.5, kp[:, :, :2].shape)
    for fr in part_states(kp, FPS):
        assert set(fr.values()) == {"none"}


def test_arm_raise_then_lower_and_scale_invariance():
    T = 50
    kp = standing(T)
    ang = np.concatenate([np.linspace(0, 150, 25), np.linspace(150, 0, 25)])
    kp = rotate_about(kp, ["left_elbow", "left_wrist", "left_hand"], "left_shoulder", ang)
    ids = part_state_ids(kp, FPS)["left_arm"]
    names = np.array(PART_STATES["left_arm"])[ids]
    assert (names[3:20] == "raise").all() and (names[30:47] == "lower").all()
    assert (np.array(PART_STATES["right_arm"])[part_state_ids(kp, FPS)["right_arm"]] == "none").all()
    big = kp.copy()
    big[:, :, :2] = big[:, :, :2] * 3.7 + 11
    for p in PARTS:
        np.testing.assert_array_equal(part_state_ids(big, FPS)[p], part_state_ids(kp, FPS)[p])


def test_missing_joints_give_none_and_short_gaps_are_filled():
    T = 50
    kp = standing(T)
    ang = np.concatenate([np.linspace(0, 150, 25), np.linspace(150, 0, 25)])
    kp = rotate_about(kp, ["left_elbow", "left_wrist", "left_hand"], "left_shoulder", ang)
    ref = part_state_ids(kp, FPS)["left_arm"]
    gap = kp.copy()
    gap[10:13, JOINT_INDEX["left_elbow"], 2] = 0.1  # 3 low-confidence frames: interpolated
    assert (part_state_ids(gap, FPS)["left_arm"][3:20] == ref[3:20]).all()
    gone = kp.copy()
    gone[:, JOINT_INDEX["left_elbow"], 2] = 0.0
    assert (part_state_ids(gone, FPS)["left_arm"] == 0).all()


@pytest.mark.parametrize("part,state,build", [
    ("left_hand", "wave", "wave"), ("left_leg", "kick", "kick"), ("left_foot", "lift", "lift"),
    ("head", "turn", "turn"), ("left_arm", "bend", "bend"), ("left_leg", "step", "step"),
])
def test_each_kind_of_rule_fires(part, state, build):
    T = 50
    t = np.arange(T) / FPS
    kp = standing(T)
    if build == "wave":   # upper arm up, forearm wagging about the elbow
        kp = rotate_about(kp, ["left_elbow", "left_wrist", "left_hand"], "left_shoulder", np.full(T, 150.0))
        kp = rotate_about(kp, ["left_wrist", "left_hand"], "left_elbow", 35 * np.sin(2 * np.pi * 2 * t))
    elif build == "kick":
        kp = rotate_about(kp, ["left_knee", "left_ankle", "left_foot"], "left_hip",
                          np.concatenate([np.linspace(0, 80, 25), np.linspace(80, 0, 25)]))
    elif build == "lift":
        kp[:, JOINT_INDEX["left_foot"], 1] -= np.concatenate([np.zeros(20), np.linspace(0, 40, 10), np.full(20, 40)])
    elif build == "turn":
        kp[:, JOINT_INDEX["nose"], 0] += np.concatenate([np.zeros(20), np.linspace(0, 25, 10), np.full(20, 25)])
    elif build == "bend":
        kp = rotate_about(kp, ["left_wrist", "left_hand"], "left_elbow",
                          np.concatenate([np.linspace(0, -120, 25), np.full(25, -120)]))
    elif build == "step":
        a = 25 * np.sin(2 * np.pi * 1.0 * t)
        kp = rotate_about(kp, ["left_knee", "left_ankle", "left_foot"], "left_hip", a)
        kp = rotate_about(kp, ["right_knee", "right_ankle", "right_foot"], "right_hip", -a)
    names = [fr[part] for fr in part_states(kp, FPS)]
    assert names.count(state) >= 8, names


def test_bad_shape_raises():
    with pytest.raises(ValueError):
        part_states(np.zeros((5, 17, 3)), FPS)

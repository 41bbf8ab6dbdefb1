"""Pieces of the part-level models: the frequency prior, left/right flips, video-level targets, RoI
features and the state mask, predictor loading errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from deeperaction.datasets.part_states import IGNORE, PART_FLIP, PartTable, flip_sample
from deeperaction.datasets.part_states import video_state_targets
from deeperaction.errors import InputError
from deeperaction.kinematics.vocab import PART_STATES
from deeperaction.models.heads.part_state import build_part_state_net, relative_boxes, roi_features, state_valid_mask
from deeperaction.tasks.predictors import load_state_predictor
from deeperaction.models.prior import FrequencyPrior
from deeperaction.schema import PARTS, FrameParse, PartDet, Person, VideoParse


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_prior_counts_most_frequent_state_per_action_and_part(tmp_path):
    states = np.full((5, 10), IGNORE)
    states[:3, 0] = [1, 1, 2]       # action 0, head: turn x2, nod x1
    states[3:, 0] = [2, 2]          # action 1, head: nod x2
    action = np.array([0, 0, 0, 1, 1])
    prior = FrequencyPrior.fit(["a", "b"], action, states)
    assert prior.predict(np.array([0, 1, 2]))[:, 0].tolist() == [1, 2, 2]  # overall: nod 3 vs turn 2
    assert prior.predict(np.array([0]))[0, 1] == 0  # never seen: "none" (lowest id)
    prior.save(tmp_path / "p.json")
    again = load_state_predictor(tmp_path / "p.json")
    assert np.array_equal(again.counts, prior.counts) and again.classes == ["a", "b"]
    parse = VideoParse("v", 25.0, (10, 10), [FrameParse(0, [Person(np.zeros(4), parts={
        "head": PartDet("head", np.zeros((2, 4)), ["none", "none"], np.ones(2))})])], "b")
    again.predict_states(None, parse)
    assert parse.frames[0].persons[0].parts["head"].states == ["nod", "nod"]
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError):
        load_state_predictor(tmp_path / "bad.json")


def test_flip_swaps_left_and_right_parts_and_mirrors_boxes():
    clip = np.arange(2 * 4 * 6 * 3, dtype=np.uint8).reshape(2, 4, 6, 3)
    boxes = np.tile(np.array([[0, 0, 2, 3]], np.float32), (11, 1))
    boxes[1 + PARTS.index("left_hand")] = [1, 1, 2, 2]
    states = np.arange(10)
    mask = np.arange(10) % 2 == 0
    c, b, m, s = flip_sample(clip, boxes, mask, states)
    assert np.array_equal(c[:, :, 0], clip[:, :, -1])
    assert np.allclose(b[0], [4, 0, 6, 3])
    assert np.allclose(b[1 + PARTS.index("right_hand")], [4, 1, 5, 2])
    assert s[PARTS.index("right_arm")] == PARTS.index("left_arm") and s[0] == 0
    assert np.array_equal(m, mask[PART_FLIP]) and sorted(PART_FLIP) == list(range(10))
    c2, b2, m2, s2 = flip_sample(c, b, m, s)  # an involution
    assert np.array_equal(c2, clip) and np.allclose(b2, boxes) and np.array_equal(s2, states)


def test_video_targets_are_most_frequent_state_per_part():
    states = np.full((4, 10), IGNORE)
    states[:, 3] = [1, 1, 0, 5]
    states[:3, 4] = [2, 0, 0]
    t = PartTable(["v", "w"], np.array([0, 0, 0, 1]), np.zeros(4, int), np.zeros((4, 11, 4)),
                  states != IGNORE, states, np.zeros(4, int))
    out = video_state_targets(t)
    assert out["v"][3] == 1 and out["v"][4] == 0 and out["v"][0] == IGNORE and out["w"][3] == 5


def test_roi_features_read_the_boxed_region():
    fmap = torch.zeros(1, 1, 4, 8, 8)
    fmap[0, 0, :2, 0:2, 0:2] = 1.0   # early half, top-left
    fmap[0, 0, 2:, 6:8, 6:8] = 1.0   # late half, bottom-right
    boxes = torch.tensor([[[0.0, 0.0, 16.0, 16.0], [48.0, 48.0, 64.0, 64.0]]])
    f = roi_features(fmap, boxes, stride=8, out=2)
    assert f.shape == (1, 2, 2)
    assert f[0, 0, 0] > 0.5 and f[0, 0, 1] < 0.1 and f[0, 1, 0] < 0.1 and f[0, 1, 1] > 0.5
    rel = relative_boxes(torch.tensor([[[0.0, 0, 10, 20]] + [[0.0, 0, 5, 10]] * 10]))
    assert torch.allclose(rel[0, 0], torch.tensor([0.25, 0.25, 0.5, 0.5]))


def test_part_state_net_shapes_masks_and_gradients():
    net = build_part_state_net(num_actions=3, trunk="tiny3d", dim=32, heads=2)
    x = (torch.randn(2, 3, 8, 48, 64), torch.tensor([[0, 0, 60, 44.0]] * 11).repeat(2, 1, 1),
         torch.ones(2, 10, dtype=torch.bool), torch.tensor([0, 3]))
    x[2][1] = False  # a person with no parts still runs
    logits = net(x)
    valid = state_valid_mask()
    assert logits.shape == (2, 10, 6) and (logits[:, ~valid] <= -1e3).all()
    assert valid.sum(1).tolist() == [len(PART_STATES[p]) for p in PARTS]
    logits[0].sum().backward()
    assert net.trunk[0].weight.grad is not None and net.head.cls_w.grad.abs().sum() > 0

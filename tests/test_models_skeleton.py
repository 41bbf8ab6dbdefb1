"""Skeleton classifier shapes and person pooling; weighted ensembles and weight fitting."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from deeperaction.models.ensemble import WeightedEnsemble, ensemble_scores, fit_weights
from deeperaction.models.skeleton import build_skeleton_classifier, skeleton_adjacency
from deeperaction.schema import JOINTS


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_adjacency_is_symmetric_normalised():
    a = skeleton_adjacency()
    assert a.shape == (len(JOINTS), len(JOINTS)) and torch.allclose(a, a.T)
    assert (torch.linalg.eigvalsh(a) <= 1 + 1e-5).all()


def test_skeleton_classifier_ignores_absent_persons_and_person_order():
    torch.manual_seed(0)
    m = build_skeleton_classifier(num_classes=5).eval()
    kp = torch.randn(3, 2, 16, len(JOINTS), 3)
    kp[..., 2] = 1.0
    out = m(kp)
    assert out.shape == (3, 5)
    torch.testing.assert_close(m(kp.flip(1)), out)  # max over persons: order does not matter
    one = kp.clone()
    one[:, 1] = 0.0
    torch.testing.assert_close(m(one), m(kp[:, :1]))  # an all-zero person is absent


def test_adaptive_graph_starts_as_the_fixed_one_and_links_distant_joints():
    """The free joint-to-joint matrices start at zero: a fixed-graph model's weights give the same outputs;
    then one gradient step moves them, including between the two wrists (no edge in the skeleton), and a fixed
    model's file (no such matrices) loads into the action-model builder unchanged."""
    from deeperaction.models.action import action_model_from_config
    from deeperaction.schema import JOINT_INDEX

    torch.manual_seed(0)
    fixed = build_skeleton_classifier(num_classes=5).eval()
    adaptive = build_skeleton_classifier(num_classes=5, adaptive=True).eval()
    missing, unexpected = adaptive.load_state_dict(fixed.state_dict(), strict=False)
    assert sorted(missing) == [f"blocks.{i}.free" for i in range(3)] and not unexpected
    kp = torch.randn(2, 1, 16, len(JOINTS), 3)
    torch.testing.assert_close(adaptive(kp), fixed(kp))
    adaptive.train()
    adaptive(kp).sum().backward()
    lw, rw = JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]
    assert skeleton_adjacency()[lw, rw] == 0 and adaptive.blocks[0].free.grad[lw, rw] != 0
    cfg = {"model": {"kind": "skeleton", "name": "r3d_18", "weights": "", "frozen_bn": False, "dropout": 0.3}}
    old = action_model_from_config(cfg, 5, weights="")  # a file from before the key existed
    assert all(b.free is None for b in old.blocks)
    old.load_state_dict(fixed.state_dict())


def test_ensemble_scores_and_fit():
    a = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    b = np.array([[0.4, 0.6], [0.1, 0.9], [0.3, 0.7]])
    np.testing.assert_allclose(ensemble_scores([a, b], [3, 1]), 0.75 * a + 0.25 * b)
    np.testing.assert_allclose(ensemble_scores([a, b]), (a + b) / 2)
    with pytest.raises(ValueError):
        ensemble_scores([a, b], [1, -1])
    labels = np.array([0, 1, 1])  # a gets video 1 wrong, b gets video 0 wrong; 0.5/0.5 gets all
    w = fit_weights([a, b], labels)
    assert (ensemble_scores([a, b], w).argmax(1) == labels).all()
    lin = [torch.nn.Linear(3, 2) for _ in range(2)]
    ens = WeightedEnsemble(lin, [1, 3])
    x = torch.randn(4, 3)
    ref = 0.25 * lin[0](x).softmax(-1) + 0.75 * lin[1](x).softmax(-1)
    torch.testing.assert_close(ens(x), ref)

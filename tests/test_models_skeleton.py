"""Skeleton classifier shapes and person pooling, adaptive graph, dense head; weighted ensembles and weight
fitting."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import LEARN_SEED, learn_print

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


def _toy_change_windows(n: int, g: torch.Generator, length: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows where the left wrist swings sideways (class 0) and then, from a random step on, up and down
    (class 1): keypoints ``(n, 1, length, J, 3)`` and each 4-frame step's label ``(n, length // 4)``."""
    from deeperaction.schema import JOINT_INDEX

    kp = torch.zeros(n, 1, length, len(JOINTS), 3)
    kp[..., 2] = 1.0
    kp[..., 1] = torch.linspace(-1, 1, len(JOINTS))  # a still body, joints stacked vertically
    change = torch.randint(1, length // 4, (n,), generator=g)  # the step the second motion starts at
    t = torch.arange(length, dtype=torch.float32)
    swing = torch.sin(t * 1.3)[None] * 0.5
    second = (t[None] >= 4 * change[:, None])  # (n, length)
    wrist = JOINT_INDEX["left_wrist"]
    kp[:, 0, :, wrist, 0] += torch.where(second, 0.0, swing)
    kp[:, 0, :, wrist, 1] += torch.where(second, swing, 0.0)
    steps = (torch.arange(length // 4)[None] >= change[:, None]).long()
    return kp, steps


def test_dense_head_localises_a_change_inside_the_window():
    """The dense head's window logits are the classifier's; trained on per-step labels, it puts an action change
    at the right step inside a window, which one label per window (the best a window classifier can give each
    step) cannot; a model built without it refuses ``dense``."""
    torch.manual_seed(LEARN_SEED)
    g = torch.Generator().manual_seed(LEARN_SEED)
    m = build_skeleton_classifier(num_classes=2, width=16, dropout=0.0, dense=True)
    x, y = _toy_change_windows(256, g)
    xt, yt = _toy_change_windows(128, g)
    m.eval()
    logits, steps = m.dense(xt)
    assert steps.shape == (128, 8, 2)
    torch.testing.assert_close(logits, m(xt))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    m.train()
    for i in range(120):
        idx = torch.randint(0, len(x), (32,), generator=g)
        _, s = m.dense(x[idx])
        loss = torch.nn.functional.cross_entropy(s.flatten(0, 1), y[idx].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    with torch.no_grad():
        step_acc = (m.dense(xt)[1].argmax(-1) == yt).float().mean().item()
    window_best = (yt == yt.mode(1, keepdim=True).values).float().mean().item()  # one label for all steps
    learn_print("dense_head_steps", step_accuracy=step_acc, one_label_per_window=window_best)
    assert step_acc > 0.9 and step_acc > window_best + 0.1, (step_acc, window_best)
    with pytest.raises(ValueError, match="dense head"):
        build_skeleton_classifier(num_classes=2).dense(xt)


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

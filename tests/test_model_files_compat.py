"""Model files written by an earlier version (tests/data/models_v0_1, see its README) load through today's
loaders and their networks compute what they computed then, on the same seeded inputs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deeperaction.tasks.parse_models import load_plugin

DATA = Path(__file__).parent / "data" / "models_v0_1"
EXPECTED = np.load(DATA / "expected_outputs.npz")
pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _inputs():
    """The seeded inputs the expected outputs were computed on, in the same order."""
    g = torch.Generator().manual_seed(0)
    action_video = torch.rand(1, 3, 8, 48, 48, generator=g)
    action_skeleton = torch.rand(1, 2, 32, 20, 3, generator=g)
    clips = torch.rand(2, 3, 8, 96, 128, generator=g)
    part_img = torch.rand(1, 3, 96, 96, generator=g)
    person_img = torch.rand(1, 3, 128, 128, generator=g)
    return action_video, action_skeleton, clips, part_img, person_img


def _fpn(net, img) -> np.ndarray:
    images, _ = net.det.transform(list(img))
    return np.concatenate([f.flatten().numpy() for f in net.det.backbone(images.tensors).values()])


@torch.no_grad()
def test_old_model_files_load_and_compute_the_same():
    action_video, action_skeleton, clips, part_img, person_img = _inputs()
    boxes = torch.tensor([[10, 10, 60, 90]] + [[20 + 3 * k, 20, 40 + 3 * k, 50] for k in range(10)],
                         dtype=torch.float32)[None].repeat(2, 1, 1)
    got = {
        "action_video": load_plugin(DATA / "action_video.pt", "action", "cpu").net(action_video),
        "action_skeleton": load_plugin(DATA / "action_skeleton.pt", "action", "cpu").net(action_skeleton),
        "part_state": load_plugin(DATA / "part_state.pt", "state", "cpu").net(
            (clips, boxes, torch.ones(2, 10, dtype=torch.bool), torch.tensor([0, 1]))),
        "video_states": load_plugin(DATA / "video_states.pt", "state", "cpu").net(clips),
        "part_detector": _fpn(load_plugin(DATA / "part_detector.pt", "part", "cpu").net.eval(), part_img),
        "person_detector": _fpn(load_plugin(DATA / "person_detector.pt", "person", "cpu").net.eval(), person_img),
    }
    for name, value in got.items():
        np.testing.assert_allclose(np.asarray(value), EXPECTED[name], rtol=1e-4, atol=1e-5, err_msg=name)
    prior = load_plugin(DATA / "prior.json", "state", "cpu")
    assert prior.predict(np.array([0, 1])).shape == (2, 10)

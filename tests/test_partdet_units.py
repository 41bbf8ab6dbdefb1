"""Pieces of the pose-guided part detector: pose drawing, crop geometry, left/right flip, decoding, the
fallback to geometric boxes, config checks and model bundles for ``parse --model``."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deeperaction.datasets.part_detector import CropSet, PartCrops
from deeperaction.errors import InputError
from deeperaction.models.part_detector import build_part_detector, decode_parts
from deeperaction.perception.pose_drawing import (JOINT_COLOURS, crop_params, crop_people, draw_pose, from_crop,
                                             in_channels, to_crop)
from deeperaction.schema import JOINT_INDEX as JI
from deeperaction.schema import JOINTS, PARTS
from deeperaction.tasks.parse_models import resolve_bundle
from deeperaction.train.part_detector import fallback_boxes, load_part_detector_config

S = 96


def _spread_keypoints() -> np.ndarray:
    """20 joints on a grid, 15 px apart (dots never overlap)."""
    kp = np.zeros((len(JOINTS), 3))
    kp[:, 0] = 10 + 15 * (np.arange(len(JOINTS)) % 5)
    kp[:, 1] = 10 + 20 * (np.arange(len(JOINTS)) // 5)
    kp[:, 2] = 1.0
    return kp


def test_joint_colours_are_distinct():
    assert len({tuple(c) for c in JOINT_COLOURS.tolist()}) == len(JOINTS)
    assert in_channels("dots") == 3 and in_channels("none") == 3 and in_channels("heatmaps") == 3 + len(JOINTS)


def test_draw_dots_puts_each_joint_colour_at_its_keypoint():
    crop = np.full((S, S, 3), 40, np.uint8)
    kp = _spread_keypoints()
    kp[JI["nose"], 2] = 0.1  # not confident: not drawn
    out = draw_pose(crop, kp, "dots")
    assert out.shape == crop.shape and out.dtype == np.uint8 and (crop == 40).all()  # input untouched
    for j in range(len(JOINTS)):
        x, y = int(kp[j, 0]), int(kp[j, 1])
        if j == JI["nose"]:
            assert (out[y, x] == 40).all()
        else:
            assert (out[y, x] == JOINT_COLOURS[j]).all(), JOINTS[j]
    assert (draw_pose(crop, kp, "none") == crop).all()


def test_draw_heatmaps_peak_at_keypoints():
    crop = np.zeros((S, S, 3), np.uint8)
    kp = _spread_keypoints()
    kp[JI["neck"], 2] = 0.0
    out = draw_pose(crop, kp, "heatmaps")
    assert out.shape == (S, S, 3 + len(JOINTS)) and (out[..., :3] == 0).all()
    for j in range(len(JOINTS)):
        hm = out[..., 3 + j]
        if j == JI["neck"]:
            assert hm.max() == 0
        else:
            y, x = np.unravel_index(hm.argmax(), hm.shape)
            assert (x, y) == (int(kp[j, 0]), int(kp[j, 1])) and hm.max() == 255


def test_crop_geometry_round_trip_and_content():
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8)
    boxes = np.array([[40.0, 20.0, 70.0, 100.0], [150.0, 60.0, 170.0, 130.0]])  # second runs off the frame
    params = crop_params(boxes, 0.1)
    assert np.allclose(params[:, 2], [88.0, 77.0]) and np.allclose(params[0, :2], [55 - 44, 60 - 44])
    pts = np.random.default_rng(1).uniform(0, 150, (2, 7, 4))
    assert np.allclose(from_crop(to_crop(pts, params, S), params, S), pts)
    exact = np.array([[10.0, 5.0, 96.0]])  # side == crop size: a pure translation
    crops = crop_people(frame, exact, S)
    assert (crops[0] == frame[5:101, 10:106]).all()
    assert (crop_people(frame, params[1:], S)[0, :, -5:] == 0).all()  # outside the frame is black


def _one_sample_set() -> CropSet:
    kp = np.zeros((1, len(JOINTS), 3), np.float32)
    kp[..., 2] = 1.0
    kp[0, :, 0], kp[0, :, 1] = 48, np.linspace(10, 90, len(JOINTS))
    kp[0, JI["left_wrist"], 0], kp[0, JI["right_wrist"], 0] = 20, 80
    boxes = np.zeros((1, len(PARTS), 4), np.float32)
    boxes[0, :] = [40, 40, 56, 56]
    boxes[0, PARTS.index("left_arm")] = [10, 20, 30, 60]
    boxes[0, PARTS.index("right_arm")] = [70, 20, 90, 60]
    mask = np.ones((1, len(PARTS)), bool)
    mask[0, PARTS.index("right_foot")] = False
    crop = np.zeros((1, S, S, 3), np.uint8)
    crop[0, :, :10] = 200  # a bright band on the image's left edge
    return CropSet(crop, kp, boxes, np.array([[30, 5, 66, 95]], np.float32), mask, np.array([[0.0, 0.0, 96.0]]),
                   np.zeros(1, int), np.zeros(1, int), ["v"])


def test_flip_swaps_left_and_right_parts_and_joints():
    cs = _one_sample_set()
    plain = PartCrops(cs, "dots", kp_noise=0.0, train=True, flip=0.0)
    flipped = PartCrops(cs, "dots", kp_noise=0.0, train=True, flip=1.0)
    crop, kp, boxes, mask, _ = flipped.sample(0)
    assert (crop[:, -10:] == 200).all() and (crop[:, :10] == 0).all()
    assert kp[JI["left_wrist"], 0] == S - 80 and kp[JI["right_wrist"], 0] == S - 20
    assert boxes[PARTS.index("left_arm")].tolist() == [S - 90, 20, S - 70, 60]
    assert boxes[PARTS.index("right_arm")].tolist() == [S - 30, 20, S - 10, 60]
    assert not mask[PARTS.index("left_foot")] and mask[PARTS.index("right_foot")]
    image, target = flipped[0]
    y_left, y_right = (int(cs.keypoints[0, JI[j], 1]) for j in ("left_wrist", "right_wrist"))
    # the mirrored right wrist is now the left one and is drawn in the left wrist's colour
    assert (image[y_right, S - 80].numpy() == JOINT_COLOURS[JI["left_wrist"]]).all()
    assert (image[y_left, S - 20].numpy() == JOINT_COLOURS[JI["right_wrist"]]).all()
    assert target["labels"].tolist() == [k + 1 for k, p in enumerate(PARTS) if p != "left_foot"]
    image0, target0 = plain[0]
    assert (image0[y_left, 20].numpy() == JOINT_COLOURS[JI["left_wrist"]]).all()
    assert target0["labels"].tolist() == [k + 1 for k, p in enumerate(PARTS) if p != "right_foot"]


def test_eval_samples_carry_geometric_boxes_and_fixed_noise():
    cs = _one_sample_set()
    ds = PartCrops(cs, "dots", kp_noise=2.0, train=False)
    a, b = ds.sample(0), ds.sample(0)
    assert np.array_equal(a[1], b[1]) and not np.array_equal(a[1], cs.keypoints[0])
    _, t = ds[0]
    assert t["geo"].shape == (len(PARTS), 4) and t["geo_valid"].all() and t["mask"].sum() == len(PARTS) - 1


def test_decode_keeps_the_top_box_per_part():
    det = [{"boxes": torch.tensor([[0.0, 0, 5, 5], [1, 1, 6, 6], [2, 2, 9, 9], [3, 3, 4, 4]]),
            "scores": torch.tensor([0.3, 0.9, 0.5, 0.8]), "labels": torch.tensor([1, 1, 3, 0])},
           {"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)}]
    boxes, scores = decode_parts(det)
    assert boxes.shape == (2, 10, 4)
    assert boxes[0, 0].tolist() == [1, 1, 6, 6] and scores[0, 0] == pytest.approx(0.9)
    assert boxes[0, 2].tolist() == [2, 2, 9, 9] and scores[0, 2] == pytest.approx(0.5)
    assert scores[0, [1, 3, 4, 5, 6, 7, 8, 9]].eq(0).all() and scores[1].eq(0).all()  # label 0 = background


def test_fallback_uses_geometry_below_threshold():
    boxes = torch.ones(1, 10, 4)
    scores = torch.tensor([[0.9, 0.1, 0.1] + [0.0] * 7])
    geo = torch.full((1, 10, 4), 7.0)
    gv = torch.tensor([[True, True, False] + [True] * 7])
    out, valid = fallback_boxes(boxes, scores, geo, gv, 0.2)
    assert out[0, 0].eq(1).all() and out[0, 1].eq(7).all() and out[0, 2].eq(1).all()
    assert valid[0].tolist() == [True, True, False] + [True] * 7


@pytest.mark.parametrize("arch", ["fasterrcnn", "fcos"])
def test_detector_trains_and_predicts_on_heatmap_inputs(arch):
    torch.manual_seed(0)
    m = build_part_detector(arch=arch, trunk="tiny", in_channels=in_channels("heatmaps"), crop=64, fpn_dim=32, width=8)
    images = [torch.rand(in_channels("heatmaps"), 64, 64) for _ in range(2)]
    targets = [{"boxes": torch.tensor([[5.0, 5, 20, 30]]), "labels": torch.tensor([3])}] * 2
    losses = m((images, targets))
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    m.eval()
    with torch.no_grad():
        out = m(images)
    assert len(out) == 2 and set(out[0]) >= {"boxes", "scores", "labels"}


def test_config_checks(tmp_path):
    cfg = load_part_detector_config(None, ["partdet.arch=fasterrcnn", "partdet.mode=heatmaps"])
    assert cfg["partdet"]["arch"] == "fasterrcnn"
    assert set(cfg["model"]) == {"weights"} and "clip_len" not in cfg["data"]  # only the keys it reads
    with pytest.raises(InputError, match="partdet.arch"):
        load_part_detector_config(None, ["partdet.arch=yolo"])
    with pytest.raises(InputError, match="partdet.fpn_dim"):
        load_part_detector_config(None, ["partdet.fpn_dim=48"])  # FCOS head: GroupNorm of 32 groups
    bad = tmp_path / "bad.yaml"
    bad.write_text("partdet:\n  mode: sketch\n")
    with pytest.raises(InputError, match="partdet.mode"):
        load_part_detector_config(bad)


def test_bundle_resolution(tmp_path):
    with pytest.raises(InputError, match="no such model bundle folder"):
        resolve_bundle(tmp_path / "none")
    with pytest.raises(InputError, match="no bundle.json"):
        resolve_bundle(tmp_path)
    (tmp_path / "part_model.pt").write_bytes(b"x")
    (tmp_path / "prior.json").write_text("{}")
    assert resolve_bundle(tmp_path) == {"part_model": str(tmp_path / "part_model.pt"),
                                        "state_model": str(tmp_path / "prior.json")}
    (tmp_path / "bundle.json").write_text(json.dumps({"part_model": "part_model.pt", "action_model": "gone.pt",
                                                      "pose": "x"}))
    with pytest.raises(InputError) as e:
        resolve_bundle(tmp_path)
    assert "gone.pt" in str(e.value) and "unknown key" in str(e.value)
    (tmp_path / "bundle.json").write_text(json.dumps({"state_model": "prior.json"}))
    assert resolve_bundle(tmp_path) == {"state_model": str(tmp_path / "prior.json")}
    (tmp_path / "bundle.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        resolve_bundle(tmp_path)

"""Part boxes from pose, person-box refinement, NMS, tracking and keypoint smoothing."""
from __future__ import annotations

import numpy as np

from deeperaction.perception.person_finders import iou_matrix, nms
from deeperaction.perception.parts_from_pose import PART_JOINTS, part_boxes, refine_person_boxes
from deeperaction.perception.track import Tracker, smooth_keypoints
from deeperaction.schema import JOINT_INDEX as JI
from deeperaction.schema import PARTS

STANDING = {  # a 2D person about 200 px tall, facing the camera (person's left on image right)
    "nose": (100, 30), "left_ear": (108, 28), "right_ear": (92, 28), "neck": (100, 50),
    "left_shoulder": (118, 52), "right_shoulder": (82, 52), "left_elbow": (124, 82), "right_elbow": (76, 82),
    "left_wrist": (126, 110), "right_wrist": (74, 110), "left_hand": (127, 118), "right_hand": (73, 118),
    "left_hip": (110, 110), "right_hip": (90, 110), "left_knee": (112, 155), "right_knee": (88, 155),
    "left_ankle": (112, 198), "right_ankle": (88, 198), "left_foot": (118, 206), "right_foot": (82, 206),
}


def person(offset=(0.0, 0.0), scale=1.0, conf=1.0) -> np.ndarray:
    kp = np.zeros((len(JI), 3))
    for name, xy in STANDING.items():
        kp[JI[name]] = (*(np.array(xy) * scale + offset), conf)
    return kp


def test_part_boxes_contain_their_joints_and_scale_with_the_person():
    kp = np.stack([person(), person((300, 40), 2.0)])
    boxes, valid, scores = part_boxes(kp, np.array([[70, 20, 130, 210], [440, 80, 560, 460]]))
    assert boxes.shape == (2, 10, 4) and valid.all() and np.allclose(scores, 1.0)
    for q, part in enumerate(PARTS):
        for p in range(2):
            pts = kp[p, [JI[j] for j in PART_JOINTS[part]], :2]
            b = boxes[p, q]
            assert (pts >= b[:2] - 1e-9).all() and (pts <= b[2:] + 1e-9).all(), part
    size0 = boxes[0, :, 2:] - boxes[0, :, :2]
    size1 = boxes[1, :, 2:] - boxes[1, :, :2]
    assert np.allclose(size1, 2 * size0)
    head_w = boxes[0, 0, 2] - boxes[0, 0, 0]
    assert 15 < head_w < 40  # ~1.3x the 16 px ear distance


def test_missing_joints_make_parts_invalid_and_boxes_are_clipped():
    kp = person((-60, 0))
    kp[JI["left_ankle"], 2] = 0.1
    boxes, valid, _ = part_boxes(kp[None], np.array([[0, 20, 70, 210]]), frame_size=(320, 240))
    v = dict(zip(PARTS, valid[0]))
    assert not v["left_leg"] and not v["left_foot"] and v["right_leg"] and v["head"]
    assert boxes.min() >= 0


def test_refined_box_contains_confident_keypoints_only():
    kp = person()
    kp[JI["right_hand"]] = (10, 300, 0.05)  # not confident: ignored
    box = refine_person_boxes(np.array([[90, 40, 110, 150]]), kp[None])[0]
    ok = kp[:, 2] >= 0.3
    assert (kp[ok, :2] >= box[:2]).all() and (kp[ok, :2] <= box[2:]).all()
    assert box[1] < 30 - 5  # head room above the nose
    assert box[3] < 300


def test_nms_and_iou():
    b = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [2, 2, 6, 6]], float)
    assert iou_matrix(b[:1], b[1:2])[0, 0] == 81 / 119
    keep = nms(b, np.array([0.9, 0.8, 0.7, 0.5]))  # 1 overlaps 0; 3 lies inside 0
    assert keep.tolist() == [0, 2]


def test_tracker_keeps_ids_through_crossing_and_a_missed_frame():
    tr = Tracker()
    ids_a, ids_b = [], []
    for t in range(12):
        a = [10 + 8 * t, 50, 40 + 8 * t, 130]  # walks right
        b = [110 - 8 * t, 55, 140 - 8 * t, 135]  # walks left, crossing a
        boxes = [a, b] if t != 6 else [b]  # a missed once
        ids = tr.update(np.array(boxes, float))
        if t != 6:
            ids_a.append(ids[0])
            ids_b.append(ids[1])
        else:
            ids_b.append(ids[0])
    assert len(set(ids_a)) == 1 and len(set(ids_b)) == 1 and ids_a[0] != ids_b[0]


def test_smoothing_reduces_jitter_and_skips_absent_frames():
    rng = np.random.default_rng(0)
    clean = np.stack([person((2.0 * t, 0)) for t in range(40)])
    noisy = clean.copy()
    noisy[:, :, :2] += rng.normal(0, 3, noisy[:, :, :2].shape)
    noisy[10] = np.nan
    sm = smooth_keypoints(noisy, 5)
    assert np.isnan(sm[10]).all()
    keep = np.r_[2:8, 13:38]
    err_before = np.abs(noisy[keep, :, :2] - clean[keep, :, :2]).mean()
    err_after = np.abs(sm[keep, :, :2] - clean[keep, :, :2]).mean()
    assert err_after < 0.6 * err_before
    assert np.allclose(smooth_keypoints(clean, 5)[2:-2], clean[2:-2])


def test_hog_on_frames_smaller_than_its_window():
    from deeperaction.perception.person_finders import HogPersonDetector

    det = HogPersonDetector()  # 64x128 window: OpenCV crashes on a smaller image, we return nothing
    for h, w in ((48, 64), (80, 30), (1, 1)):
        boxes, scores = det(np.zeros((h, w, 3), np.uint8))
        assert boxes.shape == (0, 4) and scores.shape == (0,)

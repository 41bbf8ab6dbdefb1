"""perception.pose + mediapipe_bundle on real media shipped by pip packages (scikit-image's astronaut)."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest
from skimage import data

from deeperaction.perception import mediapipe_bundle
from deeperaction.perception.pose import MediapipePose, mp33_to_joints
from deeperaction.schema import JOINT_INDEX as JI


@pytest.fixture(scope="module")
def pose_model():
    m = MediapipePose(num_poses=4)
    yield m
    m.close()


def test_bundle_is_assembled_offline_from_the_wheel(tmp_path):
    path = mediapipe_bundle.pose_task_path(tmp_path)
    names = set(zipfile.ZipFile(path).namelist())
    assert names == {"pose_detector.tflite", "pose_landmarks_detector.tflite"}
    assert mediapipe_bundle.pose_task_path(tmp_path) == path  # cached, not rebuilt
    det, lm = mediapipe_bundle.wheel_models()
    assert lm.name == "pose_landmark_full.tflite"  # model complexity 1; lite/heavy are never asked for


def test_astronaut_keypoints(pose_model):
    img = data.astronaut()
    poses = pose_model.detect(img)
    assert len(poses) == 1
    kp = poses[0].keypoints
    assert kp.shape == (len(JI), 3)
    assert np.hypot(*(kp[JI["nose"], :2] - (223, 128))) < 10
    # the person's left shoulder is on the image's right
    assert np.hypot(*(kp[JI["left_shoulder"], :2] - (306, 257))) < 15
    assert np.hypot(*(kp[JI["right_shoulder"], :2] - (113, 240))) < 15
    assert kp[JI["nose"], 2] > 0.9


def test_pose_in_a_box_crop_maps_back(pose_model):
    img = data.astronaut()
    (res,) = pose_model.in_boxes(img, np.array([[60.0, 90.0, 340.0, 512.0]]))
    assert res is not None
    assert np.hypot(*(res.keypoints[JI["nose"], :2] - (223, 128))) < 15


def test_no_person_in_a_plain_image(pose_model):
    assert pose_model.detect(np.full((240, 320, 3), 128, np.uint8)) == []


def test_mp33_mapping_and_out_of_frame_joints():
    lm = np.zeros((33, 4))
    lm[:, :2] = 0.5
    lm[:, 2:] = 0.9
    lm[11, :2], lm[12, :2] = (0.2, 0.4), (0.6, 0.4)  # shoulders -> neck is their midpoint
    lm[27, :2] = (0.5, 1.5)  # left ankle below the image
    kp = mp33_to_joints(lm, 100, 200)
    assert np.allclose(kp[JI["neck"], :2], (40, 80))
    assert kp[JI["left_ankle"], 2] == 0.0 and kp[JI["right_ankle"], 2] == pytest.approx(0.9)

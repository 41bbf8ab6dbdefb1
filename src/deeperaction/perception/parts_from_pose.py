"""Boxes for the 10 Kinetics-TPS body parts from 2D keypoints, scaled to the person; and the person box
refined to contain every confident keypoint (the 2nd-place Kinetics-TPS report's trick).

Part geometry, in units of the person's scale ``s`` (torso length neck -> hip centre, or 1.6 x shoulder
width, or a third of the box height): limbs = bounding box of their joints padded by ``0.15 s``; head =
1.3 x the ear distance wide, 1.25 x as tall, centred a little above the ears (a ``0.75 s`` square around
the nose when the ears are not seen); hands and feet = squares of side ``0.45 s``/``0.4 s``
around the hand/foot point and wrist/ankle; hip = the hip joints padded by ``0.3 s`` sideways.
"""
from __future__ import annotations

import numpy as np

from deeperaction.schema import JOINT_INDEX as JI
from deeperaction.schema import PARTS

LIMB_PAD = 0.15
PART_JOINTS: dict[str, tuple[str, ...]] = {
    "head": ("nose", "left_ear", "right_ear"),
    "hip": ("left_hip", "right_hip"),
    "left_arm": ("left_shoulder", "left_elbow", "left_wrist"),
    "right_arm": ("right_shoulder", "right_elbow", "right_wrist"),
    "left_hand": ("left_wrist", "left_hand"),
    "right_hand": ("right_wrist", "right_hand"),
    "left_leg": ("left_hip", "left_knee", "left_ankle"),
    "right_leg": ("right_hip", "right_knee", "right_ankle"),
    "left_foot": ("left_ankle", "left_foot"),
    "right_foot": ("right_ankle", "right_foot"),
}
"""Joints each part box is built from; a part is produced when all of them are confident."""
SQUARE_SIDE = {"head": 0.75, "left_hand": 0.45, "right_hand": 0.45, "left_foot": 0.4, "right_foot": 0.4}


def person_scale(kp: np.ndarray, boxes: np.ndarray, min_conf: float) -> np.ndarray:
    """``(P,)`` scale of each person: torso length, else 1.6 x shoulder width, else box height / 3."""
    ok = kp[:, :, 2] >= min_conf
    hip_c = (kp[:, JI["left_hip"], :2] + kp[:, JI["right_hip"], :2]) / 2
    sh_c = (kp[:, JI["left_shoulder"], :2] + kp[:, JI["right_shoulder"], :2]) / 2
    torso = np.linalg.norm(sh_c - hip_c, axis=1)
    torso_ok = ok[:, [JI["left_hip"], JI["right_hip"], JI["left_shoulder"], JI["right_shoulder"]]].all(1)
    shoulder = 1.6 * np.linalg.norm(kp[:, JI["left_shoulder"], :2] - kp[:, JI["right_shoulder"], :2], axis=1)
    sh_ok = ok[:, [JI["left_shoulder"], JI["right_shoulder"]]].all(1)
    fallback = (boxes[:, 3] - boxes[:, 1]) / 3
    s = np.where(torso_ok, torso, np.where(sh_ok, shoulder, fallback))
    return np.maximum(s, np.maximum(fallback * 0.25, 4.0))


def part_boxes(keypoints: np.ndarray, person_boxes: np.ndarray, *, min_conf: float = 0.3,
               frame_size: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Part boxes for P people: ``keypoints (P, J, 3)``, ``person_boxes (P, 4)`` ->
    ``boxes (P, 10, 4)`` in ``schema.PARTS`` order, ``valid (P, 10)`` and ``scores (P, 10)`` (mean
    confidence of the part's joints). Boxes are clipped to ``frame_size=(w, h)`` if given."""
    kp = np.asarray(keypoints, float).reshape(-1, len(JI), 3)
    pb = np.asarray(person_boxes, float).reshape(-1, 4)
    P = len(kp)
    s = person_scale(kp, pb, min_conf)[:, None]
    out = np.zeros((P, len(PARTS), 4))
    valid = np.zeros((P, len(PARTS)), bool)
    scores = np.zeros((P, len(PARTS)))
    for k, part in enumerate(PARTS):
        idx = [JI[j] for j in PART_JOINTS[part]]
        pts, conf = kp[:, idx, :2], kp[:, idx, 2]
        valid[:, k] = (conf >= min_conf).all(1)
        scores[:, k] = conf.mean(1)
        lo, hi = pts.min(1), pts.max(1)
        if part == "head":  # ears ~ head width apart; head ~1.25x taller than wide, nose low in it
            ear = np.linalg.norm(pts[:, 1] - pts[:, 2], axis=1)[:, None]
            ears_ok = (conf[:, 1:] >= min_conf).all(1)[:, None]
            hw = np.where(ears_ok, np.maximum(0.65 * ear, 0.22 * s), SQUARE_SIDE["head"] * s / 2)
            c = np.where(ears_ok, pts.mean(1), pts[:, 0])
            half = np.concatenate([hw, 1.25 * hw], 1)
            c = c - np.concatenate([0 * hw, 0.3 * hw], 1)
            out[:, k] = np.concatenate([c - half, c + half], 1)
            valid[:, k] = conf[:, 0] >= min_conf
        elif part in SQUARE_SIDE:
            c = 0.35 * pts[:, 0] + 0.65 * pts[:, 1]  # between the wrist/ankle and the hand/foot point
            half = SQUARE_SIDE[part] * s / 2
            half = np.maximum(half, (hi - lo).max(1, keepdims=True) / 2 * 1.1)
            out[:, k] = np.concatenate([c - half, c + half], 1)
        elif part == "hip":
            pad = np.concatenate([0.3 * s, 0.2 * s], 1)
            out[:, k] = np.concatenate([lo - pad, hi + pad], 1)
        else:
            out[:, k] = np.concatenate([lo - LIMB_PAD * s, hi + LIMB_PAD * s], 1)
    if frame_size is not None:
        w, h = frame_size
        out[..., 0::2] = out[..., 0::2].clip(0, w - 1)
        out[..., 1::2] = out[..., 1::2].clip(0, h - 1)
    valid &= (out[..., 2] > out[..., 0]) & (out[..., 3] > out[..., 1])
    return out, valid, scores


def refine_person_boxes(person_boxes: np.ndarray, keypoints: np.ndarray, *, min_conf: float = 0.3,
                        frame_size: tuple[int, int] | None = None) -> np.ndarray:
    """Grow each person box ``(P, 4)`` to contain its confident keypoints, plus head room above the nose
    (0.35 x scale) and a margin (0.1 x scale) elsewhere."""
    kp = np.asarray(keypoints, float).reshape(-1, len(JI), 3)
    pb = np.asarray(person_boxes, float).reshape(-1, 4).copy()
    s = person_scale(kp, pb, min_conf)
    ok = kp[:, :, 2] >= min_conf
    big = np.where(ok[..., None], kp[:, :, :2], np.inf).min(1)
    small = np.where(ok[..., None], kp[:, :, :2], -np.inf).max(1)
    has = ok.any(1)
    margin = 0.1 * s
    head = np.where(ok[:, JI["nose"]], kp[:, JI["nose"], 1] - 0.35 * s, np.inf)
    pb[has, 0] = np.minimum(pb[has, 0], big[has, 0] - margin[has])
    pb[has, 1] = np.minimum(pb[has, 1], np.minimum(big[has, 1] - margin[has], head[has]))
    pb[has, 2] = np.maximum(pb[has, 2], small[has, 0] + margin[has])
    pb[has, 3] = np.maximum(pb[has, 3], small[has, 1] + margin[has])
    if frame_size is not None:
        w, h = frame_size
        pb[:, 0::2] = pb[:, 0::2].clip(0, w - 1)
        pb[:, 1::2] = pb[:, 1::2].clip(0, h - 1)
    return pb

"""Articulated synthetic people: body proportions and looks, and 3D forward kinematics from joint angles.

A pose is a dict of per-frame angle arrays (degrees, keys in ``POSE_KEYS``); :func:`forward_kinematics`
turns it into 3D joints of the canonical skeleton (metres, body frame: +x the person's left, +y up,
+z the way they face), feet on the ground. :func:`project` places them in the image with a yaw and a
weak-perspective scale.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from deeperaction.schema import JOINT_INDEX, JOINTS

POSE_KEYS: tuple[str, ...] = (
    "trunk_pitch", "trunk_roll", "twist", "head_yaw", "head_pitch", "lift", "x", "yaw",
    *(f"{s}_{k}" for s in ("left", "right")
      for k in ("sh_flex", "sh_abd", "elbow", "elbow_twist", "hip_flex", "hip_abd", "knee")),
)
"""Angles in degrees (``lift`` and ``x`` in metres: jump height, distance walked forward; ``yaw`` turns the body)."""

SKIN = np.array([[255, 224, 196], [241, 194, 160], [224, 172, 105], [198, 134, 66], [141, 85, 36],
                 [92, 56, 30]], np.float64)


@dataclass
class Body:
    """One person's proportions (metres) and looks (RGB colours, clothing choices)."""

    height: float = 1.75
    seg: dict[str, float] = field(default_factory=dict)   # segment lengths / radii in metres
    skin: tuple[int, int, int] = (224, 172, 105)
    shirt: tuple[int, int, int] = (40, 90, 200)
    shirt2: tuple[int, int, int] = (230, 230, 230)       # stripe colour
    stripes: int = 0                                      # number of shirt stripes (0 = plain)
    pants: tuple[int, int, int] = (50, 50, 60)
    shoes: tuple[int, int, int] = (20, 20, 20)
    hair: tuple[int, int, int] = (40, 25, 10)
    long_sleeves: bool = False
    shorts: bool = False


def sample_body(rng: np.random.Generator) -> Body:
    """A random person: height, proportions (±8 %), skin, clothing colours and styles."""
    h = rng.uniform(1.5, 1.95)
    j = lambda: rng.uniform(0.92, 1.08)  # noqa: E731
    seg = {"torso": 0.30 * h * j(), "neck": 0.085 * h, "head_r": 0.062 * h * j(), "shoulder": 0.115 * h * j(),
           "hip": 0.078 * h * j(), "upper_arm": 0.17 * h * j(), "forearm": 0.15 * h * j(), "hand": 0.055 * h,
           "thigh": 0.245 * h * j(), "shin": 0.24 * h * j(), "foot": 0.075 * h, "r_arm": 0.03 * h * j(),
           "r_leg": 0.042 * h * j(), "r_hand": 0.022 * h}
    col = lambda lo=20, hi=235: tuple(int(c) for c in rng.integers(lo, hi, 3))  # noqa: E731
    skin = SKIN[rng.integers(len(SKIN))] * rng.uniform(0.9, 1.05)
    return Body(height=h, seg=seg, skin=tuple(int(c) for c in np.clip(skin, 0, 255)), shirt=col(),
                shirt2=col(), stripes=int(rng.choice([0, 0, 2, 3, 4])), pants=col(10, 160), shoes=col(0, 90),
                hair=col(0, 120), long_sleeves=bool(rng.random() < 0.5), shorts=bool(rng.random() < 0.3))


def neutral_pose(T: int) -> dict[str, np.ndarray]:
    """Standing still, arms hanging slightly away from the body."""
    p = {k: np.zeros(T) for k in POSE_KEYS}
    for s in ("left", "right"):
        p[f"{s}_sh_abd"] += 8.0
        p[f"{s}_elbow"] += 10.0
        p[f"{s}_knee"] += 3.0
    return p


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _perp(v: np.ndarray, ref: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Unit component of ``ref`` orthogonal to unit ``v`` (``fallback`` where ``ref`` is parallel to ``v``)."""
    w = ref - (ref * v).sum(-1, keepdims=True) * v
    n = np.linalg.norm(w, axis=-1, keepdims=True)
    fb = fallback - (fallback * v).sum(-1, keepdims=True) * v
    return _unit(np.where(n > 1e-3, w, fb))


def _rot(v: np.ndarray, axis: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (T, 3) about unit ``axis`` (T, 3) by ``deg`` (T,) (Rodrigues)."""
    a = np.radians(deg)[:, None]
    return v * np.cos(a) + np.cross(axis, v) * np.sin(a) + axis * (axis * v).sum(-1, keepdims=True) * (1 - np.cos(a))


def forward_kinematics(body: Body, pose: dict[str, np.ndarray]) -> np.ndarray:
    """3D joints ``(T, len(JOINTS), 3)`` in metres; the lowest foot point rests on y = 0 (plus ``lift``)."""
    s = body.seg
    T = len(pose["trunk_pitch"])
    X, Y, Z = (np.tile(np.eye(3)[i], (T, 1)) for i in range(3))
    out = np.zeros((T, len(JOINTS), 3))
    put = lambda name, v: out.__setitem__((slice(None), JOINT_INDEX[name]), v)  # noqa: E731
    # trunk frame: pitch bends forward (up tilts to +z), roll leans sideways, twist turns the shoulders
    up = _rot(_rot(Y, X, -pose["trunk_pitch"]), Z, pose["trunk_roll"])
    fwd = _rot(_rot(Z, X, -pose["trunk_pitch"]), Z, pose["trunk_roll"])
    lat = _rot(_rot(X, X, -pose["trunk_pitch"]), Z, pose["trunk_roll"])
    fwd_s, lat_s = _rot(fwd, up, pose["twist"]), _rot(lat, up, pose["twist"])
    pelvis = np.zeros((T, 3))
    neck = pelvis + up * s["torso"]
    put("neck", neck)
    # head: pitch nods about the shoulder axis, yaw turns about the head's up axis
    up_h = _rot(up, lat_s, -pose["head_pitch"])
    fwd_h = _rot(_rot(fwd_s, lat_s, -pose["head_pitch"]), up_h, pose["head_yaw"])
    lat_h = _rot(lat_s, up_h, pose["head_yaw"])
    head = neck + up_h * (s["neck"] + s["head_r"] * 0.6)
    put("nose", head + fwd_h * s["head_r"] * 1.05 - up_h * s["head_r"] * 0.15)
    put("left_ear", head + lat_h * s["head_r"] * 0.95)
    put("right_ear", head - lat_h * s["head_r"] * 0.95)
    for side, sg in (("left", 1.0), ("right", -1.0)):
        sh = neck + lat_s * sg * s["shoulder"] - up * 0.03 * body.height
        flex, abd = np.radians(pose[f"{side}_sh_flex"])[:, None], np.radians(pose[f"{side}_sh_abd"])[:, None]
        d = _unit(-up * np.cos(flex) * np.cos(abd) + fwd_s * np.sin(flex) * np.cos(abd) + lat_s * sg * np.sin(abd))
        elbow = sh + d * s["upper_arm"]
        b = _rot(_perp(d, fwd_s, up), d, sg * pose[f"{side}_elbow_twist"])
        e = np.radians(pose[f"{side}_elbow"])[:, None]
        fa = d * np.cos(e) + b * np.sin(e)
        wrist = elbow + fa * s["forearm"]
        put(f"{side}_shoulder", sh), put(f"{side}_elbow", elbow), put(f"{side}_wrist", wrist)
        put(f"{side}_hand", wrist + fa * s["hand"])
        hip = pelvis + X * sg * s["hip"]
        flex, abd = np.radians(pose[f"{side}_hip_flex"])[:, None], np.radians(pose[f"{side}_hip_abd"])[:, None]
        d = _unit(-Y * np.cos(flex) * np.cos(abd) + Z * np.sin(flex) * np.cos(abd) + X * sg * np.sin(abd))
        knee = hip + d * s["thigh"]
        k = np.radians(pose[f"{side}_knee"])[:, None]
        shin = d * np.cos(k) - _perp(d, Z, -Y) * np.sin(k)
        ankle = knee + shin * s["shin"]
        foot = ankle + (_perp(shin, Z, Z) * 0.9 - shin * 0.1) * s["foot"]
        put(f"{side}_hip", hip), put(f"{side}_knee", knee), put(f"{side}_ankle", ankle), put(f"{side}_foot", foot)
    feet = out[:, [JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")], 1]
    out[:, :, 1] += (-feet.min(axis=1) + s["r_leg"] * 0.6 + pose["lift"])[:, None]
    out[:, :, 2] += pose["x"][:, None]  # walking: forward along the facing direction
    return out


def project(j3: np.ndarray, yaw_deg: np.ndarray, ground_xy: np.ndarray, px_per_m: np.ndarray, *,
            elevation_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Image points ``(T, J, 2)`` and depth ``(T, J)`` (larger = nearer the camera).

    ``yaw_deg`` (T,) turns the body (0 = facing the camera); ``ground_xy`` (T, 2) is the pixel under the
    pelvis on the ground; ``px_per_m`` (T,) the weak-perspective scale. ``elevation_deg`` tilts the view down
    onto the person (a camera above them): heights shrink by its cosine and a joint nearer the camera than
    the hips shows lower in the frame by its sine (a stride toward the camera, a bow's head).
    """
    a = np.radians(yaw_deg)[:, None]
    x, y, z = j3[..., 0], j3[..., 1], j3[..., 2]
    xr = x * np.cos(a) + z * np.sin(a)
    zr = -x * np.sin(a) + z * np.cos(a)
    up = y
    if elevation_deg:
        e = np.radians(elevation_deg)
        hips = 0.5 * (zr[:, JOINT_INDEX["left_hip"]] + zr[:, JOINT_INDEX["right_hip"]])
        up = y * np.cos(e) - (zr - hips[:, None]) * np.sin(e)
    pts = np.stack([ground_xy[:, None, 0] + xr * px_per_m[:, None], ground_xy[:, None, 1] - up * px_per_m[:, None]],
                   -1)
    return pts, zr

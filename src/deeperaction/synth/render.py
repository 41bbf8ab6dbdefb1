"""Drawing people: shaded capsule limbs, a striped torso, a head with hair and nose, depth-sorted.

:func:`person_geometry` computes, vectorized over all frames, what will be drawn (also giving the tight
part and person boxes); :func:`draw_person` rasterizes one frame of it with anti-aliased OpenCV calls at
sub-pixel precision (4 fractional bits).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from deeperaction.schema import JOINT_INDEX, PARTS
from deeperaction.synth.humans import Body

SHIFT = 4
SCALE = 1 << SHIFT
PART_INDEX = {p: i for i, p in enumerate(PARTS)}

# (part or None, joint a, joint b, radius key, radius factor, colour key); the neck is added separately
LIMBS: list[tuple] = []
for _s in ("left", "right"):
    LIMBS += [
        (f"{_s}_arm", f"{_s}_shoulder", f"{_s}_elbow", "r_arm", 1.0, "shirt"),
        (f"{_s}_arm", f"{_s}_elbow", f"{_s}_wrist", "r_arm", 0.85, "sleeve"),
        (f"{_s}_hand", f"{_s}_wrist", f"{_s}_hand", "r_hand", 1.0, "skin"),
        (f"{_s}_leg", f"{_s}_hip", f"{_s}_knee", "r_leg", 1.0, "pants"),
        (f"{_s}_leg", f"{_s}_knee", f"{_s}_ankle", "r_leg", 0.8, "shin"),
        (f"{_s}_foot", f"{_s}_ankle", f"{_s}_foot", "r_leg", 0.55, "shoes"),
    ]
LIMBS.append(("hip", "left_hip", "right_hip", "r_leg", 1.0, "pants"))
N_CAPS = len(LIMBS) + 1            # + neck
TORSO, HEAD = N_CAPS, N_CAPS + 1   # item ids after the capsules


def _colour(body: Body, key: str) -> tuple[int, int, int]:
    if key == "sleeve":
        return body.shirt if body.long_sleeves else body.skin
    if key == "shin":
        return body.skin if body.shorts else body.pants
    return getattr(body, key)


def shade(c, f: float) -> tuple[int, int, int]:
    """Darker (f < 1) or lighter (f > 1) version of an RGB colour."""
    c = np.asarray(c, np.float64)
    out = c * f if f <= 1 else c + (255 - c) * (f - 1)
    return tuple(int(v) for v in np.clip(out, 0, 255))


@dataclass
class PersonGeometry:
    """What is drawn for one person in every frame, and the boxes that tightly enclose it."""

    caps: np.ndarray         # (T, N_CAPS, 2, 2) capsule end points (px)
    radii: np.ndarray        # (T, N_CAPS) capsule radii (px)
    torso: np.ndarray        # (T, 4, 2) shirt quad (already widened)
    head: np.ndarray         # (T, 3, 2) face centre, nose, hair centre
    head_r: np.ndarray       # (T,)
    order: np.ndarray        # (T, N_CAPS + 2) item ids far to near
    box: np.ndarray          # (T, 4) person box (unclipped)
    parts: np.ndarray        # (T, 10, 4) part boxes (unclipped)
    colours: list[tuple]     # per capsule (base, outline, highlight)
    light: np.ndarray | None = None   # (2,) light direction used for the pre-computed integer geometry below
    caps_i: np.ndarray | None = None  # (T, N_CAPS, 2, 2) int32 end points in 1/16 px
    hi_i: np.ndarray | None = None    # (T, N_CAPS, 2, 2) int32 highlight end points in 1/16 px
    thick: np.ndarray | None = None   # (T, N_CAPS) int line thickness
    extra: dict | None = None         # shaded colours of torso and head

    def prepare(self, light: np.ndarray, body: Body) -> None:
        """Pre-compute the integer drawing geometry for every frame (once per video)."""
        self.light = light
        self.caps_i = np.rint(self.caps * SCALE).astype(np.int32)
        self.hi_i = np.rint((self.caps + light * 0.35 * self.radii[..., None, None]) * SCALE).astype(np.int32)
        self.thick = np.maximum(1, np.rint(2 * self.radii)).astype(np.int64)
        self.extra = {"shirt_dark": shade(body.shirt, 0.55), "skin_dark": shade(body.skin, 0.55),
                      "nose": shade(body.skin, 0.7)}


def person_geometry(pts: np.ndarray, depth: np.ndarray, body: Body, ppm: np.ndarray) -> PersonGeometry:
    """Geometry for frames ``(T, J, 2)`` points, ``(T, J)`` depth (larger = nearer), ``(T,)`` px per metre."""
    T = pts.shape[0]
    ia = [JOINT_INDEX[a] for _, a, _, _, _, _ in LIMBS]
    ib = [JOINT_INDEX[b] for _, _, b, _, _, _ in LIMBS]
    head_c = 0.5 * (pts[:, JOINT_INDEX["left_ear"]] + pts[:, JOINT_INDEX["right_ear"]])
    neck = pts[:, JOINT_INDEX["neck"]]
    caps = np.concatenate([np.stack([pts[:, ia], pts[:, ib]], 2), np.stack([neck, head_c], 1)[:, None]], 1)
    rf = np.array([body.seg[rk] * f for _, _, _, rk, f, _ in LIMBS] + [body.seg["r_arm"] * 0.8])
    radii = ppm[:, None] * rf[None]
    cdepth = np.concatenate([(depth[:, ia] + depth[:, ib]) / 2, depth[:, [JOINT_INDEX["neck"]]] - 2e-3], 1)
    q = pts[:, [JOINT_INDEX[n] for n in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")]]
    qc = q.mean(1, keepdims=True)
    torso = qc + (q - qc) * 1.08
    tdepth = depth[:, [JOINT_INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]].mean(1) - 1e-3
    hr = body.seg["head_r"] * ppm
    v = pts[:, JOINT_INDEX["nose"]] - head_c
    u = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)
    hair = head_c - u * hr[:, None] * 0.35 - np.stack([np.zeros(T), hr * 0.25], 1)
    head = np.stack([head_c, pts[:, JOINT_INDEX["nose"]], hair], 1)
    hdepth = 0.5 * (depth[:, JOINT_INDEX["left_ear"]] + depth[:, JOINT_INDEX["right_ear"]])
    order = np.argsort(np.concatenate([cdepth, tdepth[:, None], hdepth[:, None]], 1), axis=1, kind="stable")
    # tight boxes of every item as drawn
    cb = np.concatenate([caps.min(2) - radii[..., None], caps.max(2) + radii[..., None]], -1)   # (T, N, 4)
    hb = np.stack([np.minimum(head_c[:, 0] - hr, hair[:, 0] - 0.8 * hr), np.minimum(head_c[:, 1] - hr, hair[:, 1] - 0.7 * hr),
                   np.maximum(head_c[:, 0] + hr, hair[:, 0] + 0.8 * hr), np.maximum(head_c[:, 1] + hr, hair[:, 1] + 0.7 * hr)], 1)
    tb = np.concatenate([torso.min(1) - 0.5, torso.max(1) + 0.5], 1)
    allb = np.concatenate([cb, tb[:, None], hb[:, None]], 1)
    box = np.concatenate([allb[..., :2].min(1), allb[..., 2:].max(1)], 1)
    parts = np.zeros((T, len(PARTS), 4))
    for name, i in PART_INDEX.items():
        sel = [k for k, limb in enumerate(LIMBS) if limb[0] == name]
        b = hb[:, None] if name == "head" else cb[:, sel]
        parts[:, i] = np.concatenate([b[..., :2].min(1), b[..., 2:].max(1)], 1)
    cols = [_colour(body, ck) for *_, ck in LIMBS] + [body.skin]
    return PersonGeometry(caps, radii, torso, head, hr, order, box, parts,
                          [(c, shade(c, 0.55), shade(c, 1.3)) for c in cols])


def draw_person(img: np.ndarray, g: PersonGeometry, t: int, body: Body, light: np.ndarray) -> None:
    """Rasterize frame ``t`` of a person onto ``img`` (RGB uint8, in place); ``light`` a 2D unit direction."""
    aa = cv2.LINE_AA
    if g.caps_i is None or g.light is not light:
        g.prepare(light, body)
    caps, hi, thick, ex = g.caps_i[t].tolist(), g.hi_i[t].tolist(), g.thick[t].tolist(), g.extra
    for k in g.order[t].tolist():
        if k < N_CAPS:
            (a, b), th = caps[k], thick[k]
            base, dark, light_c = g.colours[k]
            cv2.line(img, a, b, dark, th + 2, aa, SHIFT)
            cv2.line(img, a, b, base, th, aa, SHIFT)
            if th >= 4:
                cv2.line(img, hi[k][0], hi[k][1], light_c, max(1, th // 3), aa, SHIFT)
        elif k == TORSO:
            q = g.torso[t]
            poly = np.rint(q * SCALE).astype(np.int32)
            cv2.fillConvexPoly(img, poly, body.shirt, aa, SHIFT)
            cv2.polylines(img, [poly], True, ex["shirt_dark"], 1, aa, SHIFT)
            for s in range(1, body.stripes + 1):   # stripes across the shirt: a texture that moves with it
                f = s / (body.stripes + 1)
                p = np.rint(np.stack([q[0] + (q[3] - q[0]) * f, q[1] + (q[2] - q[1]) * f]) * SCALE).astype(np.int32)
                cv2.line(img, p[0].tolist(), p[1].tolist(), body.shirt2, max(1, int(g.radii[t, 0] * 0.5)), aa, SHIFT)
        else:  # head: face disc, hair cap on the back, nose and eye toward the facing direction
            c, nose, hair = g.head[t]
            r = float(g.head_r[t])
            ci = np.rint(c * SCALE).astype(int).tolist()
            cv2.circle(img, ci, max(1, int(r * SCALE)), ex["skin_dark"], 2, aa, SHIFT)
            cv2.circle(img, ci, max(1, int(r * SCALE)), body.skin, -1, aa, SHIFT)
            cv2.ellipse(img, np.rint(hair * SCALE).astype(int).tolist(), (int(r * 0.8 * SCALE), int(r * 0.7 * SCALE)),
                        0, 0, 360, body.hair, -1, aa, SHIFT)
            cv2.circle(img, np.rint((c + (nose - c) * 0.9) * SCALE).astype(int).tolist(), max(1, int(r * 0.22 * SCALE)),
                       ex["nose"], -1, aa, SHIFT)
            cv2.circle(img, np.rint((c + (nose - c) * 0.55 - [0, r * 0.3]) * SCALE).astype(int).tolist(),
                       max(1, int(r * 0.12 * SCALE)), (20, 20, 20), -1, aa, SHIFT)

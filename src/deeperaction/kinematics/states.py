"""Per-frame part states from 2D keypoint sequences, by the rules of :mod:`deeperaction.kinematics.vocab`.

Input keypoints are ``(T, len(JOINTS), 3)`` (x, y, confidence) in the canonical skeleton. Joints below
``conf_thr`` are treated as missing and interpolated over short gaps; positions are smoothed (jitter) and
expressed in torso lengths (scale invariance). A part whose joints are missing gets "none".
"""
from __future__ import annotations

import warnings

import numpy as np

from deeperaction.kinematics.geometry import (J, fill_gaps, joint_angle, moving_average, rolling_nanmedian,
                                              signed_angle, torso_length, unsigned_angle, unwrap_deg)
from deeperaction.kinematics.vocab import PART_STATES, THRESHOLDS as TH
from deeperaction.schema import JOINTS, PARTS


def _delta(a: np.ndarray, h: int) -> np.ndarray:
    """a[t + h] - a[t - h], indices clipped to the series."""
    T = len(a)
    t = np.arange(T)
    return a[np.minimum(t + h, T - 1)] - a[np.maximum(t - h, 0)]


def _windows(a: np.ndarray, h: int) -> np.ndarray:
    """Centred windows ``(T, 2h+1)`` of a series, edge padded."""
    return np.lib.stride_tricks.sliding_window_view(np.pad(a, (h, h), mode="edge"), 2 * h + 1)


def _win_min(a: np.ndarray, h: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmin(_windows(a, h), axis=1)


def _win_max(a: np.ndarray, h: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(_windows(a, h), axis=1)


def _oscillates(a: np.ndarray, h: int, min_range: float) -> np.ndarray:
    """Back-and-forth motion in the centred window: range >= min_range and total variation >= ratio x range."""
    w = _windows(a, h)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rng = np.nanmax(w, axis=1) - np.nanmin(w, axis=1)
        tv = np.nansum(np.abs(np.diff(w, axis=1)), axis=1)
    ok = np.isfinite(w).all(axis=1)
    return ok & (rng >= min_range) & (tv >= TH["reversal_ratio"] * rng)


def _pick(T: int, rules: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """State index per frame: the first rule (mask, state index) that holds, else 0 ("none")."""
    out = np.zeros(T, np.int64)
    done = np.zeros(T, bool)
    for mask, k in rules:
        m = np.nan_to_num(mask, nan=0).astype(bool) & ~done
        out[m] = k
        done |= m
    return out


def _ix(part: str, state: str) -> int:
    return PART_STATES[part].index(state)


def part_state_ids(keypoints: np.ndarray, fps: float, *, conf_thr: float = 0.3) -> dict[str, np.ndarray]:
    """Per part, the state index (into ``PART_STATES[part]``) of every frame, ``(T,)`` int arrays."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1] != len(JOINTS) or kp.shape[2] < 2:
        raise ValueError(f"keypoints must have shape (T, {len(JOINTS)}, 3), got {kp.shape}")
    T = kp.shape[0]
    if T == 0:
        return {p: np.zeros(0, np.int64) for p in PARTS}
    conf = kp[:, :, 2] if kp.shape[2] > 2 else np.ones(kp.shape[:2])
    valid = np.isfinite(kp[:, :, :2]).all(-1) & (conf >= conf_thr)
    xy, _ = fill_gaps(kp[:, :, :2], valid, max(1, round(TH["max_gap_s"] * fps)))
    xy = moving_average(xy, max(1, round(TH["smooth_s"] * fps)) | 1)
    L = rolling_nanmedian(torso_length(xy), max(1, round(2.0 * fps)) | 1)
    L = np.where(L > 1e-6, L, np.nan)
    h = max(1, round(TH["short_window_s"] * fps / 2))
    H = max(2, round(TH["long_window_s"] * fps / 2))
    P = lambda name: xy[:, J(name)]  # noqa: E731
    neck, hipc = P("neck"), 0.5 * (P("left_hip") + P("right_hip"))
    down = hipc - neck                                     # torso axis, pointing down the body
    perp = np.stack([-down[:, 1], down[:, 0]], -1) / np.linalg.norm(down, axis=-1, keepdims=True)
    axis = down / np.linalg.norm(down, axis=-1, keepdims=True)
    out: dict[str, np.ndarray] = {}
    ang, big = TH["angle_change_deg"], TH["angle_change_deg"]

    # head: nose relative to the ear midpoint, in the torso frame
    nose_rel = (P("nose") - 0.5 * (P("left_ear") + P("right_ear"))) / L[:, None]
    d_side = _delta((nose_rel * perp).sum(-1), h)
    d_vert = _delta((nose_rel * axis).sum(-1), h)
    out["head"] = _pick(T, [(np.abs(d_side) >= TH["head_turn"], _ix("head", "turn")),
                            (np.abs(d_vert) >= TH["head_nod"], _ix("head", "nod"))])

    # hip: trunk tilt from image vertical; twist from shoulder vs hip width across the torso axis
    tilt = unsigned_angle(neck - hipc, np.array([0.0, -1.0]))
    d_tilt = _delta(tilt, h)
    sw = ((P("right_shoulder") - P("left_shoulder")) * perp).sum(-1) / L
    hw = ((P("right_hip") - P("left_hip")) * perp).sum(-1) / L
    d_tw = _delta(sw - hw, h)
    out["hip"] = _pick(T, [(d_tilt >= TH["trunk_deg"], _ix("hip", "bend")),
                           (d_tilt <= -TH["trunk_deg"], _ix("hip", "unbend")),
                           (np.abs(d_tw) >= TH["twist"], _ix("hip", "twist"))])

    hand_dist = np.linalg.norm(P("left_hand") - P("right_hand"), axis=-1) / L
    near = _win_min(hand_dist, h)
    clap = (near <= TH["clap_dist"]) & (_win_max(hand_dist, H) - near >= TH["clap_range"])
    for side in ("left", "right"):
        sh, el, wr, hd = P(f"{side}_shoulder"), P(f"{side}_elbow"), P(f"{side}_wrist"), P(f"{side}_hand")
        upper = unwrap_deg(signed_angle(el - sh, down))
        elev = np.abs(signed_angle(el - sh, down))
        elbow = joint_angle(xy, f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist")
        d_elev, d_elbow = _delta(elev, h), _delta(elbow, h)
        swing = _oscillates(upper, H, TH["swing_range_deg"]) & (elev < 90)
        arm_dom = np.abs(d_elev) >= np.abs(d_elbow)
        part = f"{side}_arm"
        out[part] = _pick(T, [(swing, _ix(part, "swing")),
                              (arm_dom & (d_elev >= big), _ix(part, "raise")),
                              (arm_dom & (d_elev <= -big), _ix(part, "lower")),
                              (d_elbow <= -ang, _ix(part, "bend")),
                              (d_elbow >= ang, _ix(part, "unbend"))])
        reach = np.linalg.norm(wr - sh, axis=-1) / L
        fore = unwrap_deg(signed_angle(wr - el, -down))
        above = ((hd - sh) * axis).sum(-1) < 0
        wave = above & _oscillates(fore, H, TH["wave_range_deg"])
        part = f"{side}_hand"
        out[part] = _pick(T, [(clap, _ix(part, "clap")),
                              (_delta(reach, h) >= TH["punch_reach"], _ix(part, "punch")),
                              (wave, _ix(part, "wave"))])

    thigh = {s: unwrap_deg(signed_angle(P(f"{s}_knee") - P(f"{s}_hip"), down)) for s in ("left", "right")}
    step = _oscillates(thigh["left"] - thigh["right"], H, TH["swing_range_deg"])
    for side in ("left", "right"):
        knee = joint_angle(xy, f"{side}_hip", f"{side}_knee", f"{side}_ankle")
        lift = _delta(np.abs(signed_angle(P(f"{side}_knee") - P(f"{side}_hip"), down)), h)
        knee_end = knee[np.minimum(np.arange(T) + h, T - 1)]
        d_knee = _delta(knee, h)
        part = f"{side}_leg"
        out[part] = _pick(T, [((lift >= TH["kick_deg"]) & (knee_end >= TH["kick_knee_deg"]), _ix(part, "kick")),
                              (step, _ix(part, "step")),
                              (d_knee <= -ang, _ix(part, "bend")),
                              (d_knee >= ang, _ix(part, "unbend"))])
        dy = _delta(P(f"{side}_foot")[:, 1] / L, h)
        part = f"{side}_foot"
        out[part] = _pick(T, [(dy <= -TH["foot_move"], _ix(part, "lift")),
                              (dy >= TH["foot_move"], _ix(part, "step_on"))])
    return {p: out[p] for p in PARTS}


def part_states(keypoints: np.ndarray, fps: float, *, conf_thr: float = 0.3) -> list[dict[str, str]]:
    """Per frame ``{part: state}`` for the 10 parts, from keypoints ``(T, len(JOINTS), 3)``."""
    ids = part_state_ids(keypoints, fps, conf_thr=conf_thr)
    T = len(next(iter(ids.values()))) if ids else 0
    names = {p: np.array(PART_STATES[p], dtype=object) for p in PARTS}
    cols = {p: names[p][ids[p]] for p in PARTS}
    return [{p: cols[p][t] for p in PARTS} for t in range(T)]

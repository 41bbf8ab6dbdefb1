"""Motion library: actions as parameterized joint-angle programs, idle motion, and smooth transitions.

Each action maps a phase (in cycles) to angle offsets over the neutral pose. A person's timeline is a list
of action instances; :func:`compose_timeline` blends them over an idle background with 0.3 s ramps that are
half-way exactly at each instance's start and end frame (so the labelled extent is where the action shows).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from deeperaction.synth.humans import POSE_KEYS, neutral_pose

Pose = dict[str, np.ndarray]


def _c(p: np.ndarray) -> np.ndarray:
    """0 -> 1 -> 0 raised cosine over one cycle."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * p)


def _s(p: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * p)


def _pulse(p: np.ndarray, a: float, b: float) -> np.ndarray:
    """Within each cycle, a smooth bump that is 1 between fractions a and b, else 0."""
    f = np.mod(p, 1.0)
    x = np.clip((f - a) / max(b - a, 1e-6), 0, 1)
    return np.sin(np.pi * x) ** 2


@dataclass(frozen=True)
class Action:
    """One action: name, cycle period at speed 1 (s), forward speed (m/s) and its angle program."""

    name: str
    period: float
    program: Callable[[np.ndarray, float, str], dict[str, np.ndarray]]
    walk_speed: float = 0.0


def _jumping_jacks(p, a, side):
    c = _c(p)
    return {"left_sh_abd": 155 * a * c, "right_sh_abd": 155 * a * c, "left_elbow": -5 * c,
            "right_elbow": -5 * c, "left_hip_abd": 18 * a * c, "right_hip_abd": 18 * a * c,
            "lift": 0.13 * a * np.abs(_s(p))}


def _squat(p, a, side):
    c = _c(p)
    return {"left_knee": 105 * a * c, "right_knee": 105 * a * c, "left_hip_flex": 85 * a * c,
            "right_hip_flex": 85 * a * c, "trunk_pitch": 28 * a * c, "left_sh_flex": 80 * c,
            "right_sh_flex": 80 * c}


def _lunge(p, a, side):
    lead, back = (side, "right" if side == "left" else "left")
    c = _c(p)
    return {f"{lead}_hip_flex": 75 * a * c, f"{lead}_knee": 85 * a * c, f"{back}_hip_flex": -25 * a * c,
            f"{back}_knee": 80 * a * c, "trunk_pitch": 8 * c, "left_sh_abd": 15 * c, "right_sh_abd": 15 * c}


def _wave(p, a, side):
    return {f"{side}_sh_abd": np.full_like(p, 135.0), f"{side}_elbow": 55 + 40 * a * _s(p),
            f"{side}_elbow_twist": np.full_like(p, -90.0), "head_yaw": 8 * _s(p / 3)}


def _punch(p, a, side):
    # alternating punches from a guard: each half cycle one arm extends fast and returns
    out = {"twist": 25 * a * (_pulse(p, 0.0, 0.5) - _pulse(p, 0.5, 1.0))}
    for s, (lo, hi) in (("left", (0.0, 0.5)), ("right", (0.5, 1.0))):
        ext = _pulse(p, lo, hi)
        out[f"{s}_sh_flex"] = 45 + 40 * ext
        out[f"{s}_sh_abd"] = 10 - 5 * ext
        out[f"{s}_elbow"] = 125 - 120 * a * ext
    return out


def _kick(p, a, side):
    up = _pulse(p, 0.1, 0.6)
    other = "right" if side == "left" else "left"
    return {f"{side}_hip_flex": 95 * a * up, f"{side}_knee": 70 * _pulse(p, 0.0, 0.35) + 70 * _pulse(p, 0.55, 0.8),
            f"{other}_knee": 10 * up, "trunk_pitch": -10 * up, "left_sh_flex": 40 + 0 * p, "right_sh_flex": 40 + 0 * p,
            "left_elbow": 100 + 0 * p, "right_elbow": 100 + 0 * p}


def _gait(p, a, hip, knee, arm, elbow, hop, pitch):
    out = {"trunk_pitch": pitch + 0 * p, "lift": hop * np.abs(_s(p))}
    for s, ph in (("left", 0.0), ("right", 0.5)):
        q = p + ph
        out[f"{s}_hip_flex"] = hip * a * _s(q)
        out[f"{s}_knee"] = 8 + knee * a * np.clip(_s(q + 0.2), 0, None)
        out[f"{s}_sh_flex"] = -arm * a * _s(q)
        out[f"{s}_elbow"] = elbow + 0 * p
    return out


def _walk(p, a, side):
    return _gait(p, a, 24, 40, 22, 15, 0.0, 3)


def _run(p, a, side):
    return _gait(p, a, 40, 80, 40, 95, 0.07, 12)


def _clap(p, a, side):
    c = _c(p)
    return {"left_sh_flex": 75 + 0 * p, "right_sh_flex": 75 + 0 * p, "left_sh_abd": -17 + 50 * a * c,
            "right_sh_abd": -17 + 50 * a * c, "left_elbow": 25 + 0 * p, "right_elbow": 25 + 0 * p}


def _arm_circles(p, a, side):
    ang = np.mod(360 * p + 180, 360) - 180  # wrapped so blending in and out never spins the arm
    return {"left_sh_flex": ang, "right_sh_flex": ang, "left_sh_abd": 12 + 0 * p,
            "right_sh_abd": 12 + 0 * p}


def _bow(p, a, side):
    c = _pulse(p, 0.1, 0.9)
    return {"trunk_pitch": 60 * a * c, "head_pitch": 15 * c, "left_sh_flex": 55 * a * c, "right_sh_flex": 55 * a * c}


def _jump(p, a, side):
    crouch = _pulse(p, 0.0, 0.35) + _pulse(p, 0.65, 0.95)
    air = _pulse(p, 0.3, 0.7)
    return {"left_knee": 75 * crouch, "right_knee": 75 * crouch, "left_hip_flex": 60 * crouch,
            "right_hip_flex": 60 * crouch, "trunk_pitch": 25 * crouch, "lift": 0.35 * a * air,
            "left_sh_flex": -35 * crouch + 150 * air, "right_sh_flex": -35 * crouch + 150 * air}


def _twist(p, a, side):
    return {"twist": 50 * a * _s(p), "head_yaw": 25 * a * _s(p), "left_sh_abd": 75 + 0 * p,
            "right_sh_abd": 75 + 0 * p, "left_elbow": 80 + 0 * p, "right_elbow": 80 + 0 * p}


def _raise_arms(p, a, side):
    c = _c(p)
    return {"left_sh_abd": 160 * a * c, "right_sh_abd": 160 * a * c, "head_pitch": -12 * c}


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("jumping_jacks", 0.9, _jumping_jacks), Action("squat", 2.0, _squat), Action("lunge", 2.4, _lunge),
    Action("wave", 0.8, _wave), Action("punch", 0.9, _punch), Action("kick", 1.5, _kick),
    Action("walk", 1.1, _walk, walk_speed=1.3), Action("run", 0.7, _run, walk_speed=3.2),
    Action("clap", 0.6, _clap), Action("arm_circles", 1.1, _arm_circles), Action("bow", 2.6, _bow),
    Action("jump", 1.5, _jump), Action("torso_twist", 1.6, _twist), Action("raise_arms", 2.4, _raise_arms),
)}
"""The action vocabulary (14 classes). Several share part motions (squat/jump/lunge legs, jacks/raise_arms
arms, walk/run gait) so telling them apart needs more than one part."""
ACTION_NAMES: tuple[str, ...] = tuple(ACTIONS)


@dataclass(frozen=True)
class Instance:
    """One action performed by one person over frames [start, end) with its style."""

    action: str
    start: int
    end: int
    speed: float = 1.0
    amplitude: float = 1.0
    phase: float = 0.0
    side: str = "right"


def _smooth_noise(rng: np.random.Generator, T: int, fps: float, amp: float, fmax: float = 0.5) -> np.ndarray:
    t = np.arange(T) / fps
    f = rng.uniform(0.05, fmax, 3)
    ph = rng.uniform(0, 2 * np.pi, 3)
    return amp * (np.sin(2 * np.pi * f[:, None] * t + ph[:, None])).sum(0) / 2.0


def idle_pose(rng: np.random.Generator, T: int, fps: float, style: float = 3.0) -> Pose:
    """Standing with sway, breathing and slow glances; ``style`` is the per-angle noise amplitude (deg)."""
    pose = neutral_pose(T)
    for k in POSE_KEYS:
        if k in ("lift", "x", "yaw"):
            continue
        pose[k] = pose[k] + _smooth_noise(rng, T, fps, style, 0.3)
    # occasional glances: slow head turns, visible as head "turn" when fast enough
    t = np.arange(T) / fps
    glance = np.zeros(T)
    for c in rng.uniform(0, T / fps, max(1, int(T / fps / 8))):
        glance += rng.choice([-1, 1]) * 35 * np.exp(-0.5 * ((t - c) / 0.9) ** 2)
    pose["head_yaw"] = pose["head_yaw"] + glance
    return pose


def _ramp(t: np.ndarray, start: float, end: float, ramp: float) -> np.ndarray:
    """Weight that is 0.5 at start and at end, 1 inside, smooth over ``ramp`` seconds."""
    def ss(x):
        x = np.clip(x, 0, 1)
        return x * x * (3 - 2 * x)
    return ss((t - start) / ramp + 0.5) * ss((end - t) / ramp + 0.5)


LIFT_M_PER_DEG = 0.004
"""Style noise of ``lift`` (metres, not degrees): +-1.5 "degrees" of style move the body by ~6 mm, not 1.5 m
(generator 1.1 lifted walkers, runners and jumpers by up to ~2 m off the floor and sank them below it)."""


def _hold(t: np.ndarray, start: float, dur: float, ramp: float) -> np.ndarray:
    """Weight 1 over ``[start, start + dur]`` seconds, eased in and out over ``ramp`` seconds."""
    return _ramp(t, start + ramp / 2, start + dur - ramp / 2, ramp)


def lively_idle(rng: np.random.Generator, T: int, fps: float) -> Pose:
    """Offsets (degrees) over the idle pose of a person who stands the way people in a street do rather than
    at attention, labelled idle all the same: arm episodes of 1.5-5 s with pauses between (talking with the
    hands: forearms up, moving irregularly, one hand or both; arms folded; hands on the hips; hands in the
    pockets), half turns toward somebody (30-110 degrees, held 1-4 s, then back) and the weight shifted onto
    one leg. Real bystanders do all of this, and a model that has only seen still idlers reads it as an action
    (vtest's people talking by the sign read ``clap``)."""
    off = {k: np.zeros(T) for k in POSE_KEYS}
    t = np.arange(T) / fps
    end = T / fps
    s = float(rng.uniform(0.0, 2.0))
    while s < end:
        kind = str(rng.choice(["talk", "fold", "hips", "pockets"], p=[0.5, 0.2, 0.1, 0.2]))
        d = float(rng.uniform(1.5, 5.0))
        w = _hold(t, s, d, 0.5)
        sides = ("left", "right") if kind != "talk" or rng.random() < 0.5 else (str(rng.choice(["left", "right"])),)
        for side in sides:
            if kind == "talk":   # forearm up in front, hand moving about at ~0.5-1.5 Hz, hands apart
                off[f"{side}_sh_flex"] += w * (rng.uniform(10, 35) + _smooth_noise(rng, T, fps, 12, 1.5))
                off[f"{side}_elbow"] += w * (rng.uniform(50, 95) + _smooth_noise(rng, T, fps, 15, 1.5))
                off[f"{side}_sh_abd"] += w * np.abs(_smooth_noise(rng, T, fps, 10, 1.0))
            elif kind == "fold":   # forearms across the chest
                off[f"{side}_sh_flex"] += w * rng.uniform(15, 30)
                off[f"{side}_sh_abd"] -= w * rng.uniform(0, 8)
                off[f"{side}_elbow"] += w * rng.uniform(100, 120)
            elif kind == "hips":   # elbows out, hands at the waist
                off[f"{side}_sh_abd"] += w * rng.uniform(30, 45)
                off[f"{side}_elbow"] += w * rng.uniform(85, 105)
            else:   # hands in the pockets: elbows a little bent, arms a little back
                off[f"{side}_sh_flex"] -= w * rng.uniform(0, 10)
                off[f"{side}_elbow"] += w * rng.uniform(15, 35)
        s += d + float(rng.uniform(0.5, 3.0))
    s = float(rng.uniform(0.5, 6.0))
    while s < end:   # half turns toward somebody and back
        d_turn, d_hold = float(rng.uniform(0.6, 1.2)), float(rng.uniform(1.0, 4.0))
        off["yaw"] += rng.choice([-1, 1]) * rng.uniform(30, 110) * _hold(t, s, 2 * d_turn + d_hold, d_turn)
        s += 2 * d_turn + d_hold + float(rng.uniform(2.0, 8.0))
    s = float(rng.uniform(0.0, 4.0))
    while s < end:   # weight on one leg: hip out, trunk leaning back over it
        d, side = float(rng.uniform(2.0, 6.0)), rng.choice([-1, 1])
        w = _hold(t, s, d, 0.8)
        off["left_hip_abd"] += side * 5 * w
        off["right_hip_abd"] -= side * 5 * w
        off["trunk_roll"] -= side * 4 * w
        s += d + float(rng.uniform(1.0, 5.0))
    return off


def compose_timeline(rng: np.random.Generator, T: int, fps: float, instances: list[Instance],
                     style: float = 3.0, ramp_s: float = 0.3, lively: np.random.Generator | None = None) -> Pose:
    """Per-frame pose for a person doing ``instances`` over an idle background; ``x`` integrates walking. With
    ``lively`` (its own random stream, so the other draws stay as they were) the idle stretches are
    :func:`lively_idle`'s, faded out wherever an instance is under way."""
    pose = idle_pose(rng, T, fps, style)
    t = np.arange(T) / fps
    weights = [_ramp(t, inst.start / fps, inst.end / fps, ramp_s) for inst in instances]
    if lively is not None:
        idle_w = np.prod([1.0 - w for w in weights], axis=0) if weights else np.ones(T)
        for k, v in lively_idle(lively, T, fps).items():
            pose[k] = pose[k] + idle_w * v
    vel = np.zeros(T)
    for inst, w in zip(instances, weights):
        act = ACTIONS[inst.action]
        if not w.any():
            continue
        p = inst.phase + (t - inst.start / fps) * inst.speed / act.period
        prog = act.program(p, inst.amplitude, inst.side)
        base = neutral_pose(T)
        for k, v in prog.items():
            noise = _smooth_noise(rng, T, fps, style * 0.5, 0.8)  # degrees; drawn for every key (same stream)
            target = base[k] + v + noise * (LIFT_M_PER_DEG if k == "lift" else 1.0)
            pose[k] = pose[k] * (1 - w) + target * w
        vel += w * act.walk_speed * inst.speed / fps
    pose["x"] = np.cumsum(vel) - vel[0] if T else vel
    return pose

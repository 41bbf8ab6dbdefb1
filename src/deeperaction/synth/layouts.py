"""Task layouts: what happens in each synthetic video (who, where, which actions when), as plain specs.

``make_spec(task, index, seed, ...)`` is a pure function of its arguments, so a video can be re-made
alone from the manifest. tps: one action per short clip; stad: several people with action instances;
tal: long videos with action segments separated by idle stretches.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from deeperaction.synth.motions import ACTION_NAMES, ACTIONS, Instance
from deeperaction.synth.scenes import PRESETS

TASKS = ("tps", "stad", "tal")
DURATIONS_S: dict[str, tuple[float, float]] = {"tps": (3.0, 10.0), "stad": (8.0, 16.0), "tal": (30.0, 180.0)}
"""Default video duration range (s) per task."""
LOCOMOTION = ("walk", "run")
IN_PLACE = tuple(a for a in ACTION_NAMES if a not in LOCOMOTION)


@dataclass
class PersonSpec:
    """One person: appearance seed, where they stand (canvas fractions), facing, size, and what they do."""

    seed: int
    ground: tuple[float, float]        # x as a fraction of canvas width, y as a fraction of floor depth (0 far, 1 near)
    yaw: float                         # degrees, 0 = facing the camera
    instances: list[Instance] = field(default_factory=list)
    path: str = "stay"                 # "stay" at ground x; "center" the walked path on it; "cross" the frame;
                                       # "street": walk in any direction, the path's middle at ground (x, depth)


@dataclass
class VideoSpec:
    """Everything needed to render one video deterministically."""

    video_id: str
    task: str
    seed: int
    n_frames: int
    fps: float
    size: tuple[int, int]
    preset: str
    persons: list[PersonSpec]
    action: str | None = None          # tps: the video's action


def video_seed(seed: int, task: str, index: int) -> int:
    """Per-video seed, independent of worker order."""
    return int(np.random.SeedSequence([seed, TASKS.index(task), index]).generate_state(1)[0])


def _style(rng: np.random.Generator, action: str, start: int, end: int) -> Instance:
    return Instance(action, start, end, speed=float(rng.uniform(0.8, 1.25)), amplitude=float(rng.uniform(0.85, 1.1)),
                    phase=0.0 if action == "arm_circles" else float(rng.uniform(0, 1)),
                    side=str(rng.choice(["left", "right"])))


def _walker(rng: np.random.Generator, start: int, end: int, fps: float, action: str = "walk",
            frame_w_m: float = 5.0) -> tuple[PersonSpec, float]:
    """A person crossing the view: yaw kept so the path spans at most ~0.9 of the visible width."""
    inst = _style(rng, action, start, end)
    dist = ACTIONS[action].walk_speed * inst.speed * (end - start) / fps
    sin_max = min(1.0, 0.9 * frame_w_m / max(dist, 1e-6))
    yaw = float(np.degrees(np.arcsin(min(np.sin(np.radians(rng.uniform(35, 90))), sin_max))))
    sign = rng.choice([-1, 1])
    return PersonSpec(int(rng.integers(2**31)), (0.5, 0.0), float(sign * yaw), [inst]), float(sign * dist * np.sin(np.radians(yaw)))


def _street_walker(rng: np.random.Generator, T: int, fps: float, stops: float = 0.0) -> PersonSpec:
    """Somebody walking (or running) through in any direction, toward or away from the camera too, over part
    of the video and idle before and after; the path (<= ~6 m) is centred on a random point of the floor.
    A walker stops on the way for 1.5-5 s with probability ``stops`` (where the video is long enough), then
    walks on in the same style: two ``walk`` instances (the draws for it are made only when ``stops`` > 0)."""
    kind = "run" if rng.random() < 0.3 else "walk"
    dur = int(min(T, max(1.5 * fps, rng.uniform(0.5, 1.0) * 6.0 / ACTIONS[kind].walk_speed * fps)))
    pause = int(rng.uniform(1.5, 5.0) * fps) if stops > 0 and kind == "walk" and rng.random() < stops else 0
    if dur + pause > T:
        pause = 0
    start = int(rng.integers(0, T - dur - pause + 1))
    inst = _style(rng, kind, start, start + dur)
    insts = [inst]
    if pause:
        cut = start + int(rng.uniform(0.3, 0.7) * dur)
        insts = [replace(inst, end=cut), replace(inst, start=cut + pause, end=start + dur + pause)]
    return PersonSpec(int(rng.integers(2**31)), (float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.1, 0.7))),
                      float(rng.uniform(-180, 180)), insts, path="street")


def make_spec(task: str, index: int, seed: int, *, size: tuple[int, int] = (320, 240), fps: float = 25.0,
              preset: str = "default", duration: tuple[float, float] | None = None) -> VideoSpec:
    """The spec of video ``index`` of a ``task`` dataset with master ``seed``."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    P = PRESETS[preset]
    vs = video_seed(seed, task, index)
    rng = np.random.default_rng(vs)
    lo, hi = duration or DURATIONS_S[task]
    T = max(int(round(rng.uniform(lo, hi) * fps)), 4)
    vid = f"synth_{task}_{seed}_{index:05d}"
    persons: list[PersonSpec] = []
    ramp = int(0.3 * fps)
    action = None
    if task == "tps":
        action = ACTION_NAMES[index % len(ACTION_NAMES)] if rng.random() < 0.5 else str(rng.choice(ACTION_NAMES))
        s0, e0 = int(rng.integers(0, max(1, ramp))), T - int(rng.integers(0, max(1, ramp)))
        if action in LOCOMOTION:
            p, _ = _walker(rng, s0, e0, fps, action, frame_w_m=3.5)
            p.ground, p.path = (0.5, float(rng.uniform(0.7, 1.0))), "center"
        else:
            p = PersonSpec(int(rng.integers(2**31)), (float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.7, 1.0))),
                           float(rng.choice([-1, 1]) * rng.uniform(15, 70)), [_style(rng, action, s0, e0)])
        persons.append(p)
        for _ in range(int(rng.integers(0, P.people[1] // 2 + 1))):   # bystanders, farther back
            persons.append(PersonSpec(int(rng.integers(2**31)), (float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.5))),
                                      float(rng.uniform(-80, 80)), []))
    else:
        n = int(rng.integers(P.people[0], P.people[1] + 1)) if task == "stad" else int(rng.integers(1, 3))
        for k in range(n):
            if task == "stad" and P.walkers and rng.random() < P.walkers:
                persons.append(_street_walker(rng, T, fps, P.stops))
                continue
            insts: list[Instance] = []
            if task == "stad":
                gap, seg = (0.5, 3.0), (1.5, 4.0)
            else:
                gap, seg = (2.0, 10.0), (2.0, 8.0)
            if k == 0 or task == "stad":
                t = int(rng.uniform(*gap) * fps * (0.3 if task == "stad" else 1.0))
                while True:
                    dur = int(rng.uniform(*seg) * fps)
                    if t + dur > T - ramp:
                        break
                    insts.append(_style(rng, str(rng.choice(IN_PLACE)), t, t + dur))
                    t += dur + int(rng.uniform(*gap) * fps)
            persons.append(PersonSpec(int(rng.integers(2**31)), (float(rng.uniform(0.12, 0.88)), float(rng.uniform(0.25, 1.0))),
                                      float(rng.choice([-1, 1]) * rng.uniform(10, 75)), insts))
        if task == "stad" and rng.random() < 0.6:   # somebody walks or runs through, entering and leaving
            s0 = int(rng.integers(0, T // 3))
            kind = "run" if rng.random() < 0.3 else "walk"
            dur_need = int(7.5 / (ACTIONS[kind].walk_speed * 0.8) * fps)
            e0 = min(T, s0 + dur_need)
            p, _ = _walker(rng, s0, e0, fps, kind, frame_w_m=100.0)
            p.yaw = float(np.sign(p.yaw) * rng.uniform(70, 90))
            p.ground, p.path = (0.5, float(rng.uniform(0.3, 0.9))), "cross"
            persons.append(p)
    return VideoSpec(vid, task, vs, T, fps, tuple(size), preset, persons, action)


def assign_splits(n: int, seed: int) -> list[str]:
    """train/validation/test per video index (~70/15/15 %), a seeded permutation; >= 1 validation if n >= 2."""
    perm = np.random.default_rng([seed, 99]).permutation(n)
    n_val = max(1 if n >= 2 else 0, int(round(0.15 * n)))
    n_test = max(1 if n >= 3 else 0, int(round(0.15 * n)))
    out = ["training"] * n
    for i in perm[:n_val]:
        out[i] = "validation"
    for i in perm[n_val:n_val + n_test]:
        out[i] = "testing"
    return out

"""Build a synthetic video from its spec: ground truth for every person and frame, and the frames themselves.

``ground_truth(spec)`` computes labels without drawing a pixel; ``render_video(spec)`` returns the frames
(T, H, W, 3) too; ``Scene.frames()`` streams them for long videos.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from deeperaction.kinematics.states import part_state_ids
from deeperaction.schema import JOINT_INDEX, PARTS
from deeperaction.synth.humans import Body, forward_kinematics, project, sample_body
from deeperaction.synth.layouts import PersonSpec, VideoSpec
from deeperaction.synth.motions import Instance, compose_timeline
from deeperaction.synth.render import PersonGeometry, draw_person, person_geometry
from deeperaction.synth.scenes import (PRESETS, camera_path, canvas_size, lighting, make_distractors, noise_bank,
                                       paint_background)

MIN_VISIBLE = 0.3
"""A person counts as present in a frame when at least this fraction of their box is inside it."""


@dataclass
class PersonTrack:
    """Ground truth of one person over the whole video (frames 0-based; boxes clipped to the frame)."""

    track_id: int
    keypoints: np.ndarray      # (T, J, 3) x, y, 1 inside the frame else 0
    boxes: np.ndarray          # (T, 4)
    present: np.ndarray        # (T,) bool
    part_boxes: np.ndarray     # (T, 10, 4) in PARTS order
    part_present: np.ndarray   # (T, 10) bool
    states: np.ndarray         # (T, 10) index into PART_STATES[part]
    instances: list[Instance]
    body: Body = field(repr=False, default=None)

    def action_at(self, frame: int) -> str | None:
        """The action this person performs at ``frame`` (None when idle)."""
        for inst in self.instances:
            if inst.start <= frame < inst.end:
                return inst.action
        return None


@dataclass
class VideoLabels:
    """All ground truth of one video."""

    spec: VideoSpec
    persons: list[PersonTrack]

    @property
    def n_frames(self) -> int:
        return self.spec.n_frames


def _clip(b: np.ndarray, w: int, h: int) -> np.ndarray:
    out = b.copy()
    out[..., [0, 2]] = np.clip(b[..., [0, 2]], 0, w)
    out[..., [1, 3]] = np.clip(b[..., [1, 3]], 0, h)
    return out


def _area(b: np.ndarray) -> np.ndarray:
    return np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)


class Scene:
    """A video in the making: background, camera, people (geometry per frame), distractors, effects."""

    def __init__(self, spec: VideoSpec):
        self.spec = spec
        self.P = PRESETS[spec.preset]
        w, h = spec.size
        T, fps = spec.n_frames, spec.fps
        rng = np.random.default_rng([spec.seed, 1])      # geometry stream: labels never depend on pixels
        wc, hc = canvas_size(spec.size)
        horizon = hc * rng.uniform(*self.P.horizon)
        self.M = camera_path(rng, T, fps, spec.size, self.P)
        # drawn last and only where the preset looks down, so the other presets' videos stay as they were
        self.elevation = float(rng.uniform(*self.P.elevation)) if self.P.elevation[1] > 0 else 0.0
        zoom = self.M[:, 0, 0]
        self._horizon = horizon
        self._pixels = False
        self.light = np.array([-0.5, -0.85]) / np.hypot(0.5, 0.85)
        self.floor = (horizon, hc / 2 + h * 0.46)   # ground rows from the horizon to near the frame bottom
        k = 0.8 * h / (1.75 * (self.floor[1] - horizon))
        self.people: list[tuple[float, PersonTrack, PersonGeometry]] = []
        for tid, ps in enumerate(spec.persons):
            self.people.append(self._person(tid, ps, horizon, k, wc, hc, zoom))
        self.people.sort(key=lambda q: q[0])   # far first (painter's order)

    def _person(self, tid: int, ps: PersonSpec, horizon: float, k: float, wc: int, hc: int, zoom: np.ndarray):
        spec, (w, h), T = self.spec, self.spec.size, self.spec.n_frames
        rng = np.random.default_rng(ps.seed)
        body = sample_body(rng)
        lively = np.random.default_rng([ps.seed, 1]) if self.P.lively else None   # its own stream
        pose = compose_timeline(rng, T, spec.fps, ps.instances, style=self.P.style, lively=lively)
        j3 = forward_kinematics(body, pose)
        yc = horizon + (self.floor[1] - horizon) * (0.3 + 0.7 * ps.ground[1])
        ppm = (yc - horizon) * k
        if ps.path == "street":
            ground, ppm = self._street_ground(ps, pose["x"], horizon, k, wc)
            yc = float(np.median(ground[:, 1]))   # painter's order by the usual depth
        else:
            ground, ppm = np.tile([0.0, yc], (T, 1)), np.full(T, ppm)
        pts, depth = project(j3, ps.yaw + pose["yaw"], ground, ppm, elevation_deg=self.elevation)
        pelvis_x = 0.5 * (pts[:, JOINT_INDEX["left_hip"], 0] + pts[:, JOINT_INDEX["right_hip"], 0])
        if ps.path == "center":
            base = ps.ground[0] * wc - 0.5 * (pelvis_x.min() + pelvis_x.max())
        elif ps.path == "cross":
            d = np.sign(pelvis_x[-1] - pelvis_x[0]) or 1.0
            s0 = ps.instances[0].start if ps.instances else 0
            base = wc / 2 - d * (w / 2 / zoom.min() + 0.6 * ppm[0]) - pelvis_x[s0]
        elif ps.path == "street":
            base = 0.0   # the ground points are already canvas pixels
        else:
            base = ps.ground[0] * wc
        pts[..., 0] += base
        pts = np.einsum("tjk,tik->tji", pts, self.M[:, :, :2]) + self.M[:, None, :, 2]
        ppm_t = ppm * zoom
        geom = person_geometry(pts, depth, body, ppm_t)
        boxes, parts = geom.box, geom.parts
        inside = (pts[..., 0] >= 0) & (pts[..., 0] < w) & (pts[..., 1] >= 0) & (pts[..., 1] < h)
        kp = np.concatenate([pts, inside[..., None].astype(np.float64)], -1)
        cb, cp = _clip(boxes, w, h), _clip(parts, w, h)
        present = (_area(cb) >= MIN_VISIBLE * _area(boxes)) & (cb[:, 2] - cb[:, 0] >= 2) & (cb[:, 3] - cb[:, 1] >= 2)
        part_present = present[:, None] & (cp[..., 2] - cp[..., 0] >= 1) & (cp[..., 3] - cp[..., 1] >= 1)
        ids = part_state_ids(kp, spec.fps)
        states = np.stack([ids[p] for p in PARTS], 1)
        track = PersonTrack(tid, kp, cb, present, cp, part_present, states, list(ps.instances), body)
        return yc, track, geom

    def _street_ground(self, ps: PersonSpec, travel: np.ndarray, horizon: float, k: float, wc: int
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Ground pixel under the pelvis ``(T, 2)`` and scale ``(T,)`` (px per m) of a ``street`` walker: the
        forward ``travel`` (m) split by the yaw into depth (a pinhole over the floor plane: nearer is lower and
        larger) and sideways (added by :func:`project`); the path's middle at ``ps.ground``, kept on the floor."""
        f = 0.9 * self.spec.size[0]                          # focal length (px), a ~60 degree view
        def depth_at(g: float) -> float:                     # metres to a floor row at depth fraction g
            return f / ((self.floor[1] - horizon) * (0.3 + 0.7 * g) * k)
        a = np.radians(ps.yaw)
        mid = 0.5 * (travel.min() + travel.max())
        reach = 0.5 * (travel.max() - travel.min()) * abs(np.cos(a))
        near, far = depth_at(0.8), depth_at(0.0)
        z_mid = float(np.clip(depth_at(ps.ground[1]), min(near + reach, (near + far) / 2),
                              max(far - reach, (near + far) / 2)))
        x_mid = (ps.ground[0] * wc - wc / 2) * z_mid / f
        z = np.maximum(z_mid - (travel - mid) * np.cos(a), 0.5 * near)
        ppm = f / z
        x0 = x_mid - mid * np.sin(a)                         # lateral metres of the ground point (body travel aside)
        return np.stack([wc / 2 + x0 * ppm, horizon + ppm / k], 1), ppm

    @property
    def labels(self) -> VideoLabels:
        return VideoLabels(self.spec, sorted((q[1] for q in self.people), key=lambda p: p.track_id))

    def _prepare_pixels(self) -> None:
        """Background, lighting, noise and distractors: made on the first rendered frame (own random stream)."""
        spec = self.spec
        rng = np.random.default_rng([spec.seed, 2])
        self.canvas = paint_background(rng, spec.size, self.P.clutter, self._horizon)
        self.gain = lighting(rng, spec.n_frames, spec.fps, self.P.light)
        self.noise = noise_bank(rng, spec.size, self.P.noise)
        self.distractors = make_distractors(rng, self.P.distractors, spec.size)
        self.noise_idx = rng.integers(0, max(1, len(self.noise)), spec.n_frames)
        self._pixels = True

    def frame(self, t: int) -> np.ndarray:
        """Render frame ``t`` (RGB uint8)."""
        if not self._pixels:
            self._prepare_pixels()
        w, h = self.spec.size
        img = cv2.warpAffine(self.canvas, self.M[t], (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        ts = t / self.spec.fps
        for d in self.distractors:
            if not d.front:
                d.draw(img, ts)
        for _, track, geom in self.people:
            b = track.boxes[t]
            if b[2] - b[0] > 0 and b[3] - b[1] > 0:
                draw_person(img, geom, t, track.body, self.light)
        for d in self.distractors:
            if d.front:
                d.draw(img, ts)
        if self.P.light:
            img = cv2.convertScaleAbs(img, alpha=float(self.gain[t]))
        if self.P.blur:
            img = cv2.GaussianBlur(img, (0, 0), self.P.blur)
        if self.noise:
            img = cv2.add(img, self.noise[self.noise_idx[t]], dtype=cv2.CV_8U)
        return img

    def frames(self) -> Iterator[np.ndarray]:
        """All frames in order."""
        for t in range(self.spec.n_frames):
            yield self.frame(t)


def ground_truth(spec: VideoSpec) -> VideoLabels:
    """Labels of a video (keypoints, boxes, part boxes, states, actions) without rendering it."""
    return Scene(spec).labels


def render_video(spec: VideoSpec) -> tuple[np.ndarray, VideoLabels]:
    """Frames ``(T, H, W, 3)`` uint8 and labels, in memory (for short videos and training code)."""
    scene = Scene(spec)
    return np.stack(list(scene.frames())), scene.labels

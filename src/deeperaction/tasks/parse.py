"""Part-level action parsing of any video: people, their 10 part boxes with states, tracks, the action.

``parse_video(path) -> VideoParse`` is the Python API; :func:`deeperaction.tasks.parse_folder.parse_to_folder`
writes what ``deeperaction parse`` writes (TPS submission files, parse.json, render.mp4, contact sheet).
Every ``stride``-th frame: BlazePose on the whole frame, HOG boxes for people it missed (pose per crop) --
or, with a trained ``person_model``, top-down: its boxes first, then a pose in each --
person boxes refined to the keypoints, tracking; then per track: keypoint smoothing, kinematic part
states (or ``state_model``), geometric part boxes (replaced by the pose-guided ``part_model``'s where it
is confident). The action of the video and of each track: the skeleton model shipped in the package unless
``action_model`` names another ("none": no action, reported as "unknown"). ``model_bundle``: a folder of models
(:func:`resolve_bundle`); options given explicitly win over it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError
from deeperaction.perception.person_finders import containment, iou_matrix, load_detector
from deeperaction.perception.pose import PoseResult
from deeperaction.perception.parts_from_pose import part_boxes, refine_person_boxes
from deeperaction.perception.states_default import track_states
from deeperaction.perception.track import Tracker, smooth_keypoints
from deeperaction.schema import JOINTS, PARTS, FrameParse, PartDet, Person, VideoParse
from deeperaction.tasks.parse_models import load_plugin, resolve_bundle
from deeperaction.tasks.stopwatch import Stopwatch
from deeperaction.video.reader import VideoInfo, iter_frames, probe

UNKNOWN_ACTION = "unknown"


@dataclass
class ParseOptions:
    """Every knob of the parse pipeline, with its default and unit."""

    stride: int = 5                # parse every k-th frame (Kinetics-TPS annotates every 5th)
    max_people: int = 10           # most people kept per frame, best score first (TPS allows 10)
    device: str = "cpu"            # for torch models (detector weights, state/action models)
    detector: str = "hog"          # extra person detector for small people: "hog", "none" or weights path
    min_pose_score: float = 0.3    # drop poses whose core joints are less confident than this (mean)
    min_box_score: float = 0.55    # drop detector boxes (logistic score) below this when no pose is found
    covered_iou: float = 0.3       # a detector box overlapping a whole-frame pose's box this much (IoU) is that person
    covered_share: float = 0.5     # ... or lying this much inside it
    covers_share: float = 0.7      # ... or holding this much of it (a loose box around the same person)
    pose_in_box: float = 0.3       # a pose found in a detector box must lie this much inside the box
    min_conf: float = 0.3          # keypoint confidence needed for a joint to count
    smooth_s: float = 0.2          # keypoint smoothing window along a track, seconds
    max_frames: int | None = None  # parse only frames < this (None: all)
    work_max_side: int = 1920      # larger frames are downscaled for the models (boxes mapped back)
    max_pixels: int = 8192 * 8192  # refuse frames larger than this (width x height)
    state_model: str | None = None   # trained part-state model (replaces the kinematic rules)
    action_model: str | None = None  # action model file; None: the shipped skeleton model; "none": no action
    part_model: str | None = None    # trained pose-guided part detector (else geometric part boxes)
    person_model: str | None = None  # trained person detector: people top-down (replaces BlazePose's + `detector`)
    model_bundle: str | None = None  # folder of models (bundle.json); fills the model options left unset


@dataclass
class ParseRun:
    """A parse with what produced it: per-stage seconds and per-frame timings (for parse.json)."""

    parse: VideoParse
    info: VideoInfo
    timings: dict[str, float] = field(default_factory=dict)
    frame_ms: dict[int, float] = field(default_factory=dict)
    decoded_frames: int = 0  # frames the decoder produced (fewer than info.n_frames: truncated video)
    warnings: list[str] = field(default_factory=list)


class Parser:
    """Holds the loaded models so that many videos reuse them: ``Parser(opts).parse(path)``."""

    def __init__(self, options: ParseOptions | None = None, **overrides):
        self.opts = replace(options) if options else ParseOptions()  # a copy: the bundle fills it in
        for k, v in overrides.items():
            if k not in {f.name for f in fields(ParseOptions)}:
                raise TypeError(f"unknown parse option {k!r}")
            setattr(self.opts, k, v)
        o = self.opts
        if o.model_bundle:
            for key, path in resolve_bundle(o.model_bundle).items():
                if getattr(o, key) is None:
                    setattr(o, key, path)
        if o.stride < 1 or o.max_people < 1:
            raise InputError(f"stride and max_people must be >= 1 (got {o.stride}, {o.max_people})")
        from deeperaction.perception.pose import MediapipePose

        # the user's model files first: a bad one fails before the (slower) pose model loads
        self.person_model = load_plugin(o.person_model, "person", o.device) if o.person_model else None
        self.state_model = load_plugin(o.state_model, "state", o.device) if o.state_model else None
        action = o.action_model if o.action_model is not None else "default"
        self.action_model = None if action == "none" else load_plugin(action, "action", o.device)
        self.part_model = load_plugin(o.part_model, "part", o.device) if o.part_model else None
        self.detector = self.person_model or load_detector(o.detector, o.device)
        self.pose = MediapipePose(num_poses=o.max_people)

    def _frame(self, rgb: np.ndarray, watch: Stopwatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """People in one frame: boxes (P, 4), scores (P,), keypoints (P, J, 3) (NaN rows: no pose)."""
        with watch("pose"):
            poses = self._whole_frame_poses(rgb)
        people = [(p.box, p.score, p.keypoints) for p in poses]
        if self.detector is not None and len(poses) < self.opts.max_people:
            with watch("detect"):
                boxes, scores = self._boxes_not_posed(rgb, poses)
            with watch("pose"):
                people += self._poses_in_boxes(rgb, boxes, scores)
        return self._best_people(people)

    def _whole_frame_poses(self, rgb: np.ndarray) -> list[PoseResult]:
        """BlazePose on the whole frame (bottom-up), confident poses only; none top-down (a trained person
        detector finds every person, a pose is then looked for in each box)."""
        if self.person_model is not None:
            return []
        return [p for p in self.pose.detect(rgb) if p.score >= self.opts.min_pose_score]

    def _boxes_not_posed(self, rgb: np.ndarray, poses: list[PoseResult]) -> tuple[np.ndarray, np.ndarray]:
        """The detector's boxes of people the whole-frame poses missed (a box overlapping a pose's box, inside
        it or around it is that person), best first, as many as places are left."""
        o = self.opts
        boxes, scores = self.detector(rgb)
        if len(boxes) and poses:
            b = np.array([p.box for p in poses])
            covered = ((iou_matrix(boxes, b).max(1) > o.covered_iou) | (containment(boxes, b).max(1) > o.covered_share)
                       | (containment(b, boxes).max(0) > o.covers_share))
            boxes, scores = boxes[~covered], scores[~covered]
        order = np.argsort(-scores)[: o.max_people - len(poses)]
        return boxes[order], scores[order]

    def _poses_in_boxes(self, rgb: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> list[tuple]:
        """A pose in each detector box: a confident pose inside the box makes a person (score: geometric mean
        of box and pose scores); otherwise the box alone if it scores enough (a trained detector's own floor
        applies, HOG's needs ``min_box_score``), without keypoints."""
        o = self.opts
        found = self.pose.in_boxes(rgb, boxes) if len(boxes) else []
        floor = o.min_box_score if self.person_model is None else 0.0
        people = []
        for box, score, pr in zip(boxes, scores, found):
            if pr is not None and pr.score >= o.min_pose_score and containment(pr.box[None], box[None])[0, 0] > o.pose_in_box:
                people.append((box, float(np.sqrt(score * pr.score)), pr.keypoints))
            elif score >= floor:
                people.append((box, float(score), np.full((len(JOINTS), 3), np.nan)))
        return people

    def _best_people(self, people: list[tuple]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At most ``max_people``, best score first (ties keep their order): boxes, scores, keypoints."""
        if not people:
            return np.zeros((0, 4)), np.zeros(0), np.zeros((0, len(JOINTS), 3))
        boxes = np.array([p[0] for p in people], float)
        scores = np.array([p[1] for p in people], float)
        kps = np.array([p[2] for p in people], float)
        order = np.argsort(-scores, kind="stable")[: self.opts.max_people]
        return boxes[order], scores[order], kps[order]

    def parse(self, video: str | Path, *, video_id: str | None = None,
              on_frame: Callable[[int], None] | None = None) -> ParseRun:
        """Parse one video (file or frame folder)."""
        o, video = self.opts, Path(video)
        info = probe(video)
        if info.width * info.height > o.max_pixels:
            raise InputError(f"frames are {info.width}x{info.height}, larger than the {o.max_pixels} pixel"
                             " limit (ParseOptions.max_pixels); downscale the video first", file=video)
        s = min(1.0, o.work_max_side / max(info.width, info.height))
        size = None if s == 1.0 else (max(2, round(info.width * s)), max(2, round(info.height * s)))
        back = np.array([info.width / size[0], info.height / size[1]] * 2) if size else np.ones(4)
        watch = Stopwatch()
        tracker = Tracker()
        rows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        frame_ms: dict[int, float] = {}
        stop = o.max_frames if o.max_frames is not None else None
        decode_stats: dict[str, int] = {}
        for idx, rgb in iter_frames(video, stop=stop, step=o.stride, size=size, stats=decode_stats):
            watch.lap("decode")
            t1 = time.perf_counter()
            boxes, scores, kps = self._frame(rgb, watch)
            with watch("track"):
                ids = tracker.update(boxes, rgb)  # appearance re-finds people lost for a while
            boxes, kps = boxes * back, kps * np.array([back[0], back[1], 1.0])
            rows.append((idx, boxes, scores, kps, ids))
            frame_ms[idx] = round((time.perf_counter() - t1) * 1000, 2)
            if on_frame:
                on_frame(idx)
            watch.skip()  # the callback's time is the caller's; decoding is timed from here to the next frame
        if not rows:
            raise InputError("no frame could be decoded (empty or truncated video)", file=video)
        expected = min(info.n_frames, stop) if stop is not None else info.n_frames
        decoded = decode_stats.get("decoded", expected)  # frame folders: their listing is the count
        warnings = []
        if expected - decoded >= max(2, 0.01 * expected):
            warnings.append(f"{video}: decoded {decoded} of the {info.n_frames} frames its header declares "
                            f"(truncated or corrupt video); parsed what decoded")
        with watch("states"):
            smoothed, states = self._smooth_tracks(rows, info)
        with watch("parts"):
            parse = VideoParse(video_id or video.stem, info.fps, (info.width, info.height),
                               self._people_with_parts(rows, smoothed, states, info), UNKNOWN_ACTION, {})
        if self.part_model is not None:  # part boxes first: the state model reads them
            with watch("parts"):
                self.part_model.predict_parts(video, parse)
        if self.action_model is not None:  # the action before the states: the part-state head reads it
            from deeperaction.tasks.action_predictors import video_action

            with watch("action"):
                if hasattr(self.action_model, "predict_all"):  # the video's and each track's action
                    scores, parse.track_actions = self.action_model.predict_all(video, parse)
                else:
                    scores = self.action_model.predict_action(video, parse)
            parse.action_scores = {k: float(v) for k, v in scores.items()}
            parse.action = video_action(scores) if scores else UNKNOWN_ACTION
        if self.state_model is not None:
            with watch("states"):
                self.state_model.predict_states(video, parse)
        return ParseRun(parse, info, watch.seconds, frame_ms, decoded, warnings)

    def _smooth_tracks(self, rows, info: VideoInfo) -> tuple[list[np.ndarray], dict[tuple[int, int], dict[str, str]]]:
        """Per track: keypoints smoothed over time, and the kinematic part states (unless a state model
        will set them). Returns the smoothed keypoints of each row and ``{(row, person): {part: state}}``."""
        o = self.opts
        eff_fps = info.fps / o.stride
        width = max(1, round(o.smooth_s * eff_fps)) | 1
        states: dict[tuple[int, int], dict[str, str]] = {}  # (row, person) -> {part: state}
        all_ids = np.concatenate([r[4] for r in rows]) if rows else np.zeros(0, int)
        smoothed = [r[3].copy() for r in rows]
        for tid in np.unique(all_ids):
            where = [(k, int(np.flatnonzero(r[4] == tid)[0])) for k, r in enumerate(rows) if (r[4] == tid).any()]
            k0, k1 = where[0][0], where[-1][0]
            seq = np.full((k1 - k0 + 1, len(JOINTS), 3), np.nan)
            for k, j in where:
                seq[k - k0] = rows[k][3][j]
            if np.isnan(seq).all():
                continue
            seq = smooth_keypoints(seq, width)
            per = track_states(seq, eff_fps) if self.state_model is None else []
            for k, j in where:
                smoothed[k][j] = seq[k - k0]
                if per:
                    states[(k, j)] = per[k - k0]
        return smoothed, states

    def _people_with_parts(self, rows, smoothed: list[np.ndarray], states: dict, info: VideoInfo) -> list[FrameParse]:
        """Per person: the box refined to its keypoints, geometric part boxes with their states."""
        o = self.opts
        frames = []
        for k, (idx, boxes, scores, _kps, ids) in enumerate(rows):
            kps = smoothed[k]
            has = ~np.isnan(kps).any((1, 2))
            kp0 = np.nan_to_num(kps, nan=0.0)
            refined = refine_person_boxes(boxes, kp0, min_conf=o.min_conf, frame_size=(info.width, info.height))
            refined[~has] = boxes[~has]
            pboxes, valid, pscores = part_boxes(kp0, refined, min_conf=o.min_conf,
                                                frame_size=(info.width, info.height))
            persons = []
            for j in range(len(boxes)):
                st = states.get((k, j), {})
                parts = {name: PartDet(name, pboxes[j, q][None], [st.get(name, "none")],
                                       [float(pscores[j, q] * scores[j])])
                         for q, name in enumerate(PARTS) if valid[j, q]}
                persons.append(Person(refined[j], float(scores[j]), int(ids[j]),
                                      kps[j] if has[j] else None, parts))
            frames.append(FrameParse(idx, persons))
        return frames

    def close(self) -> None:
        self.pose.close()


def parse_video(video: str | Path, **options) -> VideoParse:
    """Parse one video or frame folder with :class:`ParseOptions` given as keywords; see the module doc."""
    parser = Parser(**options)
    try:
        return parser.parse(video).parse
    finally:
        parser.close()

"""Part-level action parsing of any video: people, their 10 part boxes with states, tracks, the action.

``parse_video(path) -> VideoParse`` is the Python API; ``parse_to_folder`` writes what
``deeperaction parse`` writes (TPS submission files, parse.json, render.mp4, contact sheet).
Every ``stride``-th frame: BlazePose on the whole frame, HOG boxes for people it missed (pose per crop) --
or, with a trained ``person_model``, top-down: its boxes first, then a pose in each --
person boxes refined to the keypoints, tracking; then per track: keypoint smoothing, kinematic part
states (or ``state_model``), geometric part boxes (replaced by the pose-guided ``part_model``'s where it
is confident). Without ``action_model`` the action is "unknown". ``model_bundle``: a folder of models
(:func:`resolve_bundle`); options given explicitly win over it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError
from deeperaction.perception.detect_person import containment, iou_matrix, load_detector
from deeperaction.perception.parts_from_pose import part_boxes, refine_person_boxes
from deeperaction.perception.states_default import track_states
from deeperaction.perception.track import Tracker, smooth_keypoints
from deeperaction.schema import JOINTS, PARTS, FrameParse, PartDet, Person, VideoParse
from deeperaction.tasks.parse_models import load_plugin, resolve_bundle
from deeperaction.tasks.parse_outputs import list_inputs, merge_submissions, parse_json
from deeperaction.video.reader import VideoInfo, iter_frames, probe

UNKNOWN_ACTION = "unknown"
STAGES = ("decode", "detect", "pose", "track", "states", "parts", "render", "encode", "write")


@dataclass
class ParseOptions:
    """Every knob of the parse pipeline, with its default and unit."""

    stride: int = 5                # parse every k-th frame (Kinetics-TPS annotates every 5th)
    max_people: int = 10           # most people kept per frame, best score first (TPS allows 10)
    device: str = "cpu"            # for torch models (detector weights, state/action models)
    detector: str = "hog"          # extra person detector for small people: "hog", "none" or weights path
    min_pose_score: float = 0.3    # drop poses whose core joints are less confident than this (mean)
    min_box_score: float = 0.55    # drop detector boxes (logistic score) below this when no pose is found
    min_conf: float = 0.3          # keypoint confidence needed for a joint to count
    smooth_s: float = 0.2          # keypoint smoothing window along a track, seconds
    max_frames: int | None = None  # parse only frames < this (None: all)
    work_max_side: int = 1920      # larger frames are downscaled for the models (boxes mapped back)
    max_pixels: int = 8192 * 8192  # refuse frames larger than this (width x height)
    state_model: str | None = None   # trained part-state model (replaces the kinematic rules)
    action_model: str | None = None  # trained action model (else the action is "unknown")
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
        self.action_model = load_plugin(o.action_model, "action", o.device) if o.action_model else None
        self.part_model = load_plugin(o.part_model, "part", o.device) if o.part_model else None
        self.detector = self.person_model or load_detector(o.detector, o.device)
        self.pose = MediapipePose(num_poses=o.max_people)

    def _frame(self, rgb: np.ndarray, t: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """People in one frame: boxes (P, 4), scores (P,), keypoints (P, J, 3) (NaN rows: no pose)."""
        o = self.opts
        t0 = time.perf_counter()
        if self.person_model is None:
            poses = [p for p in self.pose.detect(rgb) if p.score >= o.min_pose_score]
        else:  # top-down: every person comes from the trained detector, a pose is found in each box
            poses = []
        t1 = time.perf_counter()
        t["pose"] += t1 - t0
        kps = [p.keypoints for p in poses]
        boxes = [p.box for p in poses]
        scores = [p.score for p in poses]
        if self.detector is not None and len(poses) < o.max_people:
            dboxes, dscores = self.detector(rgb)
            t2 = time.perf_counter()
            t["detect"] += t2 - t1
            if len(dboxes) and boxes:  # keep boxes of people BlazePose did not find
                b = np.array(boxes)
                covered = (iou_matrix(dboxes, b).max(1) > 0.3) | (containment(dboxes, b).max(1) > 0.5) | \
                          (containment(b, dboxes).max(0) > 0.7)
                dboxes, dscores = dboxes[~covered], dscores[~covered]
            order = np.argsort(-dscores)[: o.max_people - len(poses)]
            dboxes, dscores = dboxes[order], dscores[order]
            found = self.pose.in_boxes(rgb, dboxes) if len(dboxes) else []
            t["pose"] += time.perf_counter() - t2
            for box, score, pr in zip(dboxes, dscores, found):
                if pr is not None and pr.score >= o.min_pose_score and containment(pr.box[None], box[None])[0, 0] > 0.3:
                    kps.append(pr.keypoints)
                    boxes.append(box)
                    scores.append(float(np.sqrt(score * pr.score)))
                elif score >= (o.min_box_score if self.person_model is None else 0.0):  # trained: its own floor
                    kps.append(np.full((len(JOINTS), 3), np.nan))
                    boxes.append(box)
                    scores.append(float(score))
        if not boxes:
            return np.zeros((0, 4)), np.zeros(0), np.zeros((0, len(JOINTS), 3))
        boxes_a, scores_a, kps_a = np.array(boxes, float), np.array(scores, float), np.array(kps, float)
        order = np.argsort(-scores_a, kind="stable")[: o.max_people]
        return boxes_a[order], scores_a[order], kps_a[order]

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
        t = dict.fromkeys(STAGES, 0.0)
        tracker = Tracker()
        rows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        frame_ms: dict[int, float] = {}
        stop = o.max_frames if o.max_frames is not None else None
        decode_stats: dict[str, int] = {}
        t0 = time.perf_counter()
        for idx, rgb in iter_frames(video, stop=stop, step=o.stride, size=size, stats=decode_stats):
            t1 = time.perf_counter()
            t["decode"] += t1 - t0
            boxes, scores, kps = self._frame(rgb, t)
            t2 = time.perf_counter()
            ids = tracker.update(boxes, rgb)  # appearance re-finds people lost for a while
            t3 = time.perf_counter()
            t["track"] += t3 - t2
            boxes, kps = boxes * back, kps * np.array([back[0], back[1], 1.0])
            rows.append((idx, boxes, scores, kps, ids))
            frame_ms[idx] = round((t3 - t1) * 1000, 2)
            if on_frame:
                on_frame(idx)
            t0 = time.perf_counter()
        if not rows:
            raise InputError("no frame could be decoded (empty or truncated video)", file=video)
        expected = min(info.n_frames, stop) if stop is not None else info.n_frames
        decoded = decode_stats.get("decoded", expected)  # frame folders: their listing is the count
        warnings = []
        if expected - decoded >= max(2, 0.01 * expected):
            warnings.append(f"{video}: decoded {decoded} of the {info.n_frames} frames its header declares "
                            f"(truncated or corrupt video); parsed what decoded")
        parse = self._assemble(rows, info, video_id or video.stem, t)
        if self.part_model is not None:  # part boxes first: the state model reads them
            t4 = time.perf_counter()
            self.part_model.predict_parts(video, parse)
            t["parts"] += time.perf_counter() - t4
        if self.state_model is not None:
            t4 = time.perf_counter()
            self.state_model.predict_states(video, parse)
            t["states"] += time.perf_counter() - t4
        if self.action_model is not None:
            scores = self.action_model.predict_action(video, parse)
            parse.action_scores = {k: float(v) for k, v in scores.items()}
            parse.action = max(scores, key=scores.get) if scores else UNKNOWN_ACTION
        return ParseRun(parse, info, t, frame_ms, decoded, warnings)

    def _assemble(self, rows, info: VideoInfo, video_id: str, t: dict) -> VideoParse:
        """Per track: smooth keypoints, part states; per person: refined box and part boxes."""
        o = self.opts
        t0 = time.perf_counter()
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
        t1 = time.perf_counter()
        t["states"] += t1 - t0
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
        t["parts"] += time.perf_counter() - t1
        return VideoParse(video_id, info.fps, (info.width, info.height), frames, UNKNOWN_ACTION, {})

    def close(self) -> None:
        self.pose.close()


def parse_to_folder(inputs: str | Path, out: str | Path, options: ParseOptions | None = None, *,
                    render: bool = True, shard: tuple[int, int] = (0, 1),
                    on_video: Callable[[Path, int], Callable[[int], None] | None] | None = None,
                    on_error: Callable[[InputError], None] | None = None,
                    on_warning: Callable[[str], None] | None = None) -> dict:
    """Parse a video, frame folder, or folder of them into ``out`` (see ``deeperaction parse --help``).

    A folder of videos gets one sub-folder per video and merged submission files at ``out``; a video of
    the folder that fails is reported through ``on_error`` and skipped (``failed`` in the summary);
    ``on_warning`` hears of videos parsed with a problem (a truncated file). Returns a summary dict.
    """
    import json

    from deeperaction.formats.kinetics_tps import write_tps
    from deeperaction.video.render import render_video

    videos, single = list_inputs(inputs)
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise InputError(f"shard must be i/n with 0 <= i < n, got {i}/{n}")
    mine = videos[i::n]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    parser = Parser(options)
    summary = {"videos": 0, "failed": 0, "frames": 0, "parsed_frames": 0, "tracks": 0, "seconds": 0.0,
               "timings": dict.fromkeys(STAGES, 0.0), "out": str(out), "inputs": len(videos),
               "shard_videos": len(mine)}
    if not mine:
        return summary
    summary["timings"]["load"] = time.perf_counter() - t_start  # models loaded once per run
    try:
        for video in mine:
            dest = out if single else out / video.stem
            try:
                info = probe(video)
                cb = on_video(video, info.n_frames) if on_video else None
                run = parser.parse(video, on_frame=cb)
            except InputError as e:
                if single or on_error is None:
                    raise
                summary["failed"] += 1
                on_error(e)
                continue
            t = run.timings
            for w in run.warnings:
                if on_warning is not None:
                    on_warning(w)
            dest.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            write_tps(dest, {run.parse.video_id: run.parse}, kind="pred")
            (dest / "parse.json").write_text(json.dumps(parse_json(run, parser.opts.stride)))
            t["write"] += time.perf_counter() - t0
            if render:
                render_video(video, run.parse, dest / "render.mp4", stop=parser.opts.max_frames,
                             sheet_path=dest / "contact_sheet.png", timings=t)
                (dest / "parse.json").write_text(json.dumps(parse_json(run, parser.opts.stride)))
            summary["videos"] += 1
            summary["frames"] += min(info.n_frames, parser.opts.max_frames or info.n_frames)
            summary["parsed_frames"] += len(run.parse.frames)
            summary["tracks"] += len({p.track_id for f in run.parse.frames for p in f.persons})
            for k, v in t.items():
                summary["timings"][k] += v
    finally:
        parser.close()
    if not single and summary["videos"]:
        merge_submissions(out)
    summary["seconds"] = time.perf_counter() - t_start
    return summary


def parse_video(video: str | Path, **options) -> VideoParse:
    """Parse one video or frame folder with :class:`ParseOptions` given as keywords; see the module doc."""
    parser = Parser(**options)
    try:
        return parser.parse(video).parse
    finally:
        parser.close()

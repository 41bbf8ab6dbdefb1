"""Spatio-temporal action detection of any video: action tubes of people (``deeperaction detect``).

Offline default: people first from the person detector shipped in the package (trained on rendered crowded
synthetic scenes, ``scripts/train_detect_person.py``), a pose in each of its boxes, then BlazePose's whole-frame
poses and HOG's boxes of the people it missed (real footage's people, whom it never saw), the same checks and
tracker as ``parse``; each track's action probabilities over time from the skeleton action model shipped in
the package (windows every ``hop_s`` along the track) or from a trained ``stad`` RGB model (``action_model``:
each tracked person scored every ``hop_s`` seconds, :mod:`deeperaction.tasks.stad_predictor`), then tubes by
smoothing, labelling each track by Viterbi and cutting the longest continuous runs (:mod:`deeperaction.tasks.tubes`).
``detect_video(path) -> DetectRun`` is the Python API; :func:`deeperaction.tasks.detect_outputs.detect_to_folder`
writes what the command writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deeperaction.datasets.clips import interpolate_boxes
from deeperaction.errors import InputError
from deeperaction.perception.person_finders import nms
from deeperaction.schema import Tube, VideoParse
from deeperaction.tasks.action_predictors import DETECT_ENSEMBLE, DETECT_MODEL
from deeperaction.tasks.parse import ParseOptions, Parser, ParseRun
from deeperaction.tasks.stopwatch import Stopwatch
from deeperaction.tasks.tubes import TubeOptions, smooth_curves, span_unseen, track_tubes

FrameDet = tuple[int, int, int, float, np.ndarray]
"""A frame detection: ``(track_id, frame, class index, score, box)``."""

DETECT_PERSON_MODEL = DETECT_MODEL.with_name("detect_person.pt")
"""``detect``'s default person detector (``scripts/train_detect_person.py``)."""


@dataclass
class DetectOptions:
    """Every knob of ``detect``: how people are found (as ``parse``), how actions are scored and tubes cut."""

    stride: int = 2                  # find people and poses every k-th frame (poses are interpolated between)
    max_people: int = 10             # most people per frame
    max_frames: int | None = None    # only the first N frames
    device: str = "cpu"              # for torch models
    detector: str = "hog"            # extra person detector (as parse --detector)
    person_model: str | None = None  # trained person detector, its people first; None: the shipped
                                     # detect_person.pt; "none": BlazePose + HOG alone (as parse)
    person_model_only: bool = False  # True: it alone finds people (top-down, as parse --person-model)
    action_model: str | None = None  # skeleton action model or ensemble file; None: the shipped
                                     # detect_skeleton.json (two skeleton models averaged)
    hop_s: float = 0.2               # an action window every this many seconds along each track
    frame_top_k: int = 10            # frame detections: each tracked person's k best classes at every frame ...
    frame_min_score: float = 0.001   # ... that score at least this (lower-scored detections can only add to
                                     # a class's AP: these bound the file size)
    box_score_power: float = 2.0     # a frame detection scores its smoothed probability times the person's
                                     # detection score (interpolated between parsed frames) to this power ...
    unseen_weight: float = 0.5       # ... times this where the tracker did not see the person (the box drawn
                                     # across): how sure the box is, as well as the action (docs/detect.md)
    frame_nms_iou: float = 0.5       # a frame detection whose box overlaps a higher-scored one of the same class
    frame_nms_decay: float = 0.1     # at that frame by more than this IoU scores this much of itself (two tracks
                                     # on one person count it once; a real second person there still counts)
    tubes: TubeOptions = field(default_factory=TubeOptions)


@dataclass
class DetectRun:
    """One video's detection: the tubes with their track ids, the parse they came from, per-stage seconds."""

    tubes: list[tuple[int, Tube]]
    frame_dets: list[FrameDet]
    parse: VideoParse
    run: ParseRun
    classes: list[str]
    timings: dict[str, float]


class Detector:
    """Holds the loaded models so that many videos reuse them: ``Detector(opts).detect(path)``."""

    def __init__(self, options: DetectOptions | None = None):
        from deeperaction.tasks.parse_models import load_plugin

        self.opts = o = options or DetectOptions()
        if o.stride < 1 or o.max_people < 1 or o.hop_s <= 0 or o.frame_top_k < 1:
            raise InputError(f"stride, max_people and frame_top_k must be >= 1 and hop_s > 0 (got {o.stride}, "
                             f"{o.max_people}, {o.frame_top_k}, {o.hop_s})")
        if o.action_model and _model_kind(o.action_model) == "stad":  # a trained RGB detector (train stad)
            from deeperaction.tasks.stad_predictor import StadPredictor

            self.action = StadPredictor(o.action_model, o.device)
        else:
            self.action = load_plugin(o.action_model or str(DETECT_ENSEMBLE), "action", o.device)
        if not getattr(self.action, "per_track", False):
            raise InputError("detect needs a skeleton action model that classifies tracks (one that names its frame"
                             " rate, as the shipped model does)", file=o.action_model)
        self.classes = list(self.action.classes)
        self.person_model = (None if o.person_model == "none" else o.person_model or str(DETECT_PERSON_MODEL))
        self.parser = Parser(ParseOptions(stride=o.stride, max_people=o.max_people, max_frames=o.max_frames,
                                          device=o.device, detector=o.detector, person_model=self.person_model,
                                          person_model_only=o.person_model_only,
                                          action_model="none"))

    def detect(self, video: str | Path, *, on_frame=None) -> DetectRun:
        """Tubes of one video (file or frame folder)."""
        run = self.parser.parse(video, on_frame=on_frame)
        watch = Stopwatch(("action", "tubes"))
        vp = run.parse
        with watch("action"):
            curves = self.action.track_curves(vp, self.opts.hop_s, video=video)
        with watch("tubes"):
            tubes, dets = curves_to_tubes(vp, curves, self.classes, self.opts)
        return DetectRun(tubes, dets, vp, run, self.classes, {**run.timings, **watch.seconds})

    def close(self) -> None:
        self.parser.close()


def _model_kind(path: str) -> str | None:
    """The ``kind`` a model file names (None for anything else: the action loader then says what is wrong)."""
    from deeperaction.models.checkpoint import load_checkpoint

    p = Path(path)
    if not p.is_file() or p.suffix == ".json":
        return None
    try:
        ck = load_checkpoint(p)
    except Exception:  # noqa: BLE001 - not a model file: reported by the action loader
        return None
    return ck.get("kind") if isinstance(ck, dict) else None


def curves_to_tubes(parse: VideoParse, curves: dict[int, tuple[np.ndarray, np.ndarray]], classes: list[str],
                    opts: DetectOptions) -> tuple[list[tuple[int, Tube]], list[FrameDet]]:
    """The tubes and frame detections of every track from its action curves ``{track_id: (frames, probs)}``:
    the scores of the frames where the tracker did not see the person are drawn straight across from the seen
    ones (windows there classify interpolated keypoints or boxes on whatever is in front), and give the tube
    labelling no evidence. A frame detection's score is also weighted by how sure its box is
    (:func:`box_confidence`)."""
    fps = parse.fps or 25.0
    boxes, seen_at, person_scores = track_boxes(parse), track_seen(parse), track_scores(parse)
    tubes, dets = [], []
    for tid, (frames, probs) in sorted(curves.items()):
        b, seen = boxes[tid](frames), seen_at(tid, frames)
        tubes += track_tubes(parse.video_id, tid, frames, b, probs, classes, fps, opts.tubes, seen)
        scores = person_scores[tid](frames) if tid in person_scores else np.ones(len(frames))  # no pose: unknown
        conf = box_confidence(scores, seen, opts)
        dets += frame_detections(tid, frames, b, span_unseen(probs, seen), classes, fps, opts, conf)
    return tubes, suppress_duplicates(dets, opts.frame_nms_iou, opts.frame_nms_decay)


def suppress_duplicates(dets: list[FrameDet], iou: float, decay: float) -> list[FrameDet]:
    """Soft per-class non-maximum suppression of frame detections across tracks: at each frame, the detections of
    a class that greedy NMS at ``iou`` (:func:`deeperaction.perception.person_finders.nms`, no containment rule)
    would drop score ``decay`` times their score (two tracks on one person would count one person twice, the
    second as a false positive; pooled synthetic frame-mAP@0.5 67.8 -> 68.1). Order kept; ``decay`` 1 is off."""
    if decay >= 1.0 or len(dets) < 2:
        return dets
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (_, f, c, _, _) in enumerate(dets):
        groups.setdefault((f, c), []).append(i)
    out = list(dets)
    for idx in groups.values():
        if len(idx) < 2:
            continue
        kept = set(nms(np.stack([dets[i][4] for i in idx]), np.array([dets[i][3] for i in idx]), iou,
                       contain=np.inf).tolist())
        for k, i in enumerate(idx):
            if k not in kept:
                tid, f, c, sc, b = dets[i]
                out[i] = (tid, f, c, sc * decay, b)
    return out


def box_confidence(person_scores: np.ndarray, seen: np.ndarray, opts: DetectOptions) -> np.ndarray:
    """How sure each frame's track box is ``(n,)``: the person detector's score to ``box_score_power``, times
    ``unseen_weight`` where the tracker did not see the person. The frame-mAP ranks (box, action) pairs: the
    person detector's doubtful boxes and the boxes drawn across a missed stretch are more often off the person
    (IoU < 0.5), so ranking them lower raises every class's AP (pooled synthetic frame-mAP@0.5 66.3 -> 67.8,
    docs/detect.md)."""
    s = np.clip(np.asarray(person_scores, np.float64), 0.0, 1.0) ** opts.box_score_power
    return s * np.where(np.asarray(seen, bool), 1.0, opts.unseen_weight)


def frame_detections(track_id: int, frames: np.ndarray, boxes: np.ndarray, probs: np.ndarray, classes: list[str],
                     fps: float, opts: DetectOptions, box_conf: np.ndarray) -> list[FrameDet]:
    """Per-frame detections of one track for the frame-mAP: at every frame its ``frame_top_k`` best action
    classes (smoothed as the tubes are; "none" left out), each with the track's box, scored by the smoothed
    probability times ``box_conf (n,)`` (how sure the box is, :func:`box_confidence`) and kept when
    that is at least ``frame_min_score``. Rows ``(track_id, frame, class index into classes, score, box)``."""
    keep = np.array([i for i, c in enumerate(classes) if c != "none"])
    sm = smooth_curves(np.asarray(probs, np.float64)[:, keep], fps, opts.tubes) * np.asarray(box_conf)[:, None]
    k = min(opts.frame_top_k, sm.shape[1])
    top = np.argsort(-sm, axis=1, kind="stable")[:, :k]
    out = []
    for r, f in enumerate(frames):
        if not np.isfinite(boxes[r]).all():
            continue
        for c in top[r]:
            if sm[r, c] >= opts.frame_min_score:
                out.append((track_id, int(f), int(keep[c]), float(sm[r, c]), boxes[r]))
    return out


def track_boxes(parse: VideoParse):
    """``{track_id: boxes_at(frames) -> (n, 4)}``: each track's boxes interpolated between its parsed frames."""
    seen: dict[int, tuple[list[int], list[np.ndarray]]] = {}
    for fp in parse.frames:
        for p in fp.persons:
            f, b = seen.setdefault(p.track_id, ([], []))
            f.append(fp.frame)
            b.append(p.box)

    def at(frames_boxes):
        f, b = np.array(frames_boxes[0]), np.array(frames_boxes[1])

        def boxes_at(frames: np.ndarray) -> np.ndarray:
            out = interpolate_boxes(f - frames[0], b, len(frames))
            return out
        return boxes_at

    return {tid: at(v) for tid, v in seen.items()}


def track_scores(parse: VideoParse):
    """``{track_id: scores_at(frames) -> (n,)}``: each track's person-detection scores at its parsed frames with a
    pose, linear between them and held at its ends (a box in which no pose was found scores nothing here: on
    synthetic videos, reading those boxes' scores too ranked frames worse, frame-mAP@0.5 79.8 -> 79.3)."""
    seen: dict[int, tuple[list[int], list[float]]] = {}
    for fp in parse.frames:
        for p in fp.persons:
            if p.keypoints is not None:
                f, sc = seen.setdefault(p.track_id, ([], []))
                f.append(fp.frame)
                sc.append(float(p.score))

    def at(f: list[int], sc: list[float]):
        return lambda frames: np.interp(np.asarray(frames, np.float64), f, sc)

    return {tid: at(*v) for tid, v in seen.items()}


def track_seen(parse: VideoParse):
    """``seen(track_id, frames) -> (n,) bool``: True at the frames next to a parsed frame where the track has
    keypoints (the parsed frame itself, and the frames between it and the neighbouring parsed frames); False
    inside the stretches where parsed frames went by without it. ``parse.frames`` holds every parsed frame,
    empty ones too (as ``Parser`` and the generator's export write them)."""
    parsed = np.array(sorted({fp.frame for fp in parse.frames}), np.int64)
    has: dict[int, set[int]] = {}
    for fp in parse.frames:
        for p in fp.persons:
            if p.keypoints is not None:
                has.setdefault(p.track_id, set()).add(fp.frame)

    def seen(track_id: int, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, np.int64)
        on = has.get(track_id, set())
        if len(parsed) == 0 or not on:
            return np.zeros(len(frames), bool)
        found = np.array([f in on for f in parsed.tolist()])
        after = np.searchsorted(parsed, frames, side="left")  # first parsed frame >= f
        before = np.searchsorted(parsed, frames, side="right") - 1  # last parsed frame <= f
        ok_after = (after < len(parsed)) & found[np.minimum(after, len(parsed) - 1)]
        ok_before = (before >= 0) & found[np.maximum(before, 0)]
        return ok_after | ok_before
    return seen


def detect_video(video: str | Path, **options) -> DetectRun:
    """Detect the action tubes of one video with :class:`DetectOptions` given as keywords."""
    det = Detector(DetectOptions(**options))
    try:
        return det.detect(video)
    finally:
        det.close()

"""Part-level action parsing of any video: people, their 10 part boxes with states, tracks, the action.

``parse_video(path) -> VideoParse`` is the Python API; :func:`deeperaction.tasks.parse_folder.parse_to_folder`
writes what ``deeperaction parse`` writes (TPS submission files, parse.json, render.mp4, contact sheet).
Every ``stride``-th frame: BlazePose on the whole frame, HOG boxes for people it missed (pose per crop) --
or, with a trained ``person_model``, top-down: its boxes first, then a pose in each (``person_model_only``
False: then BlazePose and HOG as above for the people it missed) -- each candidate judged
(does its pose look like a body; its probability of being a person, :mod:`deeperaction.perception.plausibility`),
tracking that ends every track at a shot cut (:mod:`deeperaction.perception.shot_cuts`); after the last frame
only tracks that persist and move like a body are kept (:mod:`deeperaction.perception.track_evidence`), each
person's score becoming the probability that it is a person given its frame and its track. Then per track:
keypoint smoothing, kinematic part states (or ``state_model``), geometric part boxes (replaced by the
pose-guided ``part_model``'s where it is confident). The action of the video and of each track: the skeleton
model shipped in the package unless ``action_model`` names another ("none": no action, reported as "unknown").
``model_bundle``: a folder of models (:func:`resolve_bundle`); options given explicitly win over it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from deeperaction.errors import InputError
from deeperaction.perception.person_finders import containment, iou_matrix, load_detector
from deeperaction.perception.plausibility import body_terms, person_probability, track_probability
from deeperaction.perception.pose import PoseResult
from deeperaction.perception.parts_from_pose import part_boxes, refine_person_boxes
from deeperaction.perception.shot_cuts import ShotCuts
from deeperaction.perception.states_default import track_states
from deeperaction.perception.track import Tracker, smooth_keypoints
from deeperaction.perception.track_evidence import TrackEvidence, track_evidence
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
    keep_unposed: bool = False     # HOG boxes in which no pose is found are people too (far pedestrians)
    min_box_score: float = 0.55    # ... if their (logistic) score is at least this (a trained detector's: any)
    plausibility: bool = True      # a pose must look like a body (perception/plausibility.py) to be a person
    min_person_score: float = 0.3  # a candidate's probability of being a person (this frame alone) to be tracked
    min_track_frames: int = 3      # a track is kept when seen in this many parsed frames in a row (one missed
                                   # frame allowed between two), or in every parsed frame of a shorter shot ...
    min_track_s: float = 0.4       # ... or in a row spanning this many seconds when that takes fewer frames
    max_body_change: float = 0.2   # a track whose body size changes more than this between poses (median |log|)
                                   # is not a body
    look_again: bool = True        # look for a pose where a track expects its person and no detector found one
    shot_cuts: bool = True         # find shot cuts; every track ends at one
    cut_hist: float = 0.03         # a cut: colour histogram distance to the previous frame at least this ...
    cut_diff: float = 28.0         # ... and mean absolute luma difference at least this (0-255)
    record_candidates: bool = False  # keep every candidate with its terms and fate in ParseRun.candidates
    covered_iou: float = 0.3       # a detector box overlapping a whole-frame pose's box this much (IoU) is that person
    covered_share: float = 0.5     # ... or lying this much inside it
    covers_share: float = 0.7      # ... or holding this much of it (a loose box around the same person)
    pose_in_box: float = 0.3       # a pose found in a detector box must lie this much inside the box
    min_own_height: float = 24.0   # ... and if the box is far larger, its joints span this many pixels to count alone
    min_conf: float = 0.3          # keypoint confidence needed for a joint to count
    smooth_s: float = 0.2          # keypoint smoothing window along a track, seconds
    max_frames: int | None = None  # parse only frames < this (None: all)
    work_max_side: int = 1920      # larger frames are downscaled for the models (boxes mapped back)
    max_pixels: int = 8192 * 8192  # refuse frames larger than this (width x height)
    state_model: str | None = None   # trained part-state model (replaces the kinematic rules)
    action_model: str | None = None  # action model file; None: the shipped skeleton model; "none": no action
    part_model: str | None = None    # trained pose-guided part detector (else geometric part boxes)
    person_model: str | None = None  # trained person detector: people top-down (replaces BlazePose's + `detector`)
    person_model_only: bool = True   # False: BlazePose's whole-frame poses and `detector` add the people it missed
                                     # (its boxes without a pose come last and need a pose in their track)
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
    cuts: list[int] = field(default_factory=list)  # first frame of every new shot
    candidates: list[dict] = field(default_factory=list)  # with ParseOptions.record_candidates: every candidate
    dropped: dict[str, int] = field(default_factory=dict)  # people left out, by reason


class _Row(NamedTuple):
    """One parsed frame's people: boxes (P, 4), scores (P,), keypoints (P, J, 3) (NaN rows: no pose), track
    ids (P,), body sizes (P,) (NaN: no pose) and the frame's shot."""

    idx: int
    boxes: np.ndarray
    scores: np.ndarray
    kps: np.ndarray
    ids: np.ndarray
    scales: np.ndarray
    shot: int


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
        if o.stride < 1 or o.max_people < 1 or o.min_track_frames < 1:
            raise InputError(f"stride, max_people and min_track_frames must be >= 1 (got {o.stride}, {o.max_people},"
                             f" {o.min_track_frames})")
        if not 0.0 <= o.min_person_score <= 1.0:
            raise InputError(f"min_person_score must be in [0, 1] (got {o.min_person_score})")
        from deeperaction.perception.pose import MediapipePose

        # the user's model files first: a bad one fails before the (slower) pose model loads
        self.person_model = load_plugin(o.person_model, "person", o.device) if o.person_model else None
        self.state_model = load_plugin(o.state_model, "state", o.device) if o.state_model else None
        action = o.action_model if o.action_model is not None else "default"
        self.action_model = None if action == "none" else load_plugin(action, "action", o.device)
        self.part_model = load_plugin(o.part_model, "part", o.device) if o.part_model else None
        self.detector = (self.person_model if o.person_model_only and self.person_model is not None
                         else load_detector(o.detector, o.device))
        self.pose = MediapipePose(num_poses=o.max_people)

    def _frame(self, rgb: np.ndarray, watch: Stopwatch, seen: list[dict] | None = None,
               expected: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """People in one frame: boxes (P, 4), per-frame probabilities (P,), keypoints (P, J, 3) (NaN rows: no
        pose), body sizes (P,). ``expected``: boxes where tracked people should be; where no candidate lies,
        a pose is looked for in them (people the detectors missed: behind a sign, beside another). Every
        candidate judged is appended to ``seen`` if given."""
        people: list[tuple] = []
        late: list[tuple] = []  # a person model's boxes without a pose (hybrid): people only where nobody else is
        if self.person_model is not None and not self.opts.person_model_only:  # its people first, then the rest
            late = self._add_detected(rgb, self.person_model, "model", people, watch, seen)
        with watch("pose"):
            poses = self._whole_frame_poses(rgb)
        with watch("checks"):
            for q in (self._judge(p.box, None, p, seen) for p in poses):
                if q is not None and not self._duplicate(q[0], [r[0] for r in people]):
                    people.append(q)
        if self.detector is not None:
            self._add_detected(rgb, self.detector, "model" if self.detector is self.person_model else "hog", people,
                               watch, seen)
        with watch("checks"):
            for b, sc in late:
                if len(people) < self.opts.max_people and not self._duplicate(b, [q[0] for q in people]):
                    q = self._judge(b, sc, None, seen, kind="model")
                    if q is not None:
                        people.append(q)
        if expected and len(people) < self.opts.max_people:
            boxes = self._missing(rgb, expected, [q[0] for q in people])
            with watch("pose"):
                found = self._poses_in_boxes(rgb, boxes, retry=False)
            with watch("checks"):
                for b, pr in zip(boxes, found):
                    if pr is None or self._duplicate(pr.box, [q[0] for q in people]):
                        continue
                    q = self._judge(pr.box, None, pr, seen, fit_box=b)
                    if q is not None:
                        people.append(q)
        return self._best_people(people)

    def _add_detected(self, rgb: np.ndarray, detector, kind: str, people: list[tuple], watch: Stopwatch,
                      seen: list[dict] | None) -> list[tuple[np.ndarray, float]]:
        """Append to ``people`` the people of ``detector``'s boxes that no one in ``people`` covers, a pose
        looked for in each box (``kind``: "hog" or a trained "model", for the person probability). A person
        model's boxes next to BlazePose and HOG (``person_model_only`` False) whose crop shows no pose are
        returned ``(box, score)`` instead: a model trained on other footage may draw one box around several
        people, which would hide them from the other finders."""
        late: list[tuple[np.ndarray, float]] = []
        if len(people) >= self.opts.max_people:
            return late
        with watch("detect"):
            boxes, scores = self._boxes_not_posed(rgb, detector, [q[0] for q in people], len(people))
        with watch("pose"):
            found = self._poses_in_boxes(rgb, boxes)
        with watch("checks"):
            for b, sc, pr in zip(boxes, scores, found):
                if kind == "model" and not self.opts.person_model_only and pr is None:
                    late.append((b, float(sc)))
                    continue
                q = self._judge(b, float(sc), pr, seen, kind=kind)
                if q is None and self._own_box(pr, b, [q[0] for q in people]):
                    q = self._judge(pr.box, None, pr, seen)  # the person the pose found, not the box around two
                if q is not None:
                    people.append(q)
        return late

    def _own_box(self, pose: PoseResult | None, box: np.ndarray, others: list[np.ndarray]) -> bool:
        """Whether a pose found in a detector box that its joints do not fit (a box around two far people, or
        around one and the street) is worth judging on its own: a body at least ``min_own_height`` pixels tall,
        not a person already found."""
        if pose is None:
            return False
        t = body_terms(pose.keypoints, box, self.opts.min_conf)
        pb = pose.box
        return (t.fill < 0.3 and t.chain >= 5 and pb[3] - pb[1] >= self.opts.min_own_height
                and not self._duplicate(pb, others))

    @staticmethod
    def _duplicate(box: np.ndarray, others: list[np.ndarray]) -> bool:
        """Whether ``box`` is a person already among ``others`` (overlapping, inside or around one)."""
        if not others:
            return False
        b, o = np.asarray(box, float)[None], np.asarray(others, float)
        return bool(iou_matrix(b, o).max() > 0.3 or containment(b, o).max() > 0.5 or containment(o, b).max() > 0.5)

    def _missing(self, rgb: np.ndarray, expected: list[np.ndarray], found: list[np.ndarray]) -> np.ndarray:
        """Where tracked people are expected (their tracks' predicted boxes) but no candidate of this frame
        lies: the boxes, grown by 10 %, inside the frame, at most as many as places are left."""
        o = self.opts
        h, w = rgb.shape[:2]
        e = np.asarray(expected, float).reshape(-1, 4)
        c, half = (e[:, :2] + e[:, 2:]) / 2, (e[:, 2:] - e[:, :2]) * 0.55
        e = np.concatenate([c - half, c + half], 1)
        frame = np.array([[0.0, 0.0, w, h]])
        keep = containment(e, frame)[:, 0] >= 0.6  # most of it in the frame (not walking out)
        if found:
            f = np.asarray(found, float)
            keep &= ((iou_matrix(e, f).max(1) < 0.3) & (containment(e, f).max(1) < 0.5)
                     & (containment(f, e).max(0) < 0.5))
        e = np.clip(e[keep], 0, [w, h, w, h])
        return e[: max(0, o.max_people - len(found))]

    def _judge(self, box: np.ndarray, det: float | None, pose: PoseResult | None, seen: list[dict] | None,
               fit_box: np.ndarray | None = None, kind: str = "hog"):
        """``(box, probability, keypoints, body size)`` of a candidate that may be a person, else None: a pose
        must look like a body (:meth:`BodyTerms.ok`) and the candidate's probability reach ``min_person_score``;
        a detector box without a pose needs ``min_box_score`` (a trained detector: any score), and is a person
        only in a track that its poses confirm (``keep_unposed`` or a trained detector alone: on its own).
        ``kind``: the detector of ``det`` ("hog" or a trained "model")."""
        o = self.opts
        if pose is not None:
            terms = body_terms(pose.keypoints, fit_box if fit_box is not None else box if det is not None else None,
                               o.min_conf)
            p = person_probability(terms, pose.score, det, kind)
            body = terms.ok() or not o.plausibility
            keep, why = body and p >= o.min_person_score, "low score" if body else "implausible pose"
            out = (box, p, pose.keypoints, terms.scale)
        else:
            terms = None
            p = person_probability(None, None, det, kind)
            floor = o.min_box_score if kind == "hog" else 0.0
            keep = det is not None and det >= floor  # unless keep_unposed: only in a track with poses (_keep_tracks)
            why = "no pose"
            out = (box, p, np.full((len(JOINTS), 3), np.nan), np.nan)
        if seen is not None:
            seen.append({"box": np.asarray(box, float).copy(), "det": det, "pose": None if pose is None else pose.score,
                         "keypoints": None if pose is None else pose.keypoints.copy(), "terms": terms, "p": p,
                         "kept": bool(keep), "reason": None if keep else why})
        if not keep:
            self._dropped[why] = self._dropped.get(why, 0) + 1
        return out if keep else None

    def _whole_frame_poses(self, rgb: np.ndarray) -> list[PoseResult]:
        """BlazePose on the whole frame (bottom-up), confident poses only; none top-down (a trained person
        detector alone finds every person, a pose is then looked for in each box)."""
        if self.person_model is not None and self.opts.person_model_only:
            return []
        return [p for p in self.pose.detect(rgb) if p.score >= self.opts.min_pose_score]

    def _boxes_not_posed(self, rgb: np.ndarray, detector, posed: list[np.ndarray],
                         n_people: int) -> tuple[np.ndarray, np.ndarray]:
        """``detector``'s boxes of people not yet found (boxes ``posed``; a box overlapping one, inside it or
        around it is that person), best first, as many as places are left."""
        o = self.opts
        boxes, scores = detector(rgb)
        if len(boxes) and posed:
            b = np.array(posed)
            covered = ((iou_matrix(boxes, b).max(1) > o.covered_iou) | (containment(boxes, b).max(1) > o.covered_share)
                       | (containment(b, boxes).max(0) > o.covers_share))
            boxes, scores = boxes[~covered], scores[~covered]
        order = np.argsort(-scores)[: o.max_people - n_people]
        return boxes[order], scores[order]

    def _poses_in_boxes(self, rgb: np.ndarray, boxes: np.ndarray, retry: bool = True) -> list[PoseResult | None]:
        """The pose of the person in each box (None where no confident pose lies inside it), from a crop whose
        columns beside the box are masked (on vtest.avi 92 % of HOG's boxes get their own pose, against 77 %
        with the plain crop, where the pose found was often the neighbour's), then (``retry``), where that
        finds none, from a wider crop and mask (97 %)."""
        o = self.opts
        if not len(boxes):
            return []

        def inside(pr: PoseResult | None, box: np.ndarray) -> bool:
            return (pr is not None and pr.score >= o.min_pose_score
                    and containment(pr.box[None], box[None])[0, 0] > o.pose_in_box)

        found = list(self.pose.in_boxes(rgb, boxes))
        again = [k for k, (pr, b) in enumerate(zip(found, boxes)) if not inside(pr, b)] if retry else []
        if again:
            for k, pr in zip(again, self.pose.in_boxes(rgb, boxes[again], pad=0.5, mask_grow=0.3)):
                found[k] = pr
        return [pr if inside(pr, b) else None for pr, b in zip(found, boxes)]

    def _best_people(self, people: list[tuple]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """At most ``max_people``, best score first (ties keep their order): boxes, scores, keypoints, sizes."""
        if not people:
            return np.zeros((0, 4)), np.zeros(0), np.zeros((0, len(JOINTS), 3)), np.zeros(0)
        boxes = np.array([p[0] for p in people], float)
        scores = np.array([p[1] for p in people], float)
        kps = np.array([p[2] for p in people], float)
        scales = np.array([p[3] for p in people], float)
        order = np.argsort(-scores, kind="stable")[: self.opts.max_people]
        return boxes[order], scores[order], kps[order], scales[order]

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
        rows: list[_Row] = []
        frame_ms: dict[int, float] = {}
        stop = o.max_frames if o.max_frames is not None else None
        decode_stats: dict[str, int] = {}
        cuts = ShotCuts(o.cut_hist, o.cut_diff)
        cut_s = [0.0]

        def thumbs(index: int, yuv: np.ndarray) -> None:  # every decoded frame, before it is yielded
            t0 = time.perf_counter()
            cuts.update(index, yuv)
            cut_s[0] += time.perf_counter() - t0

        self._dropped: dict[str, int] = {}
        seen: list[dict] | None = [] if o.record_candidates else None
        shot = 0
        for idx, rgb in iter_frames(video, stop=stop, step=o.stride, size=size, stats=decode_stats,
                                    thumbs=thumbs if o.shot_cuts else None):
            watch.lap("decode")
            watch.seconds["decode"] -= cut_s[0]  # the cut detector's share of the decoding lap is its own
            watch.seconds["checks"] += cut_s[0]
            cut_s[0] = 0.0
            t1 = time.perf_counter()
            n_seen = len(seen) if seen is not None else 0
            if cuts.shot_of(idx) != shot:
                shot = cuts.shot_of(idx)
                tracker.cut()  # a new shot: nobody of the last one is in it
            expected = [b for _, b in tracker.predictions()] if o.look_again else None
            boxes, scores, kps, scales = self._frame(rgb, watch, seen, expected)
            with watch("track"):
                ids = tracker.update(boxes, rgb)  # appearance re-finds people lost for a while
            if seen is not None:
                for c in seen[n_seen:]:
                    c["frame"], c["shot"] = idx, shot
                    c["track_id"] = next((int(i) for b, i in zip(boxes, ids)
                                          if c["kept"] and np.array_equal(b, c["box"])), None)
            boxes, kps = boxes * back, kps * np.array([back[0], back[1], 1.0])
            rows.append(_Row(idx, boxes, scores, kps, ids, scales, shot))
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
        with watch("checks"):
            rows, evidence = self._keep_tracks(rows, info.fps)
        if seen is not None:
            for c in seen:
                ev = evidence.get(c["track_id"]) if c["track_id"] is not None else None
                c["evidence"] = ev[0] if ev else None
                c["new_id"] = ev[1] if ev else None
        with watch("states"):
            smoothed, states = self._smooth_tracks(rows, info)
        with watch("parts"):
            parse = VideoParse(video_id or video.stem, info.fps, (info.width, info.height),
                               self._people_with_parts(rows, smoothed, states, info), UNKNOWN_ACTION, {},
                               cuts=list(cuts.cuts))
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
        return ParseRun(parse, info, watch.seconds, frame_ms, decoded, warnings, list(cuts.cuts), seen or [],
                        dict(self._dropped))

    def _keep_tracks(self, rows: list[_Row],
                     fps: float) -> tuple[list[_Row], dict[int, tuple[TrackEvidence, int | None]]]:
        """The rows with only the people of tracks that persist (``min_track_frames``, ``min_track_s``) and move
        like a body (``max_body_change``), ids renumbered 0, 1, ... in order of appearance, each score the
        probability of a person given the frame's and the track's evidence. Also ``{old id: (evidence, new id
        or None)}``."""
        o = self.opts
        shot_rows = np.bincount([r.shot for r in rows])
        step_s = o.stride / fps if fps > 0 else 0.0
        need = o.min_track_frames  # parsed frames far apart: the frames of min_track_s are enough
        if step_s > 0:
            need = min(need, 1 + int(np.ceil(o.min_track_s / step_s - 1e-9)))
        where: dict[int, list[tuple[int, int]]] = {}
        for k, r in enumerate(rows):
            for j, tid in enumerate(r.ids):
                where.setdefault(int(tid), []).append((k, j))
        evidence: dict[int, tuple[TrackEvidence, int | None]] = {}
        new_id: dict[int, int] = {}
        alone = self.person_model is not None and o.person_model_only
        posed_only = not (o.keep_unposed or alone)  # boxes without a pose prove nothing
        for tid in sorted(where, key=lambda t: where[t][0]):
            kj = where[tid]
            proof = [(k, j) for k, j in kj if np.isfinite(rows[k].scales[j])] if posed_only else kj
            ev = track_evidence(np.array([k for k, _ in proof], np.int64),
                                np.array([rows[k].scales[j] for k, j in proof]), shot_rows[rows[kj[0][0]].shot])
            keep = bool(proof) and ev.persists(need) and ev.moves_like_a_body(o.max_body_change)
            if keep:
                new_id[tid] = len(new_id)
            else:
                why = ("no pose" if not proof else "short track" if not ev.persists(need)
                       else "not moving like a body")
                self._dropped[why] = self._dropped.get(why, 0) + len(kj)
            evidence[tid] = (ev, new_id.get(tid))
        out = []
        for r in rows:
            keep = np.array([int(t) in new_id for t in r.ids], bool)
            ids = np.array([new_id[int(t)] for t in r.ids[keep]], np.int64)
            scores = np.array([track_probability(s, evidence[int(t)][0]) for s, t in zip(r.scores[keep], r.ids[keep])])
            out.append(_Row(r.idx, r.boxes[keep], scores, r.kps[keep], ids, r.scales[keep], r.shot))
        return out, evidence

    def _smooth_tracks(self, rows, info: VideoInfo) -> tuple[list[np.ndarray], dict[tuple[int, int], dict[str, str]]]:
        """Per track: keypoints smoothed over time, and the kinematic part states (unless a state model
        will set them). Returns the smoothed keypoints of each row and ``{(row, person): {part: state}}``."""
        o = self.opts
        eff_fps = info.fps / o.stride
        width = max(1, round(o.smooth_s * eff_fps)) | 1
        states: dict[tuple[int, int], dict[str, str]] = {}  # (row, person) -> {part: state}
        all_ids = np.concatenate([r.ids for r in rows]) if rows else np.zeros(0, int)
        smoothed = [r.kps.copy() for r in rows]
        for tid in np.unique(all_ids):
            where = [(k, int(np.flatnonzero(r.ids == tid)[0])) for k, r in enumerate(rows) if (r.ids == tid).any()]
            k0, k1 = where[0][0], where[-1][0]
            seq = np.full((k1 - k0 + 1, len(JOINTS), 3), np.nan)
            for k, j in where:
                seq[k - k0] = rows[k].kps[j]
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
        for k, (idx, boxes, scores, _kps, ids, _scales, _shot) in enumerate(rows):
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

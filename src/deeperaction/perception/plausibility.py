"""Does a pose look like a human body? Geometric terms of one pose (and its detector box), and the calibrated
probability that a candidate is a person.

Pose models draw confident skeletons on clutter (BlazePose at 0.99 on a van's rear window, a parked bicycle,
car pillars in bikes.mp4), so their confidence alone is no evidence. The terms below are what such skeletons
get wrong: limbs far too long for the torso, the left and right sides crossed between shoulders and hips (or
ears and shoulders), too few confident joints joined along the skeleton, and a detector box the joints do not
fill. :func:`person_probability` folds them with the pose and detector confidences into a probability
(logistic, coefficients fitted on hand-labelled candidates of real footage; docs/parse.md says how).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deeperaction.schema import JOINT_INDEX as J
from deeperaction.schema import JOINTS, SKELETON_EDGES

_EDGES = np.array([(J[a], J[b]) for a, b in SKELETON_EDGES])

# bones as (name, joint a, joint b, longest plausible length in torso units): a 2D projection only shortens a
# bone, but a pose seen from close up or bent towards the camera lengthens limbs against a shortened torso,
# hence the room above the adult proportions (upper arm 0.6, forearm 0.55, thigh 0.9, shin 0.85 torso)
BONES: tuple[tuple[str, int, int, float], ...] = (
    ("upper_arm", J["left_shoulder"], J["left_elbow"], 1.25),
    ("upper_arm", J["right_shoulder"], J["right_elbow"], 1.25),
    ("forearm", J["left_elbow"], J["left_wrist"], 1.2), ("forearm", J["right_elbow"], J["right_wrist"], 1.2),
    ("thigh", J["left_hip"], J["left_knee"], 1.6), ("thigh", J["right_hip"], J["right_knee"], 1.6),
    ("shin", J["left_knee"], J["left_ankle"], 1.6), ("shin", J["right_knee"], J["right_ankle"], 1.6),
    ("shoulders", J["left_shoulder"], J["right_shoulder"], 1.5), ("hips", J["left_hip"], J["right_hip"], 1.2),
    ("head", J["nose"], J["neck"], 1.0),
)


@dataclass
class BodyTerms:
    """The plausibility terms of one pose; :meth:`ok` is the hard rule, the rest feeds the probability.

    ``joints``: confident joints; ``chain``: the most of them connected along the skeleton's bones;
    ``scale``: the torso length the bones are measured against (pixels); ``limb_excess``: the longest bone
    over its longest plausible length (> 1: too long); ``crossed``: the left/right order of shoulders vs
    hips (or ears vs shoulders) is reversed, cosine in [-1, 1] (1: fully crossed, <= 0: not);
    ``fill``: how well the detector box fits the joints: the lower of (joints' height / box height) and
    (the width a body of the joints' height needs, at least 0.3 of it, / box width), at most 1; 1 with no box.
    """

    joints: int
    chain: int
    scale: float
    limb_excess: float
    crossed: float
    fill: float

    def ok(self, min_chain: int = 5, max_excess: float = 1.0, max_crossed: float = 0.5, min_fill: float = 0.3) -> bool:
        """The hard rule: a connected chain of ``min_chain`` joints, no bone too long, sides not crossed, a box
        the joints fill."""
        return (self.chain >= min_chain and self.limb_excess <= max_excess and self.crossed <= max_crossed
                and self.fill >= min_fill)


def _largest_chain(ok: np.ndarray) -> int:
    """Size of the largest set of confident joints connected by skeleton bones whose ends are both confident."""
    parent = list(range(len(ok)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in _EDGES:
        if ok[a] and ok[b]:
            parent[find(a)] = find(b)
    roots = [find(i) for i in np.flatnonzero(ok)]
    return max(np.bincount(roots)) if roots else 0


def _cos(u: np.ndarray, v: np.ndarray) -> float:
    nu, nv = float(np.hypot(*u)), float(np.hypot(*v))
    return float(u @ v / (nu * nv)) if nu > 0 and nv > 0 else 0.0


def body_terms(keypoints: np.ndarray, box: np.ndarray | None = None, min_conf: float = 0.3) -> BodyTerms:
    """The :class:`BodyTerms` of one pose ``(J, 3)`` (x, y, confidence in ``schema.JOINTS`` order), with the
    detector ``box`` it was found in if any."""
    kp = np.asarray(keypoints, float)
    ok = np.nan_to_num(kp[:, 2], nan=0.0) >= min_conf
    xy = kp[:, :2]
    n = int(ok.sum())
    if n < 2:
        return BodyTerms(n, n, 0.0, 0.0, 0.0, 0.0)

    def have(*names: str) -> bool:
        return all(ok[J[a]] for a in names)

    def mid(a: str, b: str) -> np.ndarray:
        return (xy[J[a]] + xy[J[b]]) / 2

    def dist(a: str, b: str) -> float:
        return float(np.hypot(*(xy[J[a]] - xy[J[b]]))) if have(a, b) else 0.0

    # the torso length, else estimated from the shoulders, else the head (close-ups), else the joints' extent
    sh, hp = dist("left_shoulder", "right_shoulder"), dist("left_hip", "right_hip")
    if have("left_shoulder", "right_shoulder", "left_hip", "right_hip"):
        torso = float(np.hypot(*(mid("left_shoulder", "right_shoulder") - mid("left_hip", "right_hip"))))
        scale = max(torso, 0.8 * sh, 1.2 * hp)  # a torso bent towards the camera keeps its width
    elif sh > 0:
        scale = 1.25 * sh
    elif have("left_ear", "right_ear"):
        scale = 3.0 * float(np.hypot(*(xy[J["left_ear"]] - xy[J["right_ear"]])))
    else:
        ext = xy[ok].max(0) - xy[ok].min(0)
        scale = float(ext.max()) / 3.0
    scale = max(scale, 1e-6)
    excess = 0.0
    for _, a, b, most in BONES:
        if ok[a] and ok[b]:
            excess = max(excess, float(np.hypot(*(xy[a] - xy[b]))) / (most * scale))
    crossed = 0.0
    if sh > 0.15 * scale and hp > 0.15 * scale:
        crossed = max(crossed, -_cos(xy[J["left_shoulder"]] - xy[J["right_shoulder"]],
                                     xy[J["left_hip"]] - xy[J["right_hip"]]))
    if sh > 0.15 * scale and have("left_ear", "right_ear"):
        ear = xy[J["left_ear"]] - xy[J["right_ear"]]
        if np.hypot(*ear) > 0.1 * scale:
            crossed = max(crossed, -_cos(xy[J["left_shoulder"]] - xy[J["right_shoulder"]], ear))
    fill = 1.0
    if box is not None:
        b = np.asarray(box, float)
        jw, jh = xy[ok].max(0) - xy[ok].min(0)
        bw, bh = max(b[2] - b[0], 1e-6), max(b[3] - b[1], 1e-6)
        fill = float(min(1.0, jh / bh, max(jw, 0.3 * jh) / bw))
    return BodyTerms(n, _largest_chain(ok), scale, excess, crossed, fill)


FRAME_FEATURES = ("bias", "posed", "pose", "hog", "model", "excess", "chain", "misfit", "crossed")
"""What :func:`person_probability` weighs: 1; 1 with a pose; the pose's confidence (logit); HOG's score (logit);
a trained detector's score (logit); the limb excess above 0.6; the chain's share of the joints; 1 - fill;
the crossing. The pose's confidence, the chain and the crossing weigh 0 (BlazePose is as sure of its skeletons
on clutter as on people; chain and crossing act as the hard rule of :meth:`BodyTerms.ok`), and a trained
detector's score gets HOG's weight (no labelled data to fit it on)."""

FRAME_COEF = dict(bias=-2.974, posed=4.033, pose=0.0, hog=0.989, model=0.989, excess=-0.43, chain=0.0, misfit=-0.423,
                  crossed=0.0)
"""Logistic coefficients of :func:`person_probability`, fitted on hand-labelled candidates of real footage
(``python -m bench.bench_persons --fit``; docs/parse.md)."""

TRACK_FEATURES = ("bias", "frame", "run", "change")
"""What :func:`track_probability` weighs: 1; the frame's probability (logit); log of the track's run of
parsed frames; its body-size change."""

TRACK_COEF = dict(bias=-4.156, frame=1.545, run=1.812, change=-0.059)
"""Logistic coefficients of :func:`track_probability`, fitted as :data:`FRAME_COEF` is."""


def _logit(p: float, lim: float = 5.0) -> float:
    p = min(max(float(p), 1e-6), 1 - 1e-6)
    return float(np.clip(np.log(p / (1 - p)), -lim, lim))


def frame_features(terms: BodyTerms | None, pose_score: float | None, det_score: float | None,
                   detector: str = "hog") -> np.ndarray:
    """The :data:`FRAME_FEATURES` of a candidate: its pose's terms and confidence (None: no pose), its
    detector's score (None: no detector box) and which detector (``"hog"`` or a trained ``"model"``)."""
    f = dict.fromkeys(FRAME_FEATURES, 0.0)
    f["bias"] = 1.0
    if det_score is not None:
        f["model" if detector == "model" else "hog"] = _logit(det_score)
    if terms is not None and pose_score is not None:
        f["posed"] = 1.0
        f["pose"] = _logit(pose_score)
        f["excess"] = max(0.0, terms.limb_excess - 0.6)
        f["chain"] = min(1.0, terms.chain / len(JOINTS))
        f["misfit"] = 1.0 - terms.fill
        f["crossed"] = max(0.0, terms.crossed)
    return np.array([f[k] for k in FRAME_FEATURES])


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))


def person_probability(terms: BodyTerms | None, pose_score: float | None, det_score: float | None,
                       detector: str = "hog", coef: dict[str, float] | None = None) -> float:
    """Probability that a candidate is a person from this frame alone (:func:`frame_features`)."""
    c = FRAME_COEF if coef is None else coef
    w = np.array([c[k] for k in FRAME_FEATURES])
    return _sigmoid(float(frame_features(terms, pose_score, det_score, detector) @ w))


def track_features(frame_p: float, evidence) -> np.ndarray:
    """The :data:`TRACK_FEATURES` of a person: its frame probability and its track's
    :class:`~deeperaction.perception.track_evidence.TrackEvidence`."""
    change = evidence.body_change
    return np.array([1.0, _logit(frame_p), float(np.log(max(evidence.run, 1))),
                     0.0 if not np.isfinite(change) else float(change)])


def track_probability(frame_p: float, evidence, coef: dict[str, float] | None = None) -> float:
    """Probability that a tracked person is a person, given its frame and its track (:func:`track_features`):
    the ``score`` parse reports."""
    c = TRACK_COEF if coef is None else coef
    return _sigmoid(float(track_features(frame_p, evidence) @ np.array([c[k] for k in TRACK_FEATURES])))

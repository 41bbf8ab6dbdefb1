"""MultiSports files: GT pickle, ``frame_detections.pkl`` and ``video_detections.pkl`` (read/write/validate).

File layouts (frames are 1-based in files, 0-based in :class:`~deeperaction.schema.Tube`):
- GT: ``{"labels": [66 names], "train_videos": [[names]], "test_videos": [[names]], "nframes": {v: n},
  "resolution": {v: (h, w)}, "gttubes": {v: {label_index: [float32 (T, 5) frame, x1, y1, x2, y2]}}}``
- frame detections: ndarray ``(N, 8)`` = video_index (into ``test_videos[0]``), frame, label, score, x1..y2
- video detections: ``{label_index: [(video, score, ndarray (L, 6) = frame, x1, y1, x2, y2, box_score)]}``
Readers raise :class:`InputError` on what the scorer cannot use; ``validate_multisports`` lists every problem.
"""
from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from deeperaction.errors import InputError, ProblemList
from deeperaction.formats.safe_pickle import safe_load
from deeperaction.schema import Tube

MULTISPORTS_LABELS: tuple[str, ...] = (
    "aerobic push up", "aerobic explosive push up", "aerobic explosive support", "aerobic leg circle",
    "aerobic helicopter", "aerobic support", "aerobic v support", "aerobic horizontal support",
    "aerobic straight jump", "aerobic illusion", "aerobic bent leg(s) jump", "aerobic pike jump",
    "aerobic straddle jump", "aerobic split jump", "aerobic scissors leap", "aerobic kick jump",
    "aerobic off axis jump", "aerobic butterfly jump", "aerobic split", "aerobic turn",
    "aerobic balance turn", "volleyball serve", "volleyball block", "volleyball first pass",
    "volleyball defend", "volleyball protect", "volleyball second pass", "volleyball adjust",
    "volleyball save", "volleyball second attack", "volleyball spike", "volleyball dink",
    "volleyball no offensive attack", "football shoot", "football long pass", "football short pass",
    "football through pass", "football cross", "football dribble", "football trap", "football throw",
    "football diving", "football tackle", "football steal", "football clearance", "football block",
    "football press", "football aerial duels", "basketball pass", "basketball drive",
    "basketball dribble", "basketball 3-point shot", "basketball 2-point shot", "basketball free throw",
    "basketball block", "basketball offensive rebound", "basketball defensive rebound",
    "basketball pass steal", "basketball dribble steal", "basketball interfere shot",
    "basketball pick-and-roll defensive", "basketball sag", "basketball screen",
    "basketball pass-inbound", "basketball save", "basketball jump ball",
)
"""The 66 official class names in the official GT order (label index = position)."""

NEVER_SCORED: frozenset[str] = frozenset({
    "aerobic kick jump", "aerobic off axis jump", "aerobic butterfly jump", "aerobic balance turn",
    "basketball save", "basketball jump ball"})
"""Classes both official scorers skip by name (too few instances)."""


class LabelInfo(NamedTuple):
    """One official class: index in the GT ``labels`` list, name, sport, and whether it is scored."""

    index: int
    name: str
    sport: str
    scored: bool


def multisports_default_labels() -> list[LabelInfo]:
    """The 66 official MultiSports classes in official order, the 6 never-scored ones marked."""
    return [LabelInfo(i, n, n.split(" ", 1)[0], n not in NEVER_SCORED) for i, n in enumerate(MULTISPORTS_LABELS)]


@dataclass
class TubeArrays:
    """Many tubes as flat arrays (what the video metric consumes).

    Tube ``i`` has rows ``offsets[i]:offsets[i+1]`` of ``boxes``; frames ``start[i]..end[i]`` (1-based,
    contiguous). ``is_f32[i]`` says the file stored it as float32 (the official scorer then computes its
    ST-IoU in float32). ``video`` indexes ``test_videos`` (-1: not a test video).
    """

    label: np.ndarray
    video: np.ndarray
    score: np.ndarray
    start: np.ndarray
    end: np.ndarray
    offsets: np.ndarray
    boxes: np.ndarray
    is_f32: np.ndarray
    video_ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.label)


@dataclass
class MultiSportsGT:
    """A MultiSports ground-truth pickle; ``gttubes`` keeps the file's arrays (1-based frames)."""

    labels: list[str]
    test_videos: list[str]
    train_videos: list[str]
    nframes: dict[str, int]
    resolution: dict[str, tuple[int, int]]
    gttubes: dict[str, dict[int, list[np.ndarray]]]
    path: str | None = None
    warnings: list[str] = field(default_factory=list)
    _arrays: TubeArrays | None = field(default=None, repr=False)

    def tubes(self, videos: Iterable[str] | None = None) -> list[Tube]:
        """The GT tubes of ``videos`` (default: test videos) as schema Tubes (0-based frames, label names)."""
        out = []
        for v in (self.test_videos if videos is None else videos):
            for lab, tubes in self.gttubes.get(v, {}).items():
                for t in tubes:
                    out.append(Tube(v, self.labels[lab], 1.0, t[:, 0].astype(np.int64) - 1, t[:, 1:5]))
        return out

    def tube_arrays(self) -> TubeArrays:
        """Test-video tubes as flat arrays, in the official order (video list order, then label, then list)."""
        if self._arrays is None:
            items = [(iv, lab, t) for iv, v in enumerate(self.test_videos)
                     for lab, ts in self.gttubes[v].items() for t in ts]
            self._arrays = _flatten_tubes(
                [t for _, _, t in items], np.array([lab for _, lab, _ in items], dtype=np.int64),
                np.array([iv for iv, _, _ in items], dtype=np.int64), np.ones(len(items)), ncols=5)
        return self._arrays


@dataclass
class FrameDetections:
    """Rows of ``frame_detections.pkl``: video index, 1-based frame, label index, score, box.

    ``boxes`` keeps the file's dtype (the official scorer computes box areas in it).
    """

    video: np.ndarray
    frame: np.ndarray
    label: np.ndarray
    score: np.ndarray
    boxes: np.ndarray
    path: str | None = None
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.video)


@dataclass
class VideoDetections:
    """Tubes of ``video_detections.pkl`` as :class:`TubeArrays` (file order within each label)."""

    tubes: TubeArrays
    path: str | None = None
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- readers

def _load(path: str | Path) -> Any:
    return safe_load(path)


def read_multisports_gt(path: str | Path) -> MultiSportsGT:
    """Read and check a MultiSports GT pickle; InputError lists every problem the scorer cannot use."""
    fatal, soft = ProblemList(path), ProblemList(path)
    gt = _check_gt(_load(path), fatal, soft)
    fatal.raise_if_any()
    gt.path = str(path)
    gt.warnings = _summarize(soft)
    return gt


def read_frame_detections(path: str | Path, gt: MultiSportsGT) -> FrameDetections:
    """Read and check ``frame_detections.pkl`` against ``gt`` (InputError on unusable rows)."""
    fatal, soft = ProblemList(path), ProblemList(path)
    dets = _check_frame_dets(_load(path), gt, fatal, soft)
    fatal.raise_if_any()
    dets.path, dets.warnings = str(path), _summarize(soft)
    return dets


def read_video_detections(path: str | Path, gt: MultiSportsGT) -> VideoDetections:
    """Read and check ``video_detections.pkl`` against ``gt`` (InputError on unusable tubes)."""
    fatal, soft = ProblemList(path), ProblemList(path)
    dets = _check_video_dets(_load(path), gt, fatal, soft)
    fatal.raise_if_any()
    dets.path, dets.warnings = str(path), _summarize(soft)
    return dets


def validate_multisports(path: str | Path, kind: str = "gt", gt: MultiSportsGT | str | Path | None = None
                         ) -> ProblemList:
    """Every problem in a MultiSports file (``kind`` = gt | frame | video); detections need ``gt``."""
    problems = ProblemList(path)
    try:
        obj = _load(path)
    except InputError as e:
        problems.extend(e.problems)
        return problems
    soft = ProblemList(path)
    if kind == "gt":
        _check_gt(obj, problems, soft)
    elif kind in ("frame", "video"):
        if gt is None:
            raise InputError(f"validating {kind} detections needs the GT (--gt)", file=path)
        gt_obj = gt if isinstance(gt, MultiSportsGT) else read_multisports_gt(gt)
        check = _check_frame_dets if kind == "frame" else _check_video_dets
        check(obj, gt_obj, problems, soft)
    else:
        raise InputError(f"unknown kind {kind!r}; use gt, frame or video", file=path)
    problems.extend(soft)
    return problems


# ---------------------------------------------------------------- writers

def _dump(path: str | Path, obj: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=4)


def write_multisports_gt(path: str | Path, *, labels: Sequence[str],
                         videos: Mapping[str, tuple[int, tuple[int, int]]], test_videos: Sequence[str],
                         train_videos: Sequence[str] = (), tubes: Iterable[Tube] = (),
                         dtype: type = np.float32) -> None:
    """Write a GT pickle. ``videos``: ``{v: (nframes, (h, w))}``; Tube labels are names, frames 0-based."""
    labels = list(labels)
    index = {n: i for i, n in enumerate(labels)}
    gttubes: dict[str, dict[int, list[np.ndarray]]] = {v: {} for v in videos}
    for t in tubes:
        if t.video_id not in gttubes:
            raise InputError(f"tube of unknown video {t.video_id!r} (not in videos)", file=path)
        if t.label not in index:
            raise InputError(f"unknown label {t.label!r}", file=path, video=t.video_id)
        arr = np.concatenate([t.frames[:, None] + 1, t.boxes], axis=1).astype(dtype)
        gttubes[t.video_id].setdefault(index[t.label], []).append(arr)
    _dump(path, {"labels": labels, "train_videos": [list(train_videos)], "test_videos": [list(test_videos)],
                 "nframes": {v: int(n) for v, (n, _) in videos.items()},
                 "resolution": {v: (int(hw[0]), int(hw[1])) for v, (_, hw) in videos.items()},
                 "gttubes": gttubes})


def write_frame_detections(path: str | Path, gt_labels: Sequence[str], video_order: Sequence[str],
                           rows: Iterable[tuple[str, int, str, float, Sequence[float]]]) -> None:
    """Write ``frame_detections.pkl`` from rows ``(video, frame 0-based, label name, score, box)``.

    ``video_order`` is the GT's ``test_videos`` list (the file stores indices into it).
    """
    vidx = {v: i for i, v in enumerate(video_order)}
    lidx = {n: i for i, n in enumerate(gt_labels)}
    out = []
    for v, f, lab, s, box in rows:
        if v not in vidx or lab not in lidx:
            raise InputError(f"unknown {'video' if v not in vidx else 'label'} in detection row",
                             file=path, video=v, frame=f + 1, field="video" if v not in vidx else "label")
        out.append((vidx[v], f + 1, lidx[lab], s, *np.asarray(box, dtype=np.float64).reshape(4)))
    _dump(path, np.array(out, dtype=np.float64).reshape(-1, 8))


def write_video_detections(path: str | Path, labels: Sequence[str], tubes: Iterable[Tube],
                           dtype: type = np.float32) -> None:
    """Write ``video_detections.pkl`` (every label a key); the box-score column holds the tube score."""
    lidx = {n: i for i, n in enumerate(labels)}
    out: dict[int, list] = {i: [] for i in range(len(labels))}
    for t in tubes:
        if t.label not in lidx:
            raise InputError(f"unknown label {t.label!r}", file=path, video=t.video_id)
        arr = np.concatenate([t.frames[:, None] + 1, t.boxes, np.full((len(t.frames), 1), t.score)], axis=1)
        out[lidx[t.label]].append((t.video_id, float(t.score), arr.astype(dtype)))
    _dump(path, out)


# ---------------------------------------------------------------- checks (vectorized; every problem listed)

_MAX_PER_KIND = 20  # individual lines per kind of row problem; the rest is counted in one line
_BOX_FIELDS = ("x1", "y1", "x2", "y2")


def _summarize(soft: ProblemList) -> list[str]:
    """Soft problems (the official scorer accepts them) as warning lines for the metric report."""
    lines = [str(p) for p in soft.items[:10]]
    if len(soft) > 10:
        lines.append(f"... and {len(soft) - 10} more such warnings (see `deeperaction validate multisports`)")
    return lines


def _report_rows(pl: ProblemList, bad: np.ndarray, msg: str, where) -> None:
    """Add one line per flagged row (first few) and a count line for the rest."""
    idx = np.flatnonzero(bad)
    for i in idx[:_MAX_PER_KIND]:
        pl.add(msg, **where(int(i)))
    if len(idx) > _MAX_PER_KIND:
        pl.add(f"{msg}: {len(idx) - _MAX_PER_KIND} more like this")


def _concat(arrs: list[np.ndarray], ncols: int) -> np.ndarray:
    return np.concatenate(arrs, dtype=np.float64) if arrs else np.zeros((0, ncols))


def _flatten_tubes(arrs: list[np.ndarray], label: np.ndarray, video: np.ndarray, score: np.ndarray,
                   ncols: int, video_ids: list[str] | None = None, cat: np.ndarray | None = None) -> TubeArrays:
    """Concatenate checked tube arrays (frame + box columns first) into :class:`TubeArrays`."""
    lens = np.array([len(a) for a in arrs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    cat = _concat(arrs, ncols) if cat is None else cat
    first, last = offsets[:-1], np.maximum(offsets[1:] - 1, 0)
    return TubeArrays(label=label.astype(np.int64), video=video.astype(np.int64),
                      score=np.asarray(score, dtype=np.float64), start=cat[first, 0].astype(np.int64)
                      if len(arrs) else np.zeros(0, np.int64), end=cat[last, 0].astype(np.int64)
                      if len(arrs) else np.zeros(0, np.int64), offsets=offsets,
                      boxes=np.ascontiguousarray(cat[:, 1:5]),
                      is_f32=np.array([a.dtype == np.float32 for a in arrs], dtype=bool),
                      video_ids=list(video_ids or []))


def _check_tube_rows(arrs: list[np.ndarray], meta: list[tuple[str, str]], nframes: Mapping[str, Any],
                     fatal: ProblemList, soft: ProblemList, ncols: int) -> np.ndarray:
    """Row checks of structurally valid tubes: finite, integer contiguous frames, box order, frame range.

    Returns the tubes concatenated as float64 (reused to flatten them).
    """
    full = _concat(arrs, ncols)
    if not arrs:
        return full
    lens = np.array([len(a) for a in arrs])
    tube_of = np.repeat(np.arange(len(arrs)), lens)
    cat = full[:, :5]
    frames = cat[:, 0]

    def where(i: int, fld: str | None = None) -> dict:
        v, what = meta[tube_of[i]]
        return {"video": v, "frame": _num(frames[i]), "field": f"{what}{'.' + fld if fld else ''}"}

    finite = np.isfinite(cat).all(axis=1)
    _report_rows(fatal, ~finite, "NaN or infinite value in tube row", where)
    integer = finite & (frames == np.round(frames))
    _report_rows(fatal, finite & ~integer, "frame number is not an integer", lambda i: where(i, "frame"))
    step = np.diff(frames)
    same_tube = tube_of[1:] == tube_of[:-1]
    gap = same_tube & integer[1:] & integer[:-1] & (step != 1)
    _report_rows(fatal, np.concatenate([[False], gap & (step > 1)]),
                 "tube has a gap before this frame (frames must be contiguous)", lambda i: where(i, "frame"))
    _report_rows(fatal, np.concatenate([[False], gap & (step < 1)]),
                 "tube frame repeated or not increasing", lambda i: where(i, "frame"))
    with np.errstate(invalid="ignore"):
        _report_rows(soft, finite & ((cat[:, 3] < cat[:, 1]) | (cat[:, 4] < cat[:, 2])),
                     "box has x2 < x1 or y2 < y1", lambda i: where(i, "box"))
        per_video = {m[0]: _nframes(nframes, m[0]) for m in meta}
        nf = np.array([per_video[m[0]] for m in meta], dtype=np.float64)[tube_of]
        out = integer & ((frames < 1) | (frames > nf))
    _report_rows(soft, out, "frame outside 1..nframes of the video", lambda i: where(i, "frame"))
    return full


def _num(x: float) -> int | float:
    return int(x) if np.isfinite(x) and x == int(x) else float(x)


def _nframes(nframes: Mapping[str, Any], v: str) -> float:
    n = nframes.get(v) if isinstance(nframes, Mapping) else None
    return float(n) if isinstance(n, (int, np.integer)) else np.inf


def _is_tube(a: Any, ncols: int) -> bool:
    return (isinstance(a, np.ndarray) and a.ndim == 2 and a.shape[0] >= 1 and a.shape[1] == ncols
            and a.dtype.kind in "fiu")


def _check_gt(obj: Any, fatal: ProblemList, soft: ProblemList) -> MultiSportsGT | None:
    """Check a loaded GT object; fatal problems make it unusable, soft ones the official scorer accepts."""
    if not isinstance(obj, dict):
        fatal.add(f"GT must be a dict, got {type(obj).__name__}")
        return None
    for k in ("labels", "test_videos", "nframes", "resolution", "gttubes"):
        if k not in obj:
            fatal.add("missing key", field=k)
    if fatal:
        return None
    labels = obj["labels"]
    if not (isinstance(labels, (list, tuple)) and all(isinstance(x, str) for x in labels)):
        fatal.add("must be a list of class names", field="labels")
        labels = []
    splits = {}
    for key in ("test_videos", "train_videos"):
        val = obj.get(key, [[]])
        if (isinstance(val, (list, tuple)) and len(val) >= 1 and isinstance(val[0], (list, tuple))
                and all(isinstance(x, str) for x in val[0])):
            splits[key] = list(val[0])
        elif isinstance(val, (list, tuple)) and all(isinstance(x, str) for x in val):
            fatal.add("must be a list holding one list of video names ([[names]]; note the extra list)",
                      field=key)
            splits[key] = list(val)
        else:
            fatal.add("must be [[video names]]", field=key)
            splits[key] = []
    seen = set()
    for v in splits["test_videos"]:
        if v in seen:
            fatal.add("video listed twice", video=v, field="test_videos")
        seen.add(v)
    nframes, resolution, gttubes = obj["nframes"], obj["resolution"], obj["gttubes"]
    for key, val in (("nframes", nframes), ("resolution", resolution), ("gttubes", gttubes)):
        if not isinstance(val, dict):
            fatal.add("must be a dict keyed by video", field=key)
    if fatal:
        return None
    for v in splits["test_videos"]:
        if v not in gttubes:
            fatal.add("test video has no entry in gttubes (use an empty dict)", video=v, field="gttubes")
        if not isinstance(nframes.get(v), (int, np.integer)) or nframes.get(v) < 1:
            soft.add("missing or invalid frame count", video=v, field="nframes")
        r = resolution.get(v)
        if not (isinstance(r, (tuple, list)) and len(r) == 2):
            soft.add("missing or invalid (height, width)", video=v, field="resolution")
    arrs, meta = [], []
    for v, per_label in gttubes.items():
        if not isinstance(per_label, dict):
            fatal.add("must be a dict {label_index: [tubes]}", video=str(v), field="gttubes")
            continue
        for lab, tubes in per_label.items():
            if not isinstance(lab, (int, np.integer)) or not 0 <= lab < len(labels):
                fatal.add(f"unknown label index {lab!r}", video=str(v), field="gttubes")
                continue
            if not isinstance(tubes, (list, tuple)):
                fatal.add("must be a list of tubes", video=str(v), field=f"gttubes[{lab}]")
                continue
            for j, t in enumerate(tubes):
                what = f"gttubes[{lab}][{j}] ({labels[lab]})"
                if not _is_tube(t, 5):
                    fatal.add("tube must be a numeric ndarray (T>=1, 5): frame, x1, y1, x2, y2",
                              video=str(v), field=what)
                else:
                    arrs.append(t)
                    meta.append((str(v), what))
    _check_tube_rows(arrs, meta, nframes, fatal, soft, 5)
    return MultiSportsGT(list(labels), splits["test_videos"], splits["train_videos"], dict(nframes),
                         {v: tuple(r) for v, r in resolution.items() if isinstance(r, (tuple, list))},
                         {v: {int(k): list(t) for k, t in d.items()} for v, d in gttubes.items()
                          if isinstance(d, dict)})


def _check_frame_dets(obj: Any, gt: MultiSportsGT, fatal: ProblemList, soft: ProblemList
                      ) -> FrameDetections | None:
    """Check a loaded frame-detections array against the GT."""
    if isinstance(obj, np.ndarray) and obj.size == 0:
        obj = np.zeros((0, 8))
    if not (isinstance(obj, np.ndarray) and obj.ndim == 2 and obj.shape[1] == 8 and obj.dtype.kind in "fiu"):
        shape = getattr(obj, "shape", None)
        fatal.add(f"must be a numeric ndarray (N, 8) [video_index, frame, label, score, x1, y1, x2, y2], "
                  f"got {type(obj).__name__}{'' if shape is None else ' ' + str(shape)}")
        return None
    a = obj.astype(np.float64, copy=False)
    test = gt.test_videos

    def where(i: int, fld: str | None = None) -> dict:
        vi = a[i, 0]
        ok = np.isfinite(vi) and vi == int(vi) and 0 <= vi < len(test)
        return {"video": test[int(vi)] if ok else f"#{_num(vi)}", "frame": _num(a[i, 1]),
                "field": f"row {i}{'.' + fld if fld else ''}"}

    finite = np.isfinite(a).all(axis=1)
    _report_rows(fatal, ~finite, "NaN or infinite value", where)
    for col, name in ((0, "video_index"), (1, "frame"), (2, "label")):
        _report_rows(fatal, finite & (a[:, col] != np.round(a[:, col])), "must be an integer",
                     lambda i, name=name: where(i, name))
    with np.errstate(invalid="ignore"):
        vi, lab = a[:, 0], a[:, 2]
        bad_v = finite & ((vi < 0) | (vi >= len(test)))
        _report_rows(soft, bad_v, f"video index outside 0..{len(test) - 1} of test_videos (counts as a false "
                     "positive)", lambda i: where(i, "video_index"))
        _report_rows(soft, finite & ((lab < 0) | (lab >= len(gt.labels))),
                     "label index unknown (ignored by the scorer)", lambda i: where(i, "label"))
        _report_rows(soft, finite & ((a[:, 6] < a[:, 4]) | (a[:, 7] < a[:, 5])), "box has x2 < x1 or y2 < y1",
                     lambda i: where(i, "box"))
        nf = np.array([_nframes(gt.nframes, v) for v in test] + [np.inf])
        vclip = np.where(bad_v | ~finite, len(test), np.nan_to_num(vi, nan=0)).astype(np.int64)
        _report_rows(soft, finite & ((a[:, 1] < 1) | (a[:, 1] > nf[vclip])),
                     "frame outside 1..nframes of the video", lambda i: where(i, "frame"))
    if fatal:
        return None
    return FrameDetections(video=vi.astype(np.int64), frame=a[:, 1].astype(np.int64),
                           label=lab.astype(np.int64), score=a[:, 3].copy(),
                           boxes=np.ascontiguousarray(obj[:, 4:8]))


def _check_video_dets(obj: Any, gt: MultiSportsGT, fatal: ProblemList, soft: ProblemList
                      ) -> VideoDetections | None:
    """Check loaded video detections {label: [(video, score, (L, 6))]} against the GT."""
    if not isinstance(obj, dict):
        fatal.add(f"must be a dict {{label_index: [(video, score, tube)]}}, got {type(obj).__name__}")
        return None
    vindex = {v: i for i, v in enumerate(gt.test_videos)}
    arrs, labs, vids, scores, names, meta = [], [], [], [], [], []
    for lab, entries in obj.items():
        if not isinstance(lab, (int, np.integer)):
            fatal.add(f"label key must be an int index, got {lab!r}")
            continue
        if not 0 <= lab < len(gt.labels):
            soft.add(f"label index {lab} unknown (its {len(entries) if hasattr(entries, '__len__') else '?'} "
                     "tubes are ignored)")
            continue
        if not isinstance(entries, (list, tuple)):
            fatal.add("must be a list of (video, score, tube)", field=f"[{lab}]")
            continue
        for j, e in enumerate(entries):
            what = f"[{lab}][{j}] ({gt.labels[lab]})"
            if not (isinstance(e, (tuple, list)) and len(e) == 3):
                fatal.add("entry must be (video, score, ndarray (L, 6))", field=what)
                continue
            v, s, t = e
            if not isinstance(v, str):
                fatal.add(f"video must be a name (str), got {type(v).__name__}", field=what)
                continue
            if not isinstance(s, (float, int, np.floating, np.integer)) or not np.isfinite(s):
                fatal.add(f"score must be a finite number, got {s!r}", video=v, field=what)
                continue
            if not _is_tube(t, 6):
                fatal.add("tube must be a numeric ndarray (L>=1, 6): frame, x1, y1, x2, y2, box_score",
                          video=v, field=what)
                continue
            if v not in vindex:
                soft.add("video not in the GT test_videos (counts as a false positive)", video=v, field=what)
            arrs.append(t)
            labs.append(int(lab))
            vids.append(vindex.get(v, -1))
            scores.append(float(s))
            names.append(v)
            meta.append((v, what))
    missing = [i for i in range(len(gt.labels)) if i not in obj]
    if missing:
        soft.add(f"{len(missing)} label keys missing (scored as no detections): "
                 f"{', '.join(gt.labels[i] for i in missing[:5])}{' ...' if len(missing) > 5 else ''}")
    cat = _check_tube_rows(arrs, meta, gt.nframes, fatal, soft, 6)
    if fatal:
        return None
    return VideoDetections(_flatten_tubes(arrs, np.array(labs, np.int64), np.array(vids, np.int64),
                                          np.array(scores), 6, names, cat))

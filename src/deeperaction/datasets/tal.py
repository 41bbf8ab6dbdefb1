"""Temporal action localization training data: per-video feature rows (:mod:`deeperaction.formats.features`) and
ActivityNet-style annotations.

Annotations: one JSON ``{"database": {video: {"subset", "duration", "annotations": [{"segment", "label"}]}}}``
as ActivityNet 1.3, HACS Segments, FineAction and ActionFormer's THUMOS14 conversion write it, or the folder
``deeperaction synth --task tal`` wrote (``annotations/tal/activitynet_gt.json``). Read tolerantly: subsets
are matched case-insensitively with their spellings (``train``/``training``, ``val``/``validation``,
``test``/``testing``; THUMOS: ``Validation`` trains and ``Test`` evaluates), a label may be given only as
``label_id`` (FineAction), a duration as text; a malformed segment is dropped and counted.

Features: ``FOLDER/VIDEO.npy`` (or ``v_VIDEO.npy``, as ActivityNet releases name them), ``(T, D)``, with its
sidecar ``VIDEO.json`` when made by deeperaction; releases without sidecars (THUMOS / ActivityNet) take the
config's fps, window and stride. Every file is checked against the first one (or the config) before training
starts: a mismatch is one line naming both values. Videos without a feature file are left out and counted in
one warning line. Rows are read from disk on demand (memory-mapped), never all held in memory.

A training sample is a window of ``max_len`` rows (a random crop of a longer video, seeded by (seed, epoch,
index); shorter ones padded, with a mask) and its segments in row units; evaluation reads whole videos.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from deeperaction.errors import InputError
from deeperaction.formats.features import FeatureMeta, check_features, read_sidecar, sidecar_path
from deeperaction.formats.jsonio import load_json

GT_FILE = "activitynet_gt.json"
SUBSETS = {"train": "training", "training": "training", "val": "validation", "valid": "validation",
           "validation": "validation", "test": "testing", "testing": "testing"}
"""Spellings of the three subsets (lower case) -> the ActivityNet name."""


def subset_key(name: str) -> str:
    """The canonical name of a subset as a file or a config spells it (unknown names: lower case)."""
    low = str(name).strip().lower()
    return SUBSETS.get(low, low)


def seconds_to_rows(t: np.ndarray | float, meta: FeatureMeta) -> np.ndarray:
    """Seconds -> row coordinates (row ``i`` is centred at ``(i * stride + window / 2) / fps`` s)."""
    return (np.asarray(t, dtype=np.float64) * meta.fps - meta.window / 2) / meta.stride


def rows_to_seconds(r: np.ndarray | float, meta: FeatureMeta) -> np.ndarray:
    """Row coordinates -> seconds (inverse of :func:`seconds_to_rows`)."""
    return (np.asarray(r, dtype=np.float64) * meta.stride + meta.window / 2) / meta.fps


def find_tal_gt(path: str | Path, field: str = "data.gt") -> Path:
    """The annotation JSON of ``path``: the file itself, ``path/activitynet_gt.json`` or the generator's
    ``path/annotations/tal/activitynet_gt.json``."""
    if not str(path):
        raise InputError("set it to an ActivityNet-style annotation JSON or the generator's folder", field=field)
    p = Path(path)
    for c in (p, p / GT_FILE, p / "annotations" / "tal" / GT_FILE):
        if c.is_file():
            return c
    raise InputError(f"no annotation JSON here (looked for the file, {GT_FILE} and annotations/tal/{GT_FILE})",
                     file=p, field=field)


@dataclass
class Annotation:
    """One video of an annotation file: subset (canonical), duration (s, nan if unknown) and segments
    ``(start_s, end_s, label)``."""

    subset: str
    duration: float
    segments: list[tuple[float, float, str]]


def _number(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_tal_annotations(path: str | Path) -> tuple[dict[str, Annotation], list[str]]:
    """Every video of an ActivityNet-style annotation file, tolerantly (module docstring), and warning lines
    (counts of what was dropped)."""
    path = Path(path)
    data = load_json(path)
    db = data.get("database", data) if isinstance(data, dict) else None
    if not isinstance(db, dict) or not db:
        raise InputError("expected an ActivityNet-style annotation JSON ({\"database\": {video: {...}}})",
                         file=path)
    names = {}
    for node in data.get("taxonomy", []) if isinstance(data.get("taxonomy"), list) else []:
        if isinstance(node, dict) and "nodeId" in node and "nodeName" in node:
            names[str(node["nodeId"])] = str(node["nodeName"])
    out: dict[str, Annotation] = {}
    bad, bad_video = 0, ""
    for vid, v in db.items():
        if not isinstance(v, dict):
            bad, bad_video = bad + 1, bad_video or vid
            continue
        dur = _number(v.get("duration"))
        segs = []
        for a in v.get("annotations") or []:
            seg = a.get("segment") if isinstance(a, dict) else None
            label = a.get("label", a.get("label_id")) if isinstance(a, dict) else None
            if label is not None and not isinstance(label, str):
                label = names.get(str(label), str(label))
            ok = isinstance(seg, (list, tuple)) and len(seg) == 2 and label is not None
            s, e = (_number(seg[0]), _number(seg[1])) if ok else (None, None)
            if s is None or e is None or e <= s:
                bad, bad_video = bad + 1, bad_video or vid
                continue
            segs.append((s, e, label))
        out[str(vid)] = Annotation(subset_key(v.get("subset", "")), math.nan if dur is None or dur <= 0 else dur,
                                   segs)
    warnings = [f"{path}: {bad} malformed annotation(s) or video entries were left out (first in video "
                f"{bad_video!r})"] if bad else []
    return out, warnings


@dataclass
class TalVideo:
    """A video with features: id, feature file, how its rows were made, row count, duration (s), segments
    ``(n, 2)`` in seconds with their label names and class indices (-1: not a class of the model)."""

    id: str
    path: Path
    meta: FeatureMeta
    rows: int
    duration: float
    segments: np.ndarray
    label_names: list[str]
    labels: np.ndarray


@dataclass
class TalSet:
    """The videos of one subset that have features, the classes, the expected features and warning lines."""

    videos: list[TalVideo]
    classes: list[str]
    meta: FeatureMeta
    warnings: list[str] = field(default_factory=list)


def config_meta(*, fps: float, window: int, stride: int, backbone: str = "") -> FeatureMeta | None:
    """The features a config declares (for files without sidecars); None when it declares none. ``dim`` is
    taken from the files (0 here)."""
    if fps <= 0 and window <= 0 and stride <= 0:
        return None
    if fps <= 0 or window <= 0 or stride <= 0:
        raise InputError(f"data.feature_fps, data.feature_window and data.feature_stride go together (all > 0), "
                         f"got {fps:g}, {window}, {stride}", field="data.feature_fps")
    return FeatureMeta(fps=float(fps), window=int(window), stride=int(stride), backbone=backbone, dim=0)


def find_feature_file(folder: Path, vid: str) -> Path | None:
    """``folder/VID.npy`` or ``folder/v_VID.npy`` (ActivityNet feature releases), None if neither exists."""
    for name in (f"{vid}.npy", f"v_{vid}.npy"):
        if (folder / name).is_file():
            return folder / name
    return None


def _file_shape(path: Path) -> tuple[int, int]:
    """Rows and dimension from the ``.npy`` header (nothing else is read)."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as e:
        raise InputError(f"not a numpy array file ({e})", file=path) from None
    if arr.ndim == 1:
        return int(arr.shape[0]), 1
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise InputError(f"features must be 2-D (time, dim) with at least one row, got shape {arr.shape}",
                         file=path)
    return int(arr.shape[0]), int(arr.shape[1])


def _file_meta(path: Path, fallback: FeatureMeta | None, dim: int) -> tuple[FeatureMeta, Path]:
    """The meta of one feature file (its sidecar, else the config's) and the file to name in errors."""
    side, found = sidecar_path(path), read_sidecar(path)
    if found is not None:
        if found.dim != dim:
            raise InputError(f"features have dimension {dim}, their sidecar says {found.dim}", file=path)
        return found, side
    if fallback is None:
        raise InputError(f"no sidecar {side.name} beside it: give the features' fps, window and stride in the "
                         "config (data.feature_fps, data.feature_window, data.feature_stride)", file=path)
    return dataclasses.replace(fallback, dim=dim), path


def read_tal_set(gt: str | Path, features: str | Path, subset: str, *, classes: list[str] | None = None,
                 meta: FeatureMeta | None = None, fallback: FeatureMeta | None = None,
                 field: str = "data.subset_train") -> TalSet:
    """The videos of ``subset`` of the annotation file ``gt`` (or generator folder) that have a feature file in
    ``features``. ``classes``: the model's (None = the sorted labels of this subset); ``meta``: the features
    every file must match (None = the first file's); ``fallback``: the meta of files without a sidecar (from
    the config; its dim is the file's)."""
    gt_path = find_tal_gt(gt)
    folder = Path(features)
    if not str(features) or not folder.is_dir():
        raise InputError("set it to the folder of VIDEO.npy feature files", file=folder if str(features) else None,
                         field="data.features")
    anns, warnings = read_tal_annotations(gt_path)
    want = subset_key(subset)
    chosen = {v: a for v, a in anns.items() if a.subset == want}
    if not chosen:
        found = sorted({a.subset for a in anns.values()})
        raise InputError(f"no video in subset {subset!r} (subsets in the file: {', '.join(found) or 'none'})",
                         file=gt_path, field=field)
    if classes is None:
        classes = sorted({lab for a in chosen.values() for _, _, lab in a.segments})
    index = {c: i for i, c in enumerate(classes)}
    videos, missing, clipped = [], [], 0
    for vid, a in chosen.items():
        path = find_feature_file(folder, vid)
        if path is None:
            missing.append(vid)
            continue
        rows, dim = _file_shape(path)
        found, where = _file_meta(path, fallback, dim)
        if meta is None:
            meta = found
        elif meta.dim <= 0:
            meta = dataclasses.replace(meta, dim=found.dim)
        check_features(found, meta, file=where)
        dur = a.duration
        for alt in (found.duration, found.frames / found.fps if found.frames else 0.0):
            if not dur > 0 and alt > 0:
                dur = alt
        if not dur > 0:
            dur = float(rows_to_seconds(rows - 0.5, found))
        segs = np.array([(s, e) for s, e, _ in a.segments], dtype=np.float64).reshape(-1, 2)
        names = [lab for _, _, lab in a.segments]
        inside = np.clip(segs, 0.0, dur)
        keep = inside[:, 1] > inside[:, 0]
        clipped += int((~keep).sum())
        videos.append(TalVideo(vid, path, found, rows, float(dur), inside[keep],
                               [n for n, k in zip(names, keep) if k],
                               np.array([index.get(n, -1) for n, k in zip(names, keep) if k], dtype=np.int64)))
    if not videos:
        raise InputError(f"none of the {len(chosen)} videos of subset {subset!r} has a feature file here (looked "
                         f"for VIDEO.npy and v_VIDEO.npy, e.g. {next(iter(chosen))}.npy)", file=folder,
                         field="data.features")
    if missing:
        warnings.append(f"{len(missing)} of {len(chosen)} videos of subset {subset!r} have no feature file in "
                        f"{folder} and are left out (e.g. {missing[0]})")
    if clipped:
        warnings.append(f"{clipped} segment(s) of subset {subset!r} lie outside their video and were left out")
    return TalSet(videos, list(classes), meta, warnings)


def load_rows(video: TalVideo, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Rows ``[start, stop)`` of a video's features as float32 ``(n, D)`` (memory-mapped read)."""
    try:
        arr = np.load(video.path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as e:
        raise InputError(f"not a numpy array file ({e})", file=video.path) from None
    if arr.ndim == 1:
        arr = arr[:, None]
    x = np.array(arr[start:stop], dtype=np.float32)
    if not np.isfinite(x).all():
        raise InputError("features hold NaN or infinite values", file=video.path)
    return x


def crop_segments(segs: np.ndarray, labels: np.ndarray, start: int, stop: int, trunc_thresh: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Segments (rows) seen in the window of rows ``[start, stop)``: those with at least ``trunc_thresh`` of their
    length inside it, cut to its extent ``[start - 0.5, stop - 0.5]`` and shifted to the window's rows."""
    lo, hi = start - 0.5, stop - 0.5
    s, e = np.maximum(segs[:, 0], lo), np.minimum(segs[:, 1], hi)
    keep = (e - s) >= trunc_thresh * np.maximum(segs[:, 1] - segs[:, 0], 1e-9)
    return np.stack([s[keep] - start, e[keep] - start], 1), labels[keep]


class TalWindows(Dataset):
    """Training samples: ``({"feats": (max_len, D), "mask": (max_len,), "index"}, segments (n, 3))``, a segment
    ``(start_row, end_row, class)``. Videos longer than ``max_len`` rows are cropped at random (up to ``tries``
    starts until an action is in view); segments less than ``trunc_thresh`` inside are dropped."""

    def __init__(self, videos: list[TalVideo], *, max_len: int, seed: int = 0, trunc_thresh: float = 0.5,
                 tries: int = 10):
        self.videos, self.max_len, self.seed = videos, max_len, seed
        self.trunc_thresh, self.tries, self.epoch = trunc_thresh, tries, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int):
        v = self.videos[i]
        known = v.labels >= 0
        segs, labs = seconds_to_rows(v.segments[known], v.meta), v.labels[known]
        start, n = 0, min(v.rows, self.max_len)
        if v.rows > self.max_len:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            for _ in range(self.tries):
                start = int(rng.integers(0, v.rows - self.max_len + 1))
                if len(crop_segments(segs, labs, start, start + n, self.trunc_thresh)[0]):
                    break
        segs, labs = crop_segments(segs, labs, start, start + n, self.trunc_thresh)
        feats = np.zeros((self.max_len, v.meta.dim), np.float32)
        feats[:n] = load_rows(v, start, start + n)
        mask = np.zeros(self.max_len, bool)
        mask[:n] = True
        y = np.concatenate([segs, labs[:, None].astype(np.float64)], 1).astype(np.float32).reshape(-1, 3)
        return ({"feats": torch.from_numpy(feats), "mask": torch.from_numpy(mask), "index": i},
                torch.from_numpy(y))


class TalFullVideos(Dataset):
    """Evaluation samples: a whole video's rows ``(T, D)`` and its index."""

    def __init__(self, videos: list[TalVideo]):
        self.videos = videos

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int):
        return torch.from_numpy(load_rows(self.videos[i])), i


def collate_windows(batch: list) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Stack training windows; segments padded to the batch's most with rows of -1: ``(B, M, 3)``."""
    xs, ys = zip(*batch)
    m = max(1, max(len(y) for y in ys))
    y = torch.full((len(ys), m, 3), -1.0)
    for b, t in enumerate(ys):
        y[b, :len(t)] = t
    return ({"feats": torch.stack([x["feats"] for x in xs]), "mask": torch.stack([x["mask"] for x in xs]),
             "index": torch.tensor([x["index"] for x in xs])}, y)


def collate_videos(batch: list) -> dict[str, torch.Tensor]:
    """Whole videos padded to the batch's longest: ``{"feats" (B, T, D), "mask" (B, T), "index" (B,)}``."""
    feats, idx = zip(*batch)
    t = max(len(f) for f in feats)
    out = torch.zeros(len(feats), t, feats[0].shape[1])
    mask = torch.zeros(len(feats), t, dtype=torch.bool)
    for b, f in enumerate(feats):
        out[b, :len(f)] = f
        mask[b, :len(f)] = True
    return {"feats": out, "mask": mask, "index": torch.tensor(idx)}


def collate_tal(batch: list):
    """The engine's one collate for both sets: training windows (:func:`collate_windows`) or whole videos
    (:func:`collate_videos`), told apart by the sample."""
    return collate_windows(batch) if isinstance(batch[0][0], dict) else collate_videos(batch)

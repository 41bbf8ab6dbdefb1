"""``localize``: temporal action localization of long videos (or of features a user already has) into scored
segments, written as an ActivityNet-style ``results.json`` that ``eval tal`` scores directly.

Per video: features (computed, or read from ``--features`` with their sidecar checked against the model),
the localizer's segments (multi-scale temporal transformer, proposal relation, video-level fusion, Soft-NMS;
:mod:`deeperaction.tasks.tal_predictor`), ``segments.json``, the features themselves (so a second run can take
``--features``) and ``timeline.png``. The offline default computes skeleton features from ``parse``'s tracks
with the shipped skeleton action model and localizes them with the shipped localizer.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError
from deeperaction.formats.features import FeatureMeta, read_features, write_features
from deeperaction.outputs import write_atomic
from deeperaction.tasks.folder_runs import each_video, shard_videos
from deeperaction.tasks.stopwatch import Stopwatch

Seg = tuple[float, float, str, float]
"""(start_s, end_s, label, score)."""


@dataclass
class LocalizeOptions:
    """Every knob of ``localize``."""

    model: str = "default"           # a `train tal` model file, or "default" (the shipped one)
    stride: int = 4                  # skeleton features: parse every k-th frame (poses interpolated between)
    device: str = "cpu"
    backbone_weights: str | None = None  # video-backbone features: the backbone's weights (the model's backbone)
    relation: bool = True            # rescore candidates with the proposal relation module (when the model has it)
    fusion: bool = False             # multiply by the video-level class probabilities (when the model has them;
    #                                  helps on one-action-per-video data such as ActivityNet, not on mixed videos)
    max_segments: int = 100          # most segments kept per video
    max_frames: int | None = None    # only the first N frames


@dataclass
class LocalizeRun:
    """One video's segments, the features they came from and per-stage seconds."""

    video_id: str
    duration: float
    segments: list[Seg]
    feats: np.ndarray
    meta: FeatureMeta
    timings: dict[str, float] = field(default_factory=dict)


class Localizer:
    """Loads the models once; :meth:`from_video` and :meth:`from_features` localize one input each."""

    def __init__(self, options: LocalizeOptions | None = None, *, need_video: bool = True):
        from deeperaction.tasks.tal_predictor import load_tal_predictor

        self.opts = o = options or LocalizeOptions()
        if o.stride < 1 or o.max_segments < 1:
            raise InputError(f"--stride and max segments must be >= 1 (got {o.stride}, {o.max_segments})")
        self.model = load_tal_predictor(o.model, o.device)
        self.meta: FeatureMeta = self.model.meta
        self.parser = self.action = self.net = None
        if not need_video:
            return
        if self.meta.backbone == "skeleton":
            from deeperaction.tasks.action_predictors import load_action_predictor
            from deeperaction.tasks.parse import ParseOptions, Parser

            self.action = load_action_predictor("default", o.device)
            want = self.meta.extra.get("classes")
            if want and list(want) != list(self.action.classes):
                raise InputError("the localizer was trained on skeleton features of another action model "
                                 f"({len(want)} classes, the shipped one has {len(self.action.classes)})",
                                 file=o.model)
            self.parser = Parser(ParseOptions(stride=o.stride, max_frames=o.max_frames, device=o.device,
                                              action_model="none"))
        else:
            from deeperaction.tasks.tal_features import video_feature_net

            if not o.backbone_weights:
                raise InputError(f"the localizer reads {self.meta.backbone} features: give the backbone's weights "
                                 "(--backbone-weights) or precomputed features (--features)",
                                 field="--backbone-weights")
            self.net = video_feature_net(name=self.meta.backbone, weights=o.backbone_weights, device=o.device)

    def from_video(self, video: str | Path, *, on_frame: Callable[[int], None] | None = None) -> LocalizeRun:
        """Features of a video (file or frame folder), then its segments."""
        from deeperaction.tasks.tal_features import skeleton_features, video_features
        from deeperaction.video.reader import probe

        video, o = Path(video), self.opts
        watch = Stopwatch(("features", "localize"))
        info = probe(video)
        n = min(info.n_frames, o.max_frames or info.n_frames)
        duration = n / (info.fps or 25.0)
        timings: dict[str, float] = {}
        if self.parser is not None:
            run = self.parser.parse(video, on_frame=on_frame)
            timings.update(run.timings)
            with watch("features"):
                feats, meta = skeleton_features(run.parse, self.action, duration=duration, stride=self.meta.stride)
        else:
            with watch("features"):
                feats, meta = video_features(video, self.net, backbone=self.meta.backbone, window=self.meta.window,
                                             stride=self.meta.stride, fps=self.meta.fps, device=o.device,
                                             n_frames=n, on_frame=on_frame)
        r = self._localize(video.stem, feats, meta, duration, watch)
        r.timings.update(timings)
        return r

    def from_features(self, path: str | Path) -> LocalizeRun:
        """Segments of one feature file (its sidecar checked against the model; without one, the model's)."""
        watch = Stopwatch(("features", "localize"))
        with watch("features"):
            feats, meta = read_features(path, meta=self.meta)
        duration = meta.duration or float(meta.centres(len(feats))[-1] + meta.window / (2 * meta.fps))
        return self._localize(Path(path).stem, feats, meta, duration, watch)

    def _localize(self, video_id: str, feats: np.ndarray, meta: FeatureMeta, duration: float,
                  watch: Stopwatch) -> LocalizeRun:
        o = self.opts
        with watch("localize"):
            segs = self.model.predict(feats, meta, duration=duration, relation=o.relation, fusion=o.fusion,
                                      max_segments=o.max_segments)
        return LocalizeRun(video_id, duration, [(float(a), float(b), str(c), float(s)) for a, b, c, s in segs],
                           feats, meta, dict(watch.seconds))

    def close(self) -> None:
        if self.parser is not None:
            self.parser.close()


def read_gt_segments(path: str | Path) -> dict[str, list[tuple[float, float, str]]]:
    """``{video: [(start_s, end_s, label)]}`` of every subset of an ActivityNet-style GT file (for timelines)."""
    try:
        db = json.loads(Path(path).read_text())["database"]
        return {str(v): [(float(a["segment"][0]), float(a["segment"][1]), str(a["label"]))
                         for a in rec.get("annotations", [])] for v, rec in db.items()}
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as e:
        raise InputError(f"not an ActivityNet-style GT file ({type(e).__name__}: {e})", file=path,
                         field="--gt") from None


def segments_json(r: LocalizeRun) -> dict:
    return {"video": r.video_id, "duration": round(r.duration, 3),
            "features": {"fps": r.meta.fps, "window": r.meta.window, "stride": r.meta.stride,
                         "backbone": r.meta.backbone, "rows": int(len(r.feats))},
            "segments": [{"label": c, "score": round(s, 5), "segment": [round(a, 3), round(b, 3)]}
                         for a, b, c, s in r.segments]}


def merge_results(out: Path) -> int:
    """Merge every ``out/*/segments.json`` (shards may run at once) or ``out/segments.json`` into
    ``out/results.json``; returns the number of videos."""
    files = sorted(p / "segments.json" for p in out.iterdir() if (p / "segments.json").is_file())
    if not files and (out / "segments.json").is_file():
        files = [out / "segments.json"]
    results = {}
    for f in files:
        d = json.loads(f.read_text())
        results[d["video"]] = [{"label": s["label"], "score": s["score"], "segment": s["segment"]}
                               for s in d["segments"]]
    obj = {"version": "VERSION 1.3", "results": results,
           "external_data": {"used": False, "details": "deeperaction localize"}}
    write_atomic(out / "results.json", json.dumps(obj, separators=(",", ":")))
    return len(results)


def feature_inputs(folder: str | Path, shard: tuple[int, int]) -> tuple[list[Path], int]:
    """The ``.npy`` files of a features folder that fall to shard ``(i, n)``, and how many there are in all."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such features folder", file=folder, field="--features")
    files = sorted(folder.glob("*.npy"))
    if not files:
        raise InputError("features folder has no .npy files", file=folder, field="--features")
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise InputError(f"shard must be i/n with 0 <= i < n, got {i}/{n}")
    return files[i::n], len(files)


def localize_to_folder(inputs: str | Path | None, out: str | Path, options: LocalizeOptions | None = None, *,
                       features: str | Path | None = None, render: bool = True, shard: tuple[int, int] = (0, 1),
                       gt: str | Path | None = None,
                       on_video: Callable[[Path, int], Callable[[int], None] | None] | None = None,
                       on_error: Callable[[InputError], None] | None = None) -> dict:
    """Localize a video, a folder of videos, or (``inputs`` None) every feature file of ``features`` into
    ``out``: one sub-folder per video (``segments.json``, ``timeline.png``), the features computed
    (``features/VIDEO.npy`` + sidecar) and the merged ``results.json``. A video that fails is reported through
    ``on_error`` and skipped."""
    from deeperaction.viz.timeline import write_segment_timeline

    out = Path(out)
    gt_segs = read_gt_segments(gt) if gt is not None else None
    if inputs is None:
        if features is None:
            raise InputError("give a video, a folder of videos, or --features DIR")
        mine, n_inputs = feature_inputs(features, shard)
        single = False
    else:
        mine, single, n_inputs = shard_videos(inputs, shard)
    summary = {"videos": 0, "failed": 0, "segments": 0, "inputs": n_inputs, "shard_videos": len(mine),
               "out": str(out), "timings": {}}
    if not mine:
        return summary
    t0 = time.perf_counter()
    loc = Localizer(options, need_video=inputs is not None and features is None)
    timings = summary["timings"]
    timings["load"] = time.perf_counter() - t0

    def work(item: Path, cb):
        if inputs is None:
            return loc.from_features(item)
        if features is not None:
            return loc.from_features(Path(features) / f"{item.stem}.npy")
        return loc.from_video(item, on_frame=cb)

    try:
        if inputs is None:
            results = []
            for f in mine:
                try:
                    results.append((f, None, work(f, None)))
                except InputError as e:
                    summary["failed"] += 1
                    if on_error is None:
                        raise
                    on_error(e)
        else:
            results = each_video(mine, single, work, summary, on_video, on_error)
        for item, _, r in results:
            dest = out if single else out / r.video_id
            dest.mkdir(parents=True, exist_ok=True)
            t = dict(r.timings)
            t1 = time.perf_counter()
            write_atomic(dest / "segments.json", json.dumps(segments_json(r), indent=1))
            if inputs is not None and features is None:  # a later run can take --features OUT/features
                write_features(out / "features" / f"{r.video_id}.npy", r.feats, r.meta)
            t["write"] = time.perf_counter() - t1
            if render:
                t1 = time.perf_counter()
                write_segment_timeline(dest / "timeline.png", r.video_id, r.duration, r.segments,
                                       gt=(gt_segs or {}).get(r.video_id) if gt_segs is not None else None)
                t["render"] = time.perf_counter() - t1
            for k, v in t.items():
                timings[k] = timings.get(k, 0.0) + v
            summary["videos"] += 1
            summary["segments"] += len(r.segments)
    finally:
        loc.close()
    if summary["videos"]:
        merge_results(out)
    return summary

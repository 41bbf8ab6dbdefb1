"""Train the temporal localizer that ships in the package (``deeperaction/data/models/tal_default.pt``): the default
model of ``deeperaction localize``.

Data: 60 long synthetic ``tal`` videos (``--preset default``, 320x240, 30-70 s), rendered, then run through
exactly what ``localize`` runs on a user's video: ``parse`` every 4th frame (people, BlazePose, tracks) and the
skeleton features of the shipped skeleton action model (a row every 0.32 s), so the localizer learns the
features of real pose estimation on rendered people, with its misses and confusions. The last 16 of them (by
id) are held out (``best.pt`` by average mAP on them). Plus 200 videos whose features come from the
generator's keypoints made to look like BlazePose's (no rendering; cheap variety of actions and timings).
Fixed seeds.

    python scripts/train_default_tal.py [--videos 60] [--val-videos 16] [--keypoint-videos 200] [--install]

Features are cached under ``--data`` (``train/features``, ``keypoints/features``), so a second run only trains.
On 2 CPU cores: rendering ~4 min, features ~30 min, keypoint features ~8 min, training ~35 min (20 epochs).
``--install`` copies the model into ``src/deeperaction/data/models/``.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZE = (320, 240)


def make_set(root: Path, *, videos: int, seed: int, duration: tuple[float, float] | None, parse_stride: int) -> None:
    """Render a ``tal`` set into ``root`` (unless there) and compute the features its videos lack."""
    from deeperaction.synth import generate
    from deeperaction.tasks.tal_features import features_to_folder

    if not (root / "manifest.json").is_file():
        print(f"rendering {videos} videos (seed {seed}) into {root}", flush=True)
        generate(root, videos=videos, seed=seed, task="tal", size=SIZE, preset="default", duration=duration)
    feats = root / "features"
    todo = sorted(v for v in (root / "videos").glob("*.mp4") if not (feats / f"{v.stem}.npy").is_file())
    for k, v in enumerate(todo):
        print(f"features {k + 1}/{len(todo)}: {v.name}", flush=True)
        features_to_folder(v, feats, backbone="skeleton", parse_stride=parse_stride)


def keypoint_set(root: Path, *, videos: int, seed: int, duration: tuple[float, float] | None, stride: int) -> None:
    """Features of ``tal`` videos from the generator's exact keypoints made to look like a pose estimator's
    (jitter, missed joints, left/right swaps, BlazePose's joint offsets; no rendering, ~1 s a video), with
    their GT in ``root/annotations/tal/activitynet_gt.json``: cheap extra training videos."""
    import numpy as np

    from deeperaction.datasets.action import degrade_keypoints
    from deeperaction.formats.activitynet import write_activitynet_gt
    from deeperaction.formats.features import write_features
    from deeperaction.schema import FrameParse, Person, VideoParse
    from deeperaction.synth import ground_truth, make_spec
    from deeperaction.synth.export import to_segments
    from deeperaction.tasks.action_predictors import load_action_predictor
    from deeperaction.tasks.tal_features import skeleton_features

    gt_path = root / "annotations" / "tal" / "activitynet_gt.json"
    if gt_path.is_file():
        return
    pred = load_action_predictor("default")
    segs, durations = [], {}
    for i in range(videos):
        lab = ground_truth(make_spec("tal", i, seed, size=SIZE, preset="default", duration=duration))
        rng = np.random.default_rng([seed, i, 7])
        kps = [degrade_keypoints(p.keypoints, rng, noise=0.05, keep_every=(1, 1), swap=0.1, outlier=0.03,
                                 swap_sides=0.15, shift=SHIFT) for p in lab.persons]
        frames = [FrameParse(f, [Person(p.boxes[f], 1.0, p.track_id, kp[f]) for p, kp in zip(lab.persons, kps)
                                 if p.present[f]]) for f in range(0, lab.n_frames, stride)]
        parse = VideoParse(lab.spec.video_id, lab.spec.fps, lab.spec.size, frames, None, {})
        duration_s = lab.n_frames / lab.spec.fps
        feats, meta = skeleton_features(parse, pred, duration=duration_s)
        write_features(root / "features" / f"{lab.spec.video_id}.npy", feats, meta)
        segs += to_segments(lab)
        durations[lab.spec.video_id] = duration_s
        print(f"keypoint features {i + 1}/{videos}", flush=True)
    write_activitynet_gt(gt_path, segs, subsets={v: "training" for v in durations}, durations=durations)


SHIFT = {"left_ankle": 0.17, "right_ankle": 0.17, "left_knee": 0.05, "right_knee": 0.05, "left_wrist": 0.06,
         "right_wrist": 0.06, "left_hand": 0.07, "right_hand": 0.07, "neck": -0.09, "left_ear": -0.07,
         "right_ear": -0.07, "nose": -0.04, "left_hip": -0.04, "right_hip": -0.04}
"""Median offsets (torso lengths) of BlazePose's joints from the generator's (scripts/train_default_action.py)."""


def combined_gt(parts: list[tuple[Path, str, int]], out: Path) -> Path:
    """One ActivityNet-style GT of several sets: each ``(root, subset, last)`` puts its videos in ``subset``, the
    ``last`` of them (by id) in "validation" (the generator's own splits are ignored)."""
    db, taxonomy = {}, None
    for root, subset, last in parts:
        gt = json.loads((root / "annotations" / "tal" / "activitynet_gt.json").read_text())
        taxonomy = taxonomy or gt.get("taxonomy", [])
        ids = sorted(gt["database"])
        for k, vid in enumerate(ids):
            db[vid] = {**gt["database"][vid], "subset": "validation" if k >= len(ids) - last else subset}
    out.write_text(json.dumps({"version": "synthetic", "taxonomy": taxonomy, "database": db}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=60, help="rendered videos")
    ap.add_argument("--val-videos", type=int, default=16, help="of them, the last (by id) held out for validation")
    ap.add_argument("--seed", type=int, default=100, help="generator seed of the rendered videos (+1: keypoint ones)")
    ap.add_argument("--duration", default="30,70", help="training video length range, seconds")
    ap.add_argument("--keypoint-videos", type=int, default=200, help="extra training videos whose features come "
                    "from the generator's keypoints, degraded (no rendering)")
    ap.add_argument("--parse-stride", type=int, default=4, help="parse every k-th frame (as localize --stride)")
    ap.add_argument("--data", type=Path, default=REPO / "runs" / "default_tal" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "default_tal")
    ap.add_argument("--set", action="append", default=[], help="config override section.key=value")
    ap.add_argument("--install", action="store_true", help="copy the model into the package")
    args = ap.parse_args()

    from deeperaction.train.engine import seed_everything
    from deeperaction.train.tal import load_tal_config, train_tal

    dur = tuple(float(x) for x in args.duration.split(","))
    make_set(args.data / "train", videos=args.videos, seed=args.seed, duration=dur, parse_stride=args.parse_stride)
    parts = [(args.data / "train", "training", args.val_videos)]
    if args.keypoint_videos:
        keypoint_set(args.data / "keypoints", videos=args.keypoint_videos, seed=args.seed + 1, duration=dur,
                     stride=args.parse_stride)
        parts.append((args.data / "keypoints", "training", 0))
    feats = args.data / "features"
    feats.mkdir(parents=True, exist_ok=True)
    for split, _, _ in parts:
        for f in (split / "features").iterdir():
            if not (feats / f.name).exists():
                shutil.copy(f, feats / f.name)
    gt = combined_gt(parts, args.data / "gt.json")
    overrides = [f"data.gt={gt}", f"data.features={feats}", f"train.out={args.out}", *RECIPE, *args.set]
    cfg = load_tal_config(None, overrides)
    seed_everything(int(cfg["train"]["seed"]))
    res = train_tal(cfg)
    print(json.dumps({k: v for k, v in res.items() if isinstance(v, (int, float, str))}, indent=1))
    if args.install:
        import torch

        dest = REPO / "src" / "deeperaction" / "data" / "models" / "tal_default.pt"
        ck = torch.load(args.out / "model.pt", map_location="cpu", weights_only=False)
        ck["model"] = {k: v.half() if v.is_floating_point() else v for k, v in ck["model"].items()}  # half the size
        torch.save(ck, dest)
        print(f"installed {dest} ({dest.stat().st_size / 1e6:.2f} MB)")


RECIPE = ["model.width=128", "model.levels=5", "model.window=9", "model.heads=4", "data.max_len=256",
          "data.workers=0", "train.epochs=20", "train.batch_size=8", "train.eval_every=4", "optim.lr=0.001",
          "optim.warmup_epochs=2"]
"""The CPU recipe of the shipped model (measured in docs/localize.md)."""


if __name__ == "__main__":
    main()

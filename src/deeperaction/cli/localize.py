"""``deeperaction localize`` (temporal action localization of long videos) and ``deeperaction features`` (the
features it reads, cached with their sidecar)."""
from __future__ import annotations

from pathlib import Path

import typer

from deeperaction.cli.app import app
from deeperaction.cli.common import (EXIT_SOME_FAILED, check_device, console, guarded, positive, shard_empty,
                                     video_progress, warn)
from deeperaction.cli.parse import _shard
from deeperaction.errors import InputError
from deeperaction.outputs import ensure_output_folder

_HELP = """Find where each action happens in long videos: scored segments (start, end, label) per video.

Examples:

  deeperaction localize long.mp4 --out loc/

  deeperaction localize videos/ --out loc/ --gt activitynet_gt.json     # then: eval tal --gt GT --pred loc/results.json

  deeperaction localize --features loc/features --out loc2/ --fusion     # again from the cached features

  deeperaction localize videos/ --out loc/ --shard 0/4      # one of 4 jobs; each merges what is done

Writes into OUT: results.json (ActivityNet style, {"results": {video: [{"label", "score", "segment": [s, e]}]}},
what `deeperaction eval tal` scores), per video VIDEO/segments.json and VIDEO/timeline.png (segments per class
over time; the ground truth beneath with --gt), and the features it computed in features/VIDEO.npy with their
sidecar VIDEO.json (fps, window, stride, backbone, dim), checked against the model when read back.

Default model (offline): people, poses and tracks as `parse` finds them (every --stride-th frame), skeleton
features every 0.32 s from the skeleton action model shipped in the package, and the shipped localizer (a
multi-scale temporal transformer with proposal relation; --fusion adds video-level class fusion), trained on
synthetic long videos (12 in-place actions of the synthetic vocabulary). A `train tal` model (--model) reads
the features it was trained on: skeleton, a video backbone's (--backbone-weights), or precomputed ones
(--features).
"""


@app.command("localize", help=_HELP)
def localize(
    video: Path | None = typer.Argument(None, help="a video file, a folder of frames, or a folder of videos "
                                        "(none: every .npy of --features)"),
    out: Path = typer.Option(..., "--out", "-o", help="output folder (created)"),
    model: str = typer.Option("default", "--model", help="a `train tal` model file (default: the shipped one)"),
    features: Path | None = typer.Option(None, "--features", help="folder of precomputed features VIDEO.npy "
                                         "(+ sidecar VIDEO.json; without one the model's fps/window/stride)"),
    stride: int = typer.Option(4, "--stride", help="skeleton features: find people and poses every k-th frame"),
    backbone_weights: Path | None = typer.Option(None, "--backbone-weights", help="video-backbone features: "
                                                 "the backbone's state dict"),
    relation: bool = typer.Option(True, "--relation/--no-relation", help="rescore with the proposal relation"),
    fusion: bool = typer.Option(False, "--fusion/--no-fusion", help="fuse the video-level class scores (for "
                                "one-action-per-video data such as ActivityNet)"),
    max_segments: int = typer.Option(100, "--max-segments", help="most segments kept per video"),
    max_frames: int | None = typer.Option(None, "--max-frames", help="only the first N frames"),
    shard: str = typer.Option("0/1", "--shard", help="i/n: every n-th video starting at i"),
    render: bool = typer.Option(True, "--render/--no-render", help="write timeline.png per video"),
    gt: Path | None = typer.Option(None, "--gt", help="ActivityNet-style GT: drawn beneath the timelines"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
) -> None:
    from deeperaction.tasks.localize import LocalizeOptions, localize_to_folder

    def run() -> dict:
        positive(stride, "--stride")
        positive(max_frames, "--max-frames")
        positive(max_segments, "--max-segments")
        check_device(device)
        shard_i_n = _shard(shard)
        if video is None and features is None:
            raise InputError("give a video, a folder of videos, or --features DIR")
        if gt is not None and not gt.is_file():
            raise InputError("no such GT file", file=gt, field="--gt")
        if backbone_weights is not None and not backbone_weights.is_file():
            raise InputError("no such weights file", file=backbone_weights, field="--backbone-weights")
        ensure_output_folder(out, "--out")
        opts = LocalizeOptions(model=model, stride=stride, device=device, relation=relation, fusion=fusion,
                               backbone_weights=str(backbone_weights) if backbone_weights else None,
                               max_segments=max_segments, max_frames=max_frames)
        with video_progress(stride, max_frames) as on_video:
            return localize_to_folder(video, out, opts, features=features, render=render, shard=shard_i_n, gt=gt,
                                      on_video=on_video, on_error=lambda e: warn(f"skipped: {e}"))

    s = guarded(run)
    if shard_empty(s, shard):
        return
    console.print(f"[green]localized[/] {s['segments']} segment(s) in {s['videos']} video(s)"
                  + (f", {s['failed']} failed" if s["failed"] else "") + f" -> {s['out']}/results.json",
                  highlight=False)
    if s["failed"]:
        raise typer.Exit(EXIT_SOME_FAILED)


_FEATURES_HELP = """Compute temporal features of videos for `localize` and `train tal`: one VIDEO.npy (rows x dim)
per video and its sidecar VIDEO.json (fps, window, stride, backbone, dim), which `localize` and `train tal` check
against the model.

Examples:

  deeperaction features videos/ --out feats/                       # skeleton features (the offline default)

  deeperaction features videos/ --out feats/ --backbone r3d_18 --weights r3d_18_k400.pth --window 16 --stride 8 --fps 25

  deeperaction features videos/ --out feats/ --shard 1/4 --device cuda

Skeleton features: people and tracks as `parse` finds them (every --parse-stride-th frame), windows of the shipped
skeleton model (48 frames at 25 fps) every --stride frames (default 8: 0.32 s). Video features: a torchvision
backbone's pooled clip features over windows of --window frames every --stride frames (default half the
window), the video resampled to --fps (default its own), frames resized to --size.
"""


@app.command("features", help=_FEATURES_HELP)
def features_cmd(
    video: Path = typer.Argument(..., help="a video file, a folder of frames, or a folder of videos"),
    out: Path = typer.Option(..., "--out", "-o", help="output folder (created)"),
    backbone: str = typer.Option("skeleton", "--backbone", help="skeleton | a torchvision video backbone "
                                 "(r3d_18, r2plus1d_18, mc3_18, ...)"),
    weights: Path | None = typer.Option(None, "--weights", help="the backbone's state dict (a local file)"),
    window: int = typer.Option(16, "--window", help="video backbones: frames per window"),
    stride: int | None = typer.Option(None, "--stride", help="frames between windows"),
    fps: float | None = typer.Option(None, "--fps", help="video backbones: resample to this frame rate"),
    size: int = typer.Option(112, "--size", help="video backbones: frames resized to size x size"),
    batch: int = typer.Option(16, "--batch", help="windows per forward pass"),
    parse_stride: int = typer.Option(4, "--parse-stride", help="skeleton: find people every k-th frame"),
    shard: str = typer.Option("0/1", "--shard", help="i/n: every n-th video starting at i"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
) -> None:
    from deeperaction.tasks.tal_features import features_to_folder

    def run() -> dict:
        positive(window, "--window")
        positive(stride, "--stride")
        positive(batch, "--batch")
        positive(parse_stride, "--parse-stride")
        positive(size, "--size", 16)
        if fps is not None and fps <= 0:
            raise InputError(f"--fps must be > 0, got {fps}", field="--fps")
        if weights is not None and not weights.is_file():
            raise InputError("no such weights file", file=weights, field="--weights")
        check_device(device)
        shard_i_n = _shard(shard)
        ensure_output_folder(out, "--out")
        with video_progress(parse_stride if backbone == "skeleton" else 1, None) as on_video:
            return features_to_folder(video, out, backbone=backbone, weights=weights, window=window, stride=stride,
                                      fps=fps, size=size, batch=batch, parse_stride=parse_stride, device=device,
                                      shard=shard_i_n, on_video=on_video, on_error=lambda e: warn(f"skipped: {e}"))

    s = guarded(run)
    if shard_empty(s, shard):
        return
    console.print(f"[green]features[/] of {s['videos']} video(s), {s['rows']} rows"
                  + (f", {s['failed']} failed" if s["failed"] else "") + f" -> {s['out']}", highlight=False)
    if s["failed"]:
        raise typer.Exit(EXIT_SOME_FAILED)

"""``deeperaction detect``: spatio-temporal action detection (action tubes of people) of any video, offline."""
from __future__ import annotations

from pathlib import Path

import typer

from deeperaction.cli.app import app
from deeperaction.cli.common import (EXIT_SOME_FAILED, check_device, console, guarded, positive, shard_empty,
                                     video_progress, warn)
from deeperaction.cli.parse import _shard
from deeperaction.errors import InputError
from deeperaction.outputs import ensure_output_folder

_HELP = """Find the people in a video, follow them, and cut their actions into tubes (who does what, where, when).

Examples:

  deeperaction detect clip.mp4 --out det/

  deeperaction detect videos/ --out det/ --gt multisports_gt.pkl --no-render   # then: eval multisports --pred det/

  deeperaction detect videos/ --out det/ --shard 0/4      # one of 4 jobs; each merges what is done

Writes into OUT: tubes.json ({"videos": {video: {"fps", "size", "labels", "tubes": [{"track_id", "label",
"score", "frames", "boxes"}]}}}), the MultiSports submission (frame_detections.pkl, video_detections.pkl:
`deeperaction eval multisports --gt GT --pred OUT`; with --gt GT the GT's label list and test-video order),
AVA-style detections at 1 Hz keyframes (ava_detections.csv + ava_labelmap.pbtxt: `deeperaction eval ava`),
and per video render.mp4 (tubes coloured by action, label, score, track id) and timeline.png (one row per
track) unless --no-render. A folder of videos: one sub-folder per video, merged files at OUT.

Default model (offline): people first from the person detector shipped in the package (trained on crowded
rendered synthetic scenes; a pose in each of its boxes), then BlazePose's whole-frame poses and HOG's boxes of
the people it missed, tracked as `parse` tracks them; each track's action probabilities over time from the
skeleton model shipped in the package (14 actions of the synthetic vocabulary; `parse`'s model fine-tuned on
BlazePose's keypoints of rendered synthetic people), tubes by smoothing, labelling each track by Viterbi
(--threshold, --switch-cost) and the longest continuous runs. Exit codes as `parse` (3: some videos failed).
"""


@app.command("detect", help=_HELP)
def detect(
    video: Path = typer.Argument(..., help="a video file, a folder of frames, or a folder of videos"),
    out: Path = typer.Option(..., "--out", "-o", help="output folder (created)"),
    stride: int = typer.Option(2, "--stride", help="find people and poses every k-th frame"),
    max_frames: int | None = typer.Option(None, "--max-frames", help="only the first N frames"),
    shard: str = typer.Option("0/1", "--shard", help="i/n: every n-th video starting at i"),
    render: bool = typer.Option(True, "--render/--no-render", help="write render.mp4 and timeline.png"),
    model: Path | None = typer.Option(None, "--model", help="action model file: a `train stad` model (RGB, scores "
                                      "the tracked people), a skeleton model that names its frame rate, or an "
                                      "ensemble JSON of such skeleton models (default: the shipped "
                                      "detect_skeleton.json, two skeleton models averaged)"),
    person_model: str | None = typer.Option(None, "--person-model", help="trained person detector whose people "
                                            "come first, BlazePose and HOG adding those it missed (default: the "
                                            "shipped detect_person.pt; none: BlazePose + HOG alone)"),
    person_model_only: bool = typer.Option(False, "--person-model-only", help="only the person detector's people "
                                           "(top-down, as parse --person-model)"),
    gt: Path | None = typer.Option(None, "--gt", help="MultiSports GT pickle: its labels and test-video order"),
    threshold: float | None = typer.Option(None, "--threshold", help="none's score: an action frame needs its "
                                           "probability above this (default 0.25)"),
    switch_cost: float | None = typer.Option(None, "--switch-cost", help="each change of a track's label costs "
                                             "this much log-probability (Viterbi; default 4; 0: frames on their own)"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
) -> None:
    from deeperaction.tasks.detect import DetectOptions
    from deeperaction.tasks.detect_outputs import detect_to_folder
    from deeperaction.tasks.tubes import TubeOptions

    def run() -> dict:
        positive(stride, "--stride")
        positive(max_frames, "--max-frames")
        if threshold is not None and not 0 < threshold < 1:
            raise InputError(f"--threshold must be in (0, 1), got {threshold}", field="--threshold")
        if switch_cost is not None and not switch_cost >= 0:
            raise InputError(f"--switch-cost must be >= 0, got {switch_cost}", field="--switch-cost")
        check_device(device)
        shard_i_n = _shard(shard)
        if gt is not None and not gt.is_file():
            raise InputError("no such MultiSports GT file", file=gt, field="--gt")
        ensure_output_folder(out, "--out")
        opts = DetectOptions(stride=stride, max_frames=max_frames, device=device,
                             action_model=str(model) if model else None,
                             person_model=person_model, person_model_only=person_model_only,
                             tubes=TubeOptions(**{k: v for k, v in (("threshold", threshold),
                                                                    ("switch_cost", switch_cost)) if v is not None}))
        with video_progress(stride, max_frames) as on_video:
            return detect_to_folder(video, out, opts, render=render, shard=shard_i_n, gt=gt, on_video=on_video,
                                    on_error=lambda e: warn(f"skipped: {e}"), on_warning=warn)

    s = guarded(run)
    if shard_empty(s, shard):
        return
    console.print(f"[green]detected[/] {s['tubes']} tube(s) in {s['videos']} video(s), {s['frames']} frames"
                  + (f", {s['failed']} failed" if s["failed"] else "") + f" -> {s['out']}", highlight=False)
    if s["failed"]:
        raise typer.Exit(EXIT_SOME_FAILED)

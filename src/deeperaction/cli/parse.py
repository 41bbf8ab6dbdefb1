"""``deeperaction parse``: part-level action parsing of any video, with offline pretrained defaults."""
from __future__ import annotations

from pathlib import Path

import typer

from deeperaction.cli.app import app
from deeperaction.cli.common import (EXIT_SOME_FAILED, check_device, console, guarded, positive, shard_empty,
                                     video_progress, warn)
from deeperaction.errors import InputError
from deeperaction.outputs import ensure_output_folder

_HELP = """Find the people in a video, their 10 body-part boxes with each part's state, and the action.

Examples:

  deeperaction parse clip.mp4 --out parsed/

  deeperaction parse videos/ --out parsed/ --stride 5 --no-render

  deeperaction parse frames_folder/ --out parsed/ --max-frames 300

  deeperaction parse videos/ --out parsed/ --shard 0/4     # one of 4 jobs; each merges what is done

  deeperaction parse clip.mp4 --out parsed/ --part-model runs/partdet/model.pt --state-model runs/parts/model.pt

  deeperaction parse clip.mp4 --out parsed/ --model models/   # bundle: bundle.json or part_model.pt, ...

Writes into OUT (a folder of videos: one sub-folder per video, merged files at OUT's root):
pred_part_result.json + pred_vid_result.json (Kinetics-TPS submission, check with
`deeperaction validate tps OUT`), parse.json (keypoints, scores, track ids, per-frame timings),
render.mp4 (people, part boxes coloured per part, states, track ids, action) and contact_sheet.png.

Exit codes: 0 ok, 2 bad input (one line each), 3 some videos of a folder failed (each named in a warning;
the others are written and merged). A video that decodes to fewer frames than its header declares
(truncated) is parsed as far as it goes, with a warning and "decoded_frames" in parse.json.

Defaults work offline: mediapipe's bundled BlazePose (full) for people and pose, OpenCV HOG for people
too small for it (a HOG box counts only with a pose in it, unless --keep-unposed), each person checked:
a pose must look like a body, a track must persist over a few parsed frames and move like a body, and
tracks end at shot cuts (listed in parse.json as "cuts"); a person's score is the probability that it is
a person (docs/parse.md). Part boxes from the keypoints, part states from kinematic rules (a documented
heuristic), the video's and each track's action from the skeleton model shipped in the package (trained on
synthetic people; --action-model none: "unknown"). Trained models (docs/parse.md):
--person-model (people top-down), --part-model (pose-guided part detector), --state-model,
--action-model, or --model DIR holding any of them (bundle.json {"person_model": ..., "part_model": ...,
"state_model": ..., "action_model": ...}); explicit options win.
"""


def _shard(spec: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in spec.split("/"))
    except ValueError:
        raise InputError(f"--shard must look like i/n (e.g. 0/4), got {spec!r}", field="shard") from None
    if not (n >= 1 and 0 <= i < n):
        raise InputError(f"--shard needs 0 <= i < n, got {spec!r}", field="shard")
    return i, n


@app.command("parse", help=_HELP)
def parse(
    video: Path = typer.Argument(..., help="a video file, a folder of frames, or a folder of videos"),
    out: Path = typer.Option(..., "--out", "-o", help="output folder (created)"),
    stride: int = typer.Option(5, "--stride", help="parse every k-th frame (Kinetics-TPS: 5)"),
    max_people: int = typer.Option(10, "--max-people", help="most people per frame"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda (for torch models)"),
    render: bool = typer.Option(True, "--render/--no-render", help="write render.mp4 and contact_sheet.png"),
    state_model: Path | None = typer.Option(None, "--state-model", help="trained part-state model"),
    action_model: str | None = typer.Option(None, "--action-model", help="action model file (default: the "
                                            "shipped skeleton model; none: no action)"),
    part_model: Path | None = typer.Option(None, "--part-model", help="trained pose-guided part detector (model.pt)"),
    person_model: Path | None = typer.Option(None, "--person-model", help="trained person detector (model.pt): "
                                             "people top-down, replaces --detector"),
    model_dir: Path | None = typer.Option(None, "--model", help="model bundle folder (bundle.json); options win"),
    detector: str = typer.Option("hog", "--detector", help="extra person detector: hog | hog+ (finer, slower) | none | WEIGHTS.pth"),
    keep_unposed: bool = typer.Option(False, "--keep-unposed", help="detector boxes without a pose are people too "
                                      "(far pedestrians; more people found, more invented on clutter)"),
    min_track_frames: int = typer.Option(3, "--min-track-frames", help="a person's track must be seen in this many "
                                         "parsed frames in a row (one miss allowed) to be written"),
    min_person_score: float = typer.Option(0.3, "--min-person-score", help="probability of being a person (one "
                                           "frame's evidence) a candidate needs to be tracked"),
    max_body_change: float = typer.Option(0.2, "--max-body-change", help="a track whose body size changes more than "
                                          "this between poses (median |log ratio|) is not a body (inf: no check)"),
    cuts: bool = typer.Option(True, "--cuts/--no-cuts", help="find shot cuts and end every track at one"),
    max_frames: int | None = typer.Option(None, "--max-frames", help="parse only the first N frames"),
    shard: str = typer.Option("0/1", "--shard", help="i/n: parse every n-th video starting at i"),
) -> None:
    from deeperaction.tasks.parse import ParseOptions
    from deeperaction.tasks.parse_folder import parse_to_folder

    def run() -> dict:
        for value, option in ((stride, "--stride"), (max_people, "--max-people"), (max_frames, "--max-frames"),
                              (min_track_frames, "--min-track-frames")):
            positive(value, option)
        if not max_body_change > 0:
            raise InputError(f"--max-body-change must be > 0, got {max_body_change}", field="max_body_change")
        if not 0.0 <= min_person_score <= 1.0:
            raise InputError(f"--min-person-score must be in [0, 1], got {min_person_score}", field="min_person_score")
        check_device(device)
        shard_i_n = _shard(shard)
        ensure_output_folder(out, "--out")  # before any model loads or frame decodes
        opts = ParseOptions(stride=stride, max_people=max_people, device=device, detector=detector,
                            max_frames=max_frames, state_model=str(state_model) if state_model else None,
                            action_model=action_model,
                            part_model=str(part_model) if part_model else None,
                            person_model=str(person_model) if person_model else None,
                            model_bundle=str(model_dir) if model_dir else None, keep_unposed=keep_unposed,
                            min_track_frames=min_track_frames, min_person_score=min_person_score,
                            max_body_change=max_body_change, shot_cuts=cuts)
        with video_progress(stride, max_frames) as on_video:
            return parse_to_folder(video, out, opts, render=render, shard=shard_i_n, on_video=on_video,
                                   on_error=lambda e: warn(f"skipped: {e}"), on_warning=warn)

    s = guarded(run)
    if shard_empty(s, shard):
        return
    t = s["timings"]
    fps = s["frames"] / s["seconds"] if s["seconds"] else 0.0
    model = t["detect"] + t["pose"]
    console.print(
        f"[green]parsed[/] {s['videos']} video(s), {s['frames']} frames ({s['parsed_frames']} parsed), "
        f"{s['tracks']} track(s), {s['cuts']} shot cut(s) in {s['seconds']:.1f} s ({fps:.1f} frames/s; "
        f"models {model:.1f} s, decode {t['decode']:.1f} s, render {t['render'] + t['encode']:.1f} s)"
        + (f", {s['failed']} failed" if s["failed"] else "") + f" -> {s['out']}", highlight=False)
    if s["failed"]:
        raise typer.Exit(EXIT_SOME_FAILED)

"""``deeperaction synth``: a synthetic human-action dataset with exact GT in every official format."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from deeperaction.cli.app import app
from deeperaction.cli.common import console, guarded, positive
from deeperaction.errors import InputError
from deeperaction.outputs import ensure_output_folder

_HELP = """Render synthetic human-action videos (H.264 MP4) with exact ground truth in the official formats.

Examples:

  deeperaction synth out/ --videos 20 --seed 0

  deeperaction synth out/ --videos 200 --task tps --size 640x480 --preset hard --workers 2

  deeperaction synth out/ --videos 5 --task tal --duration 30:60

Writes videos/*.mp4, labels/*.npz (keypoints, boxes, part boxes, part states per frame),
annotations/tps/{train,val,test}/gt_*.json (Kinetics-TPS), annotations/stad/multisports_gt.pkl and
ava_*.csv (MultiSports, AVA), annotations/tal/activitynet_gt.json (ActivityNet), and manifest.json.
The same seed gives the same labels and frames.
"""


def _parse_size(size: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must look like 320x240, got {size!r}", field="size") from None
    if w < 16 or h < 16:
        raise InputError(f"--size must be at least 16x16, got {size!r}", field="size")
    return w, h


def _parse_duration(spec: str | None) -> tuple[float, float] | None:
    if spec is None:
        return None
    try:
        lo, hi = (float(v) for v in spec.split(":"))
    except ValueError:
        raise InputError(f"--duration must look like MIN:MAX seconds, got {spec!r}", field="duration") from None
    if not 0 < lo <= hi:
        raise InputError(f"--duration needs 0 < MIN <= MAX, got {spec!r}", field="duration")
    return lo, hi


@app.command("synth", help=_HELP)
def synth(
    out: Path = typer.Argument(..., help="output folder (created)"),
    videos: int = typer.Option(10, "--videos", help="videos per task"),
    seed: int = typer.Option(0, "--seed", help="master seed: same seed, same dataset"),
    task: str = typer.Option("all", "--task", help="tps | stad | tal | all"),
    size: str = typer.Option("320x240", "--size", help="frame size WxH"),
    fps: float = typer.Option(25.0, "--fps", help="frames per second"),
    preset: str = typer.Option("default", "--preset",
                               help="easy | default | hard | street (stad: people walking in any direction) | "
                                    "overhead (street from above) | plaza (overhead; walkers stop, idlers talk "
                                    "with their hands)"),
    workers: int = typer.Option(1, "--workers", help="worker processes"),
    duration: str | None = typer.Option(None, "--duration", help="override video length range MIN:MAX seconds"),
    x264_preset: str = typer.Option("veryfast", "--x264-preset",
                                    help="encoder speed/size trade-off: ultrafast (fastest, largest) ... veryfast ... medium"),
    overwrite: bool = typer.Option(False, "--overwrite", help="OUT holds an earlier run: replace it (its videos/, "
                                   "labels/, annotations/, manifest.json; nothing else is touched)"),
) -> None:
    from deeperaction.synth import PRESETS, TASKS, generate
    from deeperaction.synth.generate import clear_earlier_run

    def run() -> Path:
        if task not in (*TASKS, "all"):
            raise InputError(f"--task must be one of {', '.join(TASKS)}, all; got {task!r}", field="task")
        if preset not in PRESETS:
            raise InputError(f"--preset must be one of {', '.join(PRESETS)}; got {preset!r}", field="preset")
        positive(videos, "--videos")
        positive(workers, "--workers")
        if fps <= 0:
            raise InputError(f"--fps must be > 0, got {fps}", field="--fps")
        wh, dur = _parse_size(size), _parse_duration(duration)
        presets = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
        if x264_preset not in presets:
            raise InputError(f"--x264-preset must be one of {', '.join(presets)}; got {x264_preset!r}",
                             field="x264-preset")
        ensure_output_folder(out, "OUT")
        held = sorted(p.name for p in out.iterdir() if not p.name.startswith(".write_check_"))
        if held and not overwrite:
            raise InputError(f"the folder is not empty ({', '.join(held[:5])}{' ...' if len(held) > 5 else ''}): a new "
                             "dataset would mix with what is there (a video could land in two splits); choose an "
                             "empty folder, or --overwrite to replace an earlier synth run", file=out, field="OUT")
        if overwrite:
            clear_earlier_run(out)
        with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, transient=True) as bar:
            job = bar.add_task("videos", total=videos * (3 if task == "all" else 1))
            return generate(out, videos=videos, seed=seed, task=task, size=wh, fps=fps, preset=preset,
                            workers=workers, duration=dur, x264_preset=x264_preset, progress=lambda d, t: bar.update(job, completed=d))

    manifest = guarded(run)
    console.print(f"[green]ok[/]: wrote {manifest}", highlight=False)

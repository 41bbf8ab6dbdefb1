"""``deeperaction convert``: between the official formats (MultiSports -> AVA, GT -> perfect predictions for TPS,
MultiSports and TAL, TPS -> CSV)."""
from __future__ import annotations

from pathlib import Path

import typer

from deeperaction.cli.app import app
from deeperaction.cli.common import console, guarded
from deeperaction.outputs import ensure_output_file, ensure_output_folder

convert_app = typer.Typer(help="Convert between the official formats.", no_args_is_help=True)
app.add_typer(convert_app, name="convert")


@convert_app.command("multisports-ava")
def multisports_ava_cmd(
    gt: Path = typer.Argument(..., help="MultiSports GT pickle"),
    out: Path = typer.Argument(..., help="output folder: gt.csv, labelmap.pbtxt (+ detections.csv)"),
    video_dets: Path | None = typer.Option(None, "--video-dets", help="video_detections.pkl to convert too"),
    fps: float = typer.Option(25.0, "--fps", help="frames per second of the videos (MultiSports: 25)"),
) -> None:
    """MultiSports tubes -> AVA keyframe CSVs at 1 Hz (whole seconds, normalized boxes), scored by `eval ava`.

    Example:

      deeperaction convert multisports-ava gt.pkl ava/ --video-dets video_detections.pkl

      deeperaction eval ava --gt ava/gt.csv --pred ava/detections.csv --labelmap ava/labelmap.pbtxt
    """
    from deeperaction.formats.convert import multisports_to_ava

    files = guarded(lambda: multisports_to_ava(gt, ensure_output_folder(out, "OUT"), fps=fps, video_dets=video_dets))
    console.print("[green]wrote[/] " + ", ".join(str(p) for p in files.values()), highlight=False)


@convert_app.command("tps-pred")
def tps_pred_cmd(
    gt_dir: Path = typer.Argument(..., help="folder with gt_vid_result.json + gt_part_result.json"),
    out: Path = typer.Argument(..., help="output folder for pred_vid_result.json + pred_part_result.json"),
) -> None:
    """A Kinetics-TPS GT set as a prediction set (one proposal per part): a perfect submission (Score 0.9999)
    to check a pipeline end to end.

    Example:

      deeperaction convert tps-pred data/tps/val out/ && deeperaction eval tps --gt data/tps/val --pred out/
    """
    from deeperaction.formats.convert import tps_gt_to_pred

    files = guarded(lambda: tps_gt_to_pred(gt_dir, ensure_output_folder(out, "OUT_DIR")))
    console.print("[green]wrote[/] " + ", ".join(str(p) for p in files), highlight=False)


@convert_app.command("multisports-pred")
def multisports_pred_cmd(
    gt: Path = typer.Argument(..., help="MultiSports GT pickle"),
    out: Path = typer.Argument(..., help="output folder for frame_detections.pkl + video_detections.pkl"),
    subset: str = typer.Option("test", "--subset", help="test (the scored split) or train"),
) -> None:
    """MultiSports GT tubes as detections (score 1): a perfect submission (every number 100).

    Example:

      deeperaction convert multisports-pred gt.pkl out/ && deeperaction eval multisports --gt gt.pkl --pred out/
    """
    from deeperaction.formats.convert import multisports_gt_to_pred

    files = guarded(lambda: multisports_gt_to_pred(gt, ensure_output_folder(out, "OUT"), subset=subset))
    console.print("[green]wrote[/] " + ", ".join(str(p) for p in files), highlight=False)


@convert_app.command("tal-pred")
def tal_pred_cmd(
    gt: Path = typer.Argument(..., help="ActivityNet-style GT JSON"),
    out: Path = typer.Argument(..., help="prediction JSON to write"),
    subset: str = typer.Option("validation", "--subset", help="the GT subset to write"),
) -> None:
    """The GT segments of one subset as predictions (score 1): a perfect submission (average mAP 1.0).

    Example:

      deeperaction convert tal-pred gt.json pred.json --subset validation && deeperaction eval tal --gt gt.json --pred pred.json
    """
    from deeperaction.formats.convert import tal_gt_to_pred

    path = guarded(lambda: tal_gt_to_pred(gt, ensure_output_file(out, "OUT"), subset=subset))
    console.print(f"[green]wrote[/] {path}", highlight=False)


@convert_app.command("tps-csv")
def tps_csv_cmd(
    path: Path = typer.Argument(..., help="Kinetics-TPS folder (gt or pred files)"),
    out: Path = typer.Argument(..., help="CSV to write"),
    kind: str = typer.Option("gt", "--kind", help="gt | pred"),
) -> None:
    """One CSV row per part proposal: video, action, frame (0-based), person, part, proposal, box, state.

    Example:

      deeperaction convert tps-csv data/tps/train parts.csv
    """
    from deeperaction.errors import InputError
    from deeperaction.formats.convert import tps_to_csv

    def run() -> int:
        if kind not in ("gt", "pred"):
            raise InputError(f"--kind must be gt or pred, got {kind!r}", field="kind")
        return tps_to_csv(path, ensure_output_file(out, "OUT"), kind)

    n = guarded(run)
    console.print(f"[green]wrote[/] {n} rows to {out}", highlight=False)

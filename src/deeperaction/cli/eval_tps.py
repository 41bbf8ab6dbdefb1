"""``deeperaction eval tps`` and ``deeperaction validate tps``: the Kinetics-TPS Score and file checks."""
from __future__ import annotations

from pathlib import Path

import typer

from deeperaction.cli.app import eval_app, validate_app
from deeperaction.cli.common import check_outputs, console, finish_eval, finish_validate, guarded
from deeperaction.errors import InputError

_EVAL_HELP = """Kinetics-TPS part-level Score, equal to the official eval_detection.py (and its IoU sweep).

Examples:

  deeperaction eval tps --gt gt_dir --pred pred_dir

  deeperaction eval tps --gt gt_dir --pred pred_dir --human-iou 0.3 --json score.json

  deeperaction eval tps --gt-vid G.json --gt-part GP.json --pred-vid P.json --pred-part PP.json

A folder must hold the official names ({gt,pred}_vid_result.json, {gt,pred}_part_result.json).
A GT video without a prediction is an error unless --allow-missing (then scored as wrong);
predicted videos outside the GT are ignored with a warning, as the official scorer does. Predicted boxes
with x2 < x1 or y2 < y1 are scored as the official scorer scores them (one warning line; --strict: error).
"""

_VALIDATE_HELP = """Check Kinetics-TPS GT or prediction files; lists every problem (exit 2 if any).

Examples:

  deeperaction validate tps pred_dir

  deeperaction validate tps gt_vid_result.json gt_part_result.json

  deeperaction validate tps my_parts.json --kind pred

PATH is a folder with the official file names or one or two files; gt/pred is told from the
names (gt_* / pred_*) unless --kind is given.
"""


def _pick(kind: str, folder: Path | None, vid: Path | None, part: Path | None) -> dict:
    if folder is None and (vid is None or part is None):
        raise InputError(f"give --{kind} FOLDER or both --{kind}-vid and --{kind}-part", field=kind)
    if folder is not None and (vid is not None or part is not None):
        raise InputError(f"give --{kind} FOLDER or --{kind}-vid/--{kind}-part, not both", field=kind)
    return {"path": folder, "vid_file": vid, "part_file": part}


@eval_app.command("tps", help=_EVAL_HELP)
def eval_tps(
    gt: Path | None = typer.Option(None, "--gt", help="GT folder (gt_vid_result.json, gt_part_result.json)"),
    pred: Path | None = typer.Option(None, "--pred", help="prediction folder (pred_*_result.json)"),
    gt_vid: Path | None = typer.Option(None, "--gt-vid", help="GT actions file {video: action}"),
    gt_part: Path | None = typer.Option(None, "--gt-part", help="GT parts file"),
    pred_vid: Path | None = typer.Option(None, "--pred-vid", help="predicted actions file"),
    pred_part: Path | None = typer.Option(None, "--pred-part", help="predicted parts file"),
    human_iou: float = typer.Option(0.5, "--human-iou", help="a matched human needs IoU > this"),
    part_iou: float = typer.Option(0.3, "--part-iou", help="a correct part needs IoU >= this"),
    allow_missing: bool = typer.Option(False, "--allow-missing",
                                       help="score GT videos without prediction as wrong instead of failing"),
    sweep: bool = typer.Option(True, "--sweep/--no-sweep", help="also the official 5x5 IoU sweep"),
    strict: bool = typer.Option(False, "--strict", help="refuse predicted boxes with x2 < x1 or y2 < y1 (default:"
                                " scored as the official scorer scores them, with a warning)"),
    json_out: Path | None = typer.Option(None, "--json", help="write the full report as JSON ('-': stdout)"),
    report_out: Path | None = typer.Option(None, "--report", help="write a self-contained HTML report here"),
    videos: Path | None = typer.Option(None, "--videos", help="folder of the videos: frames of the worst cases"),
) -> None:
    from deeperaction.formats.kinetics_tps import read_tps
    from deeperaction.metrics.tps import evaluate_tps

    def run():
        check_outputs(json_out, report_out)
        g = read_tps(kind="gt", **_pick("gt", gt, gt_vid, gt_part))
        p = read_tps(kind="pred", strict=strict, **_pick("pred", pred, pred_vid, pred_part))
        return g, p, evaluate_tps(g, p, human_iou=human_iou, part_iou=part_iou, allow_missing=allow_missing,
                                  sweep=sweep)

    g, p, report = guarded(run)
    finish_eval(report, json_out, task="tps", gt=g, pred=p, report_out=report_out, videos_dir=videos)
    if json_out is None or str(json_out) != "-":
        c = report.tables["counts"]
        console.print(f"videos {c['videos']} (action correct {c['videos_action_correct']}), frames"
                      f" {c['countable_frames']}/{c['gt_frames']} counted, humans matched"
                      f" {c['matched_humans']}/{c['gt_humans']}", highlight=False)


@validate_app.command("tps", help=_VALIDATE_HELP)
def validate_tps_cmd(
    paths: list[Path] = typer.Argument(..., help="folder(s) or file(s)"),
    kind: str | None = typer.Option(None, "--kind", help="gt or pred (default: from the file names)"),
) -> None:
    from deeperaction.formats.kinetics_tps import validate_tps

    def run():
        if kind is not None and kind not in ("gt", "pred"):
            raise InputError(f"--kind must be 'gt' or 'pred', got {kind!r}", field="kind")
        return validate_tps(paths, kind)

    problems = guarded(run)
    finish_validate(problems, ", ".join(map(str, paths)))

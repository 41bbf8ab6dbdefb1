"""``deeperaction eval ava`` and ``deeperaction validate ava``: AVA / AVA-Kinetics frame-mAP@0.5IOU."""
from __future__ import annotations

from pathlib import Path

import typer

from deeperaction.cli.app import eval_app, validate_app
from deeperaction.cli.common import check_outputs, finish_eval, finish_validate, guarded
from deeperaction.errors import InputError, ProblemList

_EVAL_HELP = """AVA frame-mAP@0.5IOU, equal to the official get_ava_performance.py (PASCAL boxes).

Examples:

  deeperaction eval ava --gt ava_val_v2.2.csv --pred detections.csv --labelmap ava_action_list_v2.2.pbtxt

  deeperaction eval ava --gt gt.csv --pred det.csv --labelmap map.pbtxt --exclusions excluded.csv --json out.json

Rows are video,timestamp,x1,y1,x2,y2,action,person|score with normalized boxes.

As in the official: ids outside the label map are dropped, the top 50 detections per keyframe are kept, detections on keyframes absent from the GT are ignored (each count is printed as a warning).
"""

_VALIDATE_HELP = """Check AVA CSV files (GT or detections); lists every problem (exit 2 if any).

Examples:

  deeperaction validate ava ava_val_v2.2.csv --kind gt --labelmap ava_action_list_v2.2.pbtxt

  deeperaction validate ava detections.csv
"""


@eval_app.command("ava", help=_EVAL_HELP)
def eval_ava(
    gt: Path = typer.Option(..., "--gt", help="ground-truth CSV"),
    pred: Path = typer.Option(..., "--pred", help="detections CSV"),
    labelmap: Path = typer.Option(..., "--labelmap", help="label map .pbtxt (e.g. 60 classes, ids 1..80)"),
    exclusions: Path | None = typer.Option(None, "--exclusions", help="CSV of video,timestamp keyframes to skip"),
    iou: float = typer.Option(0.5, "--iou", help="IoU threshold of a true positive"),
    top_k: int = typer.Option(50, "--top-k", help="detections kept per keyframe (official: 50)"),
    ties: str = typer.Option("later-first", "--ties",
                             help="order among equal scores: later-first (deterministic) or numpy (the"
                                  " official's argsort on this machine; equal to the official run here)"),
    strict: bool = typer.Option(False, "--strict", help="refuse detection boxes with x2 <= x1 or y2 <= y1 (default:"
                                " dropped with a warning, as the official scorer drops them)"),
    json_out: Path | None = typer.Option(None, "--json", help="write the full report as JSON ('-': stdout)"),
    report_out: Path | None = typer.Option(None, "--report", help="write a self-contained HTML report here"),
    videos: Path | None = typer.Option(None, "--videos", help="folder of the videos: thumbnails of the worst cases"),
) -> None:
    from deeperaction.formats.ava import read_ava_csv, read_labelmap
    from deeperaction.metrics.ava import evaluate_ava

    def run():
        check_outputs(json_out, report_out)
        if not 0.0 < iou <= 1.0:
            raise InputError(f"--iou must lie in (0, 1], got {iou}", field="iou")
        if ties not in ("later-first", "numpy"):
            raise InputError(f"--ties must be 'later-first' or 'numpy', got {ties!r}", field="ties")
        lm = read_labelmap(labelmap)
        g, p = read_ava_csv(gt, "gt"), read_ava_csv(pred, "pred", strict=strict)
        return g, p, lm, evaluate_ava(g, p, lm, exclusions=exclusions, iou=iou, top_k=top_k, ties=ties)

    g, p, lm, report = guarded(run)
    finish_eval(report, json_out, task="ava", gt=g, pred=p, labelmap=lm, report_out=report_out, videos_dir=videos)


@validate_app.command("ava", help=_VALIDATE_HELP)
def validate_ava_cmd(
    paths: list[Path] = typer.Argument(..., help="CSV files to check"),
    kind: str = typer.Option("auto", "--kind", help="gt, pred, or auto (integer 8th column = GT person ids)"),
    labelmap: Path | None = typer.Option(None, "--labelmap", help="label map .pbtxt: also check action ids"),
) -> None:
    from deeperaction.formats.ava import detect_kind, read_labelmap, validate_ava

    def run() -> ProblemList:
        if kind not in ("auto", "gt", "pred"):
            raise InputError(f"--kind must be gt, pred or auto, got {kind!r}", field="kind")
        lm = read_labelmap(labelmap) if labelmap is not None else None
        problems = ProblemList()
        for p in paths:
            problems.extend(validate_ava(p, detect_kind(p) if kind == "auto" else kind, lm))
        return problems

    finish_validate(guarded(run), ", ".join(map(str, paths)))

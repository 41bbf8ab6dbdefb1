"""``deeperaction eval tal`` and ``deeperaction validate tal``: ActivityNet/FineAction/HACS average mAP."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from deeperaction.cli.app import eval_app, validate_app
from deeperaction.cli.common import check_outputs, finish_eval, finish_validate, guarded
from deeperaction.errors import InputError, ProblemList

_EVAL_HELP = """Temporal localization average mAP, equal to the official ActivityNet scorer (FineAction, HACS).

Examples:

  deeperaction eval tal --gt fineaction_val.json --pred results.json

  deeperaction eval tal --gt gt.json --pred pred.json --subset test --tiou 0.3:0.7:0.1 --json out.json

Predictions on videos outside the subset are false positives (as in the official).

Predictions whose label is not a class of the ground-truth subset cannot change any class's AP: they are
left out with one warning (count and labels); --strict makes them an error (the official scorer crashes).
"""

_VALIDATE_HELP = """Check ActivityNet-style GT or prediction JSON files; lists every problem (exit 2 if any).

Examples:

  deeperaction validate tal gt.json

  deeperaction validate tal results.json --gt gt.json --subset validation
"""


def parse_tiou(spec: str) -> np.ndarray:
    """``"0.5:0.95:0.05"`` -> ``np.linspace(0.5, 0.95, 10)`` (the official values); ``"0.3,0.5"``; ``"0.5"``."""
    try:
        if ":" in spec:
            start, stop, step = (float(x) for x in spec.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            n = int(round((stop - start) / step)) + 1
            if abs(start + (n - 1) * step - stop) > 1e-9 * max(1.0, abs(stop)):
                raise ValueError
            thr = np.linspace(start, stop, n)
        else:
            thr = np.array([float(x) for x in spec.split(",")], dtype=np.float64)
    except ValueError:
        raise InputError(f"bad --tiou {spec!r}: use START:STOP:STEP (e.g. 0.5:0.95:0.05) or a list 0.3,0.5,0.7",
                         field="tiou") from None
    if thr.size == 0 or not np.all((thr >= 0) & (thr <= 1)):
        raise InputError(f"bad --tiou {spec!r}: thresholds must lie in [0, 1]", field="tiou")
    return thr


@eval_app.command("tal", help=_EVAL_HELP)
def eval_tal(
    gt: Path = typer.Option(..., "--gt", help="ground-truth JSON ({'database': ...})"),
    pred: Path = typer.Option(..., "--pred", help="prediction JSON ({'results': ...})"),
    subset: str = typer.Option("validation", "--subset", help="GT subset to score"),
    tiou: str = typer.Option("0.5:0.95:0.05", "--tiou", help="thresholds START:STOP:STEP or a,b,c"),
    strict: bool = typer.Option(False, "--strict", help="refuse predictions whose label is no class of the GT subset"
                                " (default: left out with a warning)"),
    ties: str = typer.Option("later-first", "--ties",
                             help="order among equal scores: later-first (deterministic) or numpy (the"
                                  " official's argsort on this machine)"),
    json_out: Path | None = typer.Option(None, "--json", help="write the full report as JSON ('-': stdout)"),
    report_out: Path | None = typer.Option(None, "--report", help="write a self-contained HTML report here"),
    videos: Path | None = typer.Option(None, "--videos", help="folder of the videos: thumbnails of the worst cases"),
) -> None:
    from deeperaction.formats.activitynet import read_activitynet_gt, read_activitynet_pred
    from deeperaction.metrics.tal import evaluate_tal

    def run():
        check_outputs(json_out, report_out)
        if ties not in ("later-first", "numpy"):
            raise InputError(f"--ties must be 'later-first' or 'numpy', got {ties!r}", field="ties")
        thr = parse_tiou(tiou)
        g = read_activitynet_gt(gt, subset)
        p = read_activitynet_pred(pred)
        return g, p, evaluate_tal(g, p, tiou_thresholds=thr, ties=ties,
                                  unknown_labels="error" if strict else "ignore")

    g, p, report = guarded(run)
    finish_eval(report, json_out, task="tal", gt=g, pred=p, report_out=report_out, videos_dir=videos)


@validate_app.command("tal", help=_VALIDATE_HELP)
def validate_tal(
    paths: list[Path] = typer.Argument(..., help="JSON files to check"),
    kind: str = typer.Option("auto", "--kind", help="gt, pred, or auto (by the top-level field)"),
    gt: Path | None = typer.Option(None, "--gt", help="GT file: also check labels, videos, durations"),
    subset: str = typer.Option("validation", "--subset", help="GT subset used with --gt"),
) -> None:
    from deeperaction.formats.activitynet import read_activitynet_gt, validate_activitynet

    def run() -> ProblemList:
        if kind not in ("auto", "gt", "pred"):
            raise InputError(f"--kind must be gt, pred or auto, got {kind!r}", field="kind")
        g = read_activitynet_gt(gt, subset) if gt is not None else None
        problems = ProblemList()
        for p in paths:
            problems.extend(validate_activitynet(p, kind, gt=g))
        return problems

    names = ", ".join(map(str, paths))
    finish_validate(guarded(run), names)

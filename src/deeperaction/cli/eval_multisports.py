"""``deeperaction eval multisports`` and ``deeperaction validate multisports``: frame/video mAP and file checks."""
from __future__ import annotations

from pathlib import Path

import typer

from deeperaction.cli.app import eval_app, validate_app
from deeperaction.cli.common import check_outputs, console, finish_eval, finish_validate, guarded
from deeperaction.errors import InputError, ProblemList

_EVAL_HELP = """MultiSports frame-mAP and video-mAP, equal to the official scorers (x100).

Examples:

  deeperaction eval multisports --gt GT.pkl --frame-dets frame_detections.pkl --video-dets video_detections.pkl

  deeperaction eval multisports --gt GT.pkl --pred submission_dir --protocol 2021 --json scores.json

  deeperaction eval multisports --gt GT.pkl --video-dets video_detections.pkl --thresholds 0.2,0.5

--protocol 2022 (default) is MCG-NJU/MultiSports evaluate_multisports.py, 2021 the ICCV 2021 CodaLab
evaluate.py. Headline: V@0.1:0.9 (mean video-mAP over 0.1, 0.2, ..., 0.9); also F@0.5, V@0.2, V@0.5 and
the ranges 0.05:0.45 and 0.5:0.95. Either detections file may be left out. Tied scores keep file order
(--tie-order numpy reproduces the official unstable sort on this numpy/CPU).
"""

_VALIDATE_HELP = """Check MultiSports pickles (GT, frame or video detections); lists every problem (exit 2 if any).

Examples:

  deeperaction validate multisports multisports_GT.pkl

  deeperaction validate multisports frame_detections.pkl video_detections.pkl --gt multisports_GT.pkl

The kind is told from the name (frame_detections*, video_detections*, else GT) unless --kind is given;
detections need --gt. Pickles are loaded with a restricted loader: only numpy arrays and plain
containers, nothing in the file can run code.
"""

_RANGES = {"0.1:0.9": None, "0.05:0.45": "V@0.05:0.45", "0.5:0.95": "V@0.5:0.95"}


def parse_thresholds(text: str) -> tuple[float, ...]:
    """``0.1:0.9`` / ``0.05:0.45`` / ``0.5:0.95`` (the official ranges) or a comma list like ``0.2,0.5``."""
    from deeperaction.metrics.multisports import OFFICIAL_RANGES

    text = text.strip()
    if text in _RANGES:
        return OFFICIAL_RANGES[_RANGES[text] or "V@0.1:0.9"]
    try:
        vals = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        vals = ()
    if not vals:
        raise InputError(f"cannot read thresholds {text!r}: use 0.1:0.9, 0.05:0.45, 0.5:0.95 or a comma list",
                         field="--thresholds")
    return vals


@eval_app.command("multisports", help=_EVAL_HELP)
def eval_multisports(
    gt: Path = typer.Option(..., "--gt", help="GT pickle (labels, test_videos, nframes, resolution, gttubes)"),
    frame_dets: Path | None = typer.Option(None, "--frame-dets", help="frame_detections.pkl (N x 8 array)"),
    video_dets: Path | None = typer.Option(None, "--video-dets", help="video_detections.pkl {label: tubes}"),
    pred: Path | None = typer.Option(None, "--pred", help="folder holding frame_detections.pkl and/or "
                                     "video_detections.pkl (the CodaLab layout)"),
    protocol: str = typer.Option("2022", "--protocol", help="2022 (evaluate_multisports.py) or 2021 (CodaLab)"),
    subset: str = typer.Option("test", "--subset", help="split scored: test (official: test_videos) or train"),
    thresholds: str = typer.Option("0.1:0.9", "--thresholds", help="video ST-IoU thresholds of the headline"),
    frame_iou: float = typer.Option(0.5, "--frame-iou", help="IoU threshold of frame-mAP"),
    tie_order: str = typer.Option("stable", "--tie-order", help="stable (file order) or numpy"),
    strict: bool = typer.Option(False, "--strict", help="refuse detection boxes with x2 < x1 or y2 < y1 (default:"
                                " scored as the official scorer scores them, with a warning)"),
    json_out: Path | None = typer.Option(None, "--json", help="write the full report as JSON ('-': stdout)"),
    report_out: Path | None = typer.Option(None, "--report", help="write a self-contained HTML report here"),
    videos: Path | None = typer.Option(None, "--videos", help="folder of the videos: thumbnails of the worst cases"),
) -> None:
    from deeperaction.formats.multisports import read_frame_detections, read_multisports_gt, read_video_detections
    from deeperaction.metrics.multisports import evaluate_multisports

    def run():
        check_outputs(json_out, report_out)
        f, v = frame_dets, video_dets
        if pred is not None:
            if not pred.is_dir():
                raise InputError("--pred must be a folder", file=pred)
            f = f or (pred / "frame_detections.pkl" if (pred / "frame_detections.pkl").exists() else None)
            v = v or (pred / "video_detections.pkl" if (pred / "video_detections.pkl").exists() else None)
            if f is None and v is None:
                raise InputError("folder holds neither frame_detections.pkl nor video_detections.pkl", file=pred)
        if f is None and v is None:
            raise InputError("give --frame-dets, --video-dets (or both), or --pred FOLDER")
        thr = parse_thresholds(thresholds)
        g = read_multisports_gt(gt).subset(subset)
        f = read_frame_detections(f, g, strict=strict) if f is not None else None
        v = read_video_detections(v, g, strict=strict) if v is not None else None
        return g, (f, v), evaluate_multisports(g, f, v, protocol=protocol, thresholds=thr, frame_iou=frame_iou,
                                               tie_order=tie_order)

    g, p, report = guarded(run)
    finish_eval(report, json_out, task="multisports", gt=g, pred=p, report_out=report_out, videos_dir=videos)
    if json_out is None or str(json_out) != "-":
        c = report.tables["classes"]
        console.print(f"classes scored {len(c['scored'])}, without GT {len(c['without_gt'])}, never scored "
                      f"{len(c['never_scored'])} (protocol {report.options['protocol']})", highlight=False)


def _kind_of(path: Path) -> str:
    name = path.name.lower()
    return "frame" if name.startswith("frame_det") else "video" if name.startswith("video_det") else "gt"


@validate_app.command("multisports", help=_VALIDATE_HELP)
def validate_multisports_cmd(
    paths: list[Path] = typer.Argument(..., help="pickles to check"),
    kind: str | None = typer.Option(None, "--kind", help="gt | frame | video (default: from the file name)"),
    gt: Path | None = typer.Option(None, "--gt", help="GT pickle (needed for detections)"),
) -> None:
    from deeperaction.formats.multisports import read_multisports_gt, validate_multisports

    def run() -> ProblemList:
        kinds = {p: kind or _kind_of(p) for p in paths}
        if kind is not None and kind not in ("gt", "frame", "video"):
            raise InputError(f"unknown --kind {kind!r}; use gt, frame or video", field="--kind")
        gt_obj = read_multisports_gt(gt) if gt is not None and any(k != "gt" for k in kinds.values()) else None
        allp = ProblemList()
        for p, k in kinds.items():
            if not p.exists():
                raise FileNotFoundError(2, "no such file", str(p))
            if k != "gt" and gt_obj is None:
                raise InputError(f"checking {k} detections needs --gt GT.pkl", file=p)
            allp.extend(validate_multisports(p, k, gt_obj))
        return allp

    problems = guarded(run)
    finish_validate(problems, ", ".join(str(p) for p in paths))

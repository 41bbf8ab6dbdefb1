"""Self-contained HTML evaluation reports (one file, images embedded, no network) for every metric.

``write_report(task, report, gt, pred, out)`` analyses the inputs and writes the page;
``build_report_data(task, report, gt, pred)`` is the JSON-ready analysis that ``eval --json`` stores
under ``"report_data"``, so that ``write_report_from_json(results_json, out)`` (``deeperaction report``)
rebuilds the same page without the inputs. Headline, per-class and per-threshold numbers always come
from the metric's :class:`~deeperaction.metrics.report.Report`; the analyses add diagnostics.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from deeperaction.errors import InputError
from deeperaction.metrics.report import Report
from deeperaction.viz.html import esc, fmt, page, section

TASKS = ("tps", "multisports", "tal", "ava")
DATA_VERSION = 1
TITLES = {"tps": "Kinetics-TPS part-level parsing", "multisports": "MultiSports spatio-temporal detection",
          "tal": "Temporal action localization", "ava": "AVA spatio-temporal detection"}


def jsonable(x: Any) -> Any:
    """Nested numpy/python values -> JSON-ready (nan/inf -> None, numpy scalars -> python)."""
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    return x


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; use one of {', '.join(TASKS)}", field="task")


def build_report_data(task: str, report: Report, gt: Any, pred: Any, *,
                      labelmap: Mapping[int, str] | None = None) -> dict:
    """The diagnostics a report shows beyond ``report`` (curves, confusions, error breakdowns), JSON-ready.

    ``gt``/``pred`` are what the format readers return: TpsSet; MultiSportsGT and ``(frame_dets,
    video_dets)`` (either None); TalGT/TalPred; AvaBoxes (pass the AVA ``labelmap`` {id: name}).
    """
    _check_task(task)
    opt = report.options
    if task == "tal":
        from deeperaction.viz.analysis_tal import analyze_tal
        analysis = analyze_tal(gt, pred, opt.get("tiou_thresholds", np.linspace(0.5, 0.95, 10)),
                               ties=opt.get("ties", "later-first"))
    elif task == "multisports":
        from deeperaction.viz.analysis_det import analyze_multisports
        frame_dets, video_dets = pred if isinstance(pred, tuple) else (pred, None)
        analysis = analyze_multisports(gt, frame_dets, video_dets, protocol=opt.get("protocol", "2022"),
                                       frame_iou=opt.get("frame_iou", 0.5))
    elif task == "ava":
        from deeperaction.viz.analysis_det import analyze_ava
        analysis = analyze_ava(gt, pred, labelmap, iou=opt.get("iou", 0.5), top_k=opt.get("top_k", 50))
    else:
        from deeperaction.viz.analysis_tps import analyze_tps
        from deeperaction.viz.tps_frames import worst_frames
        analysis = analyze_tps(gt, pred, human_iou=opt.get("human_iou", 0.5), part_iou=opt.get("part_iou", 0.3))
        analysis["worst_frames"] = worst_frames(gt, pred, report, analysis)
    return jsonable({"version": DATA_VERSION, "task": task, "analysis": analysis})


def render_html(results: Mapping[str, Any], *, videos_dir: Path | None = None) -> str:
    """The page from a results dict: ``Report.to_dict()`` plus ``"report_data"``."""
    from deeperaction import __version__ as version

    data = results.get("report_data")
    if not isinstance(data, Mapping) or data.get("task") not in TASKS or "analysis" not in data:
        raise InputError("no report data: run `deeperaction eval ... --json OUT` with this version", field="report_data")
    task = data["task"]
    thumbs: dict[str, str] = {}
    if videos_dir is not None:
        from deeperaction.viz.thumbs import make_thumbs
        thumbs = make_thumbs(task, data["analysis"], Path(videos_dir))
    if task == "tal":
        from deeperaction.viz.render_tal import sections_tal as make
    elif task == "tps":
        from deeperaction.viz.render_tps import sections_tps as make
    elif task == "multisports":
        from deeperaction.viz.render_det import sections_multisports as make
    else:
        from deeperaction.viz.render_det import sections_ava as make
    try:
        sections = make(results, data, thumbs)
    except (KeyError, IndexError, TypeError, ValueError) as e:  # a hand-edited or truncated report_data
        what = f"missing key {e.args[0]!r}" if isinstance(e, KeyError) and e.args else f"{type(e).__name__}: {e}"
        raise InputError(f"report_data is incomplete or malformed ({what}): write it again with "
                         f"`deeperaction eval {task} ... --json`", field="report_data") from None
    warnings = results.get("warnings") or []
    if warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
        sections.append(("warnings", "Warnings", section("warnings", "Warnings", f"<ul>{items}</ul>", cls="warn",
                                                         note="What the official rules ignored or dropped.")))
    opts = results.get("options") or {}
    meta = (f"metric <b>{esc(results.get('metric', task))}</b> &middot; "
            + " &middot; ".join(f"{esc(k)}={esc(_short(v))}" for k, v in opts.items()))
    head = results.get("headline", {})
    digits = 2 if task == "multisports" else 4
    return page(f"{TITLES[task]}: evaluation report", head.get("name", ""), head.get("value"), meta, sections,
                version, digits)


def _short(v: Any) -> str:
    s = fmt(v) if isinstance(v, float) else json.dumps(v) if isinstance(v, (list, dict)) else str(v)
    return s if len(s) <= 60 else s[:57] + "..."


def write_report(task: str, report: Report, gt: Any, pred: Any, out: Path, *, videos_dir: Path | None = None,
                 labelmap: Mapping[int, str] | None = None) -> Path:
    """Analyse, render and write the HTML report of one evaluation; returns ``out``."""
    results = report.to_dict()
    results["report_data"] = build_report_data(task, report, gt, pred, labelmap=labelmap)
    return _write(render_html(results, videos_dir=videos_dir), out)


def write_report_from_json(results_json: Path | str | Mapping[str, Any], out: Path, *,
                           videos_dir: Path | None = None) -> Path:
    """Rebuild the report from an ``eval --json`` results file (or its parsed dict)."""
    if isinstance(results_json, Mapping):
        results = results_json
    else:
        from deeperaction.formats.jsonio import load_json

        path = Path(results_json)
        if not path.is_file():
            raise InputError("no such file", file=path)
        results = load_json(path)  # binary or broken JSON: one line naming the file (and line, column)
        if not isinstance(results, Mapping) or "report_data" not in results:
            raise InputError("no 'report_data' in this results file: write it with `deeperaction eval ... --json`"
                             " (the JSON of an eval run)", file=path, field="report_data")
    return _write(render_html(results, videos_dir=videos_dir), out)


def _write(text: str, out: Path) -> Path:
    from deeperaction.outputs import ensure_output_file, write_atomic

    return write_atomic(ensure_output_file(out, "--out"), text)

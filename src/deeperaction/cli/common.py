"""CLI plumbing shared by commands: error handling to exit codes, report tables, JSON output."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from deeperaction.errors import InputError
from deeperaction.outputs import ensure_output_file, write_atomic

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

EXIT_OK, EXIT_INTERNAL, EXIT_USER, EXIT_SOME_FAILED = 0, 1, 2, 3
"""Exit codes: 0 ok; 1 internal error (a bug: please report it); 2 bad input, one line per problem;
3 some inputs of a folder failed (each named in a warning line), the others were processed and written."""


def positive(value: int | float | None, option: str, minimum: int | float = 1) -> None:
    """A numeric option must be >= ``minimum``: one line naming the option and the value otherwise."""
    if value is not None and value < minimum:
        raise InputError(f"{option} must be >= {minimum}, got {value}", field=option)


def check_device(device: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N``, and CUDA only where torch sees a GPU (no silent CPU fallback)."""
    if device not in ("cpu", "cuda") and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise InputError(f"--device must be cpu, cuda or cuda:N, got {device!r}", field="--device")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: no CUDA GPU is visible to torch here (torch "
                             f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); use --device cpu",
                             field="--device")
        if ":" in device and int(device[5:]) >= torch.cuda.device_count():
            raise InputError(f"--device {device}: only {torch.cuda.device_count()} GPU(s) visible", field="--device")
    return device


def guarded(fn: Callable[[], T]) -> T:
    """Run ``fn``; a user mistake (InputError, missing file) prints one line per problem and exits 2."""
    try:
        return fn()
    except InputError as e:
        for p in e.problems:
            err_console.print(f"[bold red]error:[/] {p}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USER)
    except FileNotFoundError as e:
        err_console.print(f"[bold red]error:[/] {e.filename or e}: no such file", highlight=False)
        raise typer.Exit(EXIT_USER)
    except IsADirectoryError as e:
        err_console.print(f"[bold red]error:[/] {e.filename or e}: is a directory, expected a file",
                          highlight=False)
        raise typer.Exit(EXIT_USER)
    except PermissionError as e:
        err_console.print(f"[bold red]error:[/] {e.filename or e}: permission denied", highlight=False)
        raise typer.Exit(EXIT_USER)


@contextmanager
def video_progress(stride: int, max_frames: int | None) -> Iterator[Callable[[Path, int], Callable[[int], None]]]:
    """A transient progress bar for a pipeline over videos: yields ``on_video(path, n_frames)``, which adds one
    bar per video and returns its ``on_frame(i)`` (frames done, every ``stride``-th frame reported)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        def on_video(path: Path, n_frames: int) -> Callable[[int], None]:
            total = min(n_frames, max_frames or n_frames)
            job = bar.add_task(path.name[:40], total=total)
            return lambda i: bar.update(job, completed=min(i + stride, total))

        yield on_video


def shard_empty(summary: dict, shard: str) -> bool:
    """Say so and return True when no input of a folder falls to this ``--shard`` (a pipeline's summary)."""
    if summary["shard_videos"]:
        return False
    console.print(f"nothing to do for shard {shard}: {summary['inputs']} input(s) in all, none falls to this shard",
                  highlight=False)
    return True


def warn(message: str) -> None:
    """Print a warning line to stderr."""
    err_console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


def fmt(v: Any, digits: int = 4) -> str:
    """Format a number for a table (nan/None shown as '-')."""
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:.{digits}f}"
    return str(v)


def print_report(report, *, max_rows: int = 200) -> None:
    """Print a metric report: headline first, then per-threshold and per-class tables."""
    console.print(f"[bold]{report.metric}[/]  {report.headline_name} = [bold green]{fmt(report.headline, 6)}[/]",
                  highlight=False)
    if report.per_threshold:
        t = Table(title="per threshold", title_justify="left")
        t.add_column("threshold")
        t.add_column("value", justify="right")
        for k, v in report.per_threshold.items():
            t.add_row(str(k), fmt(v))
        console.print(t)
    if report.per_class:
        t = Table(title="per class", title_justify="left")
        t.add_column("class")
        t.add_column("value", justify="right")
        for i, (k, v) in enumerate(report.per_class.items()):
            if i >= max_rows:
                t.add_row(f"... {len(report.per_class) - max_rows} more (see --json)", "")
                break
            t.add_row(str(k), fmt(v))
        console.print(t)
    for w in report.warnings:
        warn(w)


def check_outputs(json_out: Path | None, report_out: Path | None = None) -> None:
    """Before the (long) work of an eval: the ``--json`` and ``--report`` files can be written."""
    if json_out is not None and str(json_out) != "-":
        ensure_output_file(json_out, "--json")
    if report_out is not None:
        ensure_output_file(report_out, "--report")


def write_json(obj: Any, path: Path | None) -> None:
    """Write ``obj`` as JSON to ``path`` ('-' for stdout); nothing if ``path`` is None."""
    if path is None:
        return
    text = json.dumps(obj, indent=2, allow_nan=False)
    if str(path) == "-":
        sys.stdout.write(text + "\n")
    else:
        write_atomic(ensure_output_file(path, "--json"), text + "\n")


def finish_eval(report, json_out: Path | None, *, task: str | None = None, gt: Any = None, pred: Any = None,
                report_out: Path | None = None, videos_dir: Path | None = None, labelmap: Any = None) -> None:
    """Common tail of every ``eval`` command: table, warnings, optional JSON, optional HTML report.

    With ``report_out`` the error analyses of ``deeperaction.viz`` run on ``gt``/``pred`` (the objects the
    format readers returned); their data is kept under ``"report_data"`` in the JSON as well, so
    ``deeperaction report RESULTS.json`` can rebuild the page later.
    """
    results = report.to_dict()
    if report_out is not None:
        from deeperaction.viz.report import build_report_data, write_report_from_json

        def make_report() -> None:
            if videos_dir is not None and not Path(videos_dir).is_dir():
                raise InputError("no such folder of videos", file=videos_dir, field="videos")
            results["report_data"] = build_report_data(task, report, gt, pred, labelmap=labelmap)
            write_report_from_json(results, report_out, videos_dir=videos_dir)

        guarded(make_report)
    if json_out is not None and str(json_out) == "-":
        for w in report.warnings:
            warn(w)
    else:
        print_report(report)
        if report_out is not None:
            console.print(f"report: [bold]{report_out}[/]", highlight=False)
    write_json(results, json_out)


def finish_validate(problems, what: str) -> None:
    """Print every validation problem and exit 2 if any, else print a one-line OK."""
    if problems:
        for p in problems.items:
            err_console.print(f"[bold red]error:[/] {p}", highlight=False, soft_wrap=True)
        if problems.overflow:
            err_console.print(f"[bold red]error:[/] ... and {problems.overflow} more problems")
        err_console.print(f"{len(problems)} problem(s) found in {what}")
        raise typer.Exit(EXIT_USER)
    console.print(f"[green]ok[/]: {what} is valid", highlight=False)

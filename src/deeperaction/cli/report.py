"""``deeperaction report RESULTS.json -o out.html``: rebuild the HTML evaluation report from an eval's JSON."""
from __future__ import annotations

from pathlib import Path

import typer

from deeperaction.cli.app import app
from deeperaction.cli.common import console, guarded
from deeperaction.outputs import ensure_output_file

_HELP = """Rebuild the self-contained HTML report (one file, no network) from the JSON of an eval run.

Examples:

  deeperaction eval tal --gt gt.json --pred pred.json --json results.json

  deeperaction report results.json -o report.html

  deeperaction report results.json -o report.html --videos videos/   # thumbnails of the worst cases

The JSON must hold "report_data" (written by `deeperaction eval ... --json`).
"""


@app.command("report", help=_HELP)
def report_cmd(
    results: Path = typer.Argument(..., help="results JSON of `deeperaction eval ... --json`"),
    out: Path = typer.Option(Path("report.html"), "-o", "--out", help="HTML file to write"),
    videos: Path | None = typer.Option(None, "--videos", help="folder of the videos (or frame folders): "
                                                              "draw the worst cases"),
) -> None:
    from deeperaction.viz.report import write_report_from_json

    def run() -> Path:
        if videos is not None and not videos.is_dir():
            raise FileNotFoundError(2, "no such folder", str(videos))
        ensure_output_file(out, "--out")
        return write_report_from_json(results, out, videos_dir=videos)

    path = guarded(run)
    console.print(f"[green]wrote[/] {path}", highlight=False)

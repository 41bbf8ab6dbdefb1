"""``deeperaction bench [eval|decode|parse|...]``: run the repository's benchmarks (``bench/``) and print
their table. The benchmarks generate their own large inputs, so they live in the source checkout, not in
the installed package."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from deeperaction.cli.app import app
from deeperaction.cli.common import guarded
from deeperaction.errors import InputError

GROUPS = {"eval": ("eval_tps", "eval_multisports", "eval_tal", "eval_ava")}
"""Names that stand for several benchmarks."""

_HELP = """Run benchmarks and print one table (wall and CPU seconds, peak memory, speed-up against the
official tools). Names: the modules bench/bench_NAME.py of the source checkout, or `eval` for the four
metric benchmarks; none given: all of them (as `make bench`).

Examples:

  deeperaction bench eval

  deeperaction bench parse decode --json bench.json

  deeperaction bench eval_tps --quick
"""


def bench_root(start: Path | None = None, source: Path | None = None) -> Path:
    """The checkout holding ``bench/run.py``: the current folder or a parent, else the package's source tree."""
    here = (start or Path.cwd()).resolve()
    source = source or Path(__file__).resolve().parents[3]  # src/deeperaction/cli/bench.py -> checkout
    for d in (here, *here.parents, source):
        if (d / "bench" / "run.py").is_file():
            return d
    raise InputError("the benchmarks live in the source checkout (bench/run.py); run this inside a clone of"
                     " deeperaction")


def expand(names: list[str], known: list[str]) -> list[str]:
    """Group names expanded, order kept, duplicates dropped; an unknown name is an InputError."""
    out: list[str] = []
    for n in names:
        for m in GROUPS.get(n, (n,)):
            if m not in known:
                raise InputError(f"unknown benchmark {m!r}; have {', '.join([*GROUPS, *known])}", field="names")
            if m not in out:
                out.append(m)
    return out


@app.command("bench", help=_HELP)
def bench_cmd(
    names: list[str] = typer.Argument(None, help="benchmarks (default: all)"),
    quick: bool = typer.Option(False, "--quick", help="smaller inputs, for a smoke run"),
    json_out: Path | None = typer.Option(None, "--json", help="also write the rows as JSON"),
) -> None:
    def run() -> int:
        root = bench_root()
        known = sorted(p.stem[len("bench_"):] for p in (root / "bench").glob("bench_*.py"))
        chosen = expand(names or [], known)
        cmd = [sys.executable, "-m", "bench.run", *chosen, *(["--quick"] if quick else []),
               *(["--json", str(json_out.resolve())] if json_out else [])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
        return subprocess.run(cmd, cwd=root, env=env).returncode

    rc = guarded(run)
    if rc:
        raise typer.Exit(rc)

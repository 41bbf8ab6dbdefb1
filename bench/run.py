"""Run the benchmarks and print one table.

Every ``bench/bench_<name>.py`` is run as ``python -m bench.bench_<name>`` in its own process (so peak
memory is its own) and must print, as its last stdout line, a JSON list of rows::

    {"bench": "eval", "case": "tps", "wall_s": 0.41, "cpu_s": 0.40, "peak_mib": 310.0,
     "reference_s": 11.8, "note": "932 videos, 50k frames"}

``cpu_s`` (optional) is the process CPU time of the timed part: on a shared, loaded machine it is the
steadier number, so the table shows both.

``reference_s`` (optional) is the time of the reference implementation (e.g. the official scorer);
the table shows the speed-up against it. Usage: ``python -m bench.run [NAME ...] [--json OUT]``.

Among them: ``parse`` (frames/s and stage shares of ``deeperaction parse``), ``persons`` (people found vs
invented on hand-counted frames of real footage, person checks off and on, and the checks' share of time),
``detect``, ``decode``, ``eval_*`` (the metrics against the official scorers).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Names of the benchmark modules in this folder (``bench_<name>.py`` -> ``name``)."""
    return sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))


def run_one(name: str, extra: list[str]) -> list[dict]:
    """Run one benchmark module in a subprocess and parse its rows."""
    proc = subprocess.run([sys.executable, "-m", f"bench.bench_{name}", *extra], cwd=HERE.parent,
                          capture_output=True, text=True)
    sys.stderr.write(proc.stderr[-4000:])
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        return [{"bench": name, "case": "FAILED", "wall_s": None, "peak_mib": None,
                 "note": f"exit {proc.returncode}"}]
    return json.loads(lines[-1])


def _short(note: str, n: int = 90) -> str:
    """Notes are cut for the table; the JSON (``--json``) keeps them whole."""
    return note if len(note) <= n else note[: n - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(discover())})")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    ap.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    args = ap.parse_args(argv)
    names = args.names or discover()
    unknown = sorted(set(names) - set(discover()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have {', '.join(discover())}", file=sys.stderr)
        return 2
    rows: list[dict] = []
    for name in names:
        Console(stderr=True).print(f"[bold]running bench {name}...[/]")
        rows += run_one(name, ["--quick"] if args.quick else [])
    table = Table(title="deeperaction benchmarks")
    for col in ("bench", "case", "wall s", "cpu s", "peak MiB", "reference s", "speed-up", "note"):
        table.add_column(col, justify="left" if col in ("bench", "case", "note") else "right")
    for r in rows:
        wall, ref = r.get("wall_s"), r.get("reference_s")
        table.add_row(str(r.get("bench")), str(r.get("case")),
                      "-" if wall is None else f"{wall:.3f}",
                      "-" if r.get("cpu_s") is None else f"{r['cpu_s']:.3f}",
                      "-" if r.get("peak_mib") is None else f"{r['peak_mib']:.0f}",
                      "-" if ref is None else f"{ref:.1f}",
                      "-" if (ref is None or not wall) else f"{ref / wall:.0f}x",
                      _short(str(r.get("note", ""))))
    Console(width=max(Console().width, 180)).print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(r.get("case") != "FAILED" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

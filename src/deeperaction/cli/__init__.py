"""Command-line interface: a thin typer layer over the Python API (``deeperaction --help``)."""
from __future__ import annotations

import importlib

from deeperaction.cli.app import app

# Each module registers its commands on the app; a module not written yet is skipped.
_COMMAND_MODULES = ("eval_tps", "eval_multisports", "eval_tal", "eval_ava", "synth", "parse", "detect", "localize",
                    "train", "report", "bench", "convert")
for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(f"deeperaction.cli.{_name}")
    except ModuleNotFoundError as _e:
        if _e.name != f"deeperaction.cli.{_name}":
            raise


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]

"""deeperaction: localized, detailed understanding of human actions in video.

The Python API twins of the CLI are importable from here; heavy modules load on first use, so
``import deeperaction`` stays cheap (metrics and formats never pull in torch).
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "parse": ("deeperaction.tasks.parse", "parse_video"),
    "parse_to_folder": ("deeperaction.tasks.parse_folder", "parse_to_folder"),
    "ParseOptions": ("deeperaction.tasks.parse", "ParseOptions"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'deeperaction' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]

"""The result object every metric returns: a headline number plus breakdowns, JSON-ready."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _plain(x: Any) -> Any:
    """Convert numpy scalars/arrays and nested containers into JSON-ready Python values (nan -> None)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return None if math.isnan(v) else v
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


@dataclass
class Report:
    """A metric's result.

    ``headline`` is the number as the official scorer reports it (e.g. MultiSports is x100).
    ``per_class``/``per_threshold``/``per_video`` are flat name -> value maps; ``tables`` holds any
    further breakdowns (nested dicts); ``warnings`` lists what the official rules ignored or dropped,
    with counts, so that nothing is dropped silently.
    """

    metric: str
    headline_name: str
    headline: float
    per_class: dict[str, float] = field(default_factory=dict)
    per_threshold: dict[str, float] = field(default_factory=dict)
    per_video: dict[str, float] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"metric", "headline": {"name", "value"}, ...breakdowns}``."""
        return _plain({
            "metric": self.metric,
            "headline": {"name": self.headline_name, "value": self.headline},
            "options": self.options,
            "per_threshold": self.per_threshold,
            "per_class": self.per_class,
            "per_video": self.per_video,
            **self.tables,
            "warnings": self.warnings,
        })

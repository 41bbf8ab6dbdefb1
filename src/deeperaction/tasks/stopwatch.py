"""Seconds per pipeline stage, kept by one helper rather than ``perf_counter`` pairs threaded through the
pipeline's logic."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGES = ("decode", "detect", "pose", "checks", "track", "states", "parts", "action", "render", "encode", "write")
"""The stages of ``parse`` (and their order in its summaries)."""


class Stopwatch:
    """Seconds per pipeline stage: ``with watch("pose"): ...`` adds the block's time to ``seconds["pose"]``;
    ``watch.lap("decode")`` adds the time since the last block or lap ended (an iterator's ``next``)."""

    def __init__(self, stages: tuple[str, ...] = STAGES):
        self.seconds = dict.fromkeys(stages, 0.0)
        self._mark = time.perf_counter()

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self._mark = time.perf_counter()
            self.seconds[stage] += self._mark - t0

    def lap(self, stage: str) -> float:
        now = time.perf_counter()
        dt, self._mark = now - self._mark, now
        self.seconds[stage] += dt
        return dt

    def skip(self) -> None:
        """Start the next lap now, counting the time since the last mark nowhere."""
        self._mark = time.perf_counter()

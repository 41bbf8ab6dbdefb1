"""Run logging on rank 0: one JSON line per record (``metrics.jsonl``), TensorBoard if installed, a progress
bar on a terminal; :class:`ThroughputMeter`, which splits wall time into waiting-for-data and the rest; and
:class:`GpuIdleMeter`, the share of time the GPU itself had nothing to do (CUDA events)."""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class ThroughputMeter:
    """Counts clips and splits time: ``wait`` (the host blocked on the loader + host-to-device copy) vs
    ``total``. On a CPU that is the time compute waited for data. On CUDA it is host time only: the GPU may
    still be running queued work meanwhile (or the host may block inside a copy because the queue is
    full), so there the starvation figure is :class:`GpuIdleMeter`'s ``gpu_idle_share``.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.clips, self.wait, self.t0 = 0, 0.0, time.perf_counter()

    def add(self, clips: int, wait_s: float) -> None:
        self.clips += clips
        self.wait += wait_s

    def summary(self) -> dict[str, float]:
        total = max(1e-9, time.perf_counter() - self.t0)
        return {"clips_per_s": self.clips / total, "data_wait_share": self.wait / total, "wall_s": total}


class GpuIdleMeter:
    """Share of wall time the GPU stream sat idle between training steps, from CUDA events: one recorded as
    the first GPU work of a step is queued (before its host-to-device copy) and one after its optimizer
    step. The stream reaches step i's first event only after finishing step i-1 and after the host queued
    it, so ``elapsed(end[i-1], begin[i])`` is exactly the time the GPU waited for the host (data, Python)
    and 0 when the host runs ahead. Records cost no synchronisation; :meth:`summary` waits for the last
    event (call it where the loop synchronises anyway). ``event`` makes the events (tests pass fakes)."""

    def __init__(self, event=None) -> None:
        if event is None:
            import torch

            event = lambda: torch.cuda.Event(enable_timing=True)  # noqa: E731
        self._event = event
        self.reset()

    def reset(self) -> None:
        self.begins: list = []
        self.ends: list = []

    def begin(self) -> None:
        e = self._event()
        e.record()
        self.begins.append(e)

    def end(self) -> None:
        e = self._event()
        e.record()
        self.ends.append(e)

    def summary(self) -> dict[str, float]:
        """``gpu_idle_share`` (idle gaps / span from the first step's start to the last step's end) and
        ``gpu_busy_ms_per_step``; empty before two whole steps."""
        n = min(len(self.begins), len(self.ends))
        if n < 2:
            return {}
        self.ends[n - 1].synchronize()
        span = self.begins[0].elapsed_time(self.ends[n - 1])
        idle = sum(self.ends[i - 1].elapsed_time(self.begins[i]) for i in range(1, n))
        return {"gpu_idle_share": idle / max(span, 1e-9), "gpu_busy_ms_per_step": (span - idle) / n}


class RunLogger:
    """Writes records to ``OUT/metrics.jsonl`` (and TensorBoard) on the main rank; no-op elsewhere."""

    def __init__(self, out: str | Path, main: bool = True, progress: bool = True):
        self.main = main
        self.out = Path(out)
        self.tb = None
        self.bar: Progress | None = None
        self.task = None
        if not main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        self.file = open(self.out / "metrics.jsonl", "a", buffering=1)
        try:
            from torch.utils.tensorboard import SummaryWriter  # needs the optional `tensorboard` package
            self.tb = SummaryWriter(str(self.out / "tb"))
        except ImportError:
            self.tb = None
        if progress and sys.stderr.isatty():
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), TextColumn("{task.fields[info]}"), transient=False)
            self.bar.start()

    def start_epoch(self, epoch: int, steps: int) -> None:
        if self.bar is not None:
            if self.task is not None:
                self.bar.remove_task(self.task)
            self.task = self.bar.add_task(f"epoch {epoch}", total=steps, info="")

    def advance(self, info: str = "") -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, advance=1, info=info)

    def log(self, kind: str, step: int, **values: Any) -> None:
        """One record: ``{"kind", "step", "time", **values}``; floats rounded, non-finite as null."""
        if not self.main:
            return
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else
                     round(v, 6) if isinstance(v, float) else v) for k, v in values.items()}
        self.file.write(json.dumps({"kind": kind, "step": step, "time": round(time.time(), 3), **clean}) + "\n")
        if self.tb is not None:
            for k, v in clean.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    self.tb.add_scalar(f"{kind}/{k}", v, step)
        if self.bar is None and kind != "step":
            parts = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in clean.items())
            print(f"[{kind} {step}] {parts}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if not self.main:
            return
        if self.bar is not None:
            self.bar.stop()
        if self.tb is not None:
            self.tb.close()
        self.file.close()


def read_metrics(path: str | Path) -> list[dict]:
    """All records of a ``metrics.jsonl``."""
    return [json.loads(ln) for ln in Path(path).read_text().splitlines() if ln.strip()]

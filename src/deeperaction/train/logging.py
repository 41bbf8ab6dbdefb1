"""Run logging on rank 0: one JSON line per record (``metrics.jsonl``), TensorBoard if installed, a progress
bar on a terminal; and :class:`ThroughputMeter`, which splits wall time into waiting-for-data and the rest."""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class ThroughputMeter:
    """Counts clips and splits time: ``wait`` (blocked on the loader + host-to-device copy) vs ``total``.

    The wait share is what the accelerator could be starved of: with asynchronous CUDA the loop blocks on
    the loader only when the next batch is not ready, so a share near 0 means data keeps up.
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

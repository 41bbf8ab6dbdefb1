"""Helpers for benchmark modules: timing, peak memory of this process, row output."""
from __future__ import annotations

import json
import resource
import time
from contextlib import contextmanager


def peak_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@contextmanager
def timer():
    """``with timer() as t: ...`` then ``t()`` gives the elapsed seconds."""
    t0 = time.perf_counter()
    box = [None]
    yield lambda: box[0] if box[0] is not None else time.perf_counter() - t0
    box[0] = time.perf_counter() - t0


def emit(rows: list[dict]) -> None:
    """Print the rows as the last stdout line, for ``bench.run``."""
    print(json.dumps(rows))


def generate_inputs(gen_module: str, quick: bool) -> str:
    """Run ``python -m bench.<gen_module> [--quick]`` in a child process (so its memory is not this
    process's peak) and return the input size name, ``"quick"`` or ``"full"``."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", f"bench.{gen_module}", *(["--quick"] if quick else [])], check=True,
                   stdout=subprocess.DEVNULL)
    return "quick" if quick else "full"

"""Generate FineAction-test-sized ActivityNet JSON (4000 videos, 106 classes, 400k predictions) for the TAL bench.

Run in its own process so the benchmark's peak memory is the metric's only: ``python -m bench.gen_tal
[--quick]``. Files are cached under ``bench_out/tal/<size>/`` (git-ignored) and reused when present.
Segments sit on a 0.04 s grid (25 fps), so many tIoUs fall exactly on a threshold, as in real data.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1] / "bench_out" / "tal"
SIZES = {"full": (4000, 106, 400_000), "quick": (400, 106, 40_000)}


def generate(out: Path, n_videos: int, n_classes: int, n_preds: int, seed: int = 0) -> None:
    """Write ``gt.json`` and ``pred.json`` into ``out``: ~6 GT segments per video, predictions mostly
    jittered copies of GT segments (right or wrong class) plus background ones, unique-ish float scores."""
    rng = np.random.default_rng(seed)
    labels = [f"action_{i:03d}" for i in range(n_classes)]
    vids = [f"v_{i:06d}" for i in range(n_videos)]
    dur = np.round(rng.uniform(30, 300, n_videos), 2)
    n_gt = rng.poisson(6, n_videos) + 1
    gv = np.repeat(np.arange(n_videos), n_gt)
    glen = np.clip(rng.lognormal(1.0, 1.0, len(gv)), 0.2, 60)
    gs = np.round(rng.uniform(0, 1, len(gv)) * np.maximum(dur[gv] - glen, 0) / 0.04) * 0.04
    ge = np.minimum(np.round((gs + glen) / 0.04) * 0.04, dur[gv])
    gc = rng.integers(0, n_classes, len(gv))
    db = {v: {"subset": "validation", "duration": float(d), "fps": 25.0, "annotations": []}
          for v, d in zip(vids, dur.tolist())}
    for v, s, e, c in zip(gv.tolist(), gs.tolist(), ge.tolist(), gc.tolist()):
        db[vids[v]]["annotations"].append({"segment": [round(s, 2), round(e, 2)], "label": labels[c]})
    near = int(n_preds * 0.7)
    src = rng.integers(0, len(gv), near)
    jit = np.round(rng.normal(0, 0.15, (near, 2)) * (ge - gs)[src, None] / 0.04) * 0.04
    ps = np.concatenate([gs[src] + jit[:, 0], rng.uniform(0, 1, n_preds - near)])
    pe = np.concatenate([ge[src] + jit[:, 1], rng.uniform(0, 1, n_preds - near)])
    pv = np.concatenate([gv[src], rng.integers(0, n_videos, n_preds - near)])
    pc = np.concatenate([np.where(rng.random(near) < 0.6, gc[src], rng.integers(0, n_classes, near)),
                         rng.integers(0, n_classes, n_preds - near)])
    bg = slice(near, None)
    ps[bg] *= dur[pv[bg]]
    pe[bg] = ps[bg] + np.clip(rng.lognormal(1.0, 1.0, n_preds - near), 0.2, 60)
    ps, pe = np.clip(np.minimum(ps, pe), 0, dur[pv]), np.clip(np.maximum(ps, pe), 0, dur[pv])
    score = rng.random(n_preds)
    order = np.argsort(pv, kind="stable")
    res: dict[str, list] = {v: [] for v in vids}
    for v, s, e, c, sc in zip(pv[order].tolist(), ps[order].tolist(), pe[order].tolist(), pc[order].tolist(),
                              score[order].tolist()):
        res[vids[v]].append({"label": labels[c], "score": sc, "segment": [round(s, 2), round(e, 2)]})
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "gt.json", "w") as f:
        json.dump({"version": "bench", "taxonomy": [], "database": db}, f)
    with open(out / "pred.json", "w") as f:
        json.dump({"version": "VERSION 1.3", "external_data": {"used": False}, "results": res}, f)


def ensure(size: str) -> Path:
    """Folder of the cached inputs of ``size`` (``full``/``quick``), generated if missing."""
    out = ROOT / size
    if not ((out / "gt.json").is_file() and (out / "pred.json").is_file()):
        generate(out, *SIZES[size])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="400 videos, 40k predictions")
    print(ensure("quick" if ap.parse_args().quick else "full"))


if __name__ == "__main__":
    main()

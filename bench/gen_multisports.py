"""Generate a MultiSports-test-sized synthetic case (GT + frame + video detections) under ``bench_out/``.

Full size mirrors the official test set: 700 videos, ~16k GT tubes, 936k frame detections (plus ~40k
detected tubes). Cached: regenerated only if missing. ``python -m bench.gen_multisports [--quick]``.
"""
from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np

from deeperaction.formats.multisports import MULTISPORTS_LABELS

OUT = Path(__file__).resolve().parents[1] / "bench_out" / "multisports"
SPORTS = ("aerobic", "volleyball", "football", "basketball")


def case_dir(quick: bool) -> Path:
    return OUT / ("quick" if quick else "full")


def generate(quick: bool = False, seed: int = 0) -> Path:
    """Write gt.pkl, frame_detections.pkl, video_detections.pkl for the chosen size; return the folder."""
    d = case_dir(quick)
    if all((d / f).exists() for f in ("gt.pkl", "frame_detections.pkl", "video_detections.pkl")):
        return d
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_videos, n_tubes, n_frame_dets = (70, 1600, 93_600) if quick else (700, 16_000, 936_000)
    labels = list(MULTISPORTS_LABELS)
    by_sport = {s: [i for i, n in enumerate(labels) if n.startswith(s)] for s in SPORTS}
    videos = [f"{SPORTS[i % 4]}/v_{i:04d}" for i in range(n_videos)]
    nframes = {v: int(rng.integers(400, 1100)) for v in videos}
    gttubes: dict[str, dict[int, list[np.ndarray]]] = {v: {} for v in videos}
    vdets: dict[int, list] = {i: [] for i in range(len(labels))}
    gt_rows = []
    for _ in range(n_tubes):
        iv = int(rng.integers(n_videos))
        v = videos[iv]
        lab = int(rng.choice(by_sport[SPORTS[iv % 4]]))
        length = int(rng.integers(10, 60))
        s = int(rng.integers(1, nframes[v] - length + 2))
        xy = rng.uniform([0, 0], [1100, 500])
        wh = rng.uniform([40, 100], [160, 300])
        walk = np.cumsum(rng.normal(0, 2.0, (length, 2)), axis=0)
        boxes = np.c_[xy + walk, xy + walk + wh]
        tube = np.c_[np.arange(s, s + length), boxes].astype(np.float32)
        gttubes[v].setdefault(lab, []).append(tube)
        gt_rows.append(np.c_[np.full(length, iv), tube[:, 0], np.full(length, lab), tube[:, 1:]])
        for _k in range(int(rng.integers(1, 4))):  # detected tubes: jittered, trimmed/extended in time
            a = int(rng.integers(0, max(1, length // 4)))
            b = length - int(rng.integers(0, max(1, length // 4)))
            det = tube[a:b].astype(np.float64)
            det[:, 1:] += rng.normal(0, 6.0, (len(det), 4))
            dlab = lab if rng.random() < 0.85 else int(rng.choice(by_sport[SPORTS[iv % 4]]))
            vdets[dlab].append((v, float(rng.random()), np.c_[det, rng.random(len(det))].astype(np.float32)))
    gt_rows = np.concatenate(gt_rows)
    pick = rng.integers(0, len(gt_rows), n_frame_dets)
    fd = np.empty((n_frame_dets, 8))
    fd[:, [0, 1, 2]] = gt_rows[pick][:, [0, 1, 2]]
    fd[:, 4:8] = gt_rows[pick][:, 3:7] + rng.normal(0, 8.0, (n_frame_dets, 4))
    noise = rng.random(n_frame_dets) < 0.25  # false positives: wrong class or random frame
    fd[noise, 2] = rng.integers(0, len(labels), int(noise.sum()))
    fd[noise, 1] = np.maximum(1, fd[noise, 1] + rng.integers(-30, 30, int(noise.sum())))
    fd[:, 3] = rng.random(n_frame_dets)
    gt = {"labels": labels, "train_videos": [[]], "test_videos": [videos], "nframes": nframes,
          "resolution": {v: (720, 1280) for v in videos}, "gttubes": gttubes}
    for name, obj in (("gt", gt), ("frame_detections", fd), ("video_detections", vdets)):
        with open(d / f"{name}.pkl", "wb") as fh:
            pickle.dump(obj, fh, protocol=4)
    return d


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    print(generate(ap.parse_args().quick))

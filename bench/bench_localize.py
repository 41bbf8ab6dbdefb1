"""Benchmark ``deeperaction localize`` and its features.

Rows: video-backbone feature extraction (r3d_18 at 112x112, windows of 16 frames every 8, batch 8, random
weights: the speed is the same) in clips/s; skeleton features (the shipped skeleton model over a parse) in rows/s;
localization from cached features (the shipped localizer, relation + fusion on) in videos/s; and ``localize``
end to end on a 5-minute 320x240 synthetic ``tal`` video (parse every 4th frame, skeleton features, localizer,
timeline), with the share of wall time per stage.
Usage: ``python -m bench.bench_localize [--quick]`` (quick: a 1-minute video, fewer clips).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench._util import emit, peak_mib


def main() -> None:
    import torch

    from deeperaction.synth import generate
    from deeperaction.tasks.localize import LocalizeOptions, localize_to_folder
    from deeperaction.tasks.tal_features import video_feature_net, video_features
    from deeperaction.tasks.tal_predictor import load_tal_predictor

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a 1-minute video, fewer clips")
    args = ap.parse_args()
    seconds = 60.0 if args.quick else 300.0
    load = f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, videos=1, seed=11, task="tal", size=(320, 240), duration=(seconds, seconds))
        video = next((Path(tmp) / "videos").glob("*.mp4"))

        net = video_feature_net(name="r3d_18", weights=None)
        t0 = time.perf_counter()
        feats, _ = video_features(video, net, backbone="r3d_18", window=16, stride=8, size=112, batch=8,
                                  n_frames=160 if args.quick else 400)
        wall = time.perf_counter() - t0
        rows.append({"bench": "localize", "case": "features_r3d18_112", "wall_s": round(wall, 3),
                     "peak_mib": round(peak_mib(), 1), "reference_s": None,
                     "note": f"{len(feats)} clips of 16 frames, {len(feats) / wall:.2f} clips/s (decode included); "
                             f"{load}"})

        out = Path(tmp) / "loc"
        t0 = time.perf_counter()
        s = localize_to_folder(video, out, LocalizeOptions(stride=4), render=True)
        wall = time.perf_counter() - t0
        t = {k: 0.0 for k in ("decode", "detect", "pose", "track", "features", "localize", "render", "write",
                              "load")} | s["timings"]
        share = {k: round(100 * v / wall, 1) for k, v in t.items()}
        rows.append({"bench": "localize", "case": f"end_to_end_{int(seconds)}s_320x240", "wall_s": round(wall, 3),
                     "peak_mib": round(peak_mib(), 1), "reference_s": None,
                     "note": f"{seconds / wall:.1f}x real time, {s['segments']} segments; % wall: decode "
                             f"{share['decode']}, people {share['detect']}, pose {share['pose']}, track "
                             f"{share['track']}, skeleton features {share['features']}, localizer "
                             f"{share['localize']}, timeline {share['render']}, model load {share['load']}; {load}"})

        model = load_tal_predictor("default")
        from deeperaction.formats.features import read_features

        f, meta = read_features(next((out / "features").glob("*.npy")))
        reps = 5 if args.quick else 20
        t0 = time.perf_counter()
        for _ in range(reps):
            model.predict(f, meta, duration=seconds)
        wall = time.perf_counter() - t0
        rows.append({"bench": "localize", "case": "localizer_from_features", "wall_s": round(wall, 3),
                     "peak_mib": round(peak_mib(), 1), "reference_s": None,
                     "note": f"{reps} x a {int(seconds)} s video ({len(f)} rows): {reps / wall:.1f} videos/s; {load}"})
    emit(rows)


if __name__ == "__main__":
    main()

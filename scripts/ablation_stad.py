"""The STAD ablation ladder on synthetic data, end to end: generate -> train every rung -> score the held-out
videos of another seed with the official MultiSports metrics -> a markdown table.

    python scripts/ablation_stad.py --videos 24 --epochs 4 --device cpu       # small CPU run (~10 min, 2 cores)
    python scripts/ablation_stad.py --videos 400 --epochs 12 --device cuda --backbone r3d_18

Rungs (each adds one block to the one before): RoI baseline (person RoI features on the video trunk) -> +
context (person -> feature-map cells and person -> other people) -> + memory (long-term feature bank of the same
track at other times, filled by a frozen pass of the trained "+ context" model, as in LFB) -> + pose parts (10 part
boxes from the keypoints, SE-weighted, fused into the person feature).

People are the GT boxes (tubes + the generator's idle people) at every ``--keyframe-stride``-th frame of the
held-out videos; each gets its class scores. Every rung is scored after its last epoch (nothing is chosen on
the held-out set). Frame-mAP@0.5: the official frame-AP at exactly those frames. Video-mAP@0.5: per GT track,
the class scores linearly interpolated between its keyframes over its visible frames, turned into tubes by
:mod:`deeperaction.tasks.tubes` (its defaults; none scores ``--tube-threshold`` in its Viterbi), scored against the
full GT tubes. Seeds: 0 trains (all its videos), 1 is held out (all its videos). ``--reuse`` keeps the models
of an earlier run and only scores them again.
"""
from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from deeperaction.formats.multisports import read_multisports_gt, write_multisports_gt, write_video_detections
from deeperaction.metrics.multisports import evaluate_multisports
from deeperaction.models.stad import stad_from_file
from deeperaction.schema import Tube
from deeperaction.synth import generate
from deeperaction.tasks.tubes import TubeOptions, track_tubes
from deeperaction.train.stad import StadData, frame_map, load_stad_config, predict_people, stad_data, train_stad

RUNGS: list[tuple[str, dict[str, bool]]] = [
    ("RoI baseline", {"context": False, "memory": False, "pose_parts": False}),
    ("+ context (cells, people)", {"context": True, "memory": False, "pose_parts": False}),
    ("+ memory (feature bank)", {"context": True, "memory": True, "pose_parts": False}),
    ("+ pose parts (SE)", {"context": True, "memory": True, "pose_parts": True}),
]


def make_set(out: Path, seed: int, n: int, size: tuple[int, int], preset: str, split: str) -> Path:
    """``n`` synthetic STAD videos of ``seed``, all listed as ``split`` ("train" or "test") in a GT pickle of
    their own (the generator keeps ~30 % of them out of its train list)."""
    src = out / f"seed{seed}"
    if not (src / "manifest.json").is_file():
        generate(src, videos=n, seed=seed, task="stad", size=size, preset=preset, workers=min(4, os.cpu_count() or 1))
    dst = out / f"set{seed}"
    gt = read_multisports_gt(src / "annotations" / "stad" / "multisports_gt.pkl")
    vids = list(gt.nframes)
    write_multisports_gt(dst / "annotations" / "stad" / "multisports_gt.pkl", labels=gt.labels,
                         videos={v: (gt.nframes[v], gt.resolution[v]) for v in vids},
                         train_videos=vids if split == "train" else [], test_videos=vids if split == "test" else [],
                         tubes=gt.tubes(vids))
    for name in ("videos", "labels"):
        if not (dst / name).exists():
            (dst / name).symlink_to((src / name).resolve())
    return dst


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of True as ``(start, end)``, end exclusive."""
    m = np.diff(np.r_[0, np.asarray(mask, np.int8), 0])
    return list(zip(np.flatnonzero(m == 1).tolist(), np.flatnonzero(m == -1).tolist()))


def predicted_tubes(data: StadData, rows: np.ndarray, probs: np.ndarray, opts: TubeOptions) -> list[Tube]:
    """Tubes of every held-out GT track: keyframe scores interpolated over each visible stretch -> tubes."""
    t, cache = data.val_set.table, data.val_set.cache
    per: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = defaultdict(list)
    for (i, p), pr in zip(rows.tolist(), probs):
        per[(int(t.video[i]), int(t.track[i, p]))].append((int(t.frame[i]), pr))
    out: list[Tube] = []
    for (v, tid), items in per.items():
        video = t.videos[v]
        track = next(tr for tr in video.tracks if tr.id == tid)
        items.sort(key=lambda a: a[0])
        kf = np.array([f for f, _ in items])
        sc = np.stack([pr for _, pr in items])
        fps = cache.videos[cache.by_id[video.id]].fps * cache.step
        for s, e in runs_of(track.present):
            inside = (kf >= s) & (kf < e)
            if not inside.any():
                continue
            frames = np.arange(s, e)
            curve = np.stack([np.interp(frames, kf[inside], sc[inside, c]) for c in range(sc.shape[1])], 1)
            out += [tube for _, tube in track_tubes(video.id, tid, frames, track.boxes[s:e], curve,
                                                    data.val_gt.labels, fps, opts)]
    return out


def score_rung(cfg: dict, model_path: str, device: str, work: Path, opts: TubeOptions) -> dict[str, float]:
    """Frame-mAP@0.5 and video-mAP@0.5 (fractions) of a trained model on the held-out set."""
    net, _ = stad_from_file(model_path)
    data = stad_data(cfg, net)
    net.to(device)
    rows, probs = predict_people(net, data.val_set, cfg["stad"]["loss"], device, cfg["train"]["batch_size"])
    fm = frame_map(data.eval_gt, data.val_set.table, rows, probs)
    tubes = predicted_tubes(data, rows, probs, opts)
    path = work / "video_detections.pkl"
    write_video_detections(path, data.val_gt.labels, tubes)
    rep = evaluate_multisports(data.val_gt, video_dets=path)
    return {"frame_map": fm, "video_map": rep.per_threshold["V@0.5"] / 100.0,
            "video_map_02": rep.per_threshold["V@0.2"] / 100.0, "tubes": len(tubes)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=int, default=24, help="training videos (seed 0); held out: max(6, videos // 3)")
    ap.add_argument("--val-videos", type=int, default=0, help="held-out videos (seed 1); 0 = max(6, videos // 3)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--backbone", default="", help="video trunk (default tiny3d on cpu, r3d_18 on cuda)")
    ap.add_argument("--batch", type=int, default=0, help="batch size (default 8 on cpu, 32 on cuda)")
    ap.add_argument("--keyframe-stride", type=int, default=8)
    ap.add_argument("--size", default="160x120", help="frame size WxH of the synthetic videos")
    ap.add_argument("--preset", default="easy")
    ap.add_argument("--seed", type=int, default=0, help="training seed (initialisation, order, flips)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads on cpu (1: fastest on shared cores)")
    ap.add_argument("--tube-threshold", type=float, default=TubeOptions.threshold,
                    help="none's score in the tube builder's Viterbi (tasks.tubes)")
    ap.add_argument("--reuse", action="store_true", help="keep the models an earlier run left in OUT/runs")
    ap.add_argument("--out", default="runs/ablation_stad")
    a = ap.parse_args()
    gpu = a.device == "cuda"
    if not gpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the engine takes CUDA whenever it sees one
    elif not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    if a.threads and not gpu:
        torch.set_num_threads(a.threads)
    t_start = time.perf_counter()
    out = Path(a.out)
    size = tuple(int(v) for v in a.size.split("x"))
    train = make_set(out, 0, a.videos, size, a.preset, "train")
    val = make_set(out, 1, a.val_videos or max(6, a.videos // 3), size, a.preset, "test")
    common = [f"data.root={train}", f"data.val_root={val}", f"data.cache={out / 'cache'}",
              f"data.cache_size=[{size[1]}, {size[0]}]", f"data.workers={4 if gpu else 0}",
              f"model.name={a.backbone or ('r3d_18' if gpu else 'tiny3d')}", f"train.epochs={a.epochs}",
              f"train.batch_size={a.batch or (32 if gpu else 8)}", f"stad.keyframe_stride={a.keyframe_stride}",
              f"train.seed={a.seed}", f"train.eval_every={a.epochs}", "optim.warmup_epochs=0.3",
              "train.progress=false", "train.log_every=20"]  # evaluated once, at the end: no pick on held-out data
    rows, context_model = [], ""
    for k, (name, switches) in enumerate(RUNGS):
        t0 = time.perf_counter()
        run = out / "runs" / f"rung{k}"
        sets = [f"stad.{key}={str(v).lower()}" for key, v in switches.items()]
        if switches["memory"]:
            sets.append(f"stad.memory_model={context_model}")
        cfg = load_stad_config(None, common + sets + [f"train.out={run}"])
        model_path = run / "model.pt"
        if not (a.reuse and model_path.is_file()):
            train_stad(cfg)
        if name.startswith("+ context"):
            context_model = str(model_path)
        scores = score_rung(cfg, str(model_path), a.device, run, TubeOptions(threshold=a.tube_threshold))
        wall = time.perf_counter() - t0
        rows.append((name, scores, wall))
        print(f"[{name}] frame-mAP@0.5 {scores['frame_map']:.3f} video-mAP@0.5 {scores['video_map']:.3f} "
              f"({scores['tubes']} tubes) {wall:.0f} s", flush=True)
    total = time.perf_counter() - t_start
    print()
    print("| rung | frame-mAP@0.5 | video-mAP@0.5 | video-mAP@0.2 | train + eval (s) |")
    print("|---|---|---|---|---|")
    for name, s, wall in rows:
        print(f"| {name} | {s['frame_map']:.3f} | {s['video_map']:.3f} | {s['video_map_02']:.3f} | {wall:.0f} |")
    print()
    print(f"Made by `python scripts/ablation_stad.py --videos {a.videos} --epochs {a.epochs} --device {a.device}"
          f" --tube-threshold {a.tube_threshold:g}`: "
          f"{a.videos} training videos (seed 0), {a.val_videos or max(6, a.videos // 3)} held-out (seed 1), "
          f"{a.size} {a.preset}, official MultiSports metrics (2022 protocol) as fractions, GT person boxes. "
          f"Wall time {total / 60:.1f} min on {a.device}.")


if __name__ == "__main__":
    main()

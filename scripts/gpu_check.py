"""Every trainer and every predictor of the toolkit for a few steps on CUDA, one line each: the first thing to
run whenever a GPU is lent (``bash scripts/gpu_check.sh``; under 3 minutes on one H200).

Trainers (``deeperaction train``): video action (r3d_18), skeleton action, part states, video-level states,
pose-guided part detector, person detector; each a handful of steps on a tiny synthetic TPS set, bf16, with
the loop's GPU idle share. Then the training loop under ``torch.cuda.set_sync_debug_mode``: host syncs per
step (0 expected outside logging). Predictors (``deeperaction parse --device cuda``): each trained model on a
synthetic video. Without CUDA it says so and exits 0; ``--device cpu`` runs the same on the CPU (slow; to
check this script). Needs PyAV and mediapipe (on a bare GPU machine they travel as wheels).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _line(ok: bool, name: str, seconds: float, detail: str) -> bool:
    print(f"{'OK  ' if ok else 'FAIL'} {name:<50} {seconds:6.1f} s  {detail}", flush=True)
    return ok


def _run(args: list[str], env: dict) -> tuple[bool, float, str]:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "deeperaction", *args], capture_output=True, text=True, env=env,
                       cwd=REPO)
    tail = (p.stdout + p.stderr).strip().splitlines()
    return p.returncode == 0, time.perf_counter() - t0, (tail[-1] if tail else "")[:160]


def _metrics(run: Path) -> str:
    """Last loss and GPU idle share of a run's metrics.jsonl."""
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()] if (run / "metrics.jsonl").is_file() else []
    steps = [r for r in rows if r.get("kind") in ("step", "epoch")]
    losses = [r["loss"] for r in rows if r.get("kind") == "step"]
    idle = [r["gpu_idle_share"] for r in steps if "gpu_idle_share" in r]
    out = f"loss {losses[0]:.3f} -> {losses[-1]:.3f}" if losses else "no loss logged"
    if idle:
        out += f", GPU idle {100 * idle[-1]:.0f}%"
    clips = [r["clips_per_s"] for r in rows if r.get("kind") == "epoch" and "clips_per_s" in r]
    return out + (f", {clips[-1]:.0f} samples/s" if clips else "")


def trainers(data: Path, work: Path, env: dict, steps: int) -> dict[str, Path]:
    """Train each family briefly; returns the model files that were written."""
    train, val = data / "a/annotations/tps/train", data / "b/annotations/tps/train"
    common = [f"data.root={train}", f"data.val_root={val}", "data.workers=2", f"train.max_steps={steps}",
              "train.epochs=1000", "train.eval_every=1000", "train.log_every=1", "train.progress=false"]
    video = ["data.clip_len=8", "data.test_clips=1", "train.batch_size=4"]
    cache = [f"data.cache={work / 'cache'}"]
    jobs = [
        ("action: video r3d_18", "tps", "configs/tps_r3d18.yaml", video + ["data.cache="]),
        ("action: skeleton", "tps", "configs/tps_skeleton.yaml", ["data.clip_len=16", "train.batch_size=4"]),
        ("part states: RoI head", "parts", "configs/parts_r3d18.yaml", video + cache + ["parts.kind=part_state"]),
        ("part states: video level", "parts", "configs/parts_r3d18.yaml", video + cache + ["parts.kind=video_states"]),
        ("part detector: pose-guided", "partdet", "configs/partdet_r18.yaml", ["train.batch_size=8", "partdet.crop=128"]),
        ("person detector", "persondet", "configs/persondet_r18.yaml", ["train.batch_size=4", "persondet.size=320"]),
    ]
    models = {}
    for name, family, cfg, extra in jobs:
        out = work / name.split(":")[0].replace(" ", "_") / name.split(":")[-1].strip().replace(" ", "_")
        sets = [a for s in common + extra + [f"train.out={out}"] for a in ("--set", s)]
        ok, sec, last = _run(["train", family, cfg, *sets], env)
        _line(ok, f"train {name}", sec, _metrics(out) if ok else last)
        model = next((out / f for f in ("model.pt", "best.pt") if (out / f).is_file()), None)
        if ok and model is not None:
            models[name] = model
    return models


def sync_check(device: str, steps: int) -> None:
    """The training loop with CUDA's sync debug mode on: synchronising calls per step (logging excluded)."""
    import torch

    from deeperaction.train.action import action_task
    from deeperaction.train.config import load_config
    from deeperaction.train.engine import fit

    class Clips(torch.utils.data.Dataset):
        def __len__(self):
            return 8 * (steps + 2)

        def __getitem__(self, i):
            return torch.randint(0, 255, (8, 128, 171, 3), dtype=torch.uint8), i % 4

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(None, ["model.name=r3d_18", "data.clip_len=8", "data.workers=2", "train.batch_size=8",
                                 "train.epochs=1", f"train.out={tmp}", "train.progress=false",
                                 "train.log_every=1000000", "optim.warmup_epochs=0"])
        task = action_task(cfg, Clips(), None, 4)
        if device == "cuda":
            torch.cuda.set_sync_debug_mode("warn")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = fit(task, cfg)
        if device == "cuda":
            torch.cuda.set_sync_debug_mode(0)
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    n = res["step"]
    where = sorted({f"{Path(w.filename).name}:{w.lineno}" for w in syncs})[:4]
    _line(device != "cuda" or len(syncs) <= 2, "training loop host syncs", time.perf_counter() - t0,
          f"{len(syncs)} syncs in {n} steps (epoch end and start excluded: <= 2 allowed) {' '.join(where)}"
          f"; GPU idle {100 * res['throughput'].get('gpu_idle_share', float('nan')):.0f}%")


def predictors(data: Path, work: Path, models: dict[str, Path], env: dict, device: str) -> None:
    """``parse`` with each trained model on one synthetic video."""
    video = sorted((data / "b/videos").glob("*.mp4"))[0]
    option = {"action: video r3d_18": "--action-model", "action: skeleton": "--action-model",
              "part states: RoI head": "--state-model", "part states: video level": "--state-model",
              "part detector: pose-guided": "--part-model", "person detector": "--person-model"}
    for name, path in models.items():
        out = work / "parse" / name.replace(":", "").replace(" ", "_")
        ok, sec, last = _run(["parse", str(video), "--out", str(out), "--no-render", "--max-frames", "20",
                              "--device", device, option[name], str(path)], env)
        detail = last
        if ok and (out / "parse.json").is_file():
            p = json.loads((out / "parse.json").read_text())
            frames = p.get("frames", [])
            detail = f"{len(frames)} frames, {sum(len(f.get('persons', [])) for f in frames)} people, action {p.get('action')!r}"
        _line(ok, f"parse {option[name]} ({name})", sec, detail)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--steps", type=int, default=6, help="optimizer steps per trainer")
    ap.add_argument("--work", type=Path, default=None, help="folder for data and runs (default: a temp folder)")
    a = ap.parse_args()
    import torch

    if a.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: needs a CUDA GPU (torch.cuda.is_available() is False here); nothing was run. "
              "Run it on a lent GPU, or with --device cpu to check the script.")
        return 0
    work = a.work or Path(tempfile.mkdtemp(prefix="gpu_check_"))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "0")}
    if a.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    t0 = time.perf_counter()
    from deeperaction.synth import generate

    data = work / "data"
    if not (data / "b/videos").is_dir():
        generate(data / "a", videos=8, seed=0, task="tps", size=(160, 120), preset="easy", duration=(2.0, 3.0))
        generate(data / "b", videos=4, seed=1, task="tps", size=(160, 120), preset="easy", duration=(2.0, 3.0))
    name = torch.cuda.get_device_name(0) if a.device == "cuda" else "cpu"
    _line(True, f"synthetic data on {name}", time.perf_counter() - t0, f"12 videos in {data}")
    models = trainers(data, work / "runs", env, a.steps)
    sync_check(a.device, a.steps)
    predictors(data, work, models, env, a.device)
    print(f"gpu_check: done in {time.perf_counter() - t0:.0f} s; outputs in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

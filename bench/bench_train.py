"""Training throughput: torchvision r3d_18's bare step on data already on the device vs our whole loop
(clip cache -> DataLoader workers -> pinned copy -> device augmentation -> bf16 step), same model and shapes.

On CUDA: 16x112x112 clips, batch 32, bf16 autocast, channels_last_3d; also inference clips/s, peak GPU
memory and the loop's GPU idle share (CUDA events between steps: the time the GPU waited for the host). Without CUDA (or with ``--quick``) a small CPU configuration. Toy videos are written and cached
in a separate process first (``bench_out/train/``), so this process's peak memory is the training's.
Usage: ``python -m bench.bench_train [--quick] [--steps N]``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from bench._util import emit, peak_mib

OUT = Path("bench_out/train")


def settings(cuda: bool, quick: bool) -> dict:
    """Shapes and sizes of the run: the issue's GPU setting, or a CPU one that finishes in about a minute."""
    if cuda and not quick:
        return {"model": "r3d_18", "batch": 32, "clip": 16, "crop": 112, "size": [128, 171], "videos": 128,
                "frames": 48, "repeat": 16, "steps": 60, "workers": min(12, os.cpu_count() or 1)}
    return {"model": "r3d_18", "batch": 4, "clip": 4, "crop": 56, "size": [64, 80], "videos": 16, "frames": 24,
            "repeat": 2, "steps": 6, "workers": 1}


def make_data(s: dict) -> Path:
    """Write the toy videos and their clip cache in a child process (cached on disk between runs)."""
    root = OUT / f"toy_{s['videos']}x{s['frames']}_{s['size'][0]}x{s['size'][1]}"
    code = (
        "import sys; from pathlib import Path\n"
        "from deeperaction.datasets.toy import write_toy_tps\n"
        "from deeperaction.datasets.tps_folder import tps_items\n"
        "from deeperaction.datasets.clip_cache import build_clip_cache\n"
        f"root = Path({str(root)!r})\n"
        f"if not (root / 'gt_vid_result.json').is_file(): write_toy_tps(root, {s['videos']}, {s['frames']}, "
        f"tuple({s['size']}), seed=0, speed=2.0)\n"
        "items, _ = tps_items(root)\n"
        f"build_clip_cache([(i.video_id, i.path) for i in items], root / 'cache', tuple({s['size']}), "
        f"workers={max(1, s['workers'])})\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    return root


def raw_step_rate(s: dict, device: torch.device, steps: int) -> tuple[float, float]:
    """Clips/s of the bare torchvision training step on a batch already on the device; and inference."""
    from torchvision.models.video import r3d_18
    cuda = device.type == "cuda"
    model = r3d_18(num_classes=4).to(device)
    fmt = torch.channels_last_3d if cuda else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(s["batch"], 3, s["clip"], s["crop"], s["crop"], device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 4, (s["batch"],), device=device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)

    def run(n: int, train: bool) -> float:
        sync = torch.cuda.synchronize if cuda else (lambda: None)
        sync()
        t0 = time.perf_counter()
        for _ in range(n):
            with amp:
                if train:
                    loss = F.cross_entropy(model(x).float(), y)
                else:
                    with torch.no_grad():
                        model(x)
            if train:
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        sync()
        return n * s["batch"] / (time.perf_counter() - t0)

    model.train()
    run(max(2, steps // 5), True)  # warm-up (cuDNN autotuning)
    train_rate = run(steps, True)
    model.eval()
    run(2, False)
    return train_rate, run(steps, False)


def our_loop_rate(s: dict, root: Path, device: torch.device, steps: int) -> dict:
    """Our engine end to end on the cached toy videos; throughput of the second (warm) epoch."""
    from deeperaction.datasets.clips import CachedClips
    from deeperaction.datasets.tps_folder import tps_items
    from deeperaction.train.action import action_task
    from deeperaction.train.config import load_config
    from deeperaction.train.engine import fit, seed_everything
    items, classes = tps_items(root)
    repeat = max(1, -(-steps * s["batch"] // len(items)))
    cfg = load_config(None, [f"model.name={s['model']}", f"data.clip_len={s['clip']}", f"data.crop={s['crop']}",
                             f"data.workers={s['workers']}", f"train.batch_size={s['batch']}", "train.epochs=2",
                             f"train.out={OUT / 'run'}", "train.progress=false", "train.log_every=1000000",
                             "data.frame_stride=2", "optim.warmup_epochs=0"])
    seed_everything(0)
    train_set = CachedClips(root / "cache", items * repeat, s["clip"], 2, train=True)
    res = fit(action_task(cfg, train_set, None, len(classes)), cfg)
    return {**res["throughput"], "clips": steps * s["batch"],
            "gpu_mem_gib": torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="the small CPU configuration even on a GPU")
    ap.add_argument("--steps", type=int, default=0, help="timed steps (default by configuration)")
    args = ap.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    s = settings(device.type == "cuda", args.quick)
    steps = args.steps or s["steps"]
    root = make_data(s)
    shape = f"{s['model']} {s['batch']}x{s['clip']}x{s['crop']}x{s['crop']} on {device.type}"
    raw_train, raw_infer = raw_step_rate(s, device, steps)
    ours = our_loop_rate(s, root, device, steps)
    n = ours["clips"]
    mem = f", GPU peak {ours['gpu_mem_gib']:.1f} GiB" if ours["gpu_mem_gib"] is not None else ""
    emit([
        {"bench": "train", "case": "raw torchvision step (data on device)", "wall_s": n / raw_train,
         "peak_mib": peak_mib(), "note": f"{shape}: {raw_train:.1f} clips/s train, {raw_infer:.1f} infer"},
        {"bench": "train", "case": "our loop (cache->workers->device aug)", "wall_s": n / ours["clips_per_s"],
         "peak_mib": peak_mib(), "reference_s": n / raw_train,
         "note": f"{ours['clips_per_s']:.1f} clips/s = {ours['clips_per_s'] / raw_train:.2f}x raw; "
                 + (f"GPU idle {100 * ours['gpu_idle_share']:.1f}% (CUDA events), " if "gpu_idle_share" in ours else "")
                 + f"host data wait {100 * ours['data_wait_share']:.1f}%{mem}"},
    ])


if __name__ == "__main__":
    main()

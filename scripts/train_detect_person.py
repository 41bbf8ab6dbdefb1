"""Train the person detector ``detect`` uses by default (``deeperaction/data/models/detect_person.pt``): the
package's small FCOS detector (``train persondet``: tiny trunk, 64-d FPN, 320 px) fitted on rendered synthetic
``stad`` scenes, where people stand close, overlap and cross, so that it finds the people BlazePose's
whole-frame search misses or merges there. ``detect`` runs it next to BlazePose and HOG (which keep finding
real people, whom it was never shown): its boxes first, a pose looked for in each, then the whole-frame poses
and HOG boxes of the people it missed.

Data: ``--videos`` ``stad`` videos (``--preset default``, 320x240, seed ``--seed``) for training and
``--val-videos`` more (seed ``--seed`` + 1) for choosing the epoch, every person's box on every 5th frame
(the generator's exact labels written as Kinetics-TPS GT, the layout ``train persondet`` reads).

    python scripts/train_detect_person.py [--videos 48] [--val-videos 8] [--seed 310] [--epochs 8] [--install]

Measured with one torch thread (``--threads 1``): rendering ~2 min, training ~8 min an epoch (6 frames/s),
63 min in all; held-out AP50 0.867. ``--install`` copies the model into the package.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "src" / "deeperaction" / "data" / "models" / "detect_person.pt"
SIZE = (320, 240)


def boxes_set(root: Path, *, videos: int, seed: int) -> Path:
    """Render ``videos`` stad videos into ``root`` (unless there) and write every person's box as
    Kinetics-TPS GT; returns the GT folder."""
    from deeperaction.formats.kinetics_tps import write_tps
    from deeperaction.synth import generate, ground_truth, make_spec
    from deeperaction.synth.export import to_video_parse

    if not (root / "manifest.json").is_file():
        print(f"rendering {videos} stad videos (seed {seed}) into {root}", flush=True)
        generate(root, videos=videos, seed=seed, task="stad", size=SIZE, preset="default")
    gt = {}
    for i in range(videos):
        vp = to_video_parse(ground_truth(make_spec("stad", i, seed, size=SIZE, preset="default")))
        vp.action = "stad"  # the TPS layout names one action a video; the person boxes are what is read
        gt[vp.video_id] = vp
    out = root / "annotations" / "tps" / "train"
    write_tps(out, gt, kind="gt")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=48)
    ap.add_argument("--val-videos", type=int, default=8)
    ap.add_argument("--seed", type=int, default=310)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "detect_person")
    ap.add_argument("--install", action="store_true", help="copy the model into the package")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from deeperaction.models.checkpoint import load_checkpoint, save_checkpoint
    from deeperaction.train.person_detector import load_person_detector_config, train_person_detector

    train = boxes_set(a.out / "train", videos=a.videos, seed=a.seed)
    val = boxes_set(a.out / "val", videos=a.val_videos, seed=a.seed + 1)
    cfg = load_person_detector_config(None, [
        f"data.root={train}", f"data.val_root={val}", "data.workers=0", "persondet.size=320",
        f"train.epochs={a.epochs}", "train.batch_size=8", "train.log_every=50", "train.progress=false",
        f"train.seed={a.seed}", f"train.out={a.out / 'run'}"])
    train_person_detector(cfg)
    model = a.out / "run" / "model.pt"
    print(f"wrote {model}", flush=True)
    if a.install:
        ck = load_checkpoint(model)
        save_checkpoint(TARGET, **ck, trained_by="scripts/train_detect_person.py",
                        data={"task": "stad", "videos": a.videos, "val_videos": a.val_videos, "seed": a.seed,
                              "size": list(SIZE), "preset": "default", "epochs": a.epochs})
        print(f"installed {TARGET}", flush=True)


if __name__ == "__main__":
    main()

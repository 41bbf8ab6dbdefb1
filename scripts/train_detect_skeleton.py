"""Train the skeleton action models ``detect`` uses by default (``deeperaction/data/models/detect_skeleton*.pt``):
the shipped ``action_skeleton.pt`` fine-tuned on what ``detect``'s own perception makes of rendered synthetic
people, so it reads BlazePose's keypoints (its misses, swaps and offsets) rather than the generator's.

Data: ``--videos`` synthetic ``stad`` videos (``--preset default``, 320x240, 2-5 people, 2-3 actions each, walkers
crossing), ``--street-videos`` of ``--preset street`` (seed ``--seed`` + 1; people walking and running toward,
away from and across the camera among people acting in place), ``--overhead-videos`` of ``--preset overhead``
(seed ``--seed`` + 3; the street seen from a camera looking down 20-50 degrees, as surveillance footage) and
``--plaza-videos`` of ``--preset plaza`` (seed ``--seed`` + 4; overhead's street with walkers who stop on their
way and people who, between their actions, talk with their hands, fold their arms and turn to one another),
rendered, then run through exactly ``detect``'s
current perception (every 2nd frame: the shipped person detector, BlazePose, HOG, the person checks, the
tracker). Each track's keypoints are resampled to 25 fps and cut into the classifier's 48-frame windows every
4 frames, as ``detect`` cuts them; a window's label
is the action of the GT tube its track's box overlaps (IoU >= 0.5) at the window's centre, ``none`` where the
box is on a GT person who is idle, and the window is left out where the box is on nobody or where the tracker
did not see the person at its centre (keypoints only interpolated there: ``detect`` does not read such windows
either, ``tasks/detect.py: curves_to_tubes``); with ``--dense-head`` (default) each 4-frame step of a window is
labelled the same way at its own centre (-1, not learnt, where unknown), so the model's second head learns
where inside a window an action starts and ends (two in five windows change label inside). ``--exact`` adds the
same videos' windows of the generator's own keypoints and boxes (so the model keeps reading clean poses, from a
better pose estimator or a user's keypoints, well). Fine-tuning: AdamW, one-cycle, mirrored windows
(left/right exchanged), with ``--augment`` (default) every window also turned by up to 15 degrees, stretched
0.85-1.15 along x and y and its joints jittered (without it the model read the training videos' bows far
better than held-out ones: 70 % of the windows right against 25-42 %), fixed seeds; with ``--adaptive-graph``
(default) each graph block also learns a free joint-to-joint matrix, zero at the start (2s-AGCN's adaptive
graph: the two wrists of a clap, head and hips of a bow meet in one block); the loss is the window's
cross-entropy plus the steps' (dense head); the model file asks for the mirrored test (``mirror_test``: each
window scored with its mirror image too). ``parse`` and ``localize`` keep ``action_skeleton.pt`` (its reading of
real pedestrians, and the features the shipped localizer was trained on).

    python scripts/train_detect_skeleton.py [--videos 200] [--street-videos 80] [--overhead-videos 40] \
        [--plaza-videos 0] [--seed 300] [--epochs 6] [--threads 2] [--install]

Parses are cached per video under ``--out``/parses (``street_parses``, ``overhead_parses``, ``plaza_parses``), so
a second run only trains (runs of fewer videos read the first ones); the model is written to ``--out``/``--name``.
On 2 CPU cores: rendering ~10 min, perception ~25 s a video on one core (two parse workers side by side: ~15 min
for 40 videos), fine-tuning on one thread ~8 min an epoch of the 220 videos' 63,745 windows and ~13 min of the 320 videos'
89,543 (two runs side by side with ``--threads 1``). ``--install`` copies the model into the package as
``--name``. ``detect``'s default (``detect_skeleton.json``) averages two runs:

    python scripts/train_detect_skeleton.py --videos 100 --street-videos 40 --overhead-videos 40 --plaza-videos 40 \
        --install
    python scripts/train_detect_skeleton.py --overhead-videos 40 --epochs 4 --install --name detect_skeleton_v320_e4.pt
"""
from __future__ import annotations

import argparse
import pickle
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "src" / "deeperaction" / "data" / "models" / "action_skeleton.pt"
TARGET = REPO / "src" / "deeperaction" / "data" / "models" / "detect_skeleton.pt"
SIZE = (320, 240)
HOP = 4  # frames between training windows (at 25 fps)
TILT = 15 * 3.14159 / 180  # --augment (this literal as the shipped model was trained): turned by up to 15 degrees,
STRETCH = (0.85, 0.3)  # its x and y scaled by 0.85-1.15 each,
JITTER = 0.03  # and noise of this standard deviation (torso lengths) added to every seen joint


def parses(root: Path, cache: Path, *, videos: int, seed: int, preset: str = "default") -> dict:
    """``{video id: VideoParse}`` of ``detect``'s perception on the first ``videos`` ``stad`` videos of ``seed``
    (rendered unless ``root`` has them all, parsed unless cached; only these, so runs of different ``--videos``
    share one ``--out``)."""
    from deeperaction.synth import generate, make_spec
    from deeperaction.tasks.detect import Detector, DetectOptions

    ids = [make_spec("stad", i, seed, size=SIZE, preset=preset).video_id for i in range(videos)]
    if not all((root / "videos" / f"{v}.mp4").is_file() for v in ids) or not (root / "manifest.json").is_file():
        print(f"rendering {videos} stad videos (seed {seed}, preset {preset}) into {root}", flush=True)
        generate(root, videos=videos, seed=seed, task="stad", size=SIZE, preset=preset)
    cache.mkdir(parents=True, exist_ok=True)
    todo = [v for v in ids if not (cache / f"{v}.pkl").is_file()]
    if todo:
        det = Detector(DetectOptions())
        try:
            for k, v in enumerate(todo):
                print(f"perception {k + 1}/{len(todo)}: {v}.mp4", flush=True)
                (cache / f"{v}.pkl").write_bytes(pickle.dumps(det.parser.parse(root / "videos" / f"{v}.mp4").parse))
        finally:
            det.close()
    return {v: pickle.loads((cache / f"{v}.pkl").read_bytes()) for v in ids}


def windows(root: Path, parsed: dict, classes: list[str], length: int, fps: float, step: int = 4
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised keypoint windows ``(N, length, J, 3)`` of every track, their labels ``(N,)`` (at the window's
    centre) and their steps' labels ``(N, length // step)`` (at each ``step``-frame step's centre; -1 where
    unknown: on nobody, the tracker missing the person, or the repeated ends of a short track) (module
    docstring)."""
    from deeperaction.datasets.transforms import normalize_skeletons
    from deeperaction.formats.multisports import read_multisports_gt
    from deeperaction.metrics.iou import box_iou_matrix
    from deeperaction.tasks.action_predictors import track_sequences
    from deeperaction.tasks.detect import track_boxes, track_seen

    gt = read_multisports_gt(root / "annotations" / "stad" / "multisports_gt.pkl")
    if list(gt.labels) != [c for c in classes if c != "none"]:
        raise SystemExit("the generator's actions are not the model's classes")
    none = classes.index("none")
    xs, ys, steps, counts = [], [], [], {"action": 0, "none": 0, "on nobody": 0, "unseen": 0}
    for vid, vp in parsed.items():
        with np.load(root / "labels" / f"{vid}.npz") as z:
            people, present = z["boxes"].astype(np.float64), z["present"]
        tubes = [(int(c), {int(r[0]) - 1: r[1:5].astype(np.float64) for r in arr})
                 for c, ts in gt.gttubes.get(vid, {}).items() for arr in ts]

        def label(f: int, box: np.ndarray) -> int:
            """The action of the GT tube the box is on at frame ``f``, ``none`` on an idle person, -1 on nobody."""
            c = next((c for c, rows in tubes if f in rows and box_iou_matrix(box[None], rows[f][None])[0, 0] >= 0.5),
                     None)
            if c is None and f < present.shape[1] and present[:, f].any():
                if box_iou_matrix(box[None], people[present[:, f], f]).max() >= 0.5:
                    c = none
            return -1 if c is None else c

        boxes_at, seen_at = track_boxes(vp), track_seen(vp)
        first: dict[int, int] = {}
        for fp in vp.frames:
            for p in fp.persons:
                if p.keypoints is not None:
                    first.setdefault(p.track_id, fp.frame)
        for tid, seq in track_sequences(vp, fps).items():
            f0 = first[tid]
            track_frames = np.arange(f0, f0 + len(seq))
            boxes, seen = boxes_at[tid](track_frames), seen_at(tid, track_frames)
            for x, y, y_steps in track_windows(seq, seen, lambda r: label(f0 + r, boxes[r]), length, step, counts):
                counts["none" if y == none else "action"] += 1
                xs.append(normalize_skeletons(x[None])[0])
                ys.append(y)
                steps.append(y_steps)
    print(f"windows: {counts}", flush=True)
    return np.stack(xs).astype(np.float32), np.array(ys, np.int64), np.array(steps, np.int64)


def track_windows(seq: np.ndarray, seen: np.ndarray, label, length: int, step: int, counts: dict[str, int]):
    """The windows of one track's keypoints ``seq (n, J, 3)`` (at the model's rate), cut as ``detect`` cuts
    them (every ``HOP`` frames; a short track's ends repeated to fill one window): yields ``(window (length, J,
    3), label, steps' labels (length // step,))``, ``label(r)`` being the label at the track's frame ``r`` (-1:
    on nobody). Windows centred where the tracker missed the person (``seen`` False) or on nobody are left out
    and counted in ``counts``; a step's label is -1 where unseen, on nobody, or outside the track."""
    n = len(seq)
    if n < length:  # as detect: one window, the track's ends repeated
        pad = length - n
        seq = np.concatenate([np.repeat(seq[:1], pad // 2, 0), seq, np.repeat(seq[-1:], pad - pad // 2, 0)])
        starts, offset = [0], -(pad // 2)
    else:
        starts, offset = list(range(0, n - length + 1, HOP)), 0
    at_step = np.arange(length // step) * step + step // 2  # each step's centre in the window
    for s in starts:
        centre = min(max(s + offset + length // 2, 0), n - 1)
        if not seen[centre]:  # centred where the tracker missed the person: detect does not read it either
            counts["unseen"] += 1
            continue
        y = label(centre)
        if y < 0:
            counts["on nobody"] += 1
            continue
        rows = (s + offset + at_step).tolist()
        yield seq[s:s + length], y, np.array([label(r) if 0 <= r < n and seen[r] else -1 for r in rows], np.int64)


def fine_tune(net: torch.nn.Module, x: np.ndarray, y: np.ndarray, y_steps: np.ndarray | None = None, *,
              epochs: int, lr: float, batch: int = 64, seed: int = 0, augment: bool = False) -> list[float]:
    """One-cycle AdamW over the windows, half of each batch mirrored; with ``augment`` every window also turned,
    stretched and jittered (:data:`TILT`, :data:`STRETCH`, :data:`JITTER`); with ``y_steps`` (a dense-head
    model) each step's label is learnt too (the two cross-entropies summed). Returns each epoch's mean loss."""
    from deeperaction.datasets.transforms import JOINT_FLIP

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    st = None if y_steps is None else torch.from_numpy(y_steps)
    per_epoch = len(x) // batch
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * per_epoch, pct_start=0.1)
    net.train()
    losses = []
    for epoch in range(epochs):
        perm, total = torch.randperm(len(x), generator=g), 0.0
        for i in range(per_epoch):
            idx = perm[i * batch:(i + 1) * batch]
            xb = xt[idx].clone()
            flip = torch.rand(len(idx), generator=g) < 0.5
            mirrored = xb[flip][:, :, JOINT_FLIP]
            mirrored[..., 0] = -mirrored[..., 0]
            xb[flip] = mirrored
            if augment:
                xb = _augment(xb, g)
            if st is None:
                loss = F.cross_entropy(net(xb[:, None]), yt[idx])
            else:
                logits, step_logits = net.dense(xb[:, None])
                loss = F.cross_entropy(logits, yt[idx]) + F.cross_entropy(step_logits.flatten(0, 1),
                                                                          st[idx].flatten(), ignore_index=-1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        losses.append(total / max(1, per_epoch))
        print(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.3f}", flush=True)
    return losses


def _augment(xb: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Normalised windows ``(B, T, J, 3)`` (centred on the hips) turned, stretched and jittered, each its own
    way; unseen joints stay zero."""
    n = len(xb)
    angle = (torch.rand(n, generator=g) * 2 - 1) * TILT
    scale = STRETCH[0] + STRETCH[1] * torch.rand(n, 2, generator=g)
    c, s = torch.cos(angle), torch.sin(angle)
    rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2) * scale[:, None, :]
    xy = torch.einsum("btjk,bik->btji", xb[..., :2], rot)
    xy = xy + JITTER * torch.randn(xy.shape, generator=g)
    out = xb.clone()
    out[..., :2] = torch.where(xb[..., 2:3] > 0, xy, xb[..., :2])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=200)
    ap.add_argument("--street-videos", type=int, default=80, help="videos of --preset street (seed --seed + 1)")
    ap.add_argument("--overhead-videos", type=int, default=40,
                    help="videos of --preset overhead (seed --seed + 3): street seen from above")
    ap.add_argument("--plaza-videos", type=int, default=0,
                    help="videos of --preset plaza (seed --seed + 4): overhead with walkers who stop on the way and"
                         " people who talk with their hands, fold their arms and turn to others between actions")
    ap.add_argument("--seed", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "detect_skeleton")
    ap.add_argument("--exact", action=argparse.BooleanOptionalAction, default=True,
                    help="add windows of the generator's own keypoints of the same videos")
    ap.add_argument("--adaptive-graph", action=argparse.BooleanOptionalAction, default=True,
                    help="graph blocks that also learn free joint-to-joint links (zero at the start)")
    ap.add_argument("--dense-head", action=argparse.BooleanOptionalAction, default=True,
                    help="a second head that labels every 4-frame step of a window (detect reads it)")
    ap.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                    help="turn, stretch and jitter every training window (TILT, STRETCH, JITTER)")
    ap.add_argument("--install", action="store_true", help="copy the model into the package")
    ap.add_argument("--name", default=TARGET.name, help="its file name there (detect_skeleton.json lists the two)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (two runs side by side: 1 each)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from deeperaction.models.action import action_model_from_config
    from deeperaction.models.checkpoint import load_checkpoint, save_checkpoint
    from deeperaction.synth import GENERATOR_VERSION, ground_truth, make_spec
    from deeperaction.synth.export import to_video_parse

    ck = load_checkpoint(SHIPPED)
    cfg = {**ck["config"], "model": {**ck["config"]["model"], "adaptive_graph": a.adaptive_graph,
                                     "dense_head": a.dense_head}}
    net = action_model_from_config(cfg, len(ck["classes"]), weights="")
    missing, unexpected = net.load_state_dict(ck["model"], strict=False)
    if unexpected or any(not (k.endswith(".free") or k.startswith("dense_fc.")) for k in missing):
        # only the free matrices (zero at the start) and the dense head are new
        raise SystemExit(f"{SHIPPED.name} does not fit the classifier: {missing + unexpected}")
    length, fps = cfg["data"]["clip_len"], float(ck["fps"])
    sets = [  # (folder, parse cache, videos, seed, preset)
        ("data", "parses", a.videos, a.seed, "default"),
        ("street", "street_parses", a.street_videos, a.seed + 1, "street"),
        ("overhead", "overhead_parses", a.overhead_videos, a.seed + 3, "overhead"),
        ("plaza", "plaza_parses", a.plaza_videos, a.seed + 4, "plaza"),
    ]
    xs, ys, steps, n_videos = [], [], [], 0
    for folder, cache, videos, seed, preset in sets:
        if not videos:
            continue
        data = a.out / folder
        parsed = parses(data, a.out / cache, videos=videos, seed=seed, preset=preset)
        n_videos += len(parsed)
        found = [parsed]
        if a.exact:
            found.append({lab.spec.video_id: to_video_parse(lab, stride=2) for lab in
                          (ground_truth(make_spec("stad", i, seed, size=SIZE, preset=preset)) for i in range(videos))})
        for per_video in found:
            x, y, y_steps = windows(data, per_video, list(ck["classes"]), length, fps, net.STEP)
            xs.append(x)
            ys.append(y)
            steps.append(y_steps)
    x, y, y_steps = np.concatenate(xs), np.concatenate(ys), np.concatenate(steps)
    print(f"{len(x)} windows from {n_videos} videos; per class {np.bincount(y, minlength=len(ck['classes']))}",
          flush=True)
    fine_tune(net, x, y, y_steps if a.dense_head else None, epochs=a.epochs, lr=a.lr, seed=a.seed,
              augment=a.augment)
    net.eval()
    out = a.out / a.name
    save_checkpoint(out, **{**ck, "config": cfg, "model": {k: v.detach().clone() for k, v in net.state_dict().items()},
                            "trained_by": "scripts/train_detect_skeleton.py",
                            "mirror_test": True,  # trained on mirrored windows too: scored with them as well
                            "fine_tuned": {"from": SHIPPED.name, "generator": GENERATOR_VERSION,
                                          "videos": a.videos, "seed": a.seed,
                                          "street_videos": a.street_videos, "street_seed": a.seed + 1,
                                          "overhead_videos": a.overhead_videos, "overhead_seed": a.seed + 3,
                                          "plaza_videos": a.plaza_videos, "plaza_seed": a.seed + 4,
                                           "exact": a.exact, "adaptive_graph": a.adaptive_graph,
                                           "dense_head": a.dense_head, "augment": a.augment,
                                           "windows": int(len(x)), "epochs": a.epochs, "lr": a.lr}})
    print(f"wrote {out}", flush=True)
    if a.install:
        shutil.copy(out, TARGET.with_name(a.name))
        print(f"installed {TARGET.with_name(a.name)}", flush=True)


if __name__ == "__main__":
    main()

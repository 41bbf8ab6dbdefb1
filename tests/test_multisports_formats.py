"""MultiSports readers/writers/validators: round trips, every problem reported with its place."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deeperaction.errors import InputError
from deeperaction.formats.multisports import (MULTISPORTS_LABELS, NEVER_SCORED, multisports_default_labels,
                                              read_frame_detections, read_multisports_gt, read_video_detections,
                                              validate_multisports, write_frame_detections, write_multisports_gt,
                                              write_video_detections)
from deeperaction.schema import Tube


def test_default_labels_match_official_gt(official):
    labels = multisports_default_labels()
    gt = pickle.load(open(official / "multisports" / "tiefree" / "gt.pkl", "rb"))
    assert [x.name for x in labels] == gt["labels"] == list(MULTISPORTS_LABELS)
    assert {x.name for x in labels if not x.scored} == NEVER_SCORED and len(NEVER_SCORED) == 6
    assert labels[64].name == "basketball save" and labels[64].sport == "basketball"


@st.composite
def _case(draw):
    n_videos = draw(st.integers(1, 4))
    videos = {f"sport/v{i}": (draw(st.integers(5, 40)), (720, 1280)) for i in range(n_videos)}
    tubes = []
    for v, (nf, _) in videos.items():
        for _ in range(draw(st.integers(0, 3))):
            length = draw(st.integers(1, nf))
            start = draw(st.integers(0, nf - length))
            xy = np.array(draw(st.lists(st.integers(0, 600), min_size=2, max_size=2)), float)
            boxes = np.tile(np.r_[xy, xy + 50.5], (length, 1)) + np.arange(length)[:, None]
            tubes.append(Tube(v, draw(st.sampled_from(MULTISPORTS_LABELS[:5])), draw(st.floats(0, 1)),
                              np.arange(start, start + length), boxes))
    return videos, tubes


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_case())
def test_gt_and_detections_round_trip(tmp_path, case):
    videos, tubes = case
    names = list(videos)
    write_multisports_gt(tmp_path / "gt.pkl", labels=MULTISPORTS_LABELS, videos=videos, test_videos=names[::-1],
                         train_videos=["train/x"], tubes=tubes)
    gt = read_multisports_gt(tmp_path / "gt.pkl")
    raw = pickle.load(open(tmp_path / "gt.pkl", "rb"))
    assert raw["test_videos"] == [names[::-1]] and raw["train_videos"] == [["train/x"]]
    assert gt.test_videos == names[::-1] and gt.nframes == {v: n for v, (n, _) in videos.items()}
    back = gt.tubes(names)
    key = lambda t: (t.video_id, t.label, int(t.frames[0]), len(t.frames))  # noqa: E731
    assert sorted(map(key, back)) == sorted(map(key, tubes))
    for a, b in zip(sorted(back, key=key), sorted(tubes, key=key)):
        assert np.array_equal(a.frames, b.frames)
        assert np.allclose(a.boxes, b.boxes.astype(np.float32))
    # video detections: the same tubes as predictions
    write_video_detections(tmp_path / "vd.pkl", MULTISPORTS_LABELS, tubes)
    raw = pickle.load(open(tmp_path / "vd.pkl", "rb"))
    assert set(raw) == set(range(66))
    vd = read_video_detections(tmp_path / "vd.pkl", gt)
    assert len(vd.tubes) == len(tubes) and not vd.warnings
    assert sorted(vd.tubes.score.tolist()) == sorted(float(t.score) for t in tubes)
    # frame detections: one row per tube frame
    rows = [(t.video_id, int(f), t.label, t.score, b) for t in tubes for f, b in zip(t.frames, t.boxes)]
    write_frame_detections(tmp_path / "fd.pkl", MULTISPORTS_LABELS, gt.test_videos, rows)
    fd = read_frame_detections(tmp_path / "fd.pkl", gt)
    assert len(fd) == len(rows)
    if rows:
        assert [gt.test_videos[i] for i in fd.video] == [r[0] for r in rows]
        assert fd.frame.tolist() == [r[1] + 1 for r in rows]
        assert np.array_equal(fd.boxes, np.array([r[4] for r in rows]))


def _gt_obj():
    t = np.array([[1, 10, 10, 50, 50], [2, 11, 11, 51, 51], [3, 12, 12, 52, 52]], np.float32)
    return {"labels": list(MULTISPORTS_LABELS), "train_videos": [[]], "test_videos": [["a", "b"]],
            "nframes": {"a": 10, "b": 10}, "resolution": {"a": (720, 1280), "b": (720, 1280)},
            "gttubes": {"a": {0: [t]}, "b": {}}}


def _write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_bytes(pickle.dumps(obj))
    return p


def test_gt_validator_lists_every_problem(tmp_path):
    obj = _gt_obj()
    gap = np.array([[1, 0, 0, 5, 5], [3, 0, 0, 5, 5]], np.float32)
    rep = np.array([[4, 0, 0, 5, 5], [4, 0, 0, 5, 5]], np.float32)
    bad = np.array([[5, 9, 0, 5, 5], [6, np.nan, 0, 5, 5], [70, 0, 0, 5, 5]], np.float32)
    obj["gttubes"]["a"][3] = [gap, rep, bad]
    obj["gttubes"]["a"][99] = []
    obj["gttubes"]["c"] = {0: ["not an array"]}
    problems = validate_multisports(_write(tmp_path, "gt.pkl", obj), "gt")
    text = "\n".join(map(str, problems.items))
    assert "gap before this frame" in text and "frame 3" in text
    assert "repeated or not increasing" in text
    assert "NaN" in text and "x2 < x1" in text and "outside 1..nframes" in text
    assert "unknown label index 99" in text and "tube must be a numeric ndarray" in text
    assert all(p.file.endswith("gt.pkl") for p in problems.items)
    assert any(p.video == "a" and p.field.startswith("gttubes[3][0]") for p in problems.items)
    with pytest.raises(InputError, match="gap"):
        read_multisports_gt(tmp_path / "gt.pkl")


def test_reversed_boxes_gt_error_predictions_one_warning_strict_error(tmp_path):
    """Official rule: the scorer scores predicted boxes with x2 < x1 (IoU formula as is): one warning line with
    the count and the first place; --strict refuses them; in GT they are an error."""
    obj = _gt_obj()
    obj["gttubes"]["a"][0][0][1:3, 1] = 500  # x1 > x2 = 50 in frames 2 and 3
    with pytest.raises(InputError, match=r"frame 2.*x2 < x1 or y2 < y1 \(2 such boxes"):
        read_multisports_gt(_write(tmp_path, "bad_gt.pkl", obj))
    gt = read_multisports_gt(_write(tmp_path, "gt.pkl", _gt_obj()))
    rows = np.array([[0, 1, 0, 0.9, 10, 10, 50, 50], [0, 2, 0, 0.8, 60, 10, 50, 50],
                     [0, 3, 0, 0.7, 10, 60, 50, 50], [1, 4, 0, 0.6, 60, 60, 50, 50]])
    p = _write(tmp_path, "frame_detections.pkl", rows)
    fd = read_frame_detections(p, gt)
    lines = [w for w in fd.warnings if "x2 < x1" in w]
    assert len(lines) == 1 and "3 such boxes" in lines[0] and "frame 2" in lines[0] and "'a'" in lines[0]
    assert fd.boxes[1].tolist() == [60, 10, 50, 50]  # kept, scored as they are
    with pytest.raises(InputError, match="3 such boxes"):
        read_frame_detections(p, gt, strict=True)
    tube = np.array([[1, 60, 10, 50, 50, 0.9], [2, 10, 10, 50, 50, 0.9]], np.float32)
    vp = _write(tmp_path, "video_detections.pkl", {i: [("a", 0.9, tube)] if i == 0 else [] for i in range(66)})
    assert sum("1 such boxes" in w for w in read_video_detections(vp, gt).warnings) == 1
    with pytest.raises(InputError, match="1 such boxes"):
        read_video_detections(vp, gt, strict=True)


def test_gt_validator_structure(tmp_path):
    obj = _gt_obj()
    obj["test_videos"] = ["a", "b"]  # missing the extra list level
    del obj["gttubes"]["b"]
    problems = validate_multisports(_write(tmp_path, "gt.pkl", obj), "gt")
    text = "\n".join(map(str, problems.items))
    assert "extra list" in text
    obj = _gt_obj()
    obj["test_videos"] = [["a", "b", "zzz"]]
    text = "\n".join(map(str, validate_multisports(_write(tmp_path, "gt2.pkl", obj), "gt").items))
    assert "video 'zzz'" in text and "no entry in gttubes" in text
    assert len(validate_multisports(_write(tmp_path, "gt3.pkl", [1, 2]), "gt")) == 1
    (tmp_path / "trunc.pkl").write_bytes(pickle.dumps(_gt_obj())[:50])
    assert "truncated" in str(validate_multisports(tmp_path / "trunc.pkl", "gt").items[0])


def test_frame_detection_validator(tmp_path):
    gt = read_multisports_gt(_write(tmp_path, "gt.pkl", _gt_obj()))
    rows = np.array([[0, 1, 0, 0.9, 10, 10, 50, 50],
                     [0, 1.5, 0, 0.9, 10, 10, 50, 50],     # non-integer frame: fatal
                     [5, 1, 0, 0.8, 10, 10, 50, 50],       # unknown video index: soft
                     [1, 2, 70, 0.8, 10, 10, 50, 50],      # unknown label: soft
                     [1, 20, 0, np.nan, 10, 10, 50, 50],   # NaN: fatal
                     [1, 3, 0, 0.5, 60, 10, 50, 50]])      # x2 < x1: soft
    p = _write(tmp_path, "frame_detections.pkl", rows)
    problems = validate_multisports(p, "frame", gt)
    text = "\n".join(map(str, problems.items))
    for s in ("row 1.frame", "must be an integer", "video index outside", "row 3.label", "NaN", "x2 < x1"):
        assert s in text, s
    with pytest.raises(InputError) as e:
        read_frame_detections(p, gt)
    assert len(e.value.problems) == 2  # only the two the scorer cannot use
    ok = _write(tmp_path, "fd2.pkl", np.delete(rows, [1, 4], axis=0))
    fd = read_frame_detections(ok, gt)
    assert len(fd) == 4 and len(fd.warnings) == 3
    assert "must be a numeric ndarray" in str(validate_multisports(_write(tmp_path, "x.pkl", {"a": 1}), "frame", gt)
                                              .items[0])


def test_video_detection_validator(tmp_path):
    gt = read_multisports_gt(_write(tmp_path, "gt.pkl", _gt_obj()))
    good = np.array([[1, 10, 10, 50, 50, 0.9], [2, 10, 10, 50, 50, 0.9]], np.float32)
    gap = np.array([[1, 10, 10, 50, 50, 0.9], [4, 10, 10, 50, 50, 0.9]], np.float32)
    obj = {i: [] for i in range(66)}
    obj[0] = [("a", 0.9, good), ("a", 0.5, gap), ("nowhere", 0.4, good), ("a", float("nan"), good),
              ("a", 0.3, good[:, :5]), "junk"]
    del obj[65]
    p = _write(tmp_path, "video_detections.pkl", obj)
    text = "\n".join(map(str, validate_multisports(p, "video", gt).items))
    for s in ("gap before this frame", "not in the GT test_videos", "finite number", "(L>=1, 6)",
              "entry must be", "1 label keys missing", "[0][1]"):
        assert s in text, s
    with pytest.raises(InputError, match="gap"):
        read_video_detections(p, gt)
    with pytest.raises(InputError, match="needs the GT"):
        validate_multisports(p, "video")

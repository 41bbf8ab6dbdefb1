"""AVA CSV / label map / exclusion readers and writers: exact parsing, round trips, validation."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deeperaction.formats.ava as ava
import deeperaction.formats.ava_scan as ava_scan
from deeperaction.errors import InputError
from deeperaction.formats.ava import (read_ava_csv, read_exclusions, read_labelmap, validate_ava, write_ava_csv,
                                      write_labelmap)
from deeperaction.schema import KeyframeBox

LABELMAP = "ava/ava_action_list_v2.1_for_activitynet_2018.pbtxt.txt"


def _csv_rows(path):
    with open(path) as f:
        return [r for r in csv.reader(f)]


@pytest.mark.parametrize("case", ["tied", "tiefree"])
@pytest.mark.parametrize("kind,name", [("gt", "gt.csv"), ("pred", "detections.csv")])
def test_reads_fixture_exactly_like_float(official, case, kind, name):
    path = official / "ava" / case / name
    b = read_ava_csv(path, kind)
    rows = _csv_rows(path)
    full = [r for r in rows if len(r) == 8]
    assert len(b) == len(full)
    assert len(b.empty_video) == sum(len(r) == 2 for r in rows)
    ref = np.array([[float(x) for x in r[1:8]] for r in full])
    got = np.column_stack([b.timestamp, b.boxes, b.label, b.score])
    assert np.array_equal(ref, got)
    assert [b.videos[v] for v in b.video] == [r[0] for r in full]


def test_labelmap_fixture_and_round_trip(official, tmp_path):
    lm = read_labelmap(official / LABELMAP)
    assert len(lm) == 60 and min(lm) == 1 and max(lm) == 80
    assert lm[1] == "bend/bow (at the waist)" and lm[80] == "watch (a person)"
    write_labelmap(tmp_path / "m.pbtxt", lm)
    assert read_labelmap(tmp_path / "m.pbtxt") == lm


def test_labelmap_problems(tmp_path):
    p = tmp_path / "bad.pbtxt"
    p.write_text('item {\n  name: "a"\n  id: 1\n}\nitem {\n  name: "b"\n  id: 1\n}\nitem {\n  name: "c"\n}\n')
    with pytest.raises(InputError) as e:
        read_labelmap(p)
    assert len(e.value.problems) == 2 and "duplicate id 1" in str(e.value)
    (tmp_path / "empty.pbtxt").write_text("nothing here\n")
    with pytest.raises(InputError):
        read_labelmap(tmp_path / "empty.pbtxt")


_num_text = st.one_of(
    st.floats(0, 1).map(repr), st.floats(0, 1).map(lambda x: f"{x:.3f}"), st.floats(0, 1).map(lambda x: f"{x:e}"),
    st.floats(-5, 5).map(lambda x: f"{x:g}"), st.floats(0, 1e6).map(lambda x: f"{x:.17g}"),
    st.integers(0, 10**15).map(str), st.integers(0, 9999).map(lambda i: f"{i:04d}"),
    st.integers(0, 10**6).map(lambda i: f".{i}"), st.integers(0, 10**6).map(lambda i: f"{i}."))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_num_text, _num_text, _num_text, st.integers(1, 80), _num_text), min_size=1, max_size=30))
def test_number_parser_equals_float(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("p") / "d.csv"
    path.write_text("".join(f"vid_{i % 3},{a},{b},{c},0.5,0.6,{lab},{s}\n" for i, (a, b, c, lab, s) in enumerate(rows)))
    got = read_ava_csv(path, "pred")
    assert got.timestamp.tolist() == [float(r[0]) for r in rows]
    assert got.boxes[:, 0].tolist() == [float(r[1]) for r in rows]
    assert got.boxes[:, 1].tolist() == [float(r[2]) for r in rows]
    assert got.score.tolist() == [float(r[4]) for r in rows]
    assert [got.videos[v] for v in got.video] == [f"vid_{i % 3}" for i in range(len(rows))]


_box = st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)).map(
    lambda b: (min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])))  # GT refuses x2 < x1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "-5YToXdKz_m8", "x" * 40]), st.integers(0, 1800), _box,
                          st.integers(1, 80), st.floats(0, 1)), max_size=25),
       st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(900, 1000)), max_size=3),
       st.sampled_from(["gt", "pred"]))
def test_write_read_round_trip(tmp_path_factory, recs, empties, kind):
    path = tmp_path_factory.mktemp("rt") / f"{kind}.csv"
    boxes = [KeyframeBox(v, float(t), np.array(b), lab, float(int(s * 100)) if kind == "gt" else s)
             for v, t, b, lab, s in recs]
    write_ava_csv(path, boxes, kind, empty_keyframes=[(v, float(t)) for v, t in empties])
    back = read_ava_csv(path, kind)
    assert len(back) == len(recs)
    assert [back.videos[i] for i in back.video] == [r[0] for r in recs]
    assert back.timestamp.tolist() == [float(r[1]) for r in recs]
    assert np.array_equal(back.boxes, np.array([r[2] for r in recs]).reshape(-1, 4))
    assert back.label.tolist() == [r[3] for r in recs]
    assert back.score.tolist() == [b.score for b in boxes]
    assert [(back.videos[v], t) for v, t in zip(back.empty_video, back.empty_timestamp)] == \
        [(v, float(t)) for v, t in empties]
    # and again through AvaBoxes
    write_ava_csv(path, back, kind)
    again = read_ava_csv(path, kind)
    assert np.array_equal(again.boxes, back.boxes) and np.array_equal(again.score, back.score)


def test_chunked_parsing_matches_single_pass(official, monkeypatch):
    path = official / "ava" / "tied" / "detections.csv"
    whole = read_ava_csv(path, "pred")
    monkeypatch.setattr(ava_scan, "CHUNK", 1000)
    parts = read_ava_csv(path, "pred")
    assert whole.videos == parts.videos and np.array_equal(whole.video, parts.video)
    assert np.array_equal(whole.boxes, parts.boxes) and np.array_equal(whole.score, parts.score)


def test_crlf_blank_lines_and_missing_final_newline(tmp_path):
    p = tmp_path / "g.csv"
    p.write_bytes(b"v1,0902,0.1,0.2,0.3,0.4,5,0\r\n\r\nv1,0903\r\nv2,0904,0.1,0.2,0.3,0.4,7")
    b = read_ava_csv(p, "gt")
    assert b.videos == ["v1", "v2"] and b.label.tolist() == [5, 7] and b.score.tolist() == [0.0, 1.0]
    assert b.empty_timestamp.tolist() == [903.0]


def test_reader_lists_every_malformed_line(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("v,1,0.1,0.2,0.3,0.4,5,0.9\n"
                 "v,1,0.1,0.2,0.3\n"              # line 2: 5 columns
                 "v,1,0.1,abc,0.3,0.4,5,0.9\n"    # line 3: not a number
                 "v,nan,0.1,0.2,0.3,0.4,5,0.9\n"  # line 4: nan timestamp
                 ",1,0.1,0.2,0.3,0.4,5,0.9\n")    # line 5: empty video
    with pytest.raises(InputError) as e:
        read_ava_csv(p, "pred")
    text = str(e.value)
    for n in (2, 3, 4, 5):
        assert f"line {n}:" in text
    assert "got 5" in text and "'y1'" in text and "'abc'" in text


def test_validator_reports_each_problem_with_location(tmp_path, official):
    lm = read_labelmap(official / LABELMAP)
    p = tmp_path / "g.csv"
    p.write_text("vidA,0902,0.1,0.2,0.3,0.4,1,0\n"   # fine
                 "vidA,0903,0.5,0.2,0.3,0.4,1,0\n"   # x2 < x1
                 "vidA,0904,0.1,0.2,1.3,0.4,1,0\n"   # x2 > 1
                 "vidA,0905,0.1,0.2,0.3,0.4,2,0\n"   # id 2 not in the map
                 "vidA,0906,0.1,0.2,0.3,0.4,1,0.5\n"  # person id not integer
                 "vidA,0907,0.1,0.4,0.3,0.4,1,0\n"   # empty box
                 "vidA,-3,0.1,0.2,0.3,0.4,1,0\n"     # negative timestamp
                 "vidA,0908,0.1,0.2,0.3,0.4,1.5,0\n"  # non-integer action
                 "vidA\n")                            # 1 column
    probs = validate_ava(p, "gt", lm)
    msgs = [str(x) for x in probs.items]
    assert len(probs) == 8, msgs
    assert any("line 2" in m and "x2 < x1" in m and "'x2'" in m and "frame 903" in m for m in msgs)
    assert any("line 3" in m and "outside [0, 1]" in m for m in msgs)
    assert any("line 4" in m and "label map" in m and "'action'" in m for m in msgs)
    assert any("line 5" in m and "person id" in m for m in msgs)
    assert any("line 6" in m and "empty box" in m for m in msgs)
    assert any("line 7" in m and "timestamp" in m for m in msgs)
    assert any("line 8" in m and "integer" in m for m in msgs)
    assert any("line 9" in m and "columns" in m for m in msgs)
    assert all(str(p) in m for m in msgs)
    assert not validate_ava(official / "ava" / "tied" / "detections.csv", "pred")


def test_labelmap_filter_keeps_emptied_gt_keyframes(tmp_path):
    p = tmp_path / "g.csv"
    p.write_text("v,1,0.1,0.2,0.3,0.4,2,0\nv,2,0.1,0.2,0.3,0.4,1,0\n")
    b = read_ava_csv(p, "gt", labelmap={1: "a"})
    assert b.label.tolist() == [1] and b.dropped_unknown == 1 and b.empty_timestamp.tolist() == [1.0]


def test_exclusions(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("v1,0902\nv2,1000\n")
    assert read_exclusions(p) == [("v1", 902.0), ("v2", 1000.0)]
    p.write_text("v1,0902,3\nv2,abc\n")
    with pytest.raises(InputError) as e:
        read_exclusions(p)
    assert len(e.value.problems) == 2


def test_detect_kind(official):
    assert ava.detect_kind(official / "ava" / "tied" / "gt.csv") == "gt"
    assert ava.detect_kind(official / "ava" / "tied" / "detections.csv") == "pred"

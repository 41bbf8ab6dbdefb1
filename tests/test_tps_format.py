"""Kinetics-TPS files: write -> read round trips, and the validator naming file/video/frame/field."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deeperaction.errors import InputError
from deeperaction.formats.kinetics_tps import read_tps, validate_tps, write_tps
from deeperaction.schema import PARTS, FrameParse, PartDet, Person, VideoParse

STATES = ["none", "bend", "raise", "kick", "straighten"]


@st.composite
def boxes(draw, n: int) -> np.ndarray:
    xy = draw(st.lists(st.integers(0, 500), min_size=2 * n, max_size=2 * n))
    wh = draw(st.lists(st.floats(0, 200, allow_nan=False, width=32), min_size=2 * n, max_size=2 * n))
    xy = np.array(xy, dtype=float).reshape(n, 2)
    wh = np.array(wh, dtype=float).reshape(n, 2)
    return np.hstack([xy, xy + wh])


@st.composite
def video_parses(draw, kind: str) -> list[VideoParse]:
    out = []
    for v in range(draw(st.integers(1, 3))):
        frames = []
        for f in sorted(draw(st.sets(st.integers(0, 60), max_size=4))):
            persons = []
            for _ in range(draw(st.integers(0, 3))):
                parts = {}
                for name in draw(st.lists(st.sampled_from(PARTS), unique=True, max_size=4)):
                    k = 1 if kind == "gt" else draw(st.integers(0, 5))
                    parts[name] = PartDet(name, draw(boxes(k)),
                                          draw(st.lists(st.sampled_from(STATES), min_size=k, max_size=k)),
                                          np.ones(k))
                persons.append(Person(draw(boxes(1))[0], parts=parts))
            frames.append(FrameParse(f * 5, persons))
        out.append(VideoParse(f"vid_{v}", 0.0, (0, 0), frames, draw(st.sampled_from(["a", "b", "c"]))))
    return out


def _same(a: VideoParse, b: VideoParse) -> None:
    assert (a.video_id, a.action) == (b.video_id, b.action)
    assert [f.frame for f in a.frames] == [f.frame for f in b.frames]
    for fa, fb in zip(a.frames, b.frames):
        assert len(fa.persons) == len(fb.persons)
        for pa, pb in zip(fa.persons, fb.persons):
            np.testing.assert_array_equal(pa.box, pb.box)
            assert list(pa.parts) == list(pb.parts)
            for name in pa.parts:
                np.testing.assert_array_equal(pa.parts[name].boxes, pb.parts[name].boxes)
                assert pa.parts[name].states == pb.parts[name].states


@pytest.mark.parametrize("kind", ["gt", "pred"])
def test_round_trip_property(kind, tmp_path_factory):
    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(video_parses(kind))
    def check(parses):
        d = tmp_path_factory.mktemp(kind)
        vid_file, part_file = write_tps(d, parses, kind)
        assert (vid_file.name, part_file.name) == (f"{kind}_vid_result.json", f"{kind}_part_result.json")
        assert not validate_tps(d, kind)
        back = read_tps(d, kind).to_parses()
        assert list(back) == [p.video_id for p in parses]
        for p in parses:
            _same(p, back[p.video_id])

    check()


def test_fixture_round_trip_and_frame_numbering(official, tmp_path):
    src = official / "kinetics_tps" / "small" / "pred_dir"
    a = read_tps(src, "pred")
    assert a.frame_num[0] == 0 and a.frame_num[1] == 5  # img_00001 -> 0, img_00006 -> 5
    write_tps(tmp_path, a.to_parses(), "pred")
    b = read_tps(tmp_path, "pred")
    for name in ("frame_num", "frame_h0", "human_box", "human_p0", "part_name", "part_q0", "prop_box"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert [a.states[i] for i in a.prop_state] == [b.states[i] for i in b.prop_state]
    assert a.actions == b.actions


def test_gt_writer_takes_first_proposal(tmp_path):
    part = PartDet("head", [[1, 2, 3, 4], [5, 6, 7, 8]], ["raise", "none"], [0.9, 0.1])
    vp = VideoParse("v", 30.0, (64, 64), [FrameParse(0, [Person([0, 0, 10, 10], parts={"head": part})])], "x")
    _, part_file = write_tps(tmp_path, [vp], "gt")
    obj = json.loads(part_file.read_text())
    assert obj == {"v": {"img_00001.json": {"humans": [
        {"box": [0, 0, 10, 10], "parts": {"head": {"box": [1, 2, 3, 4], "verb": "raise"}}}]}}}


# validator --------------------------------------------------------------------------------
GOOD_PRED = {"v1": {"img_00001.json": {"humans": [
    {"box": [0, 0, 50, 100], "parts": {"head": {"box": [[10, 0, 20, 10]], "verb": ["none"]}}}]}}}


def _write(d: Path, part_obj, vid_obj=None, kind="pred") -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{kind}_vid_result.json").write_text(json.dumps(vid_obj if vid_obj is not None else {"v1": "a"}))
    (d / f"{kind}_part_result.json").write_text(part_obj if isinstance(part_obj, str) else json.dumps(part_obj))
    return d


def _human(obj):
    return obj["v1"]["img_00001.json"]["humans"][0]


CASES = [
    ("x2<x1", lambda o: _human(o).__setitem__("box", [50, 0, 10, 100]), "humans[0].box", "x2 < x1"),
    ("nan", lambda o: _human(o)["parts"]["head"]["box"][0].__setitem__(1, float("nan")),
     "humans[0].parts.head.box[0]", "finite"),
    ("string coord", lambda o: _human(o).__setitem__("box", [0, "0", 50, 100]), "humans[0].box", "finite"),
    ("no box", lambda o: _human(o).pop("box"), "humans[0].box", "missing 'box'"),
    ("no parts", lambda o: _human(o).pop("parts"), "humans[0].parts", "missing 'parts'"),
    ("no verb", lambda o: _human(o)["parts"]["head"].pop("verb"), "humans[0].parts.head.verb", "missing 'verb'"),
    ("unknown part", lambda o: _human(o)["parts"].__setitem__("tail", _human(o)["parts"]["head"]),
     "humans[0].parts.tail", "unknown part name"),
    ("6 proposals", lambda o: _human(o)["parts"]["head"].update(box=[[10, 0, 20, 10]] * 6, verb=["none"] * 6),
     "humans[0].parts.head.box", "at most 5"),
    ("length mismatch", lambda o: _human(o)["parts"]["head"].update(verb=["none", "bend"]),
     "humans[0].parts.head.verb", "1 boxes but 2 verbs"),
    ("11 humans", lambda o: o["v1"]["img_00001.json"].__setitem__("humans", [_human(o)] * 11), "humans",
     "at most 10"),
    ("verb not list", lambda o: _human(o)["parts"]["head"].__setitem__("verb", "none"),
     "humans[0].parts.head.verb", "list of state strings"),
]


@pytest.mark.parametrize("name,mutate,field,message", CASES, ids=[c[0] for c in CASES])
def test_validator_names_the_place(tmp_path, name, mutate, field, message):
    obj = copy.deepcopy(GOOD_PRED)
    mutate(obj)
    d = _write(tmp_path, json.dumps(obj, allow_nan=True))
    problems = validate_tps(d, "pred").items
    assert len(problems) == 1, problems
    p = problems[0]
    assert (p.file, p.video, p.frame, p.field) == (str(d / "pred_part_result.json"), "v1", "img_00001.json", field)
    assert message in p.message
    with pytest.raises(InputError) as e:  # the reader refuses the same input, naming the same place
        read_tps(d, "pred", strict=True)
    assert str(p)[:-len(p.message)] in str(e.value)
    if name != "x2<x1":
        with pytest.raises(InputError):
            read_tps(d, "pred")


def test_reversed_predicted_boxes_are_scored_and_named_once(tmp_path):
    """The official scorer scores predicted boxes with x2 < x1: read with their count and first place;
    strict refuses them; in GT they are an error."""
    obj = copy.deepcopy(GOOD_PRED)
    _human(obj)["parts"]["head"]["box"][0] = [20, 0, 10, 10]
    obj["v2"] = {"img_00006.json": {"humans": [{"box": [5, 5, 1, 1], "parts": {}}]}}
    d = _write(tmp_path, obj, {"v1": "a", "v2": "b"})
    tps = read_tps(d, "pred")
    n, first = tps.degenerate
    assert n == 2 and (first.video, first.frame, first.field) == ("v1", "img_00001.json", "humans[0].parts.head.box[0]")
    assert tps.prop_box[0].tolist() == [20, 0, 10, 10]
    with pytest.raises(InputError, match="2 boxes with x2 < x1 or y2 < y1 in all"):
        read_tps(d, "pred", strict=True)
    g = _write(tmp_path / "gt", {"v1": {"img_00001.json": {"humans": [
        {"box": [0, 0, 50, 100], "parts": {"head": {"box": [20, 0, 10, 10], "verb": "none"}}}]}}}, kind="gt")
    with pytest.raises(InputError, match="humans\\[0\\].parts.head.box.*x2 < x1"):
        read_tps(g, "gt")


def test_validator_collects_every_problem(tmp_path):
    obj = copy.deepcopy(GOOD_PRED)
    _human(obj)["box"] = [5, 5, 1, 1]
    obj["v1"]["frame_7.json"] = {"humans": []}
    obj["v2"] = {"img_00006.json": {"humans": []}}
    d = _write(tmp_path, obj)
    problems = validate_tps(d).items  # kind told from the file names
    got = {(p.video, p.frame, p.field) for p in problems}
    assert got == {("v1", "img_00001.json", "humans[0].box"), ("v1", "frame_7.json", None), ("v2", None, None)}
    assert any("no action" in p.message for p in problems)


def test_gt_checks(tmp_path):
    gt = {"v1": {"img_00001.json": {"humans": [{"box": [0, 0, 5, 5], "parts": {"hip": {"box": [[0, 0, 1, 1]],
                                                                                       "verb": ["x"]}}}]}}}
    d = _write(tmp_path, gt, {"v1": "a", "v9": 3}, kind="gt")
    msgs = {(p.video, p.field, p.message) for p in validate_tps(d).items}
    assert ("v9", "action", "action must be a string, got number") in msgs
    assert any(v == "v9" and "no entry" in m for v, _, m in msgs)
    assert any(f == "humans[0].parts.hip.box" and "expected [x1, y1, x2, y2]" in m for _, f, m in msgs)
    assert any(f == "humans[0].parts.hip.verb" and "must be a string" in m for _, f, m in msgs)


@pytest.mark.parametrize("text,what", [('{"v1": {"img_00001.json": {"humans": [', "truncated JSON"),
                                       ('{"v1": {"img_00001.json" {}}}', "malformed JSON"),
                                       ('[1, 2]', "expected a JSON object")])
def test_bad_json_is_one_problem(tmp_path, text, what):
    d = _write(tmp_path, text)
    problems = validate_tps(d, "pred").items
    assert len(problems) == 1 and what in problems[0].message
    assert problems[0].file == str(d / "pred_part_result.json")
    with pytest.raises(InputError, match=what):
        read_tps(d, "pred")


def test_read_errors(tmp_path):
    with pytest.raises(InputError, match="not a folder"):
        read_tps(tmp_path / "nope", "gt")
    with pytest.raises(InputError, match="no such file"):
        read_tps(tmp_path, "gt")
    with pytest.raises(InputError, match="kind"):
        read_tps(tmp_path, "both")

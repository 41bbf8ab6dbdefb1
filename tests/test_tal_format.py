"""ActivityNet-style JSON: reading the official fixtures, write/read round trips, every validator problem."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deeperaction.errors import InputError
from deeperaction.formats.activitynet import (TalGT, TalPred, read_activitynet_gt, read_activitynet_pred,
                                              validate_activitynet, write_activitynet_gt,
                                              write_activitynet_pred)
from deeperaction.schema import Segment


def test_read_fixture_counts_and_order(official):
    d = official / "fineaction" / "tied"
    exp = json.loads((d / "expected.json").read_text())
    gt = read_activitynet_gt(d / "gt.json")
    pred = read_activitynet_pred(d / "pred.json")
    assert len(gt) == exp["n_gt_instances"] and len(pred) == exp["n_predictions"]
    assert gt.labels == list(exp["AP_per_class"])  # first appearance in the subset
    assert len(gt.videos) == 60 and gt.duration[0] == 250.28
    raw = json.loads((d / "pred.json").read_text())["results"]
    first = raw[pred.videos[0]][0]
    assert (pred.labels[pred.label[0]], pred.score[0], pred.t_start[0], pred.t_end[0]) == (
        first["label"], first["score"], *first["segment"])
    assert pred.score.dtype == np.float64
    train = read_activitynet_gt(d / "gt.json", subset="training")
    assert len(train.videos) == 5 and not set(train.videos) & set(gt.videos)
    with pytest.raises(InputError, match="no video in subset 'test' \\(subsets in the file: training, validation"):
        read_activitynet_gt(d / "gt.json", subset="test")


def test_fixtures_validate_clean(official):
    d = official / "fineaction" / "tiefree"
    assert not validate_activitynet(d / "gt.json")
    assert not validate_activitynet(d / "pred.json")
    problems = validate_activitynet(d / "pred.json", "pred", gt=d / "gt.json")
    assert len(problems) == 1 and "v_not_in_gt" in str(problems.items[0])


_num = st.floats(0, 1e4, allow_nan=False, allow_infinity=False)
_seg = st.tuples(_num, _num).map(sorted)
_segments = st.lists(st.builds(lambda v, c, s, sc: Segment(v, c, s[0], s[1], sc),
                               st.sampled_from(["v1", "v_2", "vidéo"]), st.sampled_from(["a", "b c", "é"]),
                               _seg, st.floats(-1e3, 1e3, allow_nan=False)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(_segments)
def test_pred_round_trip(tmp_path_factory, segs):
    path = tmp_path_factory.mktemp("p") / "pred.json"
    write_activitynet_pred(path, segs)
    back = read_activitynet_pred(path)
    by_video = sorted(segs, key=lambda s: [x.video_id for x in segs].index(s.video_id))  # grouped, stable
    assert back.segments() == by_video
    assert not validate_activitynet(path, "pred")
    mem = TalPred.from_segments(by_video)
    for f in ("video", "label", "t_start", "t_end", "score"):
        assert np.array_equal(getattr(mem, f), getattr(back, f))


@settings(max_examples=60, deadline=None)
@given(_segments, st.sampled_from(["validation", "test"]))
def test_gt_round_trip(tmp_path_factory, segs, subset):
    path = tmp_path_factory.mktemp("g") / "gt.json"
    subsets = {"empty_video": subset, "v1": subset, "v_2": "training", "vidéo": subset}
    durations = {"v1": 1e4, "v_2": 10000.0, "vidéo": 1e4}
    write_activitynet_gt(path, segs, subsets=subsets, durations=durations, fps={"v1": 25.0})
    gt = read_activitynet_gt(path, subset)
    want = sorted((s for s in segs if subsets[s.video_id] == subset), key=lambda s: list(subsets).index(s.video_id))
    assert gt.segments() == [Segment(s.video_id, s.label, s.start_s, s.end_s, 1.0) for s in want]
    assert gt.videos == ["empty_video", "v1", "vidéo"]
    assert math.isnan(gt.duration[0]) and gt.duration[1] == 1e4
    assert gt.labels == list(dict.fromkeys(s.label for s in want))
    assert not validate_activitynet(path, "gt")
    mem = TalGT.from_segments(want, videos=gt.videos, durations=durations, subset=subset)
    assert mem.videos == gt.videos and np.array_equal(mem.t_end, gt.t_end) and mem.labels == gt.labels


def _write(tmp_path, obj, name="f.json") -> str:
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


BAD_PRED = {
    "version": "x",
    "results": {
        "v1": [{"label": "a", "score": 0.5, "segment": [1, 2]},
               {"label": "a", "score": "0.5", "segment": [1, 2]},
               {"label": "a", "score": True, "segment": [1, 2]},
               {"label": 3, "score": 0.5, "segment": [1, 2]},
               {"label": "a", "segment": [1, 2]},
               {"label": "a", "score": 0.5, "segment": [5, 2]},
               {"label": "a", "score": 0.5, "segment": [1, 2, 3]},
               {"label": "a", "score": 0.5, "segment": [1, "2"]},
               {"label": "a", "score": float("nan"), "segment": [1, 2]},
               "not an object"],
        "v2": {"label": "a"},
    },
}
BAD_PRED_MESSAGES = [
    "field 'external_data': missing top-level field",
    "video 'v1', field 'results[1].score': score must be a finite number, got \"0.5\"",
    "video 'v1', field 'results[2].score': score must be a finite number, got true",
    "video 'v1', field 'results[3].label': label must be a string, got 3",
    "video 'v1', field 'results[4].score': score must be a finite number, got null",
    "video 'v1', field 'results[5].segment': end 2 is before start 5",
    "video 'v1', field 'results[6].segment': must be [start, end] (2 numbers), got [1, 2, 3]",
    "video 'v1', field 'results[7].segment': start and end must be finite numbers",
    "video 'v1', field 'results[8].score': score must be a finite number, got nan",
    "video 'v1', field 'results[9]': prediction must be an object",
    "video 'v2', field 'results': must be a list of predictions",
]


def test_pred_validator_lists_every_problem_and_reader_raises_them(tmp_path):
    path = _write(tmp_path, json.dumps(BAD_PRED))  # json.dumps writes NaN, which Python's json accepts
    problems = [str(p) for p in validate_activitynet(path).items]
    assert len(problems) == len(BAD_PRED_MESSAGES)
    for want, got in zip(BAD_PRED_MESSAGES, problems):
        assert got.startswith(str(path)) and want in got, (want, got)
    with pytest.raises(InputError) as e:
        read_activitynet_pred(path)
    assert len(e.value.problems) == len(BAD_PRED_MESSAGES) - 1  # the reader does not need external_data


def test_gt_validator_problems(tmp_path):
    doc = {"database": {
        "v1": {"subset": "validation", "duration": 10.0,
               "annotations": [{"segment": [1, 2], "label": "a"}, {"segment": [8, 11], "label": "a"},
                               {"segment": [-1, 2], "label": "a"}, {"segment": [1, 2]}, 7]},
        "v2": {"annotations": []},
        "v3": {"subset": "validation", "duration": "long", "annotations": "none"},
        "v4": [],
    }}
    path = _write(tmp_path, doc)
    got = [str(p) for p in validate_activitynet(path, "gt").items]
    want = ["field 'taxonomy': missing top-level field", "field 'version': missing top-level field",
            "video 'v1', field 'annotations[1].segment': segment [8, 11] outside the video [0, 10.0]",
            "video 'v1', field 'annotations[2].segment': segment [-1, 2] outside the video",
            "video 'v1', field 'annotations[3].label': label must be a string, got null",
            "video 'v1', field 'annotations[4]': annotation must be an object",
            "video 'v2', field 'subset': missing or non-string subset",
            "video 'v3', field 'duration': duration must be a number >= 0, got \"long\"",
            "video 'v3', field 'annotations': missing or not a list",
            "video 'v4': video entry must be an object"]
    assert len(got) == len(want)
    for w, g in zip(want, got):
        assert w in g, (w, g)
    with pytest.raises(InputError) as e:  # the reader accepts segments outside the duration (real GT has them)
        read_activitynet_gt(path)
    assert len(e.value.problems) == 6


@pytest.mark.parametrize("text, message", [
    ('{"results": {"v": [{"label": "a", "score": 0.5, "segm', "truncated JSON: unexpected end of file (line 1"),
    ('{"results": {"v": [}}', "malformed JSON: Expecting value (line 1, column 20)"),
    ("[1, 2]", "top level must be a JSON object"),
    ('{"version": 1}', "field 'results': missing top-level field"),
    ('{"results": []}', "field 'results': must be an object keyed by video id, got list"),
    ('{"results": {"v": [{"label": "a", "score": 1e999, "segment": [0, 1]}]}}', "score must be a finite number"),
    ('{"results": {"v": [{"label": "a", "score": 1, "segment": [0, 1' + "0" * 400 + ']}]}}',
     "start and end must be finite numbers"),
])
def test_reader_errors_name_the_cause(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(InputError, match=message.replace("(", "\\(").replace(")", "\\)")):
        read_activitynet_pred(path)
    assert any(message in str(p) for p in validate_activitynet(path, "pred").items)


def test_non_utf8_and_missing_file(tmp_path):
    p = tmp_path / "latin.json"
    p.write_bytes(b'{"database": {"caf\xe9": {}}}')
    assert "not UTF-8" in str(validate_activitynet(p).items[0])
    assert "no such file" in str(validate_activitynet(tmp_path / "nope.json").items[0])
    with pytest.raises(FileNotFoundError):
        read_activitynet_gt(tmp_path / "nope.json")


def test_pred_checked_against_gt(tmp_path):
    gt = TalGT.from_segments([Segment("v1", "a", 0, 5)], durations={"v1": 10.0})
    pred = {"version": "x", "external_data": {}, "results": {
        "v1": [{"label": "a", "score": 0.1, "segment": [1, 12]}, {"label": "zz", "score": 0.1, "segment": [1, 2]},
               {"label": "zz", "score": 0.2, "segment": [1, 2]}],
        "v9": [{"label": "a", "score": 0.1, "segment": [1, 2]}]}}
    got = [str(p) for p in validate_activitynet(_write(tmp_path, pred), "pred", gt=gt).items]
    assert len(got) == 3
    assert "video 'v1', field 'results[0].segment': segment [1, 12] outside the video [0, 10.0]" in got[0]
    assert "video 'v9': video not in the ground-truth subset 'validation': its 1 predictions count" in got[1]
    assert "label 'zz' is not a class of the ground-truth subset 'validation' (2 predictions" in got[2]

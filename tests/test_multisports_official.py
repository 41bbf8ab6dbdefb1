"""MultiSports metric vs the official scorers' numbers on the official fixtures (2022 and 2021 protocols)."""
from __future__ import annotations

import json

import pytest

from deeperaction.formats.multisports import (read_frame_detections, read_multisports_gt,
                                              read_video_detections)
from deeperaction.metrics.multisports import evaluate_multisports

KEYS_2021 = {"F@0.5": "F@0.5", "V@0.2": "V@0.2", "V@0.5": "V@0.5", "V@0.05-0.45": "V@0.05:0.45",
             "V@0.50-0.95": "V@0.5:0.95", "V@0.10-0.90": "V@0.1:0.9"}


def _load(official, case):
    d = official / "multisports" / case
    gt = read_multisports_gt(d / "gt.pkl")
    return (gt, read_frame_detections(d / "frame_detections.pkl", gt),
            read_video_detections(d / "video_detections.pkl", gt), json.loads((d / "expected.json").read_text()))


@pytest.fixture(scope="module", params=["tiefree", "tied"])
def case(request, official):
    return request.param, _load(official, request.param)


@pytest.mark.parametrize("tie_order", ["stable", "numpy"])
def test_2022_matches_official(case, tie_order):
    """Every top-level number of expected.json (2022 scorer), per class and per threshold, to 1e-9.

    The tied case is matched by both tie rules: its ties never decide a TP/FP order that changes an AP.
    """
    name, (gt, fd, vd, exp) = case
    r = evaluate_multisports(gt, fd, vd, protocol="2022", tie_order=tie_order)
    assert r.headline_name == "V@0.1:0.9"
    assert r.headline == pytest.approx(exp["VideoAP_0.10:0.90 (V@0.1:0.9 headline)"], abs=1e-9)
    assert r.per_threshold["F@0.5"] == pytest.approx(exp["frameAP@0.5"], abs=1e-9)
    assert r.per_threshold["V@0.2"] == pytest.approx(exp["videoAP@0.2"], abs=1e-9)
    assert r.per_threshold["V@0.5"] == pytest.approx(exp["videoAP@0.5"], abs=1e-9)
    assert r.per_threshold["V@0.05:0.45"] == pytest.approx(exp["VideoAP_0.05:0.45"], abs=1e-9)
    assert r.per_threshold["V@0.5:0.95"] == pytest.approx(exp["VideoAP_0.50:0.95"], abs=1e-9)
    assert r.tables["frame_ap_per_class"] == pytest.approx(exp["frameAP@0.5_per_class"], abs=1e-9)
    assert r.tables["video_ap_per_class"]["0.2"] == pytest.approx(exp["videoAP@0.2_per_class"], abs=1e-9)
    assert r.tables["video_ap_per_class"]["0.5"] == pytest.approx(exp["videoAP@0.5_per_class"], abs=1e-9)
    per_thr = exp["videoAP_per_threshold(repr(thr) -> mAP)"]
    assert set(per_thr) <= set(r.tables["video_map_per_threshold"])
    for k, v in per_thr.items():
        assert r.tables["video_map_per_threshold"][k] == pytest.approx(v, abs=1e-9), k
    # the 6 never-scored classes are absent, and so are classes without GT
    assert "basketball save" not in r.tables["frame_ap_per_class"]
    assert len(r.tables["classes"]["never_scored"]) == 6


@pytest.mark.parametrize("tie_order", ["stable", "numpy"])
def test_2021_matches_official(case, tie_order):
    """The 2021 CodaLab scorer's scores.txt numbers (float32 means; float64 range sums) to 1e-9."""
    name, (gt, fd, vd, exp) = case
    ref = exp["2021"] if name == "tiefree" else exp["protocol_2021_codalab"]
    r = evaluate_multisports(gt, fd, vd, protocol="2021", tie_order=tie_order)
    for k, ours in KEYS_2021.items():
        assert r.per_threshold[ours] == pytest.approx(ref[k], abs=1e-9), k
    if name == "tiefree":  # per-call, per-class float32 APs x100
        for call in ref["per_call"]:
            if call["fn"] == "frameAP":
                got = r.tables["frame_ap_per_class"]
            else:
                got = r.tables["video_ap_per_class"][call["th_repr"]]
                assert r.tables["video_map_per_threshold"][call["th_repr"]] == pytest.approx(
                    call["mAP_x100"], abs=1e-9)
            assert got == pytest.approx(call["AP_per_class_x100"], abs=1e-9)


def test_paths_and_objects_agree(official):
    d = official / "multisports" / "tiefree"
    a = evaluate_multisports(d / "gt.pkl", d / "frame_detections.pkl", d / "video_detections.pkl")
    gt, fd, vd, _ = _load(official, "tiefree")
    b = evaluate_multisports(gt, fd, vd)
    assert a.to_dict() == b.to_dict()


def test_frame_only_and_video_only(official):
    gt, fd, vd, exp = _load(official, "tiefree")
    f = evaluate_multisports(gt, frame_dets=fd)
    assert f.headline_name == "F@0.5" and f.headline == pytest.approx(exp["frameAP@0.5"], abs=1e-9)
    v = evaluate_multisports(gt, video_dets=vd, thresholds=(0.5,))
    assert v.headline_name == "V@0.5" and v.headline == pytest.approx(exp["videoAP@0.5"], abs=1e-9)
    assert "F@0.5" not in v.per_threshold

"""Person detection quality on real footage: people found per frame on vtest.avi against hand counts."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deeperaction.perception.samples import vtest_path

ANNOTATION = Path(__file__).parent / "data" / "vtest_person_counts.json"


@pytest.mark.slow
@pytest.mark.parametrize("people", ["parse", "detect"])
def test_vtest_person_counts_against_hand_annotation(people):
    """parse's people, and detect's (its person detector, trained on synthetic scenes only, first: it must not
    hide or invent real people), against the hand counts."""
    video = vtest_path()
    if video is None:
        pytest.skip("vtest.avi not available: run `make demo` once (apt-get download opencv-doc) to cache it")
    from deeperaction.tasks.detect import DETECT_PERSON_MODEL
    from deeperaction.tasks.parse import parse_video

    gt = {int(k): v["count"] for k, v in json.loads(ANNOTATION.read_text())["frames"].items()}
    extra = dict(person_model=str(DETECT_PERSON_MODEL), person_model_only=False) if people == "detect" else {}
    vp = parse_video(video, stride=10, max_frames=200, action_model="none", **extra)
    found = {f.frame: len(f.persons) for f in vp.frames}
    g = np.array([gt[k] for k in sorted(gt)])
    d = np.array([found[k] for k in sorted(gt)])
    # measured: 95 of 133 people found, MAE 1.9, never more than annotated (default "hog"; detect's people, its
    # person detector first, the same: 95, 1.9, never more; before the person checks 97, MAE 1.8, of which
    # about 6 boxes around two far people or a person and the street, by eye; at stride 5: 98,
    # tests/test_parse_real_footage.py)
    assert np.abs(g - d).mean() <= 2.2
    assert d.sum() >= 0.65 * g.sum()
    assert (d <= g + 1).all()


@pytest.mark.slow
def test_vtest_people_walk():
    """The shipped skeleton model, trained on synthetic people only, names the pedestrians' action: the video
    is "walk" and so are most tracks seen long enough to judge (>= 5 parsed frames). Poses every 2nd frame (5 a
    second at vtest's 10 fps): the model's windows are 1.9 s of motion. Measured: 7 of 11 tracks walk, the
    others split among squat, bow and twist (docs/training.md)."""
    video = vtest_path()
    if video is None:
        pytest.skip("vtest.avi not available: run `make demo` once (apt-get download opencv-doc) to cache it")
    from deeperaction.tasks.parse import Parser

    parser = Parser(stride=2, max_frames=240)
    try:
        vp = parser.parse(video).parse
    finally:
        parser.close()
    assert vp.action == "walk", vp.action_scores
    seen = {tid: sum(any(p.track_id == tid for p in f.persons) for f in vp.frames) for tid in vp.track_actions}
    long = [tid for tid, n in seen.items() if n >= 5]
    walking = [tid for tid in long if max(vp.track_actions[tid], key=vp.track_actions[tid].get) == "walk"]
    assert len(long) >= 6 and len(walking) > 0.5 * len(long), {t: vp.track_actions[t] for t in long}

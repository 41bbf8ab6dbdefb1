"""The tube builder on hand-made score tracks: gaps, flicker, two actions in a row, one-frame blips, crossing
tracks, a track with no action."""
from __future__ import annotations

import numpy as np
import pytest

from deeperaction.tasks.tubes import TubeOptions, label_frames, runs, smooth, track_tubes

CLASSES = ["walk", "wave", "none"]
FPS = 10.0
OPTS = TubeOptions(threshold=0.5, smooth_s=0.1, max_gap_s=0.3, min_len_s=0.5)  # 1-frame smooth; 3-frame gap; 5 frames


def curves(spec: str) -> np.ndarray:
    """One character per frame: W = walk, V = wave, . = none; probabilities 0.9 for the named class."""
    out = np.full((len(spec), 3), 0.05)
    for t, ch in enumerate(spec):
        out[t, {"W": 0, "V": 1, ".": 2}[ch]] = 0.9
    return out


def tubes_of(spec: str, opts: TubeOptions = OPTS, track: int = 1):
    n = len(spec)
    frames = np.arange(100, 100 + n)
    boxes = np.c_[np.arange(n), np.zeros(n), np.arange(n) + 10, np.full(n, 20.0)]
    return [t for _, t in track_tubes("v", track, frames, boxes, curves(spec), CLASSES, FPS, opts)]


def spans(tubes):
    return [(t.label, int(t.frames[0]) - 100, int(t.frames[-1]) - 100 + 1) for t in tubes]


def test_one_action_one_tube_with_its_boxes():
    tubes = tubes_of("....WWWWWWWW....")
    assert spans(tubes) == [("walk", 4, 12)]
    t = tubes[0]
    assert (np.diff(t.frames) == 1).all() and t.boxes[0].tolist() == [4, 0, 14, 20]
    assert t.score == pytest.approx(0.9)


def test_short_gaps_are_bridged_long_gaps_split():
    assert spans(tubes_of("WWWWWW..WWWWWW")) == [("walk", 0, 14)]            # 2-frame gap: one instance
    assert spans(tubes_of("WWWWWW......WWWWWW")) == [("walk", 0, 6), ("walk", 12, 18)]  # 6 frames: two


def test_flicker_to_another_class_is_bridged():
    assert spans(tubes_of("WWWWWVWWWWW")) == [("walk", 0, 11)]


def test_two_actions_in_a_row():
    assert spans(tubes_of("WWWWWWWVVVVVVV")) == [("walk", 0, 7), ("wave", 7, 14)]


def test_one_frame_blips_make_no_tube():
    assert tubes_of("...W....V...") == []
    assert spans(tubes_of("..........VVVVVV.W..")) == [("wave", 10, 16)]


def test_no_action_no_tube_and_none_never_a_label():
    assert tubes_of("....................") == []


def test_low_scores_stay_below_the_threshold():
    sc = np.full((20, 3), 1 / 3)
    assert track_tubes("v", 1, np.arange(20), np.zeros((20, 4)), sc, CLASSES, FPS, OPTS) == []


def test_crossing_tracks_keep_their_own_tubes():
    """Two people cross (their boxes overlap mid-way): each track's tube keeps its own label and boxes."""
    n = 20
    f = np.arange(n)
    left = np.c_[f * 5.0, np.zeros(n), f * 5.0 + 20, np.full(n, 50.0)]
    right = np.c_[95 - f * 5.0, np.zeros(n), 115 - f * 5.0, np.full(n, 50.0)]
    a = track_tubes("v", 1, f, left, curves("W" * n), CLASSES, FPS, OPTS)
    b = track_tubes("v", 2, f, right, curves("V" * n), CLASSES, FPS, OPTS)
    assert [(tid, t.label) for tid, t in a + b] == [(1, "walk"), (2, "wave")]
    assert np.array_equal(a[0][1].boxes, left) and np.array_equal(b[0][1].boxes, right)


def test_smoothing_and_runs_helpers():
    x = np.array([[0.0], [0.0], [3.0], [0.0], [0.0]])
    np.testing.assert_allclose(smooth(x, 3)[:, 0], [0.0, 1.0, 1.0, 1.0, 0.0])
    assert runs(np.array([1, 1, -1, 2, 2, 2])) == [(1, 0, 2), (-1, 2, 3), (2, 3, 6)]
    lab = label_frames(curves("WWWWWW"), FPS, OPTS)
    assert lab.tolist() == [0] * 6


def test_frames_must_be_contiguous():
    with pytest.raises(ValueError, match="contiguous"):
        track_tubes("v", 1, np.array([0, 1, 3]), np.zeros((3, 4)), np.zeros((3, 3)), CLASSES, FPS, OPTS)

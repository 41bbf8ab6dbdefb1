"""The tube builder on hand-made score tracks: gaps, flicker, two actions in a row, one-frame blips, crossing
tracks, a track with no action; its Viterbi labelling against brute force."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from deeperaction.tasks.tubes import (
    TubeOptions,
    label_frames,
    runs,
    smooth,
    span_unseen,
    track_tubes,
    viterbi_labels,
)

CLASSES = ["walk", "wave", "none"]
FPS = 10.0
# 1-frame smooth; a change of label costs 2; 3-frame gaps bridged; 5-frame runs
OPTS = TubeOptions(threshold=0.25, smooth_s=0.1, switch_cost=2.0, max_gap_s=0.3, min_len_s=0.5)


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
    sc = np.full((20, 3), 0.2)
    assert track_tubes("v", 1, np.arange(20), np.zeros((20, 4)), sc, CLASSES, FPS, OPTS) == []


def test_the_defaults_keep_half_second_actions_and_drop_blips():
    """At 25 fps with the default options: a clear action of 0.5 s is a tube (2 frames wider each side from
    the 0.3 s smoothing), one of 0.2 s is not."""
    for n, want in ((13, [("walk", 18, 35)]), (5, [])):
        spec = "." * 20 + "W" * n + "." * 20
        tubes = track_tubes("v", 1, np.arange(100, 100 + len(spec)), np.zeros((len(spec), 4)), curves(spec),
                            CLASSES, 25.0)
        assert spans(t for _, t in tubes) == want


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


def test_viterbi_finds_the_best_labelling():
    """Against every labelling of short random tracks: the objective (log probabilities minus the switch costs)
    of Viterbi's labels is the best there is."""
    rng = np.random.default_rng(0)
    for n, c, cost in ((1, 2, 1.0), (5, 2, 0.7), (6, 3, 2.0), (6, 1, 0.3), (4, 3, 0.0)):
        probs, none = rng.dirichlet(np.ones(c + 1), n)[:, :c], 0.3

        def objective(lab, seen=np.ones(n, bool)):  # unseen frames score nothing
            lp = np.log(np.where(np.asarray(lab) < 0, none, probs[np.arange(n), np.maximum(lab, 0)]))
            return lp[seen].sum() - cost * np.count_nonzero(np.diff(lab))

        best = max(objective(lab) for lab in itertools.product(range(-1, c), repeat=n))
        assert objective(viterbi_labels(probs, none, cost)) == pytest.approx(best)
        seen = rng.random(n) < 0.6
        best = max(objective(lab, seen) for lab in itertools.product(range(-1, c), repeat=n))
        assert objective(viterbi_labels(probs, none, cost, seen), seen) == pytest.approx(best)
    assert viterbi_labels(np.zeros((0, 2)), 0.3, 1.0).shape == (0,)


def test_no_switch_cost_labels_each_frame_on_its_own():
    probs = np.random.default_rng(1).dirichlet(np.ones(4), 200)[:, :3]
    best = probs.argmax(1)
    want = np.where(probs[np.arange(200), best] >= 0.3, best, -1)
    assert viterbi_labels(probs, 0.3, 0.0).tolist() == want.tolist()


def test_switch_cost_holds_a_weak_steady_action_through_flicker():
    """A walk at 0.45 that another class beats for single frames and that dips under none's 0.4 now and then
    (a real pedestrian): many pieces frame by frame, one walk tube when a label change costs 2."""
    sc = np.full((40, 3), 0.05)
    sc[:, 0] = 0.45
    sc[5::7, 0], sc[5::7, 1] = 0.2, 0.6   # a wave frame every 7
    sc[9::8, 0] = 0.35                    # under none
    frame_by_frame = TubeOptions(threshold=0.4, smooth_s=0.1, switch_cost=0.0, max_gap_s=0.0, min_len_s=0.1)
    joint = TubeOptions(threshold=0.4, smooth_s=0.1, switch_cost=2.0, max_gap_s=0.0, min_len_s=0.1)
    f, b = np.arange(40), np.zeros((40, 4))
    assert len(track_tubes("v", 1, f, b, sc, CLASSES, FPS, frame_by_frame)) > 5
    assert spans(t for _, t in track_tubes("v", 1, f + 100, b, sc, CLASSES, FPS, joint)) == [("walk", 0, 40)]


def test_frames_must_be_contiguous():
    with pytest.raises(ValueError, match="contiguous"):
        track_tubes("v", 1, np.array([0, 1, 3]), np.zeros((3, 4)), np.zeros((3, 3)), CLASSES, FPS, OPTS)


def test_an_occlusion_does_not_cut_the_tube():
    """A walker hidden for 1.2 s (behind a sign: the tracker's keypoints only interpolated, which the model
    scores as none): two walk tubes from the raw scores, one across the occlusion when those frames are marked
    unseen; an action that changes during the occlusion still changes."""
    spec = "WWWWWWWWWW" + "." * 12 + "WWWWWWWWWW"
    seen = np.array([ch != "." for ch in spec])
    f, b = np.arange(100, 100 + len(spec)), np.zeros((len(spec), 4))
    assert spans(t for _, t in track_tubes("v", 1, f, b, curves(spec), CLASSES, FPS, OPTS)) == [
        ("walk", 0, 10), ("walk", 22, 32)]
    assert spans(t for _, t in track_tubes("v", 1, f, b, curves(spec), CLASSES, FPS, OPTS, seen)) == [
        ("walk", 0, 32)]
    two = "WWWWWWWWWW" + "." * 12 + "VVVVVVVVVV"
    got = spans(t for _, t in track_tubes("v", 1, f, b, curves(two), CLASSES, FPS, OPTS, seen))
    assert [g[0] for g in got] == ["walk", "wave"] and got[0][1] == 0 and got[1][2] == 32
    assert track_tubes("v", 1, f, b, curves(spec), CLASSES, FPS, OPTS, np.zeros(len(spec), bool)) == []
    with pytest.raises(ValueError, match="one flag per frame"):
        track_tubes("v", 1, f, b, curves(spec), CLASSES, FPS, OPTS, seen[:-1])


def test_span_unseen_draws_straight_lines_between_seen_frames():
    sc = np.array([[1.0, 0.0], [9.0, 9.0], [9.0, 9.0], [0.0, 1.0], [5.0, 5.0]])
    got = span_unseen(sc, np.array([True, False, False, True, False]))
    np.testing.assert_allclose(got, [[1, 0], [2 / 3, 1 / 3], [1 / 3, 2 / 3], [0, 1], [0, 1]])
    np.testing.assert_array_equal(span_unseen(sc, np.ones(5, bool)), sc)
    np.testing.assert_array_equal(span_unseen(sc, np.zeros(5, bool)), sc)

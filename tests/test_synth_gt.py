"""Synthetic GT: self-consistency, every written file validates, and GT fed back as predictions scores perfect."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deeperaction.kinematics.states import part_state_ids
from deeperaction.schema import JOINT_INDEX, PARTS, Tube
from deeperaction.synth import ACTION_NAMES, generate, ground_truth, make_spec
from deeperaction.synth.export import to_keyframes, to_segments, to_tubes, to_video_parse

SIZE = (160, 120)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    root = tmp_path_factory.mktemp("synth")
    ms = {"tps": generate(root / "tps", videos=3, seed=5, task="tps", size=SIZE, duration=(2.0, 3.0)),
          "stad": generate(root / "stad", videos=3, seed=5, task="stad", size=SIZE, duration=(5.0, 6.0), preset="hard"),
          "tal": generate(root / "tal", videos=3, seed=5, task="tal", size=SIZE, fps=10, duration=(16.0, 18.0), workers=2)}
    return {k: (m.parent, json.loads(m.read_text())) for k, m in ms.items()}


@pytest.mark.parametrize("task,preset", [("tps", "default"), ("stad", "hard"), ("tal", "easy")])
def test_gt_self_consistency(task, preset):
    for i in range(3):
        spec = make_spec(task, i, 11, size=SIZE, preset=preset, duration=(4.0, 5.0) if task != "tal" else (20, 24))
        lab = ground_truth(spec)
        assert lab.persons
        for p in lab.persons:
            pp = p.part_present
            assert (pp <= p.present[:, None]).all()
            box = np.broadcast_to(p.boxes[:, None], p.part_boxes.shape)
            inside = ((p.part_boxes[..., :2] >= box[..., :2] - 1e-6) & (p.part_boxes[..., 2:] <= box[..., 2:] + 1e-6)).all(-1)
            assert inside[pp].all()
            assert ((p.boxes[:, 2] <= SIZE[0]) & (p.boxes[:, 3] <= SIZE[1]) & (p.boxes[:, :2] >= 0).all(1)).all()
            ids = part_state_ids(p.keypoints, spec.fps)
            np.testing.assert_array_equal(p.states, np.stack([ids[n] for n in PARTS], 1))
            vis = p.keypoints[..., 2] > 0
            kx, ky = p.keypoints[..., 0], p.keypoints[..., 1]
            b = p.boxes[:, None]
            ok = (kx >= b[..., 0] - 1e-6) & (kx <= b[..., 2] + 1e-6) & (ky >= b[..., 1] - 1e-6) & (ky <= b[..., 3] + 1e-6)
            assert ok[vis & p.present[:, None]].all()
        for t in to_tubes(lab):
            assert (np.diff(t.frames) == 1).all() and len(t.frames) >= 2 and t.label in ACTION_NAMES
        dur = lab.n_frames / spec.fps
        for s in to_segments(lab):
            assert 0 <= s.start_s < s.end_s <= dur + 1e-9


def test_tal_has_idle_gaps_and_several_segments():
    lab = ground_truth(make_spec("tal", 0, 3, size=SIZE, duration=(60.0, 60.0)))
    segs = sorted((s.start_s, s.end_s) for s in to_segments(lab) if s.video_id == lab.spec.video_id)
    assert len(segs) >= 3
    assert all(b[0] - a[1] >= 1.9 for a, b in zip(segs, segs[1:]))


def test_every_written_gt_validates(dataset):
    from deeperaction.formats.activitynet import validate_activitynet
    from deeperaction.formats.ava import read_labelmap, validate_ava
    from deeperaction.formats.kinetics_tps import validate_tps
    from deeperaction.formats.multisports import validate_multisports
    out, man = dataset["tps"]
    for d in man["ground_truth"]["tps"].values():
        assert not validate_tps(out / d, "gt").items
    out, man = dataset["stad"]
    st = man["ground_truth"]["stad"]
    assert not validate_multisports(out / st["multisports"], "gt").items
    lm = read_labelmap(out / st["ava_labelmap"])
    assert lm == {i + 1: a for i, a in enumerate(ACTION_NAMES)}
    for k, v in st.items():
        if k.startswith("ava_") and k != "ava_labelmap":
            assert not validate_ava(out / v, "gt", lm).items
    out, man = dataset["tal"]
    assert not validate_activitynet(out / man["ground_truth"]["tal"]["activitynet"], "gt").items
    for out, man in dataset.values():
        for v in man["videos"]:
            assert (out / v["file"]).is_file() and (out / v["labels"]).is_file()
        assert sum(len(v) for v in man["splits"].values()) == len(man["videos"])


def test_gt_as_predictions_scores_perfect(dataset, tmp_path):
    from deeperaction.formats.activitynet import read_activitynet_gt, read_activitynet_pred, write_activitynet_pred
    from deeperaction.formats.ava import write_ava_csv
    from deeperaction.formats.kinetics_tps import read_tps, write_tps
    from deeperaction.formats.multisports import read_multisports_gt, write_frame_detections, write_video_detections
    from deeperaction.metrics.ava import evaluate_ava
    from deeperaction.metrics.multisports import evaluate_multisports
    from deeperaction.metrics.tal import evaluate_tal
    from deeperaction.metrics.tps import evaluate_tps
    out, man = dataset["tps"]
    gt = man["ground_truth"]
    # TPS: re-derive the parses of the training split from the manifest's seeds and write them as predictions
    train = out / gt["tps"]["training"]
    g = read_tps(train, "gt")
    parses = {}
    for v in man["videos"]:
        if v["task"] == "tps" and v["id"] in g.actions:
            lab = ground_truth(make_spec("tps", v["index"], man["seed"], size=SIZE, duration=(2.0, 3.0)))
            parses[v["id"]] = to_video_parse(lab)
    write_tps(tmp_path / "tps", parses, kind="pred")
    assert evaluate_tps(g, read_tps(tmp_path / "tps", "pred")).headline == pytest.approx(0.9999, abs=1e-12)
    # MultiSports + AVA
    out, man = dataset["stad"]
    st = man["ground_truth"]["stad"]
    ms = read_multisports_gt(out / st["multisports"])
    tubes: list[Tube] = []
    boxes, labs = [], []
    for v in man["videos"]:
        if v["task"] == "stad":
            lab = ground_truth(make_spec("stad", v["index"], man["seed"], size=SIZE, preset="hard", duration=(5.0, 6.0)))
            labs.append((v, lab))
            tubes += to_tubes(lab)
    test = set(ms.test_videos) if hasattr(ms, "test_videos") else None
    rows = [(t.video_id, int(f), t.label, 1.0, b) for t in tubes for f, b in zip(t.frames, t.boxes)
            if test is None or t.video_id in test]
    write_frame_detections(tmp_path / "fd.pkl", list(ACTION_NAMES), list(ms.test_videos), rows)
    write_video_detections(tmp_path / "vd.pkl", list(ACTION_NAMES), tubes)
    rep = evaluate_multisports(out / st["multisports"], tmp_path / "fd.pkl", tmp_path / "vd.pkl")
    assert rep.headline == pytest.approx(100.0)
    assert all(val == pytest.approx(100.0) for val in rep.per_threshold.values())
    for v, lab in labs:
        if v["split"] == "train":
            boxes += to_keyframes(lab)[0]
    write_ava_csv(tmp_path / "ava_pred.csv", boxes, kind="pred")
    rep = evaluate_ava(out / st["ava_training"], tmp_path / "ava_pred.csv", out / st["ava_labelmap"])
    assert rep.headline == pytest.approx(1.0)
    # TAL
    out, man = dataset["tal"]
    gt = man["ground_truth"]
    segs = []
    for v in man["videos"]:
        if v["task"] == "tal":
            segs += to_segments(ground_truth(make_spec("tal", v["index"], man["seed"], size=SIZE, fps=10,
                                                       duration=(16.0, 18.0))))
    scored = 0
    for subset in ("training", "validation"):
        g = read_activitynet_gt(out / gt["tal"]["activitynet"], subset)
        if len(g):
            write_activitynet_pred(tmp_path / "tal.json", [s for s in segs if s.video_id in set(g.videos)])
            assert evaluate_tal(g, read_activitynet_pred(tmp_path / "tal.json")).headline == pytest.approx(1.0)
            scored += 1
    assert scored


@pytest.mark.parametrize("action,highest", [("walk", 0.1), ("run", 0.2), ("jumping_jacks", 0.2), ("jump", 0.45)])
def test_style_noise_keeps_people_on_the_floor(action, highest):
    """The body's lift off the floor (m) stays the action's own: generator 1.1 added the angles' style noise to
    it in metres, floating walkers and jumpers up to ~2 m and sinking them below the floor."""
    from deeperaction.synth.humans import forward_kinematics, sample_body
    from deeperaction.synth.motions import Instance, compose_timeline

    feet = [JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    for seed in range(6):
        rng = np.random.default_rng(seed)
        body = sample_body(rng)
        pose = compose_timeline(rng, 150, 25.0, [Instance(action, 10, 140, amplitude=1.1)], style=5.0)
        lift = forward_kinematics(body, pose)[:, feet, 1].min(1) - body.seg["r_leg"] * 0.6
        assert -0.02 < lift.min() and lift.max() < highest, (seed, lift.min(), lift.max())


def test_street_walkers_change_depth_as_they_walk():
    """preset street: people walking toward the camera get larger and their feet lower in the frame over their
    walk, people walking away smaller and their feet higher; existing presets never make street walkers."""
    seen = {"toward": 0, "away": 0}
    neck, lh, rh = JOINT_INDEX["neck"], JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]
    ankles = [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]
    for i in range(8):
        spec = make_spec("stad", i, 3, preset="street")
        assert not any(p.path == "street" for p in make_spec("stad", i, 3, preset="default").persons)
        lab = ground_truth(spec)
        for ps, p in zip(spec.persons, lab.persons):
            if ps.path != "street" or abs(np.cos(np.radians(ps.yaw))) < 0.7:
                continue
            a, b = ps.instances[0].start, ps.instances[0].end - 1
            kp = p.keypoints[:, :, :2]
            hip = (kp[:, lh] + kp[:, rh]) / 2
            torso = np.linalg.norm(kp[:, neck] - hip, axis=-1)
            feet = kp[:, ankles, 1].max(1)
            grow, down = torso[b] / torso[a], feet[b] - feet[a]
            if np.cos(np.radians(ps.yaw)) > 0:
                assert grow > 1.1 and down > 0, (i, ps.yaw, grow, down)
                seen["toward"] += 1
            else:
                assert grow < 1 / 1.1 and down < 0, (i, ps.yaw, grow, down)
                seen["away"] += 1
    assert min(seen.values()) >= 1, seen


def test_overhead_sees_a_stride_toward_the_camera_as_one_foot_lower():
    """preset overhead: the camera looks down 20-50 degrees, so a walker facing the camera shows the front
    foot lower in the frame than the back one (level with it side-on, as `street` draws them) and a shorter
    body; the other presets' people are drawn exactly as before (elevation 0)."""
    from deeperaction.synth.humans import forward_kinematics, project, sample_body
    from deeperaction.synth.motions import Instance, compose_timeline
    from deeperaction.synth.video import Scene

    rng = np.random.default_rng(0)
    body = sample_body(rng)
    j3 = forward_kinematics(body, compose_timeline(rng, 50, 25.0, [Instance("walk", 0, 50)], style=0.0))
    T = len(j3)
    ground, ppm = np.tile([100.0, 200.0], (T, 1)), np.full(T, 50.0)
    la, ra, neck = JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"], JOINT_INDEX["neck"]
    flat, depth = project(j3, np.zeros(T), ground, ppm)
    high, depth_high = project(j3, np.zeros(T), ground, ppm, elevation_deg=40.0)
    np.testing.assert_array_equal(depth, depth_high)
    ahead = depth[:, la] - depth[:, ra]  # metres the left ankle is nearer the camera than the right
    stride = np.abs(ahead) > 0.2
    assert stride.sum() >= 10
    lower = high[:, la, 1] - high[:, ra, 1]   # pixels the left ankle is lower in the frame
    flat_lower = flat[:, la, 1] - flat[:, ra, 1]
    assert np.all(np.sign(lower[stride]) == np.sign(ahead[stride]))
    gain = np.abs(lower[stride]) - np.abs(flat_lower[stride])   # >= 0.2 m * 50 px/m * sin 40 = 6.4 px, less
    assert gain.min() > 0 and np.median(gain) > 6.4              # the back ankle's lift, shrunk by cos 40
    tall = lambda pts: pts[:, la, 1] - pts[:, neck, 1]  # noqa: E731
    np.testing.assert_allclose(np.median(tall(high) / tall(flat)), np.cos(np.radians(40)), atol=0.08)
    looks = {preset: [Scene(make_spec("stad", i, 3, preset=preset)).elevation for i in range(4)]
             for preset in ("overhead", "plaza", "street", "default")}
    assert all(20 <= e <= 50 for e in looks["overhead"] + looks["plaza"])
    assert looks["street"] == looks["default"] == [0.0] * 4


def test_plaza_walkers_stop_on_the_way_and_idle_people_move_their_arms():
    """preset plaza: some walkers stop for 1.5-5 s and walk on as they went (two `walk` instances, standing
    between them), and idle people are lively (talking with their hands, arms folded, half turns) while the
    labels keep them idle. The lively motion comes from its own random stream and fades out wherever an action
    is under way, so an action looks as it did and every other preset draws the same poses as before."""
    from deeperaction.synth.motions import Instance, compose_timeline
    from deeperaction.synth.video import Scene

    fps, T = 25.0, 500
    still = compose_timeline(np.random.default_rng(0), T, fps, [Instance("wave", 200, 300)], style=3.0)
    lively = compose_timeline(np.random.default_rng(0), T, fps, [Instance("wave", 200, 300)], style=3.0,
                              lively=np.random.default_rng(1))
    idle = np.r_[0:180, 320:T]
    bent = lambda pose: np.maximum(pose["left_elbow"], pose["right_elbow"])[idle]  # noqa: E731
    assert bent(still).max() < 25 and (bent(lively) > 50).mean() > 0.2   # forearms up: talking, arms folded
    assert np.abs(still["yaw"]).max() == 0 and np.abs(lively["yaw"][idle]).max() > 30   # a half turn
    for k in still:   # the wave itself (past its ramps) is untouched, and so is every draw of the first stream
        np.testing.assert_array_equal(still[k][210:290], lively[k][210:290])

    stopped = 0
    for i in range(12):
        scene = Scene(make_spec("stad", i, 5, preset="plaza"))
        for person, ps in zip(scene.labels.persons, scene.spec.persons):
            if ps.path != "street" or len(ps.instances) != 2:
                continue
            a, b = ps.instances
            assert a.action == b.action == "walk" and (a.speed, a.side) == (b.speed, b.side)
            assert int(1.5 * fps) <= b.start - a.end <= 5 * fps
            assert all(person.action_at(f) is None for f in range(a.end, b.start))
            x = compose_timeline(np.random.default_rng(0), scene.spec.n_frames, fps, ps.instances)["x"]
            assert np.ptp(x[a.end + 8:b.start - 8]) < 0.01   # metres walked in the pause, on the spot
            assert x[a.end] - x[a.start] > 0.5 * (a.end - a.start) / fps and x[b.end - 1] - x[b.start] > 0
            stopped += person.present[a.end:b.start].all()
    assert stopped >= 2

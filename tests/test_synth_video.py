"""Synthetic videos: deterministic frames and labels, MP4 frame count, states visible in the pixels, CLI."""
from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from deeperaction.cli import app
from deeperaction.schema import JOINT_INDEX
from deeperaction.synth import generate, ground_truth, make_spec, render_video

SIZE = (128, 96)


def test_same_seed_same_frames_and_labels_other_seed_differs():
    a, la = render_video(make_spec("stad", 1, 7, size=SIZE, duration=(1.0, 1.0)))
    b, lb = render_video(make_spec("stad", 1, 7, size=SIZE, duration=(1.0, 1.0)))
    c, _ = render_video(make_spec("stad", 1, 8, size=SIZE, duration=(1.0, 1.0)))
    assert a.shape == (25, SIZE[1], SIZE[0], 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    for p, q in zip(la.persons, lb.persons):
        np.testing.assert_array_equal(p.keypoints, q.keypoints)
        np.testing.assert_array_equal(p.states, q.states)
    assert c.shape != a.shape or not np.array_equal(a, c)


def test_parts_with_a_state_move_on_screen():
    """Honesty: where a part's state is not "none", its drawn box moves (relative to the hip centre) more
    over the state window than where it is "none"."""
    moving, still = [], []
    h = 5
    for i in range(14):
        lab = ground_truth(make_spec("tps", i, 3, size=(160, 120), preset="easy", duration=(3.0, 3.0)))
        p = lab.persons[0]
        ok = p.part_present[:-2 * h] & p.part_present[2 * h:]
        kp = p.keypoints[..., :2]
        hip = 0.5 * (kp[:, JOINT_INDEX["left_hip"]] + kp[:, JOINT_INDEX["right_hip"]])
        torso = np.linalg.norm(kp[:, JOINT_INDEX["neck"]] - hip, axis=-1)
        rel = p.part_boxes - np.tile(hip, 2)[:, None]                # drawn part box relative to the hip centre
        d = np.abs(rel[2 * h:] - rel[:-2 * h]).max(-1) / torso[h:-h, None]
        st = p.states[h:-h]
        moving += d[ok & (st > 0)].tolist()
        still += d[ok & (st == 0)].tolist()
    assert len(moving) > 100 and len(still) > 100
    assert np.median(moving) > 2 * np.median(still), (np.median(moving), np.median(still))


def test_mp4_decodes_to_declared_frame_count(tmp_path):
    from deeperaction.video.reader import iter_frames, probe
    m = json.loads(generate(tmp_path, videos=1, seed=2, task="tps", size=SIZE, duration=(1.2, 1.2)).read_text())
    v = m["videos"][0]
    path = tmp_path / v["file"]
    assert probe(path).n_frames == v["frames"] == 30
    decoded = [f for _, f in iter_frames(path)]
    assert len(decoded) == 30 and decoded[0].shape == (SIZE[1], SIZE[0], 3)
    frames, _ = render_video(make_spec("tps", 0, 2, size=SIZE, duration=(1.2, 1.2)))
    mse = np.mean((np.stack(decoded).astype(float) - frames) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 28   # H.264 at crf 20 keeps the picture
    assert m["vocabulary"]["actions"] and m["vocabulary"]["part_states"]["head"][0] == "none"


def test_same_seed_same_bytes_in_any_folder(tmp_path):
    """A generator run's files are a function of its arguments: not of its folder, nor of what the process
    encoded or decoded before (libx264's defaults gave 3 different files in 10 encodes of one clip)."""
    from deeperaction.video.reader import iter_frames
    from deeperaction.video.writer import VideoWriter

    frames, _ = render_video(make_spec("stad", 3, 0, size=(160, 120), duration=(3.0, 3.0)))
    got = set()
    for k in range(8):
        path = tmp_path / ("v" * (1 + 7 * k % 23) + ".mp4")
        with VideoWriter(path, 25.0, (160, 120), reproducible=True) as w:
            for f in frames:
                w.write(f)
        got.add(path.read_bytes())
        sum(1 for _ in iter_frames(path))  # the decoder's allocations change what the next encode finds
    assert len(got) == 1

    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    generate(tmp_path / "a", videos=3, seed=4, task="tps", size=SIZE, duration=(1.5, 1.5))
    generate(tmp_path / "a_much_longer_folder_name" / "b", videos=3, seed=4, task="tps", size=SIZE,
             duration=(1.5, 1.5))
    a, b = files(tmp_path / "a"), files(tmp_path / "a_much_longer_folder_name" / "b")
    assert len(a) > 6 and a == b


def test_cli_synth(tmp_path):
    r = CliRunner().invoke(app, ["synth", str(tmp_path / "o"), "--videos", "1", "--task", "tal", "--size", "96x64",
                                 "--duration", "3:3", "--fps", "10"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "annotations" / "tal" / "activitynet_gt.json").is_file()
    for bad in (["--task", "nope"], ["--size", "big"], ["--preset", "x"], ["--duration", "5:1"], ["--videos", "0"]):
        r = CliRunner().invoke(app, ["synth", str(tmp_path / "p"), *bad])
        assert r.exit_code == 2, (bad, r.output)
        assert "Traceback" not in r.output

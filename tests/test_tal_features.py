"""Temporal features for ``localize``: the sidecar format, skeleton features of a parse, video-backbone
features over sliding windows (resampling, short videos), and the ``features`` command."""
from __future__ import annotations

import json

import numpy as np
import pytest

from deeperaction.errors import InputError
from deeperaction.formats.features import FeatureMeta, check_features, read_features, write_features
from deeperaction.schema import VideoParse

META = FeatureMeta(fps=25.0, window=48, stride=8, backbone="skeleton", dim=6, frames=400, duration=16.0)


def test_feature_files_round_trip_and_refuse_a_mismatch(tmp_path):
    x = np.random.default_rng(0).normal(size=(37, 6)).astype(np.float32)
    write_features(tmp_path / "v.npy", x, META)
    got, meta = read_features(tmp_path / "v.npy", meta=META)
    assert np.array_equal(got, x) and meta == META
    assert np.allclose(meta.centres(3), [24 / 25, 32 / 25, 40 / 25])
    for change, words in [(dict(fps=30.0), "fps 25, the model expects fps 30"),
                          (dict(stride=16), "stride 8, the model expects stride 16"),
                          (dict(dim=7), "dim 6, the model expects dim 7"),
                          (dict(backbone="r3d_18"), "backbone 'skeleton', the model expects 'r3d_18'")]:
        want = FeatureMeta(**{**META.__dict__, **change})
        with pytest.raises(InputError) as e:
            read_features(tmp_path / "v.npy", meta=want)
        assert words in str(e.value) and len(str(e.value).splitlines()) == 1 and "v.json" in str(e.value)
    # without a sidecar the config's meta is used, and the dimension is still checked
    (tmp_path / "v.json").unlink()
    assert read_features(tmp_path / "v.npy", meta=META)[1] == META
    with pytest.raises(InputError, match="dimension 6, the model expects 5"):
        read_features(tmp_path / "v.npy", meta=FeatureMeta(**{**META.__dict__, "dim": 5}))
    with pytest.raises(InputError, match="no sidecar"):
        read_features(tmp_path / "v.npy")
    (tmp_path / "w.json").write_text("{not json")
    np.save(tmp_path / "w.npy", x)
    with pytest.raises(InputError, match="not JSON"):
        read_features(tmp_path / "w.npy")
    check_features(META, META)


def _gt_parse(seconds: float, seed: int = 3):
    from deeperaction.synth import ground_truth, make_spec
    from deeperaction.synth.export import to_video_parse

    lab = ground_truth(make_spec("tal", 0, seed, duration=(seconds, seconds)))
    return lab, to_video_parse(lab, stride=4)


def test_skeleton_features_follow_the_actions_of_a_synthetic_video():
    from deeperaction.tasks.action_predictors import load_action_predictor
    from deeperaction.tasks.tal_features import skeleton_features

    pred = load_action_predictor("default")
    lab, parse = _gt_parse(40.0)
    feats, meta = skeleton_features(parse, pred, duration=lab.n_frames / 25.0)
    assert meta.dim == feats.shape[1] == 128 + len(pred.classes) + 1 and meta.window == 48 and meta.stride == 8
    assert len(feats) == (lab.n_frames - 48) // 8 + 1
    probs = feats[:, 128:128 + len(pred.classes)]
    assert np.allclose(probs.sum(1), 1, atol=1e-4)
    # rows whose whole window lies inside an action name it far above chance (1/15) and look less idle than
    # rows of the idle stretches between actions
    none = pred.classes.index("none")
    inside, idle = np.zeros(len(feats), bool), np.ones(len(feats), bool)
    hits = 0
    for inst in lab.persons[0].instances:
        for i in range(len(feats)):
            a, b = i * 8, i * 8 + 48
            inside[i] |= inst.start <= a and b <= inst.end
            idle[i] &= b <= inst.start or a >= inst.end
            hits += inst.start <= a and b <= inst.end and pred.classes[int(probs[i].argmax())] == inst.action
    idle &= feats[:, -1] > 0  # a person is seen
    assert inside.sum() >= 15 and idle.sum() >= 15
    assert hits / inside.sum() > 0.3, (hits, inside.sum())
    assert probs[inside, none].mean() < probs[idle, none].mean() - 0.1, (probs[inside, none].mean(),
                                                                         probs[idle, none].mean())
    assert set(np.unique(feats[:, -1])) <= {0.0, 0.5, 1.0}


def test_skeleton_features_without_people_and_of_a_short_video():
    from deeperaction.tasks.action_predictors import load_action_predictor
    from deeperaction.tasks.tal_features import skeleton_features

    pred = load_action_predictor("default")
    empty = VideoParse("v", 25.0, (320, 240), [], None, {})
    feats, meta = skeleton_features(empty, pred, duration=10.0)
    none = pred.classes.index("none")
    assert len(feats) == (250 - 48) // 8 + 1 and (feats[:, :128] == 0).all() and (feats[:, 128 + none] == 1).all()
    lab, parse = _gt_parse(1.0)  # shorter than one window: one row, the track's frames repeated
    feats, _ = skeleton_features(parse, pred, duration=lab.n_frames / 25.0)
    assert feats.shape[0] == 1 and feats[0, -1] > 0


def test_video_features_resample_and_cover_short_videos(tmp_path):
    from deeperaction.tasks.tal_features import video_feature_net, video_features
    from deeperaction.video.writer import VideoWriter

    path = tmp_path / "v.mp4"
    with VideoWriter(path, 25.0, (64, 48)) as w:
        for i in range(100):
            w.write(np.full((48, 64, 3), i * 2, np.uint8))
    net = video_feature_net(name="tiny3d", weights=None)
    feats, meta = video_features(path, net, backbone="tiny3d", window=8, stride=4, size=32, batch=3)
    assert feats.shape == ((100 - 8) // 4 + 1, meta.dim) and meta.fps == 25.0 and meta.frames == 100
    feats, meta = video_features(path, net, backbone="tiny3d", window=8, stride=4, fps=12.5, size=32)
    assert feats.shape[0] == (50 - 8) // 4 + 1 and meta.fps == 12.5 and meta.frames == 50
    feats, meta = video_features(path, net, backbone="tiny3d", window=8, stride=4, size=32, n_frames=5)
    assert feats.shape[0] == 1
    assert abs(meta.duration - 0.2) < 1e-6  # 5 frames at 25 fps


def test_features_command_writes_sidecars_and_refuses_bad_options(tmp_path):
    from typer.testing import CliRunner

    from deeperaction.cli import app
    from deeperaction.video.writer import VideoWriter

    videos = tmp_path / "videos"
    videos.mkdir()
    with VideoWriter(videos / "a.mp4", 25.0, (64, 48)) as w:
        for i in range(40):
            w.write(np.full((48, 64, 3), i * 5, np.uint8))
    (videos / "broken.mp4").write_bytes(b"not a video")
    r = CliRunner().invoke(app, ["features", str(videos), "--out", str(tmp_path / "f"), "--backbone", "tiny3d",
                                 "--window", "8", "--size", "32"])
    assert r.exit_code == 3, r.output  # the broken video reported, the other written
    side = json.loads((tmp_path / "f" / "a.json").read_text())
    assert side["backbone"] == "tiny3d" and side["window"] == 8 and side["stride"] == 4
    assert np.load(tmp_path / "f" / "a.npy").shape == ((40 - 8) // 4 + 1, side["dim"])
    r = CliRunner().invoke(app, ["features", str(videos), "--out", str(tmp_path / "g"), "--backbone", "nope"])
    assert r.exit_code == 2 and "unknown backbone 'nope'" in r.output and "Traceback" not in r.output

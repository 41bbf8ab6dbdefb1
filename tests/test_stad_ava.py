"""``train stad`` on AVA files laid out as the official ones (keyframe CSVs, label map, videos, person proposals
as a detections CSV or a SlowFast/MMAction2 pickle): the reader's keyframes, people and GT, proposals matched
to GT people or kept as negatives, one-line errors, and a tiny sigmoid (AVA) model that learns on the
synthetic generator's AVA CSVs."""
from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
from conftest import LEARN_SEED, stad_learning_run

from deeperaction.datasets.ava import ANON_TRACK, read_ava_set, read_proposals
from deeperaction.errors import InputError
from deeperaction.formats.ava import read_ava_csv, read_labelmap
from deeperaction.synth import generate
from deeperaction.train.stad import load_stad_config, stad_task

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _all_rows(d):
    """Every split's AVA CSV of a generator folder as one file (the held-out set)."""
    rows = [line for s in ("train", "val", "test") if (d / f"ava_{s}.csv").is_file()
            for line in (d / f"ava_{s}.csv").read_text().splitlines() if line.strip()]
    (d / "ava_all.csv").write_text("\n".join(rows) + "\n")
    return d / "ava_all.csv"


def _proposals(csv, out, seed):
    """A detector's proposals for a GT CSV: each GT person's box moved by ~1 % of its size (score 0.9-1.0), a box in an
    empty corner (score 0.85) and one weak box (score 0.3) per keyframe; written as a detections CSV."""
    gt = read_ava_csv(csv, kind="gt")
    rng = np.random.default_rng(seed)
    lines = []
    for v, t in sorted(set(zip(gt.video.tolist(), gt.timestamp.tolist()))):
        m = (gt.video == v) & (gt.timestamp == t)
        for b in np.unique(np.round(gt.boxes[m], 6), axis=0):
            j = np.clip(b + rng.normal(0, 0.01, 4) * np.tile(b[2:] - b[:2], 2), 0, 1)
            lines.append(f"{gt.videos[v]},{int(t):04d},{','.join(f'{x:.4f}' for x in j)},1,{rng.uniform(0.9, 1):.3f}")
        lines.append(f"{gt.videos[v]},{int(t):04d},0.0,0.0,0.08,0.1,1,0.85")
        lines.append(f"{gt.videos[v]},{int(t):04d},0.5,0.5,0.6,0.6,1,0.3")
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.fixture(scope="module")
def ava(tmp_path_factory):
    """30 synthetic stad videos of 12-16 s (training: the generator's ava_train.csv) and 8 held-out ones of
    another seed (all their keyframes), with proposals for both."""
    root = tmp_path_factory.mktemp("ava")
    kw = dict(task="stad", size=(160, 120), preset="easy", duration=(12, 16))
    generate(root / "a", videos=30, seed=100 * LEARN_SEED + 2, **kw)
    generate(root / "b", videos=8, seed=100 * LEARN_SEED + 3, **kw)
    train = root / "a/annotations/stad/ava_train.csv"
    val = _all_rows(root / "b/annotations/stad")
    return root, train, val, _proposals(train, root / "train_props.csv", 0), _proposals(val, root / "val_props.csv", 1)


def _cfg(ava, out, *extra):
    root, train, val, tp, _ = ava
    return load_stad_config(None, [
        "data.format=ava", f"data.root={train}", f"data.val_root={val}", f"data.proposals={tp}",
        f"data.cache={root / 'cache'}", "data.cache_size=[120, 160]", "data.workers=0", "model.name=tiny3d",
        "stad.loss=sigmoid", "stad.memory=false", "stad.pose_parts=false", "train.batch_size=8",
        "train.log_every=5", "optim.warmup_epochs=0.3", "train.progress=false", f"train.out={out}", *extra])


def test_keyframes_people_and_gt(ava):
    _, train, _, _, _ = ava
    s = read_ava_set(train)
    gt = read_ava_csv(train, kind="gt")
    lm = read_labelmap(train.parent / "ava_labelmap.pbtxt")
    assert s.classes == [lm[a] for a in sorted(lm)] and s.warnings == []
    keys = set(zip(gt.video.tolist(), gt.timestamp.tolist()))
    assert len(s.table) == len(keys)  # one sample per annotated keyframe
    assert int(s.table.mask.sum()) == len(np.unique(np.c_[gt.video, gt.timestamp, gt.score], axis=0))
    # a row: the keyframe at second t is frame 25 t, boxes in pixels, labels are label-map positions
    i = 0
    v = s.table.videos[s.table.video[i]]
    t = s.table.frame[i] / 25.0
    m = (np.array(gt.videos)[gt.video] == v.id) & (gt.timestamp == t)
    k = int(np.flatnonzero(s.table.mask[i])[0])
    row = np.flatnonzero(m & (gt.score == s.table.track[i, k]))[0]
    np.testing.assert_allclose(s.table.boxes[i, k], gt.boxes[row] * [160, 120, 160, 120], atol=1e-3)
    assert s.classes[s.table.labels[i, k, 0]] == lm[int(gt.label[row])]
    assert (s.table.track[s.table.mask] < ANON_TRACK).all()  # the CSV's person ids are the tracks
    # the GT: one one-frame tube per (person, action) row, 1-based frames
    assert sum(len(t) for g in s.gt.gttubes.values() for t in g.values()) == len(gt)
    assert s.gt.test_videos == [v.id for v in s.videos]


def test_proposals_csv_and_pickle_agree_and_match_gt_people(ava, tmp_path):
    root, train, _, tp, _ = ava
    props = read_proposals(tp)
    pkl = tmp_path / "props.pkl"
    with open(pkl, "wb") as f:  # the MMAction2 / SlowFast layout: "video,%04d" -> (n, 5)
        pickle.dump({f"{v},{t // 1_000_000:04d}": a for (v, t), a in props.items()}, f)
    again = read_proposals(pkl)
    assert props.keys() == again.keys()
    for k in props:
        np.testing.assert_allclose(np.sort(props[k], 0), np.sort(again[k], 0))
    plain = read_ava_set(train)
    both = read_ava_set(train, proposals=tp)
    assert len(both.table) == len(plain.table)
    n_gt = int(plain.table.mask.sum())
    # + every jittered GT box (matched, IoU >= 0.9: the person's labels and track) + the corner box (a negative);
    # the 0.3 box is below proposal_score
    assert int(both.table.mask.sum()) == 2 * n_gt + len(plain.table)
    labelled = both.table.labels[..., 0] >= 0
    anon = both.table.mask & (both.table.track >= ANON_TRACK)
    assert int(anon.sum()) == len(plain.table) and not (labelled & anon).any()
    assert int((labelled & both.table.mask).sum()) == 2 * int((plain.table.labels[..., 0] >= 0).sum())
    only = read_ava_set(train, proposals=pkl, gt_boxes=False, proposal_score=0.5)  # evaluation: the detector's people
    assert int(only.table.mask.sum()) == n_gt + len(plain.table)


def test_bad_ava_input_is_one_line(ava, tmp_path):
    root, train, _, _, _ = ava
    with pytest.raises(InputError, match="no video file") as e:
        bad = tmp_path / "ann" / "x.csv"
        bad.parent.mkdir()
        (tmp_path / "videos").mkdir()
        bad.write_text("nobody_here,0001,0.1,0.1,0.5,0.9,1,0\n")
        shutil.copy(train.parent / "ava_labelmap.pbtxt", bad.parent)
        read_ava_set(bad)
    assert "nobody_here" in str(e.value)
    odd = tmp_path / "odd.csv"  # an action id outside the label map: left out and said
    odd.write_text(train.read_text() + train.read_text().splitlines()[0].rsplit(",", 2)[0] + ",99,7\n")
    shutil.copy(train.parent / "ava_labelmap.pbtxt", tmp_path)
    (tmp_path / "videos").rmdir()
    shutil.copytree(train.parents[2] / "videos", tmp_path / "videos")
    assert any("not in ava_labelmap.pbtxt" in w for w in read_ava_set(odd).warnings)
    late = read_ava_set(train, video_start_s=900)  # AVA's 15-min cuts start at 900 s; these videos at 0
    assert len(late.table) == 0 and any("data.video_start_s" in w for w in late.warnings)
    broken = tmp_path / "p.pkl"
    broken.write_bytes(pickle.dumps({"v,0001": np.zeros((2, 3))}))
    with pytest.raises(InputError, match=r"\(n, 4\) or \(n, 5\)"):
        read_proposals(broken)
    with pytest.raises(InputError, match="data.val_root"):
        load_stad_config(None, ["data.format=ava", f"data.root={train}"])
    with pytest.raises(InputError, match="data.format"):
        load_stad_config(None, ["data.format=kinetics"])
    with pytest.raises(InputError, match="stad.pose_parts"):
        stad_task(_cfg(ava, tmp_path / "run", "stad.pose_parts=true"))
    with pytest.raises(InputError, match="stad.memory_stride"):  # keyframes every 25 frames, bank every 16
        stad_task(_cfg(ava, tmp_path / "run", "stad.memory=true", "stad.memory_stride=16"))


def test_tiny_ava_model_learns(ava, tmp_path):
    cfg = _cfg(ava, tmp_path / "run", "train.epochs=8", f"train.seed={LEARN_SEED}")
    trained, untrained, steps = stad_learning_run("stad_ava", cfg)
    # measured (seeds 0-2, both numpy kernel paths): 0.198/0.230/0.197 against 0.119/0.105/0.108 untrained,
    # loss ratio 0.20-0.24
    assert steps[-1] < 0.7 * steps[0], steps
    assert trained > untrained + 0.04, (trained, untrained)

"""The training windows of ``scripts/train_detect_skeleton.py``: each window labelled at its centre and each of
its 4-frame steps at the step's centre, left out or -1 where ``detect`` reads nothing; its augmentation."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np


def _script():
    path = Path(__file__).resolve().parents[1] / "scripts" / "train_detect_skeleton.py"
    spec = importlib.util.spec_from_file_location("train_detect_skeleton", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_track_windows_label_the_centre_and_every_step_where_it_is():
    """A 100-frame track: action 3 up to frame 40, then 5; on nobody from frame 72; the tracker missed frames
    60-69. Windows centred there are left out and counted; each step carries the label of its own frame (so a
    window across frame 40 changes label inside), -1 where unseen or on nobody; a short track's one window has
    -1 on its repeated ends."""
    script = _script()
    n, length = 100, 48
    seq = np.zeros((n, 20, 3), np.float32)
    seq[..., 0] = np.arange(n)[:, None]  # x = the frame: shows where a window starts
    seen = np.ones(n, bool)
    seen[60:70] = False

    def label(r: int) -> int:
        return -1 if r >= 72 else (3 if r < 40 else 5)

    counts = {"unseen": 0, "on nobody": 0}
    out = list(script.track_windows(seq, seen, label, length, 4, counts))
    starts = range(0, n - length + 1, script.HOP)
    centre = length // 2
    assert [int(x[0, 0, 0]) for x, _, _ in out] == [s for s in starts if seen[s + centre] and label(s + centre) >= 0]
    assert counts == {"unseen": sum(not seen[s + centre] for s in starts),
                      "on nobody": sum(bool(seen[s + centre]) and label(s + centre) < 0 for s in starts)}
    assert counts["unseen"] > 0 and counts["on nobody"] > 0
    for x, y, steps in out:
        s = int(x[0, 0, 0])
        assert x.shape == (length, 20, 3) and y == label(s + centre)
        assert steps.tolist() == [label(s + 4 * i + 2) if seen[s + 4 * i + 2] else -1 for i in range(length // 4)]
    assert any({3, 5} <= set(steps.tolist()) for _, _, steps in out)  # a change inside a window
    assert any(-1 in steps.tolist() for _, _, steps in out)

    counts = {"unseen": 0, "on nobody": 0}
    (x, y, steps), = script.track_windows(seq[:20], np.ones(20, bool), lambda r: 3, length, 4, counts)
    assert x.shape == (length, 20, 3) and y == 3
    assert x[0, 0, 0] == 0 and x[-1, 0, 0] == 19  # the ends repeated: 14 frames before, 14 after
    assert steps.tolist() == [3 if 0 <= 4 * i + 2 - 14 < 20 else -1 for i in range(length // 4)]


def test_augment_turns_and_stretches_each_window_and_leaves_unseen_joints(monkeypatch):
    """Without the jitter each window moves by one linear map (a turn of at most TILT, each axis stretched within
    STRETCH); unseen joints stay zero and confidences are untouched; with it, seen joints move by about JITTER."""
    import torch

    script = _script()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 48, 20, 3)
    x[..., 2] = (torch.rand(16, 48, 20, generator=g) > 0.2).float()
    x[..., :2] *= x[..., 2:3]  # unseen joints are all zero, as normalize_skeletons leaves them
    monkeypatch.setattr(script, "JITTER", 0.0)
    out = script._augment(x, torch.Generator().manual_seed(1))
    assert torch.equal(out[..., 2], x[..., 2]) and (out[..., :2][x[..., 2] == 0] == 0).all()
    lo, hi = script.STRETCH[0], script.STRETCH[0] + script.STRETCH[1]
    for a, b in zip(x, out):
        seen = a[..., 2] > 0
        src, dst = a[..., :2][seen].double(), b[..., :2][seen].double()
        m = torch.linalg.lstsq(src, dst).solution.T  # dst = m @ src
        assert torch.allclose(src @ m.T, dst, atol=1e-4)
        sv = torch.linalg.svdvals(m)  # m = turn @ diag(x scale, y scale): its singular values are the scales
        assert (sv >= lo - 1e-4).all() and (sv <= hi + 1e-4).all()
        assert abs(float(torch.atan2(m[1, 0], m[0, 0]))) <= script.TILT + 1e-4  # its first column: the turn
    monkeypatch.setattr(script, "JITTER", 0.03)
    moved = script._augment(x, torch.Generator().manual_seed(1))[..., :2] - out[..., :2]
    assert 0.02 < float(moved[x[..., 2] > 0].std()) < 0.04

"""Video backbones: every builder makes a classifier of the asked size, frozen BN is constant, weights
load from a local path with a mismatched head skipped, multi-clip scores average clip probabilities."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from deeperaction.errors import InputError
from deeperaction.models.backbones import BACKBONES, FrozenBatchNorm, build_backbone
from deeperaction.models.checkpoint import load_weights
from deeperaction.models.heads.action import ActionHead, multi_clip_scores


pytestmark = pytest.mark.usefixtures("torch_one_thread")


HEAVY = {"swin3d_t", "swin3d_s", "mvit_v1_b", "mvit_v2_s", "s3d"}  # seconds each just to initialise on 2 CPU cores


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n
                                  for n in sorted(BACKBONES)])
def test_every_backbone_builds_with_our_head(name):
    torch.manual_seed(0)
    m = build_backbone(name=name, num_classes=7, dropout=0.2)
    logits = [mod for mod in m.modules() if isinstance(mod, (ActionHead, nn.Conv3d))][-1]
    assert logits.out_channels == 7 if isinstance(logits, nn.Conv3d) else logits.out_features == 7
    if name in ("r3d_18", "mc3_18", "r2plus1d_18", "tiny3d"):  # cheap enough to run on CPU
        out = m.eval()(torch.randn(2, 3, 4, 32, 32))
        assert out.shape == (2, 7)


def test_unknown_backbone():
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone(name="resnet50", num_classes=3)


def test_frozen_bn_is_constant_and_equals_eval_bn():
    torch.manual_seed(0)
    ref = build_backbone(name="tiny3d", num_classes=3, dropout=0.0)
    for mod in ref.modules():
        if isinstance(mod, nn.BatchNorm3d):
            mod.running_mean.uniform_(-1, 1)
            mod.running_var.uniform_(0.5, 2)
    frozen = build_backbone(name="tiny3d", num_classes=3, frozen_bn=True, dropout=0.0)
    frozen.load_state_dict(ref.state_dict(), strict=False)
    assert not any(isinstance(m, nn.BatchNorm3d) for m in frozen.modules())
    assert sum(isinstance(m, FrozenBatchNorm) for m in frozen.modules()) == 3
    x = torch.randn(2, 3, 4, 16, 16)
    frozen.train()
    torch.testing.assert_close(frozen(x), ref.eval()(x))
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    frozen(x)
    assert all(torch.equal(before[k], v) for k, v in frozen.state_dict().items())
    assert not any(p.requires_grad for m in frozen.modules() if isinstance(m, FrozenBatchNorm)
                   for p in m.parameters())


def test_weights_by_local_path_skip_a_mismatched_head(tmp_path):
    torch.manual_seed(0)
    src = build_backbone(name="tiny3d", num_classes=400)
    torch.save(src.state_dict(), tmp_path / "k400.pth")
    dst = build_backbone(name="tiny3d", num_classes=5, weights=tmp_path / "k400.pth")
    assert torch.equal(dst.features[0].weight, src.features[0].weight)
    assert dst.fc.weight.shape == (5, 64)
    torch.save({"model": {"module." + k: v for k, v in src.state_dict().items()}}, tmp_path / "ddp.pt")
    res = load_weights(build_backbone(name="tiny3d", num_classes=400), tmp_path / "ddp.pt")
    assert res == {"missing": [], "unexpected": [], "skipped": []}
    torch.save(nn.Linear(2, 2).state_dict(), tmp_path / "other.pth")
    with pytest.raises(InputError, match="do not fit"):
        load_weights(build_backbone(name="tiny3d", num_classes=5), tmp_path / "other.pth")
    with pytest.raises(InputError, match="not found"):
        build_backbone(name="tiny3d", num_classes=5, weights=tmp_path / "nope.pth")


def test_action_head_is_a_linear_with_dropout():
    head = ActionHead(4, 3, dropout=0.5)
    assert set(head.state_dict()) == {"weight", "bias"}
    x = torch.ones(64, 4)
    assert torch.equal(head.eval()(x), nn.functional.linear(x, head.weight, head.bias))
    assert not torch.equal(head.train()(x), head.eval()(x))


def test_multi_clip_scores_average_probabilities():
    m = nn.Sequential(nn.Flatten(), nn.Linear(6, 4)).eval()
    clips = torch.randn(3, 5, 6)
    probs = multi_clip_scores(m, clips, chunk=4)
    ref = m(clips.flatten(0, 1)).softmax(-1).view(3, 5, 4).mean(1)
    torch.testing.assert_close(probs, ref)
    torch.testing.assert_close(probs.sum(1), torch.ones(3))

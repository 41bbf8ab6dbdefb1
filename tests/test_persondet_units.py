"""Person detector pieces: box AP (exact and binned), the training frames' zoom crop, detector shapes and the
checkpoint round trip of the predictor."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deeperaction.datasets.person_detector import FrameSet, PersonFrames, zoom_crop
from deeperaction.errors import InputError
from deeperaction.metrics.box_ap import binned_ap, box_ap, match_image, score_histograms
from deeperaction.models.detector import ARCHS
from deeperaction.models.person_detector import build_person_detector
from deeperaction.tasks.predictors import PersonDetectorPredictor, load_person_predictor
from deeperaction.models.checkpoint import save_checkpoint
from deeperaction.train.person_detector import load_person_detector_config
from deeperaction.video.frames import resize_long

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_match_image_is_the_voc_greedy_rule():
    gt = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)
    det = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 10], [50, 50, 60, 60]], float)
    # the best-scoring duplicate takes GT 0; the other duplicate (IoU 0.82 with the used GT) is a FP
    tp = match_image(det, np.array([0.6, 0.9, 0.5, 0.7]), gt)
    assert tp.tolist() == [False, True, True, False]
    assert match_image(det, np.ones(4), np.zeros((0, 4))).tolist() == [False] * 4
    assert match_image(np.zeros((0, 4)), np.zeros(0), gt).tolist() == []


def test_box_ap_by_hand():
    # scores 0.9 TP, 0.8 FP, 0.7 TP over 3 GT: P/R = (1, 1/3), (1/2, 1/3), (2/3, 2/3) -> 1/3 + 1/3 * 2/3
    assert box_ap(np.array([0.9, 0.8, 0.7]), np.array([1, 0, 1], bool), 3) == pytest.approx(1 / 3 + 2 / 9)
    assert box_ap(np.array([0.5, 0.4]), np.array([1, 1], bool), 2) == 1.0
    assert np.isnan(box_ap(np.zeros(0), np.zeros(0, bool), 0))


def test_binned_ap_is_close_to_exact():
    rng = np.random.default_rng(0)
    scores = rng.random(3000)
    tp = rng.random(3000) < scores  # better scores are more often right
    exact = box_ap(scores, tp, int(tp.sum()) + 100)
    th, fh = score_histograms(scores, tp, 200)
    assert th.sum() + fh.sum() == 3000
    assert binned_ap(th, fh, int(tp.sum()) + 100) == pytest.approx(exact, abs=0.01)
    assert binned_ap(*score_histograms(np.array([0.9]), np.array([True]), 10), 1) == 1.0


def test_zoom_crop_moves_boxes_with_the_image():
    img = np.zeros((100, 200, 3), np.uint8)
    img[40:60, 90:110] = 255  # a white square, and its box
    boxes = np.array([[90, 40, 110, 60], [0, 0, 4, 4]], np.float32)
    out, b = zoom_crop(img, boxes, 2.0, np.random.default_rng(3))
    if len(b):  # the square's box still frames the white pixels (the small corner box may drop)
        ys, xs = np.nonzero(out[..., 0] > 128)
        x1, y1, x2, y2 = b[0]
        assert abs(xs.min() - x1) <= 2 and abs(xs.max() + 1 - x2) <= 2
        assert abs(ys.min() - y1) <= 2 and abs(ys.max() + 1 - y2) <= 2
    assert out.shape == img.shape


def test_training_samples_flip_boxes():
    img = np.zeros((60, 80, 3), np.uint8)
    img[10:50, 5:25] = 200
    fs = FrameSet([img], [np.array([[5, 10, 25, 50]], np.float32)], np.ones(1), np.zeros(1, int), np.zeros(1, int),
                  ["v"])
    ds = PersonFrames(fs, train=True, flip=1.0, zoom=1.0)
    x, t = ds[0]
    assert t["boxes"].tolist() == [[55, 10, 75, 50]] and t["labels"].tolist() == [1]
    assert x[30, 60, 0] == 200 and x[30, 10, 0] == 0
    x, t = PersonFrames(fs, train=False)[0]
    assert t["scale"] == 1.0 and t["boxes"].tolist() == [[5, 10, 25, 50]]


@pytest.mark.parametrize("arch", ARCHS)
def test_detector_trains_and_predicts_in_frame_pixels(arch, tmp_path):
    torch.manual_seed(0)
    net = build_person_detector(arch=arch, trunk="tiny", size=96, fpn_dim=32, width=8)
    images = [torch.rand(3, 72, 96), torch.rand(3, 72, 96)]
    targets = [{"boxes": torch.tensor([[10.0, 5, 40, 70]]), "labels": torch.tensor([1])},
               {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]
    losses = net.train()((images, targets))
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    cfg = load_person_detector_config(None, [f"persondet.arch={arch}", "persondet.size=96", "persondet.fpn_dim=32",
                                       "persondet.width=8"])
    path = tmp_path / "m.pt"
    save_checkpoint(path, kind="person_detector", config=cfg, model=net.state_dict(), classes=["bg", "person"])
    pred = load_person_predictor(path)
    assert isinstance(pred, PersonDetectorPredictor)
    pred.min_score = 0.0
    boxes, scores = pred(np.zeros((144, 192, 3), np.uint8))  # twice the detector size: boxes come back x2
    assert boxes.shape[1:] == (4,) and len(boxes) == len(scores)
    if len(boxes):
        assert boxes[:, 2].max() <= 192 + 1e-3 and boxes[:, 3].max() <= 144 + 1e-3
    save_checkpoint(tmp_path / "w.pt", kind="part_detector", config=cfg, model=net.state_dict(), classes=[])
    with pytest.raises(InputError, match="not a person detector"):
        load_person_predictor(tmp_path / "w.pt")


def test_config_errors_name_the_field():
    with pytest.raises(InputError, match="persondet.arch"):
        load_person_detector_config(None, ["persondet.arch=yolo"])
    with pytest.raises(InputError, match="persondet.size"):
        load_person_detector_config(None, ["persondet.size=16"])


def test_resize_long():
    img = np.zeros((120, 160, 3), np.uint8)
    out, s = resize_long(img, 320)
    assert out.shape == (240, 320, 3) and s == 2.0
    assert resize_long(img, 160)[0] is img


def test_summary_picks_the_f1_best_score_floor_and_model_keeps_it(tmp_path):
    from deeperaction.metrics.box_ap import score_histograms
    from deeperaction.train.person_detector import AP_BINS, calibrated, person_box_summary

    th, fh = score_histograms(np.array([0.9, 0.9, 0.2, 0.2, 0.2]), np.array([1, 1, 0, 0, 0], bool), AP_BINS)
    sums = {"gt": 3.0, "tp": 2.0, "fp": 3.0} | {f"h_tp{i:03d}": v for i, v in enumerate(th)} \
        | {f"h_fp{i:03d}": v for i, v in enumerate(fh)}
    s = person_box_summary(sums)
    # floor <= 0.2: F1 = 2*2 / (5 + 3) = 0.5; above 0.2 (first bin edge 0.205): 2*2 / (2 + 3) = 0.8
    assert s["f1"] == pytest.approx(0.8) and s["f1_thresh"] == pytest.approx(41 / AP_BINS)
    assert s["ap50"] == pytest.approx(2 / 3) and s["precision"] == pytest.approx(0.4)

    cfg = load_person_detector_config(None, [])
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"kind": "eval", "ap50": 0.5, "f1_thresh": 0.1}, {"kind": "eval", "ap50": 0.7, "f1_thresh": 0.45},
        {"kind": "eval", "ap50": 0.7, "f1_thresh": 0.6}, {"kind": "step", "loss": 1.0}]))
    tuned = calibrated(tmp_path, cfg)
    assert tuned["persondet"]["score_thresh"] == 0.45 and cfg["persondet"]["score_thresh"] == 0.3
    off = load_person_detector_config(None, ["persondet.calibrate=false"])
    assert calibrated(tmp_path, off)["persondet"]["score_thresh"] == 0.3
    assert calibrated(tmp_path / "none", cfg) is cfg  # no evaluation: as configured

"""The person detector learns on a tiny synthetic set on a CPU (held-out person AP50 far above an untrained
detector and above OpenCV's HOG on the same frames), and ``deeperaction parse --person-model`` / ``--model
DIR`` run it top-down."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import LEARN_SEED, learn_print
from typer.testing import CliRunner

from deeperaction.cli import app
from deeperaction.formats.kinetics_tps import read_tps
from deeperaction.tasks.predictors import load_person_predictor
from deeperaction.perception.person_finders import HogPersonDetector
from deeperaction.synth import generate
from deeperaction.models.checkpoint import load_checkpoint, save_checkpoint
from deeperaction.train.logging import read_metrics
from deeperaction.train.person_detector import load_person_detector_config, person_ap, train_person_detector

pytestmark = pytest.mark.usefixtures("torch_one_thread")
runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("persondet")
    generate(root / "a", videos=24, seed=100 * LEARN_SEED, task="tps", size=(160, 120), preset="easy")
    generate(root / "b", videos=4, seed=100 * LEARN_SEED + 1, task="tps", size=(160, 120), preset="easy")
    cfg = load_person_detector_config(None, [
        f"data.root={root / 'a/annotations/tps/train'}", f"data.val_root={root / 'b/annotations/tps/train'}",
        "persondet.size=128", "persondet.width=32", "persondet.fpn_dim=64", "train.epochs=4", "train.batch_size=8",
        "train.log_every=5", "train.progress=false", f"train.out={root / 'run'}"])
    torch.manual_seed(LEARN_SEED)
    res = train_person_detector(cfg)
    return root, cfg, res


def test_detector_learns_people_on_held_out_videos(trained):
    root, cfg, res = trained
    steps = [r["loss"] for r in read_metrics(root / "run" / "metrics.jsonl") if r["kind"] == "step"]
    assert steps[-1] < 0.8 * steps[0], steps
    evals = [r for r in read_metrics(root / "run" / "metrics.jsonl") if r["kind"] == "eval"]
    ev = max(evals, key=lambda r: r["ap50"])  # model.pt is the best epoch's
    assert ev["gt"] > 30  # 42-100 held-out people over the seeds
    val = root / "b/annotations/tps/train"
    pred = load_person_predictor(res["model_path"])
    pred.min_score = 0.01
    ap = person_ap(pred, val)["ap50"]
    assert ap == pytest.approx(ev["ap50"], abs=0.03)  # the binned AP of training's evaluation is near exact
    torch.manual_seed(1)
    ck = load_checkpoint(res["model_path"])
    fresh = load_person_detector_config(None, [f"{k}={v}" for k, v in
                                         (("persondet.size", 128), ("persondet.width", 32), ("persondet.fpn_dim", 64))])
    from deeperaction.models.person_detector import person_detector_from_config
    from deeperaction.tasks.predictors import PersonDetectorPredictor
    save_checkpoint(root / "untrained.pt", kind="person_detector", config=fresh,
                    model=person_detector_from_config(fresh).state_dict(), classes=ck["classes"])
    untrained = load_person_predictor(root / "untrained.pt")
    untrained.min_score = 0.01
    ap0 = person_ap(untrained, val)["ap50"]
    hog = person_ap(HogPersonDetector(), val)["ap50"]
    learn_print("persondet", ap=ap, untrained=ap0, hog=hog, loss_ratio=steps[-1] / steps[0])
    assert isinstance(pred, PersonDetectorPredictor)
    assert ck["config"]["persondet"]["score_thresh"] == ev["f1_thresh"] > 0  # calibrated on the validation set
    assert ap > 0.4 and ap > ap0 + 0.3 and ap > hog + 0.1, (ap, ap0, hog)


def _parse(video, out, *opts):
    # the body-size check is set for real footage: BlazePose's size of a 25-px synthetic torso jumps by a third
    # between parsed frames (24, 18, 29 px), as a skeleton on clutter does (as in test_partdet_learn)
    return runner.invoke(app, ["parse", str(video), "--out", str(out), "--no-render", "--max-frames", "30",
                               "--max-body-change", "inf", *opts])


def test_parse_with_person_model_and_bundle(trained, tmp_path):
    root, _, res = trained
    video = next(iter(sorted((root / "b" / "videos").glob("*.mp4"))))
    r1 = _parse(video, tmp_path / "det", "--person-model", res["model_path"])
    assert r1.exit_code == 0, r1.output
    assert runner.invoke(app, ["validate", "tps", str(tmp_path / "det")]).exit_code == 0
    det = json.loads((tmp_path / "det" / "parse.json").read_text())
    found = [len(f["persons"]) for f in det["frames"]]
    learn_print("persondet_parse", frames_with_people=np.mean([n >= 1 for n in found]))
    assert len(found) == 6 and sum(n >= 1 for n in found) >= 3, found  # people in most parsed frames
    read_tps(tmp_path / "det", kind="pred")

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    shutil.copy(res["model_path"], bundle / "person_model.pt")
    r2 = _parse(video, tmp_path / "bundled", "--model", str(bundle))  # found by its default file name
    assert r2.exit_code == 0, r2.output
    same = json.loads((tmp_path / "bundled" / "parse.json").read_text())
    assert [f["persons"] for f in same["frames"]] == [f["persons"] for f in det["frames"]]


def test_bad_person_models_exit_2(trained, tmp_path):
    root, _, res = trained
    video = next(iter(sorted((root / "b" / "videos").glob("*.mp4"))))
    ck = load_checkpoint(res["model_path"])
    save_checkpoint(tmp_path / "wrong.pt", **{**ck, "kind": "part_detector"})
    r = _parse(video, tmp_path / "o1", "--person-model", str(tmp_path / "wrong.pt"))
    assert r.exit_code == 2 and "not a person detector" in r.output and "Traceback" not in r.output
    r = _parse(video, tmp_path / "o2", "--person-model", str(tmp_path / "missing.pt"))
    assert r.exit_code == 2 and "missing.pt" in r.output

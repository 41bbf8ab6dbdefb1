"""The Kinetics-TPS ablation ladder on synthetic data (like Table 1 of the 2nd-place report), end to end:
generate -> train every rung -> predict held-out videos of another seed -> write pred files -> official
Score (``evaluate_tps``) -> a markdown table in docs/ablation.md.

    python scripts/ablation_tps.py --videos 24 --device cpu            # small CPU run (~20 min, 2 cores)
    python scripts/ablation_tps.py --videos 400 --device cuda --backbone r3d_18 --epochs 20
    python scripts/ablation_tps.py --videos 2000 --device cuda --rgb-recipe     # video model by the RGB recipe

``--rgb-recipe`` trains the video action model as docs/training.md's RGB recipe does (configs/tps_rgb_cpu.yaml):
MoSI initialisation, person-centred clips, fresh synthetic clips rendered in the loader workers.

Perception is the same for every rung and is not learned here: GT person boxes and GT keypoints with
Gaussian noise (``--kp-noise`` px, a stand-in for a pose estimator); part boxes from keypoints
(``parts_from_pose``) unless the pose-guided part detector rung replaces them (from that rung on, the part
boxes that were better on the validation seed are used). Seeds: 0 trains, 2 selects checkpoints /
ensemble weights / part boxes, 1 is the held-out test set. ``--reuse`` keeps models an earlier run left
in ``OUT/runs`` (their evaluation is read back from ``metrics.jsonl``) and trains only what is missing.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from deeperaction.formats.kinetics_tps import read_tps
from deeperaction.formats.tps_write import write_tps
from deeperaction.kinematics.vocab import PART_STATES
from deeperaction.metrics.iou import box_iou_matrix
from deeperaction.metrics.tps import evaluate_tps
from deeperaction.metrics.tps_match import part_iou64
from deeperaction.models.ensemble import ensemble_scores, fit_weights
from deeperaction.models.prior import FrequencyPrior
from deeperaction.perception.person_finders import HogPersonDetector
from deeperaction.perception.parts_from_pose import part_boxes
from deeperaction.schema import PARTS, TPS_FRAME_STRIDE, FrameParse, PartDet, Person, VideoParse
from deeperaction.synth import generate
from deeperaction.tasks.action_predictors import ActionPredictor
from deeperaction.tasks.predictors import load_part_predictor, load_person_predictor, load_state_predictor
from deeperaction.train.action import train_action
from deeperaction.train.config import load_config
from deeperaction.train.logging import read_metrics
from deeperaction.train.mosi import load_mosi_config, train_mosi
from deeperaction.train.part_detector import load_part_detector_config, train_part_detector
from deeperaction.train.part_states import load_part_states_config, train_part_states
from deeperaction.train.person_detector import load_person_detector_config, person_ap, train_person_detector
from deeperaction.video.reader import read_frames

REPO = Path(__file__).resolve().parents[1]


def make_set(out: Path, seed: int, n: int, size: tuple[int, int], preset: str, keep: set[str] | None = None) -> Path:
    """Generate ``n`` TPS videos and merge their train/val/test splits into ``out/set`` (GT + links)."""
    src = out / f"seed{seed}"
    if not (src / "manifest.json").is_file():
        generate(src, videos=n, seed=seed, task="tps", size=size, preset=preset, workers=min(4, os.cpu_count() or 1))
    dst = out / f"set{seed}"
    dst.mkdir(parents=True, exist_ok=True)
    vid, part = {}, {}
    for split in ("train", "val", "test"):
        d = src / "annotations" / "tps" / split
        vid.update(json.loads((d / "gt_vid_result.json").read_text()))
        part.update(json.loads((d / "gt_part_result.json").read_text()))
    if keep is not None:
        vid = {v: a for v, a in vid.items() if a in keep}
        part = {v: p for v, p in part.items() if v in vid}
    (dst / "gt_vid_result.json").write_text(json.dumps(vid))
    (dst / "gt_part_result.json").write_text(json.dumps(part))
    for name in ("videos", "labels"):
        if not (dst / name).exists():
            (dst / name).symlink_to((src / name).resolve())
    return dst


def perceived(root: Path, vid: str, noise: float, rng: np.random.Generator, size: tuple[int, int]) -> VideoParse:
    """GT persons every 5th frame with noisy keypoints and part boxes from them (states to be filled)."""
    with np.load(root / "labels" / f"{vid}.npz") as z:
        kp, boxes, present = z["keypoints"], z["boxes"], z["present"]
    n = kp.shape[1] if kp.ndim == 4 else 0
    frames = []
    for f in range(0, n, TPS_FRAME_STRIDE):
        who = np.flatnonzero(present[:, f])
        k = kp[who, f].copy()
        k[..., :2] += rng.normal(0, noise, k[..., :2].shape)
        pb, valid, _ = part_boxes(k, boxes[who, f], frame_size=size)
        persons = [Person(boxes[p, f], 1.0, int(p), k[i], {name: PartDet(name, pb[i, q][None], ["none"], np.ones(1))
                                                            for q, name in enumerate(PARTS) if valid[i, q]})
                   for i, p in enumerate(who)]
        frames.append(FrameParse(f, persons))
    return VideoParse(vid, 25.0, size, frames, None)


def detected(root: Path, vid: str, people, noise: float, rng: np.random.Generator, size: tuple[int, int]
             ) -> VideoParse:
    """People from a person detector every 5th frame (top-down, as ``parse --person-model``); each takes the
    noisy GT skeleton of the present person its box overlaps most (IoU >= 0.3: the stand-in pose estimator
    run in the box; otherwise no keypoints and no parts), part boxes from it."""
    with np.load(root / "labels" / f"{vid}.npz") as z:
        kp, boxes, present = z["keypoints"], z["boxes"], z["present"]
    idx = list(range(0, kp.shape[1] if kp.ndim == 4 else 0, TPS_FRAME_STRIDE))
    frames = []
    for f, rgb in zip(idx, read_frames(root / "videos" / f"{vid}.mp4", idx) if idx else []):
        db, ds = people(rgb)
        who = np.flatnonzero(present[:, f])
        iou = box_iou_matrix(db, boxes[who, f]) if len(who) and len(db) else np.zeros((len(db), 0))
        persons = []
        for d in range(len(db)):
            g = int(iou[d].argmax()) if iou.shape[1] else -1
            if g >= 0 and iou[d, g] >= 0.3:
                k = kp[who[g], f].copy()
                k[..., :2] += rng.normal(0, noise, k[..., :2].shape)
                pb, valid, _ = part_boxes(k[None], db[d][None], frame_size=size)
                parts = {name: PartDet(name, pb[0, q][None], ["none"], np.ones(1))
                         for q, name in enumerate(PARTS) if valid[0, q]}
                persons.append(Person(db[d], float(ds[d]), d, k, parts))
            else:
                persons.append(Person(db[d], float(ds[d]), d, None, {}))
        frames.append(FrameParse(f, persons))
    return VideoParse(vid, 25.0, size, frames, None)


def set_states(parse: VideoParse, ids_of) -> None:
    for i, fp in enumerate(parse.frames):
        for j, p in enumerate(fp.persons):
            if not p.parts:
                continue
            ids = ids_of(i, j)
            for name, det in p.parts.items():
                det.states = [PART_STATES[name][int(ids[PARTS.index(name)])]]


def state_accuracy(pred: dict[str, VideoParse], gt: dict[str, VideoParse]) -> float:
    """Share of GT parts (of GT persons, matched by order: perception is GT) given the GT state."""
    hit = n = 0
    for vid, g in gt.items():
        for fp_p, fp_g in zip(pred[vid].frames, g.frames):
            for pp, pg in zip(fp_p.persons, fp_g.persons):
                for name, det in pg.parts.items():
                    n += 1
                    hit += name in pp.parts and pp.parts[name].states[0] == det.states[0]
    return hit / max(n, 1)


def part_box_quality(pred: dict[str, VideoParse], gt: dict[str, VideoParse]) -> dict[str, float]:
    """Share of GT part boxes (of GT persons, matched by order: perception is GT) that a predicted box of
    the same part hits with the official part IoU >= 0.3, and the mean IoU (0 for a missing part)."""
    a, b = [], []
    for vid, g in gt.items():
        for fp_p, fp_g in zip(pred[vid].frames, g.frames):
            for pp, pg in zip(fp_p.persons, fp_g.persons):
                for name, det in pg.parts.items():
                    a.append(pp.parts[name].boxes[0] if name in pp.parts else np.full(4, -1e6))
                    b.append(det.boxes[0])
    iou = np.maximum(part_iou64(np.array(a), np.array(b)), 0.0)
    return {"recall": float((iou >= 0.3).mean()), "mean_iou": float(iou.mean()), "parts": len(iou)}


def reused(run: Path, result_file: str) -> dict | None:
    """An earlier run's result (model path, last evaluation) when ``run/result_file`` exists."""
    if not (run / result_file).is_file():
        return None
    evals = [r for r in read_metrics(run / "metrics.jsonl") if r["kind"] == "eval"] if (run / "metrics.jsonl").is_file() else []
    ev = {k: v for k, v in (evals[-1] if evals else {}).items() if k not in ("kind", "step", "time", "epoch")}
    return {"eval": ev, "model_path": str(run / result_file), "reused": True}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=24, help="training videos (test: half, validation: a third)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--backbone", default="", help="video backbone (default tiny3d on cpu, r3d_18 on cuda)")
    ap.add_argument("--epochs", type=int, default=4, help="epochs of the part-state and video models")
    ap.add_argument("--size", default="160x120", help="synthetic frame size WxH")
    ap.add_argument("--preset", default="easy")
    ap.add_argument("--kp-noise", type=float, default=1.5, help="keypoint noise (px) of the stand-in pose")
    ap.add_argument("--out", default="bench_out/ablation_tps")
    ap.add_argument("--doc", default=str(REPO / "docs" / "ablation.md"))
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    ap.add_argument("--reuse", action="store_true", help="keep models an earlier run left in OUT/runs")
    ap.add_argument("--rgb-recipe", action="store_true",
                    help="video model by the RGB recipe: MoSI init, person clips, fresh synthetic clips")
    ap.add_argument("--rgb-epochs", type=int, default=20, help="epochs of the RGB-recipe video model")
    ap.add_argument("--partdet-epochs", type=int, default=0, help="part detector epochs (default 2 x --epochs)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    t_start = time.perf_counter()
    out = Path(a.out)
    size = tuple(int(v) for v in a.size.split("x"))
    gpu = a.device == "cuda"
    backbone = a.backbone or ("r3d_18" if gpu else "small3d" if a.rgb_recipe else "tiny3d")
    train = make_set(out, 0, a.videos, size, a.preset)
    classes = sorted(set(json.loads((train / "gt_vid_result.json").read_text()).values()))
    val = make_set(out, 2, max(4, a.videos // 3), size, a.preset, keep=set(classes))
    test = make_set(out, 1, max(4, a.videos // 2), size, a.preset)
    common = [f"data.root={train}", f"data.val_root={val}", f"data.workers={4 if gpu else 0}", "train.progress=false",
              f"train.epochs={a.epochs}", "train.log_every=20"]
    cache = [f"data.cache={out / 'cache'}", "data.cache_size=[120, 160]" if gpu else "data.cache_size=[96, 128]"]
    vid_model = [f"model.name={backbone}", "data.clip_len=16" if gpu else "data.clip_len=8", "data.frame_stride=2",
                 f"data.crop={112 if gpu else 80}", "data.test_clips=4", f"train.batch_size={min(16, a.videos)}",
                 "optim.lr=0.05" if gpu else "optim.lr=0.1", "model.dropout=0.2"]
    runs = out / "runs"
    timings: dict[str, float] = {}

    def timed(name, fn, cfg):
        run = Path(cfg["train"]["out"])
        if a.reuse and not (fn is train_part_states and cfg["parts"]["kind"] == "prior"):  # the prior is counted in 1 s
            r = reused(run, "best.pt" if fn is train_action else "model.pt")
            if r is not None:
                print(f"[{name}] reused {run}", flush=True)
                timings[f"{name} (reused)"] = 0.0
                return r
        t0 = time.perf_counter()
        r = fn(cfg)
        timings[name] = time.perf_counter() - t0
        print(f"[{name}] {time.perf_counter() - t0:.0f} s {r.get('eval') if isinstance(r, dict) else ''}", flush=True)
        return r

    many = [f"train.epochs={10 * a.epochs}"]  # an epoch of the action models is only videos / batch steps
    if a.rgb_recipe:  # configs/mosi_cpu.yaml + configs/tps_rgb_cpu.yaml, at 112 px with r3d_18 on a GPU
        side = ["data.crop=112", "data.clip_len=16", "train.batch_size=32", "data.workers=14"] if gpu else [
            "data.crop=56", "data.clip_len=8", "train.batch_size=16", "data.workers=2"]
        timed("MoSI", train_mosi, load_mosi_config(REPO / "configs" / "mosi_cpu.yaml", side + [
            f"model.name={backbone}", f"mosi.size={128 if gpu else 64}", "train.progress=false",
            f"train.out={runs / 'mosi'}"]))
        timed("action video", train_action, load_config(REPO / "configs" / "tps_rgb_cpu.yaml", common + cache + side + [
            f"data.frame_stride={2 if gpu else 3}",
            f"model.name={backbone}", f"model.weights={runs / 'mosi' / 'model.pt'}", f"data.synth_size={list(size)}",
            f"data.synth_preset={a.preset}", f"data.person_size={128 if gpu else 64}",
            f"data.synth_clips={(125 if gpu else 60) * (32 if gpu else 16)}", f"train.epochs={a.rgb_epochs}",
            f"train.out={runs / 'act_video'}"]))
    else:
        timed("action video", train_action, load_config(None, common + cache + vid_model + many + [
            f"train.out={runs / 'act_video'}"]))
    timed("action skeleton", train_action, load_config(None, common + [
        "model.kind=skeleton", "data.clip_len=32", "data.frame_stride=1", "optim.name=adamw", "optim.lr=0.005",
        "optim.weight_decay=0.01", "train.batch_size=8", f"train.epochs={24 * a.epochs}", f"train.out={runs / 'act_skel'}"]))
    part_common = common + cache + [f"model.name={backbone}", "train.batch_size=16"]
    prior_r = timed("prior", train_part_states, load_part_states_config(None, part_common + ["parts.kind=prior", f"train.out={runs / 'prior'}"]))
    ps = timed("part states", train_part_states, load_part_states_config(None, part_common + [
        "parts.kind=part_state", f"train.out={runs / 'part_state'}"] + (["data.clip_len=16", "parts.layers=3"] if gpu else [])))
    vs = timed("video states", train_part_states, load_part_states_config(None, part_common + [
        "parts.kind=video_states", f"train.out={runs / 'video_states'}", "data.test_clips=4", "train.batch_size=4",
        "optim.lr=0.003", "model.dropout=0.0", f"train.epochs={2 * a.epochs}"]))
    pd_common = [f"data.root={train}", f"data.val_root={val}", f"data.workers={4 if gpu else 0}", "train.progress=false",
                 "train.log_every=20", f"train.epochs={a.partdet_epochs or 2 * a.epochs}", f"partdet.kp_noise={a.kp_noise}"]
    pd_common += (["partdet.trunk=resnet18", "partdet.crop=256", "partdet.fpn_dim=128", "train.batch_size=32"] if gpu
                  else ["partdet.crop=96", "partdet.width=16", "partdet.fpn_dim=32"])
    pd = timed("part detector", train_part_detector, load_part_detector_config(None, pd_common + [f"train.out={runs / 'partdet'}"]))
    plain = timed("plain detector", train_part_detector, load_part_detector_config(None, pd_common + [
        "partdet.mode=none", f"train.out={runs / 'partdet_plain'}"]))
    person_r = timed("person detector", train_person_detector, load_person_detector_config(None, [
        f"data.root={train}", f"data.val_root={val}", f"data.workers={4 if gpu else 0}", "train.progress=false",
        "train.log_every=20", f"train.epochs={a.partdet_epochs or 2 * a.epochs}", f"train.out={runs / 'persondet'}"]
        + (["persondet.trunk=resnet18", "persondet.size=320", "persondet.fpn_dim=128", "train.batch_size=16"] if gpu
           else [f"persondet.size={max(size)}", "persondet.width=32", "persondet.fpn_dim=64", "train.batch_size=8"])))

    # ---- people on the held-out frames: the trained detector against OpenCV's HOG (the parse default's helper)
    t0 = time.perf_counter()
    people = {"trained person detector": person_ap(load_person_predictor(person_r["model_path"], a.device), test),
              "HOG (OpenCV default people detector)": person_ap(HogPersonDetector(), test)}
    timings["person AP"] = time.perf_counter() - t0

    # ---- predict the held-out set (and the validation set, for the ensemble weights)
    dev = a.device
    act_v = ActionPredictor(runs / "act_video" / "best.pt", dev)
    act_s = ActionPredictor(runs / "act_skel" / "best.pt", dev)
    prior = FrequencyPrior.load(prior_r["model_path"])
    ps_model, vs_model = load_state_predictor(ps["model_path"], dev), load_state_predictor(vs["model_path"], dev)
    rng = np.random.default_rng(0)

    def action_scores(root: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, dict]:
        vids = list(json.loads((root / "gt_vid_result.json").read_text()))
        parses = {v: perceived(root, v, a.kp_noise, rng, size) for v in vids}
        sv = np.stack([act_v.scores(root / "videos" / f"{v}.mp4", parses[v]) for v in vids])
        ss = np.stack([act_s.scores(root / "videos" / f"{v}.mp4", parses[v]) for v in vids])
        gt_a = json.loads((root / "gt_vid_result.json").read_text())
        y = np.array([classes.index(gt_a[v]) if gt_a[v] in classes else -1 for v in vids])
        return vids, sv, ss, y, parses

    t0 = time.perf_counter()
    _, val_v, val_s, val_y, _ = action_scores(val)
    weights = fit_weights([val_v, val_s], val_y)
    vids, sv, ss, y, base = action_scores(test)
    gt_set = read_tps(test, kind="gt")
    gt_parses = gt_set.to_parses()
    single = [classes[i] for i in sv.argmax(1)]
    ens = [classes[i] for i in ensemble_scores([sv, ss], weights).argmax(1)]
    frame_p, video_p = {}, {}
    for k, v in enumerate(vids):
        p = copy.deepcopy(base[v])
        p.action = single[k]
        frame_p[v] = ps_model.state_probs(test / "videos" / f"{v}.mp4", p)
        video_p[v] = vs_model.video_probs(test / "videos" / f"{v}.mp4")
    timings["predict"] = time.perf_counter() - t0

    # ---- part boxes of the held-out persons: pose-guided / plain detector, with and without the fallback
    t0 = time.perf_counter()
    boxes_of: dict[str, dict[str, VideoParse]] = {"geometric": base}
    frame_det = {}
    for name, r in (("pose-guided", pd), ("plain", plain)):
        model = load_part_predictor(r["model_path"], dev)
        boxes_of[name], boxes_of[name + " raw"] = {}, {}
        for k, v in enumerate(vids):
            video = test / "videos" / f"{v}.mp4"
            p = copy.deepcopy(base[v])
            model.predict_parts(video, p)
            boxes_of[name][v] = p
            q = copy.deepcopy(base[v])
            for fp in q.frames:  # raw: no geometric boxes to fall back on
                for person in fp.persons:
                    person.parts = {}
            model.predict_parts(video, q)
            boxes_of[name + " raw"][v] = q
            if name == "pose-guided":
                p = copy.deepcopy(p)
                p.action = single[k]
                frame_det[v] = ps_model.state_probs(video, p)
    quality = {name: part_box_quality(parses, gt_parses) for name, parses in boxes_of.items()}
    use_det = pd["eval"].get("recall", 0.0) > pd["eval"].get("geo_recall", 1.0)  # chosen on the validation seed
    timings["predict parts"] = time.perf_counter() - t0

    def rung(actions: list[str], states: str, boxes: str = "geometric", given: tuple | None = None) -> dict:
        preds = {}
        src, fprobs = (boxes_of["pose-guided"], frame_det) if boxes == "pose-guided" else (base, frame_p)
        if given is not None:  # (parses, frame probabilities) of other perception
            src, fprobs = given
        for k, v in enumerate(vids):
            p = copy.deepcopy(src[v])
            p.action = actions[k]
            if states == "prior":
                best = prior.predict(np.array([prior.action_id(p.action)]))[0]
                set_states(p, lambda i, j: best)
            elif states == "head":
                set_states(p, lambda i, j: fprobs[v][(i, j)].argmax(-1))
            else:  # head + video-level states: mean of the two probability tables
                set_states(p, lambda i, j: (fprobs[v][(i, j)] + video_p[v]).argmax(-1))
            preds[v] = p
        folder = out / "pred" / f"{states}_{'ens' if actions is ens else 'single'}_{boxes.replace('-', '_')}"
        write_tps(folder, preds, kind="pred")
        rep = evaluate_tps(gt_set, read_tps(folder, kind="pred"), sweep=False)
        acc = float(np.mean([a_ == gt_parses[v].action for a_, v in zip(actions, vids)]))
        return {"score": rep.headline, "video_acc": acc,
                "state_acc": state_accuracy(preds, gt_parses) if given is None else float("nan"),
                "psc": float(np.mean(list(rep.per_video.values())))}

    rows = [("Frequency prior (action from the video model)", rung(single, "prior")),
            ("+ learned part states (RoIAlign + person + MHA + action)", rung(single, "head")),
            ("+ pose-guided part detector (part boxes)", rung(single, "head", "pose-guided"))]
    chosen = "pose-guided" if use_det else "geometric"
    rows += [(f"+ video-level part states ({chosen} boxes)", rung(single, "head+video", chosen)),
             (f"+ ensemble (video + skeleton action models, {chosen} boxes)", rung(ens, "head+video", chosen))]
    # ---- the whole system with learned perception: people from the trained person detector
    t0 = time.perf_counter()
    people_model = load_person_predictor(person_r["model_path"], dev)
    part_model = load_part_predictor(pd["model_path"], dev) if chosen == "pose-guided" else None
    det_parses, det_probs = {}, {}
    for k, v in enumerate(vids):
        video = test / "videos" / f"{v}.mp4"
        p = detected(test, v, people_model, a.kp_noise, rng, size)
        if part_model is not None:
            part_model.predict_parts(video, p)
        det_parses[v] = p
        q = copy.deepcopy(p)
        q.action = single[k]
        det_probs[v] = ps_model.state_probs(video, q)
    timings["predict detected people"] = time.perf_counter() - t0
    rows.append((f"... with people from the trained person detector (not GT boxes; {chosen} part boxes)",
                 rung(ens, "head+video", chosen, given=(det_parses, det_probs))))
    write_doc(Path(a.doc), rows, a, backbone, len(vids), timings, time.perf_counter() - t_start, weights,
              ps["eval"], prior_r["eval"], quality, pd["eval"], plain["eval"], chosen, people)
    print(Path(a.doc).read_text())


def write_doc(path: Path, rows, a, backbone: str, n_test: int, timings: dict, total: float, weights, ps_eval,
              prior_eval, quality: dict, pd_eval: dict, plain_eval: dict, chosen: str, people: dict) -> None:
    lines = ["# Kinetics-TPS ablation ladder (synthetic data)", "",
             "Made by `python scripts/ablation_tps.py " + f"--videos {a.videos} --device {a.device} --epochs "
             f"{a.epochs}{' --rgb-recipe' if a.rgb_recipe else ''}` (backbone `{backbone}`, frames {a.size}, "
             f"preset `{a.preset}`). Training: seed 0, "
             f"{a.videos} videos; checkpoint / ensemble-weight selection: seed 2; **test: {n_test} held-out videos of"
             " seed 1**. Score = the official Kinetics-TPS Score (`evaluate_tps`, = `deeperaction eval tps`);"
             " video acc = action top-1; state acc = share of GT parts given the right state; PSC = mean"
             " part-state correctness per video (official definition).", "",
             f"Perception is shared by every rung and not learned: GT person boxes, GT keypoints + N(0, {a.kp_noise}"
             " px) noise, part boxes from keypoints (`parts_from_pose`) until the pose-guided part detector rung;"
             f" after it, the part boxes that were better on the validation seed ({chosen}). This isolates the"
             " part-state and action models; the numbers are not comparable to real Kinetics-TPS. The last row runs"
             " the final system on the people the trained person detector finds instead (each box takes the noisy GT"
             " skeleton it overlaps most, as a pose estimator run in the box would give; boxes overlapping none get"
             " no parts), so its Score includes person detection errors; its state acc is not given (it needs the"
             " GT persons in order).", "",
             "| rung | Score | video acc | state acc | PSC |", "|---|---|---|---|---|"]
    for name, r in rows:
        state = "-" if np.isnan(r["state_acc"]) else f"{r['state_acc']:.3f}"  # needs persons in GT order
        lines.append(f"| {name} | {r['score']:.4f} | {r['video_acc']:.3f} | {state} | {r['psc']:.3f} |")
    lines += ["", "Part-box quality on the held-out persons (share of GT part boxes hit with the official part IoU"
              " >= 0.3, mean IoU; 'raw' = the detector alone, otherwise a part scoring under"
              " `partdet.score_thresh` keeps its geometric box):", "",
              "| part boxes | IoU>=0.3 recall | mean IoU |", "|---|---|---|"]
    for name, q in quality.items():
        label = {"geometric": "geometric from keypoints (`parts_from_pose`)",
                 "pose-guided": "pose-guided detector (keypoints drawn on the crop)",
                 "pose-guided raw": "pose-guided detector, raw", "plain": "plain detector (no pose drawn)",
                 "plain raw": "plain detector, raw"}[name]
        lines.append(f"| {label} | {q['recall']:.3f} | {q['mean_iou']:.3f} |")
    lines += ["", f"Validation seed (detector + fallback / raw / geometric recall): pose-guided "
              f"{pd_eval.get('recall', 0):.3f} / {pd_eval.get('det_recall', 0):.3f} / {pd_eval.get('geo_recall', 0):.3f},"
              f" plain {plain_eval.get('recall', 0):.3f} / {plain_eval.get('det_recall', 0):.3f}."]
    lines += ["", "People on the held-out annotated frames (the ladder above starts from GT person boxes; its last row"
              " uses the trained detector): person AP at IoU 0.5 (exact VOC all-point), recall / precision of the boxes scoring >= 0.3"
              " (`deeperaction train persondet`, used by `parse --person-model`):", "",
              "| person detector | AP50 | recall | precision |", "|---|---|---|---|"]
    for name, r in people.items():
        lines.append(f"| {name} | {r['ap50']:.3f} | {r['recall']:.3f} | {r['precision']:.3f} |")
    lines += ["", f"Ensemble weights (video, skeleton), fit on seed 2: {[round(float(w), 2) for w in weights]}. "
              f"Part-state head on the validation set (GT part boxes): accuracy {ps_eval.get('accuracy', 0):.3f}, on"
              f" non-\"none\" states {ps_eval.get('active_accuracy', 0):.3f}; frequency prior "
              f"{prior_eval.get('accuracy', 0):.3f}.", "",
              f"Wall time {total / 60:.1f} min on {a.device} ("
              + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) + ")."]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""Kinetics-TPS Score (xiadingZ/Kinetics-TPS-evaluation ``eval_detection.py``), exact and vectorized.

Per GT frame: humans matched by Hungarian assignment (IoU > human_iou); each GT part of a matched
human earns 1/N_p if one of the N_p proposals of that part has IoU >= part_iou and the same state.
Frame value = credit / GT parts; PSC = mean over countable frames (1.0 if none); Score = mean over
videos of correct_action * #{t in 1..9999: t/10000 <= PSC} / 10000. Also the official sweep.

Where the official code crashes we choose: a GT video without predicted action -> InputError (or,
with ``allow_missing``, scored wrong with PSC 0); a predicted video with an action but no part entry
-> its frames count as absent (0); the reader already refuses > 10 humans or > 5 proposals anywhere.
"""
from __future__ import annotations

import numpy as np

from deeperaction.errors import InputError
from deeperaction.formats.tps_set import TpsSet
from deeperaction.metrics.report import Report
from deeperaction.metrics.tps_match import OrderedSums, expand_ranges, link_frames, match_humans, part_iou64

SWEEP = (0.001, 0.3, 0.5, 0.9, 0.99)  # the human and part IoUs the official script prints
CURVE_T = (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # its conditioned-accuracy points
STEPS = 10000


def conditioned_acc(psc: np.ndarray, correct: np.ndarray, t: float) -> float:
    """Official ``cal_pvacc``: fraction of videos with a correct action and PSC >= t."""
    return int(((psc >= t) & correct).sum()) / len(psc)


def area_score(psc: np.ndarray, correct: np.ndarray) -> float:
    """Official ``cal_area``: sum over t = 1..9999 of (1/10000) * cal_pvacc(t), added left to right."""
    ok = np.sort(psc[correct])
    t = np.arange(1, STEPS) / STEPS
    cor = len(ok) - np.searchsorted(ok, t, side="left")  # count of PSC >= t
    terms = (1.0 / STEPS) * (cor / len(psc))
    return float(np.cumsum(terms)[-1])  # cumsum adds sequentially, as the Python loop does


def _vocab_map(src: list[str], dst: list[str], missing: int) -> np.ndarray:
    """Index of each ``src`` string in ``dst`` (``missing`` where absent)."""
    index = {s: i for i, s in enumerate(dst)}
    return np.array([index.get(s, missing) for s in src], dtype=np.int64).reshape(-1)


def _check_thr(name: str, v: float) -> None:
    if not 0.0 <= v <= 1.0:
        raise InputError(f"{name} must be in [0, 1], got {v}")


def evaluate_tps(gt: TpsSet, pred: TpsSet, *, human_iou: float = 0.5, part_iou: float = 0.3,
                 allow_missing: bool = False, sweep: bool = True) -> Report:
    """Score ``pred`` against ``gt`` exactly as the official script; see the module docstring.

    A GT video without a predicted action is an InputError, or with ``allow_missing`` scored as wrong
    (PSC 0). Predictions for videos outside the GT are ignored (counted in a warning). ``sweep`` adds
    the official 5x5 (human IoU, part IoU) table.
    """
    _check_thr("human_iou", human_iou)
    _check_thr("part_iou", part_iou)
    vids = list(gt.actions)
    if not vids:
        raise InputError("the GT has no videos", file=gt.files[0])
    missing = [v for v in vids if v not in pred.actions]
    if missing and not allow_missing:
        raise InputError([f"{pred.files[0] or 'predictions'}: video {v!r}: no prediction for this GT video"
                          " (use allow_missing / --allow-missing to score it as wrong)" for v in missing])
    extra = sum(1 for v in pred.actions if v not in gt.actions)
    n_v = len(vids)
    vrow = np.array([gt.video_index[v] for v in vids])  # GT part-file video -> row in ``vids``
    v_of = np.full(len(gt.videos), -1)
    v_of[vrow] = np.arange(n_v)
    correct = np.array([pred.actions.get(v) == gt.actions[v] for v in vids])

    # frames: which GT frames have a predicted frame -------------------------------------------
    fv = v_of[gt.frame_video]
    pf = link_frames(gt, pred)
    has_pred = np.array([v in pred.actions for v in vids])
    in_pred = pf >= 0
    ng = gt.frame_counts()
    npr = np.r_[pred.frame_counts(), 0][pf]  # pf == -1 picks the trailing 0
    parts_per_h = np.diff(gt.human_p0)
    h_frame = np.repeat(np.arange(gt.n_frames), ng)
    count = np.bincount(h_frame, weights=parts_per_h, minlength=gt.n_frames).astype(np.int64)
    drop_empty = ng == 0
    drop_noparts = in_pred & ~drop_empty & (count == 0)
    countable = ~drop_empty & ~drop_noparts
    n_count = np.bincount(fv[countable], minlength=n_v)

    # humans: official Hungarian matching, once (thresholds only filter it) ----------------------
    mf = np.flatnonzero(in_pred & (ng > 0) & (npr > 0))
    mg, mp, miou, mpad, mfr, n_hard = match_humans(
        gt.human_box, gt.frame_h0[mf], ng[mf], pred.human_box, pred.frame_h0[pf[mf]], npr[mf])
    mfr = mf[mfr]  # GT frame of each matched pair

    # parts of matched GT humans: best IoU among proposals with the right state -------------------
    pm, gpart = expand_ranges(gt.human_p0[mg], parts_per_h[mg])
    nn = max(len(gt.part_names), 1)
    pname = _vocab_map(pred.part_names, gt.part_names, -1)
    table = np.full(pred.n_humans * nn, -1, dtype=np.int64)
    p_h = np.repeat(np.arange(pred.n_humans), np.diff(pred.human_p0))
    okp = pname[pred.part_name] >= 0
    table[p_h[okp] * nn + pname[pred.part_name[okp]]] = np.flatnonzero(okp)
    pp = table[mp[pm] * nn + gt.part_name[gpart]]
    n_prop = np.where(pp >= 0, np.diff(pred.part_q0)[np.maximum(pp, 0)], 0) if len(pp) else np.zeros(0, int)
    qo, q = expand_ranges(pred.part_q0[np.maximum(pp, 0)], n_prop)
    gq = gt.part_q0[gpart[qo]]
    st = _vocab_map(pred.states, gt.states, -2)[pred.prop_state[q]] if len(q) else np.zeros(0, int)
    same = st == gt.prop_state[gq]  # only proposals with the GT state can earn credit
    qo, q, gq = qo[same], q[same], gq[same]
    iou = part_iou64(gt.prop_box[gq], pred.prop_box[q])
    best = np.full(len(pp), -np.inf)
    np.maximum.at(best, qo, iou)
    inv_n = np.divide(1.0, n_prop, out=np.zeros(len(pp)), where=n_prop > 0)

    # exact ordered sums: parts in a human, humans in a frame, frames in a video -----------------
    sum_parts = OrderedSums(pm, len(mg))
    ufr = np.unique(mfr)
    sum_humans = OrderedSums(np.searchsorted(ufr, mfr), len(ufr))
    frames_v = np.flatnonzero(countable & in_pred)
    sum_frames = OrderedSums(fv[frames_v], n_v)
    by_pi: dict[float, np.ndarray] = {}

    def psc_for(hi: float, pi: float) -> tuple[np.ndarray, np.ndarray]:
        if pi not in by_pi:
            by_pi[pi] = sum_parts(np.where(best >= pi, inv_n, 0.0))
        f32 = np.float32(hi)
        valid = np.where(mpad, miou.astype(np.float64) > hi, miou > f32)
        fsum = np.zeros(gt.n_frames)
        fsum[ufr] = sum_humans(np.where(valid, by_pi[pi], 0.0))
        favg = np.divide(fsum, count, out=np.zeros(gt.n_frames), where=count > 0)
        vsum = sum_frames(favg[frames_v])
        psc = np.divide(vsum, n_count, out=np.ones(n_v), where=n_count > 0)
        psc[~has_pred] = 0.0
        return psc, valid

    psc, valid = psc_for(human_iou, part_iou)
    score = area_score(psc, correct)
    curve = {str(t): conditioned_acc(psc, correct, t) for t in CURVE_T}
    per_part = _per_part(gt, gpart, np.where(valid[pm] & (best >= part_iou), inv_n, 0.0), countable, h_frame)
    tables: dict = {
        "video_correct": dict(zip(vids, correct.astype(int).tolist())),
        "conditioned_acc": curve,
        "counts": {
            "videos": n_v, "videos_action_correct": int(correct.sum()), "gt_frames": gt.n_frames,
            "countable_frames": int(countable.sum()), "dropped_frames_no_humans": int(drop_empty.sum()),
            "dropped_frames_no_parts": int(drop_noparts.sum()),
            "gt_frames_missing_in_pred": int((~in_pred & ~drop_empty).sum()),
            "gt_humans": gt.n_humans, "matched_humans": int(valid.sum()), "gt_parts": gt.n_parts,
            "pred_humans": pred.n_humans, "hungarian_frames": int(n_hard),
            "missing_videos": len(missing), "extra_pred_videos": extra,
        },
    }
    if sweep:
        rows = []
        for hi in SWEEP:
            for pi in SWEEP:
                p2 = psc_for(hi, pi)[0]
                rows.append({"human_iou": hi, "part_iou": pi, "score": area_score(p2, correct),
                             "conditioned_acc": {str(t): conditioned_acc(p2, correct, t) for t in CURVE_T}})
        tables["sweep"] = rows
    warnings = []
    if missing:
        warnings.append(f"{len(missing)} GT video(s) had no prediction and were scored as wrong")
    if extra:
        warnings.append(f"{extra} predicted video(s) are not in the GT and were ignored")
    if pred.degenerate:
        n, first = pred.degenerate
        warnings.append(f"{n} predicted boxes with x2 < x1 or y2 < y1, scored as the official scorer scores them"
                        f" (--strict refuses them); the first: {first}")
    return Report(metric="kinetics_tps", headline_name="Score", headline=score,
                  per_class=per_part, per_threshold={f"conditioned_acc@{k}": v for k, v in curve.items()},
                  per_video=dict(zip(vids, psc.tolist())), tables=tables, warnings=warnings,
                  options={"human_iou": human_iou, "part_iou": part_iou, "allow_missing": allow_missing})


def _per_part(gt: TpsSet, gpart: np.ndarray, credit: np.ndarray, countable: np.ndarray,
              h_frame: np.ndarray) -> dict[str, float]:
    """Mean credit per part name over GT parts in countable frames (a diagnostic, not official)."""
    p_h = np.repeat(np.arange(gt.n_humans), np.diff(gt.human_p0))
    in_count = countable[h_frame[p_h]]
    total = np.bincount(gt.part_name[in_count], minlength=len(gt.part_names))
    got = np.bincount(gt.part_name[gpart], weights=credit * in_count[gpart], minlength=len(gt.part_names))
    return {n: float(got[i] / total[i]) for i, n in enumerate(gt.part_names) if total[i]}

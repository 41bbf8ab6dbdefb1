"""Diagnostics of Kinetics-TPS part parsing: which stage of the pipeline loses the points.

Every GT part (of a GT human in a frame with humans) ends in exactly one stage, in pipeline order:
its human is not matched (IoU > human_iou, official Hungarian matching) -> "human"; no proposal of
the part reaches part_iou -> "localization"; none of the localized proposals has the right state ->
"state"; else it earns 1/N_p and the rest is lost to "proposals" (N_p proposals dilute the credit).
These are part-level (micro) averages; the Score itself averages frames, then videos.
"""
from __future__ import annotations

import numpy as np

from deeperaction.formats.tps_set import TpsSet
from deeperaction.metrics.tps_match import expand_ranges, link_frames, match_humans, part_iou64

STAGES = ("human", "localization", "state", "proposals")
MAX_STATES = 10  # states shown per confusion matrix (the most frequent; the rest pooled as "(other)")


def analyze_tps(gt: TpsSet, pred: TpsSet, *, human_iou: float = 0.5, part_iou: float = 0.3) -> dict:
    """Stage losses overall and per part, match/localization/state rates, per-state accuracy, state
    confusion matrices per part, and per-video stage losses (JSON-ready)."""
    pf = link_frames(gt, pred)
    ng = gt.frame_counts()
    npr = np.where(pf >= 0, pred.frame_counts()[np.maximum(pf, 0)], 0)
    mf = np.flatnonzero((pf >= 0) & (ng > 0) & (npr > 0))
    mg, mp, miou, mpad, _, _ = match_humans(gt.human_box, gt.frame_h0[mf], ng[mf], pred.human_box,
                                            pred.frame_h0[pf[mf]], npr[mf])
    valid = np.where(mpad, miou.astype(np.float64) > human_iou, miou > np.float32(human_iou))
    mg, mp = mg[valid], mp[valid]
    h_pred = np.full(gt.n_humans, -1)
    h_pred[mg] = mp

    # every GT part -> the pred part of the same name in the matched pred human
    parts_per_h = np.diff(gt.human_p0)
    p_h = np.repeat(np.arange(gt.n_humans), parts_per_h)
    mh = h_pred[p_h]
    nn = max(len(gt.part_names), 1)
    name_map = np.array([gt.part_names.index(n) if n in gt.part_names else -1 for n in pred.part_names] + [-1])
    table = np.full(pred.n_humans * nn + 1, -1, dtype=np.int64)
    pp_h = np.repeat(np.arange(pred.n_humans), np.diff(pred.human_p0))
    okn = name_map[pred.part_name] >= 0
    table[pp_h[okn] * nn + name_map[pred.part_name[okn]]] = np.flatnonzero(okn)
    pp = np.where(mh >= 0, table[np.where(mh >= 0, mh * nn + gt.part_name, -1)], -1)
    n_prop = np.where(pp >= 0, np.diff(pred.part_q0)[np.maximum(pp, 0)], 0)
    qo, q = expand_ranges(pred.part_q0[np.maximum(pp, 0)], n_prop)
    gq = gt.part_q0[qo]
    st_map = np.array([gt.states.index(s) if s in gt.states else -2 for s in pred.states] + [-2])
    pst = st_map[pred.prop_state[q]] if len(q) else np.zeros(0, np.int64)
    iou = part_iou64(gt.prop_box[gq], pred.prop_box[q])
    right = pst == gt.prop_state[gq]
    loc_any = np.zeros(gt.n_parts, bool)
    loc_any[qo[iou >= part_iou]] = True
    correct = np.zeros(gt.n_parts, bool)
    correct[qo[(iou >= part_iou) & right]] = True
    # predicted state of the best-IoU localized proposal (for the confusion matrices)
    best_state = np.full(gt.n_parts, -1)
    loc = np.flatnonzero(iou >= part_iou)
    if len(loc):
        o = loc[np.lexsort((-iou[loc], qo[loc]))]
        first = o[np.r_[True, qo[o][1:] != qo[o][:-1]]]
        best_state[qo[first]] = pst[first]
    credit = np.where(correct, 1.0 / np.maximum(n_prop, 1), 0.0)

    stage = np.full(gt.n_parts, 3)
    stage[~correct] = 2
    stage[~loc_any] = 1
    stage[mh < 0] = 0
    loss = np.zeros((gt.n_parts, 4))
    loss[np.arange(gt.n_parts), stage] = 1.0
    loss[correct, 3] = 1.0 - credit[correct]
    loss[correct & (stage == 3), :3] = 0.0
    g_state = gt.prop_state[gt.part_q0[:-1]]
    frame_of_h = np.repeat(np.arange(gt.n_frames), ng)
    video_of_part = gt.frame_video[frame_of_h[p_h]]
    return {
        "stages": list(STAGES),
        "overall": _stage_summary(loss, credit, np.ones(gt.n_parts, bool)),
        "per_part": {n: _stage_summary(loss, credit, gt.part_name == i) for i, n in enumerate(gt.part_names)},
        "rates": {
            "gt_humans": int(gt.n_humans), "matched_humans": int(len(mg)),
            "human_match_rate": float(len(mg) / gt.n_humans) if gt.n_humans else None,
            "parts_of_matched_humans": int((mh >= 0).sum()),
            "part_localization_rate": float(loc_any.sum() / max((mh >= 0).sum(), 1)),
            "state_accuracy_given_localized": float(correct.sum() / max(loc_any.sum(), 1)),
            "mean_proposals": float(n_prop[correct].mean()) if correct.any() else None,
        },
        "per_state": _per_state(gt, g_state, loc_any, correct),
        "confusion": _confusions(gt, g_state, best_state, loc_any),
        "per_video_stages": _per_video(gt, loss, credit, video_of_part),
        "frame_credit": _frame_credit(gt, credit, frame_of_h[p_h]),
    }


def _stage_summary(loss: np.ndarray, credit: np.ndarray, m: np.ndarray) -> dict:
    n = int(m.sum())
    out = {"parts": n, "earned": float(credit[m].mean()) if n else None}
    for j, s in enumerate(STAGES):
        out[s] = float(loss[m, j].mean()) if n else None
    return out


def _per_state(gt: TpsSet, g_state: np.ndarray, loc: np.ndarray, correct: np.ndarray) -> dict:
    """State accuracy among localized GT parts, per GT state (pooled over parts)."""
    n = np.bincount(g_state[loc], minlength=len(gt.states))
    c = np.bincount(g_state[correct], minlength=len(gt.states))
    tot = np.bincount(g_state, minlength=len(gt.states))
    return {s: {"gt": int(tot[i]), "localized": int(n[i]), "accuracy": float(c[i] / n[i]) if n[i] else None}
            for i, s in enumerate(gt.states) if tot[i]}


def _confusions(gt: TpsSet, g_state: np.ndarray, p_state: np.ndarray, loc: np.ndarray) -> dict:
    """Per part: counts[GT state][predicted state] over localized parts, top states + "(other)"."""
    out = {}
    ns = len(gt.states)
    for i, name in enumerate(gt.part_names):
        m = loc & (gt.part_name == i)
        if not m.any():
            continue
        freq = np.bincount(g_state[m], minlength=ns)
        keep = [int(s) for s in np.argsort(-freq, kind="stable")[:MAX_STATES] if freq[s]]
        idx = np.full(ns + 2, len(keep))  # anything else -> "(other)"
        idx[keep] = np.arange(len(keep))
        k = len(keep) + 1
        ps = np.where(p_state[m] >= 0, p_state[m], ns)
        mat = np.bincount(idx[g_state[m]] * k + idx[ps], minlength=k * k).reshape(k, k)
        labels = [gt.states[s] for s in keep] + ["(other)"]
        if not mat[-1].any() and not mat[:, -1].any():
            mat, labels = mat[:-1, :-1], labels[:-1]
        out[name] = {"labels": labels, "matrix": mat.tolist()}
    return out


def _per_video(gt: TpsSet, loss: np.ndarray, credit: np.ndarray, vop: np.ndarray) -> dict:
    nv = len(gt.videos)
    n = np.bincount(vop, minlength=nv)
    out = {}
    sums = [np.bincount(vop, weights=loss[:, j], minlength=nv) for j in range(4)]
    earned = np.bincount(vop, weights=credit, minlength=nv)
    for v, name in enumerate(gt.videos):
        if n[v]:
            out[name] = {"parts": int(n[v]), "earned": float(earned[v] / n[v]),
                         **{s: float(sums[j][v] / n[v]) for j, s in enumerate(STAGES)}}
    return out


def _frame_credit(gt: TpsSet, credit: np.ndarray, fop: np.ndarray) -> dict:
    """Per video: (frame number, credit fraction) of its worst annotated frame, for thumbnails."""
    nf = gt.n_frames
    got = np.bincount(fop, weights=credit, minlength=nf)
    cnt = np.bincount(fop, minlength=nf)
    frac = np.where(cnt > 0, got / np.maximum(cnt, 1), np.inf)
    out = {}
    o = np.lexsort((frac, gt.frame_video))
    first = o[np.r_[True, gt.frame_video[o][1:] != gt.frame_video[o][:-1]]] if nf else []
    for f in first:
        if np.isfinite(frac[f]):
            out[gt.videos[gt.frame_video[f]]] = {"frame_row": int(f), "frame": int(gt.frame_num[f]),
                                                 "credit": float(frac[f])}
    return out

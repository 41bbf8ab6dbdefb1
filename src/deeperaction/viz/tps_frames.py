"""Boxes of the worst Kinetics-TPS frames (GT and predicted humans and parts), for report thumbnails."""
from __future__ import annotations

from deeperaction.formats.tps_set import TpsSet
from deeperaction.metrics.report import Report


def _frame_boxes(s: TpsSet, f: int) -> list[list]:
    """Humans and parts of frame row ``f``: ``[x1, y1, x2, y2, label]`` (a part: its first proposal)."""
    out = []
    for h in range(int(s.frame_h0[f]), int(s.frame_h0[f + 1])):
        out.append([*map(float, s.human_box[h]), "human"])
        for p in range(int(s.human_p0[h]), int(s.human_p0[h + 1])):
            q = int(s.part_q0[p])
            if q < int(s.part_q0[p + 1]):
                out.append([*map(float, s.prop_box[q]), f"{s.part_names[s.part_name[p]]}: {s.states[s.prop_state[q]]}"])
    return out


def worst_frames(gt: TpsSet, pred: TpsSet, report: Report, analysis: dict, k: int = 6) -> list[dict]:
    """For the ``k`` worst videos (wrong action first, then lowest PSC): their lowest-credit frame."""
    psc = report.per_video
    correct = report.tables.get("video_correct", {})
    vids = sorted(psc, key=lambda v: (correct.get(v, 0), psc[v]))
    fc = analysis.get("frame_credit", {})
    out = []
    p_rows = {}
    for i, (v, n) in enumerate(zip(pred.frame_video.tolist(), pred.frame_num.tolist())):
        if pred.videos[v] in fc:
            p_rows[(pred.videos[v], n)] = i
    for v in vids:
        if v not in fc or len(out) >= k:
            continue
        f = fc[v]["frame_row"]
        num = int(gt.frame_num[f])
        pf = p_rows.get((v, num))
        out.append({"video": v, "frame": num, "credit": fc[v]["credit"], "gt": _frame_boxes(gt, f),
                    "pred": _frame_boxes(pred, pf) if pf is not None else [],
                    "action_gt": gt.actions.get(v), "action_pred": pred.actions.get(v)})
    return out


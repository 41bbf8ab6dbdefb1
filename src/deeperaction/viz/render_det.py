"""HTML sections of the MultiSports and AVA reports (official numbers + Hoiem/DETAD-style diagnostics)."""
from __future__ import annotations

from deeperaction.viz import plots
from deeperaction.viz.html import esc, fig, figs, kpis, section, table
from deeperaction.viz.render_tal import FP_NOTE

FP_TYPES = ("double detection", "wrong label", "localization", "confusion", "background")


def _pr_figs(level: dict, ap: dict, what: str) -> list[str]:
    """PR curves of the lowest- and highest-AP classes (AP from the metric)."""
    curves = level.get("pr_curves", {})
    ranked = sorted((c for c in curves if ap.get(c) is not None), key=lambda c: ap[c])
    out = []
    for name, sel in (("lowest", ranked[:8]), ("highest", ranked[::-1][:8])):
        if sel:
            cur = {f"{c} ({ap[c]:.1f})" if ap[c] > 1.0001 else f"{c} ({ap[c]:.3f})": curves[c] for c in sel}
            out.append(fig(plots.pr_curves(cur, f"{what}: {name}-AP classes"), f"PR {what} {name}"))
    return out


def _error_section(key: str, title: str, level: dict) -> str:
    comp = level.get("fp_composition_top_g") or {}
    parts = []
    if comp:
        groups = [f"{k + 1}G" for k in range(len(next(iter(comp.values()))))]
        parts.append(fig(plots.stacked_bars(groups, comp, title=f"{title}: top-kG detections by outcome",
                                            ylabel="fraction"), f"{title} composition"))
    cnt = level["fp_counts"]
    parts.append(fig(plots.bar_chart(list(cnt), list(cnt.values()), title=f"{title}: false positives by type",
                                     ylabel="count", color="#c0392b", rotate=True), f"{title} FP types"))
    for name in ("missed_by_size", "missed_by_tube_length"):
        b = level.get(name)
        if b:
            label = "box size (area / frame)" if "size" in name else "tube length (frames)"
            parts.append(fig(plots.bar_chart(list(b), [x["rate"] for x in b.values()],
                                             title=f"{title}: missed GT by {label}", ylabel="miss rate",
                                             color="#e67e22", annotate=[f"n={x['n']}" for x in b.values()],
                                             rotate=True),
                             f"{title} {name}"))
    rows = [[k, v, v / max(sum(cnt.values()), 1)] for k, v in cnt.items()]
    return section(f"errors-{key}", f"Error analysis: {title}", figs(*parts),
                   table(["FP type", "count", "share of FPs"], rows, id=f"fp-{key}"),
                   note=FP_NOTE.replace("tIoU", "IoU").replace("segments", "boxes")
                   + f" Matching at IoU {level['iou']:g}: {level['tp']:,} TPs of {level['detections']:,} "
                     f"detections, {level['gt']:,} GT.")


def _cases(worst: list[dict], thumbs: dict[str, str], what: str) -> str:
    rows = []
    for w in worst:
        key = f"{w['video']}@{w.get('frame', w.get('timestamp'))}"
        img = thumbs.get(key, "")
        where = f"frame {w['frame'] + 1}" if "frame" in w else f"t={w['timestamp']:g}s"
        gt = ", ".join(f"{g[4]}{'' if g[5] else ' (missed)'}" for g in w["gt"])
        pr = ", ".join(f"{p[4]} {p[5]:.2f} [{p[6]}]" for p in w["pred"])
        rows.append(f'<div class="case"><b>{esc(w["video"])}</b> {esc(where)}: {w["missed"]} missed {what}'
                    f'<br>GT: {esc(gt)}<br>top detections: {esc(pr) or "none"}{img}</div>')
    return "".join(rows) or "<p>none</p>"


def sections_multisports(rep: dict, data: dict, thumbs: dict[str, str]) -> list[tuple[str, str, str]]:
    a = data["analysis"]
    pt = rep.get("per_threshold", {})
    out = [("summary", "Summary", section("summary", "Summary", kpis(
        [(rep["headline"]["name"], rep["headline"]["value"])]
        + [(k, pt[k]) for k in ("F@0.5", "V@0.2", "V@0.5", "V@0.5:0.95") if k in pt], digits=2)))]
    vm = rep.get("video_map_per_threshold", {})
    if vm:
        items = sorted((float(k), v) for k, v in vm.items())
        curve = plots.line_plot([k for k, _ in items], {"video-mAP": [v for _, v in items]},
                                xlabel="ST-IoU threshold", ylabel="video-mAP (x100)",
                                title="video-mAP against the tube IoU threshold (official)")
        out.append(("video-map", "video-mAP vs IoU", section(
            "video-map", "video-mAP against the tube IoU threshold", figs(fig(curve, "video-mAP vs IoU")),
            table(["threshold", "video-mAP"], [[f"{k:g}", v] for k, v in items], id="per-threshold", digits=2))))
    frame_ap = rep.get("frame_ap_per_class", {})
    vap = rep.get("video_ap_per_class", {})
    v5 = vap.get("0.5", {})
    lv = a.get("video") or a.get("frame") or {"per_class": {}}
    rows = []
    for c, v in rep.get("per_class", {}).items():
        pc = lv["per_class"].get(c, {})
        main = max(FP_TYPES, key=lambda t: pc.get(t, 0)) if any(pc.get(t) for t in FP_TYPES) else "-"
        rows.append([c, v, frame_ap.get(c), v5.get(c), pc.get("gt"), pc.get("det"), pc.get("tp"), main])
    out.append(("per-class", "Per class", section(
        "per-class", "Per-class AP (official, x100)", table(
            ["class", rep["headline"]["name"], "frame-AP@0.5", "video-AP@0.5", "GT", "detections", "TP", "main FP type"],
            rows, id="per-class", filter_box=True, digits=2),
        note="AP columns are the metric's own (x100). Counts and FP types are diagnostics of the "
             + ("video" if a.get("video") else "frame") + "-level detections at IoU 0.5. Click a header to sort.")))
    pr = []
    if a.get("frame"):
        pr += _pr_figs(a["frame"], frame_ap, "frame-level")
    if a.get("video"):
        pr += _pr_figs(a["video"], v5, "video-level @0.5")
    out.append(("pr", "PR curves", section("pr", "Precision-recall curves", figs(*pr),
                                           note="Legend: class (AP from the metric).")))
    for key, title in (("frame", "frame detections"), ("video", "video tubes")):
        if a.get(key):
            out.append((f"errors-{key}", f"Errors ({key})", _error_section(key, title, a[key])))
    if a.get("video"):
        out.append(("worst", "Worst videos", section("worst", "Worst videos", _cases(a["video"]["worst"], thumbs,
                                                                                     "GT tubes"),
                   note="Videos with the most missed GT tubes, at the middle frame of one missed tube.")))
    return out


def sections_ava(rep: dict, data: dict, thumbs: dict[str, str]) -> list[tuple[str, str, str]]:
    a = data["analysis"]["frame"]
    counts = rep.get("counts", {})
    out = [("summary", "Summary", section("summary", "Summary", kpis([
        (rep["headline"]["name"], rep["headline"]["value"]), ("GT keyframes", counts.get("gt_keyframes")),
        ("GT boxes", counts.get("gt_boxes")), ("detections scored", counts.get("detections_scored"))])))]
    ngt = rep.get("num_gt_per_class", {})
    rows = []
    for c, v in rep.get("per_class", {}).items():
        pc = a["per_class"].get(c, {})
        main = max(FP_TYPES, key=lambda t: pc.get(t, 0)) if any(pc.get(t) for t in FP_TYPES) else "-"
        rows.append([c, v, ngt.get(c, pc.get("gt")), pc.get("det"), pc.get("tp"), main])
    out.append(("per-class", "Per class", section(
        "per-class", "Per-class AP (official)", table(["class", "AP", "GT", "detections", "TP", "main FP type"], rows,
                                                      id="per-class", filter_box=True),
        note="AP is the metric's own (None: no GT). Counts and FP types are diagnostics. Click a header to sort.")))
    ap = {c: v for c, v in rep.get("per_class", {}).items() if v is not None}
    out.append(("pr", "PR curves", section("pr", "Precision-recall curves", figs(*_pr_figs(a, ap, "keyframe")))))
    out.append(("errors-frame", "Errors", _error_section("frame", "keyframe detections", a)))
    out.append(("worst", "Worst keyframes", section("worst", "Worst keyframes", _cases(a["worst"], thumbs, "GT boxes"),
                                                   note="Keyframes with the most missed GT boxes.")))
    return out

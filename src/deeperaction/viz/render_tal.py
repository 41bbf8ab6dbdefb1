"""HTML sections of the temporal-localization report (official numbers + DETAD-style diagnostics)."""
from __future__ import annotations

from deeperaction.viz import plots
from deeperaction.viz.html import fig, figs, kpis, section, table

FP_NOTE = ("False positives are typed as in DETAD (Alwassel et al., 2018): <b>double detection</b> (tIoU &ge; "
           "&alpha; with a GT of its class that a higher-scored prediction already took), <b>wrong label</b> "
           "(tIoU &ge; &alpha; with a GT of another class), <b>localization</b> (its class, 0.1 &le; tIoU &lt; "
           "&alpha;), <b>confusion</b> (another class, 0.1 &le; tIoU &lt; &alpha;), <b>background</b> (tIoU "
           "&lt; 0.1 with every GT). Counts are averaged over the tIoU thresholds &alpha;.")


def sections_tal(rep: dict, data: dict, thumbs: dict[str, str]) -> list[tuple[str, str, str]]:
    """(id, nav label, html) of every section."""
    a = data["analysis"]
    thr = rep.get("tiou_thresholds") or a["thresholds"]
    per_thr = rep.get("per_threshold", {})
    counts = rep.get("counts", {})
    mid_key = min(per_thr, key=lambda k: abs(float(k) - 0.5)) if per_thr else None
    out = [("summary", "Summary", section("summary", "Summary", kpis([
        (rep["headline"]["name"], rep["headline"]["value"]),
        (f"mAP@{mid_key}", per_thr.get(mid_key) if mid_key else None),
        ("classes", counts.get("classes")), ("GT segments", counts.get("gt_segments")),
        ("predictions", counts.get("predictions")), ("videos", counts.get("videos"))])))]

    xs = [float(k) for k in per_thr]
    curve = plots.line_plot(xs, {"mAP": list(per_thr.values())}, xlabel="tIoU threshold", ylabel="mAP",
                            title="mAP against tIoU (official)")
    out.append(("map-tiou", "mAP vs tIoU", section(
        "map-tiou", "mAP against the tIoU threshold", figs(fig(curve, "mAP vs tIoU")),
        table(["tIoU", "mAP"], [[k, v] for k, v in per_thr.items()], id="per-threshold"),
        note="The official per-threshold mAP; the headline average mAP is their mean.")))

    ap_t = rep.get("ap_per_class_tiou", {})
    idx = {round(float(t), 6): i for i, t in enumerate(thr)}
    cols = [t for t in (0.5, 0.75, 0.95) if t in idx]
    rows = []
    for c, v in rep.get("per_class", {}).items():
        pc = a["per_class"].get(c, {})
        rows.append([c, v, *[ap_t.get(c, [None] * len(thr))[idx[t]] for t in cols], pc.get("gt"), pc.get("pred"),
                     pc.get("tp"), pc.get("main_error", "-")])
    out.append(("per-class", "Per class", section(
        "per-class", "Per-class AP (official)", table(
            ["class", "average AP", *[f"AP@{t:g}" for t in cols], "GT", "predictions",
             f"TP@{a['counts']['middle_tiou']:g}", "main FP type"], rows, id="per-class", filter_box=True),
        note="Click a column header to sort. AP columns are the metric's own; counts and the main false-positive "
             f"type are diagnostics at tIoU {a['counts']['middle_tiou']:g}.")))

    comp = a["fp_composition_top_g"]
    groups = [f"{k + 1}G" for k in range(len(next(iter(comp.values()))))]
    bars = plots.stacked_bars(groups, comp, title="Top-kG predictions by outcome", ylabel="fraction")
    gain = a["removal_gain"]
    gain_fig = plots.bar_chart(list(gain), list(gain.values()), title="average-mAP gain if removed",
                               ylabel="Δ average mAP", color="#c0392b",
                               annotate=[f"+{v:.3f}" for v in gain.values()], rotate=True)
    fp_rows = [[k, v, gain[k]] for k, v in a["fp_counts_top10g"].items()]
    conf_rows = [[p["predicted"], p["actual"], p["count"]] for p in a["confused_pairs"]]
    out.append(("false-positives", "False positives", section(
        "false-positives", "False-positive analysis", figs(fig(bars, "FP composition"), fig(gain_fig, "FP gain")),
        table(["FP type", "count in top-10G", "average-mAP gain if removed"], fp_rows, id="fp-types"),
        "<h3>Most confused class pairs</h3>",
        table(["predicted", "actual GT class", "count"], conf_rows, id="confused-pairs"),
        note=FP_NOTE + " G is the number of GT segments; kG are the k·G highest-scored predictions.")))

    fn = a["false_negatives"]
    fn_figs = [fig(plots.bar_chart(list(b), [x["rate"] for x in b.values()], title=f"missed GT by {name}",
                                   ylabel="false-negative rate", color="#e67e22",
                                   annotate=[f"n={x['n']}" for x in b.values()], rotate=True), f"FN by {name}")
               for name, b in fn.items()]
    out.append(("false-negatives", "False negatives", section(
        "false-negatives", "False-negative analysis", figs(*fn_figs),
        note="Fraction of GT segments no prediction matched, averaged over the tIoU thresholds, by segment "
             "length (seconds), coverage (length / video duration) and instances of its class in its video "
             "(DETAD bins).")))

    cases = []
    for w in a["worst"]:
        tl = plots.timeline_svg(w["duration"], w["gt"], w["pred"],
                                f"{w['video']}: {w['missed']} of {w['gt_count']} GT missed")
        cases.append(f'<div class="case">{tl}{thumbs.get(w["video"], "")}</div>')
    out.append(("worst", "Worst videos", section(
        "worst", "Worst videos", "".join(cases) or "<p>none</p>",
        note="Videos with the most missed GT segments. Top lane: GT (hatched = missed); below: the 12 "
             "highest-scored predictions colored by outcome.")))
    return out

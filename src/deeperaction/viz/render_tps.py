"""HTML sections of the Kinetics-TPS report: Score curve, PSC, stage losses, parts, states, worst videos."""
from __future__ import annotations

import numpy as np

from deeperaction.viz import plots
from deeperaction.viz.html import esc, fig, figs, kpis, section, table

STAGE_NOTE = ("Every GT part ends in one stage, in pipeline order: its <b>human</b> is not matched (IoU &gt; "
              "human IoU, Hungarian matching), no proposal of the part is <b>localized</b> (IoU &ge; part IoU), "
              "no localized proposal has the right <b>state</b>, or it is correct and earns 1/N<sub>p</sub>, "
              "the rest being lost to extra <b>proposals</b>. Part-level averages (the Score averages frames, "
              "then videos).")


def conditioned_curve(psc: list[float], correct: list[int], n: int = 201) -> tuple[list[float], list[float]]:
    """Fraction of videos with a correct action and PSC >= t, for t on [0, 1] (its area is the Score)."""
    p = np.asarray(psc, dtype=float)
    ok = np.sort(p[np.asarray(correct, dtype=bool)])
    t = np.linspace(0, 1, n)
    acc = (len(ok) - np.searchsorted(ok, t, side="left")) / max(len(p), 1)
    return t.tolist(), acc.tolist()


def sections_tps(rep: dict, data: dict, thumbs: dict[str, str]) -> list[tuple[str, str, str]]:
    a = data["analysis"]
    counts = rep.get("counts", {})
    psc = rep.get("per_video", {})
    vc = rep.get("video_correct", {})
    vids = list(psc)
    rates = a["rates"]
    n_v = counts.get("videos") or len(vids)
    out = [("summary", "Summary", section("summary", "Summary", kpis([
        (rep["headline"]["name"], rep["headline"]["value"]),
        ("action accuracy", counts.get("videos_action_correct", 0) / n_v if n_v else None),
        ("mean PSC", float(np.mean([psc[v] for v in vids])) if vids else None),
        ("human match rate", rates["human_match_rate"]), ("part localization rate", rates["part_localization_rate"]),
        ("state accuracy (localized)", rates["state_accuracy_given_localized"])])))]

    t, acc = conditioned_curve([psc[v] for v in vids], [vc.get(v, 0) for v in vids])
    off = rep.get("conditioned_acc", {})
    curve = plots.line_plot(t, {"correct action and PSC ≥ t": acc}, xlabel="PSC threshold t",
                            ylabel="fraction of videos", title="Conditioned accuracy (area = Score)",
                            fill="correct action and PSC ≥ t", step=True)
    hist = plots.histogram([psc[v] for v in vids], title="Per-video PSC", xlabel="PSC")
    out.append(("score", "Score curve", section(
        "score", "Conditioned accuracy over the PSC threshold", figs(fig(curve, "conditioned accuracy"),
                                                                     fig(hist, "PSC histogram")),
        table(["t", "conditioned accuracy"], [[k, v] for k, v in off.items()], id="per-threshold"),
        note="The official Score is the area under this curve (sum over t = 1/10000 .. 9999/10000). The table "
             "holds the official conditioned accuracies.")))

    ov = a["overall"]
    stages = ["earned"] + a["stages"]
    per_part = a["per_part"]
    groups = ["all"] + list(per_part)
    parts = {s: [ov[s] or 0] + [per_part[p][s] or 0 for p in per_part] for s in stages}
    bar = plots.stacked_bars(groups, parts, title="Where the points go (fraction of GT parts)", ylabel="fraction",
                             horizontal=True)
    out.append(("stages", "Stage losses", section("stages", "Which stage loses the points", figs(fig(bar, "stages")),
                                                  table(["stage", "fraction of GT parts"],
                                                        [[s, ov[s]] for s in stages], id="stage-table"),
                                                  note=STAGE_NOTE)))

    rows = [[p, v, *[per_part.get(p, {}).get(s) for s in ["parts"] + stages]] for p, v in rep.get("per_class", {}).items()]
    st_rows = [[s, x["gt"], x["localized"], x["accuracy"]] for s, x in a["per_state"].items()]
    out.append(("per-part", "Parts & states", section(
        "per-part", "Per-part accuracy and per-state accuracy",
        table(["part", "accuracy (metric)", "GT parts", *stages], rows, id="per-class"),
        "<h3>Per state (localized parts)</h3>",
        table(["state", "GT parts", "localized", "state accuracy"], st_rows, id="per-state", filter_box=True),
        note="Accuracy per part is the metric's (mean credit of its GT parts in countable frames).")))

    mats = {p: (m["labels"], m["matrix"]) for p, m in a["confusion"].items()}
    if mats:
        grid = plots.confusion_grid(mats, "State confusion per part (localized parts, row-normalized)")
        out.append(("confusion", "Confusions", section("confusion", "State confusion matrices", figs(fig(grid, "conf")),
                                                      note="Predicted state = state of the best-IoU localized "
                                                           "proposal; the most frequent states, others pooled.")))
    sweep = rep.get("sweep")
    if sweep:
        his = sorted({r["human_iou"] for r in sweep})
        pis = sorted({r["part_iou"] for r in sweep})
        sc = {(r["human_iou"], r["part_iou"]): r["score"] for r in sweep}
        out.append(("sweep", "IoU sweep", section(
            "sweep", "Score over human / part IoU thresholds (official sweep)",
            table(["human IoU \\ part IoU", *[f"{p:g}" for p in pis]],
                  [[f"{h:g}", *[sc.get((h, p)) for p in pis]] for h in his], id="sweep", sortable=False))))

    pv = a["per_video_stages"]
    worst = sorted(vids, key=lambda v: (vc.get(v, 0), psc[v]))[:15]
    w_rows = [[v, psc[v], "yes" if vc.get(v) else "no", *[pv.get(v, {}).get(s) for s in stages]] for v in worst]
    cases = "".join(f'<div class="case"><b>{esc(v)}</b>{thumbs[v]}</div>' for v in worst if v in thumbs)
    out.append(("worst", "Worst videos", section(
        "worst", "Worst videos", table(["video", "PSC (metric)", "action correct", *stages], w_rows, id="worst-videos"),
        cases, note="Wrong action first, then lowest PSC. Thumbnails (with --videos) show the worst annotated frame: "
                    "GT green, predictions red.")))
    return out

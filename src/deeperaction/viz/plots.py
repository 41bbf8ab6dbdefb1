"""matplotlib figures for the evaluation reports, returned as PNG data URIs (self-contained HTML).

Every function takes plain lists/dicts (what ``build_report_data`` stores in JSON) so that a report
can be rebuilt from a results file without the inputs. The Agg backend is used; nothing is shown.
"""
from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PALETTE = ("#2b7a3d", "#c0392b", "#e67e22", "#8e44ad", "#2980b9", "#7f8c8d", "#16a085", "#d35400",
           "#34495e", "#b7950b")
TYPE_COLORS = {"true positive": "#2b7a3d", "double detection": "#8e44ad", "wrong label": "#c0392b",
               "localization": "#e67e22", "confusion": "#f1c40f", "background": "#7f8c8d"}


def to_data_uri(fig) -> str:
    """Render and close ``fig``; return a ``data:image/png;base64,...`` URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _fig(w: float = 6.0, h: float = 3.6):
    fig, ax = plt.subplots(figsize=(w, h))
    ax.grid(True, alpha=0.3)
    return fig, ax


def line_plot(x: Sequence[float], series: Mapping[str, Sequence[float | None]], *, xlabel: str, ylabel: str,
              title: str, fill: str | None = None, step: bool = False) -> str:
    """Lines over a common x (None values are gaps); ``fill`` names a series whose area is shaded."""
    fig, ax = _fig()
    for i, (name, ys) in enumerate(series.items()):
        y = np.array([np.nan if v is None else v for v in ys], dtype=float)
        kw = dict(color=PALETTE[i % len(PALETTE)], label=name)
        if step:
            ax.step(x, y, where="post", **kw)
        else:
            ax.plot(x, y, marker="o", ms=3, **kw)
        if fill == name:
            ax.fill_between(x, y, step="post" if step else None, alpha=0.2, color=kw["color"])
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if len(series) > 1:
        ax.legend(fontsize=8)
    return to_data_uri(fig)


def pr_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str, max_lines: int = 10) -> str:
    """Precision-recall curves of up to ``max_lines`` classes (given in the order to draw)."""
    fig, ax = _fig(6.0, 4.2)
    for i, (name, (r, p)) in enumerate(list(curves.items())[:max_lines]):
        ax.plot(r, p, color=PALETTE[i % len(PALETTE)], label=name[:32], lw=1.4)
    ax.set(xlabel="recall", ylabel="precision", title=title, xlim=(0, 1.01), ylim=(0, 1.02))
    if curves:
        ax.legend(fontsize=7, loc="lower left")
    return to_data_uri(fig)


def stacked_bars(groups: Sequence[str], parts: Mapping[str, Sequence[float]], *, title: str, ylabel: str,
                 horizontal: bool = False) -> str:
    """One bar per group, stacked by part (colors by error type where the name is one)."""
    fig, ax = _fig(6.4, 3.8)
    bottom = np.zeros(len(groups))
    for i, (name, vals) in enumerate(parts.items()):
        v = np.asarray(vals, dtype=float)
        color = TYPE_COLORS.get(name, PALETTE[i % len(PALETTE)])
        if horizontal:
            ax.barh(groups, v, left=bottom, color=color, label=name)
        else:
            ax.bar(groups, v, bottom=bottom, color=color, label=name)
        bottom += v
    ax.set(title=title, **({"xlabel": ylabel} if horizontal else {"ylabel": ylabel}))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if not horizontal:
        ax.tick_params(axis="x", labelsize=8)
    return to_data_uri(fig)


def bar_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str, ylabel: str,
              color: str = "#2980b9", annotate: Sequence[str] | None = None, rotate: bool = False) -> str:
    """Simple bars (None drawn as 0), optional text above each bar."""
    fig, ax = _fig(max(4.0, min(12.0, 0.45 * len(labels) + 2)), 3.4)
    v = [0.0 if x is None else float(x) for x in values]
    bars = ax.bar(range(len(v)), v, color=color)
    ax.set_xticks(range(len(v)), labels, rotation=45 if rotate else 0, ha="right" if rotate else "center",
                  fontsize=8)
    if annotate:
        for b, t in zip(bars, annotate):
            ax.annotate(t, (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom", fontsize=7)
    ax.set(title=title, ylabel=ylabel)
    return to_data_uri(fig)


def histogram(values: Sequence[float], *, bins: int = 20, title: str, xlabel: str, rng=(0.0, 1.0)) -> str:
    """Histogram of values (e.g. per-video PSC)."""
    fig, ax = _fig(5.6, 3.2)
    ax.hist(np.asarray(values, dtype=float), bins=bins, range=rng, color="#2980b9", edgecolor="white")
    ax.set(title=title, xlabel=xlabel, ylabel="videos")
    return to_data_uri(fig)


def confusion_grid(mats: Mapping[str, tuple[Sequence[str], Sequence[Sequence[float]]]], title: str,
                   cols: int = 5) -> str:
    """Small multiples of row-normalized confusion matrices (rows: GT state, columns: predicted)."""
    n = max(len(mats), 1)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, (name, (labels, m)) in zip(axes.ravel(), mats.items()):
        a = np.asarray(m, dtype=float)
        norm = a / np.maximum(a.sum(axis=1, keepdims=True), 1)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
        ticks = range(len(labels))
        short = [s[:8] for s in labels]
        ax.set_xticks(ticks, short, rotation=90, fontsize=6)
        ax.set_yticks(ticks, short, fontsize=6)
    fig.suptitle(title)
    fig.supxlabel("predicted state", fontsize=9)
    fig.supylabel("ground-truth state", fontsize=9)
    fig.tight_layout()
    return to_data_uri(fig)


def timeline(duration: float | None, gt: Sequence[Sequence], pred: Sequence[Sequence], title: str) -> str:
    """GT segments (top lane; hatched when missed) and predictions (lanes below, colored by error type)."""
    fig, ax = plt.subplots(figsize=(7.5, 0.6 + 0.28 * (len(pred) + 2)))
    end = duration or max([s[1] for s in gt] + [s[1] for s in pred] + [1.0])
    for s, e, label, hit in gt:
        ax.barh(0, e - s, left=s, height=0.8, color="#2b7a3d" if hit else "white", edgecolor="#2b7a3d",
                hatch=None if hit else "//")
        ax.text(s, -0.5, label[:18], fontsize=6, va="bottom")
    for i, (s, e, label, score, kind) in enumerate(pred, start=1):
        ax.barh(i + 0.4, e - s, left=s, height=0.7, color=TYPE_COLORS.get(kind, "#999"))
        ax.text(e, i + 0.4, f" {label[:18]} {score:.2f}", fontsize=6, va="center")
    ax.set_yticks([0] + [i + 0.4 for i in range(1, len(pred) + 1)], ["GT"] + [f"#{i}" for i in range(1, len(pred) + 1)],
                  fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, end * 1.15)
    ax.set(xlabel="seconds", title=title)
    ax.grid(True, axis="x", alpha=0.3)
    return to_data_uri(fig)

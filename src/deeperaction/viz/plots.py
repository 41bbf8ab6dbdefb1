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
    fig.savefig(buf, format="png", dpi=80)  # no bbox_inches="tight": it draws the figure twice
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _fig(w: float = 6.0, h: float = 3.6, right: float = 0.97, bottom: float = 0.15):
    fig, ax = plt.subplots(figsize=(w, h))
    fig.subplots_adjust(left=0.11, right=right, top=0.9, bottom=bottom)
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
    fig, ax = _fig(7.0, 3.8, right=0.76, bottom=0.12)
    if horizontal:
        fig.subplots_adjust(left=0.16)
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
    fig, ax = _fig(max(4.0, min(12.0, 0.45 * len(labels) + 2)), 3.4, bottom=0.3 if rotate else 0.15)
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


def timeline_svg(duration: float | None, gt: Sequence[Sequence], pred: Sequence[Sequence], title: str,
                 width: int = 720) -> str:
    """Inline SVG: GT segments (top lane; hatched outline when missed) and predictions (one lane each,
    colored by outcome). Pure markup: cheap to make and crisp at any zoom."""
    from html import escape
    end = float(duration or max([s[1] for s in gt] + [s[1] for s in pred] + [1.0]))
    lane, left, right = 16, 40, 190
    w = width - left - right
    x = lambda t: left + w * max(0.0, min(float(t), end)) / end  # noqa: E731
    h = lane * (len(pred) + 2) + 24
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" font-size="10" '
           f'font-family="sans-serif"><title>{escape(title)}</title>',
           f'<text x="0" y="11" font-weight="bold">{escape(title)}</text>',
           f'<text x="2" y="{20 + lane * 0.7:.0f}">GT</text>']
    for s, e, label, hit in gt:
        out.append(f'<rect x="{x(s):.1f}" y="20" width="{max(x(e) - x(s), 1):.1f}" height="{lane - 3}" '
                   f'fill="{"#2b7a3d" if hit else "#fff"}" stroke="#2b7a3d" stroke-dasharray="{"" if hit else "3,2"}">'
                   f'<title>{escape(label)} {s:.2f}-{e:.2f}s{"" if hit else " (missed)"}</title></rect>')
    for i, (s, e, label, score, kind) in enumerate(pred, start=1):
        y = 20 + lane * i
        out.append(f'<text x="2" y="{y + lane * 0.7:.0f}">#{i}</text>'
                   f'<rect x="{x(s):.1f}" y="{y}" width="{max(x(e) - x(s), 1):.1f}" height="{lane - 3}" '
                   f'fill="{TYPE_COLORS.get(kind, "#999")}"><title>{escape(label)} {score:.3f} {s:.2f}-{e:.2f}s: '
                   f'{escape(kind)}</title></rect>'
                   f'<text x="{left + w + 4}" y="{y + lane * 0.7:.0f}">{escape(label[:16])} {score:.2f} '
                   f'{escape(kind)}</text>')
    ya = 20 + lane * (len(pred) + 1) + 10
    out.append(f'<line x1="{left}" x2="{left + w}" y1="{ya - 8}" y2="{ya - 8}" stroke="#888"/>'
               f'<text x="{left}" y="{ya + 2}">0 s</text><text x="{left + w - 30}" y="{ya + 2}">{end:.1f} s</text>')
    out.append("</svg>")
    return "".join(out)

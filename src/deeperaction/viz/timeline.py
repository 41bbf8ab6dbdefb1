"""Timelines of detections: one row per track (or per class), coloured spans where an action runs."""
from __future__ import annotations

from pathlib import Path


from deeperaction.schema import Tube, VideoParse


def write_timeline(path: str | Path, tubes: list[tuple[int, Tube]], parse: VideoParse, classes: list[str]) -> Path:
    """A PNG with one row per track of ``parse``: grey where the track is seen, coloured spans of its tubes
    (colour by action, the label written on spans wide enough)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tracks = sorted({p.track_id for fp in parse.frames for p in fp.persons})
    span = {tid: [fp.frame for fp in parse.frames if any(p.track_id == tid for p in fp.persons)] for tid in tracks}
    labels = [c for c in classes if c != "none"]
    cmap = plt.get_cmap("tab20")
    fps = parse.fps or 25.0
    fig, ax = plt.subplots(figsize=(10, 0.45 * max(3, len(tracks)) + 1.0), dpi=110)
    row = {tid: k for k, tid in enumerate(tracks)}
    for tid in tracks:
        f = span[tid]
        ax.barh(row[tid], (f[-1] - f[0] + 1) / fps, left=f[0] / fps, height=0.5, color="#dddddd")
    used = set()
    for tid, t in tubes:
        c = labels.index(t.label) if t.label in labels else 0
        x0, x1 = t.frames[0] / fps, (t.frames[-1] + 1) / fps
        ax.barh(row.get(tid, 0), x1 - x0, left=x0, height=0.7, color=cmap(c % 20),
                label=t.label if t.label not in used else None)
        used.add(t.label)
        if x1 - x0 > 0.06 * max(1.0, ax.get_xlim()[1]):
            ax.text((x0 + x1) / 2, row.get(tid, 0), t.label, ha="center", va="center", fontsize=7)
    ax.set_yticks(range(len(tracks)), [f"#{t}" for t in tracks])
    ax.set_xlabel("seconds")
    ax.set_title(f"{parse.video_id}: action tubes per track")
    if used:
        ax.legend(loc="upper right", fontsize=7, ncol=min(4, len(used)))
    ax.invert_yaxis()
    return _save(fig, path)


def write_segment_timeline(path: str | Path, video_id: str, duration: float,
                           segments: list[tuple[float, float, str, float]], *,
                           gt: list[tuple[float, float, str]] | None = None, min_score: float = 0.1,
                           top: int = 30) -> Path:
    """A PNG of temporal segments: one row per class that has any, predicted spans (the ``top`` best above
    ``min_score``, opacity by score, score written on wide ones) and, with ``gt``, the ground truth in a thin
    bar beneath each row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = sorted((s for s in segments if s[3] >= min_score), key=lambda s: -s[3])[:top]
    classes = sorted({s[2] for s in shown} | {g[2] for g in (gt or [])})
    cmap = plt.get_cmap("tab20")
    fig, ax = plt.subplots(figsize=(10, 0.5 * max(3, len(classes)) + 1.0), dpi=110)
    row = {c: k for k, c in enumerate(classes)}
    for s0, s1, label, score in sorted(shown, key=lambda s: s[3]):
        ax.barh(row[label] - 0.1, s1 - s0, left=s0, height=0.5, color=cmap(row[label] % 20),
                alpha=0.25 + 0.75 * min(1.0, score), edgecolor="black", linewidth=0.4)
        if s1 - s0 > 0.05 * max(duration, 1.0):
            ax.text((s0 + s1) / 2, row[label] - 0.1, f"{score:.2f}", ha="center", va="center", fontsize=7)
    for g0, g1, label in gt or []:
        ax.barh(row[label] + 0.3, g1 - g0, left=g0, height=0.15, color="black")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlim(0, max(duration, 1e-3))
    ax.set_xlabel("seconds")
    ax.set_title(f"{video_id}: predicted segments" + (" (black: ground truth)" if gt else ""))
    ax.invert_yaxis()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    """Write a figure as PNG (its folder made) and free it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)

"""Draw action tubes over a video: each person's box while one of their tubes runs, coloured by the action,
with the label, the tube's score and the track id; people without a tube in grey."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from deeperaction.schema import Tube, VideoParse
from deeperaction.video.reader import iter_frames, probe
from deeperaction.video.render import _label, track_color
from deeperaction.video.writer import VideoWriter


def action_color(label: str, labels: list[str]) -> tuple[int, int, int]:
    """A distinct RGB colour per action (its place in ``labels``)."""
    return track_color(labels.index(label) + 1 if label in labels else 0)


def render_tubes(video: str | Path, tubes: list[tuple[int, Tube]], parse: VideoParse, out_path: str | Path, *,
                 stop: int | None = None, timings: dict[str, float] | None = None) -> int:
    """Write ``out_path`` (H.264, the video's size and fps) with the tubes drawn; returns frames written.
    ``timings``: seconds spent decoding, drawing and encoding are added to its ``decode``/``render``/``encode``."""
    info = probe(video)
    n = info.n_frames if stop is None else min(stop, info.n_frames)
    labels = sorted({t.label for _, t in tubes})
    at: dict[int, list[tuple[int, Tube, np.ndarray]]] = {}
    for tid, t in tubes:
        for f, b in zip(t.frames.tolist(), t.boxes):
            at.setdefault(f, []).append((tid, t, b))
    people = {fp.frame: fp.persons for fp in parse.frames}
    written = 0
    scale = max(0.35, min(1.0, info.height / 700))
    thick = max(1, int(round(info.height / 400)))
    t = timings if timings is not None else {}
    for k in ("decode", "render", "encode"):
        t.setdefault(k, 0.0)
    with VideoWriter(out_path, fps=info.fps, size=(info.width, info.height)) as w:
        frames = iter_frames(video, stop=n)
        while True:
            t0 = time.perf_counter()
            item = next(frames, None)
            t1 = time.perf_counter()
            t["decode"] += t1 - t0
            if item is None:
                break
            i, img = item
            busy = {tid for tid, _, _ in at.get(i, [])}
            for p in people.get(i, []):  # parsed people without a tube now: thin grey
                if p.track_id not in busy:
                    x1, y1, x2, y2 = (int(round(v)) for v in p.box)
                    cv2.rectangle(img, (x1, y1), (x2, y2), (150, 150, 150), 1)
            for tid, tube, b in at.get(i, []):
                col = action_color(tube.label, labels)
                x1, y1, x2, y2 = (int(round(v)) for v in b)
                cv2.rectangle(img, (x1, y1), (x2, y2), col, thick + 1)
                _label(img, f"{tube.label} {tube.score:.2f} #{tid}", (x1 + thick, max(y1 - 2, 12)), col, scale)
            t2 = time.perf_counter()
            w.write(img)
            t["render"] += t2 - t1
            t["encode"] += time.perf_counter() - t2
            written += 1
    return written

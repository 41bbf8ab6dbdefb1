"""Draw a part-level parse over video frames: people (box, track id, skeleton), the 10 part boxes coloured
per part with their state, and the video's action; write the MP4 and a contact sheet PNG."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from deeperaction.schema import JOINT_INDEX, PARTS, SKELETON_EDGES, FrameParse, VideoParse
from deeperaction.video.reader import iter_frames
from deeperaction.video.writer import VideoWriter

PART_COLORS: dict[str, tuple[int, int, int]] = {
    "head": (255, 215, 0), "hip": (255, 140, 0), "left_arm": (0, 200, 255), "right_arm": (255, 64, 160),
    "left_hand": (0, 120, 255), "right_hand": (200, 0, 120), "left_leg": (0, 220, 120),
    "right_leg": (170, 110, 255), "left_foot": (0, 150, 60), "right_foot": (120, 60, 200),
}
"""RGB colour of each part's box and label."""
SHORT = {"head": "head", "hip": "hip", "left_arm": "L.arm", "right_arm": "R.arm", "left_hand": "L.hand",
         "right_hand": "R.hand", "left_leg": "L.leg", "right_leg": "R.leg", "left_foot": "L.foot",
         "right_foot": "R.foot"}
_EDGES = np.array([(JOINT_INDEX[a], JOINT_INDEX[b]) for a, b in SKELETON_EDGES])


def track_color(track_id: int) -> tuple[int, int, int]:
    """A stable, distinct RGB colour per track id (golden-ratio hue walk)."""
    hue = int((track_id * 0.618034 % 1.0) * 179)
    hsv = np.uint8([[[hue, 200, 255]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def _label(img: np.ndarray, text: str, org: tuple[int, int], color, scale: float) -> None:
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = org
    y = max(y, th + 2)
    cv2.rectangle(img, (x, y - th - 2), (x + tw + 2, y + base - 1), (0, 0, 0), -1)
    cv2.putText(img, text, (x + 1, y - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)


def draw_frame(img: np.ndarray, fp: FrameParse | None, action: str | None, *, min_conf: float = 0.3,
               show_states: bool = True) -> np.ndarray:
    """Draw one frame's parse onto ``img`` (RGB, modified in place and returned)."""
    h = img.shape[0]
    scale = max(0.35, min(1.0, h / 900))
    thick = max(1, int(round(h / 400)))
    _label(img, f"action: {action or 'unknown'}", (4, int(22 * scale) + 4), (255, 255, 255), scale * 1.2)
    if fp is None:
        return img
    for p in fp.persons:
        col = track_color(max(p.track_id, 0))
        x1, y1, x2, y2 = (int(round(v)) for v in p.box)
        cv2.rectangle(img, (x1, y1), (x2, y2), col, thick)
        top = y1 - 2 if y1 > 40 * scale else y1 + int(16 * scale)
        _label(img, f"#{p.track_id} {p.score:.2f}", (x1 + thick, top), col, scale)
        if p.keypoints is not None:
            kp = p.keypoints
            ok = kp[:, 2] >= min_conf
            for a, b in _EDGES[ok[_EDGES[:, 0]] & ok[_EDGES[:, 1]]]:
                cv2.line(img, tuple(int(v) for v in kp[a, :2]), tuple(int(v) for v in kp[b, :2]), col,
                         thick, cv2.LINE_AA)
        for name in PARTS:
            pd = p.parts.get(name)
            if pd is None or not len(pd.boxes):
                continue
            c = PART_COLORS[name]
            bx = pd.boxes[0].round().astype(int)
            cv2.rectangle(img, (bx[0], bx[1]), (bx[2], bx[3]), c, 1)
            if show_states and pd.states[0] != "none":
                _label(img, f"{SHORT[name]}:{pd.states[0]}", (bx[0], bx[3] + int(12 * scale)), c, scale * 0.8)
    return img


def frame_lookup(parse: VideoParse, n_frames: int) -> list[FrameParse | None]:
    """For every frame, the parsed frame to show: the latest parsed frame at or before it."""
    out: list[FrameParse | None] = [None] * n_frames
    by_frame = sorted(parse.frames, key=lambda f: f.frame)
    k, cur = 0, None
    for i in range(n_frames):
        while k < len(by_frame) and by_frame[k].frame <= i:
            cur = by_frame[k]
            k += 1
        out[i] = cur
    return out


def render_video(video: str | Path, parse: VideoParse, out_path: str | Path, *, stop: int | None = None,
                 sheet_path: str | Path | None = None, sheet_tiles: int = 12,
                 on_frame: Callable[[int], None] | None = None, timings: dict | None = None) -> int:
    """Write ``out_path`` (H.264 MP4, same size and fps as ``video``) with the parse drawn on every frame,
    and a contact sheet PNG of ``sheet_tiles`` evenly spaced rendered frames. Returns frames written."""
    import time

    from deeperaction.video.reader import probe

    info = probe(video)
    n = info.n_frames if stop is None else min(stop, info.n_frames)
    lookup = frame_lookup(parse, n)
    picks = set(np.linspace(0, max(n - 1, 0), min(sheet_tiles, max(n, 1))).round().astype(int).tolist())
    tiles: list[np.ndarray] = []
    t = timings if timings is not None else {}
    written = 0
    with VideoWriter(out_path, fps=info.fps, size=(info.width, info.height)) as w:
        t0 = time.perf_counter()
        for i, rgb in iter_frames(video, stop=n):
            t1 = time.perf_counter()
            t["decode"] = t.get("decode", 0.0) + t1 - t0
            img = draw_frame(rgb, lookup[i] if i < len(lookup) else None, parse.action)
            t2 = time.perf_counter()
            t["render"] = t.get("render", 0.0) + t2 - t1
            w.write(img)
            if i in picks:
                tiles.append(img)
            written += 1
            if on_frame:
                on_frame(i)
            t0 = time.perf_counter()
            t["encode"] = t.get("encode", 0.0) + t0 - t2
    if sheet_path is not None and tiles:
        write_contact_sheet(tiles, sheet_path)
    return written


def write_contact_sheet(tiles: list[np.ndarray], path: str | Path, cols: int = 4, tile_w: int = 480) -> None:
    """Tile RGB frames into one PNG (``cols`` per row, each ``tile_w`` px wide)."""
    h, w = tiles[0].shape[:2]
    tile_w = min(tile_w, w)
    th = max(1, int(round(tile_w * h / w)))
    small = [cv2.resize(t, (tile_w, th), interpolation=cv2.INTER_AREA) for t in tiles]
    rows = -(-len(small) // cols)
    sheet = np.zeros((rows * th, cols * tile_w, 3), np.uint8)
    for k, s in enumerate(small):
        r, c = divmod(k, cols)
        sheet[r * th:(r + 1) * th, c * tile_w:(c + 1) * tile_w] = s
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))

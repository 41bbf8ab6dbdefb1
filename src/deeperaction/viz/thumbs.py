"""Thumbnails of the worst cases with GT (green) and predictions (red) drawn, from a folder of videos.

A video ``ID`` is looked up in ``DIR`` as ``DIR/ID`` (a file or a folder of frames) or ``DIR/ID.<ext>``,
then by its last path component (MultiSports ids are ``sport/name``). Frames are read frame-exactly with
:mod:`deeperaction.video.reader`; a video that is missing or unreadable is skipped (noted in the page).
AVA keyframes: frame = round(timestamp * fps) of the file (AVA clips cut from second 0 of the movie).
"""
from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np

from deeperaction.errors import InputError
from deeperaction.viz.html import esc

EXTS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v")
GT_COLOR, PRED_COLOR = (40, 170, 60), (220, 50, 40)  # RGB
TILE_W = 480


def find_video(videos_dir: Path, video_id: str) -> Path | None:
    """The file or frame folder of ``video_id`` under ``videos_dir``, or None."""
    for name in dict.fromkeys((video_id, video_id.split("/")[-1])):
        p = videos_dir / name
        if p.exists():
            return p
        for ext in EXTS:
            if (videos_dir / (name + ext)).is_file():
                return videos_dir / (name + ext)
    return None


def _jpeg_uri(rgb: np.ndarray) -> str:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii") if ok else ""


def draw_boxes(rgb: np.ndarray, gt: list, pred: list, normalized: bool = False) -> np.ndarray:
    """Draw ``[x1, y1, x2, y2, label, ...]`` boxes (GT green, predictions red), then scale to TILE_W."""
    img = np.ascontiguousarray(rgb.copy())
    h, w = img.shape[:2]
    s = np.array([w, h, w, h], dtype=float) if normalized else np.ones(4)
    thick = max(1, round(w / 400))
    for boxes, color, dy in ((gt, GT_COLOR, -4), (pred, PRED_COLOR, 14)):
        for b in boxes:
            x1, y1, x2, y2 = (np.asarray(b[:4], dtype=float) * s).round().astype(int).tolist()
            cv2.rectangle(img, (x1, y1), (x2, y2), color, thick)
            text = str(b[4])[:28] + (f" {b[5]:.2f}" if len(b) > 5 and isinstance(b[5], float) else "")
            cv2.putText(img, text, (x1 + 2, max(10, y1 + dy)), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, color, thick,
                        cv2.LINE_AA)
    scale = TILE_W / w
    return cv2.resize(img, (TILE_W, max(1, round(h * scale))), interpolation=cv2.INTER_AREA) if w > TILE_W else img


def _read(path: Path, frames: list[int]) -> np.ndarray | None:
    from deeperaction.video.reader import read_frames
    try:
        return read_frames(path, [max(0, int(f)) for f in frames])
    except (InputError, OSError, ValueError):
        return None


def _fps(path: Path) -> float:
    from deeperaction.video.reader import probe
    try:
        return float(probe(path).fps) or 25.0
    except (InputError, OSError, ValueError, AttributeError):
        return 25.0


def _img(uri: str, alt: str) -> str:
    return f'<br><img src="{uri}" alt="{esc(alt)}">' if uri else ""


def make_thumbs(task: str, analysis: dict, videos_dir: Path) -> dict[str, str]:
    """HTML snippets keyed as the renderers look them up (video id, or ``video@frame|timestamp``)."""
    out: dict[str, str] = {}
    if task == "tal":
        for w in analysis.get("worst", []):
            path = find_video(videos_dir, w["video"])
            if path is None:
                continue
            fps = _fps(path)
            miss = [g for g in w["gt"] if not g[3]][:4] or w["gt"][:4]
            frames = _read(path, [round((g[0] + g[1]) / 2 * fps) for g in miss])
            if frames is None:
                continue
            tiles = [cv2.resize(f, (240, max(1, round(f.shape[0] * 240 / f.shape[1])))) for f in frames]
            for t, g in zip(tiles, miss):
                cv2.putText(t, f"{g[2][:22]} @{(g[0] + g[1]) / 2:.1f}s", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                            GT_COLOR, 1, cv2.LINE_AA)
            out[w["video"]] = _img(_jpeg_uri(np.concatenate(tiles, axis=1)), w["video"])
    elif task in ("multisports", "ava"):
        level = analysis.get("video") or analysis.get("frame") or {}
        for w in level.get("worst", []):
            path = find_video(videos_dir, w["video"])
            if path is None:
                continue
            frame = w["frame"] if "frame" in w else round(w["timestamp"] * _fps(path))
            img = _read(path, [frame])
            if img is None:
                continue
            key = f"{w['video']}@{w.get('frame', w.get('timestamp'))}"
            out[key] = _img(_jpeg_uri(draw_boxes(img[0], w["gt"], w["pred"], bool(w.get("normalized")))), key)
    else:
        for w in analysis.get("worst_frames", []):
            path = find_video(videos_dir, w["video"])
            img = _read(path, [w["frame"]]) if path is not None else None
            if img is None:
                continue
            out[w["video"]] = _img(_jpeg_uri(draw_boxes(img[0], w["gt"], w["pred"])), w["video"]) + \
                f'<br>frame {w["frame"] + 1}: GT action {esc(w["action_gt"])}, predicted {esc(w["action_pred"])}'
    return out

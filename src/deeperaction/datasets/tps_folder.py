"""A Kinetics-TPS folder as training items: ``gt_vid_result.json`` ({video: action}) beside the videos (files
or frame folders), optional keypoint sequences, and its split into training and held-out videos (shared by
every model family's datasets).

Where a video may be, for ``ROOT`` and video id ``V`` (first match wins): ``V.EXT`` or a frame folder
``V/`` (``img_00001.jpg`` ...) in ``ROOT/videos``, ``ROOT/frames``, ``ROOT``, the ``videos/`` folder of
up to three parents of ``ROOT`` (the synthetic generator's ``OUT/annotations/tps/train`` next to
``OUT/videos``), or a sub-folder of ``ROOT`` (class folders). Keypoints, first found:
``ROOT/keypoints/V.npy`` ``(T, M, J, 3)`` (or ``(T, J, 3)``) pixel ``x, y, confidence`` of the canonical
20-joint skeleton, or ``labels/V.npz`` / ``keypoints/V.npz`` beside the video folder holding ``keypoints``
``(M, T, J, 3)`` (what ``deeperaction synth`` writes).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deeperaction.datasets.clips import VideoItem
from deeperaction.errors import InputError, ProblemList
from deeperaction.formats.jsonio import load_json
from deeperaction.schema import JOINTS

VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v")
FRAME_EXTS = (".jpg", ".jpeg", ".png")


def read_actions(root: str | Path) -> dict[str, str]:
    """``{video: action}`` from ``ROOT/gt_vid_result.json`` (or the file itself), checked."""
    path = Path(root)
    path = path / "gt_vid_result.json" if path.is_dir() else path
    if not path.is_file():
        raise InputError("no such file (expected the Kinetics-TPS gt_vid_result.json)", file=path)
    obj = load_json(path)
    if not isinstance(obj, dict) or not obj:
        raise InputError("expected a non-empty object {video: action}", file=path)
    problems = ProblemList(path)
    for vid, action in obj.items():
        if not isinstance(action, str) or not action:
            problems.add(f"action must be a non-empty string, got {action!r}", video=vid)
    problems.raise_if_any()
    return obj


def _video_dirs(root: Path) -> list[Path]:
    dirs = [root / "videos", root / "frames", root] + [root.parents[i] / "videos" for i in range(min(3, len(root.parents)))]
    return [d for d in dirs if d.is_dir()] + sorted(p for p in root.iterdir() if p.is_dir() and p not in dirs)


def find_video(root: str | Path, video_id: str, dirs: list[Path] | None = None) -> Path | None:
    """The file or frame folder of ``video_id`` under ``root`` (see the module doc), or None."""
    for d in dirs if dirs is not None else _video_dirs(Path(root)):
        for ext in VIDEO_EXTS:
            if (d / (video_id + ext)).is_file():
                return d / (video_id + ext)
        folder = d / video_id
        if folder.is_dir() and any(p.suffix.lower() in FRAME_EXTS for p in folder.iterdir()):
            return folder
    return None


def tps_items(root: str | Path, classes: list[str] | None = None) -> tuple[list[VideoItem], list[str]]:
    """Labelled videos of a TPS folder and the class list (sorted actions, unless ``classes`` is given, as
    for a validation set that must use the training classes). Every missing video is reported at once."""
    root = Path(root)
    actions = read_actions(root)
    classes = classes if classes is not None else sorted(set(actions.values()))
    index = {c: i for i, c in enumerate(classes)}
    dirs = _video_dirs(root)
    problems = ProblemList(root / "gt_vid_result.json")
    items = []
    for vid, action in actions.items():
        path = find_video(root, vid, dirs)
        if path is None:
            problems.add(f"no video file or frame folder found under {root}", video=vid)
        elif action not in index:
            problems.add(f"action {action!r} is not one of the {len(classes)} training classes", video=vid)
        else:
            items.append(VideoItem(vid, str(path), index[action]))
    problems.raise_if_any()
    return items, classes


def split_items(items: list[VideoItem], fraction: float, seed: int = 0) -> tuple[list[VideoItem], list[VideoItem]]:
    """Stratified hold-out: about ``fraction`` of each class (at least one where it has two or more)."""
    rng = np.random.default_rng(seed)
    labels = np.array([it.label for it in items])
    held = np.zeros(len(items), bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = int(round(fraction * len(idx))) if len(idx) > 1 else 0
        held[rng.permutation(idx)[:max(k, 1 if len(idx) > 1 and fraction > 0 else 0)]] = True
    return [it for it, h in zip(items, held) if not h], [it for it, h in zip(items, held) if h]


def read_keypoints(root: str | Path, item: VideoItem) -> np.ndarray:
    """``(T, M, J, 3)`` keypoints of a video, from the first file found (see the module doc)."""
    vid, base = item.video_id, Path(item.path).parent.parent
    candidates = [Path(root) / "keypoints" / f"{vid}.npy", Path(root) / "keypoints" / f"{vid}.npz",
                  base / "keypoints" / f"{vid}.npy", base / "labels" / f"{vid}.npz", base / "keypoints" / f"{vid}.npz"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise InputError(f"no keypoint file (the skeleton model needs {candidates[0]} or {candidates[3]})",
                         video=vid)
    if path.suffix == ".npz":
        with np.load(path) as z:
            if "keypoints" not in z:
                raise InputError("no 'keypoints' array", file=path, video=vid)
            kp = z["keypoints"]
        kp = kp.transpose(1, 0, 2, 3) if kp.ndim == 4 else kp  # (M, T, J, 3) -> (T, M, J, 3)
    else:
        kp = np.load(path)
    kp = kp[:, None] if kp.ndim == 3 else kp
    if kp.ndim != 4 or kp.shape[2:] != (len(JOINTS), 3) or kp.shape[0] == 0:
        raise InputError(f"expected keypoints of shape (T, M, {len(JOINTS)}, 3), got {kp.shape}", file=path,
                         video=vid)
    if kp.shape[1] == 0:  # nobody in the video: one absent person
        kp = np.zeros((kp.shape[0], 1, len(JOINTS), 3), np.float32)
    return kp.astype(np.float32)


@dataclass
class Split:
    """Training and held-out videos of a config's ``data`` section, the held-out folder and the class list."""

    train: list[VideoItem]
    val: list[VideoItem]
    val_root: str
    classes: list[str]


def train_val_split(data: dict, seed: int, *, needs: str = "videos", val_classes: str = "train") -> Split:
    """``data.val_root`` when set, else a stratified ``data.val_fraction`` of ``data.root`` (``seed``).

    needs: what the folder must hold (for the error when ``root`` is unset). val_classes: ``train`` (held-out
    videos labelled with the training classes; an action outside them is an error) or ``own`` (any actions:
    for models that do not predict the action).
    """
    if not data["root"]:
        raise InputError(f"set data.root to a Kinetics-TPS folder (gt_vid_result.json + {needs})", field="data.root")
    items, classes = tps_items(data["root"])
    if data["val_root"]:
        val, _ = tps_items(data["val_root"], classes if val_classes == "train" else None)
        return Split(items, val, data["val_root"], classes)
    train, val = split_items(items, data["val_fraction"], seed)
    return Split(train, val, data["root"], classes)

"""Temporal features for ``localize`` and ``features``: rows every few frames of a whole video, with the sidecar
that says how they were made (:mod:`deeperaction.formats.features`).

Two kinds. **Skeleton** (the offline default): the people and tracks of ``parse``, each track's keypoints cut
into windows of the shipped skeleton action model, and per row the pooled embedding and class probabilities
of the most active person (the one least likely idle). **Video**: a torchvision video backbone's clip features
over sliding windows of frames (window, stride, fps and size configurable; batched; CPU or GPU).
"""
from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import torch

from deeperaction.datasets.transforms import normalize_skeletons
from deeperaction.errors import InputError
from deeperaction.formats.features import FeatureMeta
from deeperaction.schema import VideoParse
from deeperaction.tasks.action_predictors import NONE, ActionPredictor, track_sequences

SKELETON_STRIDE = 8
"""Rows of skeleton features every 8 frames at the action model's 25 fps: 0.32 s."""


def skeleton_meta(predictor: ActionPredictor, *, stride: int = SKELETON_STRIDE, frames: int = 0,
                  duration: float = 0.0) -> FeatureMeta:
    """The sidecar of skeleton features made with ``predictor`` (embedding, probabilities, presence)."""
    width = predictor.net.fc.in_features
    return FeatureMeta(fps=float(predictor.fps), window=int(predictor.cfg["data"]["clip_len"]), stride=stride,
                       backbone="skeleton", dim=width + len(predictor.classes) + 1, frames=frames,
                       duration=duration, extra={"classes": list(predictor.classes)})


@torch.no_grad()
def skeleton_features(parse: VideoParse, predictor: ActionPredictor, *, duration: float,
                      stride: int = SKELETON_STRIDE, batch: int = 512) -> tuple[np.ndarray, FeatureMeta]:
    """``(feats (T, D), meta)`` of a parse covering ``duration`` seconds.

    Row ``i`` covers frames ``[i * stride, i * stride + window)`` at the model's frame rate. A track takes part
    in a row when it covers at least half of the row's window (its ends repeated to fill it). Each row holds
    the embedding and probabilities of the track least likely idle (``none``), and the share of people present
    (0, 0.5, 1 for none, one, two or more). A row without people: zero embedding, all probability on ``none``.
    A video shorter than one window gives one row.
    """
    if not predictor.per_track:
        raise InputError("skeleton features need a skeleton action model that names its frame rate "
                         "(the shipped one)", field="--action-model")
    fps, window = float(predictor.fps), int(predictor.cfg["data"]["clip_len"])
    n_grid = int(np.floor(duration * fps + 1e-6))
    rows = max(1, (n_grid - window) // stride + 1)
    src_fps = parse.fps or fps
    first: dict[int, int] = {}
    for fp in parse.frames:
        for p in fp.persons:
            if p.keypoints is not None:
                first.setdefault(p.track_id, fp.frame)
    windows, owners = [], []  # owners: (row, track)
    for tid, seq in track_sequences(parse, fps).items():
        n = len(seq)
        g0 = first[tid] / src_fps * fps
        need = min(window, n) / 2
        for i in range(rows):
            s = int(round(i * stride - g0))
            if min(s + window, n) - max(s, 0) < need:
                continue
            idx = np.clip(np.arange(s, s + window), 0, n - 1)
            windows.append(normalize_skeletons(seq[idx][None]))
            owners.append((i, tid))
    classes = list(predictor.classes)
    width = predictor.net.fc.in_features
    none = classes.index(NONE) if NONE in classes else None
    feats = np.zeros((rows, width + len(classes) + 1), np.float32)
    if none is not None:
        feats[:, width + none] = 1.0
    if not windows:
        return feats, skeleton_meta(predictor, stride=stride, frames=n_grid, duration=duration)
    embs, probs = [], []
    net = predictor.net
    for a in range(0, len(windows), batch):
        x = torch.from_numpy(np.stack(windows[a:a + batch])).to(predictor.device)  # (N, 1, T, J, 3)
        e = net.embed(x)
        embs.append(e.float().cpu().numpy())
        probs.append(net.fc(e).float().softmax(-1).cpu().numpy())
    emb, prob = np.concatenate(embs), np.concatenate(probs)
    row = np.array([r for r, _ in owners])
    idle = prob[:, none] if none is not None else 1.0 - prob.max(1)
    order = np.lexsort((idle, row))  # by row, then least idle first
    best = order[np.r_[True, row[order][1:] != row[order][:-1]]]
    count = np.bincount(row, minlength=rows)
    feats[row[best], :width] = emb[best]
    feats[row[best], width:width + len(classes)] = prob[best]
    feats[:, -1] = np.minimum(count, 2) / 2.0
    return feats, skeleton_meta(predictor, stride=stride, frames=n_grid, duration=duration)


def video_feature_net(*, name: str, weights: str | Path | None, device: str = "cpu") -> torch.nn.Module:
    """A torchvision video backbone that returns its pooled clip features (the classifier removed)."""
    from deeperaction.models.backbones import BACKBONES, build_backbone

    if name not in BACKBONES:
        raise InputError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}", field="--backbone")
    net = build_backbone(name=name, num_classes=1, weights=weights or None, dropout=0.0)
    head = BACKBONES[name].head
    parent = net
    *path, last = head.split(".")
    for p in path:
        parent = getattr(parent, p) if not p.isdigit() else parent[int(p)]
    if last.isdigit():
        parent[int(last)] = torch.nn.Identity()
    else:
        setattr(parent, last, torch.nn.Identity())
    return net.to(device).eval()


@torch.no_grad()
def video_features(path: str | Path, net: torch.nn.Module, *, backbone: str, window: int = 16, stride: int = 8,
                   fps: float | None = None, size: int = 112, batch: int = 16, device: str = "cpu",
                   n_frames: int | None = None, src_fps: float | None = None,
                   on_frame=None) -> tuple[np.ndarray, FeatureMeta]:
    """``(feats (T, D), meta)``: the backbone's features of windows of ``window`` frames every ``stride``
    frames, the video resampled to ``fps`` (None: its own), frames resized to ``size`` (square, as the clip
    models are trained), normalised as torchvision's Kinetics models. Streams the video (memory: one batch of
    windows). A video shorter than one window gives one row (its frames repeated to fill it)."""
    from deeperaction.video.reader import iter_frames, probe

    info = probe(path)
    src_fps = src_fps or info.fps or 25.0
    fps = float(fps or src_fps)
    n_src = n_frames or info.n_frames
    duration = n_src / src_fps
    mean = torch.tensor([0.43216, 0.394666, 0.37645], device=device).view(1, 3, 1, 1, 1)
    std = torch.tensor([0.22803, 0.22145, 0.216989], device=device).view(1, 3, 1, 1, 1)
    buf: deque[np.ndarray] = deque(maxlen=window)
    pending: list[np.ndarray] = []
    out: list[np.ndarray] = []
    k = 0  # next frame index at the target rate
    last = None

    def flush() -> None:
        if pending:
            x = torch.from_numpy(np.stack(pending)).to(device).permute(0, 4, 1, 2, 3).float().div_(255)
            out.append(net((x - mean) / std).float().cpu().numpy())
            pending.clear()

    for idx, rgb in iter_frames(path, stop=n_src, size=(size, size)):
        if on_frame:
            on_frame(idx)
        last = rgb
        while int(np.floor(k * src_fps / fps + 0.5)) <= idx:  # target frames that fall on this source frame
            buf.append(rgb)
            k += 1
            if len(buf) == window and (k - window) % stride == 0:
                pending.append(np.stack(buf))
                if len(pending) == batch:
                    flush()
    if last is None:
        raise InputError("no frame could be decoded (empty, truncated or corrupt)", file=path)
    if not out and not pending:  # shorter than one window: repeat the last frame
        while len(buf) < window:
            buf.append(last)
        pending.append(np.stack(buf))
    flush()
    feats = np.concatenate(out)
    meta = FeatureMeta(fps=fps, window=window, stride=stride, backbone=backbone, dim=int(feats.shape[1]),
                       frames=k, duration=duration)
    return feats, meta


def features_to_folder(inputs: str | Path, out: str | Path, *, backbone: str = "skeleton",
                       weights: str | Path | None = None, window: int = 16, stride: int | None = None,
                       fps: float | None = None, size: int = 112, batch: int = 16, parse_stride: int = 4,
                       device: str = "cpu", shard: tuple[int, int] = (0, 1), on_video=None, on_error=None) -> dict:
    """Features of a video or a folder of videos into ``out/VIDEO.npy`` + ``VIDEO.json``; returns a summary.
    ``backbone="skeleton"``: the shipped skeleton model over ``parse``'s tracks (window and fps are the model's,
    ``stride`` defaults to :data:`SKELETON_STRIDE`); else a torchvision backbone (``weights``: its state dict;
    ``stride`` defaults to half the window)."""
    from deeperaction.formats.features import write_features
    from deeperaction.tasks.folder_runs import each_video, shard_videos

    mine, single, n_inputs = shard_videos(inputs, shard)
    out = Path(out)
    summary = {"videos": 0, "failed": 0, "rows": 0, "inputs": n_inputs, "shard_videos": len(mine), "out": str(out)}
    if not mine:
        return summary
    if backbone == "skeleton":
        from deeperaction.tasks.action_predictors import load_action_predictor
        from deeperaction.tasks.parse import ParseOptions, Parser

        action = load_action_predictor("default", device)
        parser = Parser(ParseOptions(stride=parse_stride, device=device, action_model="none"))

        def work(video: Path, cb):
            from deeperaction.video.reader import probe

            info = probe(video)
            run = parser.parse(video, on_frame=cb)
            return skeleton_features(run.parse, action, duration=info.n_frames / (info.fps or 25.0),
                                     stride=stride or SKELETON_STRIDE)
    else:
        parser = None
        if window < 1 or (stride is not None and stride < 1) or size < 16 or batch < 1:
            raise InputError(f"need window, stride, batch >= 1 and size >= 16 (got {window}, {stride}, {batch}, "
                             f"{size})")
        net = video_feature_net(name=backbone, weights=weights, device=device)

        def work(video: Path, cb):
            return video_features(video, net, backbone=backbone, window=window, stride=stride or max(1, window // 2),
                                  fps=fps, size=size, batch=batch, device=device, on_frame=cb)
    try:
        for video, _, (feats, meta) in each_video(mine, single, work, summary, on_video, on_error):
            write_features(out / f"{video.stem}.npy", feats, meta)
            summary["videos"] += 1
            summary["rows"] += len(feats)
    finally:
        if parser is not None:
            parser.close()
    return summary

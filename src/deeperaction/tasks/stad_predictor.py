"""A trained ``stad`` model (``deeperaction train stad``) inside ``detect --model``: the people and tracks of the
parse are its person boxes (keypoints for the pose-part path), and it scores each tracked person at every
``hop_s``-th frame exactly as it was evaluated in training (the same clip cache, samples and memory bank code),
giving each track's class probabilities over time for the tube builder.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from deeperaction.datasets.clip_cache import build_clip_cache
from deeperaction.datasets.clips import interpolate_boxes
from deeperaction.datasets.stad import (StadClips, StadVideo, Track, build_table, compute_memory_bank, keyframes)
from deeperaction.errors import InputError
from deeperaction.models.stad import stad_from_file
from deeperaction.schema import JOINTS, VideoParse
from deeperaction.train.stad import predict_people
from deeperaction.video.reader import probe


def parse_tracks(parse: VideoParse, n_frames: int) -> list[Track]:
    """The parse's tracks as ``stad`` tracks: boxes and keypoints interpolated between the parsed frames over
    each track's span (keypoints: linear where the joint was seen, confidence too)."""
    seen: dict[int, list[tuple[int, np.ndarray, np.ndarray | None]]] = {}
    for fp in parse.frames:
        for p in fp.persons:
            if fp.frame < n_frames:
                seen.setdefault(p.track_id, []).append((fp.frame, p.box, p.keypoints))
    tracks = []
    for tid, rows in sorted(seen.items()):
        f = np.array([r[0] for r in rows])
        boxes = interpolate_boxes(f, np.array([r[1] for r in rows], np.float64), n_frames).astype(np.float32)
        present = np.zeros(n_frames, bool)
        present[f.min():f.max() + 1] = True
        kp = np.zeros((n_frames, len(JOINTS), 3), np.float32)
        have = [(fr, k) for fr, _, k in rows if k is not None]
        if have:
            ff = np.array([fr for fr, _ in have])
            kk = np.nan_to_num(np.stack([k for _, k in have]).astype(np.float32))
            grid = np.arange(n_frames)
            for j in range(len(JOINTS)):
                for c in range(3):
                    kp[:, j, c] = np.interp(grid, ff, kk[:, j, c])
        tracks.append(Track(int(tid), boxes, present, kp))
    return tracks


class StadPredictor:
    """``track_curves(parse, hop_s, video)`` of a ``stad`` model file; ``classes`` are its action labels."""

    per_track = True  # detect classifies tracks with it

    def __init__(self, path: str | Path, device: str = "cpu"):
        self.net, ck = stad_from_file(path)
        self.cfg, self.classes = ck["config"], list(ck["classes"])
        self.device = torch.device(device)
        self.net.to(self.device)
        self.bank_net = None
        sc = self.cfg["stad"]
        if sc["memory"]:
            src = sc["memory_model"]
            if src and Path(src).is_file():
                self.bank_net, bank_ck = stad_from_file(src)
                self.bank_net.to(self.device)
                bd = bank_ck["config"]["data"]  # the bank is read with its model's own clips, as in training
                self.bank_clip = {"clip_len": bd["clip_len"], "stride": bd["frame_stride"], "train": False}
            elif src:
                raise InputError("the memory model this STAD model was trained with is missing (its feature bank "
                                 "must come from the same model)", file=src, field="stad.memory_model")
            else:  # trained with the bank of its own initial network: not reproducible from the model file
                raise InputError("this STAD model's memory bank came from its untrained network; train it with "
                                 "stad.memory_model set (or stad.memory off) to use it in detect", file=path,
                                 field="stad.memory_model")

    def track_curves(self, parse: VideoParse, hop_s: float = 0.2, video: str | Path | None = None
                     ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """``{track_id: (frames, probs (n, C))}``: every frame of the track's span, probabilities linear between
        the scored frames (every ``hop_s`` seconds)."""
        if video is None:
            raise ValueError("a STAD model reads the video's frames: pass video")
        info = probe(video)
        dc, sc = self.cfg["data"], self.cfg["stad"]
        vid = StadVideo(parse.video_id, str(video), (info.width, info.height), info.n_frames,
                        parse_tracks(parse, info.n_frames), True)
        if not vid.tracks:
            return {}
        hop = max(1, round(hop_s * (info.fps or 25.0)))
        with tempfile.TemporaryDirectory() as tmp:
            cache = build_clip_cache([(vid.id, vid.path)], Path(tmp) / "cache", tuple(dc["cache_size"]),
                                     dc["cache_step"], 1)
            common = {"clip_len": dc["clip_len"], "stride": dc["frame_stride"], "train": False}
            bank = None
            if self.bank_net is not None:
                at = build_table([vid], [keyframes(vid, sc["memory_stride"], labelled=False)], sc["max_people"])
                bank = compute_memory_bank(self.bank_net, StadClips(cache, at, len(self.classes), **self.bank_clip),
                                           stride=sc["memory_stride"], device=self.device)
            table = build_table([vid], [keyframes(vid, hop, labelled=False)], sc["max_people"])
            ds = StadClips(cache, table, len(self.classes), bank=bank, memory_size=sc["memory_size"] if bank else 0,
                           **common)
            rows, probs = predict_people(self.net, ds, sc["loss"], self.device)
        scored: dict[int, list[tuple[int, np.ndarray]]] = {}
        for (i, p), pr in zip(rows.tolist(), probs):
            scored.setdefault(int(table.track[i, p]), []).append((int(table.frame[i]), pr))
        out = {}
        for tr in vid.tracks:
            if tr.id not in scored:
                continue
            f = np.array([a for a, _ in scored[tr.id]])
            pr = np.stack([b for _, b in scored[tr.id]])
            o = np.argsort(f)
            frames = np.flatnonzero(tr.present)
            out[tr.id] = (frames, np.stack([np.interp(frames, f[o], pr[o, c]) for c in range(pr.shape[1])], 1))
        return out

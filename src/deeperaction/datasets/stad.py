"""Spatio-temporal action detection training data from the official MultiSports files: the GT pickle
(``annotations/stad/multisports_gt.pkl`` as ``deeperaction synth --task stad`` writes it, or any MultiSports GT)
and its videos under ``videos/`` (``videos/<video id>.mp4``; the first ``videos`` folder beside the pickle or
above it, up to three levels). Per-person keypoints, when present, come from ``labels/<video id>.npz`` beside
``videos/`` (the generator's label arrays); they also give idle people (background) and track identities.

A sample is one keyframe of a video: the clip around it (``clip_len`` frames ``stride`` source frames apart,
from the clip cache), the people at that frame (boxes padded to ``max_people`` with a mask; acting people
first), their action labels (up to :data:`MAX_LABELS` each; none = background), keypoints (for the pose-part
path), track ids, and for the memory path ``K`` features of the same track at other times from a
:class:`MemoryBank`. Tracks: the label file's people when there is one (each GT tube joins the person it
overlaps most); otherwise each tube is a track, tubes of the same person (same boxes, or one starting where the
other ends) joined.
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from deeperaction.datasets.clip_cache import ClipCache
from deeperaction.datasets.clips import KeyframeClips
from deeperaction.datasets.transforms import JOINT_FLIP, colour_jitter, flip_boxes, flip_keypoints, normalize_clips
from deeperaction.errors import InputError, ProblemList
from deeperaction.formats.multisports import MultiSportsGT
from deeperaction.metrics.iou import box_iou_rows
from deeperaction.schema import JOINTS

GT_FILE = "multisports_gt.pkl"
VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".webm", ".mov")
MAX_LABELS = 8
"""Most labels one person carries at one frame (AVA people may do several things at once)."""
TUBE_TRACK = 1_000_000
"""Track ids from this on are made from GT tubes (no label file)."""


def find_gt(root: str | Path, field: str = "data.root") -> Path:
    """The GT pickle of ``root``: the file itself, ``root/multisports_gt.pkl`` or
    ``root/annotations/stad/multisports_gt.pkl``."""
    p = Path(root)
    if not str(root):
        raise InputError("set it to a MultiSports GT pickle or the folder holding it", field=field)
    for c in (p, p / GT_FILE, p / "annotations" / "stad" / GT_FILE):
        if c.is_file():
            return c
    raise InputError(f"no MultiSports GT here (looked for {GT_FILE} and annotations/stad/{GT_FILE})", file=p,
                     field=field)


def dataset_folder(gt_path: Path, field: str = "data.root") -> Path:
    """The folder holding ``videos/`` for an annotation file (a GT pickle, an AVA CSV): its own folder or one
    above it (three levels at most)."""
    for d in [gt_path.parent, *gt_path.parent.parents][:4]:
        if (d / "videos").is_dir():
            return d
    raise InputError("no videos/ folder beside the annotation file or up to three levels above it", file=gt_path,
                     field=field)


def find_video(base: Path, vid: str) -> Path | None:
    """``base/videos/<vid>.<ext>`` (or a frame folder ``base/videos/<vid>/``), None if absent."""
    for ext in VIDEO_EXTS:
        if (base / "videos" / f"{vid}{ext}").is_file():
            return base / "videos" / f"{vid}{ext}"
    return base / "videos" / vid if (base / "videos" / vid).is_dir() else None


@dataclass
class Track:
    """One person over a video: ``boxes (T, 4)`` source pixels, ``present (T,)``, ``keypoints (T, J, 3)`` or
    None, ``actions`` as ``(label, start, end)`` frame ranges (0-based, end exclusive)."""

    id: int
    boxes: np.ndarray
    present: np.ndarray
    keypoints: np.ndarray | None = None
    actions: list[tuple[int, int, int]] = field(default_factory=list)

    def labels_at(self, frame: int) -> list[int]:
        """The action labels of this person at ``frame`` (sorted, unique)."""
        return sorted({lab for lab, s, e in self.actions if s <= frame < e})


@dataclass
class StadVideo:
    """A video of the set: id, file, source size ``(w, h)``, frame count, tracks, whether it has keypoints."""

    id: str
    path: str
    size: tuple[int, int]
    n_frames: int
    tracks: list[Track]
    has_keypoints: bool


def _fit(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` cut or zero-padded to ``n`` rows."""
    if len(a) >= n:
        return a[:n]
    return np.concatenate([a, np.zeros((n - len(a), *a.shape[1:]), a.dtype)])


def _tube_rows(arr: np.ndarray, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """GT tube rows ``(L, 5)`` (1-based frame, box) -> 0-based frames inside the video and their boxes."""
    fr = arr[:, 0].astype(np.int64) - 1
    ok = (fr >= 0) & (fr < n_frames)
    return fr[ok], arr[ok, 1:5].astype(np.float32)


def _join_tube(tracks: list[Track], fr: np.ndarray, bx: np.ndarray) -> Track | None:
    """The tube-made track this tube continues: same boxes on common frames (IoU >= 0.9, another label of the
    same person) or starting within a frame of where the track ends with its last box (IoU >= 0.5)."""
    for t in tracks:
        if t.id < TUBE_TRACK:
            continue
        common = t.present[fr]
        if common.any():
            if box_iou_rows(t.boxes[fr[common]], bx[common]).mean() >= 0.9:
                return t
            continue
        last = np.flatnonzero(t.present)
        if len(last) and 0 < fr[0] - last[-1] <= 2 and box_iou_rows(t.boxes[last[-1:]], bx[:1])[0] >= 0.5:
            return t
    return None


def video_tracks(gttubes: dict[int, list[np.ndarray]], n_frames: int, people: dict | None) -> list[Track]:
    """The tracks of one video from its GT tubes and, when given, its label arrays (``people``: ``boxes (N, T,
    4)``, ``present (N, T)``, ``keypoints (N, T, J, 3)``, ``track_ids (N,)``)."""
    tracks: list[Track] = []
    if people is not None:
        for n, tid in enumerate(np.asarray(people["track_ids"]).tolist()):
            tracks.append(Track(int(tid), _fit(people["boxes"][n].astype(np.float32), n_frames),
                                _fit(people["present"][n].astype(bool), n_frames),
                                _fit(people["keypoints"][n].astype(np.float32), n_frames)))
    labelled = list(tracks)
    made = 0
    for lab in sorted(gttubes):
        for arr in gttubes[lab]:
            fr, bx = _tube_rows(np.asarray(arr), n_frames)
            if len(fr) == 0:
                continue
            best, best_iou = None, 0.5
            for t in labelled:  # the label file's person the tube overlaps most (mean IoU over its frames)
                iou = float(np.where(t.present[fr], box_iou_rows(t.boxes[fr], bx), 0.0).mean())
                if iou >= best_iou:
                    best, best_iou = t, iou
            if best is None:
                best = _join_tube(tracks, fr, bx)
            if best is None:
                kp = None if people is None else np.zeros((n_frames, len(JOINTS), 3), np.float32)
                best = Track(TUBE_TRACK + made, np.zeros((n_frames, 4), np.float32), np.zeros(n_frames, bool), kp)
                tracks.append(best)
                made += 1
            best.boxes[fr], best.present[fr] = bx, True
            best.actions.append((int(lab), int(fr.min()), int(fr.max()) + 1))
    return tracks


def read_stad_videos(gt: MultiSportsGT, gt_path: Path, videos: list[str], field: str = "data.root"
                     ) -> list[StadVideo]:
    """The videos ``videos`` of a GT with their files and tracks; every missing video file is listed at once."""
    base = dataset_folder(gt_path, field)
    problems = ProblemList(base / "videos")
    out = []
    for vid in videos:
        path = find_video(base, vid)
        if path is None:
            problems.add(f"no video file (videos/{vid}.mp4 or another of {', '.join(VIDEO_EXTS)})", video=vid)
            continue
        lab = base / "labels" / f"{vid}.npz"
        people = None
        if lab.is_file():
            with np.load(lab) as z:
                people = {k: z[k] for k in ("boxes", "present", "keypoints", "track_ids")}
        n = int(gt.nframes[vid])
        h, w = gt.resolution[vid]
        out.append(StadVideo(vid, str(path), (int(w), int(h)), n, video_tracks(gt.gttubes.get(vid, {}), n, people),
                             people is not None))
    problems.raise_if_any()
    return out


def keyframes(video: StadVideo, stride: int, labelled: bool = True) -> np.ndarray:
    """Frames ``0, stride, 2 stride, ...`` with at least one acting person (``labelled``) or one person."""
    frames = np.arange(0, video.n_frames, max(1, stride))
    keep = np.zeros(len(frames), bool)
    for t in video.tracks:
        if labelled:
            for _, s, e in t.actions:
                keep |= (frames >= s) & (frames < e)
        else:
            keep |= t.present[frames]
    return frames[keep]


@dataclass
class StadTable:
    """Samples of a set as arrays: ``video (N,)`` index into ``videos``, ``frame (N,)`` 0-based, ``boxes (N, P,
    4)`` source pixels, ``mask (N, P)``, ``labels (N, P, MAX_LABELS)`` (-1: none), ``track (N, P)`` (-1: padding),
    ``keypoints (N, P, J, 3)`` source pixels (None when no video has them)."""

    videos: list[StadVideo]
    video: np.ndarray
    frame: np.ndarray
    boxes: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    track: np.ndarray
    keypoints: np.ndarray | None

    def __len__(self) -> int:
        return len(self.video)


def build_table(videos: list[StadVideo], frames: list[np.ndarray], max_people: int) -> StadTable:
    """One sample per ``(video, frame)``: the people present, acting ones first, at most ``max_people``."""
    P, J = max_people, len(JOINTS)
    n = sum(len(f) for f in frames)
    with_kp = any(v.has_keypoints for v in videos)
    t = StadTable(videos, np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros((n, P, 4), np.float32),
                  np.zeros((n, P), bool), np.full((n, P, MAX_LABELS), -1, np.int16), np.full((n, P), -1, np.int64),
                  np.zeros((n, P, J, 3), np.float32) if with_kp else None)
    i = 0
    for v, (video, fs) in enumerate(zip(videos, frames)):
        for f in np.asarray(fs).tolist():
            people = [(tr, tr.labels_at(f)) for tr in video.tracks if tr.present[f]]
            people.sort(key=lambda p: not p[1])  # acting people first (stable)
            for k, (tr, labs) in enumerate(people[:P]):
                t.boxes[i, k], t.mask[i, k], t.track[i, k] = tr.boxes[f], True, tr.id
                t.labels[i, k, :min(len(labs), MAX_LABELS)] = labs[:MAX_LABELS]
                if t.keypoints is not None and tr.keypoints is not None:
                    t.keypoints[i, k] = tr.keypoints[f]
            t.video[i], t.frame[i] = v, f
            i += 1
    return t


def concat_tables(a: StadTable, b: StadTable) -> StadTable:
    """The samples of two tables as one (``b``'s video indices shifted past ``a``'s videos)."""
    kp = None
    if a.keypoints is not None or b.keypoints is not None:
        kp = np.concatenate([t.keypoints if t.keypoints is not None else
                             np.zeros((*t.mask.shape, len(JOINTS), 3), np.float32) for t in (a, b)])
    return StadTable(a.videos + b.videos, np.concatenate([a.video, b.video + len(a.videos)]),
                     np.concatenate([a.frame, b.frame]), np.concatenate([a.boxes, b.boxes]),
                     np.concatenate([a.mask, b.mask]), np.concatenate([a.labels, b.labels]),
                     np.concatenate([a.track, b.track]), kp)


def memory_frames(frame: int, stride: int, size: int) -> list[int]:
    """The bank frames of a keyframe's memory: ``size / 2`` bank steps before and after the bank frame nearest
    to ``frame`` (the current one left out: memory is of other times)."""
    g = int(round(frame / stride)) * stride
    half = size // 2
    return [g + j * stride for j in [*range(-half, 0), *range(1, size - half + 1)]]


@dataclass
class MemoryBank:
    """A long-term feature bank: ``feats (N, D)`` person features, ``index`` ``{(video id, track, frame): row}``
    at frames ``0, stride, 2 stride, ...``, from a frozen pass of a model (:func:`compute_memory_bank`)."""

    stride: int
    index: dict[tuple[str, int, int], int]
    feats: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.feats.shape[1])


class StadClips(KeyframeClips):
    """Samples ``(x, y)``: ``x`` a dict of ``clips`` uint8 ``(T, H, W, 3)``, ``boxes (P, 4)`` and ``keypoints (P, J,
    3)`` in clip pixels, ``mask (P,)``, ``track (P,)``, ``memory (P, K, D)``, ``memory_mask (P, K)``, ``index``;
    ``y (P, C)`` multi-hot labels (all zero: background; rows of -1: padding). A training sample may be mirrored
    (boxes, keypoints, left/right joints), a function of (seed, epoch, index)."""

    def __init__(self, cache: ClipCache, table: StadTable, num_classes: int, *, clip_len: int = 8, stride: int = 4,
                 train: bool = True, flip: float = 0.5, seed: int = 0, bank: MemoryBank | None = None,
                 memory_size: int = 0):
        super().__init__(cache, [v.id for v in table.videos], [v.size for v in table.videos], clip_len=clip_len,
                         stride=stride, seed=seed)
        self.table, self.num_classes, self.train, self.flip = table, num_classes, train, flip
        self.bank, self.memory_size = bank, memory_size if bank is not None else 0

    def __len__(self) -> int:
        return len(self.table)

    def memory(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(P, K, D)`` bank features of each person's track around sample ``i``'s frame and ``(P, K)`` found."""
        t, P, K = self.table, self.table.mask.shape[1], self.memory_size
        if self.bank is None:
            return np.zeros((P, 0, 1), np.float32), np.zeros((P, 0), bool)
        mem, found = np.zeros((P, K, self.bank.dim), np.float32), np.zeros((P, K), bool)
        vid = t.videos[t.video[i]].id
        frames = memory_frames(int(t.frame[i]), self.bank.stride, K)
        for p in np.flatnonzero(t.mask[i]):
            for k, g in enumerate(frames):
                row = self.bank.index.get((vid, int(t.track[i, p]), g))
                if row is not None:
                    mem[p, k], found[p, k] = self.bank.feats[row], True
        return mem, found

    def targets(self, i: int) -> np.ndarray:
        """``(P, C)`` multi-hot labels of sample ``i`` (padding rows -1)."""
        t = self.table
        y = np.zeros((t.mask.shape[1], self.num_classes), np.float32)
        p, k = np.nonzero(t.labels[i] >= 0)
        y[p, t.labels[i][p, k]] = 1.0
        y[~t.mask[i]] = -1.0
        return y

    def __getitem__(self, i: int):
        t = self.table
        v = t.video[i]
        clip = self.cache.clip(self.cache_ix[v], self.clip_indices(int(t.frame[i])))
        s = self.scale[v]
        boxes = t.boxes[i] * s
        kp = t.keypoints[i].copy() if t.keypoints is not None else np.zeros((len(boxes), len(JOINTS), 3), np.float32)
        kp[..., :2] *= s[:2]
        if self.train and self.flip > 0 and np.random.default_rng([self.seed, self.epoch, i]).random() < self.flip:
            w = clip.shape[2]
            clip, boxes = clip[:, :, ::-1], flip_boxes(boxes, w).astype(np.float32)
            kp = np.where(kp[..., 2:] > 0, flip_keypoints(kp, w), kp[:, JOINT_FLIP]).astype(np.float32)
        boxes[~t.mask[i]] = 0.0
        mem, found = self.memory(i)
        x = {"clips": torch.from_numpy(np.ascontiguousarray(clip)), "boxes": torch.from_numpy(boxes.astype(np.float32)),
             "mask": torch.from_numpy(t.mask[i].copy()), "keypoints": torch.from_numpy(np.ascontiguousarray(kp)),
             "track": torch.from_numpy(t.track[i].copy()), "memory": torch.from_numpy(mem),
             "memory_mask": torch.from_numpy(found), "index": torch.tensor(i)}
        return x, torch.from_numpy(self.targets(i))


def batch_to(x: dict[str, torch.Tensor], device: torch.device, gen: torch.Generator | None = None,
             colour: float = 0.0) -> dict[str, torch.Tensor]:
    """A collated sample dict on ``device``, clips normalised to ``(B, 3, T, H, W)`` floats; with ``gen`` and
    ``colour`` > 0, per-clip brightness, contrast and saturation jitter first (training)."""
    out = {k: v.to(device, non_blocking=True) for k, v in x.items()}
    if gen is not None and colour > 0:
        c = colour_jitter(out["clips"].permute(0, 1, 4, 2, 3).float().div_(255.0), gen, colour)
        out["clips"] = c.mul_(255.0).permute(0, 1, 3, 4, 2)  # normalize_clips takes 0..255 values
    out["clips"] = normalize_clips(out["clips"])
    return out


@torch.no_grad()
def compute_memory_bank(net: torch.nn.Module, dataset: StadClips, *, stride: int, device: torch.device | str = "cpu",
                        batch_size: int = 16) -> MemoryBank:
    """The long-term feature bank of ``dataset``'s samples (every person at frames ``0, stride, ...``; build it
    with :func:`keyframes` ``(labelled=False)``): one frozen pass of ``net.person_features`` (eval mode,
    weights untouched)."""
    device = torch.device(device)
    was = net.training
    net.eval()
    index: dict[tuple[str, int, int], int] = {}
    feats: list[np.ndarray] = []
    t = dataset.table
    for x, _ in DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0):
        with torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext():
            f = net.person_features(batch_to(x, device)).float().cpu().numpy()
        for b, i in enumerate(x["index"].tolist()):
            vid, frame = t.videos[t.video[i]].id, int(t.frame[i])
            for p in np.flatnonzero(t.mask[i]):
                index[(vid, int(t.track[i, p]), frame)] = len(feats)
                feats.append(f[b, p])
    net.train(was)
    dim = feats[0].shape[0] if feats else 1
    return MemoryBank(stride, index, np.stack(feats) if feats else np.zeros((0, dim), np.float32))


def keyframe_gt(gt: MultiSportsGT, videos: list[StadVideo], frames: list[np.ndarray]) -> MultiSportsGT:
    """The GT scored at the given frames only (``test_videos`` = ``videos``): each tube's row at each of those
    frames becomes a one-frame tube, so frame-mAP counts exactly the evaluated keyframes."""
    gttubes: dict[str, dict[int, list[np.ndarray]]] = {}
    for v, fs in zip(videos, frames):
        keep = set(np.asarray(fs).tolist())
        per: dict[int, list[np.ndarray]] = {}
        for lab, tubes in gt.gttubes.get(v.id, {}).items():
            for arr in tubes:
                arr = np.asarray(arr)
                for row in arr[np.isin(arr[:, 0].astype(np.int64) - 1, list(keep))]:
                    per.setdefault(int(lab), []).append(row[None].astype(arr.dtype))
        gttubes[v.id] = per
    ids = [v.id for v in videos]
    return dataclasses.replace(gt, test_videos=ids, train_videos=[], gttubes=gttubes, path=None, warnings=[],
                               _arrays=None)

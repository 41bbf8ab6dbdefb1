"""Inference adapters of the trained part-level models for ``deeperaction parse`` (contract in docs/parse.md):
each reads the video and rewrites a :class:`~deeperaction.schema.VideoParse` (or finds people in a frame).

State models (``--state-model``): ``prior.json`` (frequency prior), ``model.pt`` of ``part_state`` (RoI head;
reads the clip around each parsed frame) or ``video_states`` (video classifier, broadcast). Part models
(``--part-model``): ``model.pt`` of ``deeperaction train partdet``, run before the state model. Person
models (``--person-model``): ``model.pt`` of ``deeperaction train persondet``. Action models:
:mod:`deeperaction.tasks.action_predictors`. The networks come from the builders of :mod:`deeperaction.models`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from deeperaction.datasets.part_states import person_crop
from deeperaction.datasets.transforms import normalize_clips
from deeperaction.errors import InputError
from deeperaction.kinematics.vocab import PART_STATES
from deeperaction.models.checkpoint import load_model_file
from deeperaction.models.detector import images_to_tensors
from deeperaction.models.heads.part_state import roi_features
from deeperaction.models.part_detector import decode_parts, part_detector_from_config
from deeperaction.models.part_states import part_states_from_config
from deeperaction.models.person_detector import NMS_IOU, person_detector_from_config, postprocess
from deeperaction.models.prior import FrequencyPrior
from deeperaction.perception.pose_drawing import crop_params, crop_people, draw_pose, from_crop, to_crop
from deeperaction.schema import PARTS, PartDet, VideoParse
from deeperaction.video.frames import resize_long
from deeperaction.video.reader import probe, read_frames, sample_clip_indices

CHUNK = 16  # clips per forward pass


def _norm(clips: np.ndarray, device: torch.device) -> torch.Tensor:
    return normalize_clips(torch.from_numpy(np.ascontiguousarray(clips)).to(device))


def _set_states(parse: VideoParse, pick) -> None:
    """``pick(frame_row, person_row) -> (10,) state ids or None``; rewrites every part's states."""
    for i, fp in enumerate(parse.frames):
        for j, person in enumerate(fp.persons):
            ids = pick(i, j)
            if ids is None:
                continue
            for name, det in person.parts.items():
                det.states = [PART_STATES[name][int(ids[PARTS.index(name)])]] * len(det.boxes)


class PartStatePredictor:
    """The RoI part-state head on the clip centred on each parsed frame; the action of ``parse`` (if a
    known class; else "unknown") is fed to the head, so run the action model first when there is one."""

    def __init__(self, ck: dict, device: str = "cpu"):
        cfg, self.classes = ck["config"], list(ck["classes"])
        dc = cfg["data"]
        self.net = part_states_from_config(cfg, len(self.classes), weights="")
        self.net.load_state_dict(ck["model"])
        self.device = torch.device(device)
        self.net.to(self.device).eval()
        self.size, self.clip_len, self.stride = tuple(dc["cache_size"]), dc["clip_len"], dc["frame_stride"]
        self.person_size = dc["person_size"] if dc.get("crop_mode", "frame") == "person" else 0
        self.margin = dc.get("person_margin", 0.3)

    def predict_states(self, video_path: str | Path, parse: VideoParse) -> None:
        probs = self.state_probs(video_path, parse)
        _set_states(parse, lambda i, j: probs[(i, j)].argmax(-1) if (i, j) in probs else None)

    @torch.no_grad()
    def state_probs(self, video_path: str | Path, parse: VideoParse) -> dict[tuple[int, int], np.ndarray]:
        """``{(frame row, person row): (10, MAX_STATES) probabilities}`` for every person with parts."""
        rows = [(i, j) for i, fp in enumerate(parse.frames) for j, p in enumerate(fp.persons) if p.parts]
        if not rows:
            return {}
        info = probe(video_path)
        h, w = self.size
        offsets = np.round((np.arange(self.clip_len) - (self.clip_len - 1) / 2) * self.stride).astype(int)
        frame_rows = sorted({i for i, _ in rows})
        idx = np.clip(np.array([parse.frames[i].frame for i in frame_rows])[:, None] + offsets, 0, info.n_frames - 1)
        uniq, inv = np.unique(idx, return_inverse=True)
        frames = read_frames(video_path, uniq, size=(w, h))
        scale = np.array([w / info.width, h / info.height] * 2, np.float32)
        action = self.classes.index(parse.action) if parse.action in self.classes else len(self.classes)
        out: dict[tuple[int, int], np.ndarray] = {}
        for c0 in range(0, len(frame_rows), CHUNK):
            chunk = frame_rows[c0:c0 + CHUNK]
            clips = frames[inv.reshape(idx.shape)[c0:c0 + len(chunk)]]
            people = [(k, i, j) for k, i in enumerate(chunk) for j in range(len(parse.frames[i].persons))
                      if parse.frames[i].persons[j].parts]
            boxes = np.zeros((len(people), len(PARTS) + 1, 4), np.float32)
            mask = np.zeros((len(people), len(PARTS)), bool)
            for r, (_, i, j) in enumerate(people):
                person = parse.frames[i].persons[j]
                boxes[r, 0] = person.box
                for name, det in person.parts.items():
                    q = PARTS.index(name)
                    boxes[r, q + 1], mask[r, q] = det.boxes[0], True
            boxes *= scale
            if self.person_size:  # one square clip around each person, as in training
                crops = [person_crop(clips[k], boxes[r], self.margin, self.person_size)
                         for r, (k, _, _) in enumerate(people)]
                fmap = self.net.trunk(_norm(np.stack([c for c, _ in crops]), self.device))
                boxes = np.stack([b for _, b in crops])
            else:  # one trunk pass per frame, shared by its people
                fmap = self.net.trunk(_norm(clips, self.device))
                fmap = fmap[torch.tensor([k for k, _, _ in people], device=self.device)]
            b = torch.from_numpy(boxes).to(self.device)
            feats = roi_features(fmap, b, self.net.stride, self.net.roi)
            logits = self.net.head(feats, b, torch.from_numpy(mask).to(self.device),
                                   torch.full((len(people),), action, device=self.device))
            for r, pr in enumerate(logits.float().softmax(-1).cpu().numpy()):
                out[people[r][1:]] = pr
        return out


class VideoStatePredictor:
    """Video-level part states: one answer per part for the whole video, broadcast to every person."""

    def __init__(self, ck: dict, device: str = "cpu"):
        cfg = ck["config"]
        dc = cfg["data"]
        self.net = part_states_from_config(cfg, 0, weights="")
        self.net.load_state_dict(ck["model"])
        self.device = torch.device(device)
        self.net.to(self.device).eval()
        self.size, self.clip_len, self.stride, self.k = (tuple(dc["cache_size"]), dc["clip_len"], dc["frame_stride"],
                                                         dc["test_clips"])

    @torch.no_grad()
    def video_probs(self, video_path: str | Path) -> np.ndarray:
        """``(10, MAX_STATES)`` state probabilities of the video, averaged over its test clips."""
        n = probe(video_path).n_frames
        idx = sample_clip_indices(n, self.clip_len, self.stride, self.k, "uniform")
        h, w = self.size
        clips = read_frames(video_path, idx.reshape(-1), size=(w, h)).reshape(*idx.shape, h, w, 3)
        probs = torch.cat([self.net(_norm(clips[i:i + CHUNK], self.device)).float().softmax(-1)
                           for i in range(0, len(clips), CHUNK)])
        return probs.mean(0).cpu().numpy()

    def predict_states(self, video_path: str | Path, parse: VideoParse) -> None:
        ids = self.video_probs(video_path).argmax(-1)
        _set_states(parse, lambda i, j: ids)


def load_state_predictor(path: str | Path, device: str = "cpu"):
    """A state predictor from ``prior.json`` or a part-model ``model.pt`` (see the module doc)."""
    path = Path(path)
    if path.suffix == ".json":
        return FrequencyPrior.load(path)
    ck = load_model_file(path)
    kind = ck.get("kind")
    if kind == "part_state":
        return PartStatePredictor(ck, device)
    if kind == "video_states":
        return VideoStatePredictor(ck, device)
    raise InputError(f"not a part-state model (kind {kind!r}; expected part_state or video_states)", file=path)


class PartDetectorPredictor:
    """The pose-guided part detector on every parsed person with keypoints: square crop of the person box,
    keypoints drawn on it, top-scoring box per part; a part scoring under ``partdet.score_thresh`` keeps
    its geometric box (or stays absent). States of kept parts are kept, new parts get "none"."""

    def __init__(self, ck: dict, device: str = "cpu"):
        self.cfg = ck["config"]
        self.pc = self.cfg["partdet"]
        self.net = part_detector_from_config(self.cfg, weights="")
        self.net.load_state_dict(ck["model"])
        self.device = torch.device(device)
        self.net.to(self.device).eval()

    @torch.no_grad()
    def detect(self, frames: list[np.ndarray], boxes: list[np.ndarray], keypoints: list[np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray]:
        """Part boxes ``(P, 10, 4)`` (frame pixels) and scores ``(P, 10)`` of the people of RGB ``frames``
        (``boxes[f] (P_f, 4)``, ``keypoints[f] (P_f, J, 3)``), people in frame order, batched."""
        pc, size = self.pc, self.pc["crop"]
        params = [crop_params(b, pc["enlarge"]) for b in boxes]
        crops = np.concatenate([crop_people(f, p, size) for f, p in zip(frames, params)])
        params = np.concatenate(params)
        kp = np.concatenate(keypoints).astype(np.float64)
        kp[..., :2] = to_crop(kp[..., :2], params, size)
        images = np.stack([draw_pose(c, k, pc["mode"], min_conf=pc["min_conf"]) for c, k in zip(crops, kp)])
        out_b, out_s = [], []
        for i in range(0, len(images), 4 * CHUNK):
            det = self.net(images_to_tensors(torch.from_numpy(images[i:i + 4 * CHUNK]).to(self.device)))
            b, s = decode_parts(det)
            out_b.append(b.cpu().numpy().astype(np.float64))
            out_s.append(s.cpu().numpy().astype(np.float64))
        return from_crop(np.concatenate(out_b), params, size), np.concatenate(out_s)

    def predict_parts(self, video_path: str | Path, parse: VideoParse) -> None:
        w, h = parse.size
        rows = [i for i, fp in enumerate(parse.frames) if any(p.keypoints is not None for p in fp.persons)]
        for c0 in range(0, len(rows), CHUNK):  # decode a chunk of parsed frames at a time
            chunk = rows[c0:c0 + CHUNK]
            frames = read_frames(video_path, [parse.frames[i].frame for i in chunk])
            if frames.shape[2] != w or frames.shape[1] != h:
                raise InputError(f"video frames are {frames.shape[2]}x{frames.shape[1]}, the parse says {w}x{h}",
                                 file=video_path)
            people = [[p for p in parse.frames[i].persons if p.keypoints is not None] for i in chunk]
            boxes, scores = self.detect(list(frames), [np.stack([p.box for p in ps]) for ps in people],
                                        [np.stack([p.keypoints for p in ps]) for ps in people])
            boxes[..., 0::2] = boxes[..., 0::2].clip(0, w - 1)
            boxes[..., 1::2] = boxes[..., 1::2].clip(0, h - 1)
            ok = (scores >= self.pc["score_thresh"]) & (boxes[..., 2] > boxes[..., 0]) & (boxes[..., 3] > boxes[..., 1])
            for p, b, s, good in zip([p for ps in people for p in ps], boxes, scores, ok):
                for q, name in enumerate(PARTS):
                    if good[q]:
                        old = p.parts.get(name)
                        p.parts[name] = PartDet(name, b[q][None], [old.states[0] if old else "none"], [s[q]])
                p.parts = {name: p.parts[name] for name in PARTS if name in p.parts}


def load_part_predictor(path: str | Path, device: str = "cpu") -> PartDetectorPredictor:
    """A part-box predictor from a ``deeperaction train partdet`` ``model.pt`` (kind ``part_detector``)."""
    ck = load_model_file(path, "part_detector", "a part detector", "deeperaction train partdet")
    return PartDetectorPredictor(ck, device)


class PersonDetectorPredictor:
    """``predictor(rgb) -> (boxes (N, 4), scores (N,))`` in frame pixels (the
    :class:`~deeperaction.perception.person_finders.PersonFinder` interface), boxes scoring at least
    ``min_score`` (default: the config's ``persondet.score_thresh``), after NMS at ``nms_iou``."""

    def __init__(self, ck: dict, device: str = "cpu", min_score: float | None = None, nms_iou: float = NMS_IOU):
        self.cfg = ck["config"]
        self.pc = self.cfg["persondet"]
        self.net = person_detector_from_config(self.cfg, weights="")
        self.net.load_state_dict(ck["model"])
        self.device = torch.device(device)
        self.net.to(self.device).eval()
        self.min_score = float(self.pc["score_thresh"] if min_score is None else min_score)
        self.nms_iou = float(nms_iou)

    @torch.no_grad()
    def detect_batch(self, frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Boxes and scores of each RGB frame (any sizes), in its own pixels."""
        resized = [resize_long(f, self.pc["size"]) for f in frames]
        images = images_to_tensors([torch.from_numpy(np.ascontiguousarray(r)).to(self.device) for r, _ in resized])
        out = []
        for (_, s), d in zip(resized, self.net(images)):
            boxes, scores = postprocess(d, self.min_score, self.nms_iou)
            out.append((boxes / s, scores))
        return out

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.detect_batch([rgb])[0]


def load_person_predictor(path: str | Path, device: str = "cpu") -> PersonDetectorPredictor:
    """The person detector of a ``deeperaction train persondet`` ``model.pt`` (kind ``person_detector``)."""
    ck = load_model_file(path, "person_detector", "a person detector", "deeperaction train persondet")
    return PersonDetectorPredictor(ck, device)

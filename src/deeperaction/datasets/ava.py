"""AVA / AVA-Kinetics training data laid out as the official files, read by the readers ``eval ava`` uses
(:mod:`deeperaction.formats.ava`): a keyframe CSV (``video, timestamp, x1, y1, x2, y2, action, person``, boxes
normalised), its ``.pbtxt`` label map (the classes; rows of other actions are left out and counted, as the
official 60-class evaluation does), the videos under ``videos/`` (``videos/<video>.mp4`` or a frame folder, the
first ``videos`` folder beside the CSV or up to three levels above), and optionally person **proposals**: a
detections CSV (8th column the score, the action column ignored) or the pickle SlowFast and MMAction2 read
(``{"video,timestamp": (n, 4 or 5) normalised boxes [+ score]}``).

The keyframe at timestamp ``ts`` is frame ``round((ts - video_start_s) * fps)`` of its video (``video_start_s``:
900 for AVA's official 15-minute cuts, which begin at the movie's second 900; 0 for the synthetic generator's
CSVs and any video whose timestamps count from its start).

People at a keyframe: the GT boxes (``gt_boxes``) and/or the proposals scoring >= ``proposal_score``. A
proposal overlapping a GT person at IoU >= ``match_iou`` carries that person's actions (SlowFast's training
boxes); any other does none of the classes (a negative). Only the GT's keyframes are read (proposals at other
seconds are of unannotated or excluded ones). For evaluation, pass proposals and ``gt_boxes=False``:
the people come from the detector, as in the official protocol.

The result is a :class:`~deeperaction.datasets.stad.StadTable` (one sample per keyframe; track ids are AVA
person ids where the CSV has them) and the GT as a MultiSports GT of one-frame tubes at the keyframes, so
training, frame-mAP@0.5 (per-class VOC AP at IoU 0.5 over the keyframes, as AVA's) and the memory bank need
nothing AVA-specific. Tracks are not stored per frame: a 15-minute video has 27000 frames and few keyframes.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deeperaction.datasets.stad import MAX_LABELS, StadTable, StadVideo, dataset_folder, find_video
from deeperaction.errors import InputError, ProblemList
from deeperaction.formats.ava import AvaBoxes, filter_labels, keyframe_keys, read_ava_csv, read_labelmap
from deeperaction.formats.multisports import MultiSportsGT
from deeperaction.metrics.iou import box_iou_matrix
from deeperaction.video.reader import probe

LABELMAP_FILE = "ava_labelmap.pbtxt"
ANON_TRACK = 2_000_000
"""Track ids from this on belong to one keyframe only: proposals that match no GT person, and GT people of a
CSV without person ids (no memory for them)."""


@dataclass
class AvaSet:
    """What :func:`read_ava_set` gives: the classes (label map order) and their AVA action ids, the videos
    (``tracks`` empty), the keyframe samples, the GT as one-frame MultiSports tubes, warning lines."""

    classes: list[str]
    action_ids: list[int]
    videos: list[StadVideo]
    table: StadTable
    gt: MultiSportsGT
    warnings: list[str] = field(default_factory=list)


def find_labelmap(csv: Path, labelmap: str | Path = "", field: str = "data.labelmap") -> Path:
    """``labelmap`` when given, else ``ava_labelmap.pbtxt`` (or the only ``*.pbtxt``) beside the CSV."""
    if str(labelmap):
        p = Path(labelmap)
        if not p.is_file():
            raise InputError("no such label map", file=p, field=field)
        return p
    if (csv.parent / LABELMAP_FILE).is_file():
        return csv.parent / LABELMAP_FILE
    found = sorted(csv.parent.glob("*.pbtxt"))
    if len(found) == 1:
        return found[0]
    raise InputError(f"no label map beside the CSV ({LABELMAP_FILE} or one *.pbtxt); set {field}", file=csv,
                     field=field)


def read_proposals(path: str | Path, field: str = "data.proposals") -> dict[tuple[str, int], np.ndarray]:
    """Person proposals ``{(video, timestamp key): (n, 5) normalised x1, y1, x2, y2, score}`` (keys as
    :func:`~deeperaction.formats.ava.keyframe_keys`) from a detections CSV or a SlowFast/MMAction2 pickle."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such proposals file", file=p, field=field)
    out: dict[tuple[str, int], list[np.ndarray]] = {}
    if p.suffix.lower() in (".pkl", ".pickle"):
        try:
            with open(p, "rb") as f:
                obj = pickle.load(f)
        except Exception as e:  # noqa: BLE001 - any unreadable pickle is the user's file
            raise InputError(f"cannot be read as a pickle ({type(e).__name__}: {e})", file=p, field=field) from None
        if not isinstance(obj, dict):
            raise InputError(f"holds a {type(obj).__name__}, expected a dict 'video,timestamp' -> boxes", file=p,
                             field=field)
        for key, arr in obj.items():
            vid, _, ts = str(key).rpartition(",")
            a = np.asarray(arr, np.float64)
            try:
                t = float(ts)
            except ValueError:
                raise InputError(f"key {key!r} is not 'video,timestamp'", file=p, field=field) from None
            if a.size == 0:
                continue
            if a.ndim != 2 or a.shape[1] not in (4, 5) or not np.isfinite(a).all():
                raise InputError(f"key {key!r}: boxes of shape {a.shape}, expected finite (n, 4) or (n, 5)",
                                 file=p, video=vid, frame=ts, field=field)
            if a.shape[1] == 4:
                a = np.concatenate([a, np.ones((len(a), 1))], 1)
            out.setdefault((vid, int(keyframe_keys(np.array([t]))[0])), []).append(a)
    else:
        b = read_ava_csv(p, kind="pred")
        keys = keyframe_keys(b.timestamp)
        rows = np.concatenate([b.boxes, b.score[:, None]], 1)
        for k in np.unique(np.stack([b.video.astype(np.int64), keys], 1), axis=0):
            m = (b.video == k[0]) & (keys == k[1])
            # a proposals CSV repeats each box once per action row: one person per distinct box
            out.setdefault((b.videos[int(k[0])], int(k[1])), []).append(np.unique(rows[m], axis=0))
    return {k: np.concatenate(v) for k, v in out.items()}


def _people(boxes: AvaBoxes, rows: np.ndarray) -> list[tuple[np.ndarray, list[int], int | None]]:
    """The people of one keyframe's GT rows: ``(normalised box, action ids, person id or None)``, rows with
    the same box one person (AVA repeats a person's box for each of its actions)."""
    found: dict[tuple, list] = {}
    for r in rows.tolist():
        key = tuple(np.round(boxes.boxes[r], 4).tolist())
        if key not in found:
            found[key] = [boxes.boxes[r], [], float(boxes.score[r])]
        found[key][1].append(int(boxes.label[r]))
    people = [(b, sorted(set(a)), pid) for b, a, pid in found.values()]
    pids = [p for _, _, p in people]
    ids_ok = len(set(pids)) == len(pids) and all(float(p).is_integer() and p >= 0 for p in pids)
    return [(b, a, int(p) if ids_ok else None) for b, a, p in people]


def read_ava_set(csv: str | Path, *, labelmap: str | Path = "", proposals: str | Path = "", gt_boxes: bool = True,
                 proposal_score: float = 0.8, match_iou: float = 0.9, video_start_s: float = 0.0,
                 max_people: int = 8, field: str = "data.root", proposals_field: str = "data.proposals") -> AvaSet:
    """The keyframes of an AVA CSV with their people (module docstring); every missing video listed at once."""
    csv = Path(csv)
    if not csv.is_file():
        raise InputError("no such AVA CSV", file=csv, field=field)
    lm_path = find_labelmap(csv, labelmap)
    lm = read_labelmap(lm_path)
    ids = sorted(lm)
    index = {a: i for i, a in enumerate(ids)}
    raw = read_ava_csv(csv, kind="gt")
    boxes = filter_labels(raw, lm)
    warnings = []
    if boxes.dropped_unknown:
        other = sorted(set(raw.label.tolist()) - set(ids))
        warnings.append(f"{csv}: {boxes.dropped_unknown} row(s) of {len(other)} action id(s) not in {lm_path.name} "
                        f"were left out (e.g. {other[0]}), as the official evaluation does")
    props = read_proposals(proposals, proposals_field) if str(proposals) else {}
    base = dataset_folder(csv, field)
    problems = ProblemList(base / "videos")
    videos: list[StadVideo] = []
    info = {}
    for vid in boxes.videos:  # the CSV's vocabulary: each video once
        path = find_video(base, vid)
        if path is None:
            problems.add("no video file (videos/<video>.mp4, another container, or a frame folder)", video=vid)
            continue
        vi = info[vid] = probe(path)
        videos.append(StadVideo(vid, str(path), (vi.width, vi.height), int(vi.n_frames), [], False))
    problems.raise_if_any()

    # keyframes per video: those of the GT (rows with people, or without boxes); proposals elsewhere are of
    # unannotated (or excluded) seconds, neither negatives to learn nor detections the official scorer counts
    all_keys = keyframe_keys(boxes.timestamp)
    samples: list[tuple[int, int, list]] = []  # (video index, frame, [(pixel box, labels, track)])
    gttubes: dict[str, dict[int, list[np.ndarray]]] = {v.id: {} for v in videos}
    outside, many, anon = 0, 0, ANON_TRACK
    for vi, v in enumerate(videos):
        w, h = v.size
        scale = np.array([w, h, w, h], np.float64)
        k = boxes.videos.index(v.id)
        mine = np.flatnonzero(boxes.video == k)
        keys = set(all_keys[mine].tolist())
        keys |= set(keyframe_keys(boxes.empty_timestamp[boxes.empty_video == k]).tolist())
        for key in sorted(keys):
            frame = int(round((key / 1e6 - video_start_s) * info[v.id].fps))
            if not 0 <= frame < v.n_frames:
                outside += 1
                continue
            people = _people(boxes, mine[all_keys[mine] == key])
            tracks = []
            for b, acts, pid in people:
                for a in acts:
                    gttubes[v.id].setdefault(index[a], []).append(np.array([[frame + 1, *(b * scale)]], np.float32))
                tracks.append(pid if pid is not None else anon)
                anon += pid is None
            chosen = [(b * scale, [index[a] for a in acts], tid) for (b, acts, _), tid in zip(people, tracks)
                      ] if gt_boxes else []
            prop = props.get((v.id, key))
            if prop is not None:
                prop = prop[prop[:, 4] >= proposal_score]
                gtb = np.array([b for b, _, _ in people], np.float64).reshape(-1, 4)
                iou = box_iou_matrix(prop[:, :4], gtb) if len(gtb) and len(prop) else np.zeros((len(prop), 0))
                for q, row in enumerate(prop):
                    j = int(iou[q].argmax()) if iou.shape[1] else -1
                    if j >= 0 and iou[q, j] >= match_iou:
                        chosen.append((row[:4] * scale, [index[a] for a in people[j][1]], tracks[j]))
                    else:
                        chosen.append((row[:4] * scale, [], anon))
                        anon += 1
            many += sum(len(p[1]) > MAX_LABELS for p in chosen)
            if not chosen:
                continue  # a keyframe without people: nothing to learn or score
            samples.append((vi, frame, chosen))
    if outside:
        warnings.append(f"{csv}: {outside} keyframe(s) lie outside their video (timestamp - {video_start_s:g} s "
                        f"past its end or before 0; is data.video_start_s right?) and were left out")
    if many:
        warnings.append(f"{csv}: {many} person-keyframe(s) do more than {MAX_LABELS} actions; the first "
                        f"{MAX_LABELS} are kept")
    table = _table(videos, samples, max_people)
    if table.mask.sum() < sum(len(p) for _, _, p in samples):
        warnings.append(f"{csv}: keyframes with more than {max_people} people kept {max_people} (acting ones first; "
                        f"stad.max_people)")
    classes = [lm[a] for a in ids]
    gt = MultiSportsGT(labels=classes, test_videos=[v.id for v in videos], train_videos=[],
                       nframes={v.id: v.n_frames for v in videos},
                       resolution={v.id: (v.size[1], v.size[0]) for v in videos}, gttubes=gttubes, path=str(csv))
    return AvaSet(classes, ids, videos, table, gt, warnings)


def _table(videos: list[StadVideo], samples: list[tuple[int, int, list]], max_people: int) -> StadTable:
    """One :class:`StadTable` row per keyframe, acting people first, at most ``max_people``."""
    n, P = len(samples), max_people
    t = StadTable(videos, np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros((n, P, 4), np.float32),
                  np.zeros((n, P), bool), np.full((n, P, MAX_LABELS), -1, np.int16), np.full((n, P), -1, np.int64),
                  None)
    for i, (vi, frame, people) in enumerate(samples):
        people = sorted(people, key=lambda p: not p[1])[:P]  # acting people first (stable)
        t.video[i], t.frame[i] = vi, frame
        for k, (box, labs, track) in enumerate(people):
            t.boxes[i, k], t.mask[i, k], t.track[i, k] = box, True, track
            t.labels[i, k, :min(len(labs), MAX_LABELS)] = labs[:MAX_LABELS]
    return t


__all__ = ["AvaSet", "read_ava_set", "read_proposals", "find_labelmap", "ANON_TRACK"]

"""AVA / AVA-Kinetics files: keyframe box CSVs (GT and detections), ``.pbtxt`` label maps, exclusions.

CSV rows are ``video, timestamp, x1, y1, x2, y2, action, person|score`` with boxes normalized to
[0, 1]; a 2-column row ``video, timestamp`` marks a keyframe without boxes. Reading is columnar
numpy (a vectorized byte parser, ~1.5 CPU-s per million rows) because test-set detection files hold
~1.7M rows. Rules follow the official ``get_ava_performance.py``: 7- or 8-column box rows, the 8th
column is the score (for GT the person id, which the official scorer also reads as a float).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError, ProblemList
from deeperaction.formats.ava_scan import CsvScan, scan_chunk, scan_csv
from deeperaction.outputs import write_atomic
from deeperaction.schema import KeyframeBox

__all__ = ["AvaBoxes", "read_ava_csv", "write_ava_csv", "read_labelmap", "write_labelmap",
           "read_exclusions", "validate_ava", "keyframe_keys", "filter_labels", "detect_kind"]


@dataclass
class AvaBoxes:
    """Columnar rows of one AVA CSV, in file order.

    ``score`` is the 8th column as a float: the detection score, or for GT the person id (1.0 when
    a row has 7 columns, as in the official reader). ``empty_video``/``empty_timestamp`` list the
    keyframes given by 2-column rows (GT keyframes without actions; detections there are FPs).
    """

    videos: list[str]              # vocabulary; ``video`` and ``empty_video`` index it
    video: np.ndarray              # (N,) int32
    timestamp: np.ndarray          # (N,) float64 seconds
    boxes: np.ndarray              # (N, 4) float64 normalized x1, y1, x2, y2
    label: np.ndarray              # (N,) int64 action id
    score: np.ndarray              # (N,) float64
    empty_video: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    empty_timestamp: np.ndarray = field(default_factory=lambda: np.zeros(0))
    kind: str = "pred"
    dropped_unknown: int = 0       # rows dropped at read time because their id is not in the label map

    def __len__(self) -> int:
        return len(self.label)

    def to_keyframe_boxes(self) -> list[KeyframeBox]:
        """The rows as :class:`KeyframeBox` records (GT: ``score`` holds the person id)."""
        return [KeyframeBox(self.videos[v], t, b, lab, s) for v, t, b, lab, s in
                zip(self.video.tolist(), self.timestamp.tolist(), self.boxes, self.label.tolist(),
                    self.score.tolist())]


def keyframe_keys(timestamp: np.ndarray) -> np.ndarray:
    """Timestamps as int64 microseconds: the official key is ``"%s,%.6f" % (video, Decimal(ts))``."""
    return np.rint(np.asarray(timestamp, dtype=np.float64) * 1e6).astype(np.int64)


# ----------------------------------------------------------------------------- public API
def read_ava_csv(path: str | Path, kind: str = "gt", labelmap: Mapping[int, str] | None = None, *,
                 strict: bool = False) -> AvaBoxes:
    """Read an AVA GT (``kind="gt"``) or detection (``"pred"``) CSV into columnar arrays.

    Raises :class:`InputError` listing every malformed line (wrong column count, non-numbers, NaN).
    GT boxes with x2 < x1 or y2 < y1 are an error; detection boxes with x2 <= x1 or y2 <= y1 are kept
    (the official scorer drops them, as the metric does) unless ``strict``, which refuses them in one line.
    With ``labelmap``, rows whose action id is not in it are dropped (counted in ``dropped_unknown``);
    a GT keyframe that loses all its rows stays known as an empty keyframe, as in the official scorer.
    """
    if kind not in ("gt", "pred"):
        raise ValueError(f"kind must be 'gt' or 'pred', got {kind!r}")
    s = scan_csv(path)
    v = s.values
    rows = s.ncols > 2
    nonfinite = ~np.isfinite(v[:, 0]) | (rows & ~np.isfinite(v[:, 1:6]).all(axis=1))
    nonfinite |= (s.ncols == 8) & np.isnan(v[:, 6])
    nonint = rows & np.isfinite(v[:, 5]) & (v[:, 5] != np.floor(v[:, 5]))
    if s.bad_lines or nonfinite.any() or nonint.any():
        problems = validate_ava(path, kind, None, _scan_result=s)
        if not problems:
            problems.add(f"line {(s.bad_lines or s.line[nonfinite | nonint].tolist())[0]}: cannot be parsed")
        problems.raise_if_any()
    with np.errstate(invalid="ignore"):
        flipped = rows & ((v[:, 3] < v[:, 1]) | (v[:, 4] < v[:, 2]))
        refuse = flipped if kind == "gt" else (rows & ((v[:, 3] <= v[:, 1]) | (v[:, 4] <= v[:, 2])) if strict
                                               else np.zeros_like(rows))
    if refuse.any():
        r = int(np.flatnonzero(refuse)[0])
        what = "an error in ground truth" if kind == "gt" else "refused by --strict; the official scorer drops them"
        raise InputError(f"line {s.line[r]}: box {v[r, 1:5].tolist()} has x2 {'<' if kind == 'gt' else '<='} x1 or "
                         f"y2 {'<' if kind == 'gt' else '<='} y1 ({int(refuse.sum())} such rows; {what})",
                         file=path, video=s.videos[s.video[r]], frame=f"{v[r, 0]:g}", field="box")
    box_rows = np.flatnonzero(rows)
    empty = np.flatnonzero(~rows)
    out = AvaBoxes(
        videos=s.videos, video=s.video[box_rows], timestamp=v[box_rows, 0].copy(),
        boxes=v[box_rows, 1:5].copy(), label=v[box_rows, 5].astype(np.int64),
        score=np.where(s.ncols[box_rows] == 8, v[box_rows, 6], 1.0),
        empty_video=s.video[empty], empty_timestamp=v[empty, 0].copy(), kind=kind)
    if labelmap is not None:
        out = filter_labels(out, labelmap)
    return out


def filter_labels(boxes: AvaBoxes, labelmap: Mapping[int, str]) -> AvaBoxes:
    """Drop rows whose action id is not in ``labelmap``; GT keyframes emptied this way stay known."""
    keep = np.isin(boxes.label, np.fromiter(labelmap, dtype=np.int64, count=len(labelmap)))
    if keep.all():
        return boxes
    gone = ~keep
    ev, et = boxes.empty_video, boxes.empty_timestamp
    if boxes.kind == "gt":
        ev = np.concatenate([ev, boxes.video[gone]])
        et = np.concatenate([et, boxes.timestamp[gone]])
    return AvaBoxes(boxes.videos, boxes.video[keep], boxes.timestamp[keep], boxes.boxes[keep],
                    boxes.label[keep], boxes.score[keep], ev, et, boxes.kind,
                    boxes.dropped_unknown + int(gone.sum()))


def _fmt_ts(t: float) -> str:
    """AVA timestamps are whole seconds written as 4 digits (``0902``); others keep full precision."""
    return f"{int(t):04d}" if float(t).is_integer() and t >= 0 else repr(float(t))


def write_ava_csv(path: str | Path, boxes: Iterable[KeyframeBox] | AvaBoxes, kind: str = "gt",
                  empty_keyframes: Iterable[tuple[str, float]] = (),
                  labelmap: Mapping[int, str] | None = None) -> None:
    """Write an AVA CSV. ``KeyframeBox.label`` is the action id (a class name needs ``labelmap``).

    GT rows take their last column (person id) from ``KeyframeBox.score`` cast to int; detection
    rows write the score with full precision (``repr``). ``empty_keyframes`` become 2-column rows.
    """
    if kind not in ("gt", "pred"):
        raise ValueError(f"kind must be 'gt' or 'pred', got {kind!r}")
    if isinstance(boxes, AvaBoxes):
        boxes = boxes.to_keyframe_boxes()
    by_name = {name: i for i, name in (labelmap or {}).items()}
    lines = []
    for b in boxes:
        lab = b.label
        if isinstance(lab, str) and not lab.strip().isdigit():
            if lab not in by_name:
                raise ValueError(f"label {lab!r} is not an action id and not in the label map")
            lab = by_name[lab]
        x1, y1, x2, y2 = (repr(float(c)) for c in np.asarray(b.box_norm, dtype=np.float64).reshape(4))
        last = str(int(b.score)) if kind == "gt" else repr(float(b.score))
        lines.append(f"{b.video_id},{_fmt_ts(b.timestamp)},{x1},{y1},{x2},{y2},{int(lab)},{last}\n")
    lines += [f"{v},{_fmt_ts(t)}\n" for v, t in empty_keyframes]
    write_atomic(path, "".join(lines))


def read_labelmap(path: str | Path) -> dict[int, str]:
    """Read a ``.pbtxt`` label map (``item { name: "..." id: N }``) into ``{id: name}``."""
    text = Path(path).read_text()
    out: dict[int, str] = {}
    problems = ProblemList(path)
    for k, m in enumerate(re.finditer(r"item\s*\{(.*?)\}", text, re.S), 1):
        body = m.group(1)
        name = re.search(r'\bname\s*:\s*"([^"]*)"', body) or re.search(r"\bname\s*:\s*'([^']*)'", body)
        cid = re.search(r"\b(?:label_)?id\s*:\s*(-?\d+)", body)
        if name is None or cid is None:
            problems.add(f"item {k} needs both 'name' and 'id'", field="id" if cid is None else "name")
            continue
        i = int(cid.group(1))
        if i < 1:
            problems.add(f"item {k}: class ids must be >= 1 (got {i})", field="id")
        elif i in out:
            problems.add(f"item {k}: duplicate id {i} ({out[i]!r} and {name.group(1)!r})", field="id")
        else:
            out[i] = name.group(1)
    if not out and not problems:
        problems.add("no 'item { name: ... id: ... }' entries found")
    problems.raise_if_any()
    return out


def write_labelmap(path: str | Path, classes: Mapping[int, str]) -> None:
    """Write ``{id: name}`` as a ``.pbtxt`` label map in the official layout."""
    write_atomic(path, "".join(f'item {{\n  name: "{name}"\n  id: {int(i)}\n}}\n' for i, name in classes.items()))


def read_exclusions(path: str | Path) -> list[tuple[str, float]]:
    """Read an exclusion list (``video,timestamp`` rows): keyframes removed from evaluation."""
    out, problems = [], ProblemList(path)
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split(",")
        if len(cols) != 2:
            problems.add(f"line {n}: expected 2 columns (video,timestamp), got {len(cols)}")
            continue
        try:
            t = float(cols[1])
            if not math.isfinite(t):
                raise ValueError
        except ValueError:
            problems.add(f"line {n}: timestamp {cols[1]!r} is not a number", video=cols[0], field="timestamp")
            continue
        out.append((cols[0], t))
    problems.raise_if_any()
    return out


# ----------------------------------------------------------------------------- validation
_COLS = ("video", "timestamp", "x1", "y1", "x2", "y2", "action")


def _diagnose_line(text: str, n: int, kind: str, found: list) -> None:
    """Explain why one line could not be parsed (called only for the few bad lines)."""
    cols = text.split(",")
    video = cols[0] or None
    frame = cols[1] if len(cols) > 1 else None
    if len(cols) not in (2, 7, 8):
        found.append((n, f"expected 2, 7 or 8 columns (video,timestamp[,x1,y1,x2,y2,action,"
                         f"{'person' if kind == 'gt' else 'score'}]), got {len(cols)}", video, frame, None))
        return
    if not cols[0]:
        found.append((n, "empty video id", None, frame, "video"))
    names = _COLS[1:] + ("person" if kind == "gt" else "score",)
    for name, c in zip(names, cols[1:]):
        try:
            float(c)
        except ValueError:
            found.append((n, f"{c!r} is not a number", video, frame, name))


def _add_rows(problems: ProblemList, found: list, s: CsvScan, mask: np.ndarray, message: str, field: str) -> None:
    """Queue one problem per row in ``mask`` (at most the list's limit; the rest are counted)."""
    rows = np.flatnonzero(mask)
    room = max(problems.limit - len(found), 0)
    problems.overflow += max(len(rows) - room, 0)
    for r in rows[:room].tolist():
        found.append((int(s.line[r]), message, s.videos[s.video[r]], f"{s.values[r, 0]:g}", field))


def validate_ava(path: str | Path, kind: str = "gt", labelmap: Mapping[int, str] | None = None, *,
                 _scan_result: CsvScan | None = None) -> ProblemList:
    """Check an AVA CSV and return EVERY problem found (each naming file, line, video, timestamp, field).

    Malformed lines (column count, non-numbers, empty video id), non-finite or negative timestamps,
    boxes that are non-finite, outside [0, 1] or empty (x2 <= x1, y2 <= y1), non-integer action ids,
    ids not in ``labelmap``, non-finite scores (``kind="pred"``) and non-integer person ids (``"gt"``).
    """
    problems = ProblemList(path)
    try:
        s = _scan_result or scan_csv(path)
    except InputError as e:
        problems.extend(e.problems)
        return problems
    found: list = []
    if s.bad_lines:
        text = Path(path).read_bytes().decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
        for n in s.bad_lines[: problems.limit]:
            _diagnose_line(text[n - 1], n, kind, found)
        problems.overflow += max(len(s.bad_lines) - problems.limit, 0)
    v, rows = s.values, s.ncols > 2
    with np.errstate(invalid="ignore"):
        _add_rows(problems, found, s, ~np.isfinite(v[:, 0]) | (v[:, 0] < 0),
                  "timestamp must be a finite number >= 0", "timestamp")
        for j, name in enumerate(_COLS[2:6], 1):
            x = v[:, j]
            _add_rows(problems, found, s, rows & ~np.isfinite(x), f"{name} is not finite", name)
            _add_rows(problems, found, s, rows & np.isfinite(x) & ((x < 0) | (x > 1)),
                      f"{name} is outside [0, 1] (boxes are normalized)", name)
        for lo, hi in ((1, 3), (2, 4)):
            a, b = _COLS[lo + 1], _COLS[hi + 1]
            _add_rows(problems, found, s, rows & (v[:, hi] < v[:, lo]), f"{b} < {a}", b)
            _add_rows(problems, found, s, rows & (v[:, hi] == v[:, lo]),
                      f"empty box ({b} == {a}); the official scorer drops it", b)
        act = v[:, 5]
        _add_rows(problems, found, s, rows & ~(np.isfinite(act) & (act == np.floor(act))),
                  "action id must be an integer", "action")
        if labelmap is not None:
            known = np.isin(act, np.fromiter(labelmap, dtype=np.float64, count=len(labelmap)))
            _add_rows(problems, found, s, rows & (act == np.floor(act)) & ~known,
                      "action id not in the label map (the official scorer drops the row)", "action")
        last = v[:, 6]
        if kind == "pred":
            _add_rows(problems, found, s, (s.ncols == 8) & ~np.isfinite(last), "score is not finite", "score")
        else:
            _add_rows(problems, found, s, (s.ncols == 8) & ~(np.isfinite(last) & (last == np.floor(last))),
                      "person id must be an integer", "person")
    for n, message, video, ts, fld in sorted(found, key=lambda t: t[0]):
        problems.add(f"line {n}: {message}", video=video, frame=ts, field=fld)
    return problems


def detect_kind(path: str | Path, head: int = 1 << 20) -> str:
    """Guess ``"gt"`` or ``"pred"`` from the first ``head`` bytes: GT's 8th column holds integers
    (person ids), detections' holds scores."""
    with open(path, "rb") as f:
        data = f.read(head).replace(b"\r\n", b"\n")
    data = data[:data.rfind(b"\n") + 1] if b"\n" in data else data + b"\n"
    _, _, _, ncols, values, _ = scan_chunk(data, 0)
    last = values[ncols == 8, 6]
    return "gt" if np.all(np.isfinite(last) & (last == np.floor(last))) else "pred"

"""Vectorized byte parser of AVA CSV files: whole lines in chunks of ``CHUNK`` bytes (bounded temporary
memory) over ``THREADS`` threads (numpy releases the GIL); unparsable lines are listed, not guessed."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deeperaction.errors import InputError

CHUNK = 1 << 23  # bytes parsed per vectorized step; bounds temporary memory
THREADS = min(2, os.cpu_count() or 1)  # chunks parsed in parallel


@dataclass
class CsvScan:
    """Result of the vectorized scan: good rows, plus the 1-based numbers of unparsable lines."""

    videos: list[str]
    video: np.ndarray
    line: np.ndarray
    ncols: np.ndarray
    values: np.ndarray  # (N, 7): timestamp, x1, y1, x2, y2, action, last (nan when absent)
    bad_lines: list[int]


def _uniform_decimals(block: np.ndarray, sel: np.ndarray, vals: np.ndarray) -> bool:
    """Fast path: every field of ``block`` (same width) has its '.' (or none) at the same column and
    only digits elsewhere -- the usual case. Fills ``vals[sel]`` and returns True, else False."""
    width = block.shape[1]
    dots = np.flatnonzero(block[0] == 46)
    dot = int(dots[0]) if len(dots) else width
    cols = [j for j in range(width) if j != dot]
    if not 1 <= len(cols) <= 15 or (dot < width and not (block[:, dot] == 46).all()):
        return False
    mant = np.zeros(len(block), np.int32 if len(cols) <= 9 else np.int64)
    for j in cols:
        d = block[:, j] - np.uint8(48)
        if (d > 9).any():
            return False
        mant *= 10
        mant += d
    vals[sel] = mant / (10.0 ** (width - dot - 1 if dot < width else 0))
    return True


def _mixed_decimals(block: np.ndarray, sel: np.ndarray, vals: np.ndarray, slow: np.ndarray) -> None:
    """General path for one width: group fields by dot column; non-decimals are marked ``slow``."""
    width = block.shape[1]
    isdot = block == 46
    ndots = isdot.sum(axis=1)
    dotpos = np.where(ndots > 0, isdot.argmax(axis=1), width)
    digits = block - np.uint8(48)
    good = ((digits < 10) | isdot).all(axis=1) & (ndots <= 1) & (width - ndots >= 1) & (width - ndots <= 15)
    slow[sel[~good]] = True
    for dot in np.flatnonzero(np.bincount(dotpos[good], minlength=width + 1)).tolist():
        sub = np.flatnonzero(good & (dotpos == dot))
        cols = [j for j in range(width) if j != dot]
        mant = digits[sub][:, cols].astype(np.float64) @ (10.0 ** np.arange(len(cols) - 1, -1, -1))
        vals[sel[sub]] = mant / (10.0 ** (width - dot - 1 if dot < width else 0))


def _parse_numbers(buf: bytes, ap: np.ndarray, fs: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse the byte fields ``buf[fs:fs+w]`` as floats (``w < 0``: skip); returns values and a 'bad' mask.

    Plain decimals (digits with at most one '.', <= 15 digits) are parsed exactly, grouped by width
    and dot position: mantissa by a BLAS dot product, then one correctly rounded division by a
    power of ten (so the value equals ``float(text)``). Anything else (signs, exponents, nan) goes
    through ``float()``.
    """
    n = len(fs)
    vals = np.zeros(n)
    slow = w > 16
    bad = w == 0
    for width in np.flatnonzero(np.bincount(np.clip(w, 0, 17), minlength=18)[1:17]) + 1:
        width = int(width)
        sel = np.flatnonzero(w == width)
        block = np.lib.stride_tricks.as_strided(ap, shape=(len(ap) - 32, width), strides=(1, 1))[fs[sel]]
        if not _uniform_decimals(block, sel, vals):
            _mixed_decimals(block, sel, vals, slow)
    for i in np.flatnonzero(slow).tolist():
        try:
            vals[i] = float(buf[fs[i]:fs[i] + w[i]])
        except ValueError:
            bad[i] = True
    return vals, bad


def scan_chunk(buf: bytes, line0: int) -> tuple:
    """Scan one chunk of whole lines (ending with a newline): video names of the chunk, then per good
    line its video (index into those names), line number, column count and numbers; bad lines."""
    a = np.frombuffer(buf, np.uint8)
    ap = np.concatenate([a, np.zeros(32, np.uint8)])
    delim = np.flatnonzero((a == 44) | (a == 10))
    i1 = np.flatnonzero(a[delim] == 10)          # field index of each line's last field
    i0 = np.concatenate(([0], i1[:-1] + 1))      # ... and of its first field (the video id)
    ncols = i1 - i0 + 1
    lineno = line0 + np.arange(1, len(i1) + 1)
    fs = np.concatenate(([0], delim[:-1] + 1))
    w = delim - fs
    blank = (ncols == 1) & (w[i0] == 0)
    good = ~blank & np.isin(ncols, (2, 7, 8)) & (w[i0] > 0)
    gl = np.flatnonzero(good)
    nc = int(ncols[0]) if len(ncols) else 0
    if good.all() and (ncols == nc).all():       # the usual file: every line has the same columns
        wn = w.copy()
        wn[i0] = -1                              # skip the video ids
        vals, badf = _parse_numbers(buf, ap, fs, wn)
        out = np.full((len(gl), 7), np.nan)
        out[:, :nc - 1] = vals.reshape(-1, nc)[:, 1:]
        badline = badf.reshape(-1, nc).any(axis=1)
    else:
        wn = np.full(len(fs), -1, np.int64)      # parse only numeric fields of good lines
        for j in range(1, 8):
            has = gl[ncols[gl] > j]
            wn[i0[has] + j] = w[i0[has] + j]
        vals, badf = _parse_numbers(buf, ap, fs, wn)
        nnum = ncols[gl] - 1
        out = np.full((len(gl), 7), np.nan)
        badline = np.zeros(len(gl), bool)
        for j in range(7):
            has = nnum > j
            idx = i0[gl[has]] + 1 + j
            out[has, j] = vals[idx]
            badline[has] |= badf[idx]
    # video ids: runs of equal first fields, decoded once per run
    vs, vw = fs[i0[gl]], w[i0[gl]]
    width = int(vw.max()) if len(vw) else 1
    vp = ap if width <= 32 else np.concatenate([a, np.zeros(width, np.uint8)])
    V = np.lib.stride_tricks.as_strided(vp, shape=(len(a), width), strides=(1, 1))[vs]
    V[np.arange(width)[None, :] >= vw[:, None]] = 0
    change = np.ones(len(gl), bool)
    change[1:] = (V[1:] != V[:-1]).any(axis=1)
    heads = np.flatnonzero(change)
    names = [b.decode("utf-8", "replace") for b in V[heads].view(f"S{width}").ravel().tolist()]
    video = (np.cumsum(change) - 1).astype(np.int32)
    bad = sorted(set(lineno[~good & ~blank].tolist()) | set(lineno[gl[badline]].tolist()))
    keep = ~badline
    return names, video[keep], lineno[gl][keep], ncols[gl][keep], out[keep], bad


def _utf8_prefix(b: bytes) -> bool:
    """Whether ``b`` is UTF-8 text, allowing a character cut at its end."""
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError as e:
        return e.start >= len(b) - 3 and e.reason == "unexpected end of data"


def scan_csv(path: str | Path) -> CsvScan:
    """Vectorized scan of a whole AVA CSV file, in chunks of whole lines (bounded temporary memory)
    spread over ``THREADS`` threads (numpy releases the GIL); results are merged in file order."""
    data = Path(path).read_bytes()
    head = data[:1 << 16]
    if b"\0" in head or not _utf8_prefix(head):
        raise InputError("not a CSV text file (binary data: a video or an archive?); AVA files are CSV lines "
                         "video,timestamp,x1,y1,x2,y2,action[,person|score]", file=path)
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    if data and not data.endswith(b"\n"):
        data += b"\n"
    spans, pos, line0 = [], 0, 0
    while pos < len(data):
        end = data.rfind(b"\n", pos, pos + CHUNK) + 1 if pos + CHUNK < len(data) else len(data)
        if end <= pos:  # a single line longer than the chunk
            end = data.find(b"\n", pos) + 1
        spans.append((pos, end, line0))
        line0 += data.count(b"\n", pos, end)
        pos = end
    work = lambda span: scan_chunk(data[span[0]:span[1]], span[2])  # noqa: E731
    if THREADS > 1 and len(spans) > 1:
        with ThreadPoolExecutor(THREADS) as pool:
            parts = list(pool.map(work, spans))
    else:
        parts = [work(sp) for sp in spans]
    vocab: dict[str, int] = {}
    videos, bad = [], []
    for names, v, _, _, _, b in parts:
        ids = np.array([vocab.setdefault(n, len(vocab)) for n in names] + [0], dtype=np.int32)
        videos.append(ids[v])
        bad += b
    if not parts:
        return CsvScan([], np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int64),
                     np.zeros((0, 7)), [])
    cat = [np.concatenate([p[i] for p in parts]) for i in (2, 3, 4)]
    return CsvScan(list(vocab), np.concatenate(videos), cat[0], cat[1], cat[2], bad)

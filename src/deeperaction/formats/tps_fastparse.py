"""Vectorized scan of a Kinetics-TPS part file in its regular JSON layout (raw bytes -> tokens, numbers).

Whole-array numpy passes find strings, numbers and brackets; one regular expression checks the token
skeleton against the exact official layout (keys ``humans``/``box``/``parts``/``verb`` in that order);
numbers are parsed in bulk, bit for bit as ``float()``. Anything else (escapes, exponents, literals,
other keys or key order, odd numbers) gives None and the caller parses with the standard library:
never a different result, only slower.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

_NUM_RE = re.compile(rb"(-?(?:0|[1-9]\d*))(\.\d+)?")  # json's number form without the exponent
_POW10 = np.array([float(10**k) for k in range(23)])  # exact doubles
_CODE = np.full(256, ord("x"), np.uint8)  # token code by first byte; x = never valid
for _c in b"{}[]:,":
    _CODE[_c] = _c
for _c in b"-0123456789":
    _CODE[_c] = ord("n")
_CODE[ord('"')] = ord("s")
_KEYWORDS = {b"humans": ord("H"), b"box": ord("B"), b"parts": ord("P"), b"verb": ord("V")}


@functools.cache
def layout(kind: str) -> re.Pattern:
    """The token skeleton of a whole part file: s string, n number, H/B/P/V the four keys. Humans and
    parts may hold other keys with a number or string value (official files have "number", "name")."""
    def items(x: str) -> str:  # possessive: the layout is deterministic, so nothing to backtrack
        return rf"(?:{x}(?:,{x})*+)?+"
    pre, post = "(?:s:[ns],)*+", "(?:,s:[ns])*+"
    box = r"\[n,n,n,n\]"
    verb = "s" if kind == "gt" else rf"\[{items('s')}\]"
    boxes = box if kind == "gt" else rf"\[{items(box)}\]"
    part = rf"\{{{pre}B:{boxes},{pre}V:{verb}{post}\}}"
    human = rf"\{{{pre}B:{box},{pre}P:\{{{items('s:' + part)}\}}{post}\}}"
    frame = rf"\{{H:\[{items(human)}\]\}}"
    video = rf"\{{{items('s:' + frame)}\}}"
    return re.compile(rf"\{{{items('s:' + video)}\}}".encode())


@dataclass
class Scan:
    """Tokens of a part file that has the official layout: codes, strings and numbers."""

    b: np.ndarray  # the file's bytes (uint8)
    sk: np.ndarray  # (T+4,) token codes; 4 trailing zeros
    str_tok: np.ndarray  # token index of every string but keywords and extra values
    str_lo: np.ndarray  # byte index of its first character
    str_hi: np.ndarray  # byte index of its closing quote
    num_tok: np.ndarray  # token index of every box number
    num: np.ndarray  # float64 values


def _string_mask(qm: np.ndarray) -> np.ndarray:
    """True from each opening quote up to (not including) its closing quote: prefix parity of quotes,
    computed 64 bytes at a time on packed bits."""
    n = qm.size
    pad = (-n) % 64
    bits = np.packbits(np.concatenate([qm, np.zeros(pad, bool)]) if pad else qm, bitorder="little")
    w = bits.view("<u8").copy()
    for s in (1, 2, 4, 8, 16, 32):
        w ^= w << np.uint64(s)
    carry = np.bitwise_xor.accumulate((w >> np.uint64(63)).astype(np.uint8))
    w[1:] ^= np.uint64(0) - carry[:-1].astype(np.uint64)
    return np.unpackbits(w.view(np.uint8), bitorder="little", count=n).view(bool)


def scan(data: bytes, kind: str) -> Scan | None:
    """Tokens and numbers of ``data`` if it is a part file in the official layout, else None."""
    b = np.frombuffer(data, np.uint8)
    if b.size < 2 or (b == 92).any():  # backslash escapes: leave to the standard library
        return None
    qm = b == 34
    q = np.flatnonzero(qm)
    if q.size % 2:
        return None
    outside = ~(_string_mask(qm) ^ qm)  # outside strings, or an opening quote
    low = b < 32
    if low.any():  # raw control characters are only allowed as whitespace between tokens
        if (low & ~outside).any():
            return None
        ws = (b == 32) | (b == 9) | (b == 10) | (b == 13)
    else:
        ws = b == 32
    if (b >= 128).any():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    num = (b - np.uint8(45)) < 13  # - . / 0-9: a run of these is one number token
    start = outside & ~ws
    del ws, low, qm
    start[1:] &= ~(num[1:] & num[:-1])
    sk = np.frombuffer(b[start].tobytes().translate(_CODE.tobytes()) + bytes(4), np.uint8).copy()
    str_tok = np.flatnonzero(sk == ord("s"))
    lo, hi = q[0::2] + 1, q[1::2]
    key = np.flatnonzero(sk[str_tok + 1] == ord(":"))
    klen = hi[key] - lo[key]
    for word, code in _KEYWORDS.items():
        k = key[klen == len(word)]
        for j, c in enumerate(word):
            k = k[b[lo[k] + j] == c]
        sk[str_tok[k]] = code
    if layout(kind).fullmatch(sk[:-4].tobytes()) is None:
        return None
    num &= outside
    del outside
    last = num.copy()
    last[:-1] &= ~num[1:]
    start &= num
    del num
    ends = np.flatnonzero(last) + 1
    del last
    values = numbers(b, ends, start)
    if values is None:
        return None
    num_tok = np.flatnonzero(sk == ord("n"))
    box_num = sk[num_tok - 1] != ord(":")  # not the value of an extra key ("number": 1)
    extra_str = (sk[str_tok - 1] == ord(":")) & (sk[str_tok - 2] == ord("s"))  # ("name": "head")
    keep = (sk[str_tok] == ord("s")) & ~extra_str
    return Scan(b, sk, str_tok[keep], lo[keep], hi[keep], num_tok[box_num], values[box_num])


_ONES = np.uint64(0x0101010101010101)


def _u64_windows(b: np.ndarray) -> np.ndarray:
    """``u[end]`` = the 8 bytes before ``end`` as a little-endian uint64 (zeros before the file start)."""
    padded = np.concatenate([np.zeros(8, np.uint8), b])
    return np.ndarray(shape=(padded.size - 7,), dtype="<u8", buffer=padded, strides=(1,))


def _eight_digits(w: np.ndarray, nd: np.ndarray) -> np.ndarray:
    """Value of the last ``nd`` (1..8) ASCII digits of each word (earlier bytes count as '0')."""
    zero = _ONES * np.uint64(0x30)
    keep = np.left_shift(np.uint64(2**64 - 1), (8 * (8 - nd)).astype(np.uint64))
    x = ((w & keep) | (zero & ~keep)) - zero
    x = (x * np.uint64(10) + (x >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    x = (x * np.uint64(100) + (x >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    return ((x * np.uint64(10000) + (x >> np.uint64(32))) & np.uint64(0xFFFFFFFF)).astype(np.int64)


def numbers(b: np.ndarray, end: np.ndarray, start: np.ndarray) -> np.ndarray | None:
    """The number tokens ending at ``end`` as float64, bit for bit what ``json`` + ``np.array`` give
    (an integer converts exactly, a decimal is ``float(text)``); None if one is not a JSON number.

    Integers of up to 7 digits are read 8 bytes at a time (SWAR); the rest column by column, where
    up to 15 digits the mantissa and the power of ten are exact doubles, so one IEEE division rounds
    correctly (Clinger's fast path), and 16-17 digits go through numpy's exact string cast.
    ``start`` marks the first byte of every number (only looked at for the slow rows).
    """
    first, u = np.flatnonzero(start), _u64_windows(b)
    out = np.empty(end.size)
    for i in range(0, end.size, _CHUNK):  # bounded temporaries: about 100 bytes per number of a chunk
        part = _numbers_at(b, u, end[i:i + _CHUNK], first[i:i + _CHUNK])
        if part is None:
            return None
        out[i:i + _CHUNK] = part
    return out


_CHUNK = 1 << 20


def _numbers_at(b: np.ndarray, u: np.ndarray, end: np.ndarray, first: np.ndarray) -> np.ndarray | None:
    """:func:`numbers` for tokens from ``first`` to ``end`` (index arrays); ``u`` from _u64_windows."""
    w = u[end]
    hi = np.uint64(0x30) * _ONES
    e = (w & (np.uint64(0xF0) * _ONES)) ^ hi  # zero bytes: high nibble 3
    low7 = np.uint64(0x7F) * _ONES
    bad = (((e & low7) + low7) | e) | ((((w & (np.uint64(0x0F) * _ONES)) + np.uint64(6) * _ONES)
                                        & (np.uint64(0x10) * _ONES)) << np.uint64(3))
    bad &= np.uint64(0x80) * _ONES  # bit 7 of each byte that is not a digit
    top = np.frexp(bad.astype(np.float64))[1] - 1  # highest non-digit byte's bit 7 (-1 if none)
    nd = 7 - (top >> 3)  # trailing digits
    below = np.right_shift(w, (8 * (7 - nd)).astype(np.uint64)) & np.uint64(0xFF)  # byte before them
    neg = below == 45
    before = np.right_shift(w, (8 * np.maximum(6 - nd, 0)).astype(np.uint64)) & np.uint64(0xFF)
    stop = lambda c: (c - np.uint64(45)) & np.uint64(0xFF) >= 13  # noqa: E731 - not a number byte
    lead = (np.right_shift(w, (8 * (8 - nd)).astype(np.uint64)) & np.uint64(0xFF)) == 48
    simple = (nd >= 1) & (nd <= 7) & ~(lead & (nd > 1))
    simple &= np.where(neg, (nd <= 6) & stop(before), stop(below))
    v = _eight_digits(w, np.clip(nd, 1, 8))
    out = np.where(neg, -v, v).astype(np.float64)  # integers: "-0" is int 0 in json
    rest = np.flatnonzero(~simple)
    if rest.size:
        vals = _general(b, first[rest], end[rest])
        if vals is None:
            return None
        out[rest] = vals
    return out


def _general(b: np.ndarray, pos: np.ndarray, end: np.ndarray) -> np.ndarray | None:
    """Decimals, long and odd numbers, one byte column at a time (see ``numbers``)."""
    n = pos.size
    length = end - pos
    width = int(min(length.max(), 17))
    padded = np.concatenate([b, np.zeros(width, np.uint8)])
    neg = b[pos] == 45
    mant = np.zeros(n, np.int64)
    ndig = np.zeros(n, np.int64)
    ndot = np.zeros(n, np.int64)
    dot_at = length.copy()
    lead = np.zeros(n, bool)
    for j in range(width):
        c = padded[pos + j].astype(np.int64)
        inrun = j < length
        dig = (c >= 48) & (c <= 57) & inrun
        mant = np.where(dig, mant * 10 + (c - 48), mant)
        if j == 0:
            lead = (c == 48) | neg & (padded[pos + 1] == 48)
            first_dig = dig | neg & (padded[pos + 1] >= 48) & (padded[pos + 1] <= 57)
        dot = (c == 46) & inrun
        dot_at = np.where(dot & (ndot == 0), j, dot_at)
        ndig += dig
        ndot += dot
    first = neg.astype(np.int64)
    has_dot = ndot > 0
    form = (ndig + first + ndot == length) & (ndot <= 1) & first_dig & (length <= 17)
    form &= ~has_dot | (dot_at > first) & (dot_at < length - 1)
    int_len = np.where(has_dot, dot_at, length) - first
    form &= ~(lead & (int_len > 1))  # no leading zeros
    out = np.where(neg, -mant, mant).astype(np.float64)
    fl = np.flatnonzero(has_dot & form & (ndig <= 15))
    v = mant[fl] / _POW10[(length - 1 - dot_at)[fl]]
    out[fl] = np.where(neg[fl], -v, v)
    long = np.flatnonzero(form & (ndig > 15))  # 16-17 digits (integers stay below 2**63)
    if long.size:
        m = np.lib.stride_tricks.sliding_window_view(padded, width)[pos[long]]
        m = m * (np.arange(width) < length[long, None])
        out[long] = m.view(f"S{width}").ravel().astype(np.float64)
    for i in np.flatnonzero(~form):  # longer than 17 characters, or not a number
        mt = _NUM_RE.fullmatch(b[pos[i]:end[i]].tobytes())
        if mt is None or mt.group(2) is None:  # malformed, or a huge integer: the stdlib decides
            return None
        out[i] = float(mt.group(0))
    return out

"""JSON loading shared by the readers: the garbage collector paused while millions of small objects are
built, msgspec's decoder (2-3x the standard library's speed), and decode errors as one InputError line
naming file, line and column (the standard library explains them)."""
from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deeperaction.errors import InputError

import msgspec


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: building millions of small lists/dicts otherwise triggers
    repeated full collections (2-3x slower parsing); nothing parsed from JSON is cyclic."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_json(path: str | Path) -> Any:
    """Parse a JSON file; bad bytes or syntax become an InputError naming the file, line and column."""
    path = Path(path)
    data = path.read_bytes()
    with no_gc():
        try:
            return msgspec.json.decode(data)
        except msgspec.DecodeError:
            pass  # let the standard parser explain (and accept NaN, which validation then names)
        try:
            return json.loads(data)
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 text ({e.reason} at byte {e.start})", file=path) from None
        except json.JSONDecodeError as e:
            end = e.pos >= len(e.doc.rstrip()) or e.msg.startswith("Unterminated string")
            what = "truncated JSON: unexpected end of file" if end else f"malformed JSON: {e.msg}"
            raise InputError(f"{what} (line {e.lineno}, column {e.colno})", file=path) from None

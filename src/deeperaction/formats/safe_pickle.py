"""Load pickles that may only hold numpy arrays/dtypes/scalars and plain containers.

Official MultiSports files are pickles, and unpickling runs code named in the file. This loader admits
only the few callables numpy needs to rebuild arrays; anything else (``os.system``, ``builtins.eval``,
any class) is refused with an :class:`InputError` naming the file before it can run.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from deeperaction.errors import InputError

# (module, name) pairs that rebuild numpy arrays, dtypes and scalars, under numpy 1.x and 2.x names.
_ALLOWED: dict[tuple[str, str], Any] = {}
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_mod, "_reconstruct")] = np.core.multiarray._reconstruct
    _ALLOWED[(_mod, "scalar")] = np.core.multiarray.scalar
for _mod in ("numpy.core.numeric", "numpy._core.numeric"):
    _ALLOWED[(_mod, "_frombuffer")] = np.core.numeric._frombuffer
_ALLOWED[("numpy", "ndarray")] = np.ndarray
_ALLOWED[("numpy", "dtype")] = np.dtype
# protocol-2 pickles store bytes as codecs.encode(str, "latin1"); harmless (str -> bytes)
_ALLOWED[("_codecs", "encode")] = __import__("_codecs").encode
for _mod in ("builtins", "__builtin__"):  # protocol <= 2 spell bytes/bytearray through these
    _ALLOWED[(_mod, "bytes")] = bytes
    _ALLOWED[(_mod, "bytearray")] = bytearray


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler whose global lookups are limited to :data:`_ALLOWED`."""

    def __init__(self, fh, file: str):
        super().__init__(fh, encoding="latin1")  # latin1: Python 2 pickles of numpy arrays load too
        self._file = file

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise InputError(f"refused to unpickle '{module}.{name}': only numpy arrays and plain "
                             "containers are allowed in this file", file=self._file) from None

    def persistent_load(self, pid: Any) -> Any:
        raise InputError("refused to unpickle a persistent id", file=self._file)


def safe_loads(data: bytes, file: str | Path = "<bytes>") -> Any:
    """Unpickle ``data`` with the restricted loader; any refusal or corruption is an InputError."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), str(file)).load()
    except InputError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError, UnicodeDecodeError, OverflowError) as e:
        msg = "truncated pickle (unexpected end of file)" if isinstance(e, EOFError) else \
            f"not a readable pickle ({type(e).__name__}: {e})"
        raise InputError(msg, file=file) from None


def safe_load(path: str | Path) -> Any:
    """Read and unpickle the file at ``path`` with the restricted loader (see :func:`safe_loads`)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(21, "is a directory", str(path))
    return safe_loads(path.read_bytes(), path)

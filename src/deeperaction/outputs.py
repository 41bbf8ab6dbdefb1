"""Output places: checked before any long work (one line, exit 2, when they cannot be written) and files
written whole (a temporary file renamed into place: a failure or a reader never sees half a file)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from deeperaction.errors import InputError


def _cannot_write(path: Path, option: str, why: str) -> InputError:
    return InputError(f"cannot write here: {why}", file=path, field=option)


def ensure_output_folder(path: str | Path, option: str = "--out") -> Path:
    """Check, before any long work, that ``path`` can be an output folder: not a file, created if missing,
    writable (a file is made and removed, so read-only mounts and permissions are both caught)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise _cannot_write(path, option, "it is a file, expected a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write_check_", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise _cannot_write(path, option, (e.strerror or str(e)).lower()) from None
    return path


def ensure_output_file(path: str | Path, option: str = "--out") -> Path:
    """Check, before any long work, that the file ``path`` can be written: not a folder, and its folder (created
    if missing) writable."""
    path = Path(path)
    if path.is_dir():
        raise _cannot_write(path, option, "it is a folder, expected a file name")
    ensure_output_folder(path.parent if str(path.parent) else Path("."), option)
    return path


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename (the file gets
    the usual permissions: 0o666 less the umask)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path

"""The one way this package replaces a file: never half-written, durable once it returns.

The data goes to a temporary file in a hidden folder next to the target (same file system, so the
rename is atomic; same name as the target, so a validator reading it sees the right suffix), is
flushed and fsync'd, optionally validated, then ``os.replace``d over the target; the directory is
fsync'd so the rename itself survives a crash. A crash, a refusal or a full disk leaves the old
file intact. The new file keeps the old file's permission bits; a new file gets ``0666 & ~umask``
(an ordinary file to share, not ``mkstemp``'s private ``0600``).

No imports from the rest of the package: every layer may use it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

__all__ = ["atomic_write_bytes", "atomic_write_chunks", "atomic_write_text"]

T = TypeVar("T")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, validate: Callable[[Path], T] | None = None) -> T | None:
    """Replace ``path`` with ``data`` atomically (see the module docstring).

    ``validate(tmp_path)`` runs on the complete temporary file before the rename; whatever it
    raises aborts the write (the target is untouched) and its return value is returned."""
    return _write(Path(path), (data,), validate)


def atomic_write_chunks(
    path: str | os.PathLike[str], chunks: Iterable[bytes], *, validate: Callable[[Path], T] | None = None
) -> T | None:
    """:func:`atomic_write_bytes` of the concatenated ``chunks``, written as they come: a big
    document is never held whole. Whatever the iterable raises aborts the write (the target is
    untouched)."""
    return _write(Path(path), chunks, validate)


def atomic_write_text(
    path: str | os.PathLike[str],
    text: str,
    *,
    encoding: str = "utf-8",
    newline: str | None = "",
    validate: Callable[[Path], T] | None = None,
) -> T | None:
    """:func:`atomic_write_bytes` for text. ``newline`` as for :func:`open`: the default ``""``
    writes the text's own line endings unchanged; ``None`` would translate ``\\n`` to
    :data:`os.linesep`."""
    if newline is None:
        text = text.replace("\n", os.linesep)
    elif newline:
        text = text.replace("\n", newline)
    return _write(Path(path), (text.encode(encoding),), validate)


def _write(path: Path, chunks: Iterable[bytes], validate: Callable[[Path], T] | None) -> T | None:
    directory = path.parent if str(path.parent) else Path(".")
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=directory))
    tmp = tmp_dir / path.name
    try:
        with open(tmp, "wb") as f:
            for data in chunks:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        result = validate(tmp) if validate is not None else None
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp_dir.rmdir()
    _fsync_dir(directory)
    return result


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable where the platform allows it (not on Windows)."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

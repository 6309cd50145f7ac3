"""The store's errors and the one line the user reads about an SQLite error (damaged, locked,
read-only, full disk), and whether this process can write a store file at all."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from ..errors import ReviewerError

__all__ = [
    "StoreDamaged", "StoreError", "StoreReadOnly", "damaged_message", "sqlite_error_message", "why_not_writable",
]  # fmt: skip


class StoreError(ReviewerError):
    """A problem with the store file itself (not SQLite, newer schema, unknown id)."""


class StoreDamaged(StoreError):
    """The file fails SQLite's own checks: pages overwritten, truncated, not a database."""


class StoreReadOnly(StoreError):
    """The store cannot be written (read-only file system, immutable file, permissions, full disk)."""


#: The store most recently opened in this process: ``cli.main`` names it when an SQLite error
#: reaches it (one line, exit 2) instead of a traceback.
last_opened: Path | None = None

# SQLite primary result codes (sqlite3.h); Python 3.11 exposes them on the exception.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26


def _code(e: BaseException) -> int | None:
    code = getattr(e, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def damaged_message(path: Path | str, problem: str) -> str:
    return (
        f"the store {path} is damaged ({problem}): run `sqlite3 {path} 'PRAGMA integrity_check'` "
        f"(or `reviewer doctor --db {path}`), restore from a copy"
    )


def why_not_writable(path: Path | str) -> str | None:
    """Why this process cannot write the store file (and the -wal/-shm next to it), or None.
    Asks the OS rather than the mode bits: root can write a 0444 file, nobody an immutable one."""
    path = Path(path)
    if path.exists():
        try:
            os.close(os.open(path, os.O_RDWR))
        except OSError as e:
            return _os_reason(e, path)
    parent = path.parent if str(path.parent) else Path(".")
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        try:
            if os.statvfs(parent).f_flag & os.ST_RDONLY:
                return f"{parent} is on a read-only file system"
        except OSError:
            pass
        return f"its directory {parent} is not writable (SQLite keeps -wal and -shm files next to the store)"
    return None


def _os_reason(e: OSError, path: Path) -> str:
    if e.errno == errno.EROFS:
        return "it is on a read-only file system"
    if e.errno == errno.EPERM:
        return f"the file is immutable or append-only (see `lsattr {path}`; `chattr -i` to change it)"
    if e.errno == errno.EACCES:
        return "permission denied"
    if e.errno == errno.ENOSPC:
        return "the disk is full"
    return e.strerror or str(e)


def _clean(text: str, limit: int = 200) -> str:
    """An error's text as one short printable line (it can quote the damaged bytes it met)."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "…"


def _disk_full(path: Path) -> bool:
    """Less than 64 KiB free where the store lives (SQLite reports a full disk as an I/O error
    when it is the WAL index that cannot grow)."""
    try:
        st = os.statvfs(path.parent if str(path.parent) else ".")
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 65536


def sqlite_error_message(e: sqlite3.Error, path: Path | str | None = None) -> str:
    """One line for the user about an SQLite error: what happened to which file, and what to do."""
    path = path if path is not None else last_opened
    where = f"the store {path}" if path is not None else "the store"
    code = _code(e)
    if str(e).startswith("Could not decode to UTF-8"):  # raised by Python's sqlite3 on a garbled text cell
        column = str(e).split("'")[1] if str(e).count("'") >= 2 else "a text column"
        return damaged_message(path or "FILE", f"column {_clean(column, 40)} holds bytes that are not UTF-8")
    if code in (_CORRUPT, _NOTADB) or (code is None and "malformed" in str(e)):
        return damaged_message(path or "FILE", _clean(str(e)))
    if code in (_BUSY, _LOCKED):
        waited = getattr(e, "waited_s", None)
        waited = f"waited {waited:.0f} s" if waited is not None else str(e)
        return f"{where} is locked by another process ({waited}): nothing was changed; try again when it has finished"
    if code == _READONLY:
        why = why_not_writable(path) if path is not None else None
        return f"cannot write {where}: {why or e}; nothing was changed"
    if code == _FULL or (code == _IOERR and path is not None and _disk_full(Path(path))):
        return f"cannot write {where}: the disk is full ({e}); nothing was changed, free some space and retry"
    if code == _CANTOPEN:
        why = why_not_writable(path) if path is not None else None
        return f"cannot open {where}: {why or e}"
    if code == _IOERR:
        return f"{where}: disk I/O error ({e}); check the disk, then `reviewer doctor --db {path}`"
    return f"{where}: {_clean(str(e))}"

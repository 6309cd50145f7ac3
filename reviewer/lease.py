"""A lease on a comparison: one ``reviewer run`` at a time replays a given comparison of a store.

Two identical ``reviewer run`` commands started together would otherwise both find the comparison
unfinished and make every call twice. The lease is an OS lock (``fcntl.flock``) on a small file next
to the store, named after the comparison's resume key: the kernel drops it when its holder exits,
however it exits (``kill -9`` included), so a stale file never blocks anyone. The holder writes its
pid and command into the file, so a waiting process can say whom it waits for.

The holder removes the file when it is done. A waiter that got the lock on a file that was removed
meanwhile (its inode is no longer the one at the path) lets go and tries again on the new file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import ReviewerError

__all__ = ["DEFAULT_WAIT", "Holder", "Lease", "LeaseBusy", "lease_path"]

#: Seconds a second ``reviewer run`` waits for the first by default.
DEFAULT_WAIT = 600.0
POLL = 0.1


class LeaseBusy(ReviewerError):
    """Another process held the lease for longer than we were willing to wait."""


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int | None
    command: str
    since: str

    def describe(self) -> str:
        who = f"process {self.pid}" if self.pid else "another process"
        return who + (f" ({self.command})" if self.command else "") + (f", since {self.since}" if self.since else "")


def lease_path(store_path: str | Path, key: str) -> Path:
    """The lock file of the comparison with resume key ``key`` in the store at ``store_path``."""
    p = Path(store_path)
    return p.with_name(f"{p.name}.lease-{key[:16]}")


_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")
_SECRET_QUERY = re.compile(r"([?&;][^=&\s]*(?:key|token|secret|pass|sig|auth)[^=&\s]*=)[^&\s]*", re.I)
_SECRET_PARAM = re.compile(r"^([^=]*(?:key|token|secret|pass|auth)[^=]*=).*$", re.I)


def scrub_command(argv: list[str]) -> str:
    """The command line without credentials: no userinfo in URLs, no secret-looking query values or
    ``--param`` values."""
    out = []
    for a in argv:
        a = _SECRET_QUERY.sub(r"\1***", _USERINFO.sub("", a))
        out.append(a if "://" in a else _SECRET_PARAM.sub(r"\1***", a))
    return shlex.join(out)


def _holder(path: Path) -> Holder:
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
        doc: Any = json.loads(raw) if raw.strip() else {}
    except (OSError, ValueError):
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    pid = doc.get("pid")
    return Holder(pid if isinstance(pid, int) else None, str(doc.get("command") or ""), str(doc.get("since") or ""))


class Lease:
    """``with Lease(path, wait=…, on_wait=…):`` hold the lease while the block runs.

    ``on_wait(holder, wait)`` is called once, when the lease is held by someone else and we start
    waiting; :class:`LeaseBusy` is raised after ``wait`` seconds (0: at once)."""

    def __init__(self, path: str | Path, *, wait: float = DEFAULT_WAIT, command: list[str] | None = None,
                 on_wait: Callable[[Holder, float], None] | None = None):  # fmt: skip
        self.path = Path(path)
        self.wait = wait
        self.command = scrub_command(command if command is not None else ["reviewer", *sys.argv[1:]])
        self.on_wait = on_wait
        self._fd: int | None = None
        self.waited = 0.0
        self.acquired = False  # once acquired, stays True after release
        self.contended = False  # another process held it when we came

    def _try(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise ReviewerError(f"cannot create the lease file {self.path}: {e.strerror or e}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise ReviewerError(f"cannot lock the lease file {self.path}: {e.strerror or e}") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the previous holder removed the file after we opened it: try the new one
            os.close(fd)
            return False
        self._fd = fd
        return True

    def acquire(self) -> None:
        start = time.monotonic()
        told = False
        while not self._try():
            if not self.path.exists():
                continue  # removed by a holder that just finished: the next try creates it
            holder = _holder(self.path)
            elapsed = time.monotonic() - start
            if elapsed >= self.wait:
                waited = f"waited {elapsed:.0f} s" if self.wait else "not waiting (--wait-lease 0)"
                raise LeaseBusy(f"{holder.describe()} is running this comparison in the same store "
                                f"({self.path}); {waited}: let it finish, or raise --wait-lease")  # fmt: skip
            if not told:
                self.contended = told = True
                if self.on_wait is not None:
                    self.on_wait(holder, self.wait)
            time.sleep(min(POLL, max(self.wait - elapsed, 0.0)))
        self.waited = time.monotonic() - start
        self.acquired = True
        assert self._fd is not None
        info = {"pid": os.getpid(), "command": self.command, "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, (json.dumps(info) + "\n").encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # while still locked: a waiter sees the inode change and retries
        os.close(self._fd)  # drops the lock
        self._fd = None

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

"""Text a big export makes in a forked child while this process still builds the changelog.

From :data:`FORK_FROM` cases on, on Linux with no other thread running but the store's check, a
child forked when the build's cases are final (``build_changelog``'s ``cases_ready``) makes text
this process would otherwise make after the build: the JSON export's rows and the review state
digest its head needs (:class:`~.jsondoc.RowsAhead`), the Markdown export's diff excerpts
(:class:`~.markdown.ExcerptsAhead`). The other core is idle meanwhile: the build's sums take
~2 s at 100,000 cases, on one core.

The child (:class:`Child`) runs at nice +10, writes a temporary file (and, first, one short value
to a pipe), and leaves through ``os._exit``: no exit handler of this process runs twice. A child
that fails leaves its work to this process, which makes the same text; so does one that has not
finished after :data:`CHILD_WAIT_S` (stuck, or starved on a busy machine): it is killed, and an
export never waits on it for ever. An :class:`Ahead` is a context manager: leaving it kills and
reaps a child that no writer took (the build, the store's check or the command failed after the
fork) and removes its file; a child whose parent is gone (killed by a signal) removes its file
and stops at its next write.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from typing import Any, Self, TextIO

from ...store import CHECK_THREAD, lower_thread_priority

__all__ = ["CHILD_WAIT_S", "FORK_FROM", "Ahead", "Child", "may_fork"]

#: From this many cases on a fork pays: a forked child makes part of a big export's text (the
#: rows are ~80% of a JSON export's writing time) on the core the build leaves idle.
FORK_FROM = 20_000
#: How long the writer waits for a child's text (which takes ~2 s at 100,000 cases) before it
#: kills the child and makes the text itself.
CHILD_WAIT_S = 60.0


class _Orphaned(Exception):
    pass


class _Watched:
    """The child's file, which stops the child at a write once its parent is gone."""

    def __init__(self, out: TextIO, parent: int) -> None:
        self._out, self._parent = out, parent

    def write(self, text: str) -> int:
        if os.getppid() != self._parent:
            raise _Orphaned
        return self._out.write(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)


def may_fork() -> bool:
    """Whether a fork is safe here and now. A fork copies only the calling thread: the child could
    inherit a lock another thread holds. The one thread allowed is the store's check, which holds
    no lock the child takes (it runs SQLite on its own connection; the child makes text and writes
    its own file: see CHECK_THREAD). macOS and Windows start processes another way (and fork badly)."""
    if sys.platform != "linux":
        return False
    me = threading.current_thread()
    return all(t is me or t.name == CHECK_THREAD for t in threading.enumerate())


class Child:
    """A forked child that writes ``first()`` to a pipe (when given), then ``write(out)`` to a
    temporary file, at nice +10 (beside the store's check, as low: this process's own work comes
    first)."""

    def __init__(self, pid: int, path: str, first_fd: int | None) -> None:
        self.pid, self.path, self._first_fd = pid, path, first_fd

    @classmethod
    def start(cls, write: Callable[[TextIO], None], first: Callable[[], str] | None = None) -> Child | None:
        """The child started, or None when it could not be (no temporary file, no fork)."""
        try:
            fd, path = tempfile.mkstemp(prefix="reviewer-export-", suffix=".part")
        except OSError:
            return None
        pipe: tuple[int, int] | None = None
        parent = os.getpid()
        try:
            if first is not None:
                pipe = os.pipe()
            with warnings.catch_warnings():  # Python 3.12+ warns of any fork beside a thread (see may_fork)
                warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
                pid = os.fork()
        except OSError:
            for f in (fd, *(pipe or ())):
                os.close(f)
            os.unlink(path)
            return None
        if pid == 0:  # the child: its work, then out at once (no exit handler of the parent's runs)
            code = 1
            try:
                lower_thread_priority()
                if pipe is not None and first is not None:
                    os.close(pipe[0])
                    value = first()
                    with suppress(OSError), open(pipe[1], "w", encoding="utf-8") as w:  # a late value: not read
                        w.write(value)
                with open(fd, "w", encoding="utf-8", newline="") as out:
                    write(_Watched(out, parent))  # type: ignore[arg-type]  # a TextIO's write and writelines
                code = 0
            except BaseException:  # Ctrl-C or a failure: the parent makes this text itself
                if os.getppid() != parent:  # no parent to read or remove the file
                    with suppress(OSError):
                        os.unlink(path)
            finally:
                os._exit(code)
        os.close(fd)
        if pipe is not None:
            os.close(pipe[1])
        return cls(pid, path, pipe[0] if pipe is not None else None)

    def first(self) -> str | None:
        """What the child wrote to the pipe, if it has by now (it is the child's first work,
        long done when the writer asks), else None: the caller makes it (none asked for, the
        child failed, or it is late)."""
        fd, self._first_fd = self._first_fd, None
        if fd is None:
            return None
        with open(fd, encoding="utf-8", errors="replace") as r:
            if not select.select([r], [], [], 0)[0]:
                return None
            got = r.read()  # written at once and closed: the end follows at once
        return got or None

    def done(self, timeout: float = CHILD_WAIT_S) -> bool:
        """Wait for the child, ``timeout`` seconds at most: True when it wrote all its text. A
        child still running then is killed (its text is made by the caller)."""
        if not self.pid:
            return False
        if hasattr(os, "pidfd_open"):  # Linux 5.3+: a descriptor that becomes readable when it exits
            try:
                pidfd = os.pidfd_open(self.pid)
            except OSError:
                pidfd = -1
            if pidfd >= 0:
                try:
                    ended = select.select([pidfd], [], [], timeout)[0]
                finally:
                    os.close(pidfd)
                if not ended:
                    self.close()
                    return False
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        return os.waitstatus_to_exitcode(status) == 0

    def pieces(self) -> Iterator[str]:
        """The text the child wrote (after :meth:`done` said True), a MiB at a time."""
        with open(self.path, encoding="utf-8", newline="") as f:
            while piece := f.read(1 << 20):
                yield piece

    def close(self) -> None:
        """Stop a child still running (its text is not wanted any more) and remove its file."""
        if self._first_fd is not None:
            with suppress(OSError):
                os.close(self._first_fd)
            self._first_fd = None
        if self.pid:
            with suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            self.pid = 0
        with suppress(OSError):
            os.unlink(self.path)


class Ahead:
    """A :class:`Child` started for a changelog's cases, handed to the writer that asks for it
    with the same cases (:meth:`take`). Subclasses say what the child makes (``__call__``, the
    build's ``cases_ready``)."""

    def __init__(self, *, fork_from: int = FORK_FROM) -> None:
        self.fork_from = fork_from
        self._child: Child | None = None
        self._cases: Sequence[Any] | None = None

    def _start(self, cases: Sequence[Any], write: Callable[[TextIO], None], first: Callable[[], str] | None = None) -> None:
        if self._child is None and len(cases) >= self.fork_from and may_fork():
            self._child = Child.start(write, first)
            self._cases = cases

    def take(self, cases: Sequence[Any]) -> Child | None:
        """The child started for these very cases (the caller then owns it), else None."""
        child = self._child
        if child is None or self._cases is not cases:
            return None
        self._child = self._cases = None
        return child

    def close(self) -> None:
        if self._child is not None:
            self._child.close()
            self._child = self._cases = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""``reviewer.cli.main(argv)`` run in the test's own process, as ``python -m reviewer`` runs it in a
child: the same environment (``env`` replaces ``os.environ`` for the call, as it replaces a child's),
the same working directory and ``sys.argv``, stdout and stderr written through UTF-8 text layers over bytes
(strict on stdout, backslashreplace on stderr, as Python sets them up for a pipe) and read back as
``subprocess.run(text=True)`` reads a pipe (universal newlines), the exit code of ``SystemExit``,
a traceback on stderr and exit 1 for an uncaught exception, warnings printed on that stderr with
Python's default filters, log records of WARNING and above on that stderr (the root logger as a
fresh process has it: no handler, so logging's last resort prints them; pytest's own is set aside). The result is a ``subprocess.CompletedProcess``, so a test asserts on it
exactly as on a real process.

It saves the ~0.3-0.6 s of imports a child pays per call. A test module that uses it keeps at least
one test on a real process, so the real exit code and the real stderr stay covered. The call checks
it leaves no global state behind (signal handlers, stamina's retry hooks, the working directory,
the environment, open files: a store left open) and fails the test if it does.
"""

from __future__ import annotations

import gc
import io
import logging
import os
import signal
import subprocess
import sys
import traceback
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Python's own warning filters when no -W option or PYTHONWARNINGS is given.
_DEFAULT_FILTERS: list[tuple[str, type[Warning], str | None]] = [
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, None),
    ("ignore", PendingDeprecationWarning, None),
    ("ignore", ImportWarning, None),
    ("ignore", ResourceWarning, None),
]

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE)


def _retry_hooks() -> Any:
    mod = sys.modules.get("stamina.instrumentation")
    return None if mod is None else list(mod.get_on_retry_hooks())


def _open_files() -> Any:
    """Files (not sockets or pipes: a test's server thread opens and closes those on its own)."""
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:  # no /proc: not checked
        return None
    found = []
    for fd in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/") and not target.startswith("/dev/"):
            found.append(target)
    return sorted(found)


def _global_state() -> dict[str, Any]:
    return {
        "signal handlers": [signal.getsignal(s) for s in _SIGNALS],
        "stamina retry hooks": _retry_hooks(),
        "open files": _open_files(),
    }


def _leaked(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed; for open files, only files opened (the test may close its own meanwhile)."""
    found: dict[str, Any] = {}
    for name, was in before.items():
        now = after[name]
        if was is None or now == was:
            continue
        if name == "open files":
            opened = list(now)
            for path in was:
                if path in opened:
                    opened.remove(path)
            if opened:
                found[name] = opened
        else:
            found[name] = (was, now)
    return found


def _decoded(stream: io.TextIOWrapper) -> str:
    stream.flush()
    raw = stream.buffer.getvalue()  # type: ignore[attr-defined]
    text = raw.decode("utf-8", errors="strict")  # as subprocess.run(text=True) decodes a pipe
    return text.replace("\r\n", "\n").replace("\r", "\n")


def run_main(
    args: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    input: str | None = None,
    **_subprocess_options: Any,  # check=False, timeout=..., capture_output=True, text=True: as a child would
) -> subprocess.CompletedProcess[str]:
    """``reviewer ARGS`` in this process; see the module's docstring."""
    import reviewer
    from reviewer.cli import main

    argv = [os.fspath(a) for a in args]
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_argv = sys.argv
    root = logging.getLogger()
    saved_logging = root.handlers[:], root.level
    before = _global_state()
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=False)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", line_buffering=True)
    stdin = io.TextIOWrapper(io.BytesIO((input or "").encode("utf-8")), encoding="utf-8")

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = stdin, out, err
        root.handlers, root.level = [], logging.WARNING  # a fresh process: warnings reach stderr (pytest's capture is off)
        sys.argv = [str(Path(reviewer.__file__).parent / "__main__.py"), *argv]  # as `python -m reviewer` sets it
        with warnings.catch_warnings():
            warnings.resetwarnings()
            for action, category, module in reversed(_DEFAULT_FILTERS):
                warnings.filterwarnings(action, category=category, module=module or "")  # type: ignore[arg-type]
            warnings.showwarning = show
            try:
                code: Any = main(argv)
            except SystemExit as e:
                code = e.code
            except KeyboardInterrupt:  # main() turns its own into exit 130: this one is pytest's user's
                raise
            except BaseException:  # what the interpreter prints for an uncaught exception
                traceback.print_exc(file=err)
                code = 1
        if code is None:
            code = 0
        elif not isinstance(code, int):
            print(code, file=err)
            code = 1
        stdout, stderr = _decoded(out), _decoded(err)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        root.handlers, root.level = saved_logging
        os.chdir(saved_cwd)
        if os.environ != saved_env:
            os.environ.clear()
            os.environ.update(saved_env)
    leaked = _leaked(before, _global_state())
    if leaked:  # perhaps only what the command dropped and a reference cycle still holds
        gc.collect()
        leaked = _leaked(before, _global_state())
    assert not leaked, f"reviewer {' '.join(argv[:1])} left global state behind: {leaked}"
    return subprocess.CompletedProcess([sys.executable, "-m", "reviewer", *argv], code, stdout, stderr)

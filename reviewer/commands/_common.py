"""Helpers shared by commands (not a command: the leading underscore keeps it out of the CLI)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import IO, TYPE_CHECKING, Any, Literal

from ..errors import UsageError
from ..untrusted import make_visible

if TYPE_CHECKING:
    from ..store import Store


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="PATH", help="the store (default: $REVIEWER_DB or the user data dir)")


#: How long a command waits for another process's write lock on the store (seconds).
LOCK_TIMEOUT_ENV = "REVIEWER_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 30.0


def lock_timeout_ms() -> int:
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "")
    if not raw:
        return int(DEFAULT_LOCK_TIMEOUT_S * 1000)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86_400:
        raise UsageError(f"{LOCK_TIMEOUT_ENV}={raw!r}: expected a number of seconds (0 or more)")
    return int(seconds * 1000)


def open_store(args: argparse.Namespace, *, readonly: bool | Literal["auto"] = "auto") -> Store:  # Store imported lazily
    """The store named by ``--db`` (or the default). ``"auto"`` (the default) opens it read-only
    when this process cannot write it, so reading commands work on a read-only mount or an
    immutable file and a write says why it cannot be done; ``True`` reads only; ``False``
    refuses at once, saying why, when the store cannot be written (for commands that only write).
    A write waiting for another process's lock says so on stderr, up to $REVIEWER_LOCK_TIMEOUT
    seconds (default 30)."""
    from ..locations import db_path
    from ..store import Store

    command = getattr(args, "command", None)
    prefix = f"reviewer {command}: " if command else "reviewer: "

    def on_wait(message: str) -> None:
        print(prefix + message, file=sys.stderr, flush=True)

    path = db_path(getattr(args, "db", None))
    if readonly is False:
        from ..store import StoreReadOnly, why_not_writable

        why = why_not_writable(path)
        if why is not None:
            raise StoreReadOnly(f"cannot write the store {path}: {why}; nothing was changed")
    return Store(path, readonly=readonly, busy_timeout_ms=lock_timeout_ms(), on_wait=on_wait)


def url_host(url: str | None) -> str | None:
    """``host[:port]`` of a base URL, never its user info, path or query (which can hold keys)."""
    if not url:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url if "//" in url else "//" + url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def print_table(rows: list[list[str]], *, right: set[int] | frozenset[int] = frozenset(), file: IO[str] | None = None) -> None:
    """Aligned columns, two spaces apart; every cell made visible (no terminal escapes)."""
    from rich.cells import cell_len  # display width: CJK and emoji take two columns

    cells = [[visible(str(c)) for c in row] for row in rows]
    if not cells:
        return
    ncols = max(len(r) for r in cells)
    widths = [max(cell_len(r[i]) for r in cells if i < len(r)) for i in range(ncols)]
    for row in cells:
        out = []
        for i, c in enumerate(row):
            pad = " " * (widths[i] - cell_len(c))
            out.append(pad + c if i in right else c + pad)
        print("  ".join(out).rstrip(), file=file or sys.stdout)


def parse_param(text: str, option: str = "--param") -> tuple[str, Any]:
    """``key=value``; the value is read as JSON when it parses (0.7, true, ["\\n"]), else a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(f"{option} {text!r}: expected key=value, e.g. temperature=0.7")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


# Safe display of untrusted text (model output, provider messages, names) on a terminal.


def visible(text: str) -> str:
    """``text`` through the project's one sanitiser (:mod:`reviewer.untrusted`), for a terminal
    line: every control, invisible, bidi or tag character is shown as a visible stand-in (``␛``,
    ``⟨U+202E⟩``), a newline too (``␊``: a printed row stays one row). Tabs are kept for rich to
    expand. Where spans must land on the shown text, use ``make_visible(...).offset``."""
    if text.isascii() and text.isprintable():
        return text
    return make_visible(text, newline=False).text

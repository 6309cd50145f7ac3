"""Helpers shared by commands (not a command: the leading underscore keeps it out of the CLI)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import UsageError


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="PATH", help="the store (default: $REVIEWER_DB or the user data dir)")


def open_store(args: argparse.Namespace):  # -> Store, imported lazily
    from ..locations import db_path
    from ..store import Store

    return Store(db_path(getattr(args, "db", None)))


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


# Safe display of untrusted text (model output, provider messages) on a terminal.

#: One char for one char, so span offsets still apply: C0 controls → their control pictures
#: (␛ for ESC), DEL → ␡, C1 controls and bidi/invisible direction marks → U+FFFD. Tab is kept
#: (rich expands it and moves the spans along).
_VISIBLE = {c: 0x2400 + c for c in range(0x20) if c != 0x09} | {0x7F: 0x2421}
_VISIBLE |= dict.fromkeys([*range(0x80, 0xA0), 0x061C, 0x200E, 0x200F, 0x2028, 0x2029], 0xFFFD)
_VISIBLE |= dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)], 0xFFFD)


def visible(text: str) -> str:
    """``text`` with every character a terminal could act on replaced by a visible stand-in
    (same length)."""
    if text.isascii() and text.isprintable():
        return text
    return text.translate(_VISIBLE)

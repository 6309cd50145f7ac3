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

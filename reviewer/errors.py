"""Errors meant for the user: the CLI prints them as one line (no traceback) and exits 2.

:class:`Problem` is the one shape of "this input is wrong here" for the whole package (suite
files, imports, labels files, configs): ``file:line: case 'id': field: message``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Problem", "ReviewerError", "UsageError", "field_path"]


class ReviewerError(Exception):
    """Base of every error whose message is written for the user."""


class UsageError(ReviewerError):
    """Bad input from the user (an option, a spec, a file): what and where, in one line."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in an input file, rendered as ``file:line: case 'id': field: message``.

    ``line`` is 1-based; ``None`` leaves it out (the problem is about the file as a whole; a
    ``0`` is printed as given, as suite files do for "no such file"). ``case_id`` and ``field``
    are left out when unset, so ``Problem(file, line, message)`` is the plain ``file:line: message``.
    """

    file: str
    line: int | None
    message: str
    field: str = ""  # e.g. "messages[1].content", "results.results[3].provider"
    case_id: str | None = None

    def __str__(self) -> str:
        parts = [self.file if self.line is None else f"{self.file}:{self.line}"]
        if self.case_id is not None:
            parts.append(f"case {self.case_id!r}")
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


def field_path(loc: Sequence[Any], prefix: str = "") -> str:
    """A pydantic error ``loc`` as the field path users read: ``("messages", 1, "content")`` →
    ``messages[1].content``; ``prefix`` goes in front (``tests[2]`` + ``vars.x``)."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out

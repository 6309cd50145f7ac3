"""Counted nouns for people: ``1 regression``, ``2 regressions``, ``1,204 cases``.

The one helper every count in the changelog and in the export/signoff/verify messages goes
through, so no sentence reads "1 regressions" or "2 case". English only; irregular forms (and
verbs that agree with the count) are passed as ``many``: ``plural(n, "case lacks", "cases lack")``.
"""

from __future__ import annotations

__all__ = ["plural"]


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` (with thousands separators) and ``word``, or ``many`` (default ``word + "s"``) unless n is 1."""
    return f"{n:,} {word if n == 1 else (many if many is not None else word + 's')}"

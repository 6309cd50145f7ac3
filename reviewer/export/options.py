"""Option parsing and checks shared by the export, signoff, gate and labels commands."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..errors import ReviewerError, UsageError
from .changelog import CaseEntry, Price
from .plural import plural

__all__ = ["gc_paused", "parse_prices", "principal_of", "refuse_unreviewed"]

_PRICE_RE = re.compile(r"^(?P<model>[^=]+)=(?P<input>\d+(?:\.\d+)?),(?P<output>\d+(?:\.\d+)?)$")


def parse_prices(values: Sequence[str] | None) -> dict[str, Price]:
    """``--price openai:gpt-4o=2.50,10.00`` (USD per million input, output tokens), repeatable.
    The left side is a run's spec (provider:model) or its model name."""
    prices: dict[str, Price] = {}
    for v in values or ():
        m = _PRICE_RE.match(v.strip())
        if not m:
            raise UsageError(
                f"--price {v!r}: expected MODEL=INPUT,OUTPUT in USD per million tokens, e.g. openai:gpt-4o=2.50,10.00"
            )
        prices[m["model"].strip()] = Price(float(m["input"]), float(m["output"]))
    return prices


def refuse_unreviewed(unreviewed: Sequence[CaseEntry], what: str) -> None:
    """The one-line refusal used by export and signoff while changed cases are unreviewed."""
    if not unreviewed:
        return
    ids = ", ".join(c.id for c in unreviewed[:5]) + (", …" if len(unreviewed) > 5 else "")
    n = len(unreviewed)
    raise ReviewerError(
        f"{plural(n, 'changed case is', 'changed cases are')} unreviewed ({ids}): label "
        f"{'them' if n != 1 else 'it'} in `reviewer review`, or pass --allow-unreviewed to {what}"
    )


def principal_of(identity: str) -> str:
    """The email in "Name <email>" (what allowed_signers files name), else ``EMAIL``."""
    m = re.search(r"<([^<>\s]+@[^<>\s]+)>", identity or "")
    if m:
        return m.group(1)
    if re.fullmatch(r"[^<>\s]+@[^<>\s]+", (identity or "").strip()):
        return identity.strip()
    return "EMAIL"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a comparison is loaded and rendered.

    A 10,000-case comparison holds millions of small objects (outputs, assessments, signals), and
    every collection pass walks them all: measured with bench/export.py, loading and assessing ran
    2–4x slower with the collector on. These objects form no garbage cycles worth reclaiming during
    a command that lives for seconds, and reference counting still frees everything else.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

"""Checks worth adding when a case is promoted to a golden case, from the signals of its two
outputs: every suggestion passes on the known-good side, and together they fail on the other.

Pure: takes :class:`~reviewer.diff.signals.OutputSignals` / ``PairSignals`` (read by attribute),
returns :class:`~reviewer.suite.Check` objects. No I/O, no Textual.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from ..suite import Check

__all__ = ["BULLETS", "NUMBERED", "TABLE", "WHOLE_JSON", "suggest_checks"]

#: The whole output is one JSON object/array (no fence, no preamble): promptfoo's ``is-json``.
WHOLE_JSON = r"\A\s*[\[{][\s\S]*[\]}]\s*\Z"
BULLETS = r"(?m)^\s*[-*+•] \S"
NUMBERED = r"(?m)^\s*\d+[.)] \S"
TABLE = r"(?m)^\s*\|.*\|\s*$"


def _nice_ceiling(x: float) -> int:
    """Round a word budget up to something a person would write (47 → 47, 183 → 190)."""
    n = math.ceil(x)
    return n if n < 50 else int(math.ceil(n / 10) * 10)


def suggest_checks(
    baseline_signals: Any,
    candidate_signals: Any,
    pair: Any = None,
    *,
    good: Literal["baseline", "candidate"] = "baseline",
) -> list[Check]:
    """Suggested checks, most specific first. ``good`` is the side whose behaviour is right (by
    default the baseline: the candidate regressed). Examples: ``json: true`` plus a whole-output
    anchor when the good side answered bare JSON and the other fenced it; ``not_refusal`` when
    the other side refused; ``max_words`` when the other side blew up in length."""
    ok, bad = (baseline_signals, candidate_signals) if good == "baseline" else (candidate_signals, baseline_signals)
    out: list[Check] = []
    if getattr(bad, "error", False) or getattr(ok, "error", False):
        return out  # an errored call says nothing about the answer

    # JSON: the good side has it, the other lost it or changed its shape.
    if ok.json_valid:
        if not bad.json_valid:
            out.append(Check(kind="json"))
        elif ok.json_shape == "bare" and bad.json_shape != "bare":
            # Still JSON, but fenced or wrapped in prose: `json` keeps passing (it accepts both),
            # the anchor is what catches the change.
            out.append(Check(kind="json"))
            out.append(Check(kind="regex", value=WHOLE_JSON))

    # Refusal.
    if bad.refusal and not ok.refusal:
        out.append(Check(kind="not_refusal"))

    # Length: a blow-up or a collapse relative to the good answer.
    if ok.words > 0 and not (ok.json_valid and bad.json_valid):
        ratio = bad.words / ok.words
        if ratio >= 1.5 and bad.words - ok.words >= 10:
            out.append(Check(kind="max_words", value=_nice_ceiling(ok.words * 1.25)))
        elif ratio <= 0.5 and ok.words >= 10 and not bad.refusal:
            out.append(Check(kind="min_words", value=max(1, math.floor(ok.words * 0.6))))

    # Markdown structure the good side had and the other dropped.
    om, bm = ok.markdown, bad.markdown
    if om.bullets >= 2 and bm.bullets == 0:
        out.append(Check(kind="regex", value=BULLETS))
    if om.numbered >= 2 and bm.numbered == 0:
        out.append(Check(kind="regex", value=NUMBERED))
    if om.tables >= 1 and bm.tables == 0:
        out.append(Check(kind="regex", value=TABLE))
    if om.code_fences == 0 and bm.code_fences > 0 and not ok.json_valid:
        out.append(Check(kind="not_contains", value="```"))
    return out

"""What promoting the case on screen to a golden case starts from: both outputs of the shown
pair, the checks their signals suggest (the baseline taken as the good side) and where the case
came from. The form itself is the app's (``reviewer.app.promote``). No Textual here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .session import run_name

if TYPE_CHECKING:
    from .session import Session
    from .state import Entry

__all__ = ["promotion"]


def promotion(session: Session, entry: Entry, b: Any, c: Any, b_signals: Any, c_signals: Any) -> dict[str, Any]:
    """The promote form's starting values for ``entry`` with the shown outputs ``b``/``c`` and
    their signals (None when not assessed yet: no checks are suggested then)."""
    origin = f"review of {run_name(session.baseline)} → {run_name(session.candidate)} (comparison #{session.id})"
    if entry.mine is not None and entry.mine.note:
        origin += f": {entry.mine.note}"
    checks: list[Any] = []
    a = entry.assessment
    if a is not None and b_signals is not None and c_signals is not None:
        from reviewer.importers.suggest import suggest_checks

        checks = list(suggest_checks(b_signals, c_signals, a.pair))
    return {
        "case": entry.case,
        "baseline_text": (b.text or "") if b else "",
        "candidate_text": (c.text or "") if c else "",
        "suggested_checks": checks,
        "origin": origin,
    }

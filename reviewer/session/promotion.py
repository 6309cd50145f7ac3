"""What promoting the case on screen to a golden case starts from: both outputs of the shown
pair, the checks their signals suggest (the baseline taken as the good side) and where the case
came from. The form itself is the app's (``reviewer.app.promote``). No Textual here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .session import run_name

if TYPE_CHECKING:
    from .session import Session
    from .state import Entry

__all__ = ["promotion", "suggest_tool_checks"]


def suggest_tool_checks(b: Any, c: Any, tools: Any = None) -> list[Any]:
    """Tool checks worth adding, the baseline taken as the good side: each passes on the
    baseline's shown answer (``b``; ``c`` the candidate's, both anything with ``text`` and
    ``tool_calls``). ``tool_called`` for a tool the baseline calls and the candidate no longer
    does, ``no_tool_call`` when the baseline answered in text and the candidate called a tool,
    ``tool_args_schema`` when the baseline's arguments fit and the candidate's do not, and
    ``tool_args`` pinning the baseline's value of each argument the candidate changed (an
    over-quoted ``2`` → ``"2"`` included)."""
    from reviewer.diff.toolcalls import diff_calls, normalise
    from reviewer.suite import Check

    if b is None or c is None:
        return []
    a, y = normalise(b, tools=tools), normalise(c, tools=tools)
    out: list[dict[str, Any]] = []
    called = set(y.call_names())
    for name in dict.fromkeys(a.call_names()):
        if name not in called:
            out.append({"tool_called": name})
    if not a.calls and y.calls:
        out.append({"no_tool_call": True})
    if a.calls and all(x.valid for x in a.calls) and any(not x.valid for x in y.calls):
        out.append({"tool_args_schema": True})
    match: dict[str, dict[str, Any]] = {}
    for ch in diff_calls(a, y):
        if ch.kind in ("arg_changed", "arg_type_changed", "arg_removed") and ch.path and not isinstance(ch.old, dict | list):
            match.setdefault(ch.name, {})[ch.path] = ch.old
    for name, m in match.items():
        out.append({"tool_args": {"name": name, "match": m}})
    checks = []
    for d in out:
        try:
            checks.append(Check.model_validate(d))
        except ValueError:  # a name or path the suite's rules refuse: not suggested
            continue
    return checks


def promotion(
    session: Session, entry: Entry, b: Any, c: Any, b_signals: Any, c_signals: Any, detail: Any = None
) -> dict[str, Any]:
    """The promote form's starting values for ``entry`` with the shown outputs ``b``/``c`` and
    their signals (None when not assessed yet: no checks are suggested then); ``detail``: the
    case's full assessment (default: the entry's, when it is one)."""
    origin = f"review of {run_name(session.baseline)} → {run_name(session.candidate)} (comparison #{session.id})"
    if entry.mine is not None and entry.mine.note:
        origin += f": {entry.mine.note}"
    checks: list[Any] = []
    a = detail if detail is not None else entry.assessment
    if a is not None and hasattr(a, "pair") and b_signals is not None and c_signals is not None:
        from reviewer.importers.suggest import suggest_checks

        checks = suggest_tool_checks(b, c, entry.case.tools) + list(suggest_checks(b_signals, c_signals, a.pair))
    return {
        "case": entry.case,
        "baseline_text": (b.text or "") if b else "",
        "candidate_text": (c.text or "") if c else "",
        "suggested_checks": checks,
        "origin": origin,
    }

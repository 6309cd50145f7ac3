"""Evaluate a case's checks (``reviewer.suite.Check``) on outputs, and the flips between versions.

The tool checks (``tool_called``, ``no_tool_call``, ``tool_args_schema``, ``tool_args``,
``response_schema``) look at the sample's tool calls and the case's tools and response format.

A check passes or fails on one sample; a side (baseline or candidate) passes a check when a strict
majority of its samples pass; a side passes the case when it passes every check. A *negative flip*
is a case the baseline passed and the candidate fails (MUSCLE, arXiv 2407.09435): the regression
that averages hide. An errored sample fails every check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from reviewer.checkregex import compile_check_regex
from reviewer.diff.signals import OutputSignals, output_signals, schema_error
from reviewer.diff.toolcalls import Answer, Call, make_answer, match_args, response_schema, tool_parameters

if TYPE_CHECKING:  # annotations only: importing the suite package loads pydantic
    from reviewer.suite import Check
    from reviewer.toolcall import ToolCall

__all__ = ["TOOL_CHECK_KINDS", "CheckResult", "Flip", "SideCheck", "flip", "run_checks", "side_checks", "side_passed"]

Flip = Literal["negative", "positive", "none"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check on one sample; ``detail`` says why, e.g. ``183 words > 120``."""

    check: Check
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class SideCheck:
    """One check over all samples of one side; ``passed`` = a strict majority of samples passed."""

    check: Check
    passes: int
    samples: int
    passed: bool


#: Quoted output excerpts in details are cut to this many characters.
_EXCERPT = 40


#: Control characters (C0, DEL, C1) in excerpts: shown escaped, so a detail line printed to a
#: terminal can never carry an escape sequence.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _q(s: str) -> str:
    """A short quoted excerpt for a detail line, control characters escaped."""
    s = s if len(s) <= _EXCERPT else s[: _EXCERPT - 1] + "…"
    return '"' + _CONTROL.sub(lambda m: "⏎" if m.group() == "\n" else repr(m.group())[1:-1], s) + '"'


@lru_cache(maxsize=512)
def _literal(needle: str, ignore_case: bool) -> re.Pattern[str]:
    """A literal needle (``contains`` with ignore_case): escaped, so Python's re runs it in
    linear time. Check patterns (``regex``, ``not_regex``) go to RE2: see reviewer.checkregex."""
    return re.compile(re.escape(needle), re.IGNORECASE if ignore_case else 0)


def _needles(check: Check) -> list[str]:
    return [check.value] if isinstance(check.value, str) else list(check.value)


def _find(text: str, needle: str, ignore_case: bool) -> int:
    if not ignore_case:
        return text.find(needle)
    m = _literal(needle, True).search(text)
    return m.start() if m else -1


#: Check kinds that look at the answer's tool calls or its response format.
TOOL_CHECK_KINDS = frozenset({"tool_called", "no_tool_call", "tool_args_schema", "tool_args", "response_schema"})


def run_checks(
    checks: Sequence[Check],
    text: str,
    *,
    reference: str | None = None,
    signals: OutputSignals | None = None,
    tool_calls: Sequence[ToolCall] = (),
    tools: Any = None,
    response_format: Mapping[str, Any] | None = None,
    answer: Answer | None = None,
) -> list[CheckResult]:
    """Evaluate ``checks`` on one output, in order. ``signals`` (from :func:`output_signals` with the
    sample's finish reason, refusal and error) is computed from the text alone when not given.

    The tool checks look at the sample's ``tool_calls`` against the case's ``tools`` (OpenAI
    function format, or :func:`~reviewer.diff.toolcalls.tool_parameters`' name → schema) and its
    ``response_format``; ``answer`` is the sample's normalised answer when the caller has it
    (it then stands for all three)."""
    if not checks:
        return []
    if signals is None:
        signals = output_signals(text)
    if signals.error:
        return [CheckResult(c, False, "the sample errored") for c in checks]
    if answer is None and any(c.kind in TOOL_CHECK_KINDS for c in checks):
        answer = make_answer(
            text, tuple(tool_calls), params=tool_parameters(tools), schema=response_schema(response_format),
            extracted=signals.extracted,
        )  # fmt: skip
    return [_run_one(c, text, reference, signals, answer) for c in checks]


def run_text_checks(checks: Sequence[Check], text: str, reference: str | None, signals: OutputSignals) -> list[CheckResult]:
    """:func:`run_checks` for a caller that knows no check is a tool check (the diff engine's
    text-only path, which must cost what it did before tool calls)."""
    if not checks:
        return []
    if signals.error:
        return [CheckResult(c, False, "the sample errored") for c in checks]
    return [_run_one(c, text, reference, signals) for c in checks]


def _plain(s: str, limit: int = 100) -> str:
    """A detail made of model output, unquoted: cut to ``limit`` characters, controls escaped."""
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return _CONTROL.sub(lambda m: "⏎" if m.group() == "\n" else repr(m.group())[1:-1], s)


def _names(calls: Sequence[Call]) -> str:
    return ", ".join(dict.fromkeys(_q(c.name) for c in calls))


def _run_tool_check(check: Check, a: Answer) -> CheckResult:
    k, v = check.kind, check.value
    calls = a.calls
    if k == "tool_called":
        n = sum(1 for c in calls if c.name == v)
        if n:
            return CheckResult(check, True, f"called {_q(v)}" + (f" {n}×" if n > 1 else ""))
        return CheckResult(check, False, f"no call to {_q(v)}" + (f" (called {_names(calls)})" if calls else ": no tool call"))
    if k == "no_tool_call":
        if calls:
            return CheckResult(check, False, f"called {_names(calls)}")
        return CheckResult(check, True, "no tool call")
    if k == "tool_args_schema":
        if not calls:
            return CheckResult(check, True, "no tool call to validate")
        for c in calls:
            if c.parse_error is not None:
                return CheckResult(check, False, f"{_q(c.name)}: {c.parse_error}")
            if c.schema_error is not None:
                return CheckResult(check, False, f"{_q(c.name)}: {_plain(c.schema_error)}")
        n = len(calls)
        return CheckResult(check, True, "arguments fit the schema" if n == 1 else f"all {n} calls fit their schemas")
    if k == "tool_args":
        name, match = v.get("name"), v.get("match") or {}
        mine = [c for c in calls if c.name == name]
        if not mine:
            return CheckResult(check, False, f"no call to {_q(name)}")
        why = ""
        for c in mine:
            if c.parse_error is not None:
                why = why or c.parse_error
                continue
            why_not = match_args(c.value, match)
            if why_not is None:
                return CheckResult(check, True, f"{_q(name)} arguments match")
            why = why or why_not
        return CheckResult(check, False, f"{_q(name)}: {_plain(why)}")
    if k == "response_schema":
        if a.response_valid is None:
            return CheckResult(check, False, "the case has no response_format")
        if a.response_valid:
            return CheckResult(check, True, "matches the response format")
        return CheckResult(check, False, _plain(a.response_error or "does not match the response format"))
    raise ValueError(f"unknown check kind {k!r}")  # pragma: no cover


def _run_one(check: Check, text: str, reference: str | None, sig: OutputSignals, answer: Answer | None = None) -> CheckResult:
    k, v = check.kind, check.value
    ej = sig.extracted
    if k == "json":
        if ej.valid:
            return CheckResult(check, True, f"JSON {ej.shape}")
        if ej.shape == "truncated":
            return CheckResult(check, False, f"JSON truncated: {ej.error}")
        return CheckResult(check, False, f"invalid JSON: {ej.error}" if ej.error else "no JSON found")
    if k == "json_schema":
        if not ej.valid:
            why = "JSON truncated" if ej.shape == "truncated" else "invalid JSON" if ej.error else "no JSON"
            return CheckResult(check, False, f"{why}: nothing to validate")
        err = schema_error(v, ej.value)
        return CheckResult(check, err is None, err or "matches the schema")
    if k == "regex":
        m = compile_check_regex(v, check.ignore_case).search(text)
        if m is None:
            return CheckResult(check, False, f"no match for /{v}/")
        return CheckResult(check, True, f"matched {_q(m[1])} at char {m[0]}")
    if k == "not_regex":
        m = compile_check_regex(v, check.ignore_case).search(text)
        if m is not None:
            return CheckResult(check, False, f"matched {_q(m[1])} at char {m[0]}")
        return CheckResult(check, True, f"no match for /{v}/")
    if k == "contains":
        missing = [n for n in _needles(check) if _find(text, n, check.ignore_case) < 0]
        if missing:
            return CheckResult(check, False, "missing " + ", ".join(_q(n) for n in missing))
        count = len(_needles(check))
        return CheckResult(check, True, "present" if count == 1 else f"all {count} present")
    if k == "not_contains":
        for n in _needles(check):
            at = _find(text, n, check.ignore_case)
            if at >= 0:
                return CheckResult(check, False, f"found {_q(n)} at char {at}")
        return CheckResult(check, True, "absent")
    if k == "max_words":
        w = sig.words
        return CheckResult(check, w <= v, f"{w} words {'≤' if w <= v else '>'} {v}")
    if k == "min_words":
        w = sig.words
        return CheckResult(check, w >= v, f"{w} words {'≥' if w >= v else '<'} {v}")
    if k == "not_refusal":
        if sig.refusal:
            return CheckResult(check, False, f"refusal ({sig.refusal_reason})")
        return CheckResult(check, True, "not a refusal")
    if k in TOOL_CHECK_KINDS:
        assert answer is not None  # run_checks builds it
        return _run_tool_check(check, answer)
    if reference is None:  # equals_reference, similar_to_reference
        return CheckResult(check, False, "the case has no reference answer")
    if k == "equals_reference":
        ok = text.strip() == reference.strip()
        return CheckResult(check, ok, "equals the reference" if ok else "differs from the reference")
    if k == "similar_to_reference":
        from reviewer.diff.score import change_score  # score imports this module

        sim = 1.0 - change_score(text, reference)
        return CheckResult(check, sim >= v, f"similarity {sim:.2f} {'≥' if sim >= v else '<'} {v:.2f}")
    raise ValueError(f"unknown check kind {k!r}")  # pragma: no cover - Check validates kinds


def side_checks(per_sample: Sequence[Sequence[CheckResult]]) -> list[SideCheck]:
    """Fold each sample's results (same checks, same order) into one verdict per check."""
    if not per_sample:
        return []
    first = per_sample[0]
    for i, results in enumerate(per_sample):
        # the same Check objects, normally: identity first (a pydantic model's == costs microseconds)
        if len(results) != len(first) or any(
            r.check is not f.check and r.check != f.check for r, f in zip(results, first, strict=True)
        ):
            raise ValueError(f"sample {i} was checked with different checks than sample 0")
    n = len(per_sample)
    out = []
    for j, r0 in enumerate(first):
        passes = sum(1 for results in per_sample if results[j].passed)
        out.append(SideCheck(r0.check, passes, n, passes * 2 > n))
    return out


def side_passed(side: Sequence[SideCheck]) -> bool:
    """A side passes the case when it passes every check (no checks: it passes)."""
    return all(s.passed for s in side)


def flip(baseline_passed: bool, candidate_passed: bool) -> Flip:
    """negative: baseline passed, candidate failed; positive: the reverse; none otherwise."""
    if baseline_passed and not candidate_passed:
        return "negative"
    if candidate_passed and not baseline_passed:
        return "positive"
    return "none"

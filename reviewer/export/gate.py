"""The CI gate: may the candidate ship? Numbers come from the same changelog model as the export,
so the gate and the changelog never disagree.

The gate fails closed: besides the thresholds on what changed, it refuses a comparison whose calls
did not all come back (errors or missing answers beyond ``--max-errors``), a comparison that did not
finish, and a case with checks that a side has no usable answer for. A gate that has nothing to
measure never says "ship".
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .plural import plural

if TYPE_CHECKING:  # the CLI imports this module to build its parser: keep it light
    from ..store import ComparisonData
    from .changelog import Changelog

__all__ = ["Coverage", "GateResult", "Limit", "Rule", "SideCoverage", "coverage", "evaluate_gate", "parse_count", "parse_limit"]

#: Statuses of a comparison whose replay ran to its end ("errors": some calls failed, counted by
#: the errors rule). Anything else (running, interrupted) is an unfinished comparison.
FINISHED = ("complete", "errors")
#: Case ids listed per failed rule (the JSON says how many there are in all).
MAX_CASE_IDS = 20


@dataclass(frozen=True, slots=True)
class Limit:
    """A maximum: a count (``3``), a percentage of the cases with checks (``2.5%``), or off."""

    count: int | None = None
    percent: float | None = None

    def __str__(self) -> str:
        if self.percent is not None:
            return f"{self.percent:g}%"
        return "off" if self.count is None else str(self.count)

    @property
    def off(self) -> bool:
        return self.count is None and self.percent is None

    def allows(self, n: int, of: int) -> bool:
        """Is ``n`` (of ``of``) within the limit? Off allows everything."""
        if self.percent is not None:
            return (n / of if of else 0.0) * 100 <= self.percent + 1e-9
        return self.count is None or n <= self.count


def parse_limit(text: str) -> Limit:
    """argparse type for ``--max-negative-flips`` and ``--max-errors``: ``N``, ``P%`` or ``off``."""
    t = text.strip()
    if t.lower() == "off":
        return Limit()
    if re.fullmatch(r"\d+", t):
        return Limit(count=int(t))
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%", t)
    if m and float(m.group(1)) <= 100:
        return Limit(percent=float(m.group(1)))
    raise argparse.ArgumentTypeError(f"{text!r}: expected a count (3), a percentage (2.5%) or off")


def parse_count(text: str) -> Limit:
    """argparse type for ``--max-regressions``: ``N`` or ``off``."""
    t = text.strip()
    if t.lower() == "off":
        return Limit()
    if re.fullmatch(r"\d+", t):
        return Limit(count=int(t))
    raise argparse.ArgumentTypeError(f"{text!r}: expected a count (0, 1, 2…) or off")


# ---------------------------------------------------------------------------------------------
# What was measured: every (case, sample) call of each side
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class SideCoverage:
    side: str
    spec: str
    calls: int  # (case, sample) calls the comparison needs: cases × samples
    answered: int
    errors: int  # calls stored with an error (after retries)
    missing: int  # calls with no stored row at all
    error_cases: list[str] = field(default_factory=list)  # cases with an error or a missing answer
    unusable_checked: list[str] = field(default_factory=list)  # cases with checks and no answer on this side

    @property
    def unanswered(self) -> int:
        return self.errors + self.missing


@dataclass(slots=True)
class Coverage:
    status: str
    cases: int
    checked_cases: int
    sides: dict[str, SideCoverage]


def coverage(data: ComparisonData, counts: Mapping[str, Mapping[str, tuple[int, int]]]) -> Coverage:
    """Count, per side, the calls of every (case, sample) of the suite: answered, errored, missing.
    ``counts``: per side, each case's (answered, errored) among samples 0 … samples − 1
    (:meth:`reviewer.store.StoreReader.run_tallies`, the same as :meth:`reviewer.store.Store.sample_counts`);
    outputs of cases the suite does not have, or of samples beyond the run's count, are not counted."""
    cases = data.suite.suite.cases
    sides: dict[str, SideCoverage] = {}
    for side, run in (("baseline", data.baseline), ("candidate", data.candidate)):
        got = counts[side]
        cov = SideCoverage(side, run.spec, calls=len(cases) * run.samples, answered=0, errors=0, missing=0)
        for case in cases:
            answered, errors = got.get(case.id, (0, 0))
            cov.answered += answered
            cov.errors += errors
            cov.missing += run.samples - answered - errors
            if answered < run.samples:
                cov.error_cases.append(case.id)
            if case.checks and not answered:
                cov.unusable_checked.append(case.id)
        sides[side] = cov
    checked = sum(1 for c in cases if c.checks)
    return Coverage(data.comparison.status, len(cases), checked, sides)


# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Rule:
    """One rule of the gate, as printed (``measured``, ``limit``) and as JSON (``doc``)."""

    name: str
    ok: bool
    measured: str
    limit: str
    message: str | None = None  # why it failed, one line
    observed: Any = None  # the number (or status) the limit applies to
    side: str | None = None
    cases: list[str] | None = None  # case ids, where they help (at most MAX_CASE_IDS)
    case_count: int | None = None

    def doc(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "limit": self.limit, "observed": self.observed, "message": self.message}
        if self.side is not None:
            d["side"] = self.side
        if self.cases is not None:
            d["cases"] = self.cases
            d["case_count"] = self.case_count
        return d


@dataclass(slots=True)
class GateResult:
    numbers: dict[str, Any]
    thresholds: dict[str, Any]
    rules: list[Rule] = field(default_factory=list)

    @property
    def checks(self) -> list[tuple[str, bool, str, str]]:
        """(name, ok, what was measured, the limit) of every rule, in order."""
        return [(r.name, r.ok, r.measured, r.limit) for r in self.rules]

    @property
    def failed(self) -> list[Rule]:
        return [r for r in self.rules if not r.ok]

    @property
    def failures(self) -> list[str]:
        return [r.message or r.name for r in self.failed]

    @property
    def ship(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        return 0 if self.ship else 1


def _ids(ids: Sequence[str]) -> list[str]:
    return list(ids[:MAX_CASE_IDS])


def _some(ids: Sequence[str], n: int = 3) -> str:
    shown = ", ".join(ids[:n])
    return shown + (f" and {len(ids) - n} more" if len(ids) > n else "")


def _coverage_rules(cov: Coverage, max_errors: Limit) -> list[Rule]:
    """Three rules, each over both sides: complete, errors, usable answers."""
    rules: list[Rule] = []
    sides = cov.sides.values()
    # the comparison ran to its end and stored an answer (or an error) for every call
    finished = cov.status in FINISHED
    missing = [f"{c.missing} {c.side} answers missing" for c in sides if c.missing]
    message = None
    if not finished:
        message = (f"complete: the comparison's status is {cov.status!r}, not finished "
                   "(run the same `reviewer run` again to finish it)")  # fmt: skip
    elif missing:
        message = "complete: " + ", ".join(missing)
    rules.append(Rule("complete", message is None, ", ".join([f"status {cov.status}", *missing]),
                      "finished, every call stored", message, observed=cov.status))  # fmt: skip
    # calls that ended in an error (after retries) or have no answer, counted per side
    measured, failing, bad_cases = [], [], []
    for c in sides:
        rate = c.unanswered / c.calls if c.calls else 0.0
        m = f"{c.side} {c.unanswered} of {c.calls} calls ({rate * 100:.1f}%)"
        measured.append(m)
        if not max_errors.allows(c.unanswered, c.calls):
            failing.append(f"{c.side} {c.spec}: {m.removeprefix(c.side + ' ')} without an answer (cases {_some(c.error_cases)})")
            bad_cases += [i for i in c.error_cases if i not in bad_cases]
    message = f"errors (more than --max-errors {max_errors}): {'; '.join(failing)}" if failing else None
    rules.append(Rule("errors", not failing, ", ".join(measured), "off" if max_errors.off else f"max {max_errors}",
                      message, observed={c.side: c.unanswered for c in sides},
                      cases=_ids(bad_cases), case_count=len(bad_cases)))  # fmt: skip
    # something was measured: each side answered every case with checks at least once, and
    # answered at all (never waived by --max-errors)
    failing, bad_cases = [], []
    for c in sides:
        if c.unusable_checked:
            n = len(c.unusable_checked)
            failing.append(f"{c.side} {c.spec}: {plural(n, 'case')} with checks without any answer ({_some(c.unusable_checked)})")
            bad_cases += [i for i in c.unusable_checked if i not in bad_cases]
        elif not c.answered:
            failing.append(f"{c.side} {c.spec}: no answer at all ({plural(c.calls, 'call')})")
    if cov.checked_cases:
        answered = (
            ", ".join(f"{c.side} {len(c.unusable_checked)} of {cov.checked_cases}" for c in sides) + " checked cases unanswered"
        )
    else:
        answered = ", ".join(f"{c.side} {c.answered}" for c in sides) + " answers (no case has checks)"
    if not cov.cases:
        failing.append("the suite has no cases: nothing was measured")
    rules.append(Rule("usable answers", not failing, answered, "every checked case answered",
                      f"usable answers: {'; '.join(failing)}" if failing else None,
                      observed={c.side: len(c.unusable_checked) if cov.checked_cases else c.answered for c in sides},
                      cases=_ids(bad_cases), case_count=len(bad_cases)))  # fmt: skip
    return rules


def evaluate_gate(
    cl: Changelog, cov: Coverage | None = None, *, max_negative_flips: Limit = Limit(count=0),
    max_regressions: Limit = Limit(count=0), max_errors: Limit = Limit(count=0), fail_on_unreviewed: bool = False,
    significant_only: bool = False,
) -> GateResult:  # fmt: skip
    """Negative flips count unless a reviewer's latest label says the case is not a regression
    (acceptable, improvement or noise: the check was too strict); regressions are latest labels.
    With ``cov`` (see :func:`coverage`) the gate also refuses errors, missing answers and an
    unfinished comparison.

    ``significant_only``: the negative-flips rule fails only when the flips are more than sampling
    noise explains (the changelog's exact McNemar test of negative against positive flips, at the
    level the changelog was built with, and more negative than positive flips). Labelled
    regressions and the fail-closed rules are never waived by it: a reviewer's verdict and a
    missing answer are not sampling noise."""
    s = cl.summary
    counted = s.negative_flips - s.negative_flips_waived
    rate = counted / s.checked_cases if s.checked_cases else 0.0
    numbers: dict[str, Any] = {
        "cases": s.cases, "unchanged": s.unchanged, "noise": s.noise, "changed": s.changed,
        "checked_cases": s.checked_cases, "negative_flips": s.negative_flips,
        "negative_flips_waived": s.negative_flips_waived, "negative_flips_counted": counted,
        "negative_flip_rate": round(rate, 6), "positive_flips": s.positive_flips,
        "regressions": s.regressions, "regressions_by_severity": s.regressions_by_severity,
        "improvements": s.improvements, "acceptable": s.acceptable, "unreviewed": s.unreviewed,
        "errors": s.errors, "samples": s.samples,
    }  # fmt: skip
    thresholds: dict[str, Any] = {
        "max_negative_flips": str(max_negative_flips), "max_regressions": str(max_regressions),
        "fail_on_unreviewed": fail_on_unreviewed, "significant_only": significant_only,
    }  # fmt: skip
    result = GateResult(numbers, thresholds)
    if cov is not None:
        thresholds["max_errors"] = str(max_errors)
        numbers["status"] = cov.status
        numbers["calls"] = {
            side: {"calls": c.calls, "answered": c.answered, "errors": c.errors, "missing": c.missing}
            for side, c in cov.sides.items()
        }  # fmt: skip
        result.rules += _coverage_rules(cov, max_errors)

    waived = f"; {s.negative_flips_waived} waived by a label" if s.negative_flips_waived else ""
    measured = f"{counted} of {s.checked_cases} checked cases ({rate * 100:.1f}%{waived})"
    flipped = [c.id for c in cl.cases if c.flip == "negative" and c.verdict in (None, "regression")]
    test = s.flips_test
    if test.p_value is not None:
        numbers["negative_flips_p"] = test.p_adjusted if test.p_adjusted is not None else test.p_value
        numbers["negative_flips_significant"] = test.significant and s.negative_flips > s.positive_flips
    if max_negative_flips.off:
        result.rules.append(Rule("negative flips", True, measured, "off", observed=counted))
    else:
        ok = max_negative_flips.allows(counted, s.checked_cases)
        limit = f"max {max_negative_flips}"
        if significant_only:
            limit += ", if significant"
            p = f"p = {test.p_value:.3g}" if test.p_value is not None else "no flips to test"
            measured += f"; McNemar {p} against {s.positive_flips} positive"
            if not ok and not numbers.get("negative_flips_significant"):
                ok = True  # over the limit, but sampling noise explains it
                measured += ", within noise"
        message = None if ok else f"negative flips: {measured} > {max_negative_flips}"
        result.rules.append(Rule("negative flips", ok, measured, limit, message, observed=counted,
                                 cases=_ids(flipped), case_count=len(flipped)))  # fmt: skip
    sev = ", ".join(f"{n} {k}" for k, n in s.regressions_by_severity.items())
    measured = f"{s.regressions}" + (f" ({sev})" if sev else "")
    regressed = [c.id for c in cl.cases if c.verdict == "regression"]
    if max_regressions.off:
        result.rules.append(Rule("regressions", True, measured, "off", observed=s.regressions))
    else:
        ok = max_regressions.allows(s.regressions, s.cases)
        message = None if ok else f"regressions: {measured} > {max_regressions.count}"
        result.rules.append(Rule("regressions", ok, measured, f"max {max_regressions.count}", message,
                                 observed=s.regressions, cases=_ids(regressed), case_count=len(regressed)))  # fmt: skip
    measured = f"{s.unreviewed} changed case{'s' * (s.unreviewed != 1)}"
    if fail_on_unreviewed:
        ok = s.unreviewed == 0
        unreviewed = [c.id for c in cl.unreviewed]
        message = None if ok else f"unreviewed: {measured} > 0 (--fail-on-unreviewed)"
        result.rules.append(Rule("unreviewed", ok, measured, "max 0", message, observed=s.unreviewed,
                                 cases=_ids(unreviewed), case_count=len(unreviewed)))  # fmt: skip
    else:
        result.rules.append(Rule("unreviewed", True, measured, "not gated", observed=s.unreviewed))
    return result

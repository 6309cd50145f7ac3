"""The CI gate: may the candidate ship? Numbers come from the same changelog model as the export,
so the gate and the changelog never disagree."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module to build its parser: keep it light
    from .changelog import Changelog

__all__ = ["Limit", "parse_limit", "GateResult", "evaluate_gate"]


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


def parse_limit(text: str) -> Limit:
    """argparse type for ``--max-negative-flips``: ``N``, ``P%`` or ``off``."""
    t = text.strip()
    if t.lower() == "off":
        return Limit()
    if re.fullmatch(r"\d+", t):
        return Limit(count=int(t))
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%", t)
    if m and float(m.group(1)) <= 100:
        return Limit(percent=float(m.group(1)))
    raise argparse.ArgumentTypeError(f"{text!r}: expected a count (3), a percentage of checked cases (2.5%) or off")


def parse_count(text: str) -> Limit:
    """argparse type for ``--max-regressions``: ``N`` or ``off``."""
    t = text.strip()
    if t.lower() == "off":
        return Limit()
    if re.fullmatch(r"\d+", t):
        return Limit(count=int(t))
    raise argparse.ArgumentTypeError(f"{text!r}: expected a count (0, 1, 2…) or off")


@dataclass(slots=True)
class GateResult:
    numbers: dict[str, Any]
    thresholds: dict[str, Any]
    checks: list[tuple[str, bool, str, str]]  # (name, ok, what was measured, the limit)
    failures: list[str] = field(default_factory=list)

    @property
    def ship(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return 0 if self.ship else 1


def evaluate_gate(
    cl: Changelog, *, max_negative_flips: Limit = Limit(count=0), max_regressions: Limit = Limit(count=0),
    fail_on_unreviewed: bool = False,
) -> GateResult:  # fmt: skip
    """Negative flips count unless a reviewer's latest label says the case is not a regression
    (acceptable, improvement or noise: the check was too strict); regressions are latest labels."""
    s = cl.summary
    counted = s.negative_flips - s.negative_flips_waived
    rate = counted / s.checked_cases if s.checked_cases else 0.0
    numbers = {
        "cases": s.cases, "unchanged": s.unchanged, "noise": s.noise, "changed": s.changed,
        "checked_cases": s.checked_cases, "negative_flips": s.negative_flips,
        "negative_flips_waived": s.negative_flips_waived, "negative_flips_counted": counted,
        "negative_flip_rate": round(rate, 6), "positive_flips": s.positive_flips,
        "regressions": s.regressions, "regressions_by_severity": s.regressions_by_severity,
        "improvements": s.improvements, "acceptable": s.acceptable, "unreviewed": s.unreviewed,
        "errors": s.errors, "samples": s.samples,
    }  # fmt: skip
    thresholds = {
        "max_negative_flips": str(max_negative_flips), "max_regressions": str(max_regressions),
        "fail_on_unreviewed": fail_on_unreviewed,
    }  # fmt: skip
    result = GateResult(numbers, thresholds, [])

    waived = f"; {s.negative_flips_waived} waived by a label" if s.negative_flips_waived else ""
    measured = f"{counted} of {s.checked_cases} checked cases ({rate * 100:.1f}%{waived})"
    if max_negative_flips.off:
        result.checks.append(("negative flips", True, measured, "off"))
    else:
        if max_negative_flips.percent is not None:
            ok = rate * 100 <= max_negative_flips.percent + 1e-9
            limit = f"max {max_negative_flips.percent:g}%"
        else:
            ok = counted <= (max_negative_flips.count or 0)
            limit = f"max {max_negative_flips.count}"
        result.checks.append(("negative flips", ok, measured, limit))
        if not ok:
            result.failures.append(f"negative flips: {measured} > {limit.removeprefix('max ')}")
    sev = ", ".join(f"{n} {k}" for k, n in s.regressions_by_severity.items())
    measured = f"{s.regressions}" + (f" ({sev})" if sev else "")
    if max_regressions.off:
        result.checks.append(("regressions", True, measured, "off"))
    else:
        ok = s.regressions <= (max_regressions.count or 0)
        result.checks.append(("regressions", ok, measured, f"max {max_regressions.count}"))
        if not ok:
            result.failures.append(f"regressions: {measured} > {max_regressions.count}")
    measured = f"{s.unreviewed} changed case{'s' * (s.unreviewed != 1)}"
    if fail_on_unreviewed:
        ok = s.unreviewed == 0
        result.checks.append(("unreviewed", ok, measured, "max 0"))
        if not ok:
            result.failures.append(f"unreviewed: {measured} > 0 (--fail-on-unreviewed)")
    else:
        result.checks.append(("unreviewed", True, measured, "not gated"))
    return result

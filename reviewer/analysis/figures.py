"""One case's figures on one side, as the changelog and the gate count them: its samples' counts
(answered, refusals, truncation, valid JSON, tokens, tool calls, …), every answered sample's words
and latency, and how many outputs the side stored for it.

Computed where the case is assessed, from its signals and its own outputs, and cached with its
summary (:mod:`.rows`), so an export of 100,000 cases reads 200,000 compact records instead of
600,000 outputs' figures and summing them up again. The changelog's per-scope totals and paired
tests (:mod:`reviewer.export.changelog.metrics`) read these records.

Pure: no store, no I/O.
"""

from __future__ import annotations

from collections.abc import MutableSequence, Sequence
from dataclasses import dataclass, field, fields
from math import isfinite
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ..diff.score import Assessment

__all__ = ["COUNTS", "CaseStats", "SideFigures", "SideStats", "expectations", "figures_of"]

#: the counts of :class:`SideStats` and :class:`CaseStats`, in :class:`CaseStats`' order
COUNTS = ("samples", "answered", "refusals", "non_answers", "truncated", "errors", "json_samples", "json_valid",
          "schema_samples", "schema_valid", "in_tokens", "out_tokens", "token_samples", "tool_answers", "tool_calling",
          "tool_calls", "tool_calls_valid")  # fmt: skip


def _median(values: Sequence[float]) -> float | None:
    """``float(statistics.median(values))``, None for no value (one case's few samples)."""
    if not values:
        return None
    s = sorted(values)
    n = len(s)
    h = n // 2
    return float(s[h] if n % 2 else (s[h - 1] + s[h]) / 2)


@dataclass(slots=True)
class SideStats:
    """One side's per-sample numbers over one case (while it is counted), or over a set of cases
    (a scope's totals: ``words`` and ``latencies`` then arrays of every sample's values)."""

    words: MutableSequence[int] = field(default_factory=list)
    samples: int = 0
    answered: int = 0
    refusals: int = 0
    non_answers: int = 0
    truncated: int = 0
    errors: int = 0
    json_samples: int = 0
    json_valid: int = 0
    schema_samples: int = 0
    schema_valid: int = 0
    latencies: MutableSequence[float] = field(default_factory=list)
    in_tokens: int = 0
    out_tokens: int = 0
    token_samples: int = 0
    #: tool calls (cases with tools declared or a call on a side only): answers, answers that
    #: call a tool, calls, calls whose arguments parse and fit the tool's schema
    tool_answers: int = 0
    tool_calling: int = 0
    tool_calls: int = 0
    tool_calls_valid: int = 0

    def record(self) -> CaseStats:
        """This case's numbers as the paired tests read them (its lists left behind)."""
        return CaseStats(
            self.samples, self.answered, self.refusals, self.non_answers, self.truncated, self.errors, self.json_samples,
            self.json_valid, self.schema_samples, self.schema_valid, self.in_tokens, self.out_tokens, self.token_samples,
            self.tool_answers, self.tool_calling, self.tool_calls, self.tool_calls_valid,
            _median(self.words), _median(self.latencies),
        )  # fmt: skip

    def add(self, signals: Sequence[Any], outputs: Sequence[Any], expects_json: bool, has_schema: bool) -> None:
        """One case's samples: their :class:`~reviewer.diff.signals.OutputSignals` (a missing
        call is an errored sample) and the outputs stored for them (latency and tokens)."""
        samples = errors = refusals = non_answers = truncated = json_valid = schema_valid = 0
        words = self.words
        for g in signals:
            samples += 1
            if g.error:
                errors += 1
                continue
            words.append(g.words)
            refusals += g.refusal
            non_answers += bool(getattr(g, "non_answer", False))
            truncated += g.truncated
            if expects_json:
                json_valid += g.json_valid
            if has_schema:
                schema_valid += bool(g.schema_valid)
        answered = samples - errors
        self.samples += samples
        self.errors += errors
        self.answered += answered
        self.refusals += refusals
        self.non_answers += non_answers
        self.truncated += truncated
        if expects_json:
            self.json_samples += answered
            self.json_valid += json_valid
        if has_schema:
            self.schema_samples += answered
            self.schema_valid += schema_valid
        latencies = self.latencies
        token_samples = in_tokens = out_tokens = 0
        for o in outputs:
            if o.error is not None:
                continue
            latency = o.latency_ms
            if latency is not None and isfinite(latency):  # an imported log's Infinity is no latency
                latencies.append(latency)
            if o.input_tokens is not None and o.output_tokens is not None:
                token_samples += 1
                in_tokens += o.input_tokens
                out_tokens += o.output_tokens
        self.token_samples += token_samples
        self.in_tokens += in_tokens
        self.out_tokens += out_tokens

    def add_tools(self, signals: Sequence[Any]) -> None:
        """One case's :class:`~reviewer.diff.toolcalls.ToolSignals` (errored samples left out)."""
        for t in signals:
            if t.error:
                continue
            self.tool_answers += 1
            self.tool_calling += bool(t.calls)
            self.tool_calls += t.calls
            self.tool_calls_valid += t.calls - t.unparseable - t.schema_invalid


class CaseStats(NamedTuple):
    """One case's numbers on one side, compact (what the paired tests read): the counts of
    :class:`SideStats` and the medians of its samples' words and latencies (None: no value).
    A tuple, so a scope's totals are its cases' columns summed."""

    samples: int
    answered: int
    refusals: int
    non_answers: int
    truncated: int
    errors: int
    json_samples: int
    json_valid: int
    schema_samples: int
    schema_valid: int
    in_tokens: int
    out_tokens: int
    token_samples: int
    tool_answers: int
    tool_calling: int
    tool_calls: int
    tool_calls_valid: int
    words_median: float | None
    latency_median: float | None


class SideFigures(NamedTuple):
    """One case's figures on one side: its :class:`CaseStats`, every answered sample's words and
    every answered output's latency (the scopes' quantiles read them), and how many outputs
    the side stored for the case (fewer than the run's samples: the case lacks answers)."""

    stats: CaseStats
    words: Sequence[int]
    latencies: Sequence[float]
    stored: int


def expectations(checks: Sequence[Any]) -> tuple[bool, bool]:
    """(the case expects JSON, it has a JSON schema) from its checks."""
    kinds = {ch.kind for ch in checks}
    return bool(kinds & {"json", "json_schema"}), "json_schema" in kinds


def _by_sample(o: Any) -> int:
    return int(o.sample)


def figures_of(
    a: Assessment, checks: Sequence[Any], baseline_outputs: Sequence[Any], candidate_outputs: Sequence[Any]
) -> tuple[SideFigures, SideFigures, bool]:
    """Both sides' figures of an assessed case (``checks``: the case's; the outputs: every output
    each side stored for it), and whether the case counts tool calls (it has tools or a response
    format declared, or a side called a tool)."""
    expects_json, has_schema = expectations(checks)
    tooled = bool(a.baseline_tools or a.candidate_tools)
    out = []
    for side, signals, outputs in (("baseline", a.baseline_signals, baseline_outputs),
                                   ("candidate", a.candidate_signals, candidate_outputs)):  # fmt: skip
        s = SideStats()
        s.add(signals, sorted(outputs, key=_by_sample), expects_json, has_schema)
        if tooled:
            s.add_tools(a.tool_signals(side))  # type: ignore[arg-type]
        out.append(SideFigures(s.record(), s.words, s.latencies, len(outputs)))
    return out[0], out[1], tooled


_SIDE_FIELDS = {f.name for f in fields(SideStats)}
if CaseStats._fields[: len(COUNTS)] != COUNTS or {*COUNTS, "words", "latencies"} != _SIDE_FIELDS:
    raise ImportError("reviewer.analysis.figures: COUNTS does not match SideStats and CaseStats")  # a new count

"""The behaviour deltas: per-side numbers over a set of cases, and the per-case numbers their
significance is tested on (:mod:`.significance`)."""

from __future__ import annotations

import math
from collections.abc import Callable, MutableSequence, Sequence
from operator import attrgetter

from ...analysis.figures import COUNTS, CaseStats, SideStats
from ..plural import plural
from .model import Metric, Price
from .significance import CasePair, rate_table, test_amount, test_rate

__all__ = ["COUNTS", "CaseStats", "SideStats", "side_metrics", "totals"]


def _quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); ``values`` sorted."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    pos = (len(values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return float(values[lo] + (values[hi] - values[lo]) * (pos - lo))


def totals(cases: Sequence[CaseStats], words: MutableSequence[int], latencies: MutableSequence[float]) -> SideStats:
    """A scope's numbers: its cases' counts summed, column by column (``zip`` of the tuples, in
    C), with every sample's ``words`` and ``latencies``: the same as adding their samples again."""
    out = SideStats(words=words, latencies=latencies)
    columns = zip(*cases, strict=False) if cases else ((),) * len(COUNTS)
    for name, column in zip(COUNTS, columns, strict=False):  # the counts come first; the medians are left out
        setattr(out, name, sum(column))
    return out


def _rate(n: int, d: int) -> float | None:
    return n / d if d else None


def _cost(s: SideStats | CaseStats, p: Price | None) -> float | None:
    if p is None or not s.token_samples or s.token_samples < s.answered:
        return None  # unknown price, or tokens missing for some answers: no partial totals
    return (s.in_tokens * p.input_per_mtok + s.out_tokens * p.output_per_mtok) / 1e6


def _mean_tokens(attr: str) -> Callable[[CaseStats], float | None]:
    return lambda s: getattr(s, attr) / s.token_samples if s.token_samples else None


def side_metrics(
    b: SideStats,
    c: SideStats,
    prices: tuple[Price | None, Price | None],
    cases: int,
    pairs: Sequence[CasePair],
    *,
    scope: str,
) -> list[Metric]:
    """The metrics of one scope (``overall`` or ``tag:NAME``) with their paired tests over the
    scope's cases (``pairs``: each case's own baseline and candidate :class:`CaseStats`)."""
    bw, cw = sorted(b.words), sorted(c.words)
    bl, cl = sorted(b.latencies), sorted(c.latencies)
    words = attrgetter("words_median")
    latency = attrgetter("latency_median")
    out: list[Metric] = []

    table = rate_table(pairs)

    def rate(key: str, name: str, num: str, den: str) -> None:
        m = Metric(key, name, "rate", _rate(getattr(b, num), getattr(b, den)), _rate(getattr(c, num), getattr(c, den)), 0.02)
        test_rate(m, (getattr(b, num), getattr(b, den)), (getattr(c, num), getattr(c, den)), table, num, den, scope)
        out.append(m)

    def amount(m: Metric, per_case: Callable[[CaseStats], float | None], what: str, like: Metric | None = None) -> None:
        if like is not None:  # the p90/p95 row: the same per-case number as its median row, tested once
            for f in ("p_value", "test", "cases_tested", "median_case_change", "change_ci"):
                setattr(m, f, getattr(like, f))
        else:
            test_amount(m, pairs, per_case, what, scope)
        out.append(m)

    amount(Metric("words_median", "Median length (words)", "words", _quantile(bw, 0.5), _quantile(cw, 0.5), 0.10),
           words, "median words of the case's answers")  # fmt: skip
    amount(Metric("words_p90", "p90 length (words)", "words", _quantile(bw, 0.9), _quantile(cw, 0.9), 0.10),
           words, "median words of the case's answers", like=out[-1])  # fmt: skip
    rate("refusal_rate", "Refusal rate", "refusals", "answered")
    rate("non_answer_rate", "Non-answer rate (deflections)", "non_answers", "answered")
    if b.json_samples or c.json_samples:
        rate("json_valid_rate", "Valid JSON (cases expecting JSON)", "json_valid", "json_samples")
    if b.schema_samples or c.schema_samples:
        rate("schema_valid_rate", "Matches its JSON schema", "schema_valid", "schema_samples")
    if b.tool_answers or c.tool_answers:
        rate("tool_call_rate", "Answers calling a tool (cases with tools)", "tool_calling", "tool_answers")
    if b.tool_calls or c.tool_calls:
        rate("tool_args_valid_rate", "Tool calls with valid arguments", "tool_calls_valid", "tool_calls")
    rate("truncation_rate", "Truncated (length limit)", "truncated", "answered")
    rate("error_rate", "Errors", "errors", "samples")
    if bl or cl:
        amount(Metric("latency_p50", "Latency p50", "ms", _quantile(bl, 0.5), _quantile(cl, 0.5), 0.20),
               latency, "median latency of the case's answers")  # fmt: skip
        amount(Metric("latency_p95", "Latency p95", "ms", _quantile(bl, 0.95), _quantile(cl, 0.95), 0.20),
               latency, "median latency of the case's answers", like=out[-1])  # fmt: skip
    if b.token_samples or c.token_samples:
        amount(Metric("input_tokens_mean", "Input tokens per answer", "tokens",
                      _rate(b.in_tokens, b.token_samples), _rate(c.in_tokens, c.token_samples), 0.10),
               _mean_tokens("in_tokens"), "mean input tokens of the case's answers")  # fmt: skip
        amount(Metric("output_tokens_mean", "Output tokens per answer", "tokens",
                      _rate(b.out_tokens, b.token_samples), _rate(c.out_tokens, c.token_samples), 0.10),
               _mean_tokens("out_tokens"), "mean output tokens of the case's answers")  # fmt: skip
    pb, pc = prices
    if (pb or pc) and (b.token_samples or c.token_samples):
        m = Metric("cost_total", f"Cost of the run ({plural(cases, 'case')})", "usd", _cost(b, pb), _cost(c, pc), 0.10)
        test_amount(m, pairs, None, "the case's cost", scope, per_side=(lambda s: _cost(s, pb), lambda s: _cost(s, pc)))
        out.append(m)
    return [m for m in out if m.baseline is not None or m.candidate is not None]

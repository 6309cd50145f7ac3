"""The behaviour deltas: per-side numbers over a set of cases, and the per-case numbers their
significance is tested on (:mod:`.significance`)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, MutableSequence, Sequence
from itertools import accumulate
from operator import attrgetter, itemgetter
from typing import overload

from ...analysis.figures import COUNTS, CaseStats, SideStats
from ..plural import plural
from .model import Metric, Price
from .significance import CasePair, RateTable, rate_keys, test_amount, test_rate

__all__ = ["COUNTS", "CaseColumns", "CaseStats", "SideStats", "side_metrics", "totals"]

_FIRST, _SECOND = itemgetter(0), itemgetter(1)


class CaseColumns:
    """The per-case numbers the paired tests read, of every case of a changelog: a column per
    number, each made once over all cases (a 100,000-case export tests the same numbers overall
    and again in every tag), from which a scope takes its own cases' values by their index."""

    __slots__ = ("_columns", "_rates", "pairs")

    def __init__(self, pairs: Sequence[CasePair]) -> None:
        #: each case's own (baseline, candidate) CaseStats, in the changelog's case order
        self.pairs = pairs
        self._columns: dict[str, list[float | None]] = {}
        self._rates: list[tuple[tuple[int, ...], tuple[int, ...]]] | None = None

    def diffs(
        self,
        key: str,
        fb: Callable[[CaseStats], float | None],
        fc: Callable[[CaseStats], float | None],
        index: Sequence[int] | None,
    ) -> list[float | None]:
        """Each case's candidate minus baseline number (None: one side has none) of the cases at
        ``index`` (None: every case); ``key`` names the column (``fb``/``fc`` give its sides)."""
        col = self._columns.get(key)
        if col is None:
            pairs = self.pairs
            col = self._columns[key] = [
                None if x is None or y is None else y - x
                for x, y in zip(map(fb, map(_FIRST, pairs)), map(fc, map(_SECOND, pairs)), strict=True)
            ]
        return col if index is None else list(map(col.__getitem__, index))

    def rate_table(self, index: Sequence[int] | None) -> RateTable:
        """The cases at ``index`` (None: every case) by their rate columns on both sides
        (:func:`~.significance.rate_keys`), counted in C once for all the scope's rate tests: a
        few hundred distinct rows where the scope has 100,000 cases. Every rate test depends on
        the multiset of per-case counts only, never on the cases' order."""
        if self._rates is None:
            self._rates = rate_keys(self.pairs)
        keys = self._rates
        return Counter(keys if index is None else map(keys.__getitem__, index))


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


class _SortedCounts(Sequence[int]):
    """Integers in sorted order as :func:`_quantile` reads them, held as each distinct value's
    count (counted in C): a scope's 300,000 word counts take a few hundred distinct values, so
    this is ~3x cheaper than ``sorted``."""

    __slots__ = ("_ends", "_keys")

    def __init__(self, values: Iterable[int]) -> None:
        counts = Counter(values)
        self._keys = sorted(counts)
        self._ends = list(accumulate(map(counts.__getitem__, self._keys)))  # the last rank + 1 of each value

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, i: int) -> int: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[int]: ...
    def __getitem__(self, i: int | slice) -> int | Sequence[int]:
        if isinstance(i, slice) or not 0 <= i < len(self):
            raise IndexError("a _SortedCounts reads one rank at a time, from 0 to len - 1")
        return self._keys[bisect_right(self._ends, i)]


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


_WORDS = attrgetter("words_median")
_LATENCY = attrgetter("latency_median")


def _mean_tokens(attr: str) -> Callable[[CaseStats], float | None]:
    return lambda s: getattr(s, attr) / s.token_samples if s.token_samples else None


def side_metrics(
    b: SideStats,
    c: SideStats,
    prices: tuple[Price | None, Price | None],
    cases: int,
    columns: CaseColumns,
    index: Sequence[int] | None = None,
    *,
    scope: str,
) -> list[Metric]:
    """The metrics of one scope (``overall`` or ``tag:NAME``) with their paired tests over the
    scope's cases: those of ``columns`` at ``index`` (None: all of them)."""
    bw, cw = _SortedCounts(b.words), _SortedCounts(c.words)
    bl, cl = sorted(b.latencies), sorted(c.latencies)
    out: list[Metric] = []

    table = columns.rate_table(index)

    def rate(key: str, name: str, num: str, den: str) -> None:
        m = Metric(key, name, "rate", _rate(getattr(b, num), getattr(b, den)), _rate(getattr(c, num), getattr(c, den)), 0.02)
        test_rate(m, (getattr(b, num), getattr(b, den)), (getattr(c, num), getattr(c, den)), table, num, den, scope)
        out.append(m)

    def amount(m: Metric, per_case: Callable[[CaseStats], float | None], what: str, like: Metric | None = None) -> None:
        if like is not None:  # the p90/p95 row: the same per-case number as its median row, tested once
            for f in ("p_value", "test", "cases_tested", "median_case_change", "change_ci"):
                setattr(m, f, getattr(like, f))
        else:
            test_amount(m, columns.diffs(m.key, per_case, per_case, index), what)
        out.append(m)

    amount(Metric("words_median", "Median length (words)", "words", _quantile(bw, 0.5), _quantile(cw, 0.5), 0.10),
           _WORDS, "median words of the case's answers")  # fmt: skip
    amount(Metric("words_p90", "p90 length (words)", "words", _quantile(bw, 0.9), _quantile(cw, 0.9), 0.10),
           _WORDS, "median words of the case's answers", like=out[-1])  # fmt: skip
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
               _LATENCY, "median latency of the case's answers")  # fmt: skip
        amount(Metric("latency_p95", "Latency p95", "ms", _quantile(bl, 0.95), _quantile(cl, 0.95), 0.20),
               _LATENCY, "median latency of the case's answers", like=out[-1])  # fmt: skip
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
        test_amount(m, columns.diffs(m.key, lambda s: _cost(s, pb), lambda s: _cost(s, pc), index), "the case's cost")
        out.append(m)
    return [m for m in out if m.baseline is not None or m.candidate is not None]

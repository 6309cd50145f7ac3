"""Is a delta more than noise? The paired tests behind every metric and check row of the changelog.

Every test is paired over cases (the same case measured on both sides), from
:mod:`reviewer.stats`, and deterministic: anything resampled draws from a generator seeded with
the CRC-32 of the scope and the metric (``overall/refusal_rate``, ``tag:safety/words_median``), so
two exports of one comparison carry the same p-values, whatever the process.

- Rates (refusal, non-answer, valid JSON, schema, tool calls, valid tool arguments, truncation, errors): a Wilson 95% interval for
  each side's rate over its samples, and :func:`~reviewer.stats.paired_rate_test` over the cases
  answered on both sides: exact McNemar on the cases that went one way or the other when each
  case has one sample a side, a sign-flip permutation test of the per-case rate differences when
  cases have several.
- Amounts (words, latency, tokens, cost), on a per-case number (the median words of a case's
  answers, …): the median per-case change and its 95% paired-bootstrap interval, computed as
  :func:`~reviewer.stats.paired_median_change` does (exactly, no resampling); the p-value is the exact sign test
  (:func:`~reviewer.stats.sign_test`: do more cases go up than down?), the test that belongs to a
  median. Not the sign-flip p of ``paired_median_change``: its statistic, |median of the flipped
  differences|, has a degenerate null when the differences are of one size (every case 8 → 5
  words gives |median| = 3 under most sign patterns, p ≈ 0.8), so it cannot see the plainest
  change. The p90/p95 rows are tested on the same per-case number as their median row.
- Check flips: exact McNemar on the negative vs positive flips, per check kind, per tag and overall.

Several tags read at once: each metric's per-tag p-values (and the per-tag flip p-values) are
Holm-adjusted across the tags (family-wise error rate); the check kinds' p-values are
Holm-adjusted across the kinds. Overall metrics are separate questions, not adjusted.
``significant`` is ``p_adjusted <= alpha``; a row with no test (nothing paired) is not significant.
"""

from __future__ import annotations

import math
import random
import zlib
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING

from ...stats import (
    SIGN_FLIP_EXACT_MAX,
    holm,
    mcnemar_exact,
    paired_median_interval,
    paired_rate_test,
    wilson,
)
from .model import Metric, Significance

if TYPE_CHECKING:
    from .metrics import CaseStats

    CasePair = tuple[CaseStats, CaseStats]
else:
    CasePair = tuple

__all__ = [
    "ALPHA", "CORRECTION", "RATE_COLUMNS", "RESAMPLES", "CasePair", "RateTable", "decide", "flips_p", "holm_by_key",
    "holm_rows", "rate_keys", "test_amount", "test_rate",
]  # fmt: skip

ALPHA = 0.05
#: Holm–Bonferroni (reviewer.stats.holm); Benjamini–Hochberg is in reviewer.stats too.
CORRECTION = "holm"
#: Sign-flip patterns drawn when a test is not exact: the p-value's resolution is 1/2001, fine for
#: α = 0.05 after Holm over ~20 tags, and bounded so a 10,000-case export stays fast.
RESAMPLES = 2000


def _seed(scope: str, key: str) -> int:
    return zlib.crc32(f"{scope}/{key}".encode())


#: The columns of :class:`~reviewer.analysis.figures.CaseStats` a rate is made of (counts of
#: samples, never tokens or medians): the key of a :meth:`~.metrics.CaseColumns.rate_table`.
RATE_COLUMNS = ("samples", "answered", "refusals", "non_answers", "truncated", "errors", "json_samples", "json_valid",
                "schema_samples", "schema_valid", "tool_answers", "tool_calling", "tool_calls", "tool_calls_valid")  # fmt: skip

#: A scope's cases counted by their rate columns, both sides: ((baseline counts), (candidate counts)) -> cases.
RateTable = Counter[tuple[tuple[int, ...], tuple[int, ...]]]


def rate_keys(pairs: Sequence[CasePair]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Each case's :data:`RATE_COLUMNS` on both sides (made in C): what a
    :meth:`~.metrics.CaseColumns.rate_table` counts. Equal keys are one tuple: 100,000 cases
    hold a few hundred distinct ones, not 100,000 (~40 MB)."""
    get = attrgetter(*RATE_COLUMNS)
    one: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[tuple[int, ...], tuple[int, ...]]] = {}
    return [one.setdefault(k, k) for k in zip(map(get, map(_FIRST, pairs)), map(get, map(_SECOND, pairs)), strict=True)]


def test_rate(
    m: Metric,
    b: tuple[int, int],
    c: tuple[int, int],
    table: RateTable,
    num: str,
    den: str,
    scope: str,
) -> None:
    """Wilson intervals (``b``, ``c``: k of n samples per side) and the paired test over the
    scope's cases (``table``: their :meth:`~.metrics.CaseColumns.rate_table`)."""
    m.ci = {side: (list(wilson(k, n)) if n else None) for side, (k, n) in (("baseline", b), ("candidate", c))}
    k_at, n_at = RATE_COLUMNS.index(num), RATE_COLUMNS.index(den)
    usable: Counter[tuple[float, float]] = Counter()
    for (bc, cc), cases in table.items():
        bn, cn = bc[n_at], cc[n_at]
        if bn and cn:
            usable[(bc[k_at] / bn, cc[k_at] / cn)] += cases
    if not usable:
        return
    exact = set(chain.from_iterable(usable)) <= _BINARY  # every per-case rate 0 or 1
    m.cases_tested = usable.total()
    m.test = "mcnemar_exact" if exact else "sign_flip"
    if exact:  # what paired_rate_test computes on 0/1 pairs: McNemar on the discordant cases
        m.p_value = _mcnemar(usable[(1.0, 0.0)], usable[(0.0, 1.0)])
        return
    diffs = list(chain.from_iterable(repeat(y - x, n) for (x, y), n in usable.items() if y != x))
    if len(diffs) <= SIGN_FLIP_EXACT_MAX:
        every = list(chain.from_iterable(repeat(pair, n) for pair, n in usable.items()))
        m.p_value = paired_rate_test(every, seed=_seed(scope, m.key), n_resamples=RESAMPLES)
    else:
        m.p_value = grouped_sign_flip_p(diffs, seed=_seed(scope, m.key), n_resamples=RESAMPLES)


_FIRST, _SECOND = itemgetter(0), itemgetter(1)
_BINARY = frozenset({0, 1})
#: exact McNemar by its two counts: the same table recurs across metrics, tags and check kinds
_mcnemar = lru_cache(maxsize=4096)(mcnemar_exact)


def grouped_sign_flip_p(diffs: Sequence[float], *, seed: int, n_resamples: int) -> float:
    """The sign-flip test of :func:`~reviewer.stats.sign_flip_test` (two-sided, on the sum, the +1
    correction), drawn faster: per-case rate differences take few distinct sizes (multiples of
    1/k), and the number of positive signs among the n cases of one size is Binomial(n, 1/2) —
    the popcount of n random bits. So a pattern costs one draw per size, not one per case (a
    10,000-case suite: milliseconds instead of seconds). Same null distribution, its own stream."""
    sizes: dict[float, int] = {}
    for d in diffs:
        sizes[abs(d)] = sizes.get(abs(d), 0) + 1
    groups = sorted(sizes.items())
    observed = abs(math.fsum(diffs))
    if observed <= 1e-12:
        return 1.0
    bits = random.Random(seed).getrandbits
    fsum, bar = math.fsum, observed - 1e-12
    hits = 0
    for _ in range(n_resamples):  # the draws in the same order: size by size, pattern by pattern
        hits += abs(fsum([v * (2 * bits(n).bit_count() - n) for v, n in groups])) >= bar
    return (hits + 1) / (n_resamples + 1)


def test_amount(m: Metric, per_case: Iterable[float | None], what: str) -> None:
    """The paired median change of a per-case number: ``per_case`` holds each case's candidate
    minus baseline value (None: one side has none; that case is left out)."""
    diffs = [d for d in per_case if d is not None]
    if not diffs:
        return
    diffs.sort()  # for the interval, and the sign test's counts by bisection (its two passes, in C)
    m.cases_tested = len(diffs)
    m.test = f"sign_test of the {what}"
    m.median_case_change, lo, hi = median_interval(diffs)
    m.change_ci = [lo, hi]
    m.p_value = _mcnemar(len(diffs) - bisect_right(diffs, 0), bisect_left(diffs, 0))  # sign_test(diffs)


def median_interval(diffs: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """The median of per-case differences and its 95% paired-bootstrap interval."""
    return paired_median_interval(diffs, confidence)


def flips_p(negative: int, positive: int) -> float:
    """Exact McNemar: negative flips (passed before, fail now) against positive ones."""
    return _mcnemar(negative, positive)


def holm_rows(rows: Sequence[Significance], alpha: float) -> None:
    """Holm-adjust the p-values of one family in place and decide ``significant``."""
    tested = [r for r in rows if r.p_value is not None]
    for r, adj in zip(tested, holm([r.p_value for r in tested if r.p_value is not None]), strict=True):
        r.p_adjusted = adj
        r.significant = adj <= alpha + 1e-12
    for r in rows:
        if r.p_value is None:
            r.p_adjusted, r.significant = None, False


def decide(rows: Sequence[Significance], alpha: float) -> None:
    """Rows read one by one (overall): ``p_adjusted`` is the p-value itself."""
    for r in rows:
        r.p_adjusted = r.p_value
        r.significant = r.p_value is not None and r.p_value <= alpha + 1e-12


def holm_by_key(groups: Sequence[Sequence[Metric]], alpha: float) -> None:
    """Per-tag metrics: one Holm family per metric key, across the tags."""
    family: dict[str, list[Metric]] = defaultdict(list)
    for ms in groups:
        for m in ms:
            family[m.key].append(m)
    for key in sorted(family):
        holm_rows(family[key], alpha)

"""The statistics behind every delta the review and the changelog report: is it more than noise?

Pure functions, standard library only (no scipy, no numpy), deterministic: anything random takes a
``seed`` and draws from its own :class:`random.Random`, never the global generator, and never
iterates a set or a dict keyed by strings, so two processes (whatever ``PYTHONHASHSEED``) give
bit-identical p-values and intervals for the same input. An export written twice is the same.

What each test answers, and why this one:

- :func:`mcnemar_exact` — did a pass/fail (or refused/answered) outcome flip more often one way
  than the other across the same cases? Exact binomial on the discordant cases, two-sided.
- :func:`wilson` — a 95% interval for one side's rate (k of n). Wilson, not the normal "Wald"
  interval, because suites are small and rates near 0% or 100% are common (Wald gives 0/20 an
  interval of width 0).
- :func:`paired_rate_test` — the difference of two rates measured on the same cases. Paired,
  because an unpaired test (two-proportion z) ignores that the cases are the same and misses real
  differences that pairing finds.
- :func:`paired_median_change` — the median change of a per-case number (words, latency), with a
  paired bootstrap interval and a sign-flip permutation p-value.
- :func:`holm`, :func:`benjamini_hochberg` — adjusted p-values when many deltas (tags × metrics)
  are read at once.
- :func:`pass_hat_k` — how consistent one version is on one case with k samples.
- :func:`distance_permutation_test` — whether two groups of samples differ more from each other
  than from themselves, given their pairwise distances (the noise floor of a case).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import combinations
from statistics import median
from typing import NamedTuple

__all__ = [
    "DistanceTest",
    "MedianChange",
    "PassK",
    "benjamini_hochberg",
    "binom_cdf",
    "binom_sf",
    "distance_permutation_test",
    "holm",
    "mcnemar_exact",
    "paired_median_change",
    "paired_rate_test",
    "pass_hat_k",
    "sign_flip_test",
    "sign_test",
    "wilson",
]

#: Up to this many trials, binomial tails are summed exactly with integers (math.comb) and divided
#: once: the p-values of small tables are exact to the last bit. Above it, in log space (below).
EXACT_INTEGER_MAX_N = 1000

#: A sum of float tail terms stops when a term is this small relative to the running sum: the
#: omitted rest is below double precision.
_TAIL_TOL = 1e-18


# ---------------------------------------------------------------------------------------------
# Binomial tails
# ---------------------------------------------------------------------------------------------


def _log_pmf(i: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)


def _tail_down(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for k at or below the mode, in log space: start at the largest term (i = k) and
    walk down with the ratio pmf(i-1)/pmf(i) = i/(n-i+1) · (1-p)/p, stopping once the terms no
    longer matter. Terms shrink at least geometrically below the mode, so this takes
    O(sqrt(n)) steps near the centre and a handful in the tails, for any n (10⁷ is fine)."""
    q = (1 - p) / p
    total, term = 1.0, 1.0
    for i in range(k, 0, -1):
        term *= i / (n - i + 1) * q
        total += term
        if term < _TAIL_TOL * total:
            break
    return math.exp(_log_pmf(k, n, p) + math.log(total))


def binom_cdf(k: int, n: int, p: float = 0.5) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p).

    Exact (integer arithmetic, one rounding) for n ≤ :data:`EXACT_INTEGER_MAX_N` when p = 0.5;
    otherwise summed in log space with :func:`math.lgamma`, so n = 100,000 (or 10⁷) neither
    overflows nor underflows to a wrong 0 before the true value does; relative error ~1e-12.
    """
    if n < 0 or not 0.0 <= p <= 1.0:
        raise ValueError(f"binom_cdf: need n ≥ 0 and 0 ≤ p ≤ 1, got n={n}, p={p}")
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p == 0.0:
        return 1.0
    if p == 1.0:
        return 0.0
    if p == 0.5 and n <= EXACT_INTEGER_MAX_N:
        return sum(math.comb(n, i) for i in range(k + 1)) / (1 << n)
    if k <= n * p:
        return min(1.0, _tail_down(k, n, p))
    return max(0.0, 1.0 - binom_sf(k + 1, n, p))


def binom_sf(k: int, n: int, p: float = 0.5) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p) (by symmetry: P(n - X ≤ n - k), n - X ~ Binomial(n, 1-p))."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p == 0.5 and n <= EXACT_INTEGER_MAX_N:
        return sum(math.comb(n, i) for i in range(k, n + 1)) / (1 << n)
    if p in (0.0, 1.0):
        return 1.0 if p == 1.0 else 0.0
    m = n - k
    if m <= n * (1 - p):
        return min(1.0, _tail_down(m, n, 1 - p))
    return max(0.0, 1.0 - binom_cdf(k - 1, n, p))


# ---------------------------------------------------------------------------------------------
# Flips and rates
# ---------------------------------------------------------------------------------------------


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for a paired 2×2 table with discordant counts ``b``
    (passed before, fails now) and ``c`` (failed before, passes now).

    Under "no change", each discordant case is as likely to go one way as the other, so
    min(b, c) ~ Binomial(b + c, 1/2); the two-sided p is min(1, 2·P(X ≤ min(b, c))). Concordant
    cases do not enter. No discordant case → 1.0. Example: b=1, c=9 → 0.02148 (22/1024).
    """
    if b < 0 or c < 0:
        raise ValueError(f"mcnemar_exact: counts must be ≥ 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * binom_cdf(min(b, c), n, 0.5))


def sign_test(differences: Sequence[float]) -> float:
    """Two-sided exact sign test: are positive and negative differences equally likely? Zeros are
    dropped (they carry no direction). The same test as :func:`mcnemar_exact` on the signs."""
    pos = sum(1 for d in differences if d > 0)
    neg = sum(1 for d in differences if d < 0)
    return mcnemar_exact(pos, neg)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a rate of ``k`` successes in ``n`` trials (95% with z = 1.96).

    ``n == 0`` → ``(0.0, 1.0)``: no data, so every rate is possible (the honest "unknown", and it
    keeps the return type one shape; callers show "n = 0"). 0 of n gives a lower bound of exactly
    0, n of n an upper bound of exactly 1. Example: 8 of 10 → (0.4902, 0.9433).
    """
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"wilson: need 0 ≤ k ≤ n, got k={k}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return (lo, hi)


#: Up to this many non-zero differences, a sign-flip test enumerates all 2^m sign patterns
#: (exact); above, it draws ``n_resamples`` patterns from a seeded generator.
SIGN_FLIP_EXACT_MAX = 12

_TIE = 1e-12  # statistics this close count as equal (float sums in another order)


def _flip_p(values: Sequence[float], stat: Callable[[list[float]], float], *, seed: int, n_resamples: int) -> float:
    """Two-sided sign-flip permutation p of |stat(values)| (values symmetric about 0 under H0)."""
    observed = abs(stat(list(values)))
    m = len(values)
    if m == 0 or observed <= _TIE:
        return 1.0
    if m <= SIGN_FLIP_EXACT_MAX:
        hits = 0
        for mask in range(1 << m):
            flipped = [-v if mask >> i & 1 else v for i, v in enumerate(values)]
            hits += abs(stat(flipped)) >= observed - _TIE
        return hits / (1 << m)
    rng = random.Random(seed)
    hits = 0
    for _ in range(n_resamples):
        flipped = [-v if rng.random() < 0.5 else v for v in values]
        hits += abs(stat(flipped)) >= observed - _TIE
    return (hits + 1) / (n_resamples + 1)  # the observed pattern is one of the possible ones


def sign_flip_test(differences: Sequence[float], *, seed: int = 0, n_resamples: int = 10_000) -> float:
    """Two-sided paired permutation test of "no change" on per-case differences (candidate −
    baseline): under H0 each difference is as likely to have either sign, so the observed |sum| is
    compared with the sums of randomly sign-flipped differences. Zeros are dropped (flipping them
    changes nothing). Exact up to :data:`SIGN_FLIP_EXACT_MAX` non-zero differences; above that,
    ``n_resamples`` seeded draws with the usual +1 correction (never p = 0)."""
    nonzero = [float(d) for d in differences if d != 0]
    return _flip_p(nonzero, math.fsum, seed=seed, n_resamples=n_resamples)


def paired_rate_test(pairs: Sequence[tuple[float, float]], *, seed: int = 0, n_resamples: int = 10_000) -> float:
    """p-value for "the rate did not change" over cases each measured on both sides.

    Each pair is (baseline, candidate) for one case. When every value is 0/1 (a bool: refused or
    not, valid JSON or not) this is :func:`mcnemar_exact` on the discordant cases. When some are
    fractions (a case with k samples: 2 of 3 samples refused → 0.667), it is
    :func:`sign_flip_test` on the per-case differences — which on ±1 differences *is* the exact
    McNemar test, so the two agree where both apply.
    """
    if all(v in (0, 1) for pair in pairs for v in pair):
        b = sum(1 for x, y in pairs if x and not y)
        c = sum(1 for x, y in pairs if y and not x)
        return mcnemar_exact(b, c)
    for pair in pairs:
        if not all(0.0 <= float(v) <= 1.0 for v in pair):
            raise ValueError(f"paired_rate_test: rates must be in [0, 1], got {pair!r}")
    return sign_flip_test([float(y) - float(x) for x, y in pairs], seed=seed, n_resamples=n_resamples)


# ---------------------------------------------------------------------------------------------
# Median change of a per-case number
# ---------------------------------------------------------------------------------------------


class MedianChange(NamedTuple):
    median_delta: float  # median over cases of (candidate − baseline)
    ci_lo: float  # 95% paired-bootstrap percentile interval of that median
    ci_hi: float
    p: float  # two-sided sign-flip permutation p-value


def paired_median_change(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    seed: int = 0,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
) -> MedianChange:
    """The median per-case change (candidate − baseline, case by case: ``baseline[i]`` and
    ``candidate[i]`` are the same case) of a number such as words or latency.

    - The estimate is the median of the per-case differences — the paired estimand (what "a
      typical case changed by" means), not the difference of the two medians.
    - The interval is the paired bootstrap (resample whole cases with replacement; a case's two
      values stay together), percentile method — computed *exactly*, not by drawing resamples:
      the median of a resample is ≤ v exactly when at least half of its n draws are ≤ v, and that
      count is Binomial(n, share of differences ≤ v). So the interval is the limit of infinitely
      many resamples, needs no seed and costs O(n log n). With an even n the resampled median is
      the mean of two middle values; the bounds then use the lower middle for the lower bound and
      the upper middle for the upper bound (slightly wider than exact, never narrower).
    - The p-value is the two-sided exact sign test (:func:`sign_test`): under "no change" a case
      is as likely to go up as down. Not a sign-flip test of |median|: when the differences are
      all one size, flipping signs barely moves that statistic, so 20 of 20 cases going from 8 to
      5 words scored p ≈ 0.8 — the plainest change there is, called noise.

    Deterministic (``seed`` and ``n_resamples`` are kept for callers; nothing is drawn). No case →
    (0.0, 0.0, 0.0, 1.0).
    """
    if len(baseline) != len(candidate):
        raise ValueError(f"paired_median_change: {len(baseline)} baseline values but {len(candidate)} candidate values")
    if not 0 < confidence < 1:
        raise ValueError(f"paired_median_change: confidence must be in (0, 1), got {confidence}")
    diffs = [float(c) - float(b) for b, c in zip(baseline, candidate, strict=True)]
    if not diffs:
        return MedianChange(0.0, 0.0, 0.0, 1.0)
    est, lo, hi = paired_median_interval(diffs, confidence)
    return MedianChange(est, lo, hi, sign_test(diffs))


def paired_median_interval(differences: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """The median of per-case differences and its exact paired-bootstrap interval (see
    :func:`paired_median_change`), as ``(median, lo, hi)``. No difference → (0.0, 0.0, 0.0)."""
    if not 0 < confidence < 1:
        raise ValueError(f"paired_median_interval: confidence must be in (0, 1), got {confidence}")
    diffs = list(map(float, differences))
    diffs.sort()  # linear when the caller sorted them already (the changelog does)
    n = len(diffs)
    if n == 0:
        return 0.0, 0.0, 0.0
    alpha = (1 - confidence) / 2
    lo = _bootstrap_order_quantile(diffs, (n - 1) // 2, alpha)
    hi = _bootstrap_order_quantile(diffs, n // 2, 1 - alpha)
    return float(median(diffs)), lo, hi


def _bootstrap_order_quantile(sorted_values: list[float], rank: int, q: float) -> float:
    """The q-quantile of the rank-th order statistic (0-based) of a with-replacement resample of
    ``sorted_values``: the smallest value v with P(that order statistic ≤ v) ≥ q, where
    P(… ≤ v) = P(Binomial(n, #(values ≤ v) / n) ≥ rank + 1). Binary search over the values."""
    n = len(sorted_values)

    def cdf(j: int) -> float:  # P(order statistic ≤ sorted_values[j]), counting ties with it
        below = bisect_right(sorted_values, sorted_values[j])
        return binom_sf(rank + 1, n, below / n) if below < n else 1.0

    lo, hi = 0, n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf(mid) >= q:
            hi = mid
        else:
            lo = mid + 1
    return sorted_values[lo]


# ---------------------------------------------------------------------------------------------
# Multiple comparisons
# ---------------------------------------------------------------------------------------------


def _order(pvalues: Sequence[float]) -> list[int]:
    for p in pvalues:
        if not 0.0 <= p <= 1.0 or math.isnan(p):
            raise ValueError(f"p-values must be in [0, 1], got {p!r}")
    return sorted(range(len(pvalues)), key=lambda i: (pvalues[i], i))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the input order: controls the family-wise error rate
    (the chance of *any* false alarm) at α when those ≤ α are called significant. Step-down:
    the i-th smallest (from 0) is multiplied by m − i, then made monotone with a running max."""
    m = len(pvalues)
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(_order(pvalues)):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input order: controls the false
    discovery rate (the expected share of false alarms among the changes called significant) at
    α. Step-up: the i-th smallest (from 1) is multiplied by m / i, then made monotone with a
    running min from the largest. Never above :func:`holm`'s."""
    m = len(pvalues)
    out = [0.0] * m
    running = 1.0
    order = _order(pvalues)
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, m / rank * pvalues[i])
        out[i] = min(1.0, running)
    return out


# ---------------------------------------------------------------------------------------------
# Consistency of one version on one case
# ---------------------------------------------------------------------------------------------


class PassK(NamedTuple):
    k: int  # samples
    passes: int
    pass_k: bool  # pass^k: every one of the k samples passed (False when k == 0)
    flip_rate: float | None  # share of sample pairs that disagree; None with fewer than 2 samples


def pass_hat_k(passes: Sequence[bool]) -> PassK:
    """How consistent one version is on one case over its k samples.

    ``pass_k`` is pass^k — all k samples pass (the τ-bench reliability measure: a case a user hits
    k times works every time). ``flip_rate`` is the fraction of the C(k, 2) pairs of samples whose
    results differ, j(k − j) / C(k, 2) with j passes: 0 when the version always agrees with
    itself, at most ~0.5–0.67 when it is a coin toss. Averaged over cases, pass_k gives the suite's
    pass^k rate.
    """
    k = len(passes)
    j = sum(1 for p in passes if p)
    flip_rate = None if k < 2 else j * (k - j) / math.comb(k, 2)
    return PassK(k, j, k > 0 and j == k, flip_rate)


# ---------------------------------------------------------------------------------------------
# Two groups of samples, from their pairwise distances
# ---------------------------------------------------------------------------------------------


class DistanceTest(NamedTuple):
    statistic: float  # mean cross-group distance − mean within-group distance, for the real labels
    p: float  # share of labelings with a statistic at least as large (the real one included)
    labelings: int  # how many distinct labelings the p-value is over (its resolution: p ≥ 1/this)


#: Above this many distinct labelings, :func:`distance_permutation_test` samples them.
DISTANCE_EXACT_MAX = 5000


def distance_permutation_test(
    distance: Callable[[int, int], float], n_a: int, n_b: int, *, seed: int = 0, n_resamples: int = 2000
) -> DistanceTest:
    """Permutation test of "groups A (items 0..n_a-1) and B (the next n_b) come from one
    distribution", on their pairwise distances ``distance(i, j)`` (i < j).

    The statistic is mean cross distance − mean within distance (within pools both groups' pairs).
    Under H0 the labels are exchangeable, so it is compared with its value under every other split
    of the n_a + n_b items into groups of those sizes (exact when there are at most
    :data:`DISTANCE_EXACT_MAX`; otherwise ``n_resamples`` seeded random splits). Needs n_a, n_b ≥ 1
    and at least one within pair.

    Mind the resolution: with k items a side there are C(2k, k) splits but only half are distinct
    (swapping the groups gives the same statistic), so the smallest possible p is 2 / C(2k, k):
    0.33 for k = 2, 0.10 for k = 3, 0.029 for k = 4, 0.0079 for k = 5. At 3 samples a side no
    split is ever "significant at 0.05" by labels alone; see reviewer.diff.score for how the noise
    rule deals with that.
    """
    n = n_a + n_b
    if n_a < 1 or n_b < 1 or n < 3:
        raise ValueError(f"distance_permutation_test: need ≥ 1 item per group and ≥ 3 in all, got {n_a} + {n_b}")
    d = [[0.0] * n for _ in range(n)]
    for i, j in combinations(range(n), 2):
        d[i][j] = d[j][i] = float(distance(i, j))
    total = math.fsum(d[i][j] for i, j in combinations(range(n), 2))
    n_cross = n_a * n_b
    n_within = n_a * (n_a - 1) // 2 + n_b * (n_b - 1) // 2

    def stat(group_a: Sequence[int]) -> float:
        inside = set(group_a)
        cross = math.fsum(d[i][j] for i in group_a for j in range(n) if j not in inside)
        return cross / n_cross - (total - cross) / n_within

    observed = stat(range(n_a))
    count = math.comb(n, n_a)
    if count <= DISTANCE_EXACT_MAX:
        stats = [stat(g) for g in combinations(range(n), n_a)]
        hits = sum(1 for s in stats if s >= observed - _TIE)
        distinct = count // 2 if n_a == n_b else count
        return DistanceTest(observed, hits / count, distinct)
    rng = random.Random(seed)
    items = list(range(n))
    hits = 0
    for _ in range(n_resamples):
        rng.shuffle(items)
        hits += stat(items[:n_a]) >= observed - _TIE
    return DistanceTest(observed, (hits + 1) / (n_resamples + 1), n_resamples + 1)

"""reviewer.stats against values computed by hand or from published tables, plus properties.

No scipy here: every reference value is written out, with where it comes from."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from fractions import Fraction
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewer.stats import (
    benjamini_hochberg,
    binom_cdf,
    binom_sf,
    distance_permutation_test,
    holm,
    mcnemar_exact,
    paired_median_change,
    paired_rate_test,
    pass_hat_k,
    sign_flip_test,
    sign_test,
    wilson,
)


def exact_cdf(k: int, n: int, p: Fraction) -> float:
    """The definition, in exact rationals (slow; the reference for small n)."""
    return float(sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1)))


# ---------------------------------------------------------------------------------------------
# binomial tails
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "k, n, p, want",
    [
        (1, 10, 0.5, 11 / 1024),  # (C(10,0) + C(10,1)) / 2^10
        (0, 5, 0.5, 1 / 32),
        (2, 10, 0.3, 0.3827827864),  # textbook binomial table B(10, 0.3): P(X ≤ 2) = .3828
        (5, 20, 0.25, 0.6171726543),  # B(20, .25): P(X ≤ 5) = .6172
        (9, 10, 0.5, 1 - 1 / 1024),
        (10, 10, 0.5, 1.0),
        (-1, 10, 0.5, 0.0),
    ],
)
def test_binom_cdf_known_values(k, n, p, want):
    assert binom_cdf(k, n, p) == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_binom_sf_known_values():
    assert binom_sf(8, 10, 0.3) == pytest.approx(0.0015903864, rel=1e-9)  # table: P(X ≥ 8) = .0016
    assert binom_sf(0, 10, 0.3) == 1.0 and binom_sf(11, 10, 0.3) == 0.0


@pytest.mark.parametrize("n", [1001, 1500, 3001])  # the log-space path, against exact rationals
def test_log_space_tails_agree_with_exact_rationals(n):
    for k in (0, 3, n // 3, n // 2 - 10, n // 2, n // 2 + 7):
        want = exact_cdf(k, n, Fraction(1, 2))
        assert binom_cdf(k, n) == pytest.approx(want, rel=1e-9, abs=1e-300)
    want = exact_cdf(n // 4, n, Fraction(3, 10))
    assert binom_cdf(n // 4, n, 0.3) == pytest.approx(want, rel=1e-9)


def test_large_n_neither_overflows_nor_is_slow():
    import time

    t0 = time.perf_counter()
    # 100,000 discordant pairs split evenly: P(X ≤ n/2) is just over 1/2 (exactly 1/2 + pmf/2)
    n = 100_000
    p_half = binom_cdf(n // 2, n)
    pmf_mid = math.exp(math.lgamma(n + 1) - 2 * math.lgamma(n // 2 + 1) - n * math.log(2))
    assert p_half == pytest.approx(0.5 + pmf_mid / 2, rel=1e-9)
    assert mcnemar_exact(50_000, 50_000) == 1.0
    # 49,000 vs 51,000: z ≈ 6.3 → p ≈ 2.6e-10 (normal approximation with continuity correction)
    z = (51_000 - 50_000 - 0.5) / math.sqrt(n / 4)
    assert mcnemar_exact(49_000, 51_000) == pytest.approx(math.erfc(z / math.sqrt(2)), rel=0.05)
    assert 0.0 < mcnemar_exact(40_000, 60_000) < 1e-300 or mcnemar_exact(40_000, 60_000) == 0.0
    assert binom_cdf(4_999_000, 10_000_000) < 0.5
    assert time.perf_counter() - t0 < 2.0  # O(sqrt(n)) terms, not n


# ---------------------------------------------------------------------------------------------
# McNemar, sign test, Wilson
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "b, c, want",
    [
        (1, 9, 0.021484375),  # 2 · 11/1024
        (0, 0, 1.0),
        (5, 5, 1.0),
        (0, 6, 0.03125),  # 2 / 64
        (0, 5, 0.0625),  # 2 / 32: five flips one way is not yet 0.05
        (2, 12, 2 * (1 + 14 + 91) / 2**14),
        (3, 0, 0.25),
    ],
)
def test_mcnemar_exact_known_values(b, c, want):
    assert mcnemar_exact(b, c) == pytest.approx(want, rel=1e-12)


@given(st.integers(0, 400), st.integers(0, 400))
def test_mcnemar_properties(b, c):
    p = mcnemar_exact(b, c)
    assert 0.0 <= p <= 1.0
    assert p == mcnemar_exact(c, b)
    if b < c:  # one more flip in the majority direction never makes it less significant
        assert mcnemar_exact(b, c + 1) <= p + 1e-15
        assert mcnemar_exact(b + 1, c) >= p - 1e-15 or b + 1 > c


def test_mcnemar_rejects_negative_counts():
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


def test_sign_test_drops_zeros():
    assert sign_test([0, 0, 1, 1, 1, 1, 1, 1]) == mcnemar_exact(0, 6)
    assert sign_test([0.0, 0.0]) == 1.0


@pytest.mark.parametrize(
    "k, n, lo, hi",
    [
        (8, 10, 0.4902, 0.9433),  # Newcombe (1998), table I style; by hand from the formula
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (1, 20, 0.0089, 0.2361),
        (50, 100, 0.4038, 0.5962),
    ],
)
def test_wilson_known_values(k, n, lo, hi):
    got = wilson(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def test_wilson_edges():
    assert wilson(0, 0) == (0.0, 1.0)  # no data: any rate
    assert wilson(0, 7)[0] == 0.0 and wilson(7, 7)[1] == 1.0
    with pytest.raises(ValueError):
        wilson(3, 2)


@given(st.integers(1, 2000), st.data())
def test_wilson_properties(n, data):
    k = data.draw(st.integers(0, n))
    lo, hi = wilson(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    assert wilson(n - k, n) == pytest.approx((1 - hi, 1 - lo), abs=1e-12)  # symmetric
    lo99, hi99 = wilson(k, n, z=2.576)
    assert lo99 <= lo + 1e-12 and hi99 >= hi - 1e-12  # a higher confidence is a wider interval


# ---------------------------------------------------------------------------------------------
# paired rates
# ---------------------------------------------------------------------------------------------


def test_paired_rate_test_on_bools_is_mcnemar():
    pairs = [(True, False)] * 1 + [(False, True)] * 9 + [(True, True)] * 40 + [(False, False)] * 50
    assert paired_rate_test(pairs) == pytest.approx(0.021484375)


def test_pairing_finds_what_an_unpaired_test_misses():
    """40 → 50 refusals of 100, where every change is one way: paired p ≈ 0.002, while two
    independent Wilson intervals overlap (an unpaired comparison would call it noise)."""
    pairs = [(True, True)] * 40 + [(False, True)] * 10 + [(False, False)] * 50
    assert paired_rate_test(pairs) == pytest.approx(2 / 1024)
    hi_baseline = wilson(40, 100)[1]
    lo_candidate = wilson(50, 100)[0]
    assert lo_candidate < hi_baseline  # overlapping intervals


def test_paired_rate_test_with_fractions_uses_sign_flips():
    # 2 of 3 samples refused on 6 cases that did not refuse before; exact over 2^6 patterns
    pairs = [(0.0, 2 / 3)] * 6 + [(0.5, 0.5)] * 10
    assert paired_rate_test(pairs) == pytest.approx(2 / 64)
    # ±1 differences: the sign-flip test is McNemar
    assert sign_flip_test([1, 1, 1, 1, 1, -1, 1, 1, 1, 1]) == pytest.approx(mcnemar_exact(1, 9))
    with pytest.raises(ValueError):
        paired_rate_test([(0.5, 1.5)])


def test_sign_flip_monte_carlo_is_seeded():
    diffs = [0.3, -0.1, 0.2, 0.25, 0.1, -0.05, 0.3, 0.2, 0.15, 0.05, 0.1, 0.2, -0.1, 0.3]  # 14 > exact limit
    p = sign_flip_test(diffs, seed=1, n_resamples=2000)
    assert p == sign_flip_test(diffs, seed=1, n_resamples=2000)
    assert 0 < p < 0.05


# ---------------------------------------------------------------------------------------------
# paired median change
# ---------------------------------------------------------------------------------------------


def test_median_change_by_hand():
    base = [100, 120, 80, 90, 110]
    cand = [130, 150, 100, 95, 140]  # differences 30, 30, 20, 5, 30 → median 30
    m = paired_median_change(base, cand)
    assert m.median_delta == 30
    # the p-value is the exact sign test: 5 of 5 cases went up, 2 · 0.5^5
    assert m.p == pytest.approx(2 / 32)
    assert m.ci_lo <= 30 <= m.ci_hi and m.ci_lo >= 5 and m.ci_hi <= 30


def test_a_uniform_shift_is_significant():
    """20 of 20 cases going from 8 to 5 words: the sign-flip test of |median| scored this ≈ 0.8."""
    m = paired_median_change([8] * 20, [5] * 20)
    assert m.median_delta == -3 and m.p == pytest.approx(2 * 0.5**20)


def test_exact_bootstrap_interval_matches_resampling():
    """The interval is the bootstrap's limit: 40,000 real resamples land on the same order statistics."""
    import random
    from statistics import median

    rng = random.Random(5)
    diffs = sorted(rng.gauss(1, 3) for _ in range(301))
    m = paired_median_change([0.0] * 301, diffs)
    boots = sorted(median(rng.choices(diffs, k=301)) for _ in range(40_000))
    assert boots[1000] == pytest.approx(m.ci_lo, abs=0.05)
    assert boots[39_000] == pytest.approx(m.ci_hi, abs=0.05)


def test_median_change_no_change_and_empty():
    assert paired_median_change([], []) == (0.0, 0.0, 0.0, 1.0)
    m = paired_median_change([5, 6, 7], [5, 6, 7])
    assert (m.median_delta, m.ci_lo, m.ci_hi, m.p) == (0, 0, 0, 1.0)
    with pytest.raises(ValueError):
        paired_median_change([1, 2], [1])


def test_median_change_large_shift_is_significant_and_fast():
    import random
    import time

    rng = random.Random(1)
    base = [rng.gauss(100, 20) for _ in range(10_000)]
    longer = [b * 1.3 + rng.gauss(0, 5) for b in base]  # +30% words
    same = [b + rng.gauss(0, 5) for b in base]
    t0 = time.perf_counter()
    up = paired_median_change(base, longer)
    flat = paired_median_change(base, same)
    assert time.perf_counter() - t0 < 3.0
    assert up.p < 0.001 and up.ci_lo > 20
    assert flat.p > 0.05 and flat.ci_lo < 0 < flat.ci_hi


def test_median_change_is_identical_across_processes():
    code = (
        "from reviewer.stats import paired_median_change, sign_flip_test\n"
        "b = [float(i % 17) for i in range(500)]\n"
        "c = [x + (i % 5) - 1.7 for i, x in enumerate(b)]\n"
        "print(repr(tuple(paired_median_change(b, c, seed=3))), repr(sign_flip_test([x - y for x, y in zip(c, b)])))\n"
    )
    outs = set()
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        outs.add(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout)
    assert len(outs) == 1


# ---------------------------------------------------------------------------------------------
# multiple comparisons
# ---------------------------------------------------------------------------------------------

# Benjamini & Hochberg (1995), section 4: 15 p-values from a study of myocardial infarction.
# At 0.05, BH rejects the 4 smallest and Holm (like Bonferroni) the 3 smallest; adjusted values
# computed by hand: BH q_(i) = min_{j ≥ i} 15 p_(j) / j, Holm = max_{j ≤ i} (16 − j) p_(j).
BH_P = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0]
BH_Q = [
    0.0015,
    0.003,
    0.0095,
    0.035625,
    0.0603,
    0.063857,
    0.063857,
    0.0645,
    0.0765,
    0.486,
    0.581182,
    0.714875,
    0.753231,
    0.813214,
    1.0,
]
HOLM = [0.0015, 0.0056, 0.0247, 0.114, 0.2211, 0.278, 0.278, 0.278, 0.3213, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_bh_and_holm_on_the_textbook_example():
    assert benjamini_hochberg(BH_P) == pytest.approx(BH_Q, abs=1e-6)
    assert holm(BH_P) == pytest.approx(HOLM, abs=1e-9)
    assert sum(q <= 0.05 for q in benjamini_hochberg(BH_P)) == 4
    assert sum(q <= 0.05 for q in holm(BH_P)) == 3


def test_adjusted_values_keep_the_input_order():
    shuffled = [BH_P[i] for i in (14, 0, 9, 3, 1)]
    # sorted 0.0001, 0.0004, 0.0095, 0.324, 1.0 times 5, 4, 3, 2, 1
    assert holm(shuffled) == pytest.approx([1.0, 0.0005, 0.648, 0.0285, 0.0016])
    assert benjamini_hochberg([0.04, 0.01, 0.03]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([]) == [] and benjamini_hochberg([]) == []
    with pytest.raises(ValueError):
        holm([0.5, 1.2])


@given(st.lists(st.floats(0, 1), max_size=30))
def test_adjustment_properties(ps):
    h, q = holm(ps), benjamini_hochberg(ps)
    for p, hp, qp in zip(ps, h, q, strict=True):
        assert p <= qp + 1e-12 <= hp + 2e-12 and hp <= 1.0
    # monotone in the raw p-values
    for i, j in combinations(range(len(ps)), 2):
        if ps[i] < ps[j]:
            assert h[i] <= h[j] + 1e-12 and q[i] <= q[j] + 1e-12


# ---------------------------------------------------------------------------------------------
# pass^k and flip rate
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "passes, pass_k, flip_rate",
    [
        ([True, True, True], True, 0.0),
        ([True, False, True], False, 2 / 3),  # pairs (1,2) and (2,3) disagree, (1,3) agrees
        ([False, False, False], False, 0.0),
        ([True, False], False, 1.0),
        ([True, True, False, False], False, 4 / 6),
        ([True], True, None),
        ([], False, None),
    ],
)
def test_pass_hat_k(passes, pass_k, flip_rate):
    got = pass_hat_k(passes)
    assert got.k == len(passes) and got.passes == sum(passes)
    assert got.pass_k is pass_k
    assert got.flip_rate == (None if flip_rate is None else pytest.approx(flip_rate))


@given(st.lists(st.booleans(), min_size=2, max_size=12))
def test_flip_rate_is_the_share_of_disagreeing_pairs(passes):
    pairs = list(combinations(passes, 2))
    assert pass_hat_k(passes).flip_rate == pytest.approx(sum(a != b for a, b in pairs) / len(pairs))


# ---------------------------------------------------------------------------------------------
# distances between two groups of samples
# ---------------------------------------------------------------------------------------------


def test_distance_permutation_resolution():
    """Two clearly separated groups reach the smallest p the labelings allow, and no smaller."""
    pos = [0.0, 0.1, 0.2, 5.0, 5.1, 5.2]
    t3 = distance_permutation_test(lambda i, j: abs(pos[i] - pos[j]), 3, 3)
    assert t3.p == pytest.approx(0.1) and t3.labelings == 10 and t3.statistic > 4
    two = [0.0, 0.1, 5.0, 5.1]
    t2 = distance_permutation_test(lambda i, j: abs(two[i] - two[j]), 2, 2)
    assert t2.p == pytest.approx(1 / 3)
    far = [0.0, 0.1, 0.2, 0.3, 0.4, 9.0, 9.1, 9.2, 9.3, 9.4]
    t5 = distance_permutation_test(lambda i, j: abs(far[i] - far[j]), 5, 5)
    assert t5.p == pytest.approx(2 / 252) and t5.labelings == 126


@settings(max_examples=40)
@given(st.lists(st.floats(0, 10), min_size=6, max_size=6))
def test_distance_permutation_p_is_a_probability(points):
    t = distance_permutation_test(lambda i, j: abs(points[i] - points[j]), 3, 3)
    assert 0.1 - 1e-12 <= t.p <= 1.0

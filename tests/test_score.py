"""Change score, noise floor, flags, tiers and triage order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewer.diff.score import Sample, assess_case, change_score, score_pairs, triage
from reviewer.suite import Check

# ---------------------------------------------------------------------------------------------
# change_score
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b, score",
    [
        ("", "", 0.0),
        ("same words here", "same words here", 0.0),
        ("same  words\nhere", "same words here", 0.0),  # whitespace is not a word
        ("refund within 30 days", "refund within 14 days", 0.25),  # 1 word of 4 replaced: 2 edits / 8 tokens
        ("alpha beta", "gamma delta", 1.0),
        ("something", "", 1.0),
        ("Hello, world", "Hello world", 0.5),  # "Hello," ≠ "Hello": 2 edits / 4 words, like git --word-diff
        ("你好世界", "你好地球", 0.5),  # CJK characters are tokens
    ],
)
def test_change_score(a, b, score):
    assert change_score(a, b) == pytest.approx(score)


@given(st.text(max_size=200), st.text(max_size=200))
def test_change_score_properties(a, b):
    s = change_score(a, b)
    assert 0.0 <= s <= 1.0
    assert s == change_score(b, a)
    assert change_score(a, a) == 0.0
    assert score_pairs([(a, b), (b, a), (a, a)]) == [s, s, 0.0]


def test_score_pairs_empty_and_order():
    assert score_pairs([]) == []
    pairs = [("a b c", "a b d"), ("x", "y"), ("a b c", "a b c"), ("a b c", "x")]
    assert score_pairs(pairs) == [change_score(a, b) for a, b in pairs]


# ---------------------------------------------------------------------------------------------
# assess_case
# ---------------------------------------------------------------------------------------------

ANSWER = "Refunds are issued within 30 days of the return arriving at our warehouse."


def s(text: str, **kw) -> Sample:
    return Sample(text, **kw)


def test_unchanged_case():
    a = assess_case("c1", [s(ANSWER)] * 3, [s(ANSWER)] * 3)
    assert (a.change, a.within, a.noise, a.flags, a.flip, a.tier) == (0.0, 0.0, False, (), "none", 3)
    assert len(a.baseline_signals) == 3 and a.pair.format_drift == ()


def test_changed_case_with_one_sample_each_has_no_noise_floor():
    a = assess_case("c1", [s(ANSWER)], [s(ANSWER.replace("30", "14"))])
    assert a.within is None and not a.noise and a.tier == 1
    assert a.noise_known is False and a.noise_p is None  # no floor: say "unknown", do not invent one
    assert a.change == pytest.approx(change_score(ANSWER, ANSWER.replace("30", "14")))


def test_noise_floor_baseline_differs_from_itself_as_much_as_from_the_candidate():
    baseline = [
        s("Refunds are issued within 30 days of the return arriving."),
        s("Refunds get issued within 30 days after the return arrives."),
        s("We issue refunds within 30 days once the return arrives."),
    ]
    candidate = [
        s("Refunds are issued within 30 days once the return arrives."),
        s("Refunds get issued within 30 days of the return arriving."),
        s("We issue refunds within 30 days after the return arrives."),
    ]
    a = assess_case("noisy", baseline, candidate)
    assert a.change > 0 and a.within is not None
    assert a.change <= a.within + 0.01
    assert a.noise and a.tier == 2 and a.flags == ()


def test_a_real_change_rises_above_the_noise_floor():
    baseline = [s(ANSWER), s(ANSWER), s(ANSWER.replace("our warehouse", "the warehouse"))]
    candidate = [s("Refunds are not available for this product. Contact support for an exchange.")] * 3
    a = assess_case("real", baseline, candidate)
    assert a.change > a.within + 0.5
    assert not a.noise and a.tier == 1


PARAPHRASES = [
    "Refunds are issued within {n} days of the return arriving at our warehouse.",
    "Refunds get issued within {n} days after the return arrives at our warehouse.",
    "We issue refunds within {n} days once the return arrives at the warehouse.",
]


def test_a_consistently_changed_number_is_real_even_under_paraphrase_noise():
    """The cross distances barely exceed the spread, but every baseline sample says 30 and every
    candidate sample says 14: a changed fact, not sampling noise (new rule, issue 12)."""
    baseline = [s(p.format(n=30)) for p in PARAPHRASES]
    candidate = [s(p.format(n=14)) for p in reversed(PARAPHRASES)]
    a = assess_case("number", baseline, candidate)
    assert a.consistent_words == 2  # "30" only on one side, "14" only on the other
    assert a.change < a.within * 1.5  # the old distance rule alone could not tell
    assert not a.noise and a.noise_known and a.tier == 1


def test_the_same_paraphrases_on_both_sides_are_noise_whatever_the_split():
    baseline = [s(p.format(n=30)) for p in PARAPHRASES]
    candidate = [s(p.format(n=30)) for p in (PARAPHRASES[1], PARAPHRASES[2], PARAPHRASES[1])]
    a = assess_case("same-dist", baseline, candidate)
    assert a.change > 0 and a.consistent_words == 0
    assert a.noise and a.tier == 2


def test_two_deterministic_versions_that_differ_are_a_real_change():
    a = assess_case("det", [s(ANSWER)] * 3, [s(ANSWER.replace("30", "31"))] * 3)
    assert a.within == 0 and a.change > 0 and not a.noise and a.tier == 1


def test_cross_above_the_margin_but_not_the_most_separated_split_is_noise():
    """Mean cross clears the margin only because two candidate samples are outliers (of each
    other too); the third says what the baseline says. Putting any of the four alike samples with
    the outliers separates the groups as well as the real split does (p = 8/20), so: noise."""
    x = "alpha beta gamma delta epsilon zeta eta theta"
    baseline = [s(x)] * 3
    candidate = [s(x), s("completely different words here now"), s("and yet another unrelated reply")]
    a = assess_case("outlier", baseline, candidate)
    assert a.change > a.within * 1.13 + 0.01
    assert a.noise_p == pytest.approx(0.4)
    assert a.noise and a.tier == 2


def test_real_change_margin_and_permutation_floor():
    from reviewer.diff.score import NOISE_MARGIN, real_change

    assert not real_change(0.0, 0.2, None, 3, 3, 0)
    assert real_change(0.3, 0.0, None, 3, 3, 0)  # deterministic sides
    assert real_change(0.21, 0.2, None, 3, 3, 2)  # consistent words, k = 3
    assert not real_change(0.21, 0.2, None, 2, 2, 5)  # … but not at k = 2 (too easy by chance)
    over = 0.2 * (1 + NOISE_MARGIN) + 0.02
    assert real_change(over, 0.2, 0.1, 3, 3, 0)  # the most separated of 10 splits: p = 0.1
    assert not real_change(over, 0.2, 0.2, 3, 3, 0)
    assert not real_change(over, 0.2, 0.06, 5, 5, 0)  # at k = 5 the test can reach 0.05: it must
    assert real_change(over, 0.2, 0.04, 5, 5, 0)
    assert not real_change(0.2 * (1 + NOISE_MARGIN), 0.2, 0.1, 3, 3, 0)  # under the margin


def test_within_pools_both_sides():
    x, y = "one two three four", "one two three five"
    a = assess_case("w", [s(x), s(y)], [s(x), s(x)])
    # baseline pair: 0.25; candidate pair: 0.0 → mean 0.125
    assert a.within == pytest.approx(0.125)
    assert a.change == pytest.approx((0 + 0 + 0.25 + 0.25) / 4)


MAX_12 = Check.model_validate({"max_words": 12})
NOT_REFUSAL = Check.model_validate({"not_refusal": True})


def test_negative_flip_by_majority_over_three_samples():
    short, long = "Refunds take 30 days.", ANSWER  # 4 words, 13 words
    baseline = [s(short), s(short), s(long)]  # max_words passes 2/3: passes
    candidate = [s(long), s(short), s(long)]  # 1/3: fails
    a = assess_case("flip", baseline, candidate, checks=[MAX_12])
    assert a.flip == "negative" and "negative_flip" in a.flags and a.tier == 0
    assert [(c.passes, c.samples, c.passed) for c in a.baseline_checks] == [(2, 3, True)]
    assert [(c.passes, c.samples, c.passed) for c in a.candidate_checks] == [(1, 3, False)]
    assert a.baseline_passed and not a.candidate_passed


def test_no_flip_when_the_minority_sample_fails():
    short, long = "Refunds take 30 days.", ANSWER
    a = assess_case("ok", [s(short)] * 3, [s(short), s(long), s(short)], checks=[MAX_12])
    assert a.flip == "none" and "negative_flip" not in a.flags


def test_positive_flip():
    a = assess_case("better", [s(ANSWER)], [s("Refunds take 30 days.")], checks=[MAX_12])
    assert a.flip == "positive" and a.flags == ("positive_flip",) and a.tier == 0


def test_format_drift_flag():
    a = assess_case("fmt", [s('{"days": 30}')] * 2, [s('```json\n{"days": 30}\n```')] * 2)
    assert a.pair.format_drift == ("JSON bare → fenced",)
    assert a.flags == ("format_drift",) and a.tier == 0


def test_format_drift_the_baseline_shows_by_itself_is_not_flagged():
    baseline = [s("- a\n- b"), s("1. a\n2. b")]
    candidate = [s("1. a\n2. b"), s("1. a\n2. b")]
    a = assess_case("fmt-noise", baseline, candidate)
    assert a.pair.format_drift == ("bullets → numbered",)
    assert "format_drift" not in a.flags


def test_refusal_flip_flag_uses_majorities():
    refusal = "I can't help with that request."
    a = assess_case("ref", [s(ANSWER)] * 3, [s(refusal), s(refusal), s(ANSWER)], checks=[NOT_REFUSAL])
    assert "refusal_flip" in a.flags and "negative_flip" in a.flags
    a = assess_case("ref-minority", [s(ANSWER)] * 3, [s(refusal), s(ANSWER), s(ANSWER)])
    assert "refusal_flip" not in a.flags
    assert a.pair.refusal_flip == "gained"  # the first samples, as shown side by side


def test_refusal_from_the_provider_field():
    a = assess_case("ref2", [s(ANSWER)], [s("", refusal="I refuse.")])
    assert "refusal_flip" in a.flags and a.candidate_signals[0].refusal_reason == "message.refusal"


def test_truncation_flag():
    a = assess_case("cut", [s(ANSWER)] * 3, [s(ANSWER), s(ANSWER[:40], finish_reason="length"), s(ANSWER)])
    assert "truncation" in a.flags  # any truncated candidate sample when the baseline never was
    a = assess_case("both-cut", [s(ANSWER[:40], finish_reason="length")], [s(ANSWER[:40], finish_reason="length")])
    assert "truncation" not in a.flags and a.tier == 3


def test_errored_samples_fail_checks_and_are_left_out_of_distances():
    a = assess_case("err", [s(ANSWER), s(ANSWER)], [s(ANSWER), s("", error="HTTP 500"), s("", error="timeout")], checks=[MAX_12])
    assert a.change == 0.0  # only the usable candidate sample is compared
    assert "error" in a.flags and a.tier == 0
    # max_words passes on 1 of 3 candidate samples: errored samples fail
    assert [(c.passes, c.samples) for c in a.candidate_checks] == [(0, 3)]


def test_a_side_with_only_errors_is_at_distance_one():
    a = assess_case("down", [s(ANSWER)], [s("", error="HTTP 503")])
    assert a.change == 1.0 and a.flags == ("error",)
    a = assess_case("all-down", [s("", error="x")], [s("", error="y")])
    assert a.change == 0.0 and a.flags == ("error",) and a.tier == 0


def test_schema_comes_from_the_json_schema_check():
    schema = {"type": "object", "required": ["days"]}
    check = Check.model_validate({"json_schema": schema})
    a = assess_case("js", [s('{"days": 30}')], [s('{"weeks": 2}')], checks=[check])
    assert a.baseline_signals[0].schema_valid is True and a.candidate_signals[0].schema_valid is False
    assert a.flip == "negative"


def test_reference_checks_use_the_reference():
    check = Check.model_validate({"similar_to_reference": 0.9})
    a = assess_case("ref", [s(ANSWER)], [s("Something else entirely.")], checks=[check], reference=ANSWER)
    assert a.flip == "negative"


def test_a_side_needs_samples():
    with pytest.raises(ValueError, match="'c'"):
        assess_case("c", [], [s("x")])


# ---------------------------------------------------------------------------------------------
# triage
# ---------------------------------------------------------------------------------------------


def test_triage_order():
    short, long = "Refunds take 30 days.", ANSWER
    cases = {
        "unchanged": assess_case("unchanged", [s(ANSWER)], [s(ANSWER)]),
        "small": assess_case("small", [s(ANSWER)], [s(ANSWER.replace("30", "14"))]),
        "big": assess_case("big", [s(ANSWER)], [s("Completely different text about shipping.")]),
        "noise": assess_case(
            "noise",
            [s("We refund in 30 days."), s("Refunds arrive in 30 days.")],
            [s("Refunds arrive in 30 days."), s("We refund in 30 days.")],
        ),
        "neg": assess_case("neg", [s(short)], [s(long)], checks=[MAX_12]),
        "drift": assess_case("drift", [s('{"a": 1}')], [s('```json\n{"a": 1}\n```')]),
        "also-unchanged": assess_case("also-unchanged", [s("x")], [s("x")]),
    }
    order = [a.case_id for a in triage(cases.values())]
    # tier 0 by change (neg 1.0 > drift 0.0), then tier 1 biggest first, then noise, then unchanged by id
    assert order == ["neg", "drift", "big", "small", "noise", "also-unchanged", "unchanged"]
    assert [cases[c].tier for c in order] == [0, 0, 1, 1, 2, 3, 3]
    assert cases["neg"].change > cases["drift"].change


def test_negative_flips_rank_ahead_of_other_flags_even_when_they_changed_less():
    eleven = "one two three four five six seven eight nine ten eleven"
    neg = assess_case("neg-small", [s(eleven)], [s(eleven + " twelve thirteen")], checks=[MAX_12])
    drift = assess_case("drift", [s('{"a": 1}')], [s('```json\n{"a": 1}\n```')])
    assert neg.flip == "negative" and "format_drift" in drift.flags
    assert neg.change < drift.change
    assert [a.case_id for a in triage([drift, neg])] == ["neg-small", "drift"]


def test_triage_is_stable_and_total():
    a = assess_case("b", [s("x y")], [s("x z")])
    b = assess_case("a", [s("x y")], [s("x z")])
    assert [x.case_id for x in triage([a, b])] == ["a", "b"]
    assert triage([]) == []


def test_non_answer_flip_flag_uses_majorities():
    answer = "Option B. It has the lower fee and the longer warranty."
    deflect = "This question is subjective and depends on your personal preferences and circumstances."
    a = assess_case("pick", [Sample(answer)] * 3, [Sample(deflect), Sample(deflect), Sample(answer)])
    assert "non_answer_flip" in a.flags and "refusal_flip" not in a.flags
    assert a.candidate_signals[0].non_answer and not a.baseline_signals[0].non_answer
    b = assess_case("pick", [Sample(answer)] * 3, [Sample(deflect), Sample(answer), Sample(answer)])
    assert "non_answer_flip" not in b.flags


def test_a_length_shift_of_every_sample_is_a_change_not_noise():
    from reviewer.diff.score import real_change

    # noisy paraphrases (within spread as large as the cross change) but every candidate sample is
    # over 20% longer than every baseline sample: verbosity, not noise
    assert real_change(0.3, 0.3, None, 3, 3, 0, lengths=([60, 62, 58], [80, 85, 78]))
    assert real_change(0.3, 0.3, None, 3, 3, 0, lengths=([80, 85, 78], [60, 62, 58]))
    # overlapping lengths, or fewer than 3 samples a side: the rest of the rule decides
    assert not real_change(0.3, 0.3, None, 3, 3, 0, lengths=([60, 75, 58], [80, 85, 70]))
    assert not real_change(0.3, 0.3, None, 2, 2, 0, lengths=([60, 62], [80, 85]))

"""assess_case splits a text that occurs more than once (an unchanged case, a deterministic model)
once and reuses its signals only when the provider said the same about it; a side whose every
sample errored is assessed, not a crash."""

from __future__ import annotations

from reviewer.diff.score import Sample, assess_case

TEXT = "Refunds take 5 business days.\n\n- check the order\n- email support"


def test_the_same_text_with_another_finish_reason_gets_its_own_signals():
    a = assess_case("c", [Sample(TEXT), Sample(TEXT, finish_reason="length")], [Sample(TEXT), Sample(TEXT, error="HTTP 500")])
    b0, b1 = a.baseline_signals
    c0, c1 = a.candidate_signals
    assert (b0.truncated, b1.truncated) == (False, True)
    assert (c0.error, c1.error) == (False, True)
    assert b0 == c0 and b0.words == b1.words == 12 and b0.markdown.bullets == 2
    assert a.change == 0.0 and a.within == 0.0 and a.flags == ("error",)


def test_repeated_texts_score_as_their_copies_do():
    other = TEXT.replace("5", "14")
    shared = assess_case("c", [Sample(TEXT)] * 3, [Sample(other), Sample(other), Sample(TEXT)])
    copies = assess_case(
        "c", [Sample("".join(list(TEXT))) for _ in range(3)], [Sample(other), Sample("".join(list(other))), Sample(TEXT)]
    )
    assert shared == copies
    # 12 words a side, one differs: 2 / 24 on 6 of the 9 cross pairs
    assert shared.change == (6 * (2 / 24)) / 9


def test_a_candidate_whose_every_sample_errored_is_a_change_not_a_crash():
    baseline = [Sample("Refunds take 5 days."), Sample("Refunds take about five days.")]
    candidate = [Sample("", error="HTTP 500"), Sample("", error="HTTP 500")]
    a = assess_case("down", baseline, candidate)
    assert a.change == 1.0 and a.within is not None and a.within > 0
    assert a.noise_p is None and a.flags == ("error",) and a.tier == 0


def test_a_repeated_text_is_checked_by_its_own_signals():
    from reviewer.suite import Check

    checks = [Check(kind="not_refusal"), Check(kind="max_words", value=11)]
    baseline = [Sample(TEXT), Sample(TEXT), Sample(TEXT, finish_reason="content_filter")]
    candidate = [Sample(TEXT, finish_reason="content_filter"), Sample(TEXT, finish_reason="content_filter"), Sample(TEXT)]
    a = assess_case("filtered", baseline, candidate, checks=checks)
    assert [(s.passes, s.passed) for s in a.baseline_checks] == [(2, True), (0, False)]
    assert [(s.passes, s.passed) for s in a.candidate_checks] == [(1, False), (0, False)]
    assert a.flip == "none" and a.candidate_signals[0] is a.candidate_signals[1]
    assert a.baseline_signals[0] is a.candidate_signals[2] and a.baseline_signals[2] is a.candidate_signals[0]


def test_a_deterministic_baseline_against_a_changed_candidate():
    from rapidfuzz.distance import Indel

    other = TEXT.replace("5 business", "14")
    for k in (1, 2, 3, 5):
        a = assess_case("det", [Sample(TEXT)] * k, [Sample(other)] * k)
        d = Indel.normalized_distance(TEXT.split(), other.split())
        assert d == 3 / 23 and a.change == sum([d] * k * k) / (k * k)  # the mean of k × k equal cross distances
        assert a.within == (0.0 if k > 1 else None) and a.noise is False and a.tier == 1

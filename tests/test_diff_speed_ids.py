"""A case with many samples takes its distances over token ids (bytes, or a str of code points
past 256 distinct words): every distance equals the one over the word lists."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Indel

from reviewer.diff.score import ENCODE_MIN_PAIRS, Sample, _token_ids, assess_case, score_word_lists

words = st.lists(st.sampled_from(["a", "b", "refund", "days.", "5", "14", "é", "你", ""]), max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(words, min_size=2, max_size=6))
def test_distances_over_ids_are_the_distances_over_words(lists):
    encoded = _token_ids(lists)
    assert all(isinstance(e, bytes) for e in encoded)
    pairs = list(combinations(range(len(lists)), 2))
    assert score_word_lists([(encoded[i], encoded[j]) for i, j in pairs]) == score_word_lists(
        [(lists[i], lists[j]) for i, j in pairs]
    )


def test_past_256_words_and_past_the_surrogates_the_ids_are_code_points():
    vocab = [f"w{i}" for i in range(57_500)]
    a = vocab
    b = [*vocab[:100], "new", *vocab[101:]]  # w100 replaced by a word whose id, 57,500, lies past the surrogates
    c = vocab[:30_000] + vocab[30_100:]
    encoded = _token_ids([a, b, c])
    assert all(isinstance(e, str) for e in encoded) and max(map(ord, encoded[1])) == 57_500 > 0xDFFF
    assert [len(e) for e in encoded] == [len(a), len(b), len(c)]
    assert score_word_lists([(encoded[0], encoded[1]), (encoded[0], encoded[2])]) == [
        Indel.normalized_distance(a, b),
        Indel.normalized_distance(a, c),
    ]


def test_a_three_sample_case_scores_as_its_word_lists_do():
    base = "Refunds take 5 business days after we receive the item . Contact support if it takes longer ."
    b = [Sample(base), Sample(base.replace("5", "five")), Sample(base.replace("after", "once"))]
    c = [Sample(base.replace("5", "14")), Sample(base.replace("5", "14") + " Thanks!"), Sample(base.replace("item", "parcel"))]
    assert len(b) * len(c) + 3 + 3 >= ENCODE_MIN_PAIRS  # this case takes the encoded path
    a = assess_case("refunds", b, c)
    bw, cw = [s.text.split() for s in b], [s.text.split() for s in c]
    cross = [Indel.normalized_distance(x, y) for x in bw for y in cw]
    within = [Indel.normalized_distance(x, y) for side in (bw, cw) for x, y in combinations(side, 2)]
    assert a.change == sum(cross) / len(cross)
    assert a.within == sum(within) / len(within)

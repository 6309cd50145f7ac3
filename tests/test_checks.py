"""Each check kind passing and failing, majority per side, flips."""

from __future__ import annotations

import pytest

from reviewer.diff.checks import CheckResult, flip, run_checks, side_checks, side_passed
from reviewer.diff.signals import output_signals
from reviewer.suite import Check


def one(check: dict, text: str, **kw) -> CheckResult:
    [r] = run_checks([Check.model_validate(check)], text, **kw)
    return r


SCHEMA = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {"price": {"type": "number"}}}}},
}


@pytest.mark.parametrize(
    "check, text, passed, detail",
    [
        ({"json": True}, '{"a": 1}', True, "JSON bare"),
        ({"json": True}, 'Here:\n```json\n{"a": 1}\n```', True, "JSON fenced"),
        ({"json": True}, 'It is {"a": 1}.', True, "JSON embedded"),
        ({"json": True}, "No JSON here.", False, "no JSON found"),
        (
            {"json": True},
            '{"a": 1,}',
            False,
            "invalid JSON: Expecting property name enclosed in double quotes at line 1 column 9",
        ),
        ({"json": True}, '{"a": [1', False, "JSON truncated: Expecting ',' delimiter at line 1 column 9"),
        ({"json_schema": SCHEMA}, '{"items": [{"price": 3.5}]}', True, "matches the schema"),
        ({"json_schema": SCHEMA}, '{"items": [{"price": "3.50"}]}', False, "$.items[0].price: '3.50' is not of type 'number'"),
        ({"json_schema": SCHEMA}, '{"things": []}', False, "'items' is a required property"),
        ({"json_schema": SCHEMA}, "Sorry, no JSON.", False, "no JSON: nothing to validate"),
        ({"json_schema": SCHEMA}, '{"items": [', False, "JSON truncated: nothing to validate"),
        (
            {"regex": r"refund within \d+ days"},
            "You get a refund within 30 days.",
            True,
            'matched "refund within 30 days" at char 10',
        ),
        (
            {"regex": r"refund within \d+ days"},
            "You get a Refund Within 30 days.",
            False,
            r"no match for /refund within \d+ days/",
        ),
        ({"regex": "refund within", "ignore_case": True}, "A REFUND WITHIN", True, 'matched "REFUND WITHIN" at char 2'),
        ({"contains": "refund"}, "Your refund is on its way.", True, "present"),
        ({"contains": "refund"}, "Your money is on its way.", False, 'missing "refund"'),
        ({"contains": ["refund", "30 days", "receipt"]}, "refund in 30 days", False, 'missing "receipt"'),
        ({"contains": ["refund", "days"]}, "refund in 30 days", True, "all 2 present"),
        ({"contains": "REFUND", "ignore_case": True}, "a refund", True, "present"),
        ({"not_contains": "guarantee"}, "We cannot promise anything.", True, "absent"),
        ({"not_contains": ["promise", "guarantee"]}, "We guarantee it.", False, 'found "guarantee" at char 3'),
        ({"not_contains": "GUARANTEE", "ignore_case": True}, "we guarantee", False, 'found "GUARANTEE" at char 3'),
        ({"not_contains": "GUARANTEE"}, "we guarantee", True, "absent"),
        ({"max_words": 5}, "one two three four five", True, "5 words ≤ 5"),
        ({"max_words": 4}, "one two three four five", False, "5 words > 4"),
        ({"min_words": 5}, "one two three four five", True, "5 words ≥ 5"),
        ({"min_words": 6}, "one two three four five", False, "5 words < 6"),
        ({"not_refusal": True}, "Sure, here is how.", True, "not a refusal"),
        ({"not_refusal": True}, "I can't help with that.", False, 'refusal (phrase: "I can\'t help with")'),
    ],
)
def test_each_check_kind(check, text, passed, detail):
    r = one(check, text)
    assert (r.passed, r.detail) == (passed, detail)


@pytest.mark.parametrize(
    "check, text, reference, passed, detail",
    [
        ({"equals_reference": True}, "  Paris\n", "Paris", True, "equals the reference"),
        ({"equals_reference": True}, "Paris, France", "Paris", False, "differs from the reference"),
        ({"similar_to_reference": 0.8}, "the refund takes 30 days", "the refund takes 30 days", True, "similarity 1.00 ≥ 0.80"),
        ({"similar_to_reference": 0.8}, "the refund takes 14 days", "the refund takes 30 days", True, "similarity 0.80 ≥ 0.80"),
        ({"similar_to_reference": 0.9}, "the refund takes 14 days", "the refund takes 30 days", False, "similarity 0.80 < 0.90"),
        (
            {"similar_to_reference": 0.5},
            "completely different words",
            "the refund takes 30 days",
            False,
            "similarity 0.00 < 0.50",
        ),
        ({"equals_reference": True}, "Paris", None, False, "the case has no reference answer"),
    ],
)
def test_reference_checks(check, text, reference, passed, detail):
    r = one(check, text, reference=reference)
    assert (r.passed, r.detail) == (passed, detail)


def test_not_refusal_uses_the_providers_signals():
    sig = output_signals("", finish_reason="content_filter")
    r = one({"not_refusal": True}, "", signals=sig)
    assert (r.passed, r.detail) == (False, "refusal (finish_reason=content_filter)")


def test_an_errored_sample_fails_every_check():
    checks = [Check.model_validate(c) for c in ({"not_contains": "x"}, {"max_words": 100}, {"not_refusal": True})]
    results = run_checks(checks, "", signals=output_signals("", error="HTTP 500"))
    assert [(r.passed, r.detail) for r in results] == [(False, "the sample errored")] * 3


def test_no_checks_no_results():
    assert run_checks([], "anything") == []


def test_details_never_carry_control_characters_from_the_output():
    r = one({"regex": r"ab[\s\S]*"}, "x ab\x1b[31mred\nline\x07")
    assert r.detail == 'matched "ab\\x1b[31mred⏎line\\x07" at char 2'
    long = one({"not_contains": "y"}, "y" * 5)
    assert long.detail == 'found "y" at char 0'


def test_results_keep_check_order():
    checks = [Check.model_validate(c) for c in ({"max_words": 1}, {"contains": "a"}, {"min_words": 1})]
    assert [r.check for r in run_checks(checks, "a b")] == checks


# ---------------------------------------------------------------------------------------------
# Majority per side, flips
# ---------------------------------------------------------------------------------------------

WORDS_3 = Check.model_validate({"max_words": 3})
REFUND = Check.model_validate({"contains": "refund"})


def _side(texts: list[str]) -> list:
    return side_checks([run_checks([WORDS_3, REFUND], t) for t in texts])


def test_side_checks_take_a_strict_majority_of_three_samples():
    side = _side(["a refund", "refund now please thanks", "no money"])
    assert [(s.check, s.passes, s.samples, s.passed) for s in side] == [(WORDS_3, 2, 3, True), (REFUND, 2, 3, True)]
    side = _side(["a refund", "refund now please thanks", "no money back sorry"])
    assert [(s.passes, s.passed) for s in side] == [(1, False), (2, True)]
    assert not side_passed(side)


def test_half_is_not_a_majority():
    side = _side(["refund", "nothing"])
    assert [(s.passes, s.samples, s.passed) for s in side][1] == (1, 2, False)


def test_side_checks_reject_mismatched_samples():
    with pytest.raises(ValueError, match="sample 1"):
        side_checks([run_checks([WORDS_3], "a"), run_checks([REFUND], "a")])
    assert side_checks([]) == []


def test_a_side_with_no_checks_passes():
    assert side_passed([])


@pytest.mark.parametrize(
    "baseline, candidate, expected",
    [(True, False, "negative"), (False, True, "positive"), (True, True, "none"), (False, False, "none")],
)
def test_flip(baseline, candidate, expected):
    assert flip(baseline, candidate) == expected


def test_negative_flip_from_majorities_over_three_samples():
    baseline = _side(["refund ok", "a refund", "refund"])  # 3/3, 3/3
    candidate = _side(["refund ok", "your money back", "a long answer about money"])  # 2/3 words, 1/3 refund
    assert flip(side_passed(baseline), side_passed(candidate)) == "negative"
    per_check = [flip(b.passed, c.passed) for b, c in zip(baseline, candidate, strict=True)]
    assert per_check == ["none", "negative"]


# ---------------------------------------------------------------------------------------------
# Check regexes run on RE2 (linear time) and keep the meaning they had under Python's re
# ---------------------------------------------------------------------------------------------

SAFE_PATTERNS = [
    r"\b100\b", r"(?i)carbon dioxide|CO2", r"(?i)\b(7|seven)\b", r"(?i)^\s*positive", r"\b1,?000\b",
    r"^\d+$", r"\w+ing\b", r"\s{2,}", r"[^\w\s]", r"\D+", r"\W", r"\S+$", r"x{,2}y", r"\Aok", r"end\Z",
    r"(?m)^\s*[-*+•] \S", r"(?m)^\s*\|.*\|\s*$", r"\A\s*[\[{][\s\S]*[\]}]\s*\Z", r"[]x]", r"[\d,]+",
    r"\u00e9t\u00e9", r"a(?#comment)b", r"(?s)a.b", r"a.b", r"(?P<n>\d)-(?P<m>\d)", r"refund within \d+ days",
]  # fmt: skip
SAFE_TEXTS = [
    "cost 100.", "100\n", "CO2 and carbon dioxide", "Seven days", "  positive\n", "1000 items", "42", "42\n",
    "٤٢", "running fast", "a  b", "café!", "naïve—word", "été", "xxy", "ok then", "the end", "the end\n",
    "- item\n* two", "| a | b |\n", '{"a": 1}\n', "]", "1,234", "a\nb", "a b", "1-2", "refund within 30 days\n", "",
]  # fmt: skip


@pytest.mark.parametrize("pattern", SAFE_PATTERNS)
def test_check_regexes_mean_what_they_meant_under_python_re(pattern):
    """Every pattern our suites and suggestions use, on ASCII and non-ASCII text: RE2 with the
    translation matches exactly where Python's re does (same start, same text)."""
    import re

    for text in SAFE_TEXTS:
        py = re.search(pattern, text)
        got = one({"regex": pattern}, text)
        assert got.passed == (py is not None), (pattern, text)
        if py is not None:
            assert got.detail.endswith(f"at char {py.start()}"), (pattern, text, got.detail)


def test_ignore_case_is_unicode_aware():
    assert one({"regex": "ÉTÉ", "ignore_case": True}, "un été chaud").passed
    assert not one({"regex": "ÉTÉ"}, "un été chaud").passed


def test_a_catastrophic_pattern_finishes():
    """(a+)+$ on 34 a's and a "!" takes hours under Python's backtracking re; RE2 is linear."""
    r = one({"regex": "(a+)+$"}, "a" * 34 + "!")
    assert not r.passed and r.detail == "no match for /(a+)+$/"
    assert one({"regex": "(a+)+$"}, "a" * 34).passed


def test_not_regex_passes_when_nothing_matches():
    assert one({"not_regex": r"(?i)\bsorry\b"}, "Here you go.").passed
    r = one({"not_regex": r"(?i)\bsorry\b"}, "I'm SORRY, I can't.")
    assert not r.passed and r.detail == 'matched "SORRY" at char 4'
    assert not one({"not_regex": "sorry", "ignore_case": True}, "Sorry").passed


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"(\w+) \1", r"uses a backreference (\1 … \9)"),
        (r"(?<=\$)\d+", "uses lookbehind (?<=…)"),
        (r"^(?!Sorry)", "uses negative lookahead (?!…)"),
        (r"a++", "uses a possessive quantifier"),
        (r"(?>a|ab)c", "uses an atomic group"),
        ("refund (", "invalid pattern 'refund (': missing ), unterminated subpattern at position 7"),
    ],
)
def test_patterns_the_engine_cannot_run_are_refused_when_the_suite_is_read(pattern, message):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=re_escape(message)):
        Check.model_validate({"regex": pattern})


def re_escape(s: str) -> str:
    import re

    return re.escape(s)


def test_checks_with_mapping_values_hash_and_deduplicate():
    from reviewer.suite import Check

    a = Check(kind="tool_args", value={"name": "f", "match": {"$.n": 3}})
    b = Check(kind="tool_args", value={"match": {"$.n": 3}, "name": "f"})
    c = Check(kind="tool_args", value={"name": "f", "match": {"$.n": "3"}})
    assert hash(a) == hash(b) and a == b
    assert list(dict.fromkeys([a, b, c])) == [a, c]

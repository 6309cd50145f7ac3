"""Tokens and line/word alignment (reviewer.diff.tokens, reviewer.diff.align)."""

from __future__ import annotations

import dataclasses
import importlib
import random
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer.diff import tokens
from reviewer.diff.align import (
    Row,
    Span,
    _matching_runs,
    align,
    diff_stats,
    reconstruct,
    split_lines,
    word_spans,
)
from reviewer.diff.tokens import split_words, tokenize, word_count

align_module = importlib.import_module("reviewer.diff.align")  # the module (reviewer.diff.align is also the function)

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def check_rows(rows: list[Row], left: str, right: str, **flags: bool) -> None:
    """Every invariant a renderer relies on."""
    assert reconstruct(rows, "left") == left
    assert reconstruct(rows, "right") == right
    left_nos = [r.left_no for r in rows if r.left is not None]
    right_nos = [r.right_no for r in rows if r.right is not None]
    assert left_nos == list(range(1, len(left_nos) + 1))
    assert right_nos == list(range(1, len(right_nos) + 1))
    by_left = {r.left_no: r for r in rows if r.left is not None}
    by_right = {r.right_no: r for r in rows if r.right is not None}
    for r in rows:
        assert (r.left is None) == (r.left_no is None) and (r.right is None) == (r.right_no is None)
        assert r.left is not None or r.right is not None
        assert "\n" not in (r.left or "") and "\n" not in (r.right or "")
        if r.kind in ("equal", "changed"):
            assert r.left is not None and r.right is not None
        if r.kind == "equal":
            assert not r.left_spans and not r.right_spans
            if not flags:
                assert r.left == r.right and r.left_eol == r.right_eol
        if r.kind == "only_left":
            assert r.right is None and not r.left_spans
        if r.kind == "only_right":
            assert r.left is None and not r.right_spans
        if r.kind == "moved":
            if r.left is not None:
                assert r.right is None and r.moved_to is not None
                twin = by_right[r.moved_to]
                assert twin.kind == "moved" and twin.moved_from == r.left_no
            else:
                assert r.moved_from is not None
                twin = by_left[r.moved_from]
                assert twin.kind == "moved" and twin.moved_to == r.right_no
        for text, spans, kind in ((r.left, r.left_spans, "delete"), (r.right, r.right_spans, "insert")):
            end = 0
            for s in spans:
                assert s.kind == kind
                assert end <= s.start < s.end <= len(text or "")
                end = s.end
        if r.kind == "changed" and not flags:
            assert (r.left, r.left_eol) != (r.right, r.right_eol)
            # Outside the spans, both sides read the same.
            assert outside(r.left, r.left_spans) == outside(r.right, r.right_spans)
            assert bool(r.left_spans or r.right_spans) == (r.left != r.right)


def outside(text: str, spans: tuple[Span, ...]) -> str:
    out, pos = [], 0
    for s in spans:
        out.append(text[pos : s.start])
        pos = s.end
    out.append(text[pos:])
    return "".join(out)


def marked(text: str, spans: tuple[Span, ...]) -> list[str]:
    return [text[s.start : s.end] for s in spans]


def kinds(rows: list[Row]) -> list[str]:
    return [r.kind for r in rows]


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------


def test_split_words_keeps_word_runs_and_single_punctuation():
    assert split_words("Hello, world!  It's 3.5 -- ok_go") == [
        "Hello",
        ",",
        "world",
        "!",
        "It",
        "'",
        "s",
        "3",
        ".",
        "5",
        "-",
        "-",
        "ok_go",
    ]
    assert split_words("") == [] and split_words(" \n\t ") == []


def test_cjk_characters_are_one_token_each_but_hangul_words_stay_whole():
    assert split_words("我喜欢Python和数据。") == ["我", "喜", "欢", "Python", "和", "数", "据", "。"]
    assert split_words("カタカナとひらがな") == list("カタカナとひらがな")
    assert split_words("한국어 문장") == ["한국어", "문장"]


def test_tokens_never_split_a_user_perceived_character():
    decomposed = "cafe\u0301 na\u0308ive"  # é and ï as base + combining mark
    assert split_words(decomposed) == ["cafe\u0301", "na\u0308ive"]
    assert split_words("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # Devanagari vowel signs are marks
    assert split_words("שָׁלוֹם") == ["שָׁלוֹם"]  # Hebrew points
    family = "👨\u200d👩\u200d👧"
    assert split_words(f"{family} 👍🏽 🇫🇷🇩🇪 1\ufe0f\u20e3") == [family, "👍🏽", "🇫🇷", "🇩🇪", "1\ufe0f\u20e3"]
    assert split_words("می\u200cخواهم") == ["می\u200cخواهم"]  # Persian zero-width non-joiner


def test_rtl_text_tokenizes_by_words():
    assert split_words("مرحبا بالعالم!") == ["مرحبا", "بالعالم", "!"]


@given(st.text())
def test_tokenize_is_lossless(text):
    toks = tokenize(text)
    assert "".join(toks) == text
    assert all(toks)
    assert [t for t in toks if not t[0].isspace()] == split_words(text)


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_fast_path_gives_the_same_tokens(text):
    assert tokens._ASCII_WORDS(text) == tokens._WORDS(text)
    assert tokens._ASCII_TOKENS(text) == tokens._TOKENS(text)


def test_word_count():
    assert word_count("") == 0
    assert word_count("The answer is 42.") == 4
    assert word_count("  spaced\tout\nwords  ") == 3
    assert word_count("答案是 42。") == 4  # 答 案 是 42; the full stop is not a word
    assert word_count("日本語のテキスト") == 8
    assert word_count("café — naïve") == 3


def test_mark_tables_are_exactly_unicode_category_m():
    every = "".join(map(chr, range(0x110000)))

    def members(ranges: str) -> set[int]:
        return set(map(ord, re.findall(f"[{ranges}]", every)))

    found = members(tokens._MARKS_BMP) | members(tokens._MARKS_ASTRAL)
    assert all(unicodedata.category(chr(c))[0] == "M" for c in found)
    if unicodedata.unidata_version == "14.0.0":  # the version the tables were generated from
        assert found == {c for c in range(0x110000) if unicodedata.category(chr(c))[0] == "M"}


# ---------------------------------------------------------------------------------------------
# Lines and reconstruction
# ---------------------------------------------------------------------------------------------


def test_split_lines_keeps_endings():
    assert split_lines("") == ([], [])
    assert split_lines("a") == (["a"], [""])
    assert split_lines("a\n") == (["a"], ["\n"])
    assert split_lines("\n") == ([""], ["\n"])
    assert split_lines("a\r\nb\rc\n\n") == (["a", "b\rc", ""], ["\r\n", "\n", "\n"])


LINE = st.sampled_from(
    [
        "",
        " ",
        "alpha beta gamma",
        "alpha beta delta",
        "The refund window is 30 days.",
        "The refund window is 14 days.",
        "{",
        "}",
        '  "key": 1,',
        "日本語のテキスト",
        "x\r",
        "\t- item",
    ]
)
EOL = st.sampled_from(["\n", "\r\n"])


@st.composite
def documents(draw) -> str:
    lines = draw(st.lists(st.tuples(LINE, EOL), max_size=25))
    text = "".join(line + eol for line, eol in lines)
    if draw(st.booleans()):
        text += draw(LINE)  # last line without a line ending
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), documents(), st.booleans(), st.booleans())
def test_rows_reconstruct_both_inputs_exactly(left, right, ignore_ws, ignore_case):
    flags = {k: True for k, v in (("ignore_whitespace", ignore_ws), ("ignore_case", ignore_case)) if v}
    rows = align(left, right, **flags)
    check_rows(rows, left, right, **flags)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text())
def test_arbitrary_unicode_texts_reconstruct(left, right):
    check_rows(align(left, right), left, right)


@given(documents())
def test_identical_inputs_give_only_equal_rows(text):
    rows = align(text, text)
    assert kinds(rows) == ["equal"] * len(split_lines(text)[0])


def test_empty_inputs():
    assert align("", "") == []
    assert align("", "new\n") == [Row("only_right", None, "new", None, 1, right_eol="\n")]
    assert align("old", "") == [Row("only_left", "old", None, 1, None)]


def test_line_ending_only_differences_are_changed_rows_without_spans():
    rows = align("a\r\nb\n", "a\nb\n")
    assert kinds(rows) == ["changed", "equal"]
    assert rows[0].left_eol == "\r\n" and rows[0].right_eol == "\n" and not rows[0].left_spans
    rows = align("a\nb", "a\nb\n")  # trailing newline added
    assert kinds(rows) == ["equal", "changed"]
    assert kinds(align("a\r\nb", "a\nb\n", ignore_whitespace=True)) == ["equal", "equal"]


# ---------------------------------------------------------------------------------------------
# Line alignment
# ---------------------------------------------------------------------------------------------


def test_similar_lines_pair_and_dissimilar_lines_get_filler():
    left = "Intro stays.\nThe refund window is 30 days.\nCall us anytime.\nBye.\n"
    right = "Intro stays.\nThe refund window is 14 days.\nTotally unrelated sentence here!\nBye.\n"
    rows = align(left, right)
    assert kinds(rows) == ["equal", "changed", "only_left", "only_right", "equal"]
    changed = rows[1]
    assert marked(changed.left, changed.left_spans) == ["30"]
    assert marked(changed.right, changed.right_spans) == ["14"]
    assert (rows[2].left, rows[2].right) == ("Call us anytime.", None)
    assert (rows[3].left, rows[3].right) == (None, "Totally unrelated sentence here!")
    check_rows(rows, left, right)


def test_pairing_keeps_order_and_finds_the_best_partner():
    left = "first line about apples\nsecond line about pears\nthird line about plums\n"
    right = "a brand new opening\nsecond line about pears!\nthird line about plums!!\n"
    rows = align(left, right)
    assert kinds(rows) == ["only_left", "only_right", "changed", "changed"]
    assert [(r.left_no, r.right_no) for r in rows[2:]] == [(2, 2), (3, 3)]


def test_one_word_lines_pair_by_characters():
    rows = align("Supercalifragilistic\n", "Supercalifragilistik\n")
    assert kinds(rows) == ["changed"]
    rows = align("Yes.\n", "No.\n")
    assert kinds(rows) == ["only_left", "only_right"]


def test_identical_line_moved_is_one_moved_row_on_each_side():
    left = "alpha line one\nbeta line two\ngamma line three\ndelta line four\n"
    right = "beta line two\ngamma line three\ndelta line four\nalpha line one\n"
    rows = align(left, right)
    assert kinds(rows) == ["moved", "equal", "equal", "equal", "moved"]
    assert rows[0].left == "alpha line one" and rows[0].moved_to == 4
    assert rows[-1].right == "alpha line one" and rows[-1].moved_from == 1
    assert diff_stats(rows) == {"equal": 3, "changed": 0, "only_left": 0, "only_right": 0, "moved": 1}
    check_rows(rows, left, right)


@pytest.mark.parametrize("moved_first", [True, False])
def test_a_moved_sentence_does_not_hide_the_edits_around_it(moved_first):
    # The longest common subsequence alone would keep the moved line as "equal" and leave the
    # two reworded lines deleted above it and inserted below it, never paired.
    moved = "Note: prices include VAT."
    body_old = ["Refunds are available within 30 days.", "", "Contact support by email."]
    body_new = ["Refunds are available within 14 days.", "", "Contact support by phone."]
    left = "\n".join([moved, *body_old] if moved_first else [*body_old, moved]) + "\n"
    right = "\n".join([*body_new, moved] if moved_first else [moved, *body_new]) + "\n"
    rows = align(left, right)
    check_rows(rows, left, right)
    assert sorted(kinds(rows)) == ["changed", "changed", "equal", "moved", "moved"]
    assert [marked(r.right, r.right_spans) for r in rows if r.kind == "changed"] == [["14"], ["phone"]]
    assert next(r for r in rows if r.kind == "equal").left == ""  # the blank line pairs as equal


def test_a_long_equal_run_is_kept_even_if_lines_around_it_cross():
    common = [f"This unchanged sentence number {n} stays put." for n in range(4)]
    left = "\n".join(["Refunds within 30 days.", *common]) + "\n"
    right = "\n".join([*common, "Refunds within 14 days."]) + "\n"
    rows = align(left, right)
    assert kinds(rows) == ["only_left", "equal", "equal", "equal", "equal", "only_right"]


def test_blank_and_bracket_lines_are_not_reported_as_moves():
    left = "}\nkeep this one\nand this\n"
    right = "keep this one\nand this\n}\n"
    assert "moved" not in kinds(align(left, right))


def test_ignore_whitespace_and_case_make_equal_rows_with_the_real_text():
    left = "Hello   World\n  indented\nSame\n"
    right = "hello world\nindented  \nsame\n"
    rows = align(left, right, ignore_whitespace=True, ignore_case=True)
    assert kinds(rows) == ["equal", "equal", "equal"]
    assert (rows[0].left, rows[0].right) == ("Hello   World", "hello world")
    assert kinds(align(left, right, ignore_case=True)) != ["equal"] * 3
    assert kinds(align(left, right, ignore_whitespace=True)) != ["equal"] * 3


def test_ignore_flags_apply_inside_changed_lines_too():
    rows = align("The  Cat sat on the mat today\n", "the cat sat on the rug today\n", ignore_whitespace=True, ignore_case=True)
    assert kinds(rows) == ["changed"]
    assert marked(rows[0].left, rows[0].left_spans) == ["mat"]
    assert marked(rows[0].right, rows[0].right_spans) == ["rug"]


def test_inserted_json_object_is_marked_whole():
    left = '[\n  {\n    "id": 1\n  },\n  {\n    "id": 2\n  }\n]'
    right = '[\n  {\n    "id": 0\n  },\n  {\n    "id": 1\n  },\n  {\n    "id": 2\n  }\n]'
    rows = align(left, right)
    inserted = [r.right for r in rows if r.kind == "only_right"]
    assert inserted == ["  {", '    "id": 0', "  },"]
    check_rows(rows, left, right)


def test_inserted_function_is_marked_with_its_trailing_blank_line():
    left = "def a():\n    pass\n\ndef c():\n    pass\n"
    right = "def a():\n    pass\n\ndef b():\n    pass\n\ndef c():\n    pass\n"
    rows = align(left, right)
    assert [r.right for r in rows if r.kind == "only_right"] == ["def b():", "    pass", ""]


# ---------------------------------------------------------------------------------------------
# Word spans
# ---------------------------------------------------------------------------------------------


def test_rewritten_sentence_reads_as_one_replacement():
    ls, rs = word_spans("I think the refund policy is generous.", "We believe this return rule is strict.")
    assert ls == (Span(0, 37, "delete"),) and rs == (Span(0, 37, "insert"),)


def test_unchanged_words_between_larger_changes_survive():
    left, right = "Refunds are available within 30 days of purchase.", "Refunds are available within 14 days of delivery."
    ls, rs = word_spans(left, right)
    assert marked(left, ls) == ["30", "purchase"] and marked(right, rs) == ["14", "delivery"]


def test_whitespace_between_two_changes_is_folded():
    ls, rs = word_spans("The cat sat on the mat.", "A dog sat on a rug.")
    assert marked("The cat sat on the mat.", ls) == ["The cat", "the mat"]
    assert marked("A dog sat on a rug.", rs) == ["A dog", "a rug"]


def test_pure_insertion_and_deletion_spans():
    ls, rs = word_spans("keep this", "keep all of this")
    assert ls == () and marked("keep all of this", rs) == ["all of "]
    ls, rs = word_spans("a b c", "a c")
    assert marked("a b c", ls) == ["b "] and rs == ()


@pytest.mark.parametrize(
    ("left", "right", "deleted", "inserted"),
    [
        ("日本語のテキストです。", "日本語の文章です。", ["テキスト"], ["文章"]),
        ("cafe\u0301 noir", "cafe\u0300 noir", ["cafe\u0301"], ["cafe\u0300"]),
        ("👨\u200d👩\u200d👧 family", "👨\u200d👩\u200d👦 family", ["👨\u200d👩\u200d👧"], ["👨\u200d👩\u200d👦"]),
        ("مرحبا بالعالم الجميل", "مرحبا بالكون الجميل", ["بالعالم"], ["بالكون"]),
        ("Flag 🇫🇷 here", "Flag 🇩🇪 here", ["🇫🇷"], ["🇩🇪"]),
    ],
)
def test_unicode_spans_cover_whole_characters(left, right, deleted, inserted):
    ls, rs = word_spans(left, right)
    assert marked(left, ls) == deleted and marked(right, rs) == inserted


GRAPHEME_PIECES = st.sampled_from(
    ["e\u0301", "a", " ", "👍🏽", "👨\u200d👩\u200d👧", "日", "本", "ש\u05b8", "ि", "न", "🇫🇷", ".", "x"]
)


@given(st.lists(GRAPHEME_PIECES, max_size=20), st.lists(GRAPHEME_PIECES, max_size=20))
def test_spans_never_start_or_end_inside_a_cluster(left_pieces, right_pieces):
    left, right = "".join(left_pieces), "".join(right_pieces)

    def boundaries(pieces):
        # "ि" is a mark: it belongs to the piece before it, so no boundary in front of it --
        # unless that piece is whitespace (a defective sequence: the mark stands alone).
        out, pos = {0}, 0
        for p in pieces:
            pos += len(p)
            out.add(pos)
        return out - {sum(map(len, pieces[: i + 1])) for i, p in enumerate(pieces[1:]) if p == "ि" and not pieces[i].isspace()}

    ls, rs = word_spans(left, right)
    for s in ls:
        assert {s.start, s.end} <= boundaries(left_pieces)
    for s in rs:
        assert {s.start, s.end} <= boundaries(right_pieces)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
def test_word_spans_leave_identical_text_outside(left, right):
    ls, rs = word_spans(left, right)
    assert outside(left, ls) == outside(right, rs)
    assert (ls == rs == ()) == (left == right)


# ---------------------------------------------------------------------------------------------
# The common-subsequence core
# ---------------------------------------------------------------------------------------------


def lcs_length(a: list[int], b: list[int]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def check_runs(runs, a, b):
    i = j = 0
    for ri, rj, n in runs:
        assert ri >= i and rj >= j and n > 0
        assert a[ri : ri + n] == b[rj : rj + n]
        i, j = ri + n, rj + n


@given(st.lists(st.integers(0, 4), max_size=30), st.lists(st.integers(0, 4), max_size=30))
def test_matching_runs_are_a_longest_common_subsequence(a, b):
    runs = _matching_runs(a, b)
    check_runs(runs, a, b)
    assert sum(n for _, _, n in runs) == lcs_length(a, b)


def test_sequences_past_the_memory_budget_are_cut_at_patience_anchors():
    rng = random.Random(7)
    a = [rng.randrange(50_000) for _ in range(20_000)]
    b = list(a)
    for _ in range(500):
        b[rng.randrange(len(b))] = rng.randrange(50_000)
    del b[5000:5100]
    b[12000:12000] = [rng.randrange(50_000) for _ in range(100)]
    runs = _matching_runs(a, b)  # 20k x 20k cells is over budget: the anchored path
    check_runs(runs, a, b)
    assert sum(n for _, _, n in runs) >= len(a) - 700


def test_repetitive_sequences_past_the_budget_anchor_on_equally_frequent_elements():
    rng = random.Random(3)
    unit = [rng.randrange(1000) for _ in range(400)]
    a = unit * 40  # 16k elements, each value ~16 times, none unique
    b = list(a)
    for _ in range(300):
        b[rng.randrange(len(b))] = 10_000 + rng.randrange(1000)
    runs = _matching_runs(a, b)
    check_runs(runs, a, b)
    assert sum(n for _, _, n in runs) >= len(a) - 400


# ---------------------------------------------------------------------------------------------
# Big inputs (finish in about a second each; timing lives in bench/)
# ---------------------------------------------------------------------------------------------

WORDS = [
    "the",
    "model",
    "answer",
    "refund",
    "policy",
    "customer",
    "within",
    "days",
    "order",
    "shipping",
    "return",
    "value",
    "output",
    "format",
    "request",
    "support",
    "account",
    "billing",
    "invoice",
    "please",
    "note",
    "that",
]


def prose(rng: random.Random, lines: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))) + f" {n}." for n in range(lines)]


def test_one_megabyte_of_lines_with_ten_percent_changed():
    rng = random.Random(1)
    left_lines = prose(rng, 20_000)
    right_lines = list(left_lines)
    for i in rng.sample(range(len(right_lines)), 2000):
        words = right_lines[i].split()
        words[rng.randrange(len(words))] = rng.choice(WORDS)
        right_lines[i] = " ".join(words)
    left, right = "\n".join(left_lines) + "\n", "\n".join(right_lines) + "\n"
    assert len(left) > 1_000_000
    rows = align(left, right)
    check_rows(rows, left, right)
    assert diff_stats(rows)["equal"] >= 18_000


def test_one_megabyte_single_lines():
    rng = random.Random(2)
    words = [rng.choice(WORDS) + str(rng.randrange(10**6)) for _ in range(120_000)]
    changed = list(words)
    for i in rng.sample(range(len(changed)), 1000):
        changed[i] = "CHANGED"
    left, right = " ".join(words), " ".join(changed)
    assert len(left) > 1_000_000
    rows = align(left, right)
    check_rows(rows, left, right)
    assert kinds(rows) == ["changed"]
    assert len(rows[0].right_spans) >= 900


def test_one_megabyte_with_nothing_in_common():
    left = "".join(f"left line number {i} of the old answer\n" for i in range(30_000))
    right = "".join(f"a right one {i}\n" for i in range(60_000))
    rows = align(left, right)
    check_rows(rows, left, right)
    assert "equal" not in kinds(rows)


def test_one_megabyte_of_a_repeated_document():
    rng = random.Random(4)
    unit = prose(rng, 400)
    left_lines = unit * 50
    right_lines = list(left_lines)
    for i in rng.sample(range(len(right_lines)), 1000):
        right_lines[i] = right_lines[i].replace(" ", "  ", 1)
    left, right = "\n".join(left_lines), "\n".join(right_lines)
    assert len(left) > 1_000_000
    rows = align(left, right)
    check_rows(rows, left, right)
    assert diff_stats(rows) == {"equal": 19_000, "changed": 1000, "only_left": 0, "only_right": 0, "moved": 0}


def test_many_repeated_lines_without_anchors():
    left, right = "a\n" * 120_000, "b\n" * 120_000  # over every budget, nothing to anchor on
    rows = align(left, right)
    check_rows(rows, left, right)
    assert kinds(rows) == ["only_left"] * 120_000 + ["only_right"] * 120_000


def edited(rng: random.Random, lines: list[str]) -> list[str]:
    """``lines`` with some reworded, dropped, inserted and moved: every kind of row."""
    out = []
    for line in lines:
        roll = rng.random()
        if roll < 0.15:
            words = line.split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            out.append(" ".join(words))
        elif roll < 0.22:
            continue
        elif roll < 0.3:
            out += [line, " ".join(rng.choice(WORDS) for _ in range(6))]
        else:
            out.append(line)
    if len(out) > 4:
        out.insert(rng.randrange(len(out)), out.pop(rng.randrange(len(out))))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_rows_without_spans_are_the_same_rows(seed):
    rng = random.Random(seed)
    base = prose(rng, rng.randint(1, 60))
    left, right = "\n".join(base), "\n".join(edited(rng, base))
    full = align(left, right)
    assert any(r.left_spans or r.right_spans for r in full) or left == right
    bare = align(left, right, spans=False)
    assert bare == [dataclasses.replace(r, left_spans=(), right_spans=()) for r in full]


@pytest.mark.parametrize("seed", range(12))
def test_remembered_similarities_change_no_row(seed, monkeypatch):
    """Each line pair's similarity is computed once per alignment; with nothing remembered the
    rows are the same."""
    rng = random.Random(100 + seed)
    base = prose(rng, rng.randint(20, 90))
    left, right = "\n".join(base), "\n".join(edited(rng, base))
    remembered = align(left, right)
    monkeypatch.setattr(align_module, "_SIM_MEMO", 0)
    assert align(left, right) == remembered
    check_rows(remembered, left, right)

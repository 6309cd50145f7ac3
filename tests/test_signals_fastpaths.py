"""The signals' fast paths give what the plain code gives: the ASCII word count, the gated
Markdown line scan, the slot-descriptor builders, patterns compiled on first use, the embedded
JSON scan reusing the bare attempt, and the decline detector's early return."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewer.diff import signals, tokens
from reviewer.diff._fast import frozen_builder
from reviewer.diff.jsonextract import ExtractedJson, extract_json, has_fence_marker
from reviewer.diff.signals import MarkdownShape, OutputSignals, classify_decline, markdown_shape, output_signals
from reviewer.diff.tokens import word_count

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# word_count on ASCII text: a whitespace bit mask instead of a split
# ---------------------------------------------------------------------------------------------


def test_every_ascii_character_splits_words_as_str_split_does():
    for c in map(chr, range(128)):
        for text in (c, f"a{c}b", f"{c}a{c}{c}b{c}", f"{c}{c}"):
            assert word_count(text) == len(text.split()), repr(text)


@given(st.text(alphabet=st.sampled_from(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x00ab.-"), max_size=60))
def test_ascii_word_count_is_the_number_of_split_words(text):
    assert word_count(text) == len(text.split())


def test_word_count_of_a_long_answer():
    text = "Refunds take  5 days.\n\n- Keep the receipt\t(please).\n" * 500
    assert word_count(text) == len(text.split()) == 4500


# ---------------------------------------------------------------------------------------------
# markdown_shape: the first-character gate before the branches
# ---------------------------------------------------------------------------------------------

_UNGATED = re.compile(signals._MD_RE.pattern.replace(r"\n(?=[ \t]*+[-*+_#=|:\d])(?:", r"\n(?:", 1))

_MD_LINES = st.sampled_from(
    ["# h", "###### h6", "#nope", "- a", "* b", "+ c", "1. x", "2) y", "٣. arabic-indic digit", "---", "***", "___",
     "- - -", "    - - -", "| a | b |", "|---|:--:|", "--- | ---", ":-- | --:", "===", "Title", "", "   - x", "\t- tab",
     "    code", "```", "~~~", '{"a": 1}', "text", " ", "  \t", "12345678901. too long", "-", "#", "=", "|"]
)  # fmt: skip


def _matches(pattern: re.Pattern[str], text: str) -> list[tuple[int, int, int | None]]:
    return [(m.start(), m.end(), m.lastindex) for m in pattern.finditer("\n" + text)]


@given(st.lists(_MD_LINES, max_size=12).map("\n".join))
def test_the_gate_skips_only_lines_no_branch_matches(text):
    signals.markdown_shape("- x")  # compile
    assert _matches(signals._MD_RE, text) == _matches(_UNGATED, text)


@given(st.text(alphabet=st.sampled_from(" \t\n-*+_#=|:.)09٣ax`~"), max_size=50))
def test_the_gate_on_any_line_starts(text):
    signals.markdown_shape("- x")
    assert _matches(signals._MD_RE, text) == _matches(_UNGATED, text)


def test_the_branches_are_numbered_as_markdown_shape_counts_them():
    signals.markdown_shape("- x")
    assert signals._MD_RE.groupindex == {"hr": 1, "heading": 2, "setext": 3, "delim": 4, "bullet": 5, "numbered": 6}


def test_markdown_shape_counts_every_kind_once():
    text = "Title\n=====\n# h\n- a\n- b\n1. x\n| a | b |\n|---|---|\n---\n```py\n- not a bullet\n```\n"
    assert markdown_shape(text) == MarkdownShape(headings=2, bullets=2, numbered=1, tables=1, code_fences=1)
    assert markdown_shape("Plain prose.\n\nMore prose.") == MarkdownShape()


def test_fence_marker_needs_three_in_a_row():
    assert has_fence_marker("a ``` b") and has_fence_marker("~~~")
    assert not has_fence_marker("`a` `b` ``c``") and not has_fence_marker("~ ~~ ~")


# ---------------------------------------------------------------------------------------------
# builders: the same frozen instances as the dataclass __init__
# ---------------------------------------------------------------------------------------------


def test_the_output_signals_builder_makes_what_the_dataclass_makes():
    s = output_signals('Here you go:\n```json\n{"a": 1}\n```\n- one\n- two', finish_reason="length")
    fields = [getattr(s, f.name) for f in dataclasses.fields(OutputSignals)]
    plain = OutputSignals(*fields)
    assert s == plain and repr(s) == repr(plain)
    shape = frozen_builder(MarkdownShape)(1, 2, 3, 4, 5)
    assert hash(shape) == hash(MarkdownShape(1, 2, 3, 4, 5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.words = 3  # type: ignore[misc]


def test_output_signals_passes_the_fields_in_this_order():
    # output_signals builds its result positionally: a new or moved field must be placed there too
    assert [f.name for f in dataclasses.fields(OutputSignals)] == [
        "json_shape", "json_valid", "schema_valid", "refusal", "refusal_reason", "truncated", "words", "chars",
        "markdown", "error", "extracted", "refusal_source", "non_answer", "partial", "decline", "lead_in",
    ]  # fmt: skip
    s = output_signals("I can't help with that.\n\n- one", error=None, words=7)
    assert (s.refusal, s.words, s.chars, s.markdown.bullets, s.error, s.refusal_source) == (True, 7, 30, 1, False, "text")


def test_frozen_builder_wants_every_field_and_no_post_init():
    build = frozen_builder(MarkdownShape)
    assert build(1, 2, 3, 4, 5) == MarkdownShape(1, 2, 3, 4, 5)
    with pytest.raises(TypeError):
        build(1, 2)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            assert self.x > 0

    with pytest.raises(TypeError, match="__post_init__"):
        frozen_builder(Checked)


# ---------------------------------------------------------------------------------------------
# patterns compiled on first use
# ---------------------------------------------------------------------------------------------


def test_importing_the_engine_compiles_no_unicode_or_decline_pattern_until_needed():
    probe = """
import json
from reviewer.diff import signals, tokens
lazy = lambda mod: sorted(n for n, v in vars(mod).items() if type(v).__name__ == "_OnFirstUse")
out = {"import": lazy(tokens) + lazy(signals)}
tokens.split_words("plain ascii"); tokens.word_count("plain ascii")
out["ascii"] = lazy(tokens)
assert tokens.split_words("café 你好") == ["café", "你", "好"]
out["unicode"] = lazy(tokens)
signals.output_signals("I can't help with that.")
out["refusal"] = lazy(signals)
print(json.dumps(out))
"""
    got = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True).stdout)
    assert {"_WORDS", "_TOKENS", "_HAS_CJK", "_COUNTED", "_EN_CORE_RE", "_OTHER_RE", "_NON_ANSWER_RE"} <= set(got["import"])
    assert {"_WORDS", "_TOKENS"} <= set(got["ascii"])  # ASCII text takes the ASCII patterns
    assert "_WORDS" not in got["unicode"] and "_HAS_CJK" in got["unicode"]  # compiled on the first non-ASCII text
    assert "_EN_CORE_RE" not in got["refusal"]


def test_a_pattern_resolves_to_the_compiled_one_and_stays():
    signals.classify_decline("I can't help with that.")
    assert isinstance(signals._EN_CORE_RE, re.Pattern)
    assert tokens.split_words("naïve") == ["naïve"]
    assert type(tokens._WORDS).__name__ != "_OnFirstUse"


# ---------------------------------------------------------------------------------------------
# extract_json: the embedded scan reuses the bare attempt
# ---------------------------------------------------------------------------------------------


def test_an_invalid_document_holding_a_valid_object_is_embedded():
    text = '{"items": [{"id": 2 "name": "b"}], "next": {"id": 3, "name": "c"}}'
    got = extract_json(text)
    assert got.shape == "embedded" and got.value == {"id": 3, "name": "c"} and got.preamble and got.trailer


def test_only_the_first_failure_gives_the_error_message():
    text = 'x {"a": 1,} and {"b" 2} and [1, 2'
    got = extract_json(text)
    assert got.shape == "truncated" and got.error is not None
    text = '{"a": 1,} and {"b" 2}'
    assert extract_json(text) == ExtractedJson(
        "none", error="Expecting property name enclosed in double quotes at line 1 column 9"
    )


# ---------------------------------------------------------------------------------------------
# classify_decline: the early return for answers without an English first-person decline
# ---------------------------------------------------------------------------------------------


def test_a_first_person_decline_after_the_opening_is_not_a_refusal():
    text = "Here is the plan. First step done. Second step done. I can't stress this enough: back up first."
    assert classify_decline(text) is None
    late = "Our refund window is 30 days. Ship it back. Keep the receipt. I can't help with that."
    assert classify_decline(late) is None  # past the first three sentences
    assert classify_decline("I can't help with that.").kind == "refusal"  # type: ignore[union-attr]
    assert classify_decline("Is it Indigo or Iris? In short, Indigo.") is None

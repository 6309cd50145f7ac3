"""extract_json (every shape), Markdown shape, refusals, output and pair signals."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer.diff.jsonextract import extract_json
from reviewer.diff.signals import (
    REFUSAL_PHRASES,
    MarkdownShape,
    find_refusal,
    length_ratio,
    markdown_shape,
    output_signals,
    pair_signals,
)

# ---------------------------------------------------------------------------------------------
# extract_json
# ---------------------------------------------------------------------------------------------


def _span(text: str, r) -> str:
    return text[r.start : r.end]


@pytest.mark.parametrize(
    "text, value",
    [
        ('{"a": 1}', {"a": 1}),
        ('  \n[1, 2, {"b": null}]\n\n', [1, 2, {"b": None}]),
        ("{}", {}),
        ("[]", []),
        ('{\n  "ключ": "значение",\n  "键": [true, false]\n}', {"ключ": "значение", "键": [True, False]}),
        ('\ufeff{"bom": 1}', {"bom": 1}),
    ],
)
def test_bare(text, value):
    r = extract_json(text)
    assert (r.shape, r.value, r.preamble, r.trailer, r.error) == ("bare", value, False, False, None)
    assert json.loads(_span(text, r)) == value


@pytest.mark.parametrize(
    "text, preamble, trailer",
    [
        ('```json\n{"a": 1}\n```', False, False),
        ('```\n{"a": 1}\n```\n', False, False),
        ('Sure! Here it is:\n\n```json\n{"a": 1}\n```', True, False),
        ('```JSON\n{"a": 1}\n```\nLet me know if you need more.', False, True),
        ('Here:\n~~~json\n{"a": 1}\n~~~\nDone.', True, True),
        ('Intro\n  ```json  \n  {"a": 1}  \n  ```\n', True, False),
        ('````json\n{"a": 1}\n````', False, False),
    ],
)
def test_fenced(text, preamble, trailer):
    r = extract_json(text)
    assert (r.shape, r.value, r.preamble, r.trailer) == ("fenced", {"a": 1}, preamble, trailer)
    assert _span(text, r) == '{"a": 1}'


def test_fenced_takes_the_first_json_fence_and_skips_other_languages():
    text = '```python\nprint({"x": 1})\n```\n\n```json\n[{"id": 1}]\n```\n```json\n[{"id": 2}]\n```'
    r = extract_json(text)
    assert (r.shape, r.value, r.preamble, r.trailer) == ("fenced", [{"id": 1}], True, True)


def test_a_fence_holding_a_dict_in_another_language_is_embedded_not_fenced():
    r = extract_json('```python\n{"a": 1}\n```')
    assert (r.shape, r.value) == ("embedded", {"a": 1})


@pytest.mark.parametrize(
    "text, value, preamble, trailer",
    [
        ('Here is the result: {"a": [1, 2]}', {"a": [1, 2]}, True, False),
        ('{"a": 1}\nHope this helps!', {"a": 1}, False, True),
        ('The answer:\n[\n  {"id": 1}\n]\nThanks.', [{"id": 1}], True, True),
        ('As shown in [1] and [2, 3], the data is {"k": true}.', {"k": True}, True, True),
        ('Use {name} or [see docs] then ["a", "b"]', ["a", "b"], True, False),
        ("Scores: [0.5, 0.7] done", [0.5, 0.7], True, True),
        ('bad {"a": 1,} then good {"b": 2}', {"b": 2}, True, False),
    ],
)
def test_embedded(text, value, preamble, trailer):
    r = extract_json(text)
    assert (r.shape, r.value, r.preamble, r.trailer) == ("embedded", value, preamble, trailer)
    assert json.loads(_span(text, r)) == value


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, 2',
        '{"name": "Ann", "bio": "Ann is a',
        "[1, 2, 3.",
        '{"ok": tr',
        '{"key"',
        "[",
        '{\n  "items": [\n    {"id": 1},\n    {"id": 2',
        'Here is the JSON:\n\n{"a": 1, "b": [',
        'Here:\n```json\n{"a": 1,\n "b": "x',
        '["caf\\u00',
    ],
)
def test_truncated(text):
    r = extract_json(text)
    assert r.shape == "truncated" and r.value is None and r.error
    assert r.preamble == text.startswith("Here")


def test_truncated_error_names_the_position():
    assert extract_json('{"a": [1, 2').error == "Expecting ',' delimiter at line 1 column 12"


@pytest.mark.parametrize(
    "text, error",
    [
        ("", None),
        ("   \n\t", None),
        ("42", None),
        ('"just a string"', None),
        ("true", None),
        ("No JSON here, just prose.", None),
        ("See [1] and [2, 3] for details.", None),  # citations
        ("Template: {name} and [see below].", None),
        ("{'a': 1}", None),  # Python dict syntax: not a JSON candidate
        ('{"a": 1,}', "Expecting property name enclosed in double quotes at line 1 column 9"),
        ('Result: {"a": 1 "b": 2} ok', "Expecting ',' delimiter at line 1 column 9"),
        ('```json\n{"a": 1,}\n```', "Expecting property name enclosed in double quotes at line 1 column 9"),
    ],
)
def test_none(text, error):
    r = extract_json(text)
    assert (r.shape, r.value, r.error) == ("none", None, error)
    assert not r.valid


def test_pathological_inputs_end_quickly_without_recursion_errors():
    assert extract_json("[" * 200_000).shape == "none"  # deeper than any parser goes: not a document
    assert extract_json("[" * 5000 + "]" * 5000).shape == "none"  # too deep to parse: not a document
    assert extract_json("[1]" * 100_000).shape == "none"  # citation after citation
    assert extract_json('[1, {"a": x' * 50_000).shape == "none"
    assert extract_json('{"n": ' + "9" * 5000 + "}").error == "a number too long to parse"


def test_a_big_document_is_found_whole():
    doc = [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(20_000)]
    text = "Here are all items:\n" + json.dumps(doc) + "\nThat's all."
    r = extract_json(text)
    assert (r.shape, r.preamble, r.trailer) == ("embedded", True, True) and r.value == doc


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
_values = st.recursive(
    _scalars,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
    max_leaves=15,
)
_documents = st.lists(_values, max_size=5) | st.dictionaries(st.text(max_size=6), _values, max_size=5)
_fmt = st.fixed_dictionaries({"ensure_ascii": st.booleans(), "indent": st.sampled_from([None, 2])})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_documents, _fmt)
def test_any_serialized_document_is_bare_fenced_or_embedded(doc, fmt):
    s = json.dumps(doc, **fmt)
    bare = extract_json(s)
    assert (bare.shape, bare.value, bare.start, bare.end) == ("bare", doc, 0, len(s))
    fenced = extract_json(f"Here you go:\n```json\n{s}\n```\nAnything else?")
    assert (fenced.shape, fenced.value, fenced.preamble, fenced.trailer) == ("fenced", doc, True, True)
    if isinstance(doc, dict) and doc:
        embedded = extract_json(f"The result is {s} as requested.")
        assert (embedded.shape, embedded.value, embedded.preamble, embedded.trailer) == ("embedded", doc, True, True)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_documents, _fmt, st.data())
def test_any_cut_document_is_truncated(doc, fmt, data):
    s = json.dumps(doc, **fmt)
    cut = s[: data.draw(st.integers(1, len(s) - 1))]
    assert extract_json(cut).shape == "truncated"
    r = extract_json("Sure, here is the JSON:\n```json\n" + cut)  # finish_reason=length inside a fence
    assert r.shape == "truncated" and r.preamble


@given(st.text(max_size=300))
def test_never_raises_and_offsets_are_in_range(text):
    r = extract_json(text)
    assert 0 <= r.start <= r.end <= len(text)
    if r.valid:
        assert json.loads(text[r.start : r.end]) == r.value
        assert isinstance(r.value, dict | list)


# ---------------------------------------------------------------------------------------------
# Markdown shape
# ---------------------------------------------------------------------------------------------

MD = """# Title
Intro paragraph
===============
Some text with a * star and 3.5 numbers.

- one
- two
* three
+ four
  - nested
1. first
2) second
10. tenth

---
* * *
___

| a | b |
|---|:-:|
| 1 | 2 |

x | y
--|--

```python
# a comment, not a heading
- not a bullet
1. not numbered
| x |
|---|
```
~~~
plain
~~~
"""


def test_markdown_shape_counts_each_structure_outside_code_fences():
    assert markdown_shape(MD) == MarkdownShape(headings=2, bullets=5, numbered=3, tables=2, code_fences=2)


@pytest.mark.parametrize(
    "text, shape",
    [
        ("", MarkdownShape()),
        ("Plain prose. With sentences.\nAnd lines.", MarkdownShape()),
        ("#hashtag is not a heading\n#", MarkdownShape(headings=1)),  # a bare '#' is an empty heading
        ("    # indented code, not a heading", MarkdownShape()),
        ("-not a bullet\n- a bullet\n-- no", MarkdownShape(bullets=1)),
        ("2024. It was a year", MarkdownShape(numbered=1)),
        ("---\n- - -\n***", MarkdownShape()),  # thematic breaks
        ("a | b\nno delimiter row", MarkdownShape()),
        ("|---|---|\nno header above", MarkdownShape()),
        ("\n===\n", MarkdownShape()),  # an underline with nothing above
        ("```\nunclosed fence\n# still code", MarkdownShape(code_fences=1)),
        ("Windows\r\n- a\r\n- b\r\n", MarkdownShape(bullets=2)),
    ],
)
def test_markdown_shape_edge_cases(text, shape):
    assert markdown_shape(text) == shape


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phrase", REFUSAL_PHRASES)
def test_every_refusal_phrase_is_found_in_any_case_and_apostrophe(phrase):
    text = phrase if phrase.startswith(("I", "As")) else "That is " + phrase  # a phrase that needs a subject
    assert find_refusal(text + " that.") == phrase
    assert find_refusal("Well. " + text.upper().replace("'", "\u2019") + " THAT") == phrase
    assert find_refusal(text.replace(" ", "\n  ").replace(",", "")) == phrase


@pytest.mark.parametrize(
    "text",
    [
        "I can help with that! Here are the steps.",
        "Sure: I can provide an example below.",
        "Hi cannot help with",  # not on a word boundary
        "The function returns I can't-help-withx",
        "x" * 600 + " I can't help with that.",  # past the opening window
        "",
    ],
)
def test_not_refusals(text):
    assert find_refusal(text) is None


def test_the_earliest_phrase_is_reported():
    assert find_refusal("I'm sorry, but I can't help with that.") == "I'm sorry, but I can't"


# ---------------------------------------------------------------------------------------------
# output_signals
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        ({"refusal": "I can't do that."}, "message.refusal"),
        ({"finish_reason": "content_filter"}, "finish_reason=content_filter"),
        ({"finish_reason": "SAFETY"}, "finish_reason=safety"),
        ({"finish_reason": "refusal"}, "stop_reason=refusal"),
        ({"text": "I can\u2019t help with creating malware."}, 'phrase: "I can\'t help with"'),
        ({"text": "Sure, here it is.", "finish_reason": "stop"}, None),
        ({"refusal": ""}, None),  # an empty refusal field is no refusal
    ],
)
def test_refusal_sources(kwargs, reason):
    text = kwargs.pop("text", "")
    s = output_signals(text, **kwargs)
    assert (s.refusal, s.refusal_reason) == (reason is not None, reason)


def test_structured_refusal_wins_over_the_phrase():
    s = output_signals("I can't help with that.", refusal="policy", finish_reason="content_filter")
    assert s.refusal_reason == "message.refusal"


@pytest.mark.parametrize(
    "text, finish_reason, truncated",
    [
        ("A full answer.", "stop", False),
        ("A full answer.", None, False),
        ("An answer cut at the", "length", True),
        ("An answer cut at the", "max_tokens", True),
        ("An answer cut at the", "MAX_TOKENS", True),
        ('{"a": [1, 2', "stop", True),  # the JSON stops early even if the provider said stop
        ('{"a": [1, 2', None, True),
    ],
)
def test_truncation(text, finish_reason, truncated):
    assert output_signals(text, finish_reason=finish_reason).truncated is truncated


SCHEMA = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}


@pytest.mark.parametrize(
    "text, schema, valid",
    [
        ('{"name": "Ann"}', SCHEMA, True),
        ('{"name": 3}', SCHEMA, False),
        ('```json\n{"age": 3}\n```', SCHEMA, False),
        ("no JSON at all", SCHEMA, None),
        ('{"name": "Ann"}', None, None),
    ],
)
def test_schema_valid(text, schema, valid):
    assert output_signals(text, schema=schema).schema_valid is valid


def test_output_signals_fields():
    text = '## Plan\n- step one\n- step two\n\n```json\n{"ok": true}\n```\n'
    s = output_signals(text)
    assert (s.json_shape, s.json_valid, s.words, s.chars, s.error) == ("fenced", True, 12, len(text), False)
    assert s.markdown == MarkdownShape(headings=1, bullets=2, code_fences=1)
    assert s.extracted.value == {"ok": True}


def test_error_sample():
    s = output_signals("", error="HTTP 500")
    assert s.error and not s.refusal and not s.truncated and s.words == 0


def test_words_count_cjk_characters():
    assert output_signals("答案是 42。").words == 4


# ---------------------------------------------------------------------------------------------
# pair_signals
# ---------------------------------------------------------------------------------------------


def _drift(a: str, b: str) -> tuple[str, ...]:
    return pair_signals(output_signals(a), output_signals(b)).format_drift


FENCED = '```json\n{"a": 1}\n```'


@pytest.mark.parametrize(
    "baseline, candidate, drift",
    [
        ('{"a": 1}', FENCED, ("JSON bare → fenced",)),
        (FENCED, '{"a": 1}', ("JSON fenced → bare",)),
        ('{"a": 1}', 'Here you go: {"a": 1}', ("JSON bare → embedded",)),
        ('{"a": 1}', '{"a": 1', ("JSON bare → truncated",)),
        ("plain words", '{"a": 1}', ("JSON added (bare)",)),
        ('{"a": 1}', "plain words", ("JSON dropped (was bare)",)),
        (FENCED, "Sure!\n" + FENCED, ("text before JSON added",)),
        (FENCED + "\nBye", FENCED, ("text after JSON dropped",)),
        ("- a\n- b", "1. a\n2. b", ("bullets → numbered",)),
        ("1. a\n2. b", "- a\n- b", ("numbered → bullets",)),
        ("- a\n- b", "a, b", ("bullets dropped",)),
        ("a, b", "1. a\n2. b", ("numbered list added",)),
        ("- a\n1. b", "- a", ("numbered list dropped",)),
        ("# T\ntext", "text", ("headings dropped",)),
        ("text", "# T\ntext", ("headings added",)),
        ("text", "| a | b |\n|---|---|\n| 1 | 2 |", ("table added",)),
        ("| a | b |\n|---|---|", "a b", ("table dropped",)),
        ("text", "text\n```sh\nls\n```", ("code block added",)),
        ("```sh\nls\n```", "ls", ("code block dropped",)),
        ("# T\n- a\n- b", "1. a\n2. b\n\n| x |\n|---|", ("bullets → numbered", "headings dropped", "table added")),
        ("- same\n- shape", "- other\n- words\n- entirely", ()),
    ],
)
def test_format_drift_phrases(baseline, candidate, drift):
    assert _drift(baseline, candidate) == drift


def test_no_format_drift_when_a_side_errored():
    p = pair_signals(output_signals('{"a": 1}'), output_signals("", error="timeout"))
    assert p.format_drift == ()


@pytest.mark.parametrize("b, c, ratio", [(100, 130, 1.3), (10, 5, 0.5), (0, 0, 1.0), (0, 7, 7.0), (3, 0, 0.0)])
def test_length_ratio(b, c, ratio):
    assert length_ratio(b, c) == pytest.approx(ratio)


def test_pair_length_ratio_uses_words():
    p = pair_signals(output_signals("one two three four"), output_signals("one two three four five six"))
    assert p.length_ratio == pytest.approx(1.5)


@pytest.mark.parametrize(
    "b_kw, c_kw, refusal_flip, truncation_flip",
    [
        ({}, {}, None, None),
        ({}, {"text": "I cannot help with that."}, "gained", None),
        ({"refusal": "no"}, {}, "lost", None),
        ({}, {"finish_reason": "length"}, None, "gained"),
        ({"finish_reason": "length"}, {}, None, "lost"),
        ({"finish_reason": "length"}, {"finish_reason": "max_tokens"}, None, None),
    ],
)
def test_flips(b_kw, c_kw, refusal_flip, truncation_flip):
    b = output_signals(b_kw.pop("text", "An answer."), **b_kw)
    c = output_signals(c_kw.pop("text", "An answer."), **c_kw)
    p = pair_signals(b, c)
    assert (p.refusal_flip, p.truncation_flip) == (refusal_flip, truncation_flip)


# ---------------------------------------------------------------------------------------------
# Lead-ins: "Sure! Here's what you need to know." before the answer
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Sure! Here is what you need to know.\n\nRefunds take 5 days.", "Sure! Here is what you need to know."),
        ("Certainly! Here is a summary:\n- refunds\n- returns", "Certainly! Here is a summary:"),
        ("Great question. Here's a quick summary.\n\nShipping is free over $50.", "Great question. Here's a quick summary."),
        ("Gerne! Hier ist die Übersicht:\n- A\n- B", "Gerne! Hier ist die Übersicht:"),
        ("Refunds take 5 days.", None),  # the content itself
        ("Sure.", None),  # nothing after it
        ("Okay so the answer is 42 and that is all.", None),  # one paragraph: the answer
        ("Here is the thing: you need two.\nMore text", None),  # not a paragraph of its own
        ("Sure " + "word " * 40 + "\n\nrest", None),  # too long to be a lead-in
        ('{"a": 1}', None),
    ],
)
def test_lead_in(text, expected):
    from reviewer.diff.signals import lead_in

    assert lead_in(text) == expected


def test_a_lead_in_that_appears_is_format_drift():
    b = output_signals("Refunds take 5 days.\n\nContact support for more.")
    c = output_signals("Sure! Here is what you need to know.\n\nRefunds take 5 days.\n\nContact support for more.")
    assert c.lead_in == "Sure! Here is what you need to know." and b.lead_in is None
    assert pair_signals(b, c).format_drift == ("lead-in added",)
    assert pair_signals(c, b).format_drift == ("lead-in dropped",)
    assert pair_signals(c, c).format_drift == ()

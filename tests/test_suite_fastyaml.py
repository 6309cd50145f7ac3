"""The fast YAML reader (LibYAML's parser, our bounded build) reads suites exactly as the bounded
round-trip ruamel loader does, and hands every file it cannot vouch for back to that loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewer.safeyaml import fast_yaml, load_yaml
from reviewer.suite import load_suite
from reviewer.suite.loading import _load_yaml_marked

pytest.importorskip("yaml._yaml", reason="PyYAML without LibYAML: every file takes the ruamel path")

SCALARS = [
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "true",
    "True",
    "FALSE",
    "null",
    "Null",
    "~",
    "",
    "0",
    "12",
    "-3",
    "+4",
    "010",
    "0o17",
    "0x1F",
    "1_000",
    "0b101",
    "1.5",
    "-.5",
    "1e3",
    "6.02e+23",
    ".inf",
    "-.Inf",
    ".nan",
    "2024-01-31",
    "2024-1-3 10:20:30",
    "2001-12-14t21:59:43.10-05:00",
    "1:20",
    "12abc",
    "0.6",
    "a: b",
    "#x",
]


@pytest.mark.parametrize("scalar", SCALARS)
def test_plain_scalars_mean_what_they_mean_to_ruamel(scalar):
    for text in (
        f"k: {scalar}\n" if scalar and not scalar.startswith("#") and ": " not in scalar else "k:\n",
        f'k: [{scalar!r}, "{scalar}"]\n',
    ):
        fast = fast_yaml(text)
        assert fast is not None, text
        assert fast[0] == load_yaml(text, "f.yaml"), text
        assert [type(v) for v in _leaves(fast[0])] == [type(v) for v in _leaves(load_yaml(text, "f.yaml"))], text


def _leaves(v):
    if isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from _leaves(x)
    elif isinstance(v, list):
        for x in v:
            yield from _leaves(x)
    else:
        yield v


def test_block_scalars_flow_collections_anchors_and_keys_read_the_same():
    text = (
        "a: |\n  line one\n  line two\nb: >-\n  folded\n  text\nc: {x: 1, y: [true, 'q', \"\\u00e9\\t\"]}\n"
        "d: &shared {regex: 'refund', ignore_case: yes}\ne: [*shared, *shared]\ng: !!str 13\n"
    )
    fast = fast_yaml(text)
    assert fast is not None
    assert fast[0] == load_yaml(text, "f.yaml")
    assert fast[0]["e"] == [{"regex": "refund", "ignore_case": "yes"}] * 2


@pytest.mark.parametrize(
    "text",
    [
        "a: !!set {x}\n",  # a tag ruamel builds its own way
        "a: !custom 1\n",
        "base: &b {x: 1}\nc:\n  <<: *b\n",  # merge keys
        "a: 1\na: 2\n",  # duplicate key: ruamel refuses it
        "a: &x [1, *x]\n",  # recursive alias
        "a: *nowhere\n",
        "a: [1, 2\n",  # syntax error
        "%YAML 1.1\n---\na: yes\n",  # another YAML version
        "a: 1\n---\nb: 2\n",  # two documents
        "? [1, 2]\n: complex key\n",
        "1: int key\ntrue: bool key\n",  # equal keys to ruamel (1 == True)
        "f: ! 12\n",  # ruamel reads the non-specific tag as 12
        "k: =\n",
        "a: " + "[" * 101 + "]" * 101 + "\n",  # deeper than the limit
        "a: \x07bell\n",  # a character ruamel's reader refuses
    ],
)
def test_what_the_fast_reader_cannot_vouch_for_goes_back_to_ruamel(text):
    assert fast_yaml(text) is None


def test_the_alias_budget_is_the_same_as_the_bounded_loaders():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    assert fast_yaml("\n".join(lines) + "\n") is None
    small = "\n".join(lines[:4]) + "\n"  # 9^4 strings: within the budget
    assert fast_yaml(small) is not None
    assert fast_yaml(small)[0] == load_yaml(small, "f.yaml")
    # the budget is counted as ruamel counts it: the same file passes or fails both ways
    assert fast_yaml(small, alias_budget=100) is None
    with pytest.raises(Exception, match="aliases expand"):
        load_yaml(
            small, "f.yaml", yaml=__import__("reviewer.safeyaml", fromlist=["make_yaml"]).make_yaml("safe", alias_budget=100)
        )


SUITE = """\
# a comment
suite: fast
description: read both ways
defaults:
  system: You are terse.
  params: {temperature: 0}
cases:
  - id: a
    tags: [billing, t1]
    prompt: "How long does a refund take?"
    checks:
      - regex: 'refund|return'
        ignore_case: true
      - max_words: 80
  -
    id: b
    added: 2024-05-01
    reference: Five days.
    messages:
      - role: user
        content: yes
    checks: [{similar_to_reference: 0.6}, {not_refusal: true}]
  - {id: c, prompt: on, checks: [&nr {not_refusal: true}]}
  - id: d
    prompt: |
      multi
      line
    checks: [*nr]
"""


def test_a_suite_reads_the_same_fast_and_marked(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(SUITE)
    fast = load_suite(f)
    marked = _load_yaml_marked(Path(f), SUITE)
    assert fast.suite == marked.suite
    assert fast.digest == marked.digest
    assert fast.case_lines == marked.case_lines == {"a": 8, "b": 16, "c": 23, "d": 24}
    assert fast.suite.case("c").prompt == "on" and fast.suite.case("b").messages[0].content == "yes"


def test_a_suite_with_a_problem_is_placed_by_the_marked_reader(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(SUITE.replace("      - max_words: 80\n", "      - max_words: -1\n"))
    from reviewer.suite import SuiteError

    with pytest.raises(SuiteError) as e:
        load_suite(f)
    assert [str(p) for p in e.value.problems] == [
        f"{f}:14: case 'a': checks[1]: max_words: the value must be a non-negative integer"
    ]

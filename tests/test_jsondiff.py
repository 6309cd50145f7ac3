"""Structural JSON diff and the JSON view (reviewer.diff.jsondiff)."""

from __future__ import annotations

import copy
import json
import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from reviewer.diff.align import reconstruct
from reviewer.diff.jsondiff import (
    PathChange,
    _canon,
    _compact,
    json_diff,
    json_path,
    json_view,
    pretty_json,
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=5),
    max_leaves=30,
)


UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shuffled_keys(value, rng: random.Random):
    """The same JSON with every object's keys inserted in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled_keys(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled_keys(v, rng) for v in value]
    return value


def kinds_paths(changes: list[PathChange]) -> list[tuple[str, str]]:
    return [(c.kind, c.path) for c in changes]


# ---------------------------------------------------------------------------------------------
# Each kind of change
# ---------------------------------------------------------------------------------------------


def test_added_and_removed_keys():
    changes = json_diff({"a": 1, "b": 2}, {"a": 1, "c": 3})
    assert changes == [PathChange("removed", "$.b", 2, None), PathChange("added", "$.c", None, 3)]


def test_renamed_key_keeps_its_value():
    changes = json_diff({"addr": {"city": "Paris"}, "x": 1}, {"address": {"city": "Paris"}, "x": 1})
    assert changes == [PathChange("renamed", "$.addr", {"city": "Paris"}, {"city": "Paris"}, "$.address")]


def test_rename_needs_the_same_value():
    changes = json_diff({"addr": "Paris"}, {"address": "Lyon"})
    assert kinds_paths(changes) == [("removed", "$.addr"), ("added", "$.address")]


def test_type_changes_are_told_apart_from_value_changes():
    changes = json_diff(
        {"n": 1, "b": True, "s": "1", "l": [1], "o": None, "f": 1},
        {"n": "1", "b": 1, "s": 1, "l": {"0": 1}, "o": False, "f": 1.0},
    )
    assert kinds_paths(changes) == [
        ("type_changed", "$.b"),
        ("value_changed", "$.f"),  # 1 -> 1.0: both numbers, written differently
        ("type_changed", "$.l"),
        ("type_changed", "$.n"),
        ("type_changed", "$.o"),
        ("type_changed", "$.s"),
    ]
    assert changes[3] == PathChange("type_changed", "$.n", 1, "1")


def test_value_changed_deep_inside():
    old = {"user": {"profile": {"name": "Alice", "langs": ["en", "fr"]}}}
    new = {"user": {"profile": {"name": "Alicia", "langs": ["en", "de"]}}}
    assert json_diff(old, new) == [
        PathChange("value_changed", "$.user.profile.langs[1]", "fr", "de"),
        PathChange("value_changed", "$.user.profile.name", "Alice", "Alicia"),
    ]


def test_same_elements_in_another_order_is_one_reordered_change():
    assert json_diff({"t": ["a", "b", "c"]}, {"t": ["c", "a", "b"]}) == [
        PathChange("reordered", "$.t", ["a", "b", "c"], ["c", "a", "b"])
    ]
    assert json_diff([{"id": 1}, {"id": 2}], [{"id": 2}, {"id": 1}])[0].kind == "reordered"


def test_reordered_plus_a_real_addition():
    changes = json_diff(["a", "b", "c"], ["c", "a", "b", "d"])
    assert kinds_paths(changes) == [("reordered", "$"), ("added", "$[3]")]


def test_key_order_is_ignored():
    assert json_diff({"a": 1, "b": {"x": 1, "y": 2}}, {"b": {"y": 2, "x": 1}, "a": 1}) == []


def test_array_insertion_at_the_front_is_one_addition():
    old = [{"id": i, "v": f"item {i}"} for i in range(5)]
    new = [{"id": 99, "v": "new"}, *old]
    assert json_diff(old, new) == [PathChange("added", "$[0]", None, {"id": 99, "v": "new"})]


def test_changed_element_after_a_shift_says_both_indexes():
    old = [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]
    new = [{"id": 0, "v": "z"}, {"id": 1, "v": "a"}, {"id": 2, "v": "B"}]
    assert json_diff(old, new) == [
        PathChange("added", "$[0]", None, {"id": 0, "v": "z"}),
        PathChange("value_changed", "$[1].v", "b", "B", new_path="$[2].v"),
    ]


def test_when_counts_differ_elements_pair_by_similarity_not_position():
    old = [
        {"name": "Alice", "role": "admin", "team": "red"},
        {"name": "Bob", "role": "user", "team": "blue"},
    ]
    new = [{"name": "Bob", "role": "user", "team": "green"}]
    assert json_diff(old, new) == [
        PathChange("removed", "$[0]", old[0], None),
        PathChange("value_changed", "$[1].team", "blue", "green", new_path="$[0].team"),
    ]


def test_nan_equals_itself():
    assert json_diff({"x": float("nan")}, {"x": float("nan")}) == []


def test_top_level_scalars():
    assert json_diff(1, 2) == [PathChange("value_changed", "$", 1, 2)]
    assert json_diff([], {}) == [PathChange("type_changed", "$", [], {})]


# ---------------------------------------------------------------------------------------------
# Paths and Unicode keys
# ---------------------------------------------------------------------------------------------


def test_paths():
    assert json_path("$", "a") == "$.a"
    assert json_path("$.a", 0) == "$.a[0]"
    assert json_path("$", "weird key") == '$["weird key"]'
    assert json_path("$", 'say "hi"') == '$["say \\"hi\\""]'
    assert json_path("$", "1abc") == '$["1abc"]'
    assert json_path("$", "") == '$[""]'
    assert json_path("$", "名前") == "$.名前"
    assert json_path("$", "clé") == "$.clé"


def test_unicode_keys_and_values():
    old = {"名前": "太郎", "emoji 🎉": "👍", "مفتاح": "قيمة"}
    new = {"名前": "花子", "emoji 🎉": "👍🏽", "مفتاح": "قيمة"}
    assert json_diff(old, new) == [
        PathChange("value_changed", '$["emoji 🎉"]', "👍", "👍🏽"),
        PathChange("value_changed", "$.名前", "太郎", "花子"),
    ]


# ---------------------------------------------------------------------------------------------
# Big and deep
# ---------------------------------------------------------------------------------------------


def test_big_arrays():
    old = list(range(20_000))
    new = [*old[:10_000], -1, *old[10_000:]]
    new[15_000] = "x"
    assert kinds_paths(json_diff(old, new)) == [("added", "$[10000]"), ("type_changed", "$[14999]")]
    assert json_diff(old, new)[1].new_path == "$[15000]"


def test_deep_nesting_needs_no_recursion():
    depth = 5000  # deeper than Python's recursion limit
    old: object = "leaf"
    new: object = "LEAF"
    for n in range(depth):
        key = "k" if n % 2 else 0
        old = {"k": old} if key == "k" else [old]
        new = {"k": new} if key == "k" else [new]
    changes = json_diff(old, new)
    assert len(changes) == 1 and changes[0].kind == "value_changed"
    assert changes[0].path.count("[0]") == depth // 2 and changes[0].path.count(".k") == depth // 2
    text, where = pretty_json(old)
    assert text.count("\n") == 2 * depth and where["$"] == (1, 2 * depth + 1)
    assert _canon(old) == _compact(old)


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(json_values)
def test_pretty_json_is_json_dumps_indent_2_sorted(value):
    text, where = pretty_json(value)
    dumped = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    # Terminal controls, bidi controls and line separators are written as \uXXXX escapes.
    assert text == UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
    assert json.loads(text) == value
    assert where["$"] == (1, text.count("\n") + 1)


@given(json_values)
def test_compact_is_json_dumps_compact_sorted(value):
    assert _compact(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@given(json_values, st.randoms(use_true_random=False))
def test_no_changes_between_the_same_json(value, rng):
    assert json_diff(value, copy.deepcopy(value)) == []
    assert json_diff(value, shuffled_keys(value, rng)) == []


@settings(max_examples=300)
@given(json_values, json_values)
def test_changes_exist_exactly_when_json_differs_and_point_at_real_lines(old, new):
    changes = json_diff(old, new)
    assert (changes == []) == (_canon(old) == _canon(new))
    _, left_where = pretty_json(old)
    _, right_where = pretty_json(new)
    for c in changes:
        if c.kind != "added":
            assert c.path in left_where
        if c.kind != "removed":
            assert (c.new_path or c.path) in right_where


# ---------------------------------------------------------------------------------------------
# The JSON view
# ---------------------------------------------------------------------------------------------


def test_json_view_of_bare_and_fenced_outputs():
    left = '{"name": "Alice", "age": 30, "tags": ["a", "b"]}'
    right = 'Sure! Here it is:\n```json\n{"tags": ["a", "b"], "age": "30", "name": "Alice"}\n```\n'
    view = json_view(left, right)
    assert view is not None
    assert (view.left_shape, view.right_shape) == ("bare", "fenced")
    assert view.changes == [PathChange("type_changed", "$.age", 30, "30")]
    assert reconstruct(view.rows, "left") == json.dumps(json.loads(left), indent=2, sort_keys=True)
    assert view.changed_left_lines == frozenset({2}) and view.changed_right_lines == frozenset({2})
    age_row = next(r for r in view.rows if r.left_no == 2)
    assert age_row.kind == "changed" and age_row.right == '  "age": "30",'


def test_json_view_marks_whole_added_values_and_only_the_key_of_a_rename():
    view = json_view('{"a": {"x": 1}, "keep": true}', '{"b": {"x": 1}, "keep": true, "z": [1, 2]}')
    assert view is not None
    assert [c.kind for c in view.changes] == ["renamed", "added"]
    right = reconstruct(view.rows, "right").split("\n")
    assert [right[n - 1] for n in sorted(view.changed_right_lines)] == ['  "b": {', '  "z": [', "    1,", "    2", "  ]"]
    assert view.changed_left_lines == frozenset({2})


def test_json_view_needs_json_on_both_sides():
    assert json_view("Just prose.", '{"a": 1}') is None
    assert json_view('{"a": 1}', '{"a": 1, "b": ') is None  # truncated
    assert json_view('{"a": 1,}', '{"a": 1}') is None  # looks like JSON, is not
    assert json_view("{'a': 1}", '{"a": 1}') is None  # Python repr, not JSON
    assert json_view("42", "43") is None  # scalars are not documents


def test_json_view_embedded_with_unicode_keys():
    view = json_view('Result: {"名前": "太郎"} done', '{"名前": "花子"}')
    assert view is not None and view.left_shape == "embedded"
    assert view.changes == [PathChange("value_changed", "$.名前", "太郎", "花子")]


def test_unsafe_characters_in_strings_are_escaped_in_the_view():
    value = {"k\u202e": "a\x1b[31mred\x9b\u2028b\u200f"}
    text, _ = pretty_json(value)
    assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text and "\u2028" not in text
    assert "\\u001b" in text and "\\u009b" in text and "\\u202e" in text and "\\u200f" in text
    assert json.loads(text) == value

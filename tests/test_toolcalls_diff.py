"""The call-by-call diff of two answers: each change kind named, ids never a change, the aligned
call block, drift beyond the baseline's own variation, and the score words of a call."""

from __future__ import annotations

import pytest

from reviewer.diff.score import Sample
from reviewer.diff.toolcalls import (
    TOOL_CHANGE_KINDS,
    TOOL_CHANGE_LABELS,
    args_view,
    call_words,
    diff_calls,
    normalise,
    pair_calls,
    tool_args_valid_rate,
    tool_call_rate,
    tool_drift,
    tool_parameters,
    tool_signals,
)
from reviewer.toolcall import ToolCall

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"],
    "additionalProperties": False,
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "d", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "get_forecast", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "send_email", "parameters": {"type": "object"}}},
]


def ans(*calls: tuple[str, str] | ToolCall, text: str = "", tools=TOOLS):
    tcs = tuple(c if isinstance(c, ToolCall) else ToolCall(c[0], c[1], f"id-{i}") for i, c in enumerate(calls))
    return normalise(Sample(text, tool_calls=tcs), tools=tools)


def kinds(a, b) -> list[str]:
    return [c.kind for c in diff_calls(a, b)]


PARIS = '{"city": "Paris", "days": 3}'


def test_identical_calls_with_new_ids_and_key_order_are_no_change():
    a = ans(ToolCall("get_weather", PARIS, "call_abc"))
    b = ans(ToolCall("get_weather", '{"days":3,"city":"Paris"}', "call_xyz"))
    assert diff_calls(a, b) == []
    assert a.calls[0].key == b.calls[0].key  # neither the id nor the key order is part of a call's identity
    assert ans(ToolCall("get_weather", PARIS, "1")).calls == ans(ToolCall("get_weather", PARIS, "2")).calls
    assert call_words([ToolCall("get_weather", PARIS, "1")]) == call_words([ToolCall("get_weather", PARIS, "2")])


def test_over_quoted_argument_is_a_type_change_and_breaks_the_schema():
    changes = diff_calls(ans(("get_weather", PARIS)), ans(("get_weather", '{"city": "Paris", "days": "3"}')))
    assert [c.kind for c in changes] == ["arg_type_changed", "args_schema_invalid"]
    t = changes[0]
    assert (t.path, t.old, t.new, t.over_quoted, t.name) == ("$.days", 3, "3", True, "get_weather")
    assert "over-quoted" in t.detail and '"3"' in t.detail
    assert "integer" in changes[1].detail
    # a type change that is not a quoted spelling of the old value is not "over-quoted"
    other = diff_calls(ans(("get_weather", PARIS)), ans(("get_weather", '{"city": "Paris", "days": [3]}')))[0]
    assert other.kind == "arg_type_changed" and not other.over_quoted


def test_another_tool_at_the_same_place_is_a_rename_with_its_argument_changes():
    changes = diff_calls(ans(("get_weather", PARIS)), ans(("get_forecast", '{"city": "Lyon", "days": 3}')))
    assert [c.kind for c in changes] == ["tool_renamed", "arg_changed"]
    assert (changes[0].name, changes[0].new_name) == ("get_weather", "get_forecast")
    assert (changes[1].path, changes[1].old, changes[1].new) == ("$.city", "Paris", "Lyon")


def test_a_tool_the_case_does_not_declare_breaks_the_schema():
    changes = diff_calls(ans(("get_weather", PARIS)), ans(("get_wether", PARIS)))
    assert [c.kind for c in changes] == ["tool_renamed", "args_schema_invalid"]
    assert "no tool 'get_wether'" in changes[1].detail


def test_dropped_added_and_reordered_calls():
    w, e = ("get_weather", PARIS), ("send_email", '{"to": "a@b.c"}')
    assert kinds(ans(w, e), ans(w)) == ["call_removed"]
    assert kinds(ans(w), ans(w, e)) == ["call_added"]
    assert kinds(ans(w, e), ans(e, w)) == ["call_reordered"]
    removed = diff_calls(ans(w, e), ans(w))[0]
    assert (removed.name, removed.position, removed.new_position) == ("send_email", 1, None)
    # no call and no text: every call dropped; a text answer instead: one change
    assert kinds(ans(w, e), ans()) == ["call_removed", "call_removed"]
    assert kinds(ans(w, e), ans(text="It is sunny in Paris.")) == ["text_instead_of_call"]
    assert kinds(ans(text="Which city?"), ans(w)) == ["call_instead_of_text"]
    assert kinds(ans(text="a"), ans(text="b")) == []


def test_arguments_added_removed_renamed_by_json_path():
    a = ans(("send_email", '{"to": "a@b.c", "cc": ["x@y.z"], "body": {"text": "hi"}}'))
    b = ans(("send_email", '{"recipient": "a@b.c", "cc": ["x@y.z", "q@r.s"], "body": {}, "urgent": true}'))
    got = [(c.kind, c.path) for c in diff_calls(a, b)]
    assert got == [
        ("arg_removed", "$.body.text"),
        ("arg_added", "$.cc[1]"),
        ("arg_renamed", "$.to"),
        ("arg_added", "$.urgent"),
    ]
    assert diff_calls(a, b)[2].new_path == "$.recipient"


def test_arguments_that_no_longer_parse_and_parse_again():
    good, bad = ("get_weather", PARIS), ("get_weather", '{"city": "Paris", "days": 3')
    broken = diff_calls(ans(good), ans(bad))
    assert [c.kind for c in broken] == ["args_unparseable"]
    assert "not valid JSON" in broken[0].detail and broken[0].new == bad[1]
    assert kinds(ans(bad), ans(good)) == ["args_parse_fixed"]
    assert kinds(ans(bad), ans(bad)) == []
    assert kinds(ans(bad), ans(("get_weather", "{oops"))) == ["arg_changed"]
    # a new call whose arguments do not parse says so beside "added"
    assert kinds(ans(good), ans(good, ("send_email", "{"))) == ["call_added", "args_unparseable"]


def test_schema_fixed_is_the_reverse_of_schema_invalid():
    assert kinds(ans(("get_weather", '{"city": 1}')), ans(("get_weather", '{"city": "Paris"}'))) == [
        "arg_type_changed",
        "args_schema_fixed",
    ]


def test_without_tools_on_the_case_nothing_is_schema_checked():
    a = ans(("anything", '{"x": 1}'), tools=None)
    assert a.calls[0].valid and a.calls[0].schema_error is None


def test_every_kind_has_a_label():
    assert set(TOOL_CHANGE_KINDS) == set(TOOL_CHANGE_LABELS)
    import typing

    from reviewer.diff.toolcalls import ToolChangeKind

    assert set(typing.get_args(ToolChangeKind)) == set(TOOL_CHANGE_KINDS)


def test_pair_calls_aligns_the_block_in_the_candidate_order():
    w, e = ("get_weather", PARIS), ("send_email", '{"to": "a"}')
    f = ("get_forecast", '{"city": "Paris"}')
    rows = pair_calls(ans(w, e, f), ans(("get_weather", '{"city": "Paris", "days": "3"}'), f))
    shown = [(r.left and r.left.name, r.right and r.right.name, [c.kind for c in r.changes]) for r in rows]
    assert shown == [
        ("get_weather", "get_weather", ["arg_type_changed", "args_schema_invalid"]),
        ("send_email", None, ["call_removed"]),
        ("get_forecast", "get_forecast", []),
    ]
    view = args_view(rows[0].left, rows[0].right)
    assert view is not None and [c.path for c in view.changes] == ["$.days"]
    assert view.changed_left_lines and view.changed_right_lines
    assert args_view(rows[1].left, rows[1].right) is None  # one side only: show its own arguments


def test_tool_drift_is_suppressed_by_the_baselines_own_variation():
    def q(query: str, limit: int = 5):
        return ans(("send_email", f'{{"to": "{query}", "limit": {limit}}}'))

    baseline = [q("paris weather"), q("weather in paris"), q("paris forecast")]
    # the candidate's queries differ too, as the baseline's own do: not drift
    assert tool_drift(baseline, [q("weather paris"), q("paris"), q("forecast paris")]) is None
    # over-quoting the limit is a difference no baseline sample shows
    over = [ans(("send_email", '{"to": "paris", "limit": "5"}'))] * 3
    drift = tool_drift(baseline, over)
    assert drift is not None and [c.kind for c in drift] == ["arg_type_changed"]
    # one candidate sample in three is not a majority
    assert tool_drift(baseline, [over[0], q("paris"), q("x")]) is None
    assert tool_drift([ans(text="hi")], [ans(text="hello")]) is None


def test_call_words_are_per_argument_and_strings_by_word():
    words = call_words([ToolCall("f", '{"q": "red shoes", "n": 3, "tags": [], "o": {}}')])
    assert words[0] == "\x00call:f"
    assert "red" in words and "shoes" in words
    assert "\x00f$.n=3" in words and "\x00f$.tags=[]" in words and "\x00f$.o={}" in words
    quoted = call_words([ToolCall("f", '{"q": "red shoes", "n": "3", "tags": [], "o": {}}')])
    assert len(set(words) ^ set(quoted)) == 3  # n=3 gone; n:str and 3 in its place
    assert call_words([ToolCall("f", "{bad")])[:2] == ["\x00call:f", "\x00f$!"]


def test_tool_signals_and_rates():
    sigs = [
        tool_signals(ans(("get_weather", PARIS))),
        tool_signals(ans(("get_weather", '{"city": 3}'))),
        tool_signals(ans(("get_weather", "{"))),
        tool_signals(ans(text="plain")),
        tool_signals(ans(text=""), error=True),
    ]
    assert [s.args_valid for s in sigs] == [True, False, False, None, None]
    assert (sigs[1].schema_invalid, sigs[2].unparseable) == (1, 1)
    assert tool_call_rate(sigs) == pytest.approx(3 / 4)  # the errored sample is left out
    assert tool_args_valid_rate(sigs) == pytest.approx(1 / 3)
    assert tool_call_rate([]) is None and tool_args_valid_rate([tool_signals(ans(text="x"))]) is None


def test_tool_parameters_reads_the_suite_format():
    assert tool_parameters(TOOLS)["get_weather"] is WEATHER
    assert tool_parameters(None) == {} and tool_parameters([]) == {}


def test_response_format_validity_per_answer():
    rf = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object", "required": ["ok"]}}}
    assert normalise(Sample('{"ok": true}'), response_format=rf).response_valid is True
    bad = normalise(Sample('{"fine": true}'), response_format=rf)
    assert bad.response_valid is False and "ok" in (bad.response_error or "")
    assert normalise(Sample("no json"), response_format=rf).response_valid is False
    assert normalise(Sample("[1]"), response_format={"type": "json_object"}).response_valid is False
    assert normalise(Sample("{}"), response_format={"type": "text"}).response_valid is None
    assert normalise(Sample("{}")).response_valid is None


def test_a_stored_output_normalises_like_a_sample():
    from reviewer.store import Output

    o = Output("c", 0, text=None, finish_reason="tool_calls", tool_calls=(ToolCall("get_weather", PARIS, "call_9"),))
    a = normalise(o, tools=TOOLS)
    assert (a.text, a.finish_reason, a.call_names(), a.calls[0].value) == (
        "",
        "tool_calls",
        ("get_weather",),
        {"city": "Paris", "days": 3},
    )
    assert diff_calls(a, ans(("get_weather", PARIS))) == []

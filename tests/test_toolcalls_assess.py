"""A case whose answers are tool calls, assessed end to end: the tool checks, negative flips and
tool_drift for over-quoting, another tool and a dropped call; new call ids change nothing; the
baseline's own variation is not drift; and a real stored comparison keeps it all through the cache."""

from __future__ import annotations

import pytest

from reviewer.analysis import assess_comparison
from reviewer.diff.checks import run_checks
from reviewer.diff.score import FLAG_LABELS, Sample, assess_case
from reviewer.diff.toolcalls import tool_args_valid_rate, tool_call_rate
from reviewer.store import Output, Store
from reviewer.suite import Check, load_suite
from reviewer.toolcall import ToolCall

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"],
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "get_forecast", "parameters": WEATHER}},
]
RF = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object", "required": ["intent"]}}}


def chk(d) -> Check:
    return Check.model_validate(d)


TOOL_CALLED = chk({"tool_called": "get_weather"})
ARGS_SCHEMA = chk({"tool_args_schema": True})
ARGS = chk({"tool_args": {"name": "get_weather", "match": {"$.days": 3, "city": "Paris"}}})
CHECKS = [TOOL_CALLED, ARGS_SCHEMA, ARGS]


def call(args: str = '{"city": "Paris", "days": 3}', name: str = "get_weather", id: str | None = "call_1") -> Sample:
    return Sample("", finish_reason="tool_calls", tool_calls=(ToolCall(name, args, id),))


def assess(baseline, candidate, checks=CHECKS, **kw):
    return assess_case("c", baseline, candidate, checks=checks, tools=TOOLS, **kw)


def failed(side) -> list[str]:
    return [s.check.kind for s in side if not s.passed]


BASE = [call(id=f"call_b{i}") for i in range(3)]


@pytest.mark.parametrize(
    "candidate, failing, kinds",
    [
        (
            [call('{"city": "Paris", "days": "3"}')] * 3,
            ["tool_args_schema", "tool_args"],
            ["arg_type_changed", "args_schema_invalid"],
        ),
        ([call(name="get_forecast")] * 3, ["tool_called", "tool_args"], ["tool_renamed"]),
        ([Sample("It will be sunny in Paris.")] * 3, ["tool_called", "tool_args"], ["text_instead_of_call"]),
        ([Sample("", finish_reason="stop")] * 3, ["tool_called", "tool_args"], ["call_removed"]),
    ],
    ids=["over-quoted", "other-tool", "text-instead", "dropped"],
)
def test_each_regression_is_a_negative_flip_of_its_check_and_carries_tool_drift(candidate, failing, kinds):
    a = assess(BASE, candidate)
    assert failed(a.baseline_checks) == []
    assert failed(a.candidate_checks) == failing
    assert a.flip == "negative"
    assert "negative_flip" in a.flags and "tool_drift" in a.flags
    assert [c.kind for c in a.tool_changes] == kinds
    assert a.change > 0 and a.tier == 0


def test_identical_calls_with_new_ids_are_unchanged():
    fresh = [call('{"days": 3, "city": "Paris"}', id=f"call_c{i}") for i in range(3)]
    a = assess(BASE, fresh)
    assert (a.change, a.flags, a.flip, a.tier, a.tool_changes) == (0.0, (), "none", 3, ())


def test_two_empty_texts_with_different_calls_are_a_change():
    # before tool calls counted, both sides were "" and scored 0
    a = assess_case("c", [call()], [call('{"city": "Lyon", "days": 3}')])
    assert a.change > 0 and "tool_drift" in a.flags
    assert a.baseline_tools[0].calls == 1 and a.candidate_tools[0].args_valid is True


def test_the_baselines_own_variation_between_samples_is_not_drift():
    base = [call('{"city": "Paris", "days": 3}'), call('{"city": "Paris", "days": 5}'), call('{"city": "Paris"}')]
    cand = [call('{"city": "Paris", "days": 4}'), call('{"city": "Paris"}'), call('{"city": "Paris", "days": 3}')]
    a = assess(base, cand, checks=[TOOL_CALLED, ARGS_SCHEMA])
    assert "tool_drift" not in a.flags and a.tool_changes == ()
    # the same candidate against a baseline that always says 3 days is drift
    steady = assess([call()] * 3, cand, checks=[TOOL_CALLED, ARGS_SCHEMA])
    assert "tool_drift" in steady.flags


def test_a_side_that_varies_in_its_tool_choice_is_not_drift_when_the_candidate_varies_alike():
    base = [call(), call(name="get_forecast"), call()]
    cand = [call(name="get_forecast"), call(), call()]
    assert "tool_drift" not in assess(base, cand, checks=[]).flags


def test_flag_label_and_text_only_cases_keep_their_old_results():
    assert FLAG_LABELS["tool_drift"] == "tool drift"
    checks = [chk({"contains": "refund"})]
    a = assess_case("t", [Sample("a refund in 5 days")] * 2, [Sample("a refund in 9 days")] * 2, checks=checks)
    assert "tool_drift" not in a.flags and a.baseline_tools == [] and a.tool_changes == ()
    assert a.change == pytest.approx(0.2)
    assert [t.calls for t in a.tool_signals("candidate")] == [0, 0]


def test_errored_samples_are_not_drift_and_fail_the_tool_checks():
    a = assess(BASE, [Sample("", error="HTTP 500")] * 3)
    assert "tool_drift" not in a.flags and "error" in a.flags
    assert failed(a.candidate_checks) == ["tool_called", "tool_args_schema", "tool_args"]
    assert tool_call_rate(a.tool_signals("candidate")) is None


def test_rates_from_an_assessment():
    a = assess([call(), call(), call('{"city": 3}')], [call(), Sample("text"), call("{")], checks=[])
    assert tool_call_rate(a.tool_signals("baseline")) == 1.0
    assert tool_args_valid_rate(a.tool_signals("baseline")) == pytest.approx(2 / 3)
    assert tool_call_rate(a.tool_signals("candidate")) == pytest.approx(2 / 3)
    assert tool_args_valid_rate(a.tool_signals("candidate")) == pytest.approx(1 / 2)


# ---------------------------------------------------------------------------------------------
# The checks on one sample
# ---------------------------------------------------------------------------------------------


def run(check: Check, sample: Sample, **kw):
    (r,) = run_checks([check], sample.text, tool_calls=sample.tool_calls, tools=TOOLS, **kw)
    return r.passed, r.detail


def test_tool_called_and_no_tool_call():
    assert run(TOOL_CALLED, call()) == (True, 'called "get_weather"')
    assert run(TOOL_CALLED, call(name="get_forecast")) == (False, 'no call to "get_weather" (called "get_forecast")')
    assert run(TOOL_CALLED, Sample("hi")) == (False, 'no call to "get_weather": no tool call')
    two = Sample("", tool_calls=(ToolCall("get_weather", "{}"), ToolCall("get_weather", "{}")))
    assert run(TOOL_CALLED, two) == (True, 'called "get_weather" 2×')
    none = chk({"no_tool_call": True})
    assert run(none, Sample("hi")) == (True, "no tool call")
    assert run(none, call()) == (False, 'called "get_weather"')


def test_tool_args_schema():
    assert run(ARGS_SCHEMA, call()) == (True, "arguments fit the schema")
    ok, why = run(ARGS_SCHEMA, call('{"days": 3}'))
    assert not ok and "'city' is a required property" in why
    ok, why = run(ARGS_SCHEMA, call('{"city": "Paris"'))
    assert not ok and "not valid JSON" in why
    ok, why = run(ARGS_SCHEMA, call(name="get_wether"))
    assert not ok and "no tool" in why
    assert run(ARGS_SCHEMA, Sample("plain text")) == (True, "no tool call to validate")


def test_tool_args_matches_partially_and_strictly_by_type():
    assert run(ARGS, call('{"city": "Paris", "days": 3, "units": "C"}')) == (True, '"get_weather" arguments match')
    assert run(ARGS, call('{"city": "Paris", "days": 3.0}'))[0]  # the same number
    assert run(ARGS, call('{"city": "Paris", "days": "3"}')) == (False, '"get_weather": $.days = "3", want 3')
    assert run(ARGS, call('{"city": "Paris"}')) == (False, '"get_weather": $.days missing')
    assert run(ARGS, call(name="get_forecast")) == (False, 'no call to "get_weather"')
    assert not run(ARGS, call('{"city": "Paris", "days": true}'))[0]
    nested = chk({"tool_args": {"name": "get_weather", "match": {"$.filters[0].name": "x", '$["odd key"]': [1]}}})
    assert run(nested, call('{"filters": [{"name": "x"}], "odd key": [1]}'))[0]
    assert not run(nested, call('{"filters": [], "odd key": [1]}'))[0]
    ok, why = run(ARGS, call('{"city": "Paris\\u009b31m", "days": 3}'))
    assert not ok and "\x9b" not in why and "Paris" in why  # model text in a detail never carries a terminal escape
    # any call to the tool may match
    both = Sample(
        "", tool_calls=(ToolCall("get_weather", '{"city": "Rome"}'), ToolCall("get_weather", '{"city": "Paris", "days": 3}'))
    )
    assert run(ARGS, both)[0]


def test_response_schema():
    rs = chk({"response_schema": True})
    assert run(rs, Sample('{"intent": "refund"}'), response_format=RF) == (True, "matches the response format")
    ok, why = run(rs, Sample('{"other": 1}'), response_format=RF)
    assert not ok and "intent" in why
    assert run(rs, Sample("Sure! Refund."), response_format=RF) == (False, "no JSON answer")
    assert run(rs, Sample('{"intent": "x"}')) == (False, "the case has no response_format")


def test_response_format_schema_validity_is_a_signal_and_flips_the_check():
    rs = chk({"response_schema": True})
    a = assess_case("r", [Sample('{"intent": "refund"}')] * 3, [Sample('```json\n{"label": "refund"}\n```')] * 3,
                    checks=[rs], response_format=RF)  # fmt: skip
    assert a.flip == "negative"
    assert [g.schema_valid for g in a.candidate_signals] == [False] * 3  # the response schema is the default schema
    assert [t.response_valid for t in a.baseline_tools] == [True] * 3
    assert [t.response_valid for t in a.candidate_tools] == [False] * 3


# ---------------------------------------------------------------------------------------------
# A stored comparison
# ---------------------------------------------------------------------------------------------

SUITE = """\
suite: tools
defaults:
  tools:
    - type: function
      function:
        name: get_weather
        parameters: {type: object, properties: {city: {type: string}, days: {type: integer}}, required: [city]}
cases:
  - id: weather
    prompt: Weather in Paris for 3 days?
    checks:
      - tool_args: {name: get_weather, match: {$.days: 3}}
  - id: same
    prompt: Weather in Rome?
    checks:
      - tool_called: get_weather
"""


def test_a_stored_comparison_with_tool_calls_is_assessed_and_cached(tmp_path):
    (tmp_path / "s.yaml").write_text(SUITE, encoding="utf-8")
    store = Store(tmp_path / "r.db")
    sid = store.upsert_suite(load_suite(tmp_path / "s.yaml"))
    runs = [store.create_run(suite_id=sid, provider="recorded", model=m, base_url=None, params={}, samples=2) for m in "bc"]
    days = {0: "3", 1: '"3"'}  # the candidate over-quotes

    def out(side: int, case: str, i: int) -> Output:
        args = f'{{"city": "Paris", "days": {days[side]}}}' if case == "weather" else '{"city": "Rome"}'
        return Output(case, i, text="", finish_reason="tool_calls", tool_calls=(ToolCall("get_weather", args, f"id{side}{i}"),))

    for side, run_id in enumerate(runs):
        store.save_outputs(run_id, [out(side, c, i) for c in ("weather", "same") for i in range(2)])
    comp = store.create_comparison(suite_id=sid, baseline_run_id=runs[0], candidate_run_id=runs[1], name=None)
    data = store.load_comparison(comp)
    first = assess_comparison(store, data)
    by = {a.case_id: a for a in first}
    assert by["weather"].flip == "negative" and "tool_drift" in by["weather"].flags
    assert by["weather"].tool_changes[0].over_quoted
    assert (by["same"].change, by["same"].flags) == (0.0, ())
    again = assess_comparison(store, store.load_comparison(comp))  # from the cache
    assert again == first
    assert again[0].tool_changes == first[0].tool_changes and again[0].candidate_tools == first[0].candidate_tools

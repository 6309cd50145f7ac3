"""Suites with tools, tool_choice, response_format and replayed agent steps: what loads, what each
case carries after the defaults are applied, and one clear file:line error for each bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reviewer.suite import SuiteError, load_suite, parse_json_path

ROOT = Path(__file__).resolve().parent.parent

WEATHER = """\
    - type: function
      function:
        name: get_weather
        description: weather
        parameters: {type: object, properties: {city: {type: string}, days: {type: integer}}, required: [city]}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SuiteError) as e:
        load_suite(write(tmp_path, text))
    return [str(p) for p in e.value.problems]


def test_the_example_suite_loads_and_every_case_carries_what_is_sent_for_it():
    loaded = load_suite(ROOT / "suites" / "tools.yaml")
    cases = {c.id: c for c in loaded.suite.cases}
    weather = cases["weather-paris"]
    assert weather.tool_names() == ["get_weather", "search_flights"]
    assert weather.inherited == {"tools", "tool_choice"}
    assert weather.tool_schema("get_weather")["required"] == ["city"]
    assert weather.tool_schema("nope") is None
    sent = weather.build_tools(loaded.suite.defaults)
    assert set(sent) == {"tools", "tool_choice"} and sent["tool_choice"] == "auto"
    # `tools: []` on a case: nothing about tools is sent for it, only its response format
    trip = cases["trip-summary-json"]
    assert set(trip.build_tools()) == {"response_format"}
    assert trip.response_schema()["required"][0] == "origin"
    # the replayed agent step goes out in Chat Completions form
    step = cases["after-the-weather-call"].build_messages(loaded.suite.defaults)
    assert [m["role"] for m in step] == ["system", "user", "assistant", "tool"]
    assert step[2]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "celsius"}'}
    assert step[3] == {
        "role": "tool",
        "content": '{"temperature": 14, "conditions": "light rain"}',
        "tool_call_id": "call_weather_1",
    }


def test_a_case_without_tools_keeps_its_digest_and_its_plain_messages(tmp_path):
    """Old suites: the same digest whatever the new fields, plain messages exactly {role, content}."""
    text = "suite: s\ncases:\n  - id: a\n    messages:\n      - {role: user, content: hi}\n"
    loaded = load_suite(write(tmp_path, text))
    case = loaded.suite.cases[0]
    assert case.build_messages(loaded.suite.defaults) == [{"role": "user", "content": "hi"}]
    assert case.build_tools(loaded.suite.defaults) == {}
    dumped = json.loads(loaded.suite.model_dump_json(exclude_none=True))
    assert "tools" not in dumped["cases"][0] and "tools" not in dumped["defaults"]


def test_a_case_overrides_the_defaults_and_params_tools_are_lifted(tmp_path):
    text = f"""suite: s
defaults:
  tools:
{WEATHER}
  tool_choice: required
cases:
  - id: own
    prompt: hi
    tool_choice: none
  - id: legacy
    prompt: hi
    params:
      temperature: 0
      response_format: {{type: json_object}}
"""
    loaded = load_suite(write(tmp_path, text))
    own, legacy = loaded.suite.cases
    assert own.tool_choice == "none" and own.inherited == {"tools"}
    assert legacy.response_format == {"type": "json_object"} and legacy.params == {"temperature": 0}
    assert legacy.tool_choice == "required"


@pytest.mark.parametrize(
    ("tools", "expected"),
    [
        ("    - {type: function, function: {name: f}}", "tools[0]: tool 'f' has no parameters"),
        (
            "    - {type: function, function: {name: f, parameters: {type: 12}}}",
            "tools[0]: tool 'f': parameters is not a valid JSON Schema",
        ),
        ("    - {type: function, function: {name: f, parameters: {type: string}}}", "parameters must be an object schema"),
        (
            "    - {type: function, function: {name: 'bad name', parameters: {type: object}}}",
            "tools[0].function.name: 1-64 letters",
        ),
        ("    - {type: code_interpreter}", "only function tools are supported"),
        (
            "    - {type: function, function: {name: f, parameters: {type: object}}}\n"
            "    - {type: function, function: {name: f, parameters: {type: object}}}",
            "tools[1]: tool name 'f' appears twice",
        ),
    ],
)
def test_a_bad_tool_is_one_error_naming_the_case_and_its_line(tmp_path, tools, expected):
    text = f"suite: s\ncases:\n  - id: first\n    prompt: hi\n  - id: the-case\n    prompt: hi\n    tools:\n{tools}\n"
    [msg] = problems(tmp_path, text)
    line = 8 + ("appears twice" in expected)  # the line of the tool at fault
    assert msg.startswith(f"{tmp_path / 's.yaml'}:{line}: case 'the-case': tools["), msg
    assert expected in msg


def test_a_bad_tool_in_the_defaults_names_the_defaults(tmp_path):
    text = "suite: s\ndefaults:\n  tools:\n    - {type: function, function: {name: f}}\ncases:\n  - id: a\n    prompt: hi\n"
    [msg] = problems(tmp_path, text)
    assert ":4: defaults.tools[0]: " in msg and "no parameters" in msg


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    tool_choice: sometimes\n", "tool_choice: one of auto, none, required"),
        ("    tool_choice: {type: function, function: {name: get_time}}\n", "'get_time' is not one of the tools"),
        ("    response_format: {type: json_schema, json_schema: {name: r}}\n", "schema is required"),
        (
            "    response_format: {type: json_schema, json_schema: {name: r, schema: {type: 3}}}\n",
            "schema is not a valid JSON Schema",
        ),
        ("    response_format: {type: yaml}\n", "response_format: {type: json_schema"),
        (
            "    checks: [{tool_called: get_time}]\n",
            "checks[0]: tool_called: 'get_time' is not one of the case's tools (get_weather)",
        ),
        ("    checks: [{tool_args: {name: get_weather, match: {$.city: Paris, '$.x[': 1}}}]\n", "tool_args: match: path '$.x['"),
        ("    checks: [{tool_args: {name: get_weather}}]\n", "tool_args: the value is a mapping {name: TOOL, match:"),
        ("    checks: [{response_schema: true}]\n", "response_schema: the case has no response_format with a json_schema"),
        ("    checks: [{no_tool_call: yes please}]\n", "no_tool_call: the value must be true"),
    ],
)
def test_bad_tool_choice_response_format_and_tool_checks(tmp_path, extra, expected):
    text = f"suite: s\ncases:\n  - id: c\n    prompt: hi\n    tools:\n{WEATHER.replace('    -', '      -').replace(chr(10) + '    ', chr(10) + '      ')}{extra}"
    [msg] = problems(tmp_path, text)
    assert "case 'c': " in msg and expected in msg, msg


def test_tool_checks_need_tools_even_from_the_defaults(tmp_path):
    base = "suite: s\n{defaults}cases:\n  - id: c\n    prompt: hi\n    checks: [{{tool_called: get_weather}}, {{no_tool_call: true}}, {{tool_args_schema: true}}]\n"
    load_suite(write(tmp_path, base.format(defaults=f"defaults:\n  tools:\n{WEATHER}")))
    [msg] = problems(tmp_path, base.format(defaults=""))
    assert "checks[0]: tool_called: 'get_weather' is not one of the case's tools (the case has no tools)" in msg


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ("      - {role: tool, tool_call_id: c1, content: '12'}\n", "tool_call_id 'c1' answers no earlier assistant tool call"),
        ("      - {role: tool, content: '12'}\n", "a tool message needs tool_call_id"),
        ("      - {role: user, content: hi, tool_call_id: c1}\n", "only a tool message answers a tool call"),
        ("      - {role: user, tool_calls: [{id: c1, name: get_weather}]}\n", "only an assistant message makes tool calls"),
        ("      - {role: assistant, tool_calls: [{name: get_weather, arguments: {}}]}\n", "a tool call needs an id"),
        (
            "      - {role: assistant, tool_calls: [{id: c1, name: get_weather, arguments: '{\"city\": '}]}\n",
            "arguments: not valid JSON",
        ),
        (
            "      - {role: assistant, tool_calls: [{id: c1, name: get_weather, arguments: '[1]'}]}\n",
            "arguments: a JSON object is required",
        ),
        (
            "      - {role: assistant, tool_calls: [{id: c1, name: get_weather}]}\n"
            "      - {role: tool, tool_call_id: c1, content: a}\n      - {role: tool, tool_call_id: c1, content: b}\n",
            "tool call 'c1' is answered twice",
        ),
    ],
)
def test_a_replayed_agent_step_is_checked(tmp_path, messages, expected):
    text = f"suite: s\ndefaults:\n  tools:\n{WEATHER}cases:\n  - id: step\n    messages:\n      - {{role: user, content: hi}}\n{messages}"
    [msg] = problems(tmp_path, text)
    assert "case 'step': " in msg and expected in msg, msg


def test_an_agent_step_in_the_short_form_goes_out_in_openai_form(tmp_path):
    text = (
        f"suite: s\ndefaults:\n  tools:\n{WEATHER}cases:\n  - id: step\n    messages:\n      - {{role: user, content: hi}}\n"
        "      - {role: assistant, content: Let me look., tool_calls: [{id: c1, name: get_weather, arguments: {city: Oslo}}]}\n"
        "      - {role: tool, tool_call_id: c1, content: '-3'}\n"
    )
    loaded = load_suite(write(tmp_path, text))
    assistant = loaded.suite.cases[0].build_messages(loaded.suite.defaults)[1]
    assert assistant == {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}],
    }


def test_an_agent_step_needs_tools(tmp_path):
    text = (
        "suite: s\ncases:\n  - id: step\n    messages:\n      - {role: user, content: hi}\n"
        "      - {role: assistant, tool_calls: [{id: c1, name: get_weather}]}\n"
    )
    [msg] = problems(tmp_path, text)
    assert "an assistant tool call needs the case's tools" in msg


def test_tools_in_a_jsonl_suite_name_their_line(tmp_path):
    lines = [
        {
            "suite": "s",
            "defaults": {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]},
        },
        {"id": "ok", "prompt": "hi", "checks": [{"tool_called": "f"}]},
        {"id": "bad", "prompt": "hi", "checks": [{"tool_called": "g"}]},
    ]
    p = tmp_path / "s.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    with pytest.raises(SuiteError) as e:
        load_suite(p)
    assert [str(x) for x in e.value.problems] == [
        f"{p}:3: case 'bad': checks[0]: tool_called: 'g' is not one of the case's tools (f)"
    ]


def test_json_paths_read_as_the_json_diff_prints_them():
    assert parse_json_path("$") == []
    assert parse_json_path("$.city") == ["city"]
    assert parse_json_path("city") == ["city"]
    assert parse_json_path("$.items[2].name") == ["items", 2, "name"]
    assert parse_json_path('$["weird key"][0]') == ["weird key", 0]
    assert parse_json_path("$.名前") == ["名前"]
    for bad in ("", "$.", "$[x]", "$.a b", "$..a"):
        with pytest.raises(ValueError):
            parse_json_path(bad)


def test_the_checks_of_the_example_suite_label_themselves():
    case = load_suite(ROOT / "suites" / "tools.yaml").suite.case("flights-two-passengers")
    labels = [c.label() for c in case.checks]
    assert labels == [
        "tool_called: search_flights",
        'tool_args: search_flights($.origin="CDG", $.destination="JFK", $.passengers=2)',
        "tool_args_schema",
    ]
    assert case.checks[1].tool_args_match()[2] == ("$.passengers", ["passengers"], 2)


def test_reviewer_run_refuses_a_bad_tool_suite_with_one_line_and_exit_2(tmp_path):
    p = write(
        tmp_path, "suite: s\ncases:\n  - id: c\n    prompt: hi\n    tools:\n      - {type: function, function: {name: f}}\n"
    )
    r = subprocess.run(
        [sys.executable, "-m", "reviewer", "run", str(p), "--baseline", "openai:a@http://127.0.0.1:9/v1",
         "--candidate", "openai:b@http://127.0.0.1:9/v1", "--db", str(tmp_path / "r.db")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert f"{p}:6: case 'c': tools[0]: tool 'f' has no parameters" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "r.db").exists() or "outputs" not in r.stdout

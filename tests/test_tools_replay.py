"""A suite with tools replayed as a user runs it: `reviewer run` in a real process against a real
loopback server speaking Chat Completions, the Responses API and Anthropic Messages; the tool calls
reach a real SQLite store exactly as the model wrote them, and each request is the protocol's own."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cli_inprocess import run_main
from fakeprovider import FakeProvider, Malformed, last_user_text, ok

from reviewer.errors import UsageError
from reviewer.providers import make_provider, parse_spec
from reviewer.replay import Replay, ReplayConfig
from reviewer.store import Store
from reviewer.suite import load_suite
from reviewer.toolcall import ToolCall

ROOT = Path(__file__).resolve().parent.parent

SUITE = """\
suite: tools-replay
defaults:
  system: You are a travel assistant.
  params: {temperature: 0, max_tokens: 64}
  tools:
    - type: function
      function:
        name: get_weather
        description: The weather in a city.
        parameters:
          type: object
          properties: {city: {type: string}, days: {type: integer}}
          required: [city]
  tool_choice: auto
cases:
  - id: weather
    prompt: What is the weather in Paris for 3 days?
    checks: [{tool_called: get_weather}]
  - id: broken
    prompt: broken arguments please
  - id: step
    messages:
      - {role: user, content: Umbrella for Paris?}
      - role: assistant
        content: Let me check.
        tool_calls: [{id: call_w1, type: function, function: {name: get_weather, arguments: '{"city": "Paris"}'}}]
      - {role: tool, tool_call_id: call_w1, content: '{"rain": true}'}
      - {role: user, content: 'So, umbrella or not?'}
  - id: structured
    prompt: Trip as JSON please
    tools: []
    response_format:
      type: json_schema
      json_schema: {name: trip, strict: true, schema: {type: object, properties: {city: {type: string}}, required: [city]}}
"""

BASE_ARGS = '{"city": "Paris", "days": 3}'
OVER_QUOTED = '{"city":"Paris","days":"3"}'  # the regression: a number arrives as a string
BROKEN = '{"city": "Par'  # truncated: not JSON at all


def travel_model(api: str, model: str, messages: list, params: dict) -> dict:
    """A deterministic 'model': calls get_weather when it has tools and is asked about weather;
    the candidate over-quotes numbers and, on Chat/Responses, truncates its arguments."""
    prompt = last_user_text(messages)
    cand = model.startswith("cand")
    if params.get("tools") and "weather" in prompt:
        return {"tool_calls": [{"name": "get_weather", "arguments": OVER_QUOTED if cand else BASE_ARGS}]}
    if params.get("tools") and "broken" in prompt:
        return {"tool_calls": [{"name": "get_weather", "arguments": BROKEN if cand and api != "anthropic" else BASE_ARGS}]}
    if "umbrella or not" in prompt:
        return {"text": "Yes, take an umbrella.", "reasoning": "The tool said rain."}
    return {"text": json.dumps({"city": "Paris"})}


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    e.update(REVIEWER_DATA_DIR=str(tmp_path / "data"), REVIEWER_CONFIG_DIR=str(tmp_path / "config"), COLUMNS="120")
    return e


def run(env: dict, *args: str, process: bool = False) -> subprocess.CompletedProcess:
    """``reviewer run ARGS``: in a real process with ``process=True`` (the first test), else main()
    in this one (tests/cli_inprocess.py: the same exit code and output)."""
    if not process:
        return run_main(["run", *args], cwd=ROOT, env=env)
    return subprocess.run([sys.executable, "-m", "reviewer", "run", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)  # fmt: skip


def outputs(db: Path) -> dict[tuple[str, str], object]:
    """(side, case id) -> the stored Output of sample 0."""
    with Store(db) as store:
        comp = store.comparison()
        sides = {"baseline": comp.baseline_run_id, "candidate": comp.candidate_run_id}
        return {(side, o.case_id): o for side, rid in sides.items() for o in store.outputs(rid)}


def bodies(srv: FakeProvider, path: str) -> list[dict]:
    return [r.body for r in srv.requests if r.path == path]


def test_chat_completions_and_responses_api_replay_tools_into_the_store_exactly(tmp_path, env):
    suite = tmp_path / "tools.yaml"
    suite.write_text(SUITE)
    db = tmp_path / "r.db"
    with FakeProvider(answer=travel_model) as srv:
        r = run(env, str(suite), "--baseline", f"openai:base@{srv.base_url}",
                "--candidate", f"openai-responses:cand@{srv.base_url}", "--db", str(db), process=True)  # fmt: skip
        assert r.returncode == 0, r.stderr
        chat, resp = bodies(srv, "/v1/chat/completions"), bodies(srv, "/v1/responses")
    assert len(chat) == 4 and len(resp) == 4
    got = outputs(db)

    base = got[("baseline", "weather")]
    assert base.text == "" and base.finish_reason == "tool_calls"
    [call] = base.tool_calls
    assert (call.name, call.arguments) == ("get_weather", BASE_ARGS) and call.id.startswith("call_")
    cand = got[("candidate", "weather")]
    assert [(c.name, c.arguments) for c in cand.tool_calls] == [("get_weather", OVER_QUOTED)]
    assert cand.tool_calls[0].parsed() == ({"city": "Paris", "days": "3"}, None)
    assert cand.finish_reason == "tool_calls" and cand.resolved_model == "cand-2026-05-01"
    assert cand.input_tokens and cand.output_tokens
    # arguments that are not JSON are an answer, kept as written, not an error
    broken = got[("candidate", "broken")]
    assert broken.error is None and broken.tool_calls[0].arguments == BROKEN
    assert broken.tool_calls[0].parsed()[1].startswith("arguments are not valid JSON")
    # the replayed agent step's answer, reasoning kept apart from the text
    step = got[("candidate", "step")]
    assert step.text == "Yes, take an umbrella." and step.reasoning == "The tool said rain." and step.tool_calls == ()
    assert got[("baseline", "step")].reasoning == "The tool said rain."
    assert json.loads(got[("candidate", "structured")].text) == {"city": "Paris"}

    # Chat Completions: the suite's own form
    by_prompt = {b["messages"][-1]["content"] if isinstance(b["messages"][-1]["content"], str) else "": b for b in chat}
    weather = next(b for p, b in by_prompt.items() if "weather" in p)
    assert weather["tools"][0]["function"]["name"] == "get_weather" and weather["tool_choice"] == "auto"
    step_body = next(b for b in chat if len(b["messages"]) > 3)
    assert step_body["messages"][2]["tool_calls"][0]["id"] == "call_w1"
    assert step_body["messages"][3] == {"role": "tool", "content": '{"rain": true}', "tool_call_id": "call_w1"}
    structured = next(b for b in chat if "response_format" in b)
    assert "tools" not in structured and structured["response_format"]["json_schema"]["name"] == "trip"

    # Responses API: instructions, input items, flat function tools, text.format, max_output_tokens
    for b in resp:
        assert b["instructions"] == "You are a travel assistant." and b["store"] is False
        assert b["max_output_tokens"] == 64 and "max_tokens" not in b and "messages" not in b
    r_weather = next(b for b in resp if "weather" in json.dumps(b["input"]) and len(b["input"]) == 1)
    assert r_weather["tools"] == [{"type": "function", "name": "get_weather", "strict": False, "description": "The weather in a city.",
                                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                                                  "required": ["city"]}}]  # fmt: skip
    r_step = next(b for b in resp if len(b["input"]) > 1)
    assert r_step["input"] == [
        {"role": "user", "content": "Umbrella for Paris?"},
        {"role": "assistant", "content": "Let me check."},
        {"type": "function_call", "call_id": "call_w1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"type": "function_call_output", "call_id": "call_w1", "output": '{"rain": true}'},
        {"role": "user", "content": "So, umbrella or not?"},
    ]
    r_struct = next(b for b in resp if "text" in b)
    assert r_struct["text"]["format"] == {"type": "json_schema", "name": "trip", "strict": True,
                                          "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}  # fmt: skip


def test_anthropic_replays_tools_as_tool_use_and_keeps_thinking_and_refusals_apart(tmp_path, env):
    suite = tmp_path / "tools.yaml"
    suite.write_text(SUITE)
    db = tmp_path / "r.db"
    with FakeProvider(answer=travel_model) as srv:
        srv.script("broken", ok(text="", finish_reason="refusal",
                                stop_details={"type": "refusal", "category": "cyber", "explanation": "Not this."}))  # fmt: skip
        r = run(env, str(suite), "--baseline", f"anthropic:cand-a@{srv.root_url}",
                "--candidate", f"anthropic:base-a@{srv.root_url}", "--db", str(db))  # fmt: skip
        assert r.returncode == 0, r.stderr
        sent = bodies(srv, "/v1/messages")
    got = outputs(db)
    cand = got[("baseline", "weather")]  # the over-quoting model is on the baseline side here
    [call] = cand.tool_calls
    assert call.name == "get_weather" and call.arguments == '{"city":"Paris","days":"3"}' and call.id.startswith("toolu_")
    assert cand.finish_reason == "tool_use" and cand.text == ""
    assert got[("candidate", "weather")].tool_calls[0].arguments == '{"city":"Paris","days":3}'
    step = got[("candidate", "step")]
    assert step.text == "Yes, take an umbrella." and step.reasoning == "The tool said rain."
    refused = [o for (side, cid), o in got.items() if cid == "broken" and o.finish_reason == "refusal"]
    assert len(refused) == 1
    assert refused[0].refusal == "Not this." and refused[0].stop_details["category"] == "cyber"

    weather = next(b for b in sent if "weather" in json.dumps(b["messages"][-1]))
    assert weather["tools"] == [{"name": "get_weather", "description": "The weather in a city.",
                                 "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                                                  "required": ["city"]}}]  # fmt: skip
    assert weather["tool_choice"] == {"type": "auto"} and weather["system"] == "You are a travel assistant."
    step_body = next(b for b in sent if len(b["messages"]) > 2)
    assert step_body["messages"] == [
        {"role": "user", "content": "Umbrella for Paris?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Let me check."},
                                          {"type": "tool_use", "id": "call_w1", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_w1", "content": '{"rain": true}'},
                                     {"type": "text", "text": "So, umbrella or not?"}]},
    ]  # fmt: skip
    structured = next(b for b in sent if "output_config" in b)
    assert structured["output_config"] == {
        "format": {
            "type": "json_schema",
            "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }
    }
    assert "tools" not in structured


@pytest.mark.parametrize(
    ("protocol", "body", "why"),
    [
        ("openai", {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": {"name": "x"}}, "finish_reason": "tool_calls"}]},
         "message.tool_calls is a JSON dict, not a list"),
        ("openai", {"choices": [{"message": {"role": "assistant", "tool_calls": [{"type": "function", "function": {"arguments": "{}"}}]}}]},
         "message.tool_calls[0].function has no name"),
        ("openai-responses", {"status": "completed", "output": [{"type": "function_call", "arguments": "{}", "call_id": "c"}]},
         "output[0] (function_call) has no name"),
        ("openai-responses", {"status": "completed", "output": [{"type": "function_call", "name": "f", "arguments": {"a": 1}}]},
         "arguments is a JSON dict, not a string"),
        ("anthropic", {"content": [{"type": "tool_use", "id": "t", "name": "get_weather", "input": '{"city": "Par'}], "stop_reason": "tool_use"},
         "input is a JSON str, not an object"),
    ],
)  # fmt: skip
def test_a_malformed_tool_answer_is_an_error_retried_and_never_cached(tmp_path, protocol, body, why):
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE.split("cases:")[0] + "cases:\n  - id: weather\n    prompt: What is the weather in Paris?\n")
    cfg = ReplayConfig(attempts=3, wait_initial=0.01, wait_max=0.02)
    with FakeProvider(answer=travel_model) as srv, Store(tmp_path / "r.db") as store:
        url = srv.root_url if protocol == "anthropic" else srv.base_url
        bad = Malformed(body=json.dumps({"id": "x", "model": "m", **body}).encode())
        srv.script("weather", *([bad] * 6))
        specs = parse_spec(f"{protocol}:m@{url}"), parse_spec(f"{protocol}:m2@{url}")
        result = asyncio.run(Replay(store, load_suite(suite), *specs, cfg).run())
        assert len(srv.requests) == 6 and result.stats["baseline"].errors == result.stats["candidate"].errors == 1
        got = [o for rid in (1, 2) for o in store.outputs(rid)]
        assert len(got) == 2 and all(why in o.error and o.tool_calls == () and o.error_status == 200 for o in got), got
        # the same replay again calls both again: an error is never a cached answer
        result = asyncio.run(Replay(store, load_suite(suite), *specs, cfg).run())
        assert len(srv.requests) == 8 and not result.failures
        assert all(o.tool_calls[0].name == "get_weather" for rid in (1, 2) for o in store.outputs(rid))


def test_the_cache_key_covers_tools_tool_choice_and_response_format(tmp_path):
    suite = tmp_path / "s.yaml"
    text = SUITE.split("  - id: broken")[0]
    cfg = ReplayConfig(wait_initial=0.01)
    with FakeProvider(answer=travel_model) as srv, Store(tmp_path / "r.db") as store:
        specs = parse_spec(f"openai:base@{srv.base_url}"), parse_spec(f"openai:base2@{srv.base_url}")

        def replay(text: str) -> int:
            suite.write_text(text)
            before = len(srv.requests)
            result = asyncio.run(Replay(store, load_suite(suite), *specs, cfg).run())
            assert not result.failures
            return len(srv.requests) - before

        assert replay(text) == 2
        text = text.replace("suite: tools-replay", "suite: tools-replay-copy")
        assert replay(text) == 0  # another suite, the same calls: answered from the cache
        for change in (
            ("The weather in a city.", "Weather, by city."),
            ("tool_choice: auto", "tool_choice: required"),
            (
                "    checks: [{tool_called: get_weather}]\n",
                "    response_format: {type: json_object}\n    checks: [{tool_called: get_weather}]\n",
            ),
        ):
            text = text.replace(*change)
            assert replay(text) == 2, change


def test_recorded_lines_carry_tool_calls_and_a_malformed_one_stores_nothing(tmp_path, env):
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE)
    db = tmp_path / "r.db"
    lines = [
        {"case_id": "weather", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}, "id": "c1"}]},
        {
            "case_id": "broken",
            "output": "",
            "tool_calls": [{"name": "get_weather", "arguments": BROKEN}],
            "finish_reason": "tool_calls",
        },
        {"case_id": "step", "output": "Yes.", "reasoning": "rain"},
        {"case_id": "structured", "output": '{"city": "Paris"}'},
    ]
    rec = tmp_path / "rec.jsonl"
    rec.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    with FakeProvider(answer=travel_model) as srv:
        r = run(env, str(suite), "--baseline", f"recorded:{rec}", "--candidate", f"openai:cand@{srv.base_url}", "--db", str(db))
        assert r.returncode == 0, r.stderr
    got = outputs(db)
    assert got[("baseline", "weather")].tool_calls == (ToolCall("get_weather", '{"city":"Paris","days":3}', "c1"),)
    assert got[("baseline", "weather")].text == ""
    assert got[("baseline", "broken")].tool_calls[0].arguments == BROKEN
    assert got[("baseline", "step")].reasoning == "rain"
    assert got[("candidate", "weather")].tool_calls[0].arguments == OVER_QUOTED

    bad_db = tmp_path / "bad.db"
    for i, (bad, why) in enumerate((
        ({"case_id": "weather", "tool_calls": {"name": "get_weather"}}, "tool_calls: a list of {name, arguments} is required, got a JSON dict"),
        ({"case_id": "weather", "tool_calls": [{"arguments": {}}]}, "tool_calls[0]: name: a non-empty string is required"),
        ({"case_id": "weather", "tool_calls": [{"name": "f", "arguments": [1]}]}, "tool_calls[0]: arguments: a JSON object or its JSON text"),
        ({"case_id": "weather", "tool_calls": [{"name": "f", "args": {}}]}, "tool_calls[0]: unknown field 'args'"),
        ({"case_id": "weather"}, "output: a string is required (or tool_calls)"),
    )):  # fmt: skip
        rec.write_text(json.dumps(lines[2]) + "\n" + json.dumps(bad) + "\n")
        expected = f"{rec}:2: case 'weather': {why}"
        if i == 0:  # as a user meets it: exit 2, one line, nothing stored
            r = run(env, str(suite), "--baseline", f"recorded:{rec}", "--candidate", f"recorded:{rec}", "--db", str(bad_db))
            assert r.returncode == 2 and expected in r.stderr and "Traceback" not in r.stderr, r.stderr
            assert len(r.stderr.strip().splitlines()) == 1
            if bad_db.exists():
                assert sqlite3.connect(bad_db).execute("SELECT count(*) FROM outputs").fetchone() == (0,)
        with pytest.raises(UsageError) as e:
            make_provider(parse_spec(f"recorded:{rec}"))
        assert expected in str(e.value)


def test_a_recorded_file_without_tool_calls_for_a_tools_suite_says_so(tmp_path, env):
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE)
    rec = tmp_path / "old.jsonl"
    rec.write_text(
        "".join(json.dumps({"case_id": c, "output": "text"}) + "\n" for c in ("weather", "broken", "step", "structured"))
    )
    r = run(env, str(suite), "--baseline", f"recorded:{rec}", "--candidate", f"recorded:{rec}", "--db", str(tmp_path / "r.db"))
    assert r.returncode == 0, r.stderr
    assert "3 cases of the suite give tools, but no line of them has tool_calls" in " ".join(r.stderr.split())


def test_a_call_without_tools_keeps_the_cache_key_it_always_had():
    import hashlib

    from reviewer.replay import cache_key

    msgs = [{"role": "user", "content": "hi"}]
    old = hashlib.sha256(
        json.dumps(["openai", None, "m", {"temperature": 0}, msgs, 0], sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    assert cache_key("openai", None, "m", {"temperature": 0}, msgs, 0) == old
    assert cache_key("openai", None, "m", {"temperature": 0}, msgs, 0, {}) == old
    with_tools = cache_key(
        "openai", None, "m", {"temperature": 0}, msgs, 0, {"tool_choice": "auto", "tools": [{"type": "function"}]}
    )
    assert with_tools != old

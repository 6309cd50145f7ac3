"""The fake provider must speak the real wire shapes, or every provider test built on it lies."""

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fakeprovider import (
    FakeProvider,
    drop,
    error,
    insufficient_quota,
    malformed,
    ok,
    overloaded,
    rate_limited,
    slow,
)

KEY = "sk-test-0123456789abcdef"
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}


def chat(srv, prompt="Hello there", model="gpt-4o", headers=None, path="/v1/chat/completions", **extra):
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], **extra}
    return httpx.post(srv.root_url + path, json=body, headers=headers or {}, timeout=10)


def messages(srv, prompt="Hello there", model="claude-sonnet-4-5", headers=None, **extra):
    body = {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": prompt}], **extra}
    return httpx.post(srv.root_url + "/v1/messages", json=body, headers={**ANTHROPIC_HEADERS, **(headers or {})}, timeout=10)


@pytest.fixture
def srv():
    with FakeProvider() as s:
        yield s


# ------------------------------------------------------------------ OpenAI
def test_openai_success_has_the_exact_chat_completion_shape(srv):
    r = chat(srv, "What is 2+2?")
    assert r.status_code == 200
    assert r.headers["x-request-id"].startswith("req_")
    d = r.json()
    assert set(d) == {"id", "object", "created", "model", "choices", "usage", "service_tier", "system_fingerprint"}
    assert d["id"].startswith("chatcmpl-") and d["object"] == "chat.completion"
    assert isinstance(d["created"], int) and abs(d["created"] - time.time()) < 60
    assert d["model"] == "gpt-4o-2026-05-01"
    assert d["system_fingerprint"].startswith("fp_")
    [choice] = d["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop" and choice["logprobs"] is None
    msg = choice["message"]
    assert msg["role"] == "assistant" and msg["refusal"] is None
    assert "What is 2+2?" in msg["content"]
    u = d["usage"]
    assert u["prompt_tokens"] == 3 and u["completion_tokens"] == len(msg["content"].split())
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


def test_openai_path_without_v1_and_n_choices(srv):
    d = chat(srv, path="/chat/completions", n=3).json()
    assert [c["index"] for c in d["choices"]] == [0, 1, 2]
    assert srv.requests[0].path == "/chat/completions"


def test_alias_map_and_fingerprint_options():
    with FakeProvider(aliases={"gpt-4o": "gpt-4o-2024-08-06"}, fingerprint=None) as s:
        d = chat(s, model="gpt-4o").json()
        assert d["model"] == "gpt-4o-2024-08-06"
        assert "system_fingerprint" not in d  # like llama.cpp / many compatible servers
        assert chat(s, model="local-llama").json()["model"] == "local-llama"  # unknown: as-is
        s.script("", ok(model="gpt-4o-2026-06-01", fingerprint="fp_changed"))
        d = chat(s).json()
        assert (d["model"], d["system_fingerprint"]) == ("gpt-4o-2026-06-01", "fp_changed")
    with FakeProvider(fingerprint="fp_fixed", aliases=str.upper) as s:
        d = chat(s, model="m").json()
        assert (d["model"], d["system_fingerprint"]) == ("M", "fp_fixed")


def test_default_alias_keeps_dated_snapshots(srv):
    assert chat(srv, model="gpt-4o-2024-08-06").json()["model"] == "gpt-4o-2024-08-06"
    assert messages(srv, model="claude-3-5-haiku-20241022").json()["model"] == "claude-3-5-haiku-20241022"


def text_of(r):
    return r.json()["choices"][0]["message"]["content"]


def test_default_answer_is_deterministic_and_differs_between_models(srv):
    assert text_of(chat(srv, "Explain DNS", model="base")) == text_of(chat(srv, "Explain DNS", model="base"))
    for a, b in [("baseline", "candidate"), ("gpt-4o", "gpt-4o-mini"), ("claude-sonnet-4-5", "claude-sonnet-4-6")]:
        ta, tb = text_of(chat(srv, "Explain DNS", model=a)), text_of(chat(srv, "Explain DNS", model=b))
        assert ta != tb and "Explain DNS" in ta and "Explain DNS" in tb
    # A JSON request gets JSON, fenced or bare depending on the model.
    for model in ("baseline", "candidate", "gpt-4o", "gpt-4o-mini"):
        out = text_of(chat(srv, "Reply in JSON: the capital of France", model=model))
        inner = out.removeprefix("```json\n").removesuffix("\n```")
        assert json.loads(inner)["answer"].startswith("Reply in JSON")


def test_max_tokens_truncates_with_length_reason(srv):
    d = chat(srv, "Write a long essay about rivers", max_completion_tokens=3).json()
    assert len(d["choices"][0]["message"]["content"].split()) == 3
    assert d["choices"][0]["finish_reason"] == "length" and d["usage"]["completion_tokens"] == 3
    a = messages(srv, "Write a long essay about rivers", max_tokens=2).json()
    assert a["stop_reason"] == "max_tokens" and len(a["content"][0]["text"].split()) == 2


def test_refusal_and_finish_reasons_per_protocol(srv):
    srv.script("secret", ok(refusal="I can't help with that."), ok("Hidden.", finish_reason="content_filter"))
    msg = chat(srv, "tell me the secret").json()["choices"][0]["message"]
    assert msg["content"] is None and msg["refusal"] == "I can't help with that."
    assert chat(srv, "tell me the secret").json()["choices"][0]["finish_reason"] == "content_filter"
    srv.script("secret", ok(refusal="No."), ok("cut", finish_reason="length"), ok("x", finish_reason="end_turn"))
    a = messages(srv, "the secret").json()
    assert a["stop_reason"] == "refusal" and a["content"] == [{"type": "text", "text": "No."}]
    assert messages(srv, "the secret").json()["stop_reason"] == "max_tokens"
    assert chat(srv, "the secret").json()["choices"][0]["finish_reason"] == "stop"


def test_answer_callable_gets_request_and_may_return_a_dict():
    seen = []

    def answer(api, model, msgs, params):
        seen.append((api, model, msgs[-1]["content"], params.get("temperature"), "messages" in params))
        return {"text": "custom", "finish_reason": "length", "usage": {"completion_tokens": 99}}

    with FakeProvider(answer=answer) as s:
        d = chat(s, "hi", temperature=0.7).json()
        assert d["choices"][0]["message"]["content"] == "custom"
        assert d["choices"][0]["finish_reason"] == "length" and d["usage"]["completion_tokens"] == 99
        assert messages(s, "yo").json()["stop_reason"] == "max_tokens"
    assert seen == [("openai", "gpt-4o", "hi", 0.7, False), ("anthropic", "claude-sonnet-4-5", "yo", None, False)]


# ------------------------------------------------------------------ errors
def test_openai_error_shapes_and_retry_headers(srv):
    srv.script(
        "x",
        error(429, retry_after=2, retry_after_ms=1500),
        rate_limited(0.5),
        insufficient_quota(),
        error(400, "bad temperature", code="invalid_value"),
        error(500),
        error(502),
        error(503),
    )
    r = chat(srv, "x")
    assert r.status_code == 429 and r.headers["retry-after"] == "2" and r.headers["retry-after-ms"] == "1500"
    assert r.headers["x-request-id"].startswith("req_")
    assert r.json() == {
        "error": {"message": r.json()["error"]["message"], "type": "requests", "param": None, "code": "rate_limit_exceeded"}
    }
    r = chat(srv, "x")
    assert r.headers["retry-after"] == "0.5" and "retry-after-ms" not in r.headers
    r = chat(srv, "x")
    assert r.status_code == 429 and "retry-after" not in r.headers
    assert r.json()["error"]["code"] == r.json()["error"]["type"] == "insufficient_quota"
    r = chat(srv, "x")
    assert r.status_code == 400 and r.json()["error"] == {
        "message": "bad temperature",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_value",
    }
    for status in (500, 502, 503):
        r = chat(srv, "x")
        assert r.status_code == status and r.json()["error"]["type"] == "server_error"
    assert chat(srv, "x").status_code == 200  # exhausted script: default answers again


def test_anthropic_error_shapes(srv):
    srv.script("x", error(429, retry_after=3), overloaded(), error(500), error(400, "prompt is too long"))
    r = messages(srv, "x")
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    d = r.json()
    assert d == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": d["error"]["message"]},
        "request_id": r.headers["request-id"],
    }
    r = messages(srv, "x")
    assert r.status_code == 529 and r.json()["error"]["type"] == "overloaded_error"
    assert messages(srv, "x").json()["error"]["type"] == "api_error"
    assert messages(srv, "x").json()["error"] == {"type": "invalid_request_error", "message": "prompt is too long"}


def test_request_validation_like_the_real_apis(srv):
    r = httpx.post(srv.base_url + "/chat/completions", content=b"{not json", timeout=10)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.post(srv.base_url + "/chat/completions", json={"model": "m"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_required_parameter"
    r = httpx.post(srv.base_url + "/messages", json={"model": "m", "messages": []}, headers=ANTHROPIC_HEADERS)
    assert r.status_code == 400
    assert r.json()["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}
    r = httpx.post(srv.base_url + "/messages", json={"model": "m", "max_tokens": 5, "messages": []})
    assert r.status_code == 400 and "anthropic-version" in r.json()["error"]["message"]
    r = httpx.post(srv.base_url + "/completions", json={})
    assert r.status_code == 404 and r.json()["error"]["message"] == "Invalid URL (POST /v1/completions)"
    assert srv.count(path="/v1/messages") == 2  # rejected requests are recorded too


# ------------------------------------------------------------------ Anthropic
def test_anthropic_success_has_the_exact_message_shape(srv):
    r = messages(
        srv, [{"type": "text", "text": "Summarise this"}], system=[{"type": "text", "text": "Be brief"}], stop_sequences=["END"]
    )
    assert r.status_code == 200 and r.headers["request-id"].startswith("req_")
    d = r.json()
    assert set(d) == {"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"}
    assert d["id"].startswith("msg_") and (d["type"], d["role"]) == ("message", "assistant")
    assert d["model"] == "claude-sonnet-4-5-2026-05-01"
    [block] = d["content"]
    assert block["type"] == "text" and "Summarise this" in block["text"]
    assert (d["stop_reason"], d["stop_sequence"]) == ("end_turn", None)
    assert d["usage"]["input_tokens"] == 4 and d["usage"]["output_tokens"] == len(block["text"].split())
    srv.script("Stop", ok("partial", finish_reason="stop_sequence"))
    d = messages(srv, "Stop here", stop_sequences=["END"]).json()
    assert (d["stop_reason"], d["stop_sequence"]) == ("stop_sequence", "END")


def test_models_listing_in_both_shapes():
    with FakeProvider(aliases={"a": "a-1", "b": "b-1"}) as s:
        d = httpx.get(s.base_url + "/models").json()
        assert d["object"] == "list" and [m["id"] for m in d["data"]] == ["a-1", "b-1"]
        assert all(m["object"] == "model" for m in d["data"])
        d = httpx.get(s.base_url + "/models", headers=ANTHROPIC_HEADERS).json()
        assert d["data"][0]["type"] == "model" and d["has_more"] is False and d["last_id"] == "b-1"


# ------------------------------------------------------------------ auth
def test_no_key_configured_accepts_anything(srv):
    assert chat(srv).status_code == 200 and messages(srv).status_code == 200


def test_key_required_when_configured():
    with FakeProvider(api_key=KEY) as s:
        r = chat(s)
        assert r.status_code == 401 and r.json()["error"]["code"] is None
        r = chat(s, headers={"Authorization": "Bearer sk-wrong-key-000000"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        assert "sk-wrong-key-000000" not in r.text  # masked, as the real API does
        assert chat(s, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        r = messages(s)
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
        assert messages(s, headers={"x-api-key": "nope"}).status_code == 401
        assert messages(s, headers={"x-api-key": KEY}).status_code == 200
        assert httpx.get(s.base_url + "/models").status_code == 401


# ------------------------------------------------------------------ behaviours
def test_scripts_pop_in_order_then_fall_back_to_default(srv):
    srv.script("alpha", ok("one"), "two")
    srv.script("", ok("catch-all"))
    assert text_of(chat(srv, "beta")) == "catch-all"  # "" matches anything, once
    assert [text_of(chat(srv, "say alpha")) for _ in range(2)] == ["one", "two"]
    assert "say alpha" in text_of(chat(srv, "say alpha"))  # exhausted: default answer
    assert "beta" in text_of(chat(srv, "beta"))


def test_script_matches_the_last_user_message_only(srv):
    srv.script("needle", ok("found"))
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "needle"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "something else"},
        ],
    }
    assert text_of(httpx.post(srv.base_url + "/chat/completions", json=body)) != "found"
    assert text_of(chat(srv, "a needle here")) == "found"


def test_slow_and_global_latency(srv):
    srv.script("slow", slow(0.3, then=error(503)))
    t = time.monotonic()
    assert chat(srv, "slow").status_code == 503
    assert time.monotonic() - t >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        srv.script("slow", slow(2))
        httpx.post(
            srv.base_url + "/chat/completions",
            timeout=0.2,
            json={"model": "m", "messages": [{"role": "user", "content": "slow"}]},
        )
    srv.latency = 0.15
    t = time.monotonic()
    assert messages(srv).status_code == 200 and time.monotonic() - t >= 0.15


def test_malformed_and_drop(srv):
    srv.script("bad", malformed(), drop(), malformed(b"<html>502 Bad Gateway</html>", status=502, content_type="text/html"))
    r = chat(srv, "bad")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        r.json()
    with pytest.raises(httpx.RemoteProtocolError):
        chat(srv, "bad")
    r = chat(srv, "bad")
    assert r.status_code == 502 and r.text.startswith("<html>")
    assert chat(srv, "bad").status_code == 200  # the server survives a dropped connection


def test_stop_does_not_wait_for_an_abandoned_slow_request():
    s = FakeProvider().start()
    s.script("", slow(30))

    def abandoned():
        with pytest.raises(httpx.HTTPError):
            chat(s)

    threading.Thread(target=abandoned, daemon=True).start()
    while not s.requests:
        time.sleep(0.01)
    t = time.monotonic()
    s.stop()
    assert time.monotonic() - t < 2


def test_stop_leaves_no_pending_handler_to_be_destroyed_later():
    """A handler still waiting when the server stops is cancelled and awaited then. Left pending, it
    was destroyed with the loop at some later garbage collection, and asyncio printed "Task was
    destroyed but it is pending!" into a later test's captured stderr (a CI failure in
    test_verify_failures, whose command prints one line)."""
    s = FakeProvider().start()
    s.script("", slow(30))
    loop = s._loop
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(s.root_url + "/v1/chat/completions", json={"model": "m", "messages": []}, timeout=0.2)
    s.stop()
    assert loop is not None and loop.is_closed()
    assert [t for t in asyncio.all_tasks(loop) if not t.done()] == []


# ------------------------------------------------------------------ recording
def test_requests_are_recorded_with_lowercase_headers_and_time(srv):
    t0 = time.monotonic()
    chat(srv, "first", headers={"X-Custom": "Yes"})
    messages(srv, "second")
    first, second = srv.requests
    assert first.path == "/v1/chat/completions" and first.headers["x-custom"] == "Yes"
    assert first.body["messages"][0]["content"] == "first"
    assert second.path == "/v1/messages" and second.headers["anthropic-version"] == "2023-06-01"
    assert t0 <= first.time <= second.time <= time.monotonic()
    path, headers, body, when = first  # plain tuple unpacking works too
    assert (path, headers, body, when) == (first.path, first.headers, first.body, first.time)
    assert srv.count("first") == 1 and srv.count("s") == 2 and srv.count(path="/v1/messages") == 1
    srv.reset()
    assert srv.requests == [] and srv.count() == 0


def test_concurrent_requests_are_all_recorded_and_scripts_pop_once_each(srv):
    srv.script("go", *[ok(f"answer {i}") for i in range(40)])
    got = []

    def worker():
        with httpx.Client(base_url=srv.base_url) as c:
            for _ in range(10):
                body = {"model": "m", "messages": [{"role": "user", "content": "go"}]}
                got.append(c.post("/chat/completions", json=body).json()["choices"][0]["message"]["content"])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(f"answer {i}" for i in range(40))
    assert srv.count("go") == 40


async def test_usable_from_async_tests():
    async with FakeProvider() as s, httpx.AsyncClient(base_url=s.base_url) as c:
        s.script("hi", error(429, retry_after=1))
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        assert (await c.post("/chat/completions", json=body)).status_code == 429
        assert (await c.post("/chat/completions", json=body)).status_code == 200


def test_conftest_fixture(fake_provider):
    assert fake_provider.base_url.startswith("http://127.0.0.1:") and chat(fake_provider).status_code == 200


# ------------------------------------------------------------------ as a process
def test_runs_as_a_process_until_sigterm():
    script = Path(__file__).with_name("fakeprovider.py")
    with subprocess.Popen([sys.executable, str(script), "--latency-ms", "20"], stdout=subprocess.PIPE, text=True) as p:
        try:
            line = p.stdout.readline()
            assert line.startswith("READY http://127.0.0.1:") and line.rstrip().endswith("/v1")
            base = line.split()[1]
            t = time.monotonic()
            r = httpx.post(base + "/chat/completions", json={"model": "m", "messages": []}, timeout=10)
            assert r.status_code == 200 and time.monotonic() - t >= 0.02
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=10) == 0
        finally:
            if p.poll() is None:
                p.kill()


# ------------------------------------------------------------------ tools and the Responses API
CALLS = [{"name": "get_weather", "arguments": '{"city": "Par'}, {"name": "noop", "arguments": {"x": 1}, "id": "mine"}]


def responses(srv, body, headers=None):
    return httpx.post(srv.root_url + "/v1/responses", json={"model": "gpt-5-mini", **body}, headers=headers or {}, timeout=10)


def test_openai_tool_calls_keep_arguments_as_written(srv):
    srv.script("weather", ok(tool_calls=CALLS, reasoning="hmm"))
    choice = chat(srv, "weather?").json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    msg = choice["message"]
    assert msg["content"] is None and msg["reasoning_content"] == "hmm"
    first, second = msg["tool_calls"]
    assert first["type"] == "function" and first["id"].startswith("call_")
    assert first["function"] == {"name": "get_weather", "arguments": '{"city": "Par'}  # invalid JSON, as given
    assert second["id"] == "mine" and json.loads(second["function"]["arguments"]) == {"x": 1}


def test_anthropic_tool_use_thinking_and_refusal_stop(srv):
    srv.script(
        "weather",
        ok(tool_calls=[{"name": "get_weather", "arguments": '{"city": "Paris"}'}], reasoning="think"),
        ok(text="", finish_reason="refusal", stop_details={"type": "refusal", "category": "cyber", "explanation": None}),
    )
    body = messages(srv, "weather?").json()
    assert body["stop_reason"] == "tool_use"
    thinking, tool_use = body["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "think" and thinking["signature"]
    assert tool_use["type"] == "tool_use" and tool_use["id"].startswith("toolu_01") and tool_use["input"] == {"city": "Paris"}
    refused = messages(srv, "weather?").json()
    assert refused["stop_reason"] == "refusal" and refused["content"] == []
    assert refused["stop_details"] == {"type": "refusal", "category": "cyber", "explanation": None}


def test_responses_api_answers_with_output_items(srv):
    r = responses(
        srv, {"instructions": "Be brief.", "input": [{"role": "user", "content": "Name a colour"}], "max_output_tokens": 50}
    )
    assert r.status_code == 200 and r.headers["x-request-id"].startswith("req_")
    body = r.json()
    assert body["object"] == "response" and body["status"] == "completed" and body["model"] == "gpt-5-mini-2026-05-01"
    [msg] = body["output"]
    assert msg["type"] == "message" and msg["role"] == "assistant"
    assert msg["content"][0]["type"] == "output_text" and "Name a colour" in msg["content"][0]["text"]
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0
    # the default answer is the one Chat Completions gives for the same prompt and model
    assert chat(srv, "Name a colour", model="gpt-5-mini").json()["choices"][0]["message"]["content"] == msg["content"][0]["text"]


def test_responses_api_function_calls_reasoning_refusal_and_truncation(srv):
    srv.script(
        "go",
        ok(tool_calls=CALLS, reasoning="plan"),
        ok(refusal="I can't help with that."),
        ok(text="cut short", finish_reason="length"),
    )
    body = responses(srv, {"input": "go"}).json()
    kinds = [item["type"] for item in body["output"]]
    assert kinds == ["reasoning", "function_call", "function_call"]
    assert body["output"][0]["summary"] == [{"type": "summary_text", "text": "plan"}]
    call = body["output"][1]
    assert call["name"] == "get_weather" and call["arguments"] == '{"city": "Par'
    assert call["call_id"].startswith("call_") and call["id"].startswith("fc_")
    assert body["output"][2]["call_id"] == "mine"
    refused = responses(srv, {"input": [{"role": "user", "content": "go"}]}).json()
    assert refused["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't help with that."}]
    cut = responses(srv, {"input": "go"}).json()
    assert cut["status"] == "incomplete" and cut["incomplete_details"] == {"reason": "max_output_tokens"}
    assert srv.count("go", path="/v1/responses") == 3


def test_responses_api_refuses_chat_fields_and_speaks_openai_errors(srv):
    r = responses(srv, {"messages": [{"role": "user", "content": "hi"}], "input": "hi"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_parameter"
    assert responses(srv, {}).json()["error"]["code"] == "missing_required_parameter"
    srv.script("busy", error(429, retry_after=1))
    r = responses(srv, {"input": "busy"})
    assert r.status_code == 429 and r.headers["retry-after"] == "1" and r.json()["error"]["code"] == "rate_limit_exceeded"
    with FakeProvider(api_key=KEY) as locked:
        assert responses(locked, {"input": "hi"}).status_code == 401
        assert responses(locked, {"input": "hi"}, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200

"""The replay's hot path sends its calls through aiohttp directly (reviewer.providers.http.DirectClient)
instead of httpx's request and response objects on the httpx-aiohttp transport. These tests hold
the two paths to one behaviour against a real loopback server: the same request on the wire, the
same answer, and every failure named the same way (HTTP errors with Retry-After, a 64 kB+ error
body, malformed 200s, a dropped connection, a read timeout, a refused port, TLS to a plain server)."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from typing import Any

import httpx
import pytest
from fakeprovider import FakeProvider, drop, error, malformed, ok, slow
from httpx_aiohttp import AiohttpTransport

from reviewer.providers import Call, ProviderError, make_provider, parse_spec
from reviewer.providers.http import DirectClient

RANDOM = {"latency_ms", "request_id"}  # differ between any two answers, whatever the path


def outcome(result: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(result, ProviderError):
        fields = ("message", "status", "code", "retryable", "retry_after", "kind", "endpoint")
        return "error", {f: getattr(result, f) for f in fields}
    return "answer", {k: v for k, v in dataclasses.asdict(result).items() if k not in RANDOM}


async def call_both(provider: Any, call: Call, timeout: float = 5.0) -> list[tuple[str, dict[str, Any]]]:
    """The outcome of one call through the httpx transport, then through the direct client."""
    got = []
    transports: list[Any] = [AiohttpTransport(limits=httpx.Limits(max_connections=4)), DirectClient(4)]
    for transport in transports:
        async with transport:
            try:
                got.append(outcome(await provider.complete(transport, call, timeout)))
            except ProviderError as e:
                got.append(outcome(e))
    return got


def chat(text: str) -> Call:
    return Call("c1", 0, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}], {"temperature": 0})


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-direct-0123456789")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-direct-0123456789")


@pytest.mark.parametrize("spec", ["openai:gpt-x", "anthropic:claude-y", "openai-responses:gpt-z"])
def test_the_same_request_on_the_wire_and_the_same_answer(keys, spec):
    with FakeProvider(api_key=None) as srv:
        base = srv.root_url if spec.startswith("anthropic") else srv.base_url
        provider = make_provider(parse_spec(f"{spec}@{base}"))
        srv.script("weather", ok(tool_calls=[{"name": "get_weather", "arguments": '{"city": "Paris"}', "id": "call_1"}]))
        srv.script("weather", ok(tool_calls=[{"name": "get_weather", "arguments": '{"city": "Paris"}', "id": "call_1"}]))
        got = asyncio.run(call_both(provider, chat("What is the weather in Paris?")))
        assert got[0] == got[1]
        assert got[0][0] == "answer" and got[0][1]["tool_calls"], got[0]
        got = asyncio.run(call_both(provider, chat("capital of France?")))
        assert got[0] == got[1] and got[0][1]["text"], got
        httpx_req, direct_req = srv.requests[-2:]
        assert direct_req.path == httpx_req.path
        assert direct_req.headers == httpx_req.headers  # every header, aiohttp's defaults included
        assert direct_req.body == httpx_req.body


BEHAVIOURS = {
    "429 with Retry-After": error(429, retry_after=2),
    "429 with retry-after-ms": error(429, retry_after_ms=1500),
    "insufficient quota": error(429, "You exceeded your current quota.", "insufficient_quota", "insufficient_quota"),
    "500": error(500),
    "503 with a 200 kB message": error(503, "overloaded " * 20_000),
    "401": error(401, "Incorrect API key provided: sk-tes****6789."),
    "truncated JSON 200": malformed(),
    "a JSON list 200": malformed(body=b"[1, 2]"),
    "an HTML 502": malformed(body=b"<html><body>Bad gateway</body></html>", status=502, content_type="text/html"),
    "a 200 without choices": malformed(body=b'{"id": "x", "object": "chat.completion"}'),
    "dropped": drop(),
}


@pytest.mark.parametrize("name", list(BEHAVIOURS))
def test_every_failure_is_named_the_same_way(keys, name):
    with FakeProvider() as srv:
        srv.script("boom", BEHAVIOURS[name], BEHAVIOURS[name])
        provider = make_provider(parse_spec(f"openai:gpt-x@{srv.base_url}"))
        httpx_path, direct = asyncio.run(call_both(provider, chat("boom")))
        assert httpx_path == direct
        assert direct[0] == "error", direct
        assert "sk-test-direct" not in str(direct)  # scrubbed on both paths


def test_a_dropped_connection_is_named_as_such_on_both_paths(keys):
    """httpx-aiohttp maps aiohttp's ServerDisconnectedError to httpx.ConnectTimeout: the httpx path
    once reported a connection closed at once as "timed out after 5 s"."""
    with FakeProvider() as srv:
        srv.script("boom", drop(), drop())
        provider = make_provider(parse_spec(f"openai:gpt-x@{srv.base_url}"))
        httpx_path, direct = asyncio.run(call_both(provider, chat("boom")))
        assert httpx_path == direct
        assert direct[1]["message"] == f"127.0.0.1:{srv.port} closed the connection without answering", direct
        assert direct[1]["retryable"] and direct[1]["kind"] is None


def test_a_large_error_body_is_read_only_up_to_the_limit_on_both_paths(keys):
    with FakeProvider() as srv:
        big = error(500, "x" * 300_000)
        srv.script("big", big, big)
        provider = make_provider(parse_spec(f"openai:gpt-x@{srv.base_url}"))
        httpx_path, direct = asyncio.run(call_both(provider, chat("big")))
        assert httpx_path == direct
        assert direct[1]["status"] == 500 and "… [truncated, " in direct[1]["message"], direct
        assert len(direct[1]["message"]) < 2_100, len(direct[1]["message"])


def test_a_read_timeout_is_named_the_same_way(keys):
    with FakeProvider() as srv:
        srv.script("slow", slow(3.0), slow(3.0))
        provider = make_provider(parse_spec(f"openai:gpt-x@{srv.base_url}"))
        httpx_path, direct = asyncio.run(call_both(provider, chat("slow"), timeout=0.3))
        assert httpx_path == direct
        assert direct[1]["message"].startswith("timed out after 0.3 s waiting for 127.0.0.1:"), direct


def test_a_refused_port_and_tls_to_a_plain_server_are_named_the_same_way(keys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    provider = make_provider(parse_spec(f"openai:gpt-x@http://127.0.0.1:{port}/v1"))
    httpx_path, direct = asyncio.run(call_both(provider, chat("hello")))
    assert httpx_path == direct
    assert direct[1]["message"] == f"connection refused by 127.0.0.1:{port}" and direct[1]["kind"] == "connect"
    with FakeProvider() as srv:
        provider = make_provider(parse_spec(f"openai:gpt-x@https://127.0.0.1:{srv.port}/v1"))
        httpx_path, direct = asyncio.run(call_both(provider, chat("hello")))
        assert httpx_path == direct
        assert direct[1]["message"].startswith(f"TLS handshake with 127.0.0.1:{srv.port} failed"), direct
        assert direct[1]["kind"] == "connect"


@pytest.mark.parametrize("base", ["localhost:11434/v1", "ftp://example.invalid/v1", "http://[::1]:9/v1"])
def test_unusual_base_urls_fail_alike_on_both_paths(keys, monkeypatch, base):
    monkeypatch.setenv("OPENAI_BASE_URL", base)  # no scheme, a scheme that is not HTTP, IPv6 with nothing listening
    provider = make_provider(parse_spec("openai:gpt-x"))
    httpx_path, direct = asyncio.run(call_both(provider, chat("hello")))
    assert httpx_path == direct
    assert direct[0] == "error" and direct[1]["endpoint"] is not None and "None" not in direct[1]["message"], direct

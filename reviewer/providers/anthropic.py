"""Anthropic Messages API (``ANTHROPIC_BASE_URL`` to point elsewhere).

The Messages API differs from Chat Completions: the system prompt is a top-level field,
``max_tokens`` is required, stop sequences are ``stop_sequences``, and it rejects parameters it
does not know (``seed``…), which are dropped with a warning rather than failing every call.

Tools are translated from OpenAI's function format: ``{name, description, input_schema}``;
``tool_choice`` auto / required / none / a function → ``{type: auto | any | none | tool}``
(``parallel_tool_calls: false`` → ``disable_parallel_tool_use``); a ``json_schema``
``response_format`` → ``output_config.format`` (structured outputs); ``json_object`` has no
equivalent and is not sent (a warning says so). Earlier assistant tool calls become ``tool_use``
blocks and tool results ``tool_result`` blocks of one user message.

In the answer, ``tool_use`` blocks are tool calls (``input`` kept as its compact JSON), thinking
blocks go to ``reasoning`` (never into the text), ``stop_reason`` is the finish reason
(``tool_use``, ``refusal``, ``max_tokens``, ``pause_turn`` …) and ``stop_details`` is kept.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..toolcall import ToolCall
from . import Answer, Call, Spec
from .http import HTTPProvider, malformed

if TYPE_CHECKING:
    import httpx

    from .http import DirectClient

OFFICIAL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 1024
_KNOWN = {
    "max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "metadata", "thinking", "tool_choice", "tools",
    "service_tier", "output_config", "container", "context_management", "mcp_servers",
}  # fmt: skip


class AnthropicProvider(HTTPProvider):
    provider = "anthropic"
    request_id_header = "request-id"

    def __init__(self, spec: Spec, option: str = "SPEC"):
        self.model = spec.model
        base, qmark, query = (spec.base_url or os.environ.get("ANTHROPIC_BASE_URL") or OFFICIAL).partition("?")
        base = base.rstrip("/")
        base = base.removesuffix("/v1")
        self.set_base_url(base + qmark + query)
        if not os.environ.get("ANTHROPIC_API_KEY") and self.request_base == OFFICIAL:
            raise UsageError(f"{option} {spec}: ANTHROPIC_API_KEY is not set")
        self.warnings: list[str] = []

    def headers(self) -> dict[str, str]:
        h = {"anthropic-version": "2023-06-01"}
        key = os.environ.get("ANTHROPIC_API_KEY")
        if key:
            h["x-api-key"] = key
        return h

    def request_body(self, call: Call) -> dict[str, Any]:
        params = dict(call.params)
        if "max_completion_tokens" in params:
            params.setdefault("max_tokens", params.pop("max_completion_tokens"))
        params.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        if "stop" in params:
            stop = params.pop("stop")
            params.setdefault("stop_sequences", [stop] if isinstance(stop, str) else stop)
        parallel = params.pop("parallel_tool_calls", None)
        for name in sorted(set(params) - _KNOWN):
            params.pop(name)
            self.warn(f"anthropic:{self.model}: parameter {name!r} is not part of the Messages API; not sent")
        system = "\n\n".join(m["content"] for m in call.messages if m["role"] in ("system", "developer") and m.get("content"))
        messages = anthropic_messages([m for m in call.messages if m["role"] not in ("system", "developer")])
        body: dict[str, Any] = {"model": self.model, "messages": messages, **params}
        if system:
            body["system"] = system
        if call.tools:
            body["tools"] = [anthropic_tool(t) for t in call.tools]
            choice = anthropic_tool_choice(call.tool_choice)
            if parallel is False:
                choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
            if choice is not None:
                body["tool_choice"] = choice
        rf = call.response_format
        if rf and rf["type"] == "json_schema":
            body["output_config"] = {
                **(body.get("output_config") or {}),
                "format": {"type": "json_schema", "schema": rf["json_schema"]["schema"]},
            }
        elif rf and rf["type"] == "json_object":
            self.warn(
                f"anthropic:{self.model}: response_format json_object has no Messages API equivalent (give a json_schema); not sent"
            )
        return body

    def warn(self, warning: str) -> None:
        if warning not in self.warnings:
            self.warnings.append(warning)

    async def complete(self, transport: httpx.AsyncBaseTransport | DirectClient, call: Call, timeout: float) -> Answer:
        data, request_id, latency = await self.post(transport, "/v1/messages", self.request_body(call), timeout)
        blocks = data.get("content")
        if not isinstance(blocks, list):
            rid = request_id or data.get("id")
            err = data.get("error")
            what = "no content list" if blocks is None else f"content is a JSON {type(blocks).__name__}, not a list"
            if isinstance(err, dict) and err.get("message"):
                what = f"no content, an error instead: {err['message']}"
            raise malformed(what, rid)
        rid = request_id or data.get("id")
        text, calls, reasoning = anthropic_blocks(blocks, rid)
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        stop = data.get("stop_reason") if isinstance(data.get("stop_reason"), str) else None
        details = data.get("stop_details") if isinstance(data.get("stop_details"), dict) else None
        refusal = None
        if stop == "refusal":
            explanation = (details or {}).get("explanation")
            refusal = explanation if isinstance(explanation, str) and explanation else "refused (stop_reason: refusal)"
        return Answer(
            text=text,
            tool_calls=calls,
            stop_details=details,
            reasoning=reasoning,
            resolved_model=data.get("model"),
            system_fingerprint=None,
            finish_reason=stop,
            refusal=refusal,
            usage=usage,
            input_tokens=(usage or {}).get("input_tokens"),
            output_tokens=(usage or {}).get("output_tokens"),
            request_id=rid,
            latency_ms=latency,
        )


def anthropic_tool(tool: dict[str, Any]) -> dict[str, Any]:
    fn = tool["function"]
    out: dict[str, Any] = {"name": fn["name"], "input_schema": fn["parameters"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    if "strict" in fn:
        out["strict"] = fn["strict"]
    return out


def anthropic_tool_choice(choice: str | dict[str, Any] | None) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, dict):
        return {"type": "tool", "name": choice["function"]["name"]}
    return {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}[choice]


def anthropic_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat Completions messages (no system) → Messages API turns. A plain message is sent as it
    was; assistant tool calls become ``tool_use`` blocks; tool results become ``tool_result`` blocks,
    consecutive ones (and a user message right after them) in one user turn, as the API wants."""
    out: list[dict[str, Any]] = []
    joinable = False  # the last turn is a user turn of tool results, which the next user text joins
    for m in messages:
        role = m["role"]
        if role == "assistant" and m.get("tool_calls"):
            blocks: list[dict[str, Any]] = [{"type": "text", "text": m["content"]}] if m.get("content") else []
            for c in m["tool_calls"]:
                fn = c["function"]
                blocks.append({"type": "tool_use", "id": c["id"], "name": fn["name"], "input": json.loads(fn["arguments"])})
            out.append({"role": "assistant", "content": blocks})
            joinable = False
        elif role == "tool":
            block = {"type": "tool_result", "tool_use_id": m["tool_call_id"], "content": m["content"]}
            if joinable:
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
                joinable = True
        elif role == "user" and joinable:
            out[-1]["content"].append({"type": "text", "text": m["content"]})
            joinable = False
        else:
            out.append({"role": role, "content": m["content"]})
            joinable = False
    return out


def anthropic_blocks(blocks: list[Any], rid: Any) -> tuple[str, tuple[ToolCall, ...], str | None]:
    """(answer text, tool calls, reasoning) of a Messages API answer's content blocks."""
    text: list[str] = []
    calls: list[ToolCall] = []
    thoughts: list[str] = []
    for i, b in enumerate(blocks):
        if not isinstance(b, dict):
            raise malformed(f"content[{i}] is a JSON {type(b).__name__}, not a block", rid)
        kind = b.get("type")
        if kind == "text":
            if not isinstance(b.get("text", ""), str):
                raise malformed(f"content[{i}].text is not a string", rid)
            text.append(b.get("text", ""))
        elif kind == "tool_use":
            name, value = b.get("name"), b.get("input", {})
            if not isinstance(name, str) or not name:
                raise malformed(f"content[{i}] (tool_use) has no name", rid)
            if not isinstance(value, dict):
                raise malformed(
                    f"content[{i}] (tool_use {name[:64]!r}): input is a JSON {type(value).__name__}, not an object", rid
                )
            calls.append(ToolCall.from_value(name, value, b.get("id") if isinstance(b.get("id"), str) else None))
        elif kind == "thinking" and isinstance(b.get("thinking"), str):
            thoughts.append(b["thinking"])
        elif kind == "redacted_thinking":
            thoughts.append("[redacted thinking]")
    return "".join(text), tuple(calls), "\n\n".join(thoughts) or None

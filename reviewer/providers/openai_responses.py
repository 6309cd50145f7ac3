"""The OpenAI Responses API (``POST /responses``) as ``openai-responses:MODEL``: the same key and
base-URL rules as ``openai:`` (``OPENAI_API_KEY``, ``OPENAI_BASE_URL`` or ``@base_url``).

The request: the case's system (and developer) messages are ``instructions``; the conversation is
``input`` items (messages, earlier ``function_call`` s and their ``function_call_output`` s); tools are
``{type: function, name, description, parameters, strict}`` (``strict`` false unless the tool says
so: the Responses API would default it to true, Chat Completions to false, and a replay must ask
both the same); ``response_format`` becomes ``text.format``; ``max_tokens`` becomes
``max_output_tokens``. Parameters the Responses API does not take (``seed``, ``stop`` …) are dropped
with a warning. ``store`` is false unless the suite says otherwise: a replay keeps nothing on the
provider's side.

The answer: ``output`` items of type ``message`` (``output_text`` → the text, ``refusal`` → the
refusal), ``function_call`` (``name``, ``arguments`` kept raw, ``call_id``) and ``reasoning`` (its
summary → reasoning, never the text). ``status: incomplete`` with ``max_output_tokens`` is finish
reason ``length`` (``content_filter`` stays itself), so truncation is seen as in Chat Completions;
a completed answer is ``tool_calls`` when it calls a tool, else ``stop``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..toolcall import ToolCall
from . import Answer, Call
from .http import malformed
from .openai import OpenAIProvider

if TYPE_CHECKING:
    import httpx

    from .http import DirectClient

#: request parameters of the Responses API that a suite may set (others are dropped, with a warning)
_KNOWN = {
    "max_output_tokens", "temperature", "top_p", "parallel_tool_calls", "reasoning", "text", "store", "metadata",
    "service_tier", "truncation", "top_logprobs", "user", "safety_identifier", "prompt_cache_key", "include",
    "max_tool_calls", "background", "prompt", "conversation", "previous_response_id",
}  # fmt: skip
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


class OpenAIResponsesProvider(OpenAIProvider):
    provider = "openai-responses"

    def request_body(self, call: Call) -> dict[str, Any]:
        params = dict(call.params)
        for name in ("max_completion_tokens", "max_tokens"):
            if name in params:
                value = params.pop(name)
                params.setdefault("max_output_tokens", value)
        for name in sorted(set(params) - _KNOWN):
            params.pop(name)
            self.warn(f"openai-responses:{self.model}: parameter {name!r} is not part of the Responses API; not sent")
        params.setdefault("store", False)
        instructions = "\n\n".join(
            m["content"] for m in call.messages if m["role"] in ("system", "developer") and m.get("content")
        )
        body: dict[str, Any] = {"model": self.model, "input": responses_input(call.messages), **params}
        if instructions:
            body["instructions"] = instructions
        if call.tools:
            body["tools"] = [responses_tool(t) for t in call.tools]
            if call.tool_choice is not None:
                tc = call.tool_choice
                body["tool_choice"] = {"type": "function", "name": tc["function"]["name"]} if isinstance(tc, dict) else tc
        rf = call.response_format
        if rf is not None:
            if rf["type"] == "json_schema":
                js = rf["json_schema"]
                fmt: dict[str, Any] = {"type": "json_schema", "name": js["name"], "schema": js["schema"]}
                for key in ("strict", "description"):
                    if key in js:
                        fmt[key] = js[key]
            else:
                fmt = {"type": rf["type"]}
            given = body.get("text")
            body["text"] = {**(given if isinstance(given, dict) else {}), "format": fmt}
        return body

    def warn(self, warning: str) -> None:
        if warning not in self.warnings:
            self.warnings.append(warning)

    async def complete(self, transport: httpx.AsyncBaseTransport | DirectClient, call: Call, timeout: float) -> Answer:
        data, request_id, latency = await self.post(transport, "/responses", self.request_body(call), timeout)
        rid = request_id or data.get("id")
        items = data.get("output")
        if not isinstance(items, list):
            err = data.get("error")
            if isinstance(err, dict) and err.get("message"):
                raise malformed(f"no output, an error instead: {err['message']}", rid)
            raise malformed("no output list" if items is None else f"output is a JSON {type(items).__name__}, not a list", rid)
        text, refusal, calls, reasoning = responses_output(items, rid)
        status = data.get("status")
        details = data.get("incomplete_details")
        if status == "incomplete":
            reason = details.get("reason") if isinstance(details, dict) else None
            finish = _INCOMPLETE.get(reason, reason) if isinstance(reason, str) else "incomplete"
        elif status == "failed":
            err = data.get("error")
            msg = err.get("message") if isinstance(err, dict) else None
            raise malformed(f"the response failed: {msg or 'no reason given'}", rid)
        elif status in ("in_progress", "queued"):
            raise malformed(f"the response is still {status} (background responses are not polled)", rid)
        else:
            finish = "tool_calls" if calls else "stop"
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        return Answer(
            text=text,
            tool_calls=calls,
            reasoning=reasoning,
            resolved_model=data.get("model") if isinstance(data.get("model"), str) else None,
            system_fingerprint=None,
            finish_reason=finish,
            refusal=refusal,
            usage=usage,
            input_tokens=(usage or {}).get("input_tokens"),
            output_tokens=(usage or {}).get("output_tokens"),
            request_id=rid,
            latency_ms=latency,
        )


def responses_tool(tool: dict[str, Any]) -> dict[str, Any]:
    fn = tool["function"]
    out: dict[str, Any] = {
        "type": "function",
        "name": fn["name"],
        "parameters": fn["parameters"],
        "strict": fn.get("strict", False),
    }
    if fn.get("description"):
        out["description"] = fn["description"]
    return out


def responses_input(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat Completions messages (system ones left to ``instructions``) → Responses ``input`` items."""
    items: list[dict[str, Any]] = []
    for m in messages:
        role = m["role"]
        if role in ("system", "developer"):
            continue
        if role == "tool":
            items.append({"type": "function_call_output", "call_id": m["tool_call_id"], "output": m["content"]})
            continue
        if m.get("content") or not m.get("tool_calls"):
            items.append({"role": role, "content": m.get("content") or ""})
        for c in m.get("tool_calls") or ():
            fn = c["function"]
            items.append({"type": "function_call", "call_id": c["id"], "name": fn["name"], "arguments": fn["arguments"]})
    return items


def responses_output(items: list[Any], rid: Any) -> tuple[str, str | None, tuple[ToolCall, ...], str | None]:
    """(text, refusal, tool calls, reasoning) of a response's ``output`` items."""
    text: list[str] = []
    refusals: list[str] = []
    calls: list[ToolCall] = []
    thoughts: list[str] = []
    for i, item in enumerate(items):
        where = f"output[{i}]"
        if not isinstance(item, dict):
            raise malformed(f"{where} is a JSON {type(item).__name__}, not an item", rid)
        kind = item.get("type")
        if kind == "message":
            content = item.get("content")
            if not isinstance(content, list):
                raise malformed(f"{where} (message) has no content list", rid)
            for j, part in enumerate(content):
                if not isinstance(part, dict):
                    raise malformed(f"{where}.content[{j}] is not an object", rid)
                if part.get("type") == "output_text":
                    if not isinstance(part.get("text"), str):
                        raise malformed(f"{where}.content[{j}] (output_text) has no text", rid)
                    text.append(part["text"])
                elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
                    refusals.append(part["refusal"])
        elif kind == "function_call":
            name, args = item.get("name"), item.get("arguments", "")
            if not isinstance(name, str) or not name:
                raise malformed(f"{where} (function_call) has no name", rid)
            if not isinstance(args, str):
                raise malformed(
                    f"{where} (function_call {name[:64]!r}): arguments is a JSON {type(args).__name__}, not a string", rid
                )
            call_id = item.get("call_id") if isinstance(item.get("call_id"), str) else None
            calls.append(ToolCall(name, args, call_id))
        elif kind == "reasoning":
            for key in ("summary", "content"):
                for part in item.get(key) or ():
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        thoughts.append(part["text"])
    return "".join(text), "\n".join(refusals) or None, tuple(calls), "\n\n".join(thoughts) or None

"""OpenAI Chat Completions, and every server that speaks it (Ollama, vLLM, llama.cpp, LM Studio).

``OPENAI_BASE_URL`` or a per-model ``@base_url`` points it elsewhere. The official API wants
``max_completion_tokens`` (reasoning models reject ``max_tokens``); compatible servers mostly
understand only ``max_tokens``, so the suite's ``max_tokens`` is renamed for the official host only.

Tools, tool_choice and response_format are Chat Completions' own form: sent as they are. An answer's
``message.tool_calls`` keep their arguments as the raw string the model wrote (it may be invalid
JSON: that is a behaviour to diff, not an error); a tool call list of the wrong shape is a malformed
answer (tried again, never cached). ``reasoning_content`` (llama.cpp, vLLM, DeepSeek) is kept apart
from the answer.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..toolcall import ToolCall
from . import Answer, Call, Spec
from .http import HTTPProvider, malformed

if TYPE_CHECKING:
    import httpx

    from .http import DirectClient

OFFICIAL = "https://api.openai.com/v1"


class OpenAIProvider(HTTPProvider):
    provider = "openai"
    request_id_header = "x-request-id"

    def __init__(self, spec: Spec, option: str = "SPEC"):
        self.model = spec.model
        self.set_base_url(spec.base_url or os.environ.get("OPENAI_BASE_URL") or OFFICIAL)
        self.official = self.request_base.startswith("https://api.openai.com")
        if self.official and not os.environ.get("OPENAI_API_KEY"):
            raise UsageError(f"{option} {spec}: OPENAI_API_KEY is not set (or set OPENAI_BASE_URL for a local server)")
        self.warnings: list[str] = []

    def headers(self) -> dict[str, str]:
        key = os.environ.get("OPENAI_API_KEY")
        return {"Authorization": f"Bearer {key}"} if key else {}

    def request_body(self, call: Call) -> dict[str, Any]:
        params = dict(call.params)
        if self.official and "max_tokens" in params and "max_completion_tokens" not in params:
            params["max_completion_tokens"] = params.pop("max_tokens")
        body: dict[str, Any] = {"model": self.model, "messages": call.messages, **params}
        for name in ("tools", "tool_choice", "response_format"):
            value = getattr(call, name)
            if value is not None:
                body[name] = value
        return body

    async def complete(self, transport: httpx.AsyncBaseTransport | DirectClient, call: Call, timeout: float) -> Answer:
        data, request_id, latency = await self.post(transport, "/chat/completions", self.request_body(call), timeout)
        choice = first_choice(data, request_id)
        message = choice["message"]
        content = message.get("content")
        if isinstance(content, list):  # some servers answer with content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        rid = request_id or data.get("id")
        if content is not None and not isinstance(content, str):
            raise malformed(f"message content is a JSON {type(content).__name__}", rid)
        reasoning = message.get("reasoning_content")
        if not isinstance(reasoning, str):
            reasoning = message.get("reasoning") if isinstance(message.get("reasoning"), str) else None
        return Answer(
            text=content or "",
            tool_calls=chat_tool_calls(message.get("tool_calls"), rid),
            reasoning=reasoning or None,
            resolved_model=data.get("model"),
            system_fingerprint=data.get("system_fingerprint"),
            finish_reason=choice.get("finish_reason"),
            refusal=message.get("refusal") if isinstance(message.get("refusal"), str) else None,
            usage=usage,
            input_tokens=(usage or {}).get("prompt_tokens"),
            output_tokens=(usage or {}).get("completion_tokens"),
            request_id=request_id or data.get("id"),
            latency_ms=latency,
        )


def first_choice(data: dict[str, Any], request_id: str | None) -> dict[str, Any]:
    rid = request_id or data.get("id")
    choices = data.get("choices")
    if choices is None:
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            raise malformed(f"no choices, an error instead: {err['message']}", rid)
        if isinstance(err, str) and err:
            raise malformed(f"no choices, an error instead: {err}", rid)
        raise malformed("no choices", rid)
    if not isinstance(choices, list):
        raise malformed(f"choices is a JSON {type(choices).__name__}, not a list", rid)
    if not choices:
        raise malformed("choices is empty", rid)
    choice = choices[0]
    if not isinstance(choice, dict):
        raise malformed(f"the first choice is a JSON {type(choice).__name__}, not an object", rid)
    if not isinstance(choice.get("message"), dict):
        raise malformed("the first choice has no message", rid)
    return choice


def chat_tool_calls(raw: Any, rid: Any) -> tuple[ToolCall, ...]:
    """``message.tool_calls`` of a Chat Completions answer. Arguments stay the string the model
    wrote; a server that sends them as an object (some compatible ones do) gets its compact JSON."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise malformed(f"message.tool_calls is a JSON {type(raw).__name__}, not a list", rid)
    calls = []
    for i, tc in enumerate(raw):
        where = f"message.tool_calls[{i}]"
        if not isinstance(tc, dict):
            raise malformed(f"{where} is a JSON {type(tc).__name__}, not an object", rid)
        if tc.get("type", "function") != "function":
            raise malformed(f"{where} is of type {str(tc.get('type'))[:40]!r}, not a function call", rid)
        fn = tc.get("function")
        if not isinstance(fn, dict):
            raise malformed(f"{where} has no function object", rid)
        name, args = fn.get("name"), fn.get("arguments", "")
        if not isinstance(name, str) or not name:
            raise malformed(f"{where}.function has no name", rid)
        call_id = tc.get("id") if isinstance(tc.get("id"), str) else None
        if isinstance(args, str):
            calls.append(ToolCall(name, args, call_id))
        elif isinstance(args, dict):
            calls.append(ToolCall.from_value(name, args, call_id))
        else:
            raise malformed(f"{where}.function.arguments is a JSON {type(args).__name__}, not a string", rid)
    return tuple(calls)

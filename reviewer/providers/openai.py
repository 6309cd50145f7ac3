"""OpenAI Chat Completions, and every server that speaks it (Ollama, vLLM, llama.cpp, LM Studio).

``OPENAI_BASE_URL`` or a per-model ``@base_url`` points it elsewhere. The official API wants
``max_completion_tokens`` (reasoning models reject ``max_tokens``); compatible servers mostly
understand only ``max_tokens``, so the suite's ``max_tokens`` is renamed for the official host only.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from ..errors import UsageError
from . import Answer, Call, Spec
from .http import HTTPProvider, malformed

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
        return {"model": self.model, "messages": call.messages, **params}

    async def complete(self, transport: httpx.AsyncBaseTransport, call: Call, timeout: float) -> Answer:
        data, request_id, latency = await self.post(transport, "/chat/completions", self.request_body(call), timeout)
        choice = first_choice(data, request_id)
        message = choice["message"]
        content = message.get("content")
        if isinstance(content, list):  # some servers answer with content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        if content is not None and not isinstance(content, str):
            raise malformed(f"message content is a JSON {type(content).__name__}", request_id or data.get("id"))
        return Answer(
            text=content or "",
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

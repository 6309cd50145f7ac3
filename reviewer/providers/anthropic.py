"""Anthropic Messages API (``ANTHROPIC_BASE_URL`` to point elsewhere).

The Messages API differs from Chat Completions: the system prompt is a top-level field,
``max_tokens`` is required, stop sequences are ``stop_sequences``, and it rejects parameters it
does not know (``seed``…), which are dropped with a warning rather than failing every call.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from ..errors import UsageError
from . import Answer, Call, Spec
from .http import HTTPProvider, malformed

OFFICIAL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 1024
_KNOWN = {"max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "metadata", "thinking", "tool_choice", "tools", "service_tier"}


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
        for name in sorted(set(params) - _KNOWN):
            params.pop(name)
            warning = f"anthropic:{self.model}: parameter {name!r} is not part of the Messages API; not sent"
            if warning not in self.warnings:
                self.warnings.append(warning)
        system = "\n\n".join(m["content"] for m in call.messages if m["role"] in ("system", "developer"))
        messages = [m for m in call.messages if m["role"] not in ("system", "developer")]
        body: dict[str, Any] = {"model": self.model, "messages": messages, **params}
        if system:
            body["system"] = system
        return body

    async def complete(self, transport: httpx.AsyncBaseTransport, call: Call, timeout: float) -> Answer:
        data, request_id, latency = await self.post(transport, "/v1/messages", self.request_body(call), timeout)
        blocks = data.get("content")
        if not isinstance(blocks, list):
            rid = request_id or data.get("id")
            err = data.get("error")
            what = "no content list" if blocks is None else f"content is a JSON {type(blocks).__name__}, not a list"
            if isinstance(err, dict) and err.get("message"):
                what = f"no content, an error instead: {err['message']}"
            raise malformed(what, rid)
        text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        return Answer(
            text=text,
            resolved_model=data.get("model"),
            system_fingerprint=None,
            finish_reason=data.get("stop_reason"),
            refusal=None,
            usage=usage,
            input_tokens=(usage or {}).get("input_tokens"),
            output_tokens=(usage or {}).get("output_tokens"),
            request_id=request_id or data.get("id"),
            latency_ms=latency,
        )

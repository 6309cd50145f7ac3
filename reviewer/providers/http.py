"""What the HTTP providers share: posting JSON, timing, turning HTTP failures into ProviderError."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from . import RETRYABLE_STATUS, NOT_RETRYABLE_CODES, ProviderError, parse_retry_after, redact


class HTTPProvider:
    provider = ""
    request_id_header = "x-request-id"
    cacheable = True

    base_url: str
    model: str

    def headers(self) -> dict[str, str]:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def endpoint_key(self) -> str:
        """Calls to one endpoint share one concurrency limit."""
        return f"{self.provider} {self.base_url}"

    async def post(self, transport: httpx.AsyncBaseTransport, path: str, body: dict[str, Any], timeout: float) -> tuple[dict[str, Any], str | None, float]:
        """POST and return (JSON body, request id, latency ms); raise ProviderError on failure.

        Requests go straight to the transport: the client layers (cookies, auth flows, redirects,
        event hooks) cost more CPU than the call itself at hundreds of calls a second and do
        nothing for a JSON API."""
        urls: dict[str, httpx.URL] = self.__dict__.setdefault("_urls", {})  # parsed once per path
        url = urls.get(path)
        if url is None:
            url = urls[path] = httpx.URL(f"{self.base_url}{path}")
        request = httpx.Request(
            "POST",
            url,
            headers={"content-type": "application/json", "accept": "application/json", **self.headers()},
            content=json.dumps(body, ensure_ascii=False).encode(),
            extensions={"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}},
        )
        started = time.perf_counter()
        try:
            resp = await transport.handle_async_request(request)
            content = await resp.aread()
        except httpx.TimeoutException as e:
            raise ProviderError(f"timed out after {timeout:g} s ({type(e).__name__})", retryable=True) from None
        except httpx.TransportError as e:
            raise ProviderError(redact(f"connection failed: {type(e).__name__}: {e}") or "", retryable=True) from None
        latency_ms = (time.perf_counter() - started) * 1000
        request_id = resp.headers.get(self.request_id_header)
        if resp.status_code >= 400:
            raise self.http_error(resp, content, request_id)
        try:
            data = json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            snippet = content[:80].decode("utf-8", "replace")
            raise ProviderError(
                redact(f"malformed JSON in a {resp.status_code} answer: {snippet!r}") or "",
                status=resp.status_code,
                retryable=True,
                request_id=request_id,
            ) from None
        if not isinstance(data, dict):
            raise ProviderError(f"unexpected answer: a JSON {type(data).__name__}", status=resp.status_code, retryable=True)
        return data, request_id, latency_ms

    def http_error(self, resp: httpx.Response, content: bytes, request_id: str | None) -> ProviderError:
        message, code = f"HTTP {resp.status_code}", None
        try:
            payload = json.loads(content)
            err = payload.get("error") if isinstance(payload, dict) else None
            if isinstance(err, dict):
                message = str(err.get("message") or message)
                code = err.get("code") or err.get("type")
            elif isinstance(err, str):
                message = err
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            text = content[:200].decode("utf-8", "replace").strip()
            if text:
                message = f"HTTP {resp.status_code}: {text}"
        code = str(code) if code else None
        retryable = resp.status_code in RETRYABLE_STATUS and code not in NOT_RETRYABLE_CODES
        return ProviderError(
            redact(message) or "",
            status=resp.status_code,
            code=code,
            retryable=retryable,
            retry_after=parse_retry_after(resp.headers) if retryable else None,
            request_id=request_id,
        )

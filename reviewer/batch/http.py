"""HTTP for the batch endpoints: a sync httpx client with the provider's own headers (key read from
the environment per request, never kept), a few retries on 429 / 5xx / no connection, and errors
as one redacted line naming the request."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from ..errors import ReviewerError
from ..providers import RETRYABLE_STATUS, parse_retry_after, redact


class BatchHTTPError(ReviewerError):
    """``answered``: the server answered (an HTTP error), so a create that failed so created nothing."""

    answered = False


class BatchHTTP:
    def __init__(self, provider: Any, *, attempts: int = 5, timeout: float = 600.0):
        self.provider = provider
        self.attempts = attempts
        self.client = httpx.Client(timeout=httpx.Timeout(timeout, connect=30.0))
        self.label = f"{provider.provider}:{provider.model}"

    def close(self) -> None:
        self.client.close()

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"accept": "application/json", **self.provider.headers(), **(extra or {})}
        if self.provider.basic_auth:
            h["Authorization"] = self.provider.basic_auth
        return h

    def url(self, path: str) -> httpx.URL:
        if path.startswith(("http://", "https://")):
            return httpx.URL(path)
        return self.provider.url(path)

    def _fail(self, method: str, path: str, what: str) -> BatchHTTPError:
        shown = redact(str(httpx.URL(path).path) if path.startswith("http") else path)
        return BatchHTTPError(f"{self.label} batch: {method} {shown}: {redact(what)}")

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool = True,
        headers: dict[str, str] | None = None,
        make: Any = None,
        **kw: Any,
    ) -> Any:
        """The JSON answer of one request; retried (with ``Retry-After``) on 429, 5xx and failed
        connections (``make()`` gives fresh keyword arguments per try: a file body). A request that is not ``idempotent`` (creating a batch) is tried again after a
        transport failure only when no connection was made. Else a one-line :class:`BatchHTTPError`."""
        wait = 1.0
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                resp = self.client.request(method, self.url(path), headers=self.headers(headers), **(make() if make else kw))
            except httpx.TransportError as e:
                if last or (not idempotent and not isinstance(e, httpx.ConnectError)):
                    raise self._fail(method, path, f"{type(e).__name__}: {e}") from None
                time.sleep(wait)
                wait = min(wait * 2, 30)
                continue
            if resp.status_code in RETRYABLE_STATUS and not last:
                time.sleep(parse_retry_after(resp.headers) or wait)
                wait = min(wait * 2, 30)
                continue
            if resp.status_code >= 400:
                err = self._fail(method, path, self._message(resp))
                err.answered = True
                raise err
            try:
                return resp.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise self._fail(method, path, f"{resp.status_code} answer is not JSON: {resp.text[:80]!r}") from None
        raise AssertionError("unreachable")

    @staticmethod
    def _message(resp: httpx.Response) -> str:
        try:
            payload = resp.json()
            err = payload.get("error") if isinstance(payload, dict) else None
            if isinstance(err, dict):
                return f"{resp.status_code} {err.get('code') or err.get('type') or ''}: {err.get('message') or ''}".strip()
            if isinstance(err, str):
                return f"{resp.status_code}: {err}"
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            pass
        return f"HTTP {resp.status_code}: {' '.join(resp.text[:300].split())}"

    @contextmanager
    def lines(self, path: str) -> Iterator[Iterator[bytes]]:
        """The lines of a JSONL body, streamed (retried only before the first byte)."""
        wait = 1.0
        for attempt in range(1, self.attempts + 1):
            try:
                with self.client.stream("GET", self.url(path), headers=self.headers()) as resp:
                    if resp.status_code in RETRYABLE_STATUS and attempt < self.attempts:
                        time.sleep(parse_retry_after(resp.headers) or wait)
                        wait = min(wait * 2, 30)
                        continue
                    if resp.status_code >= 400:
                        resp.read()
                        raise self._fail("GET", path, self._message(resp))
                    yield _split_lines(resp.iter_bytes())
                    return
            except httpx.TransportError as e:
                if attempt == self.attempts:
                    raise self._fail("GET", path, f"{type(e).__name__}: {e}") from None
                time.sleep(wait)
                wait = min(wait * 2, 30)


def _split_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    rest = b""
    for chunk in chunks:
        if not chunk:
            continue
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        for p in parts:
            if p.strip():
                yield p
    if rest.strip():
        yield rest

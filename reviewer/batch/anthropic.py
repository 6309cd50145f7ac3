"""Anthropic's Message Batches for ``anthropic:``: ``POST /v1/messages/batches`` with
``{requests: [{custom_id, params}]}`` (the body streamed from a file), poll
``GET /v1/messages/batches/{id}`` until ``processing_status`` is ``ended``, then read the JSONL at
its ``results_url`` (only on the same host as the API: the key is never sent elsewhere).

Limits: 100,000 requests and 256 MB a batch. A result line is ``{custom_id, result: {type:
succeeded, message} | {type: errored, error} | {type: expired} | {type: canceled}}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from . import Limits, Status
from .http import BatchHTTP, BatchHTTPError


class AnthropicBatches:
    LIMITS = Limits(max_requests=100_000, max_bytes=256 * 1024 * 1024)
    head, sep, tail = b'{"requests":[', b",", b"]}"
    endpoint = "/v1/messages"

    def __init__(self, provider: Any):
        self.provider = provider
        self.limits = Limits(self.LIMITS.max_requests, self.LIMITS.max_bytes)
        self.http = BatchHTTP(provider)

    def close(self) -> None:
        self.http.close()

    def line(self, custom_id: str, body: dict[str, Any]) -> bytes:
        return json.dumps({"custom_id": custom_id, "params": body}, ensure_ascii=False).encode()

    def upload(self, path: Path) -> None:
        return None  # the requests go in the create call's body

    def create_from(self, path: Path) -> tuple[str, Status]:
        handles: list[Any] = []

        def make() -> dict[str, Any]:
            f = path.open("rb")
            handles.append(f)
            return {"content": _chunks(f)}

        try:
            obj = self.http.request(
                "POST", "/v1/messages/batches", idempotent=False, make=make,
                headers={"content-type": "application/json", "content-length": str(path.stat().st_size)},  # not chunked
            )  # fmt: skip
        finally:
            for f in handles:
                f.close()
        return str(obj["id"]), self.status(obj)

    def find(self, marker: str) -> None:
        return None  # message batches carry no metadata to find one by

    def retrieve(self, batch_id: str) -> Status:
        return self.status(self.http.request("GET", f"/v1/messages/batches/{batch_id}"))

    def cancel(self, batch_id: str) -> Status:
        return self.status(self.http.request("POST", f"/v1/messages/batches/{batch_id}/cancel"))

    @staticmethod
    def status(obj: dict[str, Any]) -> Status:
        status = str(obj.get("processing_status") or "unknown")
        rc: dict[str, Any] = obj["request_counts"] if isinstance(obj.get("request_counts"), dict) else {}
        counts = {k: int(rc.get(k) or 0) for k in ("processing", "succeeded", "errored", "canceled", "expired")}
        return Status(
            status=status,
            terminal=status == "ended",
            succeeded=counts["succeeded"],
            failed=counts["errored"] + counts["canceled"],
            expired=counts["expired"],
            total=sum(counts.values()),
            results={"results_url": obj["results_url"]} if obj.get("results_url") else {},
        )

    def result_sources(self, status: Status) -> list[str]:
        url = status.results.get("results_url")
        if not url:
            return []
        api = httpx.URL(self.provider.request_base)
        got = httpx.URL(url)
        if (got.scheme, got.host, got.port) != (api.scheme, api.host, api.port):
            raise BatchHTTPError(
                f"{self.provider.provider}:{self.provider.model} batch: results_url is on {got.host}, not the API's host "
                f"{api.host}; not sending the key there"
            )
        return [url]

    @staticmethod
    def classify(obj: dict[str, Any]) -> tuple[str, Any, Any, Any]:
        result = obj.get("result")
        kind = result.get("type") if isinstance(result, dict) else None
        if kind == "succeeded":
            message = result.get("message")  # type: ignore[union-attr]
            rid = message.get("id") if isinstance(message, dict) and isinstance(message.get("id"), str) else None
            return "answer", message, rid, None
        if kind == "errored":
            err = result.get("error")  # type: ignore[union-attr]
            inner = err.get("error") if isinstance(err, dict) and isinstance(err.get("error"), dict) else err
            if isinstance(inner, dict):
                return "error", f"{inner.get('type') or 'error'}: {inner.get('message') or 'no message'}", False, None
            return "error", "errored (no detail)", False, None
        if kind == "expired":
            return "error", "expired: the batch ended (24 h) before this request was processed", True, None
        if kind == "canceled":
            return "error", "canceled: the batch was cancelled before this request was processed", False, None
        return "error", f"a result of unknown type {str(kind)[:40]!r}", False, None

    @staticmethod
    def batch_errors(errors: Any) -> str | None:
        return None


def _chunks(f: Any, size: int = 1 << 20) -> Any:
    while True:
        block = f.read(size)
        if not block:
            return
        yield block

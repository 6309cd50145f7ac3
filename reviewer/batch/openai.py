"""OpenAI's Batch API for ``openai:`` (``/v1/chat/completions``) and ``openai-responses:``
(``/v1/responses``): upload the JSONL with purpose ``batch`` (``POST /files``), create the batch
(``POST /batches``, a ``24h`` window, a ``metadata`` marker of ours), poll ``GET /batches/{id}``,
read ``output_file_id`` and ``error_file_id`` (``GET /files/{id}/content``).

Limits: 50,000 requests and 200 MB an input file. A result line is ``{custom_id, response:
{status_code, request_id, body}, error}``; a request the batch never ran (expired, cancelled) has
``response: null`` and ``error: {code: batch_expired | batch_cancelled, message}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import Limits, Status
from .http import BatchHTTP

TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


class OpenAIBatches:
    LIMITS = Limits(max_requests=50_000, max_bytes=200 * 1024 * 1024)
    head, sep, tail = b"", b"", b""

    def __init__(self, provider: Any):
        self.provider = provider
        self.limits = Limits(self.LIMITS.max_requests, self.LIMITS.max_bytes)
        self.http = BatchHTTP(provider)
        self.path = "/responses" if provider.provider == "openai-responses" else "/chat/completions"
        self.endpoint = "/v1" + self.path

    def close(self) -> None:
        self.http.close()

    def line(self, custom_id: str, body: dict[str, Any]) -> bytes:
        return (
            json.dumps(
                {"custom_id": custom_id, "method": "POST", "url": self.endpoint, "body": body}, ensure_ascii=False
            ).encode()
            + b"\n"
        )

    def upload(self, path: Path) -> str:
        handles: list[Any] = []

        def make() -> dict[str, Any]:
            f = path.open("rb")
            handles.append(f)
            return {"files": {"file": (path.name, f, "application/jsonl")}, "data": {"purpose": "batch"}}

        try:
            obj = self.http.request("POST", "/files", make=make)
        finally:
            for f in handles:
                f.close()
        return str(obj["id"])

    def create(self, input_file_id: str, marker: str) -> tuple[str, Status]:
        obj = self.http.request(
            "POST", "/batches", idempotent=False,
            json={"input_file_id": input_file_id, "endpoint": self.endpoint, "completion_window": "24h",
                  "metadata": {"reviewer": marker}},
        )  # fmt: skip
        return str(obj["id"]), self.status(obj)

    def find(self, marker: str) -> tuple[str, Status] | None:
        """A batch created with this marker (a process killed between creating it and recording its
        id), among the most recent 100."""
        obj = self.http.request("GET", "/batches", params={"limit": 100})
        for b in obj.get("data") or ():
            if isinstance(b, dict) and (b.get("metadata") or {}).get("reviewer") == marker:
                return str(b["id"]), self.status(b)
        return None

    def retrieve(self, batch_id: str) -> Status:
        return self.status(self.http.request("GET", f"/batches/{batch_id}"))

    def cancel(self, batch_id: str) -> Status:
        return self.status(self.http.request("POST", f"/batches/{batch_id}/cancel"))

    @staticmethod
    def status(obj: dict[str, Any]) -> Status:
        status = str(obj.get("status") or "unknown")
        rc: dict[str, Any] = obj["request_counts"] if isinstance(obj.get("request_counts"), dict) else {}
        errors = obj.get("errors") or None
        return Status(
            status=status,
            terminal=status in TERMINAL,
            succeeded=int(rc.get("completed") or 0),
            failed=int(rc.get("failed") or 0),
            total=int(rc.get("total") or 0),
            errors=errors,
            results={k: obj[k] for k in ("output_file_id", "error_file_id") if obj.get(k)},
        )

    def result_sources(self, status: Status) -> list[str]:
        return [f"/files/{status.results[k]}/content" for k in ("output_file_id", "error_file_id") if status.results.get(k)]

    @staticmethod
    def classify(obj: dict[str, Any]) -> tuple[str, Any, Any, Any]:
        """("answer", body, request id, None) | ("http_error", status code, body bytes, request id) |
        ("error", message, expired?, None)."""
        resp, err = obj.get("response"), obj.get("error")
        if isinstance(resp, dict) and isinstance(resp.get("status_code"), int):
            rid = resp.get("request_id") if isinstance(resp.get("request_id"), str) else None
            body = resp.get("body")
            if resp["status_code"] < 400:
                return "answer", body, rid, None
            return "http_error", resp["status_code"], json.dumps(body).encode(), rid
        if isinstance(err, dict):
            code = str(err.get("code") or "error")
            return "error", f"{code}: {err.get('message') or 'no message'}", code == "batch_expired", None
        return "error", "a result line with neither a response nor an error", False, None

    @staticmethod
    def batch_errors(errors: Any) -> str | None:
        data = errors.get("data") if isinstance(errors, dict) else None
        if not data:
            return None
        parts = []
        for e in data[:3]:
            if isinstance(e, dict):
                where = f" (input line {e['line']})" if e.get("line") is not None else ""
                parts.append(f"{e.get('code') or 'error'}: {e.get('message') or ''}{where}")
        more = f"; and {len(data) - 3} more" if len(data) > 3 else ""
        return "; ".join(parts) + more

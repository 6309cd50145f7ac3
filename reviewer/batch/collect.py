"""A finished batch's results into the store: lines in any order matched by ``custom_id``; each
answer parsed by the provider's own parser (its ``complete``, on a copy of the provider whose
``post`` hands back the line's body instead of calling: a batch answer is read exactly as a direct
one: resolved model, fingerprint, usage, request id, malformed answers as errors. The providers
have no parser separable from ``complete`` yet; when they do, call it instead); HTTP errors by the provider's ``http_error``;
expired, cancelled and missing requests stored as errors of their cases.

Streamed: result lines are read one at a time, outputs saved every :data:`SAVE_EVERY`.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..providers import Call, ProviderError, redact
from ..replay import ANSWER_FIELDS
from ..store import Output, Store
from ..store.batches import BatchRecord, batch_requests
from . import Status

SAVE_EVERY = 2000
_CUSTOM_ID = re.compile(rb'"custom_id"\s*:\s*"([A-Za-z0-9_\-]{1,64})"')


class _Given:
    """What the provider copy's ``post`` returns: the result line's body and request id."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.request_id: str | None = None

    async def post(self, transport: Any, path: str, body: Any, timeout: float) -> tuple[dict[str, Any], str | None, None]:
        return self.data, self.request_id, None


@dataclass
class Collected:
    answered: int = 0
    errors: int = 0
    expired: int = 0
    missing: int = 0
    problems: list[str] = field(default_factory=list)  # malformed lines, unknown custom ids
    failures: list[tuple[str, int, str]] = field(default_factory=list)  # first few (case, sample, message)


class Parser:
    def __init__(self, provider: Any):
        import copy

        self.provider = provider
        self.given = _Given()
        self.parsing = copy.copy(provider)
        self.parsing.post = self.given.post  # the copy only parses; the provider itself is untouched
        self.parsing.warnings = []
        self.stub = Call("", 0, [], {})

    async def output(self, case_id: str, sample: int, key: str, kind: str, a: Any, b: Any, c: Any) -> tuple[Output, bool]:
        """(the Output of one result, expired?)."""
        p = self.provider
        if kind == "answer":
            if not isinstance(a, dict):
                return self._error(
                    case_id, sample, key, f"malformed answer: the body is a JSON {type(a).__name__}", 200, b
                ), False
            self.given.data, self.given.request_id = a, b
            try:
                answer = await self.parsing.complete(None, self.stub, 60.0)
            except ProviderError as e:
                return self._error(case_id, sample, key, e.describe(), e.status, e.request_id or b), False
            values = {name: getattr(answer, name) for name in ANSWER_FIELDS}
            values["latency_ms"] = None  # a batch has no per-request latency
            values["request_id"] = b or answer.request_id
            return Output(case_id=case_id, sample=sample, attempts=1, cache_key=key, **values), False
        if kind == "http_error":
            failure = p.http_error(httpx.Response(a), b, c)
            return self._error(case_id, sample, key, failure.describe(), failure.status, c), False
        return self._error(case_id, sample, key, str(a), None, None), bool(b)

    @staticmethod
    def _error(case_id: str, sample: int, key: str, message: str, status: int | None, rid: Any) -> Output:
        return Output(
            case_id=case_id, sample=sample, attempts=1, cache_key=key, error=redact(message),
            error_status=status, request_id=rid if isinstance(rid, str) else None,
        )  # fmt: skip


def collect(store: Store, client: Any, record: BatchRecord, status: Status) -> Collected:
    """Store every result of a terminal batch; requests with no result are errors of their cases."""
    return asyncio.run(_collect(store, client, record, status))


async def _collect(store: Store, client: Any, record: BatchRecord, status: Status) -> Collected:
    wanted = batch_requests(store, record.id)
    parser = Parser(client.provider)
    out = Collected()
    seen: set[str] = set()
    buf: list[Output] = []
    where = f"batch {record.batch_id}"

    def keep(o: Output, expired: bool) -> None:
        buf.append(o)
        if o.error is None:
            out.answered += 1
        else:
            out.errors += 1
            out.expired += expired
            if len(out.failures) < 50:
                out.failures.append((o.case_id, o.sample, o.error))
        if len(buf) >= SAVE_EVERY:
            store.save_outputs(record.run_id, buf)
            buf.clear()

    batch_error = client.batch_errors(status.errors)
    for source in client.result_sources(status):
        with client.http.lines(source) as lines:
            for n, raw in enumerate(lines, start=1):
                try:
                    obj = json.loads(raw)
                    if not isinstance(obj, dict) or not isinstance(obj.get("custom_id"), str):
                        raise ValueError("not an object with a custom_id")
                except (ValueError, UnicodeDecodeError) as e:
                    m = _CUSTOM_ID.search(raw[:4096])
                    cid = m.group(1).decode() if m else None
                    why = "not JSON" if isinstance(e, json.JSONDecodeError | UnicodeDecodeError) else str(e)
                    out.problems.append(f"{where}: results line {n}: malformed ({why})" + (f", custom_id {cid}" if cid else ""))
                    if cid in wanted and cid not in seen:
                        seen.add(cid)
                        case_id, sample, key = wanted[cid]
                        keep(
                            Parser._error(
                                case_id, sample, key, f"malformed results line {n} of {where} (custom_id {cid})", None, None
                            ),
                            False,
                        )
                    continue
                cid = obj["custom_id"]
                if cid not in wanted:
                    out.problems.append(f"{where}: results line {n}: custom_id {cid[:64]!r} is not one of this batch's requests")
                    continue
                if cid in seen:
                    out.problems.append(f"{where}: results line {n}: custom_id {cid} answered twice; the first answer is kept")
                    continue
                seen.add(cid)
                case_id, sample, key = wanted[cid]
                o, expired = await parser.output(case_id, sample, key, *client.classify(obj))
                keep(o, expired)
    for cid, (case_id, sample, key) in wanted.items():
        if cid in seen:
            continue
        out.missing += 1
        why = f"the batch {status.status}" + (f": {batch_error}" if batch_error else "")
        keep(Parser._error(case_id, sample, key, f"no result in {where} ({why})", None, None), status.status == "expired")
    if buf:
        store.save_outputs(record.run_id, buf)
    return out

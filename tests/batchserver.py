"""A real loopback HTTP server for the providers' batch APIs, for the tests and bench/batch.py.

OpenAI: ``POST /v1/files`` (multipart, purpose ``batch``), ``GET /v1/files/{id}/content``,
``POST /v1/batches``, ``GET /v1/batches`` (list, with metadata), ``GET /v1/batches/{id}``,
``POST /v1/batches/{id}/cancel``. Anthropic: ``POST /v1/messages/batches``,
``GET /v1/messages/batches/{id}``, ``GET /v1/messages/batches/{id}/results`` (the ``results_url``),
``POST /v1/messages/batches/{id}/cancel``.

A batch moves on one step per poll: OpenAI ``validating`` → ``in_progress`` (``polls - 2`` polls,
counts growing) → ``finalizing`` → ``completed``; Anthropic ``in_progress`` → ``ended``. Results
come back shuffled. The last user message of a request chooses what happens to it:

- ``BATCH-ERROR``: that line errors (OpenAI: ``response.status_code`` 400 with an error body;
  Anthropic: ``errored``);
- ``BATCH-EXPIRE``: the request expired (OpenAI ``error.code`` ``batch_expired``; Anthropic ``expired``);
- ``BATCH-MALFORMED``: the result line is cut off (not JSON; its ``custom_id`` readable);
- ``BATCH-FAIL`` (OpenAI): the whole batch fails validation, with an ``errors`` object naming the line.

Any other request is answered ``[MODEL] answer: PROMPT``. The per-request endpoints
(``/v1/chat/completions``, ``/v1/responses``, ``/v1/messages``) are counted and refused: a batch
test asserts ``srv.direct_calls == 0``. Every request must carry the key given (``api_key``).

    with BatchServer(api_key="sk-test", polls=3) as srv:
        srv.openai_url   # http://127.0.0.1:PORT/v1
        srv.anthropic_url  # http://127.0.0.1:PORT

As a process: ``python tests/batchserver.py [--polls N]`` prints ``READY ROOT_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from fakeprovider import finish_leftovers

OPENAI_TERMINAL = {"completed", "failed", "expired", "cancelled"}


@dataclass
class Batch:
    id: str
    kind: str  # openai / anthropic
    requests: list[dict[str, Any]]  # OpenAI input lines / Anthropic {custom_id, params}
    endpoint: str = ""
    input_file_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    polls: int = 0
    status: str = ""
    cancelled: bool = False
    failed_line: int | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    results: bytes = b""  # Anthropic JSONL


def _last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, str):
                return c
            if isinstance(c, list):
                return " ".join(p.get("text", "") for p in c if isinstance(p, dict))
    return ""


class BatchServer:
    def __init__(self, *, api_key: str | None = None, polls: int = 3, seed: int = 7, port: int = 0):
        self.api_key = api_key
        self.polls = max(2, polls)
        self.rng = random.Random(seed)
        self.port = port
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, Batch] = {}
        self.hits: Counter[str] = Counter()
        self.direct_calls = 0
        self.unauthorised = 0
        self.creates: list[str] = []  # batch ids in the order they were created
        self._n = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return self.root_url + "/v1"

    anthropic_url = root_url

    def __enter__(self) -> BatchServer:
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None:
            fut = asyncio.run_coroutine_threadsafe(self._stop(), self._loop)
            fut.result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        if self._loop is not None:
            self._loop.close()

    async def _stop(self) -> None:
        await self._runner.cleanup()  # type: ignore[union-attr]
        await finish_leftovers()

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self.start())
        self._ready.set()
        loop.run_forever()

    async def start(self) -> None:
        app = web.Application(client_max_size=1024**3)
        r = app.router
        r.add_post("/v1/files", self.upload)
        r.add_get("/v1/files/{id}/content", self.file_content)
        r.add_post("/v1/batches", self.openai_create)
        r.add_get("/v1/batches", self.openai_list)
        r.add_get("/v1/batches/{id}", self.openai_get)
        r.add_post("/v1/batches/{id}/cancel", self.openai_cancel)
        r.add_post("/v1/messages/batches", self.anthropic_create)
        r.add_get("/v1/messages/batches/{id}", self.anthropic_get)
        r.add_get("/v1/messages/batches/{id}/results", self.anthropic_results)
        r.add_post("/v1/messages/batches/{id}/cancel", self.anthropic_cancel)
        for path in ("/v1/chat/completions", "/v1/responses", "/v1/messages", "/chat/completions", "/responses"):
            r.add_post(path, self.direct)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    # ------------------------------------------------------------ helpers
    def _id(self, prefix: str) -> str:
        with self._lock:
            self._n += 1
            return f"{prefix}{self._n:06d}{self.rng.randrange(16**6):06x}"

    def _authorised(self, request: web.Request) -> bool:
        if self.api_key is None:
            return True
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if given != self.api_key:
            self.unauthorised += 1
            return False
        return True

    @staticmethod
    def _error(status: int, message: str, kind: str = "invalid_request_error") -> web.Response:
        return web.json_response({"type": "error", "error": {"type": kind, "message": message, "code": kind}}, status=status)

    def answer_text(self, model: str, prompt: str) -> str:
        return f"[{model}] answer: {prompt}"

    # ------------------------------------------------------------ direct calls (refused)
    async def direct(self, request: web.Request) -> web.Response:
        self.direct_calls += 1
        self.hits[request.path] += 1
        return self._error(500, "this server answers only batches")

    # ------------------------------------------------------------ OpenAI
    async def upload(self, request: web.Request) -> web.Response:
        self.hits["files.create"] += 1
        if not self._authorised(request):
            return self._error(401, "invalid api key", "invalid_api_key")
        form = await request.post()
        if form.get("purpose") != "batch":
            return self._error(400, "purpose must be batch")
        f = form.get("file")
        if f is None or not hasattr(f, "file"):
            return self._error(400, "no file")
        content = f.file.read()  # type: ignore[union-attr]
        fid = self._id("file-")
        self.files[fid] = content
        return web.json_response({"id": fid, "object": "file", "bytes": len(content), "purpose": "batch", "filename": f.filename})  # type: ignore[union-attr]

    async def file_content(self, request: web.Request) -> web.StreamResponse:
        self.hits["files.content"] += 1
        if not self._authorised(request):
            return self._error(401, "invalid api key", "invalid_api_key")
        content = self.files.get(request.match_info["id"])
        if content is None:
            return self._error(404, "no such file")
        resp = web.StreamResponse(headers={"content-type": "application/jsonl"})
        await resp.prepare(request)
        for i in range(0, len(content), 1 << 20):
            await resp.write(content[i : i + (1 << 20)])
        await resp.write_eof()
        return resp

    async def openai_create(self, request: web.Request) -> web.Response:
        self.hits["batches.create"] += 1
        if not self._authorised(request):
            return self._error(401, "invalid api key", "invalid_api_key")
        body = await request.json()
        content = self.files.get(body.get("input_file_id"))
        if content is None:
            return self._error(400, "no such input file")
        if body.get("endpoint") not in ("/v1/chat/completions", "/v1/responses"):
            return self._error(400, f"unsupported endpoint {body.get('endpoint')!r}")
        lines = [json.loads(ln) for ln in content.split(b"\n") if ln.strip()]
        if len(lines) > 50_000:
            return self._error(400, "too many requests in one batch")
        ids = [ln["custom_id"] for ln in lines]
        if len(set(ids)) != len(ids):
            return self._error(400, "duplicate custom_id")
        b = Batch(self._id("batch_"), "openai", lines, endpoint=body["endpoint"], input_file_id=body["input_file_id"],
                  metadata=body.get("metadata") or {}, status="validating")  # fmt: skip
        for n, ln in enumerate(lines, start=1):
            if ln.get("url") != b.endpoint:
                return self._error(400, f"line {n}: url {ln.get('url')!r} is not the batch's endpoint")
            if "BATCH-FAIL" in self._prompt(ln["body"]):
                b.failed_line = n
        self.batches[b.id] = b
        self.creates.append(b.id)
        return web.json_response(self._openai_obj(b))

    @staticmethod
    def _prompt(body: dict[str, Any]) -> str:
        if "messages" in body:
            return _last_user_text(body["messages"])
        inp = body.get("input")
        if isinstance(inp, list):
            return _last_user_text(inp)
        return str(inp or "")

    def _openai_obj(self, b: Batch) -> dict[str, Any]:
        total = len(b.requests)
        if b.status == "validating" or b.status == "failed":
            done = 0
        elif b.status == "in_progress":
            done = total * b.polls // self.polls
        else:
            done = total
        failed = sum(
            1 for ln in b.requests if "BATCH-ERROR" in self._prompt(ln["body"]) or "BATCH-EXPIRE" in self._prompt(ln["body"])
        )
        obj: dict[str, Any] = {
            "id": b.id, "object": "batch", "endpoint": b.endpoint, "input_file_id": b.input_file_id,
            "completion_window": "24h", "status": b.status, "output_file_id": b.output_file_id,
            "error_file_id": b.error_file_id, "created_at": 1_700_000_000, "metadata": b.metadata,
            "request_counts": {"total": total, "completed": max(0, done - failed) if b.status in OPENAI_TERMINAL else done,
                               "failed": failed if b.status in OPENAI_TERMINAL and b.status != "failed" else 0},
            "errors": None,
        }  # fmt: skip
        if b.status == "failed":
            obj["errors"] = {
                "object": "list",
                "data": [{"code": "invalid_request", "message": "this line asks the batch to fail", "param": "body.messages",
                          "line": b.failed_line}],
            }  # fmt: skip
        return obj

    def _openai_advance(self, b: Batch) -> None:
        if b.status in OPENAI_TERMINAL:
            return
        b.polls += 1
        if b.cancelled:
            self._openai_finish(b, "cancelled")
        elif b.status == "validating":
            b.status = "failed" if b.failed_line else "in_progress"
        elif b.status == "in_progress" and b.polls >= self.polls - 1:
            b.status = "finalizing"
        elif b.status == "finalizing":
            self._openai_finish(b, "completed")

    def _openai_finish(self, b: Batch, status: str) -> None:
        out, errs = [], []
        for ln in b.requests:
            cid, body = ln["custom_id"], ln["body"]
            prompt = self._prompt(body)
            rid = self._id("req_")
            if status == "cancelled" or "BATCH-EXPIRE" in prompt:
                code = "batch_cancelled" if status == "cancelled" else "batch_expired"
                errs.append({"id": self._id("batch_req_"), "custom_id": cid, "response": None,
                             "error": {"code": code, "message": "This request could not be executed before the batch ended."}})  # fmt: skip
            elif "BATCH-ERROR" in prompt:
                errs.append({"id": self._id("batch_req_"), "custom_id": cid, "error": None, "response": {
                    "status_code": 400, "request_id": rid,
                    "body": {"error": {"message": "Invalid value for 'messages' on this line.", "type": "invalid_request_error",
                                       "code": "invalid_value", "param": "messages"}}}})  # fmt: skip
            elif "BATCH-MALFORMED" in prompt:
                out.append(f'{{"id": "batch_req_x", "custom_id": "{cid}", "response": {{"status_code": 200, "body": {{"cho')
            else:
                out.append({"id": self._id("batch_req_"), "custom_id": cid, "error": None,
                            "response": {"status_code": 200, "request_id": rid, "body": self._openai_body(b.endpoint, body)}})  # fmt: skip
        self.rng.shuffle(out)
        self.rng.shuffle(errs)
        if out:
            b.output_file_id = self._id("file-")
            self.files[b.output_file_id] = _jsonl(out)
        if errs:
            b.error_file_id = self._id("file-")
            self.files[b.error_file_id] = _jsonl(errs)
        b.status = status

    def _openai_body(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        model, text = body.get("model", "?"), self.answer_text(body.get("model", "?"), self._prompt(body))
        if endpoint == "/v1/responses":
            return {"id": self._id("resp_"), "object": "response", "status": "completed", "model": f"{model}-2026-01-01",
                    "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}],
                    "usage": {"input_tokens": 9, "output_tokens": 7, "total_tokens": 16}}  # fmt: skip
        return {
            "id": self._id("chatcmpl-"), "object": "chat.completion", "model": f"{model}-2026-01-01",
            "system_fingerprint": "fp_batch1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
        }  # fmt: skip

    async def openai_get(self, request: web.Request) -> web.Response:
        self.hits["batches.retrieve"] += 1
        if not self._authorised(request):
            return self._error(401, "invalid api key", "invalid_api_key")
        b = self.batches.get(request.match_info["id"])
        if b is None or b.kind != "openai":
            return self._error(404, "no such batch")
        self._openai_advance(b)
        return web.json_response(self._openai_obj(b))

    async def openai_list(self, request: web.Request) -> web.Response:
        self.hits["batches.list"] += 1
        if not self._authorised(request):
            return self._error(401, "invalid api key", "invalid_api_key")
        data = [self._openai_obj(b) for b in reversed(list(self.batches.values())) if b.kind == "openai"][:100]
        return web.json_response({"object": "list", "data": data, "has_more": False})

    async def openai_cancel(self, request: web.Request) -> web.Response:
        self.hits["batches.cancel"] += 1
        if not self._authorised(request):
            return self._error(401, "invalid api key", "invalid_api_key")
        b = self.batches.get(request.match_info["id"])
        if b is None or b.kind != "openai":
            return self._error(404, "no such batch")
        if b.status not in OPENAI_TERMINAL:
            b.cancelled = True
            b.status = "cancelling"
        return web.json_response(self._openai_obj(b))

    # ------------------------------------------------------------ Anthropic
    async def anthropic_create(self, request: web.Request) -> web.Response:
        self.hits["messages.batches.create"] += 1
        if not self._authorised(request):
            return self._error(401, "invalid x-api-key", "authentication_error")
        if not request.headers.get("anthropic-version"):
            return self._error(400, "anthropic-version header is required")
        body = await request.json()
        reqs = body.get("requests")
        if not isinstance(reqs, list) or not reqs:
            return self._error(400, "requests: a non-empty list is required")
        if len(reqs) > 100_000:
            return self._error(400, "too many requests")
        ids = [r.get("custom_id") for r in reqs]
        if len(set(ids)) != len(ids):
            return self._error(400, "duplicate custom_id")
        for r in reqs:
            if not isinstance(r.get("params"), dict) or "max_tokens" not in r["params"]:
                return self._error(400, f"{r.get('custom_id')}: params.max_tokens is required")
        b = Batch(self._id("msgbatch_"), "anthropic", reqs, endpoint="/v1/messages", status="in_progress")
        self.batches[b.id] = b
        self.creates.append(b.id)
        return web.json_response(self._anthropic_obj(b))

    def _anthropic_obj(self, b: Batch) -> dict[str, Any]:
        total = len(b.requests)
        counts = {"processing": total, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if b.status == "ended":
            for r in b.requests:
                counts[self._anthropic_kind(r, b)] += 1
            counts["processing"] = 0
        return {
            "id": b.id, "type": "message_batch", "processing_status": b.status, "request_counts": counts,
            "created_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z",
            "ended_at": "2026-01-01T01:00:00Z" if b.status == "ended" else None,
            "results_url": f"{self.root_url}/v1/messages/batches/{b.id}/results" if b.status == "ended" else None,
        }  # fmt: skip

    def _anthropic_kind(self, r: dict[str, Any], b: Batch) -> str:
        prompt = _last_user_text(r["params"].get("messages"))
        if b.cancelled:
            return "canceled"
        if "BATCH-EXPIRE" in prompt:
            return "expired"
        if "BATCH-ERROR" in prompt:
            return "errored"
        return "succeeded"

    def _anthropic_finish(self, b: Batch) -> None:
        lines: list[Any] = []
        for r in b.requests:
            cid, params = r["custom_id"], r["params"]
            prompt = _last_user_text(params.get("messages"))
            kind = self._anthropic_kind(r, b)
            if kind == "succeeded" and "BATCH-MALFORMED" in prompt:
                lines.append(f'{{"custom_id": "{cid}", "result": {{"type": "succeeded", "message": {{"id": "msg_')
                continue
            if kind == "succeeded":
                model = params.get("model", "?")
                result: dict[str, Any] = {"type": "succeeded", "message": {
                    "id": self._id("msg_"), "type": "message", "role": "assistant", "model": f"{model}-20260101",
                    "content": [{"type": "text", "text": self.answer_text(model, prompt)}], "stop_reason": "end_turn",
                    "stop_sequence": None, "usage": {"input_tokens": 11, "output_tokens": 8}}}  # fmt: skip
            elif kind == "errored":
                result = {"type": "errored", "error": {"type": "error", "error": {
                    "type": "invalid_request_error", "message": "messages: this line is invalid"}}}  # fmt: skip
            else:
                result = {"type": kind}
            lines.append({"custom_id": cid, "result": result})
        self.rng.shuffle(lines)
        b.results = _jsonl(lines)

    async def anthropic_get(self, request: web.Request) -> web.Response:
        self.hits["messages.batches.retrieve"] += 1
        if not self._authorised(request):
            return self._error(401, "invalid x-api-key", "authentication_error")
        b = self.batches.get(request.match_info["id"])
        if b is None or b.kind != "anthropic":
            return self._error(404, "no such batch", "not_found_error")
        if b.status != "ended":
            b.polls += 1
            if b.cancelled or b.polls >= self.polls:
                self._anthropic_finish(b)
                b.status = "ended"
        return web.json_response(self._anthropic_obj(b))

    async def anthropic_results(self, request: web.Request) -> web.StreamResponse:
        self.hits["messages.batches.results"] += 1
        if not self._authorised(request):
            return self._error(401, "invalid x-api-key", "authentication_error")
        b = self.batches.get(request.match_info["id"])
        if b is None or b.status != "ended":
            return self._error(404, "no results yet", "not_found_error")
        resp = web.StreamResponse(headers={"content-type": "application/binary"})
        await resp.prepare(request)
        for i in range(0, len(b.results), 1 << 20):
            await resp.write(b.results[i : i + (1 << 20)])
        await resp.write_eof()
        return resp

    async def anthropic_cancel(self, request: web.Request) -> web.Response:
        self.hits["messages.batches.cancel"] += 1
        if not self._authorised(request):
            return self._error(401, "invalid x-api-key", "authentication_error")
        b = self.batches.get(request.match_info["id"])
        if b is None or b.kind != "anthropic":
            return self._error(404, "no such batch", "not_found_error")
        if b.status != "ended":
            b.cancelled = True
            b.status = "canceling"
        return web.json_response(self._anthropic_obj(b))


def _jsonl(items: list[Any]) -> bytes:
    return b"".join((it if isinstance(it, str) else json.dumps(it)).encode() + b"\n" for it in items)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--polls", type=int, default=3)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", default=None)
    args = ap.parse_args()
    srv = BatchServer(api_key=args.api_key, polls=args.polls, port=args.port)

    async def serve() -> None:
        await srv.start()
        print(f"READY {srv.root_url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()

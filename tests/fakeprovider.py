"""A real loopback HTTP server that speaks the OpenAI Chat Completions, OpenAI Responses and Anthropic
Messages wire protocols, tool calls included, for the tests and the benchmarks.

In a test (sync or async; the server runs its own event loop in a background thread)::

    from fakeprovider import FakeProvider, error, ok, slow, drop
    with FakeProvider(api_key="sk-test") as srv:
        srv.script("capital of France", error(429, retry_after=1), ok("Paris."))
        ...  # point the client at srv.base_url ("http://127.0.0.1:PORT/v1") or srv.root_url
        assert srv.count("capital of France") == 2

Routes: POST /v1/chat/completions (and /chat/completions), POST /v1/responses (and /responses),
POST /v1/messages, GET /v1/models.

Tool calls: ``ok(tool_calls=[{"name": "get_weather", "arguments": '{"city": "Paris"}'}])`` answers
with them in each protocol's form: Chat ``message.tool_calls`` (arguments the string as given, so
invalid JSON reaches the client as written), Anthropic ``tool_use`` blocks (``input`` the parsed
object; a string that does not parse is sent as the ``input`` itself, a malformed answer), Responses
``function_call`` items. ``arguments`` may also be a dict; ``id`` is optional (a fresh one per
answer otherwise, as real servers do). ``ok(reasoning="...")`` adds a thinking block / reasoning item
(``reasoning_content`` on Chat); ``ok(finish_reason="refusal", stop_details={...})`` is Anthropic's
refusal stop.

Scripts: ``srv.script(match, *behaviours)``; ``match`` is a substring of the last user message
("" matches every request); a behaviour is ok(), error(), slow(), malformed(), drop() or a plain
string (short for ok(text)). Each matching request pops the next behaviour; once a script is
exhausted, matching requests get the default answer again (so ``script(m, error(429))`` means
"one 429, then normal service"). Scripts are tried in the order they were added.

As a process, for the benchmark: ``python tests/fakeprovider.py --latency-ms 20 [--port 0]`` prints
``READY http://127.0.0.1:PORT/v1`` once listening and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import secrets
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from aiohttp import web

OPENAI, ANTHROPIC, RESPONSES = "openai", "anthropic", "openai-responses"
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()  # "not given" (None means null)


# ---------------------------------------------------------------- behaviours
@dataclass(frozen=True)
class Ok:
    text: str | None = None  # None: the server's `answer` callable decides
    finish_reason: str | None = None  # OpenAI or Anthropic vocabulary, translated per protocol
    refusal: str | None = None
    model: str | None = None  # resolved model to report; None: alias map
    fingerprint: Any = UNSET  # system_fingerprint; None: field absent
    usage: dict | None = None  # merged as-is into the wire `usage` object
    tool_calls: tuple | list | None = None  # [{name, arguments: str | dict, id?}], see the module doc
    reasoning: str | None = None  # thinking block / reasoning item / reasoning_content
    stop_details: dict | None = None  # Anthropic `stop_details`, sent as given


@dataclass(frozen=True)
class Error:
    status: int
    message: str | None = None
    code: Any = UNSET  # OpenAI `code`; UNSET: the usual one for the status
    type: str | None = None  # None: the usual one for the status and protocol
    retry_after: float | None = None  # -> `Retry-After` header (seconds)
    retry_after_ms: int | None = None  # -> `retry-after-ms` header


@dataclass(frozen=True)
class Slow:
    seconds: float
    then: Any = field(default_factory=Ok)


@dataclass(frozen=True)
class Malformed:
    body: bytes = b'{"id": "chatcmpl-9x", "object": "chat.completion", "choices": [{"index'
    status: int = 200
    content_type: str = "application/json"


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering."""


# Lower-case spellings read better in scripts: srv.script("x", error(429, retry_after=1), ok("hi")).
ok, error, slow, malformed, drop = Ok, Error, Slow, Malformed, Drop


def rate_limited(retry_after: float | None = 1, retry_after_ms: int | None = None) -> Error:
    return Error(429, retry_after=retry_after, retry_after_ms=retry_after_ms)


def insufficient_quota() -> Error:
    """OpenAI's 429 that must not be retried: the account is out of credit."""
    return Error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
    )


def overloaded() -> Error:
    """Anthropic's 529 overloaded_error."""
    return Error(529)


# ------------------------------------------------------------ protocol bits
_OPENAI_ERR = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}
_OPENAI_CODE = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}
_ANTHROPIC_ERR = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_MESSAGES = {
    400: "Invalid request.",
    401: "Invalid authentication.",
    404: "Not found.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    529: "Overloaded",
}
_TO_OPENAI = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "refusal": "content_filter"}
_TO_ANTHROPIC = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal", "tool_calls": "tool_use"}
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


def _rid(n: int = 24) -> str:
    return "".join(random.choices(_B62, k=n))


def content_text(content: Any) -> str:
    """Text of an OpenAI/Anthropic message `content`: a string or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def last_user_text(messages: Any) -> str:
    """The last user message's text: Chat/Anthropic ``messages``, or Responses ``input`` (a string
    or items). Tool results (Anthropic ``tool_result`` blocks) are not user text."""
    if isinstance(messages, str):
        return messages
    for m in reversed(messages if isinstance(messages, list) else []):
        if isinstance(m, dict) and m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, list):
                content = [p for p in content if isinstance(p, dict) and p.get("type") in (None, "text", "input_text")]
                if not content:
                    continue
            return content_text(content)
    return ""


def responses_messages(body: dict) -> list:
    """A Responses request as chat messages (instructions first), for the `answer` callable."""
    items = body.get("input")
    msgs = [{"role": "system", "content": body["instructions"]}] if isinstance(body.get("instructions"), str) else []
    if isinstance(items, str):
        return [*msgs, {"role": "user", "content": items}]
    for it in items if isinstance(items, list) else []:
        if isinstance(it, dict) and "role" in it:
            msgs.append({"role": it["role"], "content": content_text(it.get("content"))})
    return msgs


def _call_id(prefix: str) -> str:
    return prefix + _rid(24)


def _wire_calls(b: Ok) -> list[dict]:
    """The behaviour's tool calls with every field filled: name, arguments (str or dict), id."""
    out = []
    for c in b.tool_calls or ():
        out.append({"name": c["name"], "arguments": c.get("arguments", "{}"), "id": c.get("id")})
    return out


def _args_text(args: Any) -> str:
    return args if isinstance(args, str) else json.dumps(args)


def _args_value(args: Any) -> Any:
    if not isinstance(args, str):
        return args
    try:
        return json.loads(args)
    except ValueError:
        return args  # not JSON: sent as it is (an Anthropic answer no real server gives)


def _words(text: str) -> int:
    return len(text.split())


_OPENERS = ("", "Sure! ", "Certainly. ", "Good question. ")
_CLOSERS = ("", " Let me know if you need anything else.", " I hope this helps.", " Note that details may vary.")
_MIDDLES = (
    "",
    " In short, it depends on the context.",
    " In short, it depends on the context, and a careful reading of the question helps.",
)


def default_answer(api: str, model: str, messages: list, params: dict) -> str:
    """Deterministic answer from the model name and the last user message. Two model names get the
    same core answer with realistic differences: an opener, a closing line, verbosity, JSON in a
    code fence or not, a different `confidence` value."""
    prompt = " ".join(last_user_text(messages).split())
    style = int.from_bytes(hashlib.sha256(model.encode()).digest()[:4], "big")
    if "json" in prompt.lower():
        conf = round(0.5 + (style >> 8) % 50 / 100, 2)
        payload = json.dumps({"answer": prompt[:80], "confidence": conf})
        return f"```json\n{payload}\n```" if style >> 4 & 1 else payload
    return f"{_OPENERS[style % 4]}Here is my answer to: {prompt}{_MIDDLES[(style >> 5) % 3]}{_CLOSERS[(style >> 2) % 4]}"


def _request_text(body: dict) -> str:
    """What a script matches: the last user message of any of the three protocols."""
    return last_user_text(body["input"] if "input" in body and "messages" not in body else body.get("messages"))


class Recorded(NamedTuple):
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None if the body was not JSON
    time: float  # time.monotonic() when the request arrived


# ------------------------------------------------------------------ server


async def finish_leftovers() -> None:
    """Cancel and await the loop's other tasks: the handlers the runner's cleanup left pending (a
    hanging reply a client gave up on). Left alone, they would be destroyed with the loop, and asyncio
    would print "Task was destroyed but it is pending!" into whatever stderr is current then: a later
    test's captured output."""
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


class FakeProvider:
    def __init__(
        self,
        *,
        api_key: str | None = None,
        latency: float = 0.0,
        aliases: dict[str, str] | Callable[[str], str] | None = None,
        fingerprint: str | Callable[[str], str | None] | None = "auto",
        answer: Callable[[str, str, list, dict], str | dict] = default_answer,
        host: str = "127.0.0.1",
        port: int = 0,
        record: bool = True,
    ):
        """api_key: when set, required as `Authorization: Bearer` (OpenAI) / `x-api-key` (Anthropic).
        aliases: requested name -> resolved snapshot; a dict answers unknown names as-is; default
        appends "-2026-05-01" unless the name already ends in a date.
        fingerprint: system_fingerprint; "auto" = "fp_" + hash of the resolved model; None = absent.
        answer(api, model, messages, params) -> text, or a dict of `Ok` fields."""
        self.api_key, self.latency, self.answer = api_key, latency, answer
        self.aliases, self.fingerprint = aliases, fingerprint
        self.host, self.port, self.record = host, port, record
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._scripts: list[tuple[str, deque]] = []
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- public helpers
    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def script(self, match: str, *behaviours: Any) -> None:
        with self._lock:
            self._scripts.append((match, deque(behaviours)))

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def count(self, match: str | None = None, path: str | None = None) -> int:
        """Requests received whose last user message contains `match` (and whose path is `path`)."""
        return sum(
            1
            for r in self.requests
            if (path is None or r.path == path)
            and (match is None or (isinstance(r.body, dict) and match in _request_text(r.body)))
        )

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._scripts.clear()

    def resolve(self, model: str) -> str:
        if callable(self.aliases):
            return self.aliases(model)
        if isinstance(self.aliases, dict):
            return self.aliases.get(model, model)
        return model if _DATED.search(model) else f"{model}-2026-05-01"

    # -- lifecycle
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024**2)
        r = app.router
        for path in ("/v1/chat/completions", "/chat/completions"):
            r.add_post(path, self._openai)
        r.add_post("/v1/messages", self._anthropic)
        for path in ("/v1/responses", "/responses"):
            r.add_post(path, self._responses)
        for path in ("/v1/models", "/models"):
            r.add_get(path, self._models)
        r.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def start_async(self) -> None:
        """Start listening on the current event loop (used by the thread and by the CLI)."""
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.25)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await finish_leftovers()

    def start(self) -> FakeProvider:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fakeprovider", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.start_async(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop_async(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeProvider:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # -- request plumbing
    async def _receive(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if self.record:
            rec = Recorded(request.path, {k.lower(): v for k, v in request.headers.items()}, body, time.monotonic())
            with self._lock:
                self._requests.append(rec)
        return body

    def _next_behaviour(self, body: dict) -> Any:
        text = _request_text(body)
        with self._lock:
            for match, queue in self._scripts:
                if queue and match in text:
                    return queue.popleft()
        return Ok()

    def _error(self, api: str, e: Error) -> web.Response:
        message = e.message or _MESSAGES.get(e.status) or f"HTTP {e.status}"
        headers = {}
        if e.retry_after is not None:
            ra = e.retry_after
            headers["retry-after"] = str(int(ra)) if float(ra).is_integer() else str(ra)
        if e.retry_after_ms is not None:
            headers["retry-after-ms"] = str(e.retry_after_ms)
        if api == ANTHROPIC:
            etype = e.type or _ANTHROPIC_ERR.get(e.status) or ("api_error" if e.status >= 500 else "invalid_request_error")
            rid = "req_" + _rid()
            headers["request-id"] = rid
            payload = {"type": "error", "error": {"type": etype, "message": message}, "request_id": rid}
        else:
            etype = e.type or _OPENAI_ERR.get(e.status) or ("server_error" if e.status >= 500 else "invalid_request_error")
            code = _OPENAI_CODE.get(e.status) if e.code is UNSET else e.code
            headers["x-request-id"] = "req_" + secrets.token_hex(16)
            payload = {"error": {"message": message, "type": etype, "param": None, "code": code}}
        return web.json_response(payload, status=e.status, headers=headers)

    def _auth_error(self, api: str, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        if api == ANTHROPIC:
            got = request.headers.get("x-api-key")
            if got is None:
                return self._error(api, Error(401, "x-api-key header is required"))
            return None if got == self.api_key else self._error(api, Error(401, "invalid x-api-key"))
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return self._error(
                api,
                Error(
                    401,
                    "You didn't provide an API key. You need to provide your "
                    "API key in an Authorization header using Bearer auth "
                    "(i.e. Authorization: Bearer YOUR_KEY).",
                    None,
                ),
            )
        got = auth[7:].strip()
        if got == self.api_key:
            return None
        masked = got[:3] + "*" * max(len(got) - 7, 0) + got[-4:] if len(got) > 8 else "***"
        return self._error(
            api,
            Error(
                401,
                f"Incorrect API key provided: {masked}. You can find your "
                "API key at https://platform.openai.com/account/api-keys.",
            ),
        )

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        body = await self._receive(request)
        if (bad := self._auth_error(OPENAI, request)) is not None:
            return bad
        if not isinstance(body, dict):
            return self._error(
                OPENAI, Error(400, "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.")
            )
        if not body.get("model"):
            return self._error(OPENAI, Error(400, "you must provide a model parameter", None))
        if not isinstance(body.get("messages"), list):
            return self._error(OPENAI, Error(400, "Missing required parameter: 'messages'.", "missing_required_parameter"))
        return await self._play(request, OPENAI, body, self._next_behaviour(body))

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        body = await self._receive(request)
        if (bad := self._auth_error(OPENAI, request)) is not None:
            return bad
        if not isinstance(body, dict):
            return self._error(
                OPENAI, Error(400, "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.")
            )
        if not body.get("model"):
            return self._error(OPENAI, Error(400, "you must provide a model parameter", None))
        if not isinstance(body.get("input"), str | list):
            return self._error(OPENAI, Error(400, "Missing required parameter: 'input'.", "missing_required_parameter"))
        for name in ("messages", "max_tokens", "response_format"):
            if name in body:  # Chat Completions' fields: the Responses API refuses them
                return self._error(OPENAI, Error(400, f"Unsupported parameter: '{name}'.", "unsupported_parameter"))
        return await self._play(request, RESPONSES, body, self._next_behaviour(body))

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        body = await self._receive(request)
        if (bad := self._auth_error(ANTHROPIC, request)) is not None:
            return bad
        if "anthropic-version" not in request.headers:
            return self._error(ANTHROPIC, Error(400, "anthropic-version: header is required"))
        if not isinstance(body, dict):
            return self._error(
                ANTHROPIC, Error(400, "There was an issue with the format of your request: the body is not valid JSON")
            )
        for key in ("model", "max_tokens", "messages"):
            if key not in body:
                return self._error(ANTHROPIC, Error(400, f"{key}: Field required"))
        return await self._play(request, ANTHROPIC, body, self._next_behaviour(body))

    async def _play(self, request: web.Request, api: str, body: dict, b: Any) -> web.StreamResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        while isinstance(b, Slow):
            await asyncio.sleep(b.seconds)
            b = b.then
        if isinstance(b, Error):
            return self._error(OPENAI if api == RESPONSES else api, b)
        if isinstance(b, Malformed):
            return web.Response(body=b.body, status=b.status, content_type=b.content_type)
        if isinstance(b, Drop):
            request.protocol.force_close()  # the write below then fails quietly: nothing is sent
            return web.Response()
        payload, headers = self._success(api, body, Ok(b) if isinstance(b, str) else b)
        return web.json_response(payload, headers=headers)

    # -- success bodies
    def _outcome(self, api: str, body: dict, b: Ok) -> tuple[Ok, str]:
        """Fill the behaviour's gaps from the `answer` callable; returns (complete Ok, model)."""
        model = body["model"]
        if b.text is None and b.refusal is None and b.tool_calls is None:
            msgs = responses_messages(body) if api == RESPONSES else body["messages"]
            got = self.answer(api, model, msgs, {k: v for k, v in body.items() if k not in ("messages", "input")})
            gen = Ok(text=got) if isinstance(got, str) else Ok(**got)
            limit = body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens")
            if gen.text and not (b.finish_reason or gen.finish_reason) and limit and _words(gen.text) > limit:
                gen = replace(gen, text=" ".join(gen.text.split()[:limit]), finish_reason="length")
            b = Ok(
                gen.text,
                b.finish_reason or gen.finish_reason,
                gen.refusal,
                b.model or gen.model,
                b.fingerprint if b.fingerprint is not UNSET else gen.fingerprint,
                b.usage or gen.usage,
                gen.tool_calls,
                b.reasoning or gen.reasoning,
                b.stop_details or gen.stop_details,
            )
        resolved = b.model or self.resolve(model)
        return b, resolved

    def _fingerprint(self, b: Ok, resolved: str) -> str | None:
        if b.fingerprint is not UNSET:
            return b.fingerprint
        if callable(self.fingerprint):
            return self.fingerprint(resolved)
        if self.fingerprint == "auto":
            return "fp_" + hashlib.sha256(resolved.encode()).hexdigest()[:10]
        return self.fingerprint

    def _success(self, api: str, body: dict, b: Ok) -> tuple[dict, dict[str, str]]:
        b, resolved = self._outcome(api, body, b)
        if api == RESPONSES:
            return self._responses_success(body, b, resolved)
        msgs = body["messages"]
        prompt_tokens = max(
            1,
            sum(_words(content_text(m.get("content"))) for m in msgs if isinstance(m, dict))
            + _words(content_text(body.get("system"))),
        )
        out_tokens = max(1, _words(b.text or b.refusal or ""))
        if api == ANTHROPIC:
            stop = _TO_ANTHROPIC.get(b.finish_reason, b.finish_reason) or ("refusal" if b.refusal else "end_turn")
            text = b.text if b.text is not None else (b.refusal or "")
            seqs = body.get("stop_sequences") or [None]
            usage = {
                "input_tokens": prompt_tokens,
                "output_tokens": out_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                **(b.usage or {}),
            }
            calls = _wire_calls(b)
            if calls and not b.finish_reason:
                stop = "tool_use"
            blocks: list[dict] = []
            if b.reasoning is not None:
                blocks.append({"type": "thinking", "thinking": b.reasoning, "signature": "sig_" + _rid(16)})
            if text:
                blocks.append({"type": "text", "text": text})
            blocks += [
                {
                    "type": "tool_use",
                    "id": c["id"] or _call_id("toolu_01"),
                    "name": c["name"],
                    "input": _args_value(c["arguments"]),
                }
                for c in calls
            ]
            payload = {
                "id": "msg_01" + _rid(22),
                "type": "message",
                "role": "assistant",
                "model": resolved,
                "content": blocks,
                "stop_reason": stop,
                "stop_sequence": seqs[0] if stop == "stop_sequence" else None,
                "usage": usage,
            }
            if b.stop_details is not None:
                payload["stop_details"] = b.stop_details
            return payload, {"request-id": "req_" + _rid()}
        calls = _wire_calls(b)
        finish = _TO_OPENAI.get(b.finish_reason, b.finish_reason) or ("tool_calls" if calls else "stop")
        message = {"role": "assistant", "content": b.text, "refusal": b.refusal, "annotations": []}
        if calls:
            message["tool_calls"] = [
                {
                    "id": c["id"] or _call_id("call_"),
                    "type": "function",
                    "function": {"name": c["name"], "arguments": _args_text(c["arguments"])},
                }
                for c in calls
            ]
        if b.reasoning is not None:
            message["reasoning_content"] = b.reasoning
        n = body.get("n") or 1
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": out_tokens * n,
            "total_tokens": prompt_tokens + out_tokens * n,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        usage.update(b.usage or {})
        payload = {
            "id": "chatcmpl-" + _rid(29),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": resolved,
            "choices": [{"index": i, "message": dict(message), "logprobs": None, "finish_reason": finish} for i in range(n)],
            "usage": usage,
            "service_tier": "default",
        }
        if (fp := self._fingerprint(b, resolved)) is not None:
            payload["system_fingerprint"] = fp
        return payload, {"x-request-id": "req_" + secrets.token_hex(16), "openai-processing-ms": str(int(self.latency * 1000))}

    def _responses_success(self, body: dict, b: Ok, resolved: str) -> tuple[dict, dict[str, str]]:
        msgs = responses_messages(body)
        prompt_tokens = max(1, sum(_words(content_text(m.get("content"))) for m in msgs))
        out_tokens = max(1, _words(b.text or b.refusal or ""))
        output: list[dict] = []
        if b.reasoning is not None:
            output.append(
                {"id": "rs_" + _rid(24), "type": "reasoning", "summary": [{"type": "summary_text", "text": b.reasoning}]}
            )
        parts = []
        if b.text:
            parts.append({"type": "output_text", "text": b.text, "annotations": [], "logprobs": []})
        if b.refusal:
            parts.append({"type": "refusal", "refusal": b.refusal})
        if parts:
            output.append(
                {"id": "msg_" + _rid(24), "type": "message", "status": "completed", "role": "assistant", "content": parts}
            )
        for c in _wire_calls(b):
            output.append(
                {
                    "id": "fc_" + _rid(24),
                    "type": "function_call",
                    "status": "completed",
                    "call_id": c["id"] or _call_id("call_"),
                    "name": c["name"],
                    "arguments": _args_text(c["arguments"]),
                }
            )
        finish = _TO_OPENAI.get(b.finish_reason, b.finish_reason)
        status, details = "completed", None
        if finish == "length":
            status, details = "incomplete", {"reason": "max_output_tokens"}
        elif finish == "content_filter":
            status, details = "incomplete", {"reason": "content_filter"}
        usage = {
            "input_tokens": prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt_tokens + out_tokens,
            **(b.usage or {}),
        }
        payload = {
            "id": "resp_" + _rid(32),
            "object": "response",
            "created_at": int(time.time()),
            "status": status,
            "incomplete_details": details,
            "error": None,
            "model": resolved,
            "output": output,
            "usage": usage,
            "instructions": body.get("instructions"),
            "tools": body.get("tools", []),
            "store": body.get("store", True),
        }
        return payload, {"x-request-id": "req_" + secrets.token_hex(16)}

    async def _models(self, request: web.Request) -> web.Response:
        await self._receive(request)
        anthropic = "anthropic-version" in request.headers
        if (bad := self._auth_error(ANTHROPIC if anthropic else OPENAI, request)) is not None:
            return bad
        names = sorted(set(self.aliases.values())) if isinstance(self.aliases, dict) else []
        names = names or ["baseline-2026-05-01", "candidate-2026-05-01"]
        if anthropic:
            data = [{"type": "model", "id": n, "display_name": n, "created_at": "2026-05-01T00:00:00Z"} for n in names]
            return web.json_response({"data": data, "has_more": False, "first_id": names[0], "last_id": names[-1]})
        return web.json_response(
            {"object": "list", "data": [{"id": n, "object": "model", "created": 1777593600, "owned_by": "system"} for n in names]}
        )

    async def _not_found(self, request: web.Request) -> web.Response:
        await self._receive(request)
        api = ANTHROPIC if "anthropic-version" in request.headers else OPENAI
        return self._error(api, Error(404, f"Invalid URL ({request.method} {request.path})", None))


# ------------------------------------------------------------- pytest + CLI
try:
    import pytest
except ImportError:  # running as the benchmark's server process without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def fake_provider():
        """A running FakeProvider with default settings (no key, no latency)."""
        with FakeProvider() as srv:
            yield srv


async def _serve_until_signal(srv: FakeProvider) -> None:
    await srv.start_async()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {srv.base_url}", flush=True)
    await stop.wait()
    await srv.stop_async()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Fake OpenAI/Anthropic server on loopback.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = an ephemeral port (default)")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every answer")
    ap.add_argument("--api-key", default=None, help="require this key (default: accept any)")
    args = ap.parse_args(argv)
    srv = FakeProvider(api_key=args.api_key, latency=args.latency_ms / 1000, host=args.host, port=args.port, record=False)
    asyncio.run(_serve_until_signal(srv))


if __name__ == "__main__":
    main()

"""OpenAI chat request/response log lines (JSONL) → normalised entries → golden cases.

One line is one JSON object in any of the shapes teams log chat traffic in:

* ``{"request": {model, messages, …}, "response": {chat.completion}}`` (plus optional
  ``latency_ms``/``duration_ms``, ``error``, ``case_id``/``custom_id``/``metadata``);
* the Batch API's input line ``{"custom_id", "method", "url", "body": {request}}`` and output line
  ``{"custom_id", "response": {"status_code", "request_id", "body": {chat.completion}}, "error"}``;
* a flat request with its answer: ``{"model", "messages", <params>, "output"|"completion": "…"}``
  or ``"response": {chat.completion}``;
* a conversation whose last message is the assistant's answer (the fine-tuning / eval format).

No store, no network, no Textual: this module only reads and checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import UsageError
from ..safeyaml import FileProblem, decode_utf8, json_value, max_file_bytes
from ..suite import Case, Check
from ..toolcall import ToolCall
from . import MAX_PROBLEMS, ImportProblems, Problem

__all__ = [
    "SAMPLING_PARAMS",
    "LogEntry",
    "entry_to_case",
    "iter_log",
    "parse_log_object",
    "read_log",
    "read_log_line",
    "reread_log",
]

#: Request parameters that shape the answer and are kept on a case / a run (never headers, keys,
#: ``stream``, ``n``, ``user``, ``metadata``…).
SAMPLING_PARAMS = (
    "temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop", "presence_penalty",
    "frequency_penalty", "response_format", "reasoning_effort", "logit_bias", "verbosity",
)  # fmt: skip
_ROLES = ("system", "developer", "user", "assistant")
_OUTPUT_KEYS = ("output", "completion", "output_text")
_ID_KEYS = ("case_id", "custom_id")


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One log line, normalised. ``messages`` is the prompt side only (the answer, when it came
    as a last assistant message, is moved to ``output``)."""

    file: str
    line: int
    messages: list[dict[str, str]] | None  # None: the line holds only an answer (Batch output)
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    output: str | None = None
    refusal: str | None = None
    finish_reason: str | None = None
    resolved_model: str | None = None
    system_fingerprint: str | None = None
    usage: dict[str, Any] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    request_id: str | None = None
    error: str | None = None
    error_status: int | None = None
    case_id: str | None = None  # case_id / custom_id / metadata.case_id when the line names one
    # Filled by the trace importers (OTLP spans, Langfuse observations); a JSONL log leaves them empty.
    tool_calls: tuple[ToolCall, ...] = ()  # the answer's tool calls
    tools: list[dict[str, Any]] | None = None  # the request's tool definitions, in OpenAI's form
    started_at: str | None = None  # when the call started (ISO 8601, UTC)
    source: str = "log"  # what the entry was read from: "log", "trace", "langfuse"
    span_id: str | None = None  # the span / observation id inside its line

    @property
    def where(self) -> str:
        if self.span_id and self.source == "langfuse":  # an array export: the line says nothing
            return f"{self.file} observation {self.span_id}"
        at = f"{self.file}:{self.line}"
        return f"{at} span {self.span_id}" if self.span_id else at

    @property
    def answered(self) -> bool:
        return self.output is not None or self.refusal is not None or bool(self.tool_calls)


class _Bad(Exception):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message


def _text(content: Any, where: str) -> str:
    """A message ``content``: a string, or a list of text parts joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for j, part in enumerate(content):
            if isinstance(part, str):
                parts.append(part)
            elif (
                isinstance(part, dict)
                and part.get("type") in ("text", "input_text", "output_text")
                and isinstance(part.get("text"), str)
            ):
                parts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise _Bad(f"{where}[{j}]", f"only text parts can be replayed (got {kind!r})")
        return "\n".join(parts)
    raise _Bad(where, f"expected a string or a list of text parts, got {type(content).__name__}")


def _messages(raw: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise _Bad(where, "expected a non-empty list of messages")
    out = []
    for i, m in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(m, dict):
            raise _Bad(here, "expected an object with role and content")
        role = m.get("role")
        if role not in _ROLES:
            raise _Bad(f"{here}.role", f"{role!r} cannot be replayed (known: {', '.join(_ROLES)})")
        if m.get("tool_calls") or m.get("function_call"):
            raise _Bad(here, "assistant tool calls cannot be replayed")
        if m.get("content") is None:
            raise _Bad(f"{here}.content", "missing")
        out.append({"role": role, "content": _text(m["content"], f"{here}.content")})
    return out


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _completion(body: Any, where: str, out: dict[str, Any]) -> None:
    """Fill ``out`` from a chat.completion object."""
    if not isinstance(body, dict):
        raise _Bad(where, f"expected a chat.completion object, got {type(body).__name__}")
    if isinstance(body.get("error"), dict | str):
        out["error"] = _error_text(body["error"])
        return
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _Bad(f"{where}.choices", "expected a non-empty list")
    choice = choices[0]
    msg = choice.get("message")
    if not isinstance(msg, dict):
        raise _Bad(f"{where}.choices[0].message", "missing")
    if msg.get("content") is not None:
        out["output"] = _text(msg["content"], f"{where}.choices[0].message.content")
    if isinstance(msg.get("refusal"), str):
        out["refusal"] = msg["refusal"]
    if msg.get("tool_calls") and out.get("output") is None:
        raise _Bad(f"{where}.choices[0].message.tool_calls", "tool-call answers cannot be compared as text")
    if isinstance(choice.get("finish_reason"), str):
        out["finish_reason"] = choice["finish_reason"]
    if isinstance(body.get("model"), str):
        out["resolved_model"] = body["model"]
    if isinstance(body.get("system_fingerprint"), str):
        out["system_fingerprint"] = body["system_fingerprint"]
    if isinstance(body.get("id"), str):
        out.setdefault("request_id", body["id"])
    usage = body.get("usage")
    if isinstance(usage, dict):
        out["usage"] = usage
        out["input_tokens"] = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
        out["output_tokens"] = _int(usage.get("completion_tokens", usage.get("output_tokens")))


def _error_text(err: Any) -> str:
    if isinstance(err, dict):
        return str(err.get("message") or err.get("code") or json.dumps(err))
    return str(err)


def _request(req: Any, where: str, out: dict[str, Any]) -> None:
    if not isinstance(req, dict):
        raise _Bad(where or "request", f"expected an object, got {type(req).__name__}")
    pre = f"{where}." if where else ""
    if "messages" not in req:
        raise _Bad(f"{pre}messages", "missing (a chat request has model and messages)")
    msgs = _messages(req["messages"], f"{pre}messages")
    if req.get("model") is not None:
        if not isinstance(req["model"], str):
            raise _Bad(f"{pre}model", "expected a string")
        out["model"] = req["model"]
    out["params"] = {k: req[k] for k in SAMPLING_PARAMS if k in req and req[k] is not None}
    out["messages"] = msgs


def parse_log_object(obj: Any, *, file: str, line: int) -> LogEntry:
    """Normalise one parsed log line. Raises :class:`ImportProblems` naming the field."""
    try:
        return _parse(obj, file, line)
    except _Bad as e:
        raise ImportProblems([Problem(file, line, e.message, field=e.field)]) from None


def _parse(obj: Any, file: str, line: int) -> LogEntry:
    if not isinstance(obj, dict):
        raise _Bad("", f"each line is a JSON object, got {type(obj).__name__}")
    out: dict[str, Any] = {"messages": None}
    # Which request?
    if "request" in obj:
        _request(obj["request"], "request", out)
    elif isinstance(obj.get("body"), dict) and ("url" in obj or "method" in obj):  # Batch input
        _request(obj["body"], "body", out)
    elif "messages" in obj:
        _request(obj, "", out)
    # Which answer?
    resp = obj.get("response")
    if isinstance(resp, dict):
        where = "response"
        if "body" in resp and ("status_code" in resp or "request_id" in resp):  # Batch output
            status = resp.get("status_code")
            if isinstance(resp.get("request_id"), str):
                out["request_id"] = resp["request_id"]
            if isinstance(status, int) and status >= 400:
                out["error_status"] = status
                body = resp.get("body")
                out["error"] = _error_text(body.get("error", body)) if isinstance(body, dict) else f"HTTP {status}"
                resp = None
            else:
                resp, where = resp["body"], "response.body"
        if resp is not None:
            _completion(resp, where, out)
    elif isinstance(resp, str):
        out["output"] = resp
    elif resp is not None:
        raise _Bad("response", f"expected a chat.completion object or a string, got {type(resp).__name__}")
    for k in _OUTPUT_KEYS:
        if k in obj and obj[k] is not None and "output" not in out:
            if not isinstance(obj[k], str):
                raise _Bad(k, f"expected a string, got {type(obj[k]).__name__}")
            out["output"] = obj[k]
    if obj.get("error") not in (None, "", {}):
        out["error"] = _error_text(obj["error"])
        if isinstance(obj["error"], dict) and _int(obj["error"].get("status")):
            out["error_status"] = obj["error"]["status"]
    # The answer as the conversation's last assistant message.
    msgs = out["messages"]
    if msgs and msgs[-1]["role"] == "assistant" and "output" not in out and "error" not in out:
        out["output"] = msgs[-1]["content"]
        msgs = out["messages"] = msgs[:-1]
        if not msgs:
            raise _Bad("messages", "only an assistant message: nothing to replay")
    if msgs is None and "output" not in out and "error" not in out and "refusal" not in out:
        raise _Bad("", "neither a chat request (messages) nor a chat response was found")
    for k in ("latency_ms", "duration_ms"):
        v = obj.get(k)
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise _Bad(k, "expected a non-negative number of milliseconds")
            out["latency_ms"] = float(v)
            break
    case_id = None
    for k in _ID_KEYS:
        if isinstance(obj.get(k), str) and obj[k]:
            case_id = obj[k]
            break
    meta = obj.get("metadata")
    if case_id is None and isinstance(meta, dict) and isinstance(meta.get("case_id"), str):
        case_id = meta["case_id"]
    out["case_id"] = case_id
    return LogEntry(file=file, line=line, **out)


def _open_log(p: Path) -> BinaryIO:
    try:
        return open(p, "rb")  # the callers close it with `with`
    except FileNotFoundError:
        raise ImportProblems([Problem(str(p), None, "no such file")]) from None
    except OSError as e:
        raise ImportProblems([Problem(str(p), None, e.strerror or str(e))]) from None


def _lines(f: BinaryIO, p: Path) -> Iterator[tuple[int, bytes | Problem]]:
    """(line number, raw line) of each line, or a Problem that ends the file (a line too long)."""
    limit = max_file_bytes()  # per line: a log may be long, one line of it may not be endless
    n = 0
    while True:
        chunk = f.readline(limit + 1)
        if not chunk:
            return
        n += 1
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            yield n, Problem(str(p), n, f"line longer than {limit // (1024 * 1024)} MiB (REVIEWER_MAX_FILE_MB raises it)")
            return
        yield n, chunk


def _entry(chunk: bytes, p: Path, n: int) -> LogEntry | Problem | None:
    """The entry of one raw line, the Problem with it, or None for a blank line."""
    try:
        raw = decode_utf8(chunk, p, first_line=n)
    except FileProblem as e:
        return Problem(str(p), n, e.message)
    if not raw.strip():
        return None
    try:
        obj = json_value(raw.rstrip("\r\n"), p, n)
    except json.JSONDecodeError as e:
        return Problem(str(p), n, f"invalid JSON: {e.msg} (column {e.colno})")
    except FileProblem as e:
        return Problem(str(p), n, e.message)
    try:
        return _parse(obj, str(p), n)
    except _Bad as e:
        return Problem(str(p), n, e.message, field=e.field)


def iter_log(
    path: str | Path, *, only_line: int | None = None, keep: Callable[[LogEntry], LogEntry] | None = None
) -> Iterator[LogEntry]:
    """Entries of a JSONL log; raises :class:`ImportProblems` (every problem found, up to
    :data:`MAX_PROBLEMS`) only after reading the whole file, so a caller that collects the
    entries first never acts on a partly bad file. ``keep`` turns each entry into what is held
    until then (a big log's importer keeps only what matching needs, see :func:`reread_log`)."""
    p = Path(path)
    problems: list[Problem] = []
    more = 0
    entries: list[LogEntry] = []
    with _open_log(p) as f:
        n = 0
        for n, chunk in _lines(f, p):
            if only_line is not None and n != only_line and isinstance(chunk, bytes):
                continue
            got = chunk if isinstance(chunk, Problem) else _entry(chunk, p, n)
            if got is None:
                if only_line is not None:
                    problems.append(Problem(str(p), n, "the line is blank"))
                continue
            if isinstance(got, LogEntry):
                entries.append(got if keep is None else keep(got))
            elif len(problems) < MAX_PROBLEMS:
                problems.append(got)
            else:
                more += 1
        if only_line is not None and n < only_line and not problems:
            problems.append(Problem(str(p), only_line, f"no such line (the file has {n})"))
    if problems:
        raise ImportProblems(problems, more=more)
    yield from entries


def reread_log(path: str | Path, wanted: Container[int]) -> Iterator[LogEntry]:
    """The whole entries of the ``wanted`` lines, in file order, read again after
    :func:`iter_log` checked the file. A wanted line that no longer parses means the file
    changed during the import: :class:`ImportProblems`, so the caller's transaction rolls back."""
    p = Path(path)
    with _open_log(p) as f:
        for n, chunk in _lines(f, p):
            if n not in wanted:
                continue
            got = chunk if isinstance(chunk, Problem) else _entry(chunk, p, n)
            if not isinstance(got, LogEntry):
                raise ImportProblems([Problem(str(p), n, "the file changed while it was imported; nothing was stored")])
            yield got


def read_log(path: str | Path) -> list[LogEntry]:
    return list(iter_log(path))


_SPEC = re.compile(r"^(?P<file>.+?):(?P<line>[0-9]+)$")


def read_log_line(spec: str) -> LogEntry:
    """``FILE:LINE`` (1-based) or ``FILE`` holding exactly one non-blank line."""
    m = _SPEC.match(spec)
    if m and not Path(spec).exists():
        entries = list(iter_log(m["file"], only_line=int(m["line"])))
        return entries[0]
    try:
        with open(spec, encoding="utf-8", errors="replace") as f:
            lines = [n for n, raw in enumerate(f, start=1) if raw.strip()]
    except FileNotFoundError:
        raise ImportProblems([Problem(spec, None, "no such file")]) from None
    except OSError as e:
        raise ImportProblems([Problem(spec, None, e.strerror or str(e))]) from None
    if len(lines) != 1:
        raise UsageError(f"{spec}: has {len(lines)} log lines; say which one with {spec}:LINE")
    return next(iter_log(spec, only_line=lines[0]))


def entry_to_case(
    entry: LogEntry,
    *,
    case_id: str,
    tags: list[str] | None = None,
    reference: str | None = None,
    checks: list[Check] | None = None,
    origin: str | None = None,
    added: Any = None,
    keep_params: bool = True,
) -> Case:
    """A golden case from a logged request: a single user turn (after an optional system
    message) becomes ``prompt`` (+ ``system``), anything longer stays ``messages``. The logged
    answer is not the reference: the known-good answer is passed in as ``reference``."""
    if not entry.messages:
        raise UsageError(f"{entry.where}: the line holds no request messages to replay")
    msgs = entry.messages
    system = None
    if len(msgs) == 2 and msgs[0]["role"] == "system" and msgs[1]["role"] == "user":
        system, msgs = msgs[0]["content"], msgs[1:]
    fields: dict[str, Any] = {}
    if len(msgs) == 1 and msgs[0]["role"] == "user":
        fields["prompt"] = msgs[0]["content"]
        fields["system"] = system
    else:
        fields["messages"] = ([{"role": "system", "content": system}] if system is not None else []) + msgs
    if entry.tools:
        fields["tools"] = entry.tools
    if origin is None:
        bits = [f"{entry.source} {entry.where}"]
        if entry.model:
            bits.append(f"model {entry.resolved_model or entry.model}")
        if entry.request_id:
            bits.append(f"request {entry.request_id}")
        origin = ", ".join(bits)
    return Case(
        id=case_id,
        tags=tags or [],
        reference=reference,
        checks=checks or [],
        origin=origin,
        added=added,
        params=dict(entry.params) if keep_params else {},
        **fields,
    )

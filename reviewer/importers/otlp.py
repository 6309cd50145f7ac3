"""OpenTelemetry GenAI spans (OTLP JSON, as the Collector's file exporter writes it) → log entries.

The file holds one ``ExportTraceServiceRequest`` per line (``{"resourceSpans": [{"scopeSpans":
[{"spans": [...]}]}]}``), ids in hex, attribute values as OTLP ``AnyValue``s
(``stringValue``, ``intValue`` (a string or a number), ``doubleValue``, ``boolValue``,
``arrayValue``, ``kvlistValue``); a line may also be an ``ExportLogsServiceRequest``
(``resourceLogs``), where the older instrumentations put their content events. One pretty-printed
object for the whole file is read too.

Each model-call span (``gen_ai.operation.name`` chat / text_completion / generate_content, or none
with ``gen_ai.*`` attributes) becomes one :class:`~reviewer.importers.logs.LogEntry`, read from the
GenAI semantic conventions in the order they came:

* the current attributes ``gen_ai.input.messages`` / ``gen_ai.output.messages`` /
  ``gen_ai.system_instructions`` / ``gen_ai.tool.definitions`` (a JSON string, or the same value
  structured), also when they come as attributes of a ``gen_ai.client.inference.operation.details``
  event;
* the older ``gen_ai.prompt`` / ``gen_ai.completion`` (a JSON list of ``{role, content}``, on the
  span or on ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` events), and their
  flattened form ``gen_ai.prompt.0.role`` / ``gen_ai.prompt.0.content`` / ``gen_ai.completion.0.…``;
* the per-message events ``gen_ai.system.message`` / ``gen_ai.user.message`` /
  ``gen_ai.assistant.message`` / ``gen_ai.tool.message`` / ``gen_ai.choice`` (span events, or log
  records linked by span id, their body a map).

Metadata: ``gen_ai.request.model``, ``gen_ai.response.model`` (the resolved model),
``gen_ai.response.id``, ``gen_ai.response.finish_reasons``, ``gen_ai.usage.*``, the
``gen_ai.request.*`` sampling parameters, ``openai.response.system_fingerprint``, the span's
times and status. A span with metadata but no message content (the instrumentation's content
capture was off) is never imported as an empty answer: it is counted and reported.

No store, no network, no Textual: this module only reads and checks.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..safeyaml import FileProblem, check_depth, json_value, read_text
from ..toolcall import ToolCall
from . import MAX_PROBLEMS, ImportProblems, Problem
from .logs import LogEntry, _Bad, _text

__all__ = ["CAPTURE_HINT", "TraceRead", "json_documents", "read_otlp", "select_entry"]

#: What to say when spans carry no content.
CAPTURE_HINT = "the instrumentation's content capture was off (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true)"
#: Operations that are a model call (embeddings, tools and agents are not answers to compare).
MODEL_CALLS = ("chat", "text_completion", "generate_content", "completion")
#: ``gen_ai.request.X`` → the case parameter it is.
_PARAMS = {
    "temperature": "temperature", "top_p": "top_p", "max_tokens": "max_tokens", "seed": "seed",
    "stop_sequences": "stop", "presence_penalty": "presence_penalty", "frequency_penalty": "frequency_penalty",
}  # fmt: skip
_FINGERPRINT = ("openai.response.system_fingerprint", "gen_ai.openai.response.system_fingerprint")
_MESSAGE_EVENTS = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
                   "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}  # fmt: skip
_FLAT = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$")


@dataclass
class TraceRead:
    """What a trace file held: the entries to import, and what was skipped (with counts)."""

    file: str
    entries: list[LogEntry] = field(default_factory=list)
    no_content: list[str] = field(default_factory=list)  # where: spans without message content
    skipped: Counter[str] = field(default_factory=Counter)  # reason ("{op} span{s}") → count
    kind: str = "trace"

    def skipped_text(self) -> str:
        return ", ".join(f"{n} {why.format(s='' if n == 1 else 's')}" for why, n in self.skipped.most_common())


# ---------------------------------------------------------------- the file
def json_documents(path: str | Path, *, what: str) -> list[tuple[int, Any]]:
    """``(line, value)`` of every non-blank line of a JSON-lines file, or ``[(1, value)]`` when the
    whole file is one JSON document (pretty-printed). Bad JSON names the line: ``what`` says
    what the file should have been."""
    p = Path(path)
    try:
        text = read_text(p)
    except FileNotFoundError:
        raise ImportProblems([Problem(str(p), None, "no such file")]) from None
    except IsADirectoryError:
        raise ImportProblems([Problem(str(p), None, "is a directory")]) from None
    except OSError as e:
        raise ImportProblems([Problem(str(p), None, e.strerror or str(e))]) from None
    except FileProblem as e:
        raise ImportProblems([Problem(str(p), e.line or None, e.message)]) from None
    docs: list[tuple[int, Any]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            docs.append((n, json_value(raw, p, n)))
        except json.JSONDecodeError as e:
            if not docs:  # maybe one document over many lines
                try:
                    whole = json.loads(text)
                except json.JSONDecodeError:
                    pass
                except RecursionError:
                    raise ImportProblems([Problem(str(p), None, f"not {what}: nested too deeply")]) from None
                else:
                    try:
                        check_depth(whole, p, 1)
                    except FileProblem as fe:
                        raise ImportProblems([Problem(str(p), None, f"not {what}: {fe.message}")]) from None
                    return [(1, whole)]
            raise ImportProblems([Problem(str(p), n, f"not {what}: invalid JSON: {e.msg} (column {e.colno})")]) from None
        except FileProblem as e:
            raise ImportProblems([Problem(str(p), n, f"not {what}: {e.message}")]) from None
    if not docs:
        raise ImportProblems([Problem(str(p), None, f"not {what}: the file is empty")])
    return docs


def any_value(v: Any) -> Any:
    """An OTLP JSON ``AnyValue`` as a plain value (a value that is already plain stays as it is)."""
    if not isinstance(v, dict):
        return v
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        try:
            return int(v["intValue"])
        except (TypeError, ValueError):
            return v["intValue"]
    if "doubleValue" in v:
        return v["doubleValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "arrayValue" in v:
        return [any_value(x) for x in (v["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in v:
        return attributes((v["kvlistValue"] or {}).get("values"))
    if "bytesValue" in v:
        return v["bytesValue"]
    return None  # an empty AnyValue


def attributes(kvs: Any) -> dict[str, Any]:
    if not isinstance(kvs, list):
        return {}
    return {kv["key"]: any_value(kv.get("value")) for kv in kvs if isinstance(kv, dict) and isinstance(kv.get("key"), str)}


# ---------------------------------------------------------------- messages
def _structured(value: Any, name: str) -> Any:
    """A convention attribute that is a JSON string or already structured."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as e:
            raise _Bad(name, f"not valid JSON ({e.msg})") from None
    return value


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _call(part: dict[str, Any]) -> ToolCall:
    args = part.get("arguments", {})
    name = str(part.get("name") or "")
    cid = part.get("id") if isinstance(part.get("id"), str) else None
    return (
        ToolCall(name=name, arguments=args, id=cid)
        if isinstance(args, str)
        else ToolCall.from_value(name, args if args is not None else {}, cid)
    )


def _chat_call(c: ToolCall) -> dict[str, Any]:
    return {"id": c.id or f"call_{c.name}", "type": "function", "function": {"name": c.name, "arguments": c.arguments}}


def _parts_message(m: Any, where: str) -> tuple[str, str | None, list[ToolCall], list[dict[str, Any]]]:
    """One convention message ``{role, parts: [...]}``: (role, text or None, tool calls, tool results)."""
    if not isinstance(m, dict) or not isinstance(m.get("role"), str):
        raise _Bad(where, "expected a message {role, parts}")
    parts = m.get("parts")
    if parts is None and "content" in m:  # an OpenAI-shaped message inside the new attribute
        parts = [{"type": "text", "content": m["content"]}] if isinstance(m["content"], str) else m["content"] or []
    if not isinstance(parts, list):
        raise _Bad(f"{where}.parts", "expected a list of parts")
    texts: list[str] = []
    calls: list[ToolCall] = []
    results: list[dict[str, Any]] = []
    for j, part in enumerate(parts):
        if not isinstance(part, dict):
            raise _Bad(f"{where}.parts[{j}]", "expected an object with a type")
        kind = part.get("type")
        if kind == "text":
            text = part.get("content", part.get("text"))
            if not isinstance(text, str):
                raise _Bad(f"{where}.parts[{j}].content", "expected a string")
            texts.append(text)
        elif kind == "tool_call":
            calls.append(_call(part))
        elif kind == "tool_call_response":
            results.append(
                {
                    "role": "tool",
                    "tool_call_id": str(part.get("id") or ""),
                    "content": _json_text(part.get("response", part.get("result"))),
                }
            )
        elif kind in ("reasoning", "thinking"):
            continue  # the model's reasoning is not part of the request, nor of the answer's text
        else:
            raise _Bad(f"{where}.parts[{j}]", f"only text and tool-call parts can be replayed (got {kind!r})")
    return m["role"], ("\n".join(texts) if texts else None), calls, results


def _new_input(value: Any, name: str) -> list[dict[str, Any]]:
    msgs = _structured(value, name)
    if not isinstance(msgs, list):
        raise _Bad(name, "expected a list of messages")
    out: list[dict[str, Any]] = []
    for i, m in enumerate(msgs):
        role, text, calls, results = _parts_message(m, f"{name}[{i}]")
        if results:
            out.extend(results)
            continue
        msg: dict[str, Any] = {"role": role, "content": text or ""}
        if calls:
            msg["tool_calls"] = [_chat_call(c) for c in calls]
        if role == "tool":
            msg["tool_call_id"] = str(m.get("id") or m.get("tool_call_id") or "")
        out.append(msg)
    return out


def _system(value: Any, name: str) -> str | None:
    v = _structured(value, name) if isinstance(value, str) and value.lstrip().startswith(("[", "{")) else value
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        v = [v]
    if not isinstance(v, list):
        raise _Bad(name, "expected a list of parts")
    texts = [p.get("content", p.get("text")) if isinstance(p, dict) else p for p in v]
    if not all(isinstance(t, str) for t in texts):
        raise _Bad(name, "only text parts can be replayed")
    return "\n".join(str(t) for t in texts) if texts else None


def _chat_messages(value: Any, name: str) -> list[dict[str, Any]]:
    """An OpenAI-shaped list of ``{role, content}`` (the older ``gen_ai.prompt``)."""
    msgs = _structured(value, name) if isinstance(value, str) and value.lstrip().startswith("[") else value
    if isinstance(msgs, str):
        return [{"role": "user", "content": msgs}]
    if not isinstance(msgs, list):
        raise _Bad(name, "expected a list of messages")
    return [_chat_message(m, f"{name}[{i}]") for i, m in enumerate(msgs)]


def _content_text(content: Any, where: str) -> str:
    """A message's content (a string or text parts, as in logs); no content is empty text."""
    return "" if content is None else _text(content, where)


def _openai_calls(raw: Any) -> list[ToolCall]:
    calls = []
    for c in raw or []:
        if isinstance(c, dict):
            fn: dict[str, Any] = c["function"] if isinstance(c.get("function"), dict) else c
            calls.append(_call({"name": fn.get("name"), "arguments": fn.get("arguments", {}), "id": c.get("id")}))
    return calls


def _chat_message(m: Any, where: str, role: str | None = None) -> dict[str, Any]:
    if not isinstance(m, dict):
        raise _Bad(where, "expected an object with role and content")
    role = m.get("role") if isinstance(m.get("role"), str) else role
    if role not in ("system", "developer", "user", "assistant", "tool"):
        raise _Bad(f"{where}.role", f"{role!r} cannot be replayed")
    msg: dict[str, Any] = {"role": role, "content": _content_text(m.get("content"), f"{where}.content")}
    calls = _openai_calls(m.get("tool_calls"))
    if calls:
        msg["tool_calls"] = [_chat_call(c) for c in calls]
    if role == "tool":
        msg["tool_call_id"] = str(m.get("tool_call_id") or m.get("id") or "")
    return msg


def _tools(value: Any, name: str) -> list[dict[str, Any]] | None:
    defs = _structured(value, name)
    if not isinstance(defs, list):
        raise _Bad(name, "expected a list of tool definitions")
    out = []
    for i, d in enumerate(defs):
        if not isinstance(d, dict):
            raise _Bad(f"{name}[{i}]", "expected a tool definition object")
        if isinstance(d.get("function"), dict):
            out.append({"type": "function", "function": d["function"]})
        elif isinstance(d.get("name"), str):
            fn = {"name": d["name"]}
            if d.get("description"):
                fn["description"] = d["description"]
            fn["parameters"] = d.get("parameters") or {"type": "object", "properties": {}}
            out.append({"type": "function", "function": fn})
    return out or None


# ---------------------------------------------------------------- one span
def _iso(nanos: Any) -> str | None:
    try:
        ns = int(nanos)
    except (TypeError, ValueError):
        return None
    if ns <= 0:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.isdigit():
        return int(v)
    return None


@dataclass
class _Events:
    """Content that came as events (span events or log records) of one span."""

    details: dict[str, Any] = field(default_factory=dict)  # gen_ai.client.inference.operation.details
    prompt: Any = None  # gen_ai.content.prompt → gen_ai.prompt
    completion: Any = None  # gen_ai.content.completion → gen_ai.completion
    messages: list[dict[str, Any]] = field(default_factory=list)  # gen_ai.*.message, in order
    choices: list[dict[str, Any]] = field(default_factory=list)  # gen_ai.choice


def _add_event(ev: _Events, name: str, attrs: dict[str, Any], body: Any, where: str) -> None:
    if isinstance(attrs.get("gen_ai.event.content"), str):  # some SDKs put the body here as JSON
        with contextlib.suppress(json.JSONDecodeError):
            body = json.loads(attrs["gen_ai.event.content"])
    data = body if isinstance(body, dict) else {k: v for k, v in attrs.items() if not k.startswith("gen_ai.system")}
    if name == "gen_ai.client.inference.operation.details":
        ev.details.update({k: v for k, v in {**attrs, **(body if isinstance(body, dict) else {})}.items()})
    elif name == "gen_ai.content.prompt":
        ev.prompt = attrs.get("gen_ai.prompt", ev.prompt)
    elif name == "gen_ai.content.completion":
        ev.completion = attrs.get("gen_ai.completion", ev.completion)
    elif name in _MESSAGE_EVENTS:
        ev.messages.append(_chat_message(data, f"{where} event {name}", role=_MESSAGE_EVENTS[name]))
    elif name == "gen_ai.choice":
        ev.choices.append(data)


def _flat(attrs: dict[str, Any], which: str) -> list[dict[str, Any]]:
    """``gen_ai.prompt.0.role`` / ``gen_ai.prompt.0.content``… (OpenLLMetry's flattened form)."""
    rows: dict[int, dict[str, Any]] = {}
    for k, v in attrs.items():
        m = _FLAT.match(k)
        if m and m[1] == which:
            rows.setdefault(int(m[2]), {})[m[3]] = v
    return [rows[i] for i in sorted(rows)]


def _span_entry(span: dict[str, Any], attrs: dict[str, Any], ev: _Events, file: str, line: int) -> LogEntry | None:
    """The entry of a model-call span; None when it holds no message content at all."""
    a = {**attrs, **{k: v for k, v in ev.details.items() if k not in attrs}}
    out: dict[str, Any] = {}
    # The request.
    msgs: list[dict[str, Any]] | None = None
    if a.get("gen_ai.input.messages") is not None:
        msgs = _new_input(a["gen_ai.input.messages"], "gen_ai.input.messages")
    elif a.get("gen_ai.prompt") is not None or ev.prompt is not None:
        msgs = _chat_messages(a.get("gen_ai.prompt", ev.prompt), "gen_ai.prompt")
    elif flat := _flat(a, "prompt"):
        msgs = [_chat_message(r, f"gen_ai.prompt.{i}") for i, r in enumerate(flat)]
    elif ev.messages:
        msgs = list(ev.messages)
    if a.get("gen_ai.system_instructions") is not None:
        system = _system(a["gen_ai.system_instructions"], "gen_ai.system_instructions")
        if system and not any(m["role"] in ("system", "developer") for m in msgs or []):
            msgs = [{"role": "system", "content": system}, *(msgs or [])]
    if msgs is not None and all(not m["content"] and not m.get("tool_calls") for m in msgs):
        msgs = None  # no message, or messages whose content was not captured
    # The answer.
    text: str | None = None
    calls: list[ToolCall] = []
    finish = None
    if a.get("gen_ai.output.messages") is not None:
        outs = _structured(a["gen_ai.output.messages"], "gen_ai.output.messages")
        if not isinstance(outs, list):
            raise _Bad("gen_ai.output.messages", "expected a list of messages")
        if outs:
            _role, text, calls, _ = _parts_message(outs[0], "gen_ai.output.messages[0]")
            if isinstance(outs[0].get("finish_reason"), str):
                finish = outs[0]["finish_reason"]
    elif a.get("gen_ai.completion") is not None or ev.completion is not None:
        comp = a.get("gen_ai.completion", ev.completion)
        got = _chat_messages(comp, "gen_ai.completion")
        if got:
            text = got[0]["content"] or None
            calls = [ToolCall(c["function"]["name"], c["function"]["arguments"], c["id"]) for c in got[0].get("tool_calls", [])]
    elif flat := _flat(a, "completion"):
        first = flat[0]
        text = first.get("content") if isinstance(first.get("content"), str) else None
        finish = first.get("finish_reason") if isinstance(first.get("finish_reason"), str) else None
        named = {k: v for k, v in first.items() if k.startswith("tool_calls.")}
        for i in sorted({int(k.split(".")[1]) for k in named if k.split(".")[1].isdigit()}):
            calls.append(_call({"name": named.get(f"tool_calls.{i}.name"), "arguments": named.get(f"tool_calls.{i}.arguments", "{}"),
                                "id": named.get(f"tool_calls.{i}.id")}))  # fmt: skip
    elif ev.choices:
        choice = sorted(ev.choices, key=lambda c: _int(c.get("index")) or 0)[0]
        message: dict[str, Any] = choice["message"] if isinstance(choice.get("message"), dict) else {}
        text = _content_text(message.get("content"), "gen_ai.choice.message.content") or None
        calls = _openai_calls(message.get("tool_calls"))
        finish = choice.get("finish_reason") if isinstance(choice.get("finish_reason"), str) else None
    if text == "":
        text = None
    status: dict[str, Any] = span["status"] if isinstance(span.get("status"), dict) else {}
    failed = status.get("code") in (2, "STATUS_CODE_ERROR")
    if failed:
        out["error"] = str(status.get("message") or a.get("error.type") or "the span's status is ERROR")
    if msgs is None:
        return None  # no content (an answer without its request is no case either): counted by the caller
    reasons = a.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, list) and reasons and isinstance(reasons[0], str):
        finish = reasons[0]
    elif isinstance(reasons, str):
        finish = reasons
    usage = {
        k.removeprefix("gen_ai.usage."): v for k, v in a.items() if k.startswith("gen_ai.usage.") and isinstance(v, int | float)
    }
    params: dict[str, Any] = {}
    for key, param in _PARAMS.items():
        v = a.get(f"gen_ai.request.{key}")
        if v is not None and not (isinstance(v, list) and not v):
            params[param] = v
    tools = (
        _tools(a["gen_ai.tool.definitions"], "gen_ai.tool.definitions") if a.get("gen_ai.tool.definitions") is not None else None
    )
    start, end = _int(span.get("startTimeUnixNano")), _int(span.get("endTimeUnixNano"))
    fingerprint = next((a[k] for k in _FINGERPRINT if isinstance(a.get(k), str)), None)
    return LogEntry(
        file=file, line=line, messages=msgs,
        model=a.get("gen_ai.request.model") if isinstance(a.get("gen_ai.request.model"), str) else None,
        params=params, output=text, finish_reason=finish,
        resolved_model=a.get("gen_ai.response.model") if isinstance(a.get("gen_ai.response.model"), str) else None,
        system_fingerprint=fingerprint, usage=usage or None,
        input_tokens=_int(a.get("gen_ai.usage.input_tokens", a.get("gen_ai.usage.prompt_tokens"))),
        output_tokens=_int(a.get("gen_ai.usage.output_tokens", a.get("gen_ai.usage.completion_tokens"))),
        latency_ms=(end - start) / 1e6 if start and end and end >= start else None,
        request_id=a.get("gen_ai.response.id") if isinstance(a.get("gen_ai.response.id"), str) else None,
        error=out.get("error"), tool_calls=tuple(calls), tools=tools, started_at=_iso(start),
        source="trace", span_id=span.get("spanId") if isinstance(span.get("spanId"), str) else None,
    )  # fmt: skip


# ---------------------------------------------------------------- the whole file
def _list(obj: Any, key: str) -> list[Any]:
    v = obj.get(key) if isinstance(obj, dict) else None
    return v if isinstance(v, list) else []


def read_otlp(path: str | Path) -> TraceRead:
    """Every model-call span of an OTLP JSON file, checked; raises :class:`ImportProblems` (the
    file is not OTLP JSON, a span's content does not read) or :class:`UsageError` (no span to
    import) before anything could be written."""
    p = Path(path)
    what = 'OTLP JSON (one ExportTraceServiceRequest {"resourceSpans": [...]} per line)'
    docs = json_documents(p, what=what)
    spans: list[tuple[int, dict[str, Any]]] = []
    events: dict[str, _Events] = {}
    problems: list[Problem] = []
    for line, doc in docs:
        if not isinstance(doc, dict) or not ("resourceSpans" in doc or "resourceLogs" in doc):
            got = f"an object with {', '.join(list(doc)[:3])}" if isinstance(doc, dict) and doc else type(doc).__name__
            raise ImportProblems([Problem(str(p), line, f"not {what}: got {got}")])
        for rs in _list(doc, "resourceSpans"):
            for ss in _list(rs, "scopeSpans") + _list(rs, "instrumentationLibrarySpans"):
                for span in _list(ss, "spans"):
                    if isinstance(span, dict):
                        spans.append((line, span))
        for rl in _list(doc, "resourceLogs"):
            for sl in _list(rl, "scopeLogs"):
                for rec in _list(sl, "logRecords"):
                    if not isinstance(rec, dict) or not isinstance(rec.get("spanId"), str):
                        continue
                    attrs = attributes(rec.get("attributes"))
                    name = rec.get("eventName") or attrs.get("event.name")
                    if isinstance(name, str) and name.startswith("gen_ai."):
                        try:
                            _add_event(
                                events.setdefault(rec["spanId"], _Events()),
                                name,
                                attrs,
                                any_value(rec.get("body")),
                                f"log record of span {rec['spanId']}",
                            )
                        except _Bad as e:
                            problems.append(Problem(str(p), line, e.message, field=e.field))
    read = TraceRead(file=str(p))
    for line, span in spans:
        sid = str(span["spanId"]) if isinstance(span.get("spanId"), str) else "?"
        where = f"span {sid}"
        attrs = attributes(span.get("attributes"))
        ev = events.get(sid, _Events())
        span_events = [e for e in _list(span, "events") if isinstance(e, dict)]
        genai = any(k.startswith("gen_ai.") for k in attrs) or any(
            str(x.get("name", "")).startswith("gen_ai.") for x in span_events
        )
        if not genai and sid not in events:
            read.skipped["span{s} without gen_ai.* attributes"] += 1
            continue
        op = attrs.get("gen_ai.operation.name")
        if isinstance(op, str) and op not in MODEL_CALLS:
            read.skipped[f"{op.replace('{', '').replace('}', '')} span{{s}}"] += 1
            continue
        try:
            if sid not in events:
                for x in span_events:
                    _add_event(ev, str(x.get("name", "")), attributes(x.get("attributes")), None, where)
            entry = _span_entry(span, attrs, ev, str(p), line)
        except _Bad as e:
            if len(problems) < MAX_PROBLEMS:
                problems.append(Problem(str(p), line, e.message, field=f"{where}: {e.field}" if e.field else where))
            continue
        if entry is None:
            read.no_content.append(f"{p}:{line} {where}")
        else:
            read.entries.append(entry)
    if problems:
        raise ImportProblems(problems[:MAX_PROBLEMS], more=max(0, len(problems) - MAX_PROBLEMS))
    return read


def no_content_line(read: TraceRead) -> str:
    n = len(read.no_content)
    noun = (
        "span has"
        if read.kind == "trace" and n == 1
        else "spans have"
        if read.kind == "trace"
        else "observations have"
        if n != 1
        else "observation has"
    )
    why = CAPTURE_HINT if read.kind == "trace" else "the export holds no input or output for them"
    return f"{n} {noun} no message content: {why}"


def check_importable(read: TraceRead) -> None:
    """A file with nothing to import is an error that says why (exit 2)."""
    if read.entries:
        return
    if read.no_content:
        raise UsageError(f"{read.file}: {no_content_line(read)}; nothing to import")
    what = "model-call span (gen_ai.* attributes)" if read.kind == "trace" else "GENERATION observation"
    skipped = f" (skipped: {read.skipped_text()})" if read.skipped else ""
    raise UsageError(f"{read.file}: no {what} to import{skipped}")


_SELECT = re.compile(r"^(?P<file>.+?):(?P<sel>[^:/\\]+)$")


def select_entry(spec: str, read_file: Any) -> LogEntry:
    """``FILE``, ``FILE:SPAN_ID`` (an observation id for Langfuse) or ``FILE:LINE``: the one entry
    meant. ``read_file(path) -> TraceRead``."""
    m = _SELECT.match(spec)
    path, sel = (m["file"], m["sel"]) if m and not Path(spec).exists() else (spec, None)
    read = read_file(path)
    check_importable(read)
    entries = read.entries
    if sel is None:
        if len(entries) != 1:
            ids = ", ".join(str(e.span_id) for e in entries[:5]) + ("…" if len(entries) > 5 else "")
            raise UsageError(f"--from-trace {spec}: holds {len(entries)} model calls; say which one with {spec}:SPAN_ID ({ids})")
        return entries[0]
    by_id = [e for e in entries if e.span_id == sel]
    if by_id:
        return by_id[0]
    if sel.isdigit():
        on_line = [e for e in entries if e.line == int(sel)]
        if len(on_line) == 1:
            return on_line[0]
        if len(on_line) > 1:
            ids = ", ".join(str(e.span_id) for e in on_line[:5])
            raise UsageError(f"--from-trace {spec}: line {sel} holds {len(on_line)} model calls; name one by its span id ({ids})")
    raise UsageError(f"--from-trace {spec}: no model call with span id or line {sel!r} in {path}")

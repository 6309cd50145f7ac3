"""Langfuse observation exports → log entries (one per ``GENERATION`` observation).

The file is a JSON array of observations, the public API's list answer (``{"data": [...],
"meta": {...}}``), or JSONL (one observation per line), as the Langfuse UI and API export them.
Fields read (the API's camelCase; the snake_case spelling of exports is accepted too):
``id``, ``type``, ``model``, ``modelParameters`` (temperature, max_tokens…; Langfuse may keep them
as strings), ``input`` (the messages: a list of ``{role, content}``, ``{"messages": [...],
"tools": [...]}``, or a prompt string), ``output`` (``{role, content, tool_calls}``, a string, or a
list of choices), ``usageDetails`` / ``usage`` (``input``/``output``, or the older
``promptTokens``/``completionTokens``), ``startTime`` / ``endTime``, ``level`` and
``statusMessage`` (an ``ERROR`` without output is an errored call), ``metadata`` (``case_id``,
``system_fingerprint``). Observations of other types (SPAN, EVENT…) are skipped and counted.

No store, no network, no Textual: this module only reads and checks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..toolcall import ToolCall
from . import MAX_PROBLEMS, ImportProblems, Problem
from .logs import LogEntry
from .otlp import TraceRead, _Bad, _chat_message, _content_text, _openai_calls, _tools, json_documents

__all__ = ["read_langfuse"]

_PARAMS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop", "presence_penalty",
           "frequency_penalty", "response_format", "reasoning_effort")  # fmt: skip


def _get(obs: dict[str, Any], camel: str) -> Any:
    if camel in obs:
        return obs[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obs.get(snake)


def _number(v: Any) -> Any:
    """Langfuse keeps model parameters as strings ("0.7"): numbers again where they read as one."""
    if isinstance(v, str):
        for kind in (int, float):
            try:
                return kind(v)
            except ValueError:
                pass
        if v in ("true", "false"):
            return v == "true"
    return v


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def _time(v: Any) -> datetime | None:
    if not isinstance(v, str):
        return None
    try:
        return datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso(t: datetime | None) -> str | None:
    """The store's form of a time: UTC, milliseconds, ``Z``."""
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _input(raw: Any) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    """(messages, tools) of a generation's input."""
    tools = None
    if isinstance(raw, dict):
        if raw.get("tools") is not None:
            tools = _tools(raw["tools"], "input.tools")
        if "messages" in raw:
            raw = raw["messages"]
        elif "role" in raw:
            raw = [raw]
        elif isinstance(raw.get("prompt"), str):
            raw = raw["prompt"]
        else:
            raise _Bad(
                "input",
                f"expected messages (a list of {{role, content}}, or {{messages: [...]}}), got an object with {', '.join(list(raw)[:4])}",
            )
    if raw is None:
        return None, tools
    if isinstance(raw, str):
        return ([{"role": "user", "content": raw}] if raw else None), tools
    if not isinstance(raw, list):
        raise _Bad("input", f"expected a list of messages, got {type(raw).__name__}")
    msgs = [_chat_message(m, f"input[{i}]") for i, m in enumerate(raw)]
    return msgs or None, tools


def _output(raw: Any) -> tuple[str | None, list[ToolCall], str | None]:
    """(text, tool calls, finish reason) of a generation's output."""
    if raw is None:
        return None, [], None
    if isinstance(raw, str):
        return raw or None, [], None
    if isinstance(raw, list):  # choices, or a list of messages: the first one
        if not raw:
            return None, [], None
        raw = raw[0]
    if not isinstance(raw, dict):
        raise _Bad("output", f"expected a message, a string or a list of choices, got {type(raw).__name__}")
    finish = raw.get("finish_reason") if isinstance(raw.get("finish_reason"), str) else None
    if isinstance(raw.get("message"), dict):  # a choice
        raw = raw["message"]
    if isinstance(raw.get("choices"), list) and raw["choices"]:  # a whole chat.completion
        return _output(raw["choices"])
    text = _content_text(raw.get("content", raw.get("text")), "output.content") or None
    return text, _openai_calls(raw.get("tool_calls")), finish


def _entry(obs: dict[str, Any], file: str, line: int, where: str) -> LogEntry | None:
    msgs, tools = _input(_get(obs, "input"))
    text, calls, finish = _output(_get(obs, "output"))
    if msgs is not None and all(not m["content"] and not m.get("tool_calls") for m in msgs):
        msgs = None
    level = _get(obs, "level")
    error = None
    if level == "ERROR" and text is None and not calls:
        error = str(_get(obs, "statusMessage") or "the observation's level is ERROR")
    if msgs is None and text is None and not calls:
        return None
    params = {}
    for k, v in (_get(obs, "modelParameters") or {}).items() if isinstance(_get(obs, "modelParameters"), dict) else ():
        if k in _PARAMS and v is not None:
            params[k] = _number(v)
    usage_raw = _get(obs, "usageDetails") or _get(obs, "usage") or {}
    usage = (
        {k: v for k, v in usage_raw.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        if isinstance(usage_raw, dict)
        else {}
    )
    meta = _get(obs, "metadata") if isinstance(_get(obs, "metadata"), dict) else {}
    start, end = _time(_get(obs, "startTime")), _time(_get(obs, "endTime"))
    model = _get(obs, "model") if isinstance(_get(obs, "model"), str) else None
    return LogEntry(
        file=file, line=line, messages=msgs, model=model, params=params, output=text, finish_reason=finish,
        resolved_model=meta.get("response_model") if isinstance(meta.get("response_model"), str) else None if error else model,
        system_fingerprint=meta.get("system_fingerprint") if isinstance(meta.get("system_fingerprint"), str) else None,
        usage=usage or None,
        input_tokens=_int(usage.get("input", usage.get("promptTokens", usage.get("input_tokens")))),
        output_tokens=_int(usage.get("output", usage.get("completionTokens", usage.get("output_tokens")))),
        latency_ms=(end - start).total_seconds() * 1000 if start and end and end >= start else None,
        request_id=meta.get("response_id") if isinstance(meta.get("response_id"), str) else None,
        error=error, case_id=meta.get("case_id") if isinstance(meta.get("case_id"), str) else None,
        tool_calls=tuple(calls), tools=tools, started_at=_iso(start),
        source="langfuse", span_id=str(_get(obs, "id")) if _get(obs, "id") is not None else where,
    )  # fmt: skip


def read_langfuse(path: str | Path) -> TraceRead:
    """Every GENERATION observation of a Langfuse export, checked; raises :class:`ImportProblems`
    naming the observation before anything could be written."""
    p = Path(path)
    what = "a Langfuse export (a JSON array or JSONL of observations)"
    docs = json_documents(p, what=what)
    items: list[tuple[int, str, Any]] = []  # (line, where, observation)
    if (
        len(docs) == 1
        and isinstance(docs[0][1], list | dict)
        and (isinstance(docs[0][1], list) or isinstance(docs[0][1].get("data"), list))
    ):
        line, doc = docs[0]
        arr = doc if isinstance(doc, list) else doc["data"]
        items = [(line, f"[{i}]", obs) for i, obs in enumerate(arr)]
    else:
        items = [(line, f"line {line}", obs) for line, obs in docs]
    read = TraceRead(file=str(p), kind="langfuse")
    problems: list[Problem] = []
    for line, where, obs in items:
        if not isinstance(obs, dict) or not isinstance(obs.get("type"), str):
            raise ImportProblems(
                [
                    Problem(
                        str(p),
                        line if where.startswith("line") else None,
                        f"not {what}: {where} is not an observation (an object with id and type)",
                    )
                ]
            )
        if obs["type"] != "GENERATION":
            read.skipped[f"{obs['type'].replace('{', '').replace('}', '')} observation{{s}}"] += 1
            continue
        label = f"observation {obs.get('id')}" if obs.get("id") is not None else where
        try:
            entry = _entry(obs, str(p), line, where)
        except _Bad as e:
            if len(problems) < MAX_PROBLEMS:
                problems.append(
                    Problem(str(p), line if where.startswith("line") else None, e.message, field=f"{label}: {e.field}")
                )
            continue
        if entry is None:
            read.no_content.append(f"{p} {label}")
        else:
            read.entries.append(entry)
    if problems:
        raise ImportProblems(problems, more=0)
    return read

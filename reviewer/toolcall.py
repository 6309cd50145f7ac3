"""A tool call a model made, as every layer sees it: providers build it from their wire format,
the store keeps it, the diff engine compares it, the app and the changelog show it.

``arguments`` is the raw JSON text exactly as the model wrote it (OpenAI sends a string that may be
invalid JSON or carry invented parameters; Anthropic sends an object, kept as its compact JSON).
:meth:`ToolCall.parsed` gives the decoded value, or why it does not decode: a model that starts
writing ``{"count": "3"}`` instead of ``{"count": 3}`` or truncates its arguments is a behaviour
change worth seeing, so nothing is normalised away before the diff.

A leaf module: stdlib only, imported by providers, the store and the diff engine alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["ToolCall", "dump_tool_calls", "load_tool_calls"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call: the tool's name, its arguments as written, and the provider's call id."""

    name: str
    arguments: str = "{}"
    id: str | None = None

    @classmethod
    def from_value(cls, name: str, value: Any, id: str | None = None) -> ToolCall:
        """A call whose arguments arrived as a decoded value (Anthropic ``tool_use.input``)."""
        return cls(name=name, arguments=json.dumps(value, ensure_ascii=False, separators=(",", ":")), id=id)

    def parsed(self) -> tuple[Any, str | None]:
        """``(value, None)`` when the arguments are valid JSON, else ``(None, reason)``."""
        try:
            return json.loads(self.arguments), None
        except (json.JSONDecodeError, RecursionError) as e:
            return None, f"arguments are not valid JSON: {getattr(e, 'msg', e)}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "arguments": self.arguments}
        if self.id is not None:
            out["id"] = self.id
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ToolCall:
        args = d.get("arguments", "{}")
        if not isinstance(args, str):  # tolerate a decoded object (hand-written recordings)
            return cls.from_value(str(d.get("name", "")), args, d.get("id"))
        return cls(name=str(d.get("name", "")), arguments=args, id=d.get("id"))


def dump_tool_calls(calls: tuple[ToolCall, ...] | list[ToolCall] | None) -> str | None:
    """The stored form: a JSON array, or None for an answer without tool calls."""
    if not calls:
        return None
    return json.dumps([c.to_json() for c in calls], ensure_ascii=False, separators=(",", ":"))


def load_tool_calls(text: str | None) -> tuple[ToolCall, ...]:
    if not text:
        return ()
    return tuple(ToolCall.from_json(d) for d in json.loads(text))

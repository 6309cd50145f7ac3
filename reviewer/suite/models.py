"""The suite's models: messages (with earlier tool calls), defaults, cases and the suite."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from .checks import Check
from .tools import _INHERITED, _LIFTED, _TOOL_NAME_RE, _json_type, _lift_params, _response_format, _tool_choice, _tools

__all__ = ["Case", "Defaults", "Message", "MessageToolCall", "Suite"]

_SPACE = re.compile(r"\s")  # the characters str.isspace() means
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$")


class MessageToolCall(BaseModel):
    """A tool call an assistant made earlier in a conversation (a replayed agent step). Written in
    OpenAI's form ``{id, type: function, function: {name, arguments}}`` or short ``{id, name,
    arguments}``; ``arguments`` a JSON object, or its JSON text. Kept as compact JSON text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    arguments: str = "{}"

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(
                f"a tool call is a mapping {{id, type: function, function: {{name, arguments}}}}, got {_json_type(data)}"
            )
        if "function" in data:
            if data.get("type", "function") != "function" or set(data) - {"id", "type", "function"}:
                raise ValueError("a tool call is {id, type: function, function: {name, arguments}}")
            fn = data["function"]
            if not isinstance(fn, dict) or set(fn) - {"name", "arguments"}:
                raise ValueError("function: a mapping {name, arguments}")
            data = {"id": data.get("id"), **fn}
        if not isinstance(data.get("id"), str) or not data["id"]:
            raise ValueError("a tool call needs an id (the tool message answering it names it as tool_call_id)")
        if not isinstance(data.get("name"), str) or not _TOOL_NAME_RE.match(data["name"]):
            raise ValueError("name: 1-64 letters, digits, _ or - is required")
        args = data.get("arguments", {})
        if isinstance(args, str):
            try:
                value = json.loads(args)
            except json.JSONDecodeError as e:
                raise ValueError(f"arguments: not valid JSON ({e.msg}); write the arguments as a mapping") from None
        else:
            value = args
        if not isinstance(value, dict):
            raise ValueError(f"arguments: a JSON object is required (every provider takes an object), got {_json_type(value)}")
        text = args if isinstance(args, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return {"id": data["id"], "name": data["name"], "arguments": text}

    def to_openai(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


class Message(BaseModel):
    """One chat message. An ``assistant`` message may carry earlier ``tool_calls`` (its content may
    then be empty); a ``tool`` message is the result of one of them, named by ``tool_call_id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str  # "" for an assistant turn that only calls tools
    tool_calls: tuple[MessageToolCall, ...] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _calls_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("content") is None and data.get("tool_calls"):
            return {**data, "content": ""}
        return data

    @model_validator(mode="after")
    def _fits_role(self) -> Message:
        if self.tool_calls is not None:
            if self.role != "assistant":
                raise ValueError("tool_calls: only an assistant message makes tool calls")
            if not self.tool_calls:
                raise ValueError("tool_calls: must not be empty (leave it out)")
        if self.role == "tool":
            if not self.tool_call_id:
                raise ValueError("a tool message needs tool_call_id (the id of the call it answers)")
        elif self.tool_call_id is not None:
            raise ValueError("tool_call_id: only a tool message answers a tool call")
        return self

    def to_chat(self) -> dict[str, Any]:
        """The message in Chat Completions form. A plain message is exactly ``{role, content}``
        (what cache keys were made of before tool calls existed)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls and not self.content:
            out["content"] = None  # Chat Completions' form of a turn that only calls tools
        if self.tool_calls:
            out["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


def _check_conversation(messages: list[Message], tool_names: set[str] | None) -> None:
    """Every tool result answers an earlier call of this conversation, once; calls need tools."""
    open_calls: dict[str, int] = {}
    answered: set[str] = set()
    for i, m in enumerate(messages):
        for c in m.tool_calls or ():
            if c.id in open_calls or c.id in answered:
                raise ValueError(f"messages[{i}]: tool call id {c.id!r} appears twice")
            if tool_names is None:
                raise ValueError(
                    f"messages[{i}]: an assistant tool call needs the case's tools (Anthropic refuses a conversation with tool calls and no tools)"
                )
            open_calls[c.id] = i
        if m.role == "tool":
            if m.tool_call_id in answered:
                raise ValueError(f"messages[{i}]: tool call {m.tool_call_id!r} is answered twice")
            if m.tool_call_id not in open_calls:
                raise ValueError(f"messages[{i}]: tool_call_id {m.tool_call_id!r} answers no earlier assistant tool call")
            open_calls.pop(m.tool_call_id)
            answered.add(m.tool_call_id)


class _ToolFields(BaseModel):
    """``tools``, ``tool_choice`` and ``response_format``: on the defaults and on each case."""

    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None

    @field_validator("tools", mode="before")
    @classmethod
    def _tools_shape(cls, v: Any) -> Any:
        return _tools(v)

    @field_validator("tool_choice", mode="before")
    @classmethod
    def _tool_choice_shape(cls, v: Any) -> Any:
        return _tool_choice(v)

    @field_validator("response_format", mode="before")
    @classmethod
    def _response_format_shape(cls, v: Any) -> Any:
        return _response_format(v)

    @model_validator(mode="before")
    @classmethod
    def _lift(cls, data: Any) -> Any:
        return _lift_params(data)

    def _check_tool_choice(self) -> None:
        tc = self.tool_choice
        if tc is None:
            return
        names = {t["function"]["name"] for t in self.tools or ()}
        if not names and tc != "none":
            raise ValueError("tool_choice: there are no tools to choose from")
        if isinstance(tc, dict) and tc["function"]["name"] not in names:
            raise ValueError(f"tool_choice: {tc['function']['name']!r} is not one of the tools ({', '.join(sorted(names))})")


class Defaults(_ToolFields):
    model_config = ConfigDict(extra="forbid")

    system: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Defaults:
        self._check_tool_choice()
        return self


class Case(_ToolFields):
    """One golden case. ``tools``, ``tool_choice`` and ``response_format`` are the resolved values
    (the case's own, else the suite defaults'): in a loaded suite every case carries what is sent
    for it; :attr:`inherited` names the ones that came from the defaults."""

    model_config = ConfigDict(extra="forbid")

    id: str
    tags: list[str] = Field(default_factory=list)
    prompt: str | None = None
    messages: list[Message] | None = None
    system: str | None = None
    reference: str | None = None
    checks: list[Check] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    origin: str | None = None
    added: date | None = None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not _ID_RE.match(v):
            raise ValueError(f"id {v!r} must start with a letter or digit and use only letters, digits and . _ : / @ + -")
        return v

    @field_validator("tags")
    @classmethod
    def _tags_shape(cls, v: list[str]) -> list[str]:
        for t in v:
            if not t or _SPACE.search(t):
                raise ValueError(f"tag {t!r} must be non-empty without spaces")
        return v

    _inherited: frozenset[str] = PrivateAttr(default=frozenset())

    @model_validator(mode="wrap")
    @classmethod
    def _take_inherited(cls, data: Any, handler: Any) -> Any:
        inherited: Any = ()
        if isinstance(data, dict) and _INHERITED in data:
            data = dict(data)
            inherited = data.pop(_INHERITED)
        case = handler(data)
        if inherited:
            case._inherited = frozenset(inherited)
        return case

    @model_validator(mode="after")
    def _one_input(self) -> Case:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("a case has exactly one of prompt or messages")
        if self.messages is not None and not self.messages:
            raise ValueError("messages: must not be empty")
        if self.reference is None:
            for c in self.checks:
                if c.needs_reference:
                    raise ValueError(f"checks: {c.kind} needs a reference answer on the case")
        self._check_tool_choice()
        names = self.tool_names()
        if self.messages is not None:
            _check_conversation(self.messages, set(names) if self.tools else None)
        for i, c in enumerate(self.checks):
            name = c.tool_name
            if name is not None and name not in names:
                known = ", ".join(names) if names else "the case has no tools"
                raise ValueError(f"checks[{i}]: {c.kind}: {name!r} is not one of the case's tools ({known})")
            if c.kind in ("no_tool_call", "tool_args_schema") and not self.tools:
                raise ValueError(f"checks[{i}]: {c.kind}: the case has no tools")
            if c.kind == "response_schema" and self.response_schema() is None:
                raise ValueError(f"checks[{i}]: response_schema: the case has no response_format with a json_schema")
        return self

    @property
    def inherited(self) -> frozenset[str]:
        """Which of ``tools``, ``tool_choice``, ``response_format`` came from the suite defaults
        (left out when the case is written back to a file)."""
        return self._inherited

    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.tools or ()]

    def tool_schema(self, name: str) -> dict[str, Any] | None:
        """The ``parameters`` JSON Schema of the case's tool ``name``, or None (no such tool)."""
        for t in self.tools or ():
            if t["function"]["name"] == name:
                return t["function"]["parameters"]
        return None

    def response_schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the case's ``response_format`` (json_schema type), or None."""
        rf = self.response_format
        if rf and rf["type"] == "json_schema":
            return rf["json_schema"]["schema"]
        return None

    def build_messages(self, defaults: Defaults) -> list[dict[str, Any]]:
        """The chat messages sent for this case: system (case, else suite default) then the prompt,
        in Chat Completions form (each provider translates them)."""
        system = self.system if self.system is not None else defaults.system
        msgs: list[dict[str, Any]] = []
        given = [m.to_chat() for m in self.messages] if self.messages is not None else []
        if system and not any(m["role"] in ("system", "developer") for m in given):
            msgs.append({"role": "system", "content": system})
        if self.prompt is not None:
            msgs.append({"role": "user", "content": self.prompt})
        msgs.extend(given)
        return msgs

    def build_params(self, defaults: Defaults) -> dict[str, Any]:
        return {**defaults.params, **self.params}

    def build_tools(self, defaults: Defaults | None = None) -> dict[str, Any]:
        """What the request carries besides messages and params, in OpenAI's form: ``tools``,
        ``tool_choice``, ``response_format``, each only when set (the case's own, else the
        defaults'). Empty for a case without them, so its cache key is what it always was."""
        out: dict[str, Any] = {}
        for name in _LIFTED:
            value = getattr(self, name)
            if value is None and defaults is not None:
                value = getattr(defaults, name)
            if value is not None:
                out[name] = value
        if not out.get("tools"):  # ``tools: []`` on a case: none for it, whatever the defaults say
            out.pop("tools", None)
            out.pop("tool_choice", None)
        return out


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str
    description: str | None = None
    #: What ``reviewer judge`` asks its judge model to grade against (the suite's own rubric).
    judge_rubric: str | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    cases: list[Case] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _resolve_tools(cls, data: Any) -> Any:
        """Each case gets the defaults' tools, tool_choice and response_format it does not set
        itself, before it is validated: its checks and tool_choice are judged against them."""
        if not isinstance(data, dict):
            return data
        d = data.get("defaults")
        if isinstance(d, Defaults):
            given = {n: getattr(d, n) for n in _LIFTED if getattr(d, n) is not None}
        elif isinstance(d, dict):
            try:
                given = {n: v for n, v in _lift_params(d).items() if n in _LIFTED and v is not None}
                _tools(given.get("tools"))
                _tool_choice(given.get("tool_choice"))
                _response_format(given.get("response_format"))
            except ValueError:
                return data  # the defaults' own validation says what is wrong, once
        else:
            return data
        if not given or not isinstance(data.get("cases"), list):
            return data
        cases = []
        for c in data["cases"]:
            if isinstance(c, dict):
                try:
                    own = _lift_params(c)
                except ValueError:
                    cases.append(c)
                    continue
                missing = {n: v for n, v in given.items() if own.get(n) is None}
                if own.get("tools") == []:  # no tools for this case: no choice among them either
                    missing.pop("tool_choice", None)
                if missing:
                    c = {**own, **missing, _INHERITED: tuple(missing)}
            elif isinstance(c, Case):
                missing = {n: v for n, v in given.items() if getattr(c, n) is None}
                if c.tools == []:
                    missing.pop("tool_choice", None)
                if missing:
                    c = Case.model_validate({**c.model_dump(exclude_none=True), **missing, _INHERITED: tuple(missing)})
            cases.append(c)
        return {**data, "cases": cases}

    def digest(self) -> str:
        """SHA-256 of the suite's canonical content: comments and formatting don't change it."""
        # The bytes of ``json.dumps(self.model_dump(mode="json", exclude_none=True), sort_keys=True,
        # ensure_ascii=False)``, hashed a case at a time so that 50,000 cases are never one dump.
        head = self.model_dump(mode="json", exclude_none=True, exclude={"cases"})
        h = hashlib.sha256()
        keys = sorted([*head, "cases"])
        h.update(b"{")
        for n, key in enumerate(keys):
            h.update(((", " if n else "") + json.dumps(key) + ": ").encode())
            if key != "cases":
                h.update(json.dumps(head[key], sort_keys=True, ensure_ascii=False).encode())
                continue
            h.update(b"[")
            for i, c in enumerate(self.cases):
                h.update(
                    (
                        (", " if i else "")
                        + json.dumps(c.model_dump(mode="json", exclude_none=True), sort_keys=True, ensure_ascii=False)
                    ).encode()
                )
            h.update(b"]")
        h.update(b"}")
        return h.hexdigest()

    def case(self, case_id: str) -> Case:
        for c in self.cases:
            if c.id == case_id:
                return c
        raise KeyError(case_id)

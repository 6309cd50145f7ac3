"""Golden suites: the file format (YAML or JSONL), its pydantic schemas, and loading with
errors that say file:line, case id and field.

Never imports the store, providers, the diff engine or Textual: every other layer reads suites.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from .checkregex import RegexError, compile_check_regex
from .errors import ReviewerError
from .safeyaml import FileProblem, json_value, load_yaml, read_text
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------

#: Every check kind, with what its value must be. A check is written as a one-key mapping
#: (``{regex: "refund"}``), optionally with ``ignore_case: true`` for the regex and contains kinds.
CHECK_KINDS: dict[str, str] = {
    "json": "true: the output holds valid JSON (bare, fenced or embedded)",
    "json_schema": "a JSON Schema object the output's JSON must satisfy",
    "regex": "a regular expression (Python syntax, run by RE2 in linear time) that must match somewhere in the output",
    "not_regex": "a regular expression that must not match anywhere in the output",
    "contains": "a string (or list of strings) that must all appear",
    "not_contains": "a string (or list of strings) none of which may appear",
    "max_words": "an integer: at most this many words",
    "min_words": "an integer: at least this many words",
    "not_refusal": "true: the output must not be a refusal",
    "equals_reference": "true: the output equals the case's reference (whitespace-trimmed)",
    "similar_to_reference": "a number in (0, 1]: similarity to the reference at least this",
    "tool_called": "the name of one of the case's tools: the answer calls it at least once",
    "no_tool_call": "true: the answer calls no tool",
    "tool_args_schema": "true: every call's arguments validate against its tool's parameters",
    "tool_args": "{name: TOOL, match: {PATH: VALUE}}: a call to TOOL whose arguments have VALUE at each PATH ($.city, $.items[0])",
    "response_schema": "true: the answer validates against the case's response_format schema",
}
CheckKind = Literal[
    "json",
    "json_schema",
    "regex",
    "not_regex",
    "contains",
    "not_contains",
    "max_words",
    "min_words",
    "not_refusal",
    "equals_reference",
    "similar_to_reference",
    "tool_called",
    "no_tool_call",
    "tool_args_schema",
    "tool_args",
    "response_schema",
]
_CHECK_OPTIONS = {"ignore_case"}


@functools.lru_cache(maxsize=256)
def _check_schema(schema_json: str) -> None:
    """Meta-validate a schema once: a 10,000-case suite repeats the same few schemas, and
    jsonschema's check is most of the time spent loading such a suite."""
    import jsonschema

    schema = json.loads(schema_json)
    jsonschema.validators.validator_for(schema).check_schema(schema)
_NEEDS_REFERENCE = {"equals_reference", "similar_to_reference"}

# ---------------------------------------------------------------------------------------------
# Tools, tool choice and response formats (OpenAI's function format, translated per provider)
# ---------------------------------------------------------------------------------------------

#: A tool's (and a response format's) name: what OpenAI, Anthropic and the Responses API all accept.
_TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PATH_STEP = re.compile(r'\.([^\W\d]\w*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')
TOOL_CHOICES = ("auto", "none", "required")


def parse_json_path(path: str) -> list[str | int]:
    """A JSON path as the JSON diff prints it (``$.a``, ``$.items[2]``, ``$["weird key"]``) → its
    steps (``["items", 2]``). The leading ``$`` may be left out (``city``, ``items[0].name``).
    Raises ValueError for anything else."""
    if not isinstance(path, str) or not path:
        raise ValueError("a path is a non-empty string like $.city or $.items[0]")
    text = path[1:] if path.startswith("$") else path
    if text and text[0] not in ".[":
        text = "." + text
    steps: list[str | int] = []
    at = 0
    while at < len(text):
        m = _PATH_STEP.match(text, at)
        if not m:
            raise ValueError(f"path {path!r}: cannot read it from column {at + 1 + (len(path) - len(text))} (write $.key, [index] or [\"any key\"])")
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(2) is not None:
            steps.append(int(m.group(2)))
        else:
            steps.append(json.loads(m.group(3)))
        at = m.end()
    return steps


def _check_tool_args(v: Any) -> None:
    if not isinstance(v, dict) or set(v) - {"name", "match"} or "name" not in v or "match" not in v:
        raise ValueError("tool_args: the value is a mapping {name: TOOL, match: {PATH: VALUE, ...}}")
    if not isinstance(v["name"], str) or not _TOOL_NAME_RE.match(v["name"]):
        raise ValueError("tool_args: name must be a tool name (letters, digits, _ and -)")
    match = v["match"]
    if not isinstance(match, dict) or not match:
        raise ValueError("tool_args: match must be a non-empty mapping of JSON paths ($.city) to values")
    for path in match:
        try:
            parse_json_path(path)
        except ValueError as e:
            raise ValueError(f"tool_args: match: {e}") from None


def _schema_problem(schema: Any, what: str) -> str | None:
    """Why ``schema`` is not a JSON Schema object (jsonschema's metaschema check), or None."""
    if not isinstance(schema, dict):
        return f"{what} must be a JSON Schema object, got {_json_type(schema)}"
    import jsonschema

    try:
        _check_schema(json.dumps(schema, sort_keys=True))
    except jsonschema.SchemaError as e:
        return f"{what} is not a valid JSON Schema: {e.message}"
    return None


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "a boolean", str: "a string", int: "a number", float: "a number", list: "a list", dict: "a mapping"}.get(
        type(v), type(v).__name__
    )


def _tool(v: Any, i: int) -> dict[str, Any]:
    """One tool in OpenAI's function format, checked; returned as a plain dict in that format."""
    where = f"tools[{i}]"
    shape = "{type: function, function: {name, description, parameters}}"
    if not isinstance(v, dict):
        raise ValueError(f"{where}: a tool is a mapping {shape}, got {_json_type(v)}")
    if set(v) - {"type", "function"} or v.get("type", "function") != "function" or "function" not in v:
        raise ValueError(f"{where}: a tool is a mapping {shape} (only function tools are supported)")
    fn = v["function"]
    if not isinstance(fn, dict):
        raise ValueError(f"{where}.function: a mapping {{name, description, parameters}}, got {_json_type(fn)}")
    unknown = set(fn) - {"name", "description", "parameters", "strict"}
    if unknown:
        raise ValueError(f"{where}.function: unknown field {sorted(unknown)[0]!r} (known: name, description, parameters, strict)")
    name = fn.get("name")
    if not isinstance(name, str) or not _TOOL_NAME_RE.match(name):
        raise ValueError(f"{where}.function.name: 1-64 letters, digits, _ or - is required")
    if fn.get("description") is not None and not isinstance(fn["description"], str):
        raise ValueError(f"{where}.function.description: must be a string")
    if "strict" in fn and not isinstance(fn["strict"], bool):
        raise ValueError(f"{where}.function.strict: must be true or false")
    if "parameters" not in fn:
        raise ValueError(f"{where}: tool {name!r} has no parameters (a JSON Schema of its arguments, e.g. {{type: object, properties: {{}}}})")
    problem = _schema_problem(fn["parameters"], f"tool {name!r}: parameters")
    if problem:
        raise ValueError(f"{where}: {problem}")
    if fn["parameters"].get("type") != "object":
        raise ValueError(f"{where}: tool {name!r}: parameters must be an object schema (type: object), as every provider wants")
    return {"type": "function", "function": dict(fn)}


def _tools(v: Any) -> list[dict[str, Any]] | None:
    if v is None:
        return None
    if not isinstance(v, list):
        raise ValueError(f"tools: a list of tools {{type: function, function: {{name, description, parameters}}}}, got {_json_type(v)}")
    out = [_tool(t, i) for i, t in enumerate(v)]
    seen: set[str] = set()
    for i, t in enumerate(out):
        name = t["function"]["name"]
        if name in seen:
            raise ValueError(f"tools[{i}]: tool name {name!r} appears twice")
        seen.add(name)
    return out


def _tool_choice(v: Any) -> Any:
    if v is None or (isinstance(v, str) and v in TOOL_CHOICES):
        return v
    if isinstance(v, dict):
        fn = v.get("function")
        if set(v) == {"type", "function"} and v["type"] == "function" and isinstance(fn, dict) and set(fn) == {"name"}:
            if isinstance(fn["name"], str) and _TOOL_NAME_RE.match(fn["name"]):
                return {"type": "function", "function": {"name": fn["name"]}}
    raise ValueError("tool_choice: one of auto, none, required, or {type: function, function: {name: TOOL}}")


def _response_format(v: Any) -> dict[str, Any] | None:
    if v is None:
        return None
    shape = "{type: json_schema, json_schema: {name, schema, strict}} or {type: json_object}"
    if not isinstance(v, dict) or v.get("type") not in ("json_schema", "json_object", "text"):
        raise ValueError(f"response_format: {shape}")
    if v["type"] != "json_schema":
        if set(v) != {"type"}:
            raise ValueError(f"response_format: {v['type']} takes no other field")
        return {"type": v["type"]}
    js = v.get("json_schema")
    if set(v) != {"type", "json_schema"} or not isinstance(js, dict):
        raise ValueError(f"response_format: {shape}")
    unknown = set(js) - {"name", "schema", "strict", "description"}
    if unknown:
        raise ValueError(f"response_format.json_schema: unknown field {sorted(unknown)[0]!r} (known: name, schema, strict, description)")
    if not isinstance(js.get("name"), str) or not _TOOL_NAME_RE.match(js["name"]):
        raise ValueError("response_format.json_schema.name: 1-64 letters, digits, _ or - is required")
    if "strict" in js and not isinstance(js["strict"], bool):
        raise ValueError("response_format.json_schema.strict: must be true or false")
    if js.get("description") is not None and not isinstance(js["description"], str):
        raise ValueError("response_format.json_schema.description: must be a string")
    if "schema" not in js:
        raise ValueError("response_format.json_schema: schema is required (the JSON Schema the answer must satisfy)")
    problem = _schema_problem(js["schema"], "response_format.json_schema.schema")
    if problem:
        raise ValueError(problem)
    return {"type": "json_schema", "json_schema": dict(js)}


#: Parameters that have their own fields: written under ``params`` (as older suites did) they are
#: lifted into the field, so that each provider gets them translated and the checks see them.
_LIFTED = ("tools", "tool_choice", "response_format")
_INHERITED = "__inherited__"  # set on a raw case by Suite before validation: which fields came from the defaults


def _lift_params(data: Any) -> Any:
    if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
        return data
    if not any(k in data["params"] for k in _LIFTED):
        return data
    data = dict(data)
    params = dict(data["params"])
    for name in _LIFTED:
        if name in params:
            if data.get(name) is not None:
                raise ValueError(f"params.{name}: {name} is given twice (as a field and in params); keep the field")
            data[name] = params.pop(name)
    data["params"] = params
    return data


class Check(BaseModel):
    """One check on one output. Written in files as ``{kind: value}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: CheckKind
    value: Any = True
    ignore_case: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_mapping(cls, data: Any) -> Any:
        if isinstance(data, Check):
            return data
        if not isinstance(data, dict):
            raise ValueError(f"a check is a mapping like {{regex: 'refund'}}, got {type(data).__name__}")
        if "kind" in data:
            return data
        kinds = [k for k in data if k not in _CHECK_OPTIONS]
        if len(kinds) != 1:
            raise ValueError(
                "a check has exactly one kind (one of: " + ", ".join(CHECK_KINDS) + f"), got {kinds or 'none'}"
            )
        kind = kinds[0]
        if kind not in CHECK_KINDS:
            raise ValueError(f"unknown check {kind!r} (known: {', '.join(CHECK_KINDS)})")
        out = {"kind": kind, "value": data[kind]}
        if "ignore_case" in data:
            out["ignore_case"] = data["ignore_case"]
        return out

    @model_validator(mode="after")
    def _value_fits_kind(self) -> Check:
        k, v = self.kind, self.value
        if k in ("json", "not_refusal", "equals_reference", "no_tool_call", "tool_args_schema", "response_schema"):
            if v is not True:
                raise ValueError(f"{k}: the value must be true")
        elif k == "json_schema":
            if not isinstance(v, dict):
                raise ValueError("json_schema: the value must be a JSON Schema object")
            import jsonschema  # deferred: only suites that use schemas pay for the import

            try:
                _check_schema(json.dumps(v, sort_keys=True))
            except jsonschema.SchemaError as e:
                raise ValueError(f"json_schema: not a valid schema: {e.message}") from None
        elif k in ("regex", "not_regex"):
            if not isinstance(v, str):
                raise ValueError(f"{k}: the value must be a string")
            try:
                compile_check_regex(v, self.ignore_case)
            except RegexError as e:
                raise ValueError(f"{k}: {e}") from None
        elif k in ("contains", "not_contains"):
            ok = isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(s, str) for s in v))
            if not ok:
                raise ValueError(f"{k}: the value must be a string or a non-empty list of strings")
        elif k in ("max_words", "min_words"):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{k}: the value must be a non-negative integer")
        elif k == "similar_to_reference":
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 1:
                raise ValueError("similar_to_reference: the value must be a number in (0, 1]")
        elif k == "tool_called":
            if not isinstance(v, str) or not _TOOL_NAME_RE.match(v):
                raise ValueError("tool_called: the value must be a tool name (letters, digits, _ and -)")
        elif k == "tool_args":
            _check_tool_args(v)
        if self.ignore_case and k not in ("regex", "not_regex", "contains", "not_contains"):
            raise ValueError(f"{k}: ignore_case applies only to regex, not_regex, contains and not_contains")
        return self

    @property
    def needs_reference(self) -> bool:
        return self.kind in _NEEDS_REFERENCE

    @property
    def tool_name(self) -> str | None:
        """The tool a ``tool_called`` or ``tool_args`` check is about."""
        if self.kind == "tool_called":
            return self.value
        if self.kind == "tool_args":
            return self.value["name"]
        return None

    def tool_args_match(self) -> list[tuple[str, list[str | int], Any]]:
        """A ``tool_args`` check's expectations: ``(path as written, parsed path, value)``."""
        if self.kind != "tool_args":
            return []
        return [(path, parse_json_path(path), want) for path, want in self.value["match"].items()]

    def label(self) -> str:
        """Short human label, e.g. ``regex: refund`` or ``json``."""
        if self.value is True:
            return self.kind
        if self.kind == "json_schema":
            return "json_schema"
        if self.kind == "tool_args":
            shown = ", ".join(f"{p}={json.dumps(w, ensure_ascii=False)}" for p, w in self.value["match"].items())
            return f"tool_args: {self.value['name']}({shown})"
        v = self.value if not isinstance(self.value, list) else ", ".join(self.value)
        return f"{self.kind}: {v}" + (" (ignore case)" if self.ignore_case else "")

    def to_file(self) -> dict[str, Any]:
        """The mapping form used in suite files."""
        out: dict[str, Any] = {self.kind: self.value}
        if self.ignore_case:
            out["ignore_case"] = True
        return out


# ---------------------------------------------------------------------------------------------
# Cases and suites
# ---------------------------------------------------------------------------------------------

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
            raise ValueError(f"a tool call is a mapping {{id, type: function, function: {{name, arguments}}}}, got {_json_type(data)}")
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
                raise ValueError(f"messages[{i}]: an assistant tool call needs the case's tools (Anthropic refuses a conversation with tool calls and no tools)")
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
            raise ValueError(
                f"id {v!r} must start with a letter or digit and use only letters, digits and . _ : / @ + -"
            )
        return v

    @field_validator("tags")
    @classmethod
    def _tags_shape(cls, v: list[str]) -> list[str]:
        for t in v:
            if not t or any(c.isspace() for c in t):
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
        blob = json.dumps(self.model_dump(mode="json", exclude_none=True), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def case(self, case_id: str) -> Case:
        for c in self.cases:
            if c.id == case_id:
                return c
        raise KeyError(case_id)


# ---------------------------------------------------------------------------------------------
# Loading with locations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class SuiteError(ReviewerError):
    """One or more problems in suite files, each as ``file:line: message``."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class LoadedSuite:
    suite: Suite
    path: Path
    format: Literal["yaml", "jsonl"]
    case_lines: dict[str, int]

    @property
    def digest(self) -> str:
        return self.suite.digest()


_OWN_PLACE = re.compile(r"^(tools|messages|checks)\[(\d+)\]")


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts)


def _err_msg(err: dict[str, Any]) -> str:
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg


def load_suite(path: str | Path) -> LoadedSuite:
    """Load and validate a suite file. Raises ``SuiteError`` listing every problem found."""
    p = Path(path)
    try:
        text = read_text(p)
    except FileProblem as e:
        raise SuiteError([Problem(str(p), e.line, e.message)]) from None
    if p.suffix.lower() == ".jsonl":
        return _load_jsonl(p, text)
    return _load_yaml(p, text)


def _load_yaml(p: Path, text: str) -> LoadedSuite:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    try:
        doc = load_yaml(text, p, typ="rt")
    except FileProblem as e:
        raise SuiteError([Problem(str(p), e.line or 1, e.message)]) from None
    if not isinstance(doc, CommentedMap):
        raise SuiteError([Problem(str(p), 1, "a suite file is a mapping with 'suite' and 'cases'")])
    data = _plain(doc)
    if isinstance(data.get("cases"), list) and "suite" not in data:
        data["suite"] = p.stem

    def line_of(loc: tuple[Any, ...]) -> int:
        node: Any = doc
        line = 1
        for part in loc:
            try:
                if isinstance(node, CommentedMap) and part in node:
                    line = node.lc.key(part)[0] + 1
                    node = node[part]
                elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                    line = node.lc.item(part)[0] + 1
                    node = node[part]
                else:
                    break
            except (AttributeError, KeyError, IndexError, TypeError):
                break
        return line

    case_lines: dict[str, int] = {}
    cases = doc.get("cases")
    if isinstance(cases, CommentedSeq):
        for i, c in enumerate(cases):
            if isinstance(c, CommentedMap) and isinstance(c.get("id"), str):
                case_lines.setdefault(c["id"], cases.lc.item(i)[0] + 1)
    return _validate(p, data, line_of, "yaml", case_lines)


def _plain(node: Any) -> Any:
    """ruamel's round-trip types → plain dict/list/str, so pydantic sees ordinary values."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _load_jsonl(p: Path, text: str) -> LoadedSuite:
    """JSONL: one case per line. An optional first object with a ``suite`` key holds the
    suite's name, description and defaults."""
    problems: list[Problem] = []
    header: dict[str, Any] = {"suite": p.stem}
    cases: list[Any] = []
    case_linenos: list[int] = []
    # split on \n only: str.splitlines() also breaks at U+2028/U+0085, which JSON allows raw in strings
    for n, raw in enumerate(text.split("\n"), start=1):
        raw = raw.rstrip("\r")
        if not raw.strip():
            continue
        try:
            obj = json_value(raw, p, n)
        except json.JSONDecodeError as e:
            problems.append(Problem(str(p), n, f"invalid JSON: {e.msg} (column {e.colno})"))
            continue
        except FileProblem as e:
            problems.append(Problem(str(p), n, e.message))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(str(p), n, "each line is a JSON object (a case)"))
            continue
        if not cases and "suite" in obj and "id" not in obj:
            header = obj
            header_line = n
            continue
        cases.append(obj)
        case_linenos.append(n)
    data = {**header, "cases": cases}
    header_line = locals().get("header_line", 1)

    def line_of(loc: tuple[Any, ...]) -> int:
        if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int) and loc[1] < len(case_linenos):
            return case_linenos[loc[1]]
        return header_line

    case_lines = {
        c["id"]: case_linenos[i] for i, c in enumerate(cases) if isinstance(c.get("id"), str)
    }
    try:
        loaded = _validate(p, data, line_of, "jsonl", case_lines)
    except SuiteError as e:
        raise SuiteError(problems + e.problems) from None
    if problems:
        raise SuiteError(problems)
    return loaded


def _validate(p: Path, data: Any, line_of: Any, fmt: Literal["yaml", "jsonl"], case_lines: dict[str, int]) -> LoadedSuite:
    problems: list[Problem] = []
    raw_cases = data.get("cases") if isinstance(data, dict) else None
    try:
        suite = Suite.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(err["loc"])
            where = _fmt_loc(loc)
            prefix = ""
            if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int) and isinstance(raw_cases, list):
                c = raw_cases[loc[1]] if loc[1] < len(raw_cases) else None
                cid = c.get("id") if isinstance(c, dict) else None
                prefix = f"case {cid!r}: " if isinstance(cid, str) else f"case #{loc[1] + 1}: "
                where = _fmt_loc(loc[2:])
            msg = _err_msg(err)
            # a message that names its own place (``tools[1]: …``, ``messages[2]: …``, ``checks[0]: …``)
            # is not prefixed again, and points at that item's line
            m = _OWN_PLACE.match(msg)
            if m and where.split(".")[-1] == m.group(1):  # "tools" + "tools[1]: …" → "tools[1]: …"
                text, line = where[: -len(m.group(1))] + msg, line_of((*loc, int(m.group(2))))
            elif m and len(loc) == 2 and loc[0] == "cases":  # a case's own check naming its field
                text, line = msg, line_of((*loc, m.group(1), int(m.group(2))))
            else:
                text = f"{where}: {msg}" if where else msg
                line = line_of(loc)
            problems.append(Problem(str(p), line, f"{prefix}{text}"))
        suite = None  # type: ignore[assignment]
    seen: dict[str, int] = {}
    if isinstance(raw_cases, list):
        for i, c in enumerate(raw_cases):
            cid = c.get("id") if isinstance(c, dict) else None
            if not isinstance(cid, str):
                continue
            line = line_of(("cases", i))
            if cid in seen:
                problems.append(Problem(str(p), line, f"case {cid!r}: duplicate id (first at line {seen[cid]})"))
            else:
                seen[cid] = line
    if problems:
        problems.sort(key=lambda pr: pr.line)
        raise SuiteError(problems)
    return LoadedSuite(suite=suite, path=p, format=fmt, case_lines=case_lines)

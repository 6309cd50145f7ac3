"""Check kinds, what each one's value must be, and the :class:`Check` model (``{kind: value}``)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from ..checkregex import RegexError, compile_check_regex
from .tools import _TOOL_NAME_RE, _check_schema, _check_tool_args, parse_json_path

__all__ = ["CHECK_KINDS", "Check", "CheckKind"]

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

_NEEDS_REFERENCE = {"equals_reference", "similar_to_reference"}


class Check(BaseModel):
    """One check on one output. Written in files as ``{kind: value}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: CheckKind
    value: Any = True
    ignore_case: bool = False

    def __hash__(self) -> int:
        # a frozen model hashes its values, and a tool_args or json_schema value is a dict
        return hash((self.kind, json.dumps(self.value, sort_keys=True, default=str), self.ignore_case))

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
            raise ValueError("a check has exactly one kind (one of: " + ", ".join(CHECK_KINDS) + f"), got {kinds or 'none'}")
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

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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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
        if k in ("json", "not_refusal", "equals_reference"):
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
        if self.ignore_case and k not in ("regex", "not_regex", "contains", "not_contains"):
            raise ValueError(f"{k}: ignore_case applies only to regex, not_regex, contains and not_contains")
        return self

    @property
    def needs_reference(self) -> bool:
        return self.kind in _NEEDS_REFERENCE

    def label(self) -> str:
        """Short human label, e.g. ``regex: refund`` or ``json``."""
        if self.value is True:
            return self.kind
        if self.kind == "json_schema":
            return "json_schema"
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


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "developer", "user", "assistant"]
    content: str


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class Case(BaseModel):
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
        return self

    def build_messages(self, defaults: Defaults) -> list[dict[str, str]]:
        """The chat messages sent for this case: system (case, else suite default) then the prompt."""
        system = self.system if self.system is not None else defaults.system
        msgs: list[dict[str, str]] = []
        given = [m.model_dump() for m in self.messages] if self.messages is not None else []
        if system and not any(m["role"] in ("system", "developer") for m in given):
            msgs.append({"role": "system", "content": system})
        if self.prompt is not None:
            msgs.append({"role": "user", "content": self.prompt})
        msgs.extend(given)
        return msgs

    def build_params(self, defaults: Defaults) -> dict[str, Any]:
        return {**defaults.params, **self.params}


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str
    description: str | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    cases: list[Case] = Field(default_factory=list)

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
            text = f"{where}: {_err_msg(err)}" if where else _err_msg(err)
            problems.append(Problem(str(p), line_of(loc), f"{prefix}{text}"))
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

"""Tools, tool choice and response formats of suites and cases (OpenAI's function format, which
each provider translates), JSON paths as the tool checks write them, and the metaschema check of
every JSON Schema a suite holds. Plain functions raising ValueError: the models call them."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

__all__ = ["TOOL_CHOICES", "parse_json_path"]


@functools.lru_cache(maxsize=256)
def _check_schema(schema_json: str) -> None:
    """Meta-validate a schema once: a 10,000-case suite repeats the same few schemas, and
    jsonschema's check is most of the time spent loading such a suite."""
    import jsonschema

    schema = json.loads(schema_json)
    jsonschema.validators.validator_for(schema).check_schema(schema)


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
            raise ValueError(
                f'path {path!r}: cannot read it from column {at + 1 + (len(path) - len(text))} (write $.key, [index] or ["any key"])'
            )
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
        raise ValueError(
            f"{where}: tool {name!r} has no parameters (a JSON Schema of its arguments, e.g. {{type: object, properties: {{}}}})"
        )
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
        raise ValueError(
            f"tools: a list of tools {{type: function, function: {{name, description, parameters}}}}, got {_json_type(v)}"
        )
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
        fn: Any = v.get("function")
        shaped = set(v) == {"type", "function"} and v["type"] == "function" and isinstance(fn, dict) and set(fn) == {"name"}
        if shaped and isinstance(fn["name"], str) and _TOOL_NAME_RE.match(fn["name"]):
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
        raise ValueError(
            f"response_format.json_schema: unknown field {sorted(unknown)[0]!r} (known: name, schema, strict, description)"
        )
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

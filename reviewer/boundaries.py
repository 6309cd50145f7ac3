"""Pydantic at the package's untrusted boundaries (labels files, promptfoo files, ``run --config``):
the shared field types and the one way a :class:`pydantic.ValidationError` becomes
:class:`~reviewer.errors.Problem` lines that name the file, the line and the field.

A validator that knows better words than pydantic's raises ``ValueError("expected …")``; the
field path comes from the error's ``loc`` (``messages[1].content``), never from the message.
Imported lazily by the commands (building the CLI parser must not load pydantic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import BaseModel, BeforeValidator, RootModel, ValidationError
from pydantic_core import ErrorDetails

from .errors import Problem, field_path

__all__ = [
    "KeymapFile",
    "NameStr",
    "NonEmptyStr",
    "OptionalStr",
    "error_message",
    "first_problem",
    "problems_from",
    "read_keymap",
    "yaml_locator",
]

#: pydantic's own words for the errors our models can raise without a validator of ours.
_PLAIN = {
    "missing": "missing",
    "extra_forbidden": "unknown key",
    "string_type": "expected a string",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "int_parsing": "expected a whole number",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
}


def error_message(err: ErrorDetails) -> str:
    """The message of one pydantic error, in our words where we have them."""
    ctx = err.get("ctx") or {}
    if err["type"] == "value_error" and "error" in ctx:
        return str(ctx["error"])
    plain = _PLAIN.get(err["type"])
    if plain is not None:
        if err["type"] in ("int_type", "int_from_float", "int_parsing", "string_type", "dict_type", "list_type"):
            return f"{plain}, got {_describe(err.get('input'))}"
        return plain
    return err["msg"].removeprefix("Value error, ")


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def problems_from(
    e: ValidationError,
    file: str,
    line: int | Callable[[Sequence[Any]], int | None] | None,
    *,
    prefix: str = "",
    case_id: str | None = None,
    model: type[BaseModel] | None = None,
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, the field named by its location; ``line`` is the
    line of the whole input, or a function of the error's ``loc`` (see :func:`yaml_locator`).
    With ``model``, an unknown key is reported as ``unknown key 'x' (known: a, b)`` on its parent."""
    out = []
    for err in e.errors():
        loc = err["loc"]
        at = line(loc) if callable(line) else line
        if err["type"] == "extra_forbidden" and loc:
            known = _known_keys(model, loc[:-1]) if model is not None else None
            message = f"unknown key {str(loc[-1])!r}" + (f" (known: {', '.join(known)})" if known else "")
            out.append(Problem(file, at, message, field=field_path(loc[:-1], prefix), case_id=case_id))
            continue
        out.append(Problem(file, at, error_message(err), field=field_path(loc, prefix), case_id=case_id))
    return out


def _known_keys(model: type[BaseModel], loc: Sequence[Any]) -> list[str] | None:
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        info = current.model_fields.get(str(part))
        current = _model_in(info.annotation) if info is not None else None
    return sorted(current.model_fields) if current is not None else None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def first_problem(
    e: ValidationError, file: str, line: int | Callable[[Sequence[Any]], int | None] | None, *, prefix: str = ""
) -> Problem:
    return problems_from(e, file, line, prefix=prefix)[0]


def _non_empty_str(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a non-empty string")
    return value


def _optional_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("expected a string or null")
    return value


#: A string with at least one character; never a number turned into one.
NonEmptyStr = Annotated[str, BeforeValidator(_non_empty_str)]
#: A string or null; never a number turned into one.
OptionalStr = Annotated[str | None, BeforeValidator(_optional_str)]


def _text(value: Any) -> str | None:
    """A name written in YAML: a string, or a number meant as one (``name: 2024``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected a string, got {_describe(value)}")


#: A human name: a string, a number read as its text, or null.
NameStr = Annotated[str | None, BeforeValidator(_text)]


def yaml_locator(text: str, file: str | Path) -> Callable[[Sequence[Any]], int | None]:
    """``loc → line`` for a YAML text (1-based; the line of the deepest key or item of ``loc`` that
    exists in the file). Loads the text again with ruamel's round-trip types (bounded), which is only
    worth it once something is wrong, so call it on a ValidationError."""
    from .safeyaml import FileProblem, load_yaml

    try:
        doc = load_yaml(text, file, typ="rt")
    except FileProblem:
        doc = None

    def line_of(loc: Sequence[Any]) -> int | None:
        node, line = doc, None
        for part in loc:
            lc = getattr(node, "lc", None)
            if lc is None:
                break
            try:
                if isinstance(node, dict) and part in node:
                    line, node = lc.key(part)[0] + 1, node[part]
                elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                    line, node = lc.item(part)[0] + 1, node[part]
                else:
                    break
            except (KeyError, IndexError, TypeError, AttributeError):
                break
        if line is None and getattr(doc, "lc", None) is not None and not loc:
            line = doc.lc.line + 1
        return line

    return line_of


# ---------------------------------------------------------------------------------------------
# The app's keymap (reviewer/app/app.py reads it; here so it needs no Textual)
# ---------------------------------------------------------------------------------------------


def _keymap_mapping(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("expected lines like `label.noise: z`")
    return value


def _keys(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected keys like `z` or `ctrl+s,z`")
    return value


class KeymapFile(RootModel[dict[str, Annotated[str, BeforeValidator(_keys)]]]):
    """``keymap.yaml``: ``binding-id: key[,key…]`` (e.g. ``label.noise: z``)."""

    root: Annotated[dict[str, Annotated[str, BeforeValidator(_keys)]], BeforeValidator(_keymap_mapping)]


def read_keymap(path: Path) -> tuple[dict[str, str], str | None]:
    """The keymap in ``path`` (bounded read) and a problem to report, if any: a broken keymap is
    ignored with one line that names the file, the line and the binding; it never stops a review."""
    from .safeyaml import FileProblem, load_yaml, read_text

    try:
        text = read_text(path)
        data = load_yaml(text, path)
    except FileProblem as e:
        return {}, f"{e} (keymap ignored)"
    except OSError as e:
        return {}, f"{path}: ignored ({e.strerror or e})"
    try:
        return dict(KeymapFile.model_validate(data).root), None
    except ValidationError as e:
        first = problems_from(e, str(path), yaml_locator(text, path))[0]
        return {}, f"{first} (keymap ignored)"

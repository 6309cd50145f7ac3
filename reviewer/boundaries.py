"""Pydantic at the package's untrusted boundaries (labels files, promptfoo files, ``run --config``):
the shared field types and the one way a :class:`pydantic.ValidationError` becomes
:class:`~reviewer.errors.Problem` lines that name the file, the line and the field.

A validator that knows better words than pydantic's raises ``ValueError("expected …")``; the
field path comes from the error's ``loc`` (``messages[1].content``), never from the message.
Imported lazily by the commands (building the CLI parser must not load pydantic).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError
from pydantic_core import ErrorDetails

from .errors import Problem, field_path

__all__ = ["NonEmptyStr", "OptionalStr", "error_message", "problems_from", "first_problem"]

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
    e: ValidationError, file: str, line: int | None, *, prefix: str = "", case_id: str | None = None
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, the field named by its location."""
    return [
        Problem(file, line, error_message(err), field=field_path(err["loc"], prefix), case_id=case_id) for err in e.errors()
    ]


def first_problem(e: ValidationError, file: str, line: int | None, *, prefix: str = "") -> Problem:
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

"""``reviewer run --config FILE``: the YAML that names both sides, validated by one pydantic model.

::

    baseline: {id: openai:gpt-4o-2024-08-06, label: "prod, May", params: {temperature: 0.1}}
    candidate: openai:gpt-4o          # a side is a SPEC, or {id, label, params}
    samples: 3
    concurrency: 8
    params: {max_tokens: 400}         # for both sides
    name: march-refresh

Unknown keys are errors (a typo such as ``sampels`` must not be ignored); every problem is one line
``--config FILE:LINE: field: message``. Imported only by ``reviewer run`` (the CLI parser stays
free of pydantic).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, ValidationError, model_validator

from ..boundaries import NameStr, problems_from, yaml_locator
from ..errors import UsageError
from ..safeyaml import FileProblem, load_yaml, read_text
from ..untrusted import visible

__all__ = ["RunConfig", "SideConfig", "load_run_config"]


def _mapping_or_empty(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("expected a mapping")
    return value


Params = Annotated[dict[str, Any], BeforeValidator(_mapping_or_empty)]


class SideConfig(BaseModel):
    """One side: ``SPEC`` or ``{id: SPEC, label: NAME, params: {...}}``."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, Strict()]
    label: NameStr = None
    params: Params = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _spec_or_mapping(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"id": value}
        if not isinstance(value, dict):
            raise ValueError("expected a SPEC string or {id: SPEC, label: NAME, params: {...}}")
        return value


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    baseline: SideConfig | None = None
    candidate: SideConfig | None = None
    samples: Annotated[int, Strict()] = 1
    concurrency: Annotated[int, Strict()] = 8
    params: Params = Field(default_factory=dict)
    name: NameStr = None

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("expected a mapping with baseline and candidate")
        return value


def load_run_config(path: str | Path) -> RunConfig:
    """Read (bounded) and validate ``path``; every problem becomes one line of a :class:`UsageError`."""
    try:  # the one bounded loader: an alias bomb or a deep nest in a config is refused at once
        text = read_text(path)
        data = load_yaml(text, path)
    except FileProblem as e:
        raise UsageError(f"--config {e}") from None
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        problems = problems_from(e, str(path), yaml_locator(text, path), model=RunConfig)
        raise UsageError("\n".join(visible(f"--config {p}") for p in problems)) from None

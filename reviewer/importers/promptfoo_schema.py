"""The shapes of promptfoo's files as pydantic models: a ``promptfooconfig.yaml`` (prompts, tests,
defaultTest, providers) and an ``eval -o results.json`` (results ``version: 3``, promptfoo 0.123).

promptfoo writes and accepts far more than we read, so every model allows unknown keys, and a field
we only use when it has the right type (a description, a label, a token count) is *tolerated*: a
wrong type reads as absent, as it always has. The fields an import cannot do without (the prompts,
the tests, a result's provider) are checked, with messages that say what was expected; the importer
turns the errors into ``file:line: field: message`` (see :mod:`reviewer.boundaries`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core.core_schema import ValidatorFunctionWrapHandler

from ..boundaries import NameStr

__all__ = [
    "PromptfooConfig",
    "PromptfooPrompt",
    "PromptfooProvider",
    "PromptfooResponse",
    "PromptfooResult",
    "PromptfooResultPrompt",
    "PromptfooResults",
    "PromptfooResultsConfig",
    "PromptfooResultsFile",
    "PromptfooTest",
    "TestList",
    "Tolerant",
]  # fmt: skip


def _tolerate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


#: ``Annotated[T | None, Tolerant]``: the value when it is a T, else None (never an error).
Tolerant = WrapValidator(_tolerate)

_Dict = Annotated[dict[str, Any] | None, Tolerant]
_Str = Annotated[str | None, Tolerant]


def _mapping(message: str) -> Any:
    def check(value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(message)
        return value

    return BeforeValidator(check)


def _list(message: str) -> Any:
    def check(value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError(message)
        return value

    return BeforeValidator(check)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# ---------------------------------------------------------------------------------------------
# promptfooconfig.yaml
# ---------------------------------------------------------------------------------------------


class PromptfooPrompt(_Open):
    """``'text'``, ``file://prompt.txt`` or ``{raw, label|id}``."""

    raw: str
    label: NameStr = None

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"raw": value}
        if isinstance(value, dict) and isinstance(value.get("raw"), str):
            return {**value, "label": value.get("label") or value.get("id")}
        raise ValueError("expected a string, {raw, label} or file://PATH")


def _prompt_list(value: Any) -> Any:
    """promptfoo's shorthands: one string, one ``{raw, label}``, or ``{raw text: label}``."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [value] if "raw" in value else [{"raw": k, "label": v} for k, v in value.items()]
    if not isinstance(value, list) or not value:
        raise ValueError("expected a list of prompts")
    return value


class PromptfooTest(_Open):
    """One test: vars (a list-valued var expands into every value), assertions, a description."""

    vars: Annotated[dict[str, Any], _mapping("expected a mapping of variable names to values")] = Field(default_factory=dict)
    assert_: Annotated[list[Any], _list("expected a list of assertions")] = Field(default_factory=list, alias="assert")
    description: Any = None
    metadata: _Dict = None

    @model_validator(mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("expected a mapping with vars and assert")
        return value

    @property
    def tags(self) -> list[Any]:
        tags = (self.metadata or {}).get("tags", [])
        return tags if isinstance(tags, list) else []


#: The tests: each item is a mapping (validated as a :class:`PromptfooTest` one by one, so an error
#: names ``tests[i]``) or a ``file://`` reference inside the list (reported as skipped, not read).
TestList = Annotated[list[Any], _list("expected a list of tests (or file://tests.yaml|json|jsonl|csv)")]


def _tests_or_file(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("file://"):
        return value
    return _TESTS_CHECK(value)


_TESTS_CHECK = _list("expected a list of tests (or file://tests.yaml|json|jsonl|csv)").func


class PromptfooConfig(_Open):
    prompts: Annotated[list[PromptfooPrompt], BeforeValidator(_prompt_list)] = Field(default=None, validate_default=True)
    #: a list, or ``file://tests.csv|yaml|json|jsonl`` (read by the importer, then checked as a TestList)
    tests: Annotated[Any, BeforeValidator(_tests_or_file)] = None
    defaultTest: Annotated[PromptfooTest, _mapping("expected a mapping")] = Field(default_factory=PromptfooTest)
    providers: Annotated[list[Any] | None, Tolerant] = None
    description: _Str = None
    scenarios: Any = None

    @model_validator(mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("a promptfoo config is a mapping with prompts and tests")
        return value


# ---------------------------------------------------------------------------------------------
# eval -o results.json
# ---------------------------------------------------------------------------------------------


class PromptfooProvider(_Open):
    """``"openai:chat:gpt-4o"`` or ``{id, label, config}``."""

    id: str
    label: _Str = None
    config: _Dict = None

    @property
    def key(self) -> tuple[str, str]:
        """(id, label): the label is the id when there is none."""
        return self.id, self.label or self.id


def _provider(value: Any) -> Any:
    if isinstance(value, str):
        return {"id": value}
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value
    raise ValueError("missing provider id")


ProviderRef = Annotated[PromptfooProvider, BeforeValidator(_provider)]


class PromptfooResultPrompt(_Open):
    raw: _Str = None
    label: Any = None


class PromptfooResponse(_Open):
    output: Any = None
    error: _Str = None
    finishReason: _Str = None
    tokenUsage: _Dict = None
    latencyMs: Any = None


class PromptfooResult(_Open):
    """One (prompt, test, provider) of an eval."""

    provider: ProviderRef = Field(default=None, validate_default=True)
    prompt: Annotated[PromptfooResultPrompt | None, Tolerant] = None
    response: Annotated[PromptfooResponse | None, Tolerant] = None
    error: Any = None
    testCase: _Dict = None
    vars: _Dict = None
    promptId: Any = None
    promptIdx: Any = None
    testIdx: Any = None
    failureReason: Any = None
    latencyMs: Any = None
    tokenUsage: Any = None

    @model_validator(mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("expected an object")
        return value


def _results_list(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise ValueError("expected a non-empty list of results")
    return value


class PromptfooResults(_Open):
    version: Any = None
    timestamp: _Str = None
    results: Annotated[list[PromptfooResult], BeforeValidator(_results_list)] = Field(default=None, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("not a promptfoo results file (run `promptfoo eval -o results.json`)")
        return value

    @field_validator("version")
    @classmethod
    def _supported(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and value < 2:
            raise ValueError(f"{value}: results from promptfoo before 0.4x are not supported; re-export with a current promptfoo")
        return value


class PromptfooResultsConfig(_Open):
    providers: Annotated[list[Annotated[ProviderRef | None, Tolerant]] | None, Tolerant] = None
    description: _Str = None

    @property
    def provider_list(self) -> list[PromptfooProvider]:
        return [p for p in self.providers or [] if p is not None]


class PromptfooResultsFile(_Open):
    results: PromptfooResults = Field(default=None, validate_default=True)
    config: Annotated[PromptfooResultsConfig | None, Tolerant] = None
    metadata: _Dict = None
    evalId: _Str = None

    @model_validator(mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}  # not even a mapping: reported as "results: not a promptfoo results file"

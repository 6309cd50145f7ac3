"""What the store hands out: one dataclass per kind of row, the one verdict type, and the one
row → object mapping for outputs (:func:`output_from_row`). No SQL here."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from ..suite import Suite
from ..toolcall import ToolCall, dump_tool_calls, load_tool_calls

Side = Literal["baseline", "candidate"]


class Verdict(StrEnum):
    """A reviewer's label on a change. The one list of verdicts: the store, labels I/O, the app
    and the labels table's CHECK (generated from it) use this enum. Its members are ``str``s."""

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    ACCEPTABLE = "acceptable"
    NOISE = "noise"


#: The verdicts' values, in the enum's order.
VERDICTS: tuple[str, ...] = tuple(v.value for v in Verdict)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class Output:
    case_id: str
    sample: int
    text: str | None = None
    resolved_model: str | None = None
    system_fingerprint: str | None = None
    finish_reason: str | None = None
    refusal: str | None = None
    usage: dict[str, Any] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    error_status: int | None = None
    request_id: str | None = None
    attempts: int = 1
    cache_key: str | None = None
    cached_from: int | None = None
    id: int | None = None
    created_at: str | None = None
    #: the tool calls of the answer, in the order the model made them (empty: none)
    tool_calls: tuple[ToolCall, ...] = ()
    stop_details: dict[str, Any] | None = None
    reasoning: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


OUTPUT_COLS = [
    "case_id", "sample", "text", "resolved_model", "system_fingerprint", "finish_reason", "refusal",
    "usage", "input_tokens", "output_tokens", "latency_ms", "error", "error_status", "request_id",
    "attempts", "cache_key", "cached_from", "tool_calls", "stop_details", "reasoning",
]  # fmt: skip
#: columns stored as JSON text, with how to encode them
OUTPUT_JSON: dict[str, Callable[[Any], str | None]] = {
    "usage": json.dumps,
    "tool_calls": dump_tool_calls,
    "stop_details": json.dumps,
}
output_values = operator.attrgetter(*OUTPUT_COLS)
OUTPUT_SELECT = ", ".join(f.name for f in fields(Output))  # Output's fields, in order


@dataclass(slots=True)
class Run:
    id: int
    suite_id: int
    side: str | None
    label: str | None
    provider: str
    model: str
    base_url: str | None
    params: dict[str, Any]
    samples: int
    started_at: str
    finished_at: str | None
    status: str

    @property
    def spec(self) -> str:
        return f"{self.provider}:{self.model}"


@dataclass(slots=True)
class SuiteRecord:
    id: int
    name: str
    digest: str
    path: str | None
    format: str | None
    suite: Suite
    created_at: str


@dataclass(slots=True)
class Comparison:
    id: int
    name: str | None
    suite_id: int
    baseline_run_id: int
    candidate_run_id: int
    created_at: str
    finished_at: str | None
    status: str


@dataclass(slots=True)
class ComparisonSummary:
    """One line of ``reviewer comparisons``."""

    id: int
    name: str | None
    suite: str
    suite_digest: str
    baseline: str
    candidate: str
    created_at: str
    status: str
    baseline_base_url: str | None
    candidate_base_url: str | None
    cases: int | None  # None: unknown, the store is damaged (status "damaged")
    samples: int
    outputs: int | None
    errors: int | None
    labelled: int | None


@dataclass(slots=True)
class Label:
    comparison_id: int
    case_id: str
    reviewer: str
    verdict: Verdict
    severity: int | None = None
    note: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


@dataclass(slots=True)
class Signoff:
    comparison_id: int
    signer: str
    note: str | None
    created_at: str
    body_digest: str | None = None
    id: int | None = None


@dataclass(slots=True)
class Judgment:
    """One answer of a pairwise judge (``reviewer judge``) for one order of one sample pair.
    ``better`` is "1" / "2" / "tie" as answered (Answer 1 is the baseline when ``position`` is
    ``baseline_first``), None when the answer could not be read (``parsed`` "none") or the call
    failed (``error``). A suggestion: never a label."""

    comparison_id: int
    case_id: str
    sample: int
    judge: str
    rubric_digest: str
    position: str
    better: str | None = None
    reason: str | None = None
    parsed: str | None = None
    raw: str | None = None
    resolved_model: str | None = None
    error: str | None = None
    error_status: int | None = None
    request_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    attempts: int = 1
    cache_key: str | None = None
    cached_from: int | None = None
    id: int | None = None
    created_at: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


JUDGMENT_COLS = [f.name for f in fields(Judgment) if f.name not in ("id", "created_at")]


@dataclass(slots=True)
class ComparisonData:
    """Everything needed to review one comparison, loaded in one go."""

    comparison: Comparison
    suite: SuiteRecord
    baseline: Run
    candidate: Run
    #: case id -> outputs of that case ordered by sample, per side
    baseline_outputs: dict[str, list[Output]] = field(default_factory=dict)
    candidate_outputs: dict[str, list[Output]] = field(default_factory=dict)

    def outputs(self, side: Side) -> dict[str, list[Output]]:
        return self.baseline_outputs if side == "baseline" else self.candidate_outputs


def run_from_row(r: dict[str, Any]) -> Run:
    r = dict(r)
    r["params"] = json.loads(r["params"]) if r["params"] else {}
    return Run(**r)


def output_from_row(row: tuple[Any, ...] | list[Any]) -> Output:
    """An output from a row of ``SELECT {OUTPUT_SELECT}``, its JSON columns decoded: the one
    row → object mapping. Positional: 10,000-case comparisons load 60k outputs, and building a
    dict per row first took most of the time."""
    o = Output(*row)
    if o.usage is not None:
        o.usage = json.loads(o.usage)  # type: ignore[arg-type]
    if o.tool_calls is None:
        o.tool_calls = ()
    elif not isinstance(o.tool_calls, tuple):
        o.tool_calls = load_tool_calls(o.tool_calls)
    if o.stop_details is not None:
        o.stop_details = json.loads(o.stop_details)  # type: ignore[arg-type]
    return o


def label_from_row(r: dict[str, Any]) -> Label:
    r = dict(r)
    r["verdict"] = Verdict(r["verdict"])
    return Label(**r)

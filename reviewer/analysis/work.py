"""One chunk of cases assessed from their own outputs: the unit of work of the serial path and of
each worker process of the pool (:mod:`reviewer.analysis`). A worker reads its chunk's outputs
through a read-only connection of its own, so no process ever holds every output at once.

Imported by the pool's worker processes (the forkserver preloads it): keep its imports to what
assessing needs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..diff import Sample, assess_case
from ..store.reader import StoreReader
from ..store.records import Output
from ..suite import Case, Suite
from .rows import RankRow, rank_row

__all__ = ["MISSING", "Plan", "assess_chunk", "assess_ids", "chunk_rows", "ready", "samples_of", "split_suite", "validate_chunk"]

MISSING = "no output stored for this sample (the run is incomplete)"


@dataclass(frozen=True, slots=True)
class Plan:
    """What every chunk of one comparison's assessment shares (small: sent to each worker)."""

    db: str
    suite_id: int
    baseline_run: int
    candidate_run: int
    #: samples a side (None: an imported run, whose cases hold the samples they hold)
    baseline_samples: int | None
    candidate_samples: int | None


def samples_of(outputs: Sequence[Output], samples: int | None) -> list[Sample]:
    """Samples 0..samples-1 of one side (``None``: the samples that exist, at least one); a
    missing or failed call is an errored sample."""
    by_index = {o.sample: o for o in outputs}
    if samples is None:
        samples = max(len(by_index), 1)
        by_index = dict(enumerate(sorted(outputs, key=lambda o: o.sample)))
    out = []
    for i in range(samples):
        o = by_index.get(i)
        if o is None:
            out.append(Sample(text="", error=MISSING))
        else:
            out.append(Sample(text=o.text or "", finish_reason=o.finish_reason, refusal=o.refusal, error=o.error,
                              tool_calls=o.tool_calls))  # fmt: skip
    return out


def chunk_rows(reader: StoreReader, plan: Plan, cases: Sequence[Case]) -> list[RankRow]:
    """The stored rows of these cases (suite order), their outputs read in one go."""
    base, cand = reader.cases_outputs(plan.baseline_run, plan.candidate_run, [c.id for c in cases])
    rows = []
    for case in cases:
        b_outs, c_outs = base.get(case.id, []), cand.get(case.id, [])
        a = assess_case(
            case.id,
            samples_of(b_outs, plan.baseline_samples),
            samples_of(c_outs, plan.candidate_samples),
            checks=case.checks,
            reference=case.reference,
            tools=case.tools,
            response_format=case.response_format,
        )
        rows.append(rank_row(a, case.checks, b_outs, c_outs))
    return rows


def ready() -> None:
    """Nothing: what a pool submits first so that its workers start before its first chunk is
    known."""


# per worker process: its reader, opened once and kept for its next chunks
_readers: dict[str, StoreReader] = {}


def validate_chunk(head: dict[str, Any], cases: list[dict[str, Any]]) -> list[Case]:
    """Some cases of a stored suite (its JSON, decoded), validated as the whole suite validates
    them: a suite of these cases with the same head (name, defaults), whose rules apply case by
    case. So no process ever holds every validated case (100,000 take ~300 MB)."""
    return Suite.model_validate({**head, "cases": cases}).cases


def split_suite(content: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A stored suite's JSON as (its head: every key but ``cases``; its cases, not validated)."""
    doc = json.loads(content)
    cases = doc.pop("cases", [])
    return doc, cases


def _reader(db: str) -> StoreReader:
    reader = _readers.get(db)
    if reader is None:
        reader = _readers[db] = StoreReader(Path(db))
    return reader


def assess_chunk(plan: Plan, head: dict[str, Any], cases: list[dict[str, Any]]) -> list[RankRow]:
    """A worker's job: these cases of the plan's comparison (decoded JSON, validated here), as
    stored rows."""
    return chunk_rows(_reader(plan.db), plan, validate_chunk(head, cases))


# per worker process: the stored suites it was asked about, (head, cases by id), decoded once
_suites: dict[tuple[str, int], tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {}


def assess_ids(plan: Plan, case_ids: list[str]) -> list[RankRow]:
    """:func:`assess_chunk` of the cases of these ids: the worker reads the stored suite itself
    (once), so the process that sends the work holds none of it."""
    reader = _reader(plan.db)
    suite = _suites.get((plan.db, plan.suite_id))
    if suite is None:
        head, cases = split_suite(reader.suite_content(plan.suite_id))
        suite = _suites[(plan.db, plan.suite_id)] = (head, {c["id"]: c for c in cases})
    head, by_id = suite
    return chunk_rows(reader, plan, validate_chunk(head, [by_id[i] for i in case_ids]))

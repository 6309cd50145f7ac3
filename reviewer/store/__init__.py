"""The local SQLite store: suites, runs, outputs, comparisons, labels, judgments and sign-offs.
The only place that runs SQL (the schema: docs/schema.md).

- :mod:`.records`: the dataclasses handed out, :class:`Verdict`, the one row → ``Output`` mapping;
- :mod:`.schema`: the migrations and ``schema_markdown()``;
- :mod:`.errors`: the store's errors and the one-line message for an SQLite error;
- :mod:`.core`: the connection, transactions under one lock, lock waiting, health checks;
- :mod:`.runs`, :mod:`.comparisons`, :mod:`.labels`, :mod:`.judgments`: typed methods per table;
- :mod:`.reader`: read-only per-thread queries of the review session; :mod:`.health`: doctor's report.

Never imports the providers, the diff engine or Textual. API keys never reach this package.
"""

from __future__ import annotations

from .batches import BatchesMixin
from .comparisons import resolve_comparison_id
from .core import CHECK_THREAD, connect_readonly, lower_thread_priority
from .errors import StoreDamaged, StoreError, StoreReadOnly, damaged_message, sqlite_error_message, why_not_writable
from .judgments import JudgmentsMixin
from .labels import LabelsMixin
from .reader import StoreReader
from .records import (
    VERDICTS,
    Comparison,
    ComparisonData,
    ComparisonSummary,
    Judgment,
    Label,
    Output,
    Run,
    Side,
    Signoff,
    SuiteRecord,
    Verdict,
    now_iso,
)
from .schema import MIGRATIONS, SCHEMA_VERSION, schema_markdown

__all__ = [
    "CHECK_THREAD", "MIGRATIONS", "SCHEMA_VERSION", "VERDICTS", "Comparison", "ComparisonData", "ComparisonSummary", "Judgment",
    "Label", "Output", "Run", "Side", "Signoff", "Store", "StoreDamaged", "StoreError", "StoreReadOnly",
    "StoreReader", "SuiteRecord", "Verdict", "connect_readonly", "damaged_message", "lower_thread_priority", "now_iso",
    "resolve_comparison_id", "schema_markdown", "sqlite_error_message", "why_not_writable",
]  # fmt: skip


class Store(LabelsMixin, JudgmentsMixin, BatchesMixin):
    """One SQLite file. Safe to share between threads of one process (writes are serialised
    by a lock) and between processes (WAL + busy timeout). ``Store(path, readonly=..., busy_timeout_ms=...,
    on_wait=...)``: see :class:`reviewer.store.core.StoreCore`."""


def __getattr__(name: str) -> object:
    if name == "last_opened":  # the store most recently opened in this process (set by StoreCore)
        from . import errors

        return errors.last_opened
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

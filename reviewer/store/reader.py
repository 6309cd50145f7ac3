"""Read-only queries on connections of their own, one per thread: what the review session reads
per case while the UI thread and its workers run side by side (:meth:`Store.reader`). They never
take the store's lock, so a worker reading never waits on a write of the UI thread."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, Self

from ..toolcall import load_tool_calls
from .core import connect_readonly
from .records import OUTPUT_SELECT, Comparison, Output, output_from_row

__all__ = ["StoreReader", "StoredSuite"]


def _origins_of(rows: Iterable[tuple[int, str | None, str | None, int]]) -> Origins:
    """:data:`Origins` from (failed, resolved model, fingerprint, outputs) groups."""
    n = errors = 0
    models: dict[str, int] = {}
    prints: dict[str, int] = {}
    for failed, model, fp, count in rows:
        n += count
        if failed:
            errors += count
            continue
        if model:
            models[model] = models.get(model, 0) + count
        if fp:
            prints[fp] = prints.get(fp, 0) + count
    return n, errors, models, prints


class StoredSuite(NamedTuple):
    """A ``suites`` row as stored: ``content`` is the validated suite's JSON dump."""

    id: int
    name: str
    digest: str
    path: str | None
    format: str | None
    content: str
    created_at: str
    outline: str | None = None  # reviewer.store.outline.outline_json of the content (None: not stored)


#: SQLite virtual-machine steps between two looks at a search's cancel flag (~a millisecond's work).
CHECK_EVERY = 20_000


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # not on every platform
        return False


#: (outputs, errors, answers per resolved model, answers per system fingerprint) of a run
Origins = tuple[int, int, dict[str, int], dict[str, int]]


def outputs_identity(conn: sqlite3.Connection, comparison: Comparison) -> str:
    """What changes whenever an output of the comparison is added or replaced (the assessment
    cache's key): a count of its outputs (~70 ms at 600,000 outputs) and their last id."""
    ids = (comparison.baseline_run_id, comparison.candidate_run_id)
    row = conn.execute("SELECT COUNT(*), MAX(id) FROM outputs WHERE run_id IN (?, ?)", ids).fetchone()
    runs = conn.execute("SELECT provider, samples FROM runs WHERE id IN (?, ?) ORDER BY id", ids).fetchall()
    return f"{comparison.suite_id}:{ids}:{row[0]}:{row[1]}:{runs}"


class StoreReader:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            path = self.path.resolve()
            if _read_only_mount(path):  # nothing can write it: read as ``immutable`` (no -shm file can be made)
                conn = connect_readonly(path, timeout_s=10)
            else:  # another process may write it while this reader lives (the app polls labels): never immutable
                conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True, timeout=10, check_same_thread=False)
            self._local.conn = conn
        return conn

    def case_outputs(self, baseline_run_id: int, candidate_run_id: int, case_id: str) -> tuple[list[Output], list[Output]]:
        """One case's outputs of both runs, each ordered by sample (one indexed query:
        ``UNIQUE (run_id, case_id, sample)``)."""
        rows = (
            self._conn()
            .execute(
                f"SELECT run_id, {OUTPUT_SELECT} FROM outputs WHERE run_id IN (?, ?) AND case_id = ? ORDER BY sample",
                (baseline_run_id, candidate_run_id, case_id),
            )
            .fetchall()
        )
        base: list[Output] = []
        cand: list[Output] = []
        for row in rows:
            (base if row[0] == baseline_run_id else cand).append(output_from_row(row[1:]))
        return base, cand

    def cases_outputs(
        self, baseline_run_id: int, candidate_run_id: int, case_ids: Sequence[str]
    ) -> tuple[dict[str, list[Output]], dict[str, list[Output]]]:
        """Some cases' outputs of both runs by case, with what the diff engine reads of them
        (sample, text, finish reason, refusal, error, tool calls) and what the changelog counts
        (latency, tokens); the rest left unset: one chunk of an assessment (a worker process
        reads its own chunk; nothing holds every output at once). Within a case, in no
        particular order of samples."""
        base: dict[str, list[Output]] = {}
        cand: dict[str, list[Output]] = {}
        conn = self._conn()
        for i in range(0, len(case_ids), 500):
            chunk = case_ids[i : i + 500]
            rows = conn.execute(
                "SELECT run_id, case_id, sample, text, finish_reason, refusal, error, tool_calls, latency_ms, input_tokens,"
                f" output_tokens FROM outputs WHERE run_id IN (?, ?) AND case_id IN ({','.join('?' * len(chunk))})",
                (baseline_run_id, candidate_run_id, *chunk),
            ).fetchall()
            for run, case_id, sample, text, finish, refusal, error, calls, latency, tokens_in, tokens_out in rows:
                o = Output(case_id, sample, text, finish_reason=finish, refusal=refusal, error=error,
                           tool_calls=load_tool_calls(calls) if calls else (), latency_ms=latency,
                           input_tokens=tokens_in, output_tokens=tokens_out)  # fmt: skip
                (base if run == baseline_run_id else cand).setdefault(case_id, []).append(o)
        return base, cand

    def output_shapes(self, run_id: int, cut: Sequence[str]) -> Iterator[tuple[str, int, int, int, int, int, int, int, int]]:
        """Per case of the run, streamed, with no text read into Python: ``(case_id, outputs,
        failed, cut short (a finish reason in ``cut``), refused, answered, and the answers'
        total, least and greatest length in bytes)``, NULL lengths as 0. What the first
        assessment orders its cases by when its partial rankings are shown
        (:mod:`reviewer.analysis.order`): ~0.7 s for 300,000 outputs of ~2 kB, reading every page."""
        marks = ",".join("?" * len(cut)) or "NULL"
        yield from self._conn().execute(
            "SELECT case_id, count(*), sum(failed), sum(cut), sum(refused), count(n), coalesce(sum(n), 0),"
            " coalesce(min(n), 0), coalesce(max(n), 0) FROM (SELECT case_id, error IS NOT NULL AS failed,"
            f" error IS NULL AND coalesce(finish_reason IN ({marks}), 0) AS cut, error IS NULL AND refusal IS NOT NULL AS refused,"
            " CASE WHEN error IS NULL THEN coalesce(length(CAST(text AS BLOB)), 0) END AS n"
            " FROM outputs WHERE run_id = ?) GROUP BY case_id",
            (*cut, run_id),
        )

    def outputs_identity(self, comparison: Comparison) -> str:
        """:meth:`Store.outputs_identity`, on this thread's own connection (so a thread can count
        while another uses the store: SQLite runs without the GIL)."""
        return outputs_identity(self._conn(), comparison)

    def suite_content(self, suite_id: int) -> str:
        """A stored suite's validated content (JSON), as ``Suite.model_validate_json`` reads it."""
        row = self._conn().execute("SELECT content FROM suites WHERE id = ?", (suite_id,)).fetchone()
        if row is None:
            raise LookupError(f"no suite with id {suite_id}")
        return str(row[0])

    def suite_row(self, suite_id: int) -> StoredSuite:
        """A stored suite's row, its content and outline unparsed. LookupError for an unknown id."""
        row = (
            self._conn()
            .execute("SELECT id, name, digest, path, format, content, created_at, outline FROM suites WHERE id = ?", (suite_id,))
            .fetchone()
        )
        if row is None:
            raise LookupError(f"no suite with id {suite_id}")
        outline = row[7] if isinstance(row[7], str) else None
        return StoredSuite(int(row[0]), str(row[1]), str(row[2]), row[3], row[4], str(row[5]), str(row[6]), outline)

    def provenance(self, run_id: int) -> list[tuple[str | None, str | None, int]]:
        """(resolved model, system fingerprint, answered calls) of a run, per distinct pair."""
        rows = (
            self._conn()
            .execute(
                "SELECT resolved_model, system_fingerprint, COUNT(*) FROM outputs WHERE run_id = ? AND error IS NULL GROUP BY 1, 2",
                (run_id,),
            )
            .fetchall()
        )
        return [(m, f, int(n)) for m, f, n in rows]

    def answer_origins(self, run_id: int) -> Origins:
        """A run's :data:`Origins`, counted by SQLite (answered calls only in the two mappings): a
        scan of the run's outputs that holds no GIL while SQLite reads them."""
        rows = (
            self._conn()
            .execute(
                "SELECT error IS NOT NULL, resolved_model, system_fingerprint, COUNT(*) FROM outputs WHERE run_id = ? GROUP BY 1, 2, 3",
                (run_id,),
            )
            .fetchall()
        )
        return _origins_of(rows)

    def run_tallies(self, run_id: int, samples: int) -> tuple[dict[str, tuple[int, int]], Origins]:
        """:meth:`Store.sample_counts <reviewer.store.comparisons.ComparisonsMixin.sample_counts>`
        and :meth:`answer_origins` of a run from one scan of its outputs (each scan reads every
        answer's row: ~0.4 s a side at 100,000 cases × 3 samples), on this reader's connection (a
        thread of its own counts while the caller reads). The grouped rows (about one per case)
        are summed here."""
        rows = (
            self._conn()
            .execute(
                "SELECT case_id, sample >= 0 AND sample < ?, error IS NOT NULL, resolved_model, system_fingerprint, COUNT(*)"
                " FROM outputs WHERE run_id = ? GROUP BY 1, 2, 3, 4, 5",
                (samples, run_id),
            )
            .fetchall()
        )
        counts: dict[str, tuple[int, int]] = {}
        origins: dict[tuple[int, str | None, str | None], int] = {}
        for case_id, counted, failed, model, fp, n in rows:
            if counted:
                answered, errored = counts.get(case_id, (0, 0))
                counts[case_id] = (answered, errored + n) if failed else (answered + n, errored)
            key = (failed, model, fp)
            origins[key] = origins.get(key, 0) + n
        # in the order answer_origins's GROUP BY gives them (NULL first, then by bytes: the order
        # UTF-8 keeps), so that each mapping lists its models as that one does
        ordered = sorted(origins.items(), key=lambda kv: (kv[0][0], kv[0][1] is not None, kv[0][1] or "",
                                                        kv[0][2] is not None, kv[0][2] or ""))  # fmt: skip
        return counts, _origins_of([(*k, n) for k, n in ordered])

    def label_token(self, comparison_id: int) -> int:
        """Changes whenever anyone sets or removes a label on this comparison."""
        row = (
            self._conn()
            .execute("SELECT COALESCE(MAX(id), 0) FROM label_events WHERE comparison_id = ?", (comparison_id,))
            .fetchone()
        )
        return int(row[0])

    def search_outputs(
        self, run_ids: tuple[int, int], needle: str, cancelled: Callable[[], bool] | None = None
    ) -> set[str] | None:
        """Case ids whose outputs in these runs contain ``needle``, ignoring case. With
        ``cancelled``: asked every ~millisecond of the query (an SQLite progress handler on this
        thread's connection), and once it answers True the query is interrupted and None returned."""
        conn = self._conn()
        if cancelled is not None:
            if cancelled():
                return None
            conn.set_progress_handler(lambda: int(bool(cancelled())), CHECK_EVERY)
        try:
            rows = conn.execute(
                "SELECT DISTINCT case_id FROM outputs WHERE run_id IN (?, ?) AND instr(lower(text), lower(?)) > 0",
                (*run_ids, needle),
            ).fetchall()
        except sqlite3.OperationalError:
            if cancelled is not None and cancelled():  # "interrupted": the caller gave up on it
                return None
            raise
        finally:
            if cancelled is not None:
                conn.set_progress_handler(None, 0)
        return {r[0] for r in rows}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close this thread's connection (the others close with their threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

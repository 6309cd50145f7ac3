"""Comparisons: creating and listing them, loading one whole, and the cache of its assessments."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from ..errors import UsageError
from ..suite import Case
from .errors import _BUSY, _FULL, _LOCKED, _READONLY, StoreError, _code
from .outline import CaseOutline, outline_of_content, read_outline
from .reader import outputs_identity
from .records import (
    OUTPUT_SELECT,
    Comparison,
    ComparisonData,
    ComparisonSummary,
    Output,
    SuiteRecord,
    now_iso,
    output_from_row,
)
from .runs import RunsMixin

__all__ = ["CaseOutline", "ComparisonsMixin", "resolve_comparison_id"]


def resolve_comparison_id(store: ComparisonsMixin, ref: str | int | None) -> int | None:
    """A comparison given as an id or a name (the latest of that name); None = the latest."""
    if ref is None or ref == "":
        return None
    if isinstance(ref, int) or str(ref).isdigit():
        return int(ref)
    named = [c for c in store.comparisons() if c.name == ref]
    if not named:
        raise UsageError(f"no comparison named {ref!r} (see `reviewer comparisons`)")
    return named[-1].id


class ComparisonsMixin(RunsMixin):
    # -- comparisons ----------------------------------------------------------------------------

    def create_comparison(
        self,
        *,
        suite_id: int,
        baseline_run_id: int,
        candidate_run_id: int,
        name: str | None,
        resume_key: str | None = None,
        status: str = "running",
    ) -> int:
        ts = now_iso()
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO comparisons (name, suite_id, baseline_run_id, candidate_run_id, resume_key, created_at, finished_at, status)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (name, suite_id, baseline_run_id, candidate_run_id, resume_key, ts, ts if status == "complete" else None, status),
            )
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def set_comparison_status(self, comparison_id: int, status: str) -> None:
        finished = now_iso() if status == "complete" else None
        with self.transaction() as c:
            c.execute("UPDATE comparisons SET status = ?, finished_at = ? WHERE id = ?", (status, finished, comparison_id))

    def resumable_comparison(self, resume_key: str) -> Comparison | None:
        rows = self._query(
            "SELECT * FROM comparisons WHERE resume_key = ? AND status != 'complete' ORDER BY id DESC LIMIT 1", (resume_key,)
        )
        return Comparison(**{k: rows[0][k] for k in Comparison.__slots__}) if rows else None

    def comparison_id_by_resume_key(self, resume_key: str) -> int | None:
        """The first comparison made by "the same command" (any status), or None (imports)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id FROM comparisons WHERE resume_key = ? ORDER BY id LIMIT 1", (resume_key,)
            ).fetchone()
        return int(row[0]) if row else None

    def previous_comparison(self, suite_name: str, comparison_id: int) -> tuple[int, str] | None:
        """(id, created_at) of the latest earlier comparison of a suite of this name ("cases added since")."""
        with self._lock:
            row = self._conn.execute(
                "SELECT c.id, c.created_at FROM comparisons c JOIN suites s ON s.id = c.suite_id"
                " WHERE s.name = ? AND c.id < ? ORDER BY c.id DESC LIMIT 1",
                (suite_name, comparison_id),
            ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def resolve_comparison_id(self, ref: str | int | None) -> int | None:
        """A comparison given as an id or a name (the latest of that name); None = the latest."""
        return resolve_comparison_id(self, ref)

    def comparison(self, comparison_id: int | None = None) -> Comparison:
        """One comparison; the latest when no id is given."""
        if comparison_id is None:
            rows = self._query("SELECT * FROM comparisons ORDER BY id DESC LIMIT 1")
            if not rows:
                raise StoreError(f"{self.path}: no comparisons yet (make one with `reviewer run`)")
        else:
            rows = self._query("SELECT * FROM comparisons WHERE id = ?", (comparison_id,))
            if not rows:
                raise StoreError(f"{self.path}: no comparison with id {comparison_id}")
        return Comparison(**{k: rows[0][k] for k in Comparison.__slots__})

    _SUMMARY_SQL = """
        SELECT c.id, c.name, c.created_at, c.status, s.name AS suite, s.digest AS suite_digest,
               s.content AS content,
               b.provider || ':' || b.model AS baseline, k.provider || ':' || k.model AS candidate,
               b.base_url AS baseline_base_url, k.base_url AS candidate_base_url,
               b.samples AS samples,
               (SELECT COUNT(*) FROM outputs o WHERE o.run_id IN (c.baseline_run_id, c.candidate_run_id)) AS outputs,
               (SELECT COUNT(*) FROM outputs o WHERE o.run_id IN (c.baseline_run_id, c.candidate_run_id)
                    AND o.error IS NOT NULL) AS errors,
               (SELECT COUNT(DISTINCT case_id) FROM labels l WHERE l.comparison_id = c.id) AS labelled
        FROM comparisons c
        JOIN suites s ON s.id = c.suite_id
        JOIN runs b ON b.id = c.baseline_run_id
        JOIN runs k ON k.id = c.candidate_run_id
        {where}
        ORDER BY c.id
    """

    def comparisons(self) -> list[ComparisonSummary]:
        """One summary per comparison. In a damaged store (the listing itself fails) each
        comparison is read on its own; one whose rows cannot be read is listed with status
        ``damaged`` and unknown counts (None), never as complete."""
        try:
            rows = self._query(self._SUMMARY_SQL.format(where=""))
        except sqlite3.DatabaseError:
            if self.quick_check() is None:
                raise
            rows = self._damaged_listing()
        out = []
        for r in rows:
            try:
                cases = len(json.loads(r.pop("content")).get("cases", []))
            except (TypeError, ValueError, AttributeError):
                cases, r["status"] = None, "damaged"
            out.append(ComparisonSummary(cases=cases, **r))
        return out

    def _damaged_listing(self) -> list[dict[str, Any]]:
        rows = []
        for (cid,) in self._conn.execute("SELECT id FROM comparisons ORDER BY id").fetchall():
            try:
                rows.extend(self._query(self._SUMMARY_SQL.format(where="WHERE c.id = ?"), (cid,)))
                continue
            except sqlite3.DatabaseError:
                pass
            base = self._query(
                """SELECT c.id, c.name, c.created_at, 'damaged' AS status, s.name AS suite, s.digest AS suite_digest,
                          NULL AS content, b.provider || ':' || b.model AS baseline, k.provider || ':' || k.model AS candidate,
                          b.base_url AS baseline_base_url, k.base_url AS candidate_base_url, b.samples AS samples,
                          NULL AS outputs, NULL AS errors, NULL AS labelled
                   FROM comparisons c JOIN suites s ON s.id = c.suite_id
                   JOIN runs b ON b.id = c.baseline_run_id JOIN runs k ON k.id = c.candidate_run_id WHERE c.id = ?""",
                (cid,),
            )
            rows.extend(base)
        return rows

    def load_comparison(self, comparison_id: int | None = None) -> ComparisonData:
        with self.healthy_reads():
            comp = self.comparison(comparison_id)
            data = ComparisonData(
                comparison=comp,
                suite=self.suite(comp.suite_id),
                baseline=self.run(comp.baseline_run_id),
                candidate=self.run(comp.candidate_run_id),
            )
            for run_id, target in (
                (comp.baseline_run_id, data.baseline_outputs),
                (comp.candidate_run_id, data.candidate_outputs),
            ):
                for o in self.outputs(run_id):
                    target.setdefault(o.case_id, []).append(o)
        return data

    @contextmanager
    def healthy_reads(self) -> Iterator[None]:
        """Reads (and what the caller makes of them) that count only once the store passed
        ``quick_check``, which runs in a thread beside them (:meth:`start_check`). The outermost
        block checks once, when it ends: the check overlaps all of its reads instead of the first
        read waiting for it (a 1.2 GB store checks in ~1.4 s; a 100,000-case export reads its
        inputs in ~1 s); a block inside another one leaves it to that one. Nothing inside may be
        shown or written before the outermost block ends. A damaged store raises StoreDamaged
        there, or as soon as anything inside fails (its own error, e.g. a garbled row's, is not
        the one to show)."""
        self.start_check()
        depth = getattr(self._deferred, "depth", 0)
        self._deferred.depth = depth + 1
        try:
            yield
        except Exception:  # (Ctrl-C goes through at once)
            self.require_healthy()
            raise
        finally:
            self._deferred.depth = depth
        if not depth:
            self.require_healthy()

    # -- cached assessments -------------------------------------------------------------------

    def outputs_identity(self, comparison: Comparison) -> str:
        """Changes whenever an output of the comparison is added or replaced."""
        with self._lock:
            return outputs_identity(self._conn, comparison)

    def suite_json(self, suite_id: int) -> str:
        """A stored suite's validated content as JSON text, not decoded (``suite()`` validates
        every case: ~300 MB for 100,000 cases)."""
        with self._lock:
            row = self._conn.execute("SELECT content FROM suites WHERE id = ?", (suite_id,)).fetchone()
        if row is None:
            raise StoreError(f"no suite with id {suite_id}")
        return str(row[0])

    def assessment_key(self, comparison_id: int) -> str | None:
        """The key of the comparison's cached assessment, or None when there is none."""
        with self._lock:
            row = self._conn.execute("SELECT key FROM assessments WHERE comparison_id = ?", (comparison_id,)).fetchone()
        return None if row is None else str(row[0])

    def cached_assessments(self, comparison_id: int, key: str) -> int | None:
        """How many cases the cached assessment holds when its key is ``key``, else None."""
        with self._lock:
            row = self._conn.execute("SELECT key, cases FROM assessments WHERE comparison_id = ?", (comparison_id,)).fetchone()
        return int(row[1]) if row is not None and row[0] == key else None

    _RANK_COLS = "case_id, tier, change, within, noise, noise_known, noise_p, flip, flags"

    def assessment_rows(self, comparison_id: int, key: str, *, summary: bool = False) -> list[tuple[Any, ...]] | None:
        """The cached rows of the comparison in triage order, when the cache's key is ``key``
        (else None): ``(case_id, tier, change, within, noise, noise_known, noise_p, flip, flags)``,
        and the summary JSON last with ``summary``. Read in one transaction: never half of an old
        cache and half of a new one."""
        cols = self._RANK_COLS + (", summary" if summary else "")
        with self._lock:
            own = not self._conn.in_transaction
            if own:
                self._conn.execute("BEGIN")
            try:
                row = self._conn.execute(
                    "SELECT key, cases FROM assessments WHERE comparison_id = ?", (comparison_id,)
                ).fetchone()
                if row is None or row[0] != key:
                    return None
                rows = self._conn.execute(
                    f"SELECT {cols} FROM assessment_cases WHERE comparison_id = ? ORDER BY rank", (comparison_id,)
                ).fetchall()
            finally:
                if own:
                    self._conn.execute("COMMIT")
        return rows if len(rows) == row[1] else None

    def assessment_triage(self, comparison_id: int, key: str) -> tuple[int, bytes] | None:
        """How many cases the comparison's cached assessment holds and its packed triage
        (``reviewer.analysis.triage_columns``), when the cache's key is ``key`` and a triage was
        written with its rows, else None."""
        found = self.stored_triage(comparison_id)
        return found[1:] if found is not None and found[0] == key else None

    def stored_triage(self, comparison_id: int) -> tuple[str, int, bytes] | None:
        """The comparison's cached assessment whatever its key: (key, cases, packed triage), or
        None when there is none or it has no packed triage (what the review app shows, marked,
        while it ranks again after an upgrade of the diff engine)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT key, cases, triage FROM assessments WHERE comparison_id = ?", (comparison_id,)
            ).fetchone()
        return (str(row[0]), int(row[1]), bytes(row[2])) if row is not None and row[2] is not None else None

    def save_assessments(self, comparison_id: int, key: str, rows: Sequence[Sequence[Any]], triage: bytes | None = None) -> None:
        """Replace the comparison's cached assessment: ``rows`` in triage order, each
        ``(case_id, tier, change, within, noise, noise_known, noise_p, flip, flags, summary)``,
        and ``triage``, the same rows packed for the review app's list (None: read from the rows).
        Best effort: it is a cache. A read-only or full store skips it, a locked one after 2 s
        at most (quietly: the command that wanted it already has its answer). Inside
        :meth:`healthy_reads` it waits for the store's check first: nothing read from a damaged
        store is written back."""
        if self.readonly:
            return
        if getattr(self._deferred, "depth", 0):
            self.require_healthy()
        try:
            with self.transaction(wait_ms=min(self._busy_timeout_ms, 2_000), notify=False) as c:
                c.execute("DELETE FROM assessment_cases WHERE comparison_id = ?", (comparison_id,))
                c.execute(
                    "INSERT OR REPLACE INTO assessments (comparison_id, key, cases, created_at, triage) VALUES (?,?,?,?,?)",
                    (comparison_id, key, len(rows), now_iso(), triage),
                )
                c.executemany(
                    "INSERT INTO assessment_cases (comparison_id, rank, case_id, tier, change, within, noise, noise_known,"
                    " noise_p, flip, flags, summary) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    ((comparison_id, i, *r) for i, r in enumerate(rows, start=1)),
                )
        except sqlite3.OperationalError as e:
            if _code(e) not in (_BUSY, _LOCKED, _READONLY, _FULL):
                raise

    # -- what the exports read besides the assessment ---------------------------------------------

    def sample_counts(self, run_id: int, samples: int) -> dict[str, tuple[int, int]]:
        """For each case with an output among samples 0 … ``samples`` − 1 of the run, how many of
        those are answered and how many errored: what the gate's coverage counts (a sample not
        counted is missing). Counted inside SQLite in one query, so a 100,000-case run's 300,000
        outputs never become Python objects; read while the store is checked (a damaged store
        raises StoreDamaged)."""
        with self.healthy_reads(), self._lock:
            rows = self._conn.execute(
                "SELECT case_id, SUM(error IS NULL), SUM(error IS NOT NULL) FROM outputs"
                " WHERE run_id = ? AND sample >= 0 AND sample < ? GROUP BY case_id",
                (run_id, samples),
            ).fetchall()
        return {case_id: (answered, errored) for case_id, answered, errored in rows}

    def suite_outline(self, suite_id: int) -> SuiteRecord:
        """A stored suite whose cases are outlines (:class:`CaseOutline`): what the exports and the gate
        read of a case (id, tags, checks, origin, added), with their checks validated again (equal
        to the suite's). Read from the compact outline stored beside the suite (schema v6), else
        from the stored content, a validated suite's dump (:meth:`upsert_suite`); a case that is
        not such a dump has its whole chunk validated as the suite validates it. Reading anything
        else of an outline (its prompt, its tools) raises AttributeError. A validated case takes
        ~3 kB and ~27 µs: 100,000 of them ~300 MB and ~3 s; an outline ~0.2 kB and ~2 µs from
        the stored outline (~9 µs parsed out of the content)."""
        rows = self._query("SELECT id, name, digest, path, format, created_at, outline FROM suites WHERE id = ?", (suite_id,))
        if not rows:
            raise StoreError(f"no suite with id {suite_id}")
        r = rows[0]
        read = None
        if r["outline"] is not None:
            try:
                read = read_outline(r["outline"])
            except (KeyError, IndexError, TypeError, ValueError):
                read = None  # not what upsert_suite writes: the content says the same
        if read is None:
            content = self._query("SELECT content FROM suites WHERE id = ?", (suite_id,))[0]["content"]
            read = outline_of_content(json.loads(content))
        suite, outline = read
        # the suite's cases as their outlines (they answer every attribute the exports read of a Case)
        suite.cases = cast(list[Case], outline)
        return SuiteRecord(
            id=r["id"], name=r["name"], digest=r["digest"], path=r["path"], format=r["format"], suite=suite,
            created_at=r["created_at"],
        )  # fmt: skip

    def load_comparison_outline(self, comparison_id: int | None = None) -> ComparisonData:
        """:meth:`load_comparison` without the outputs (empty mappings: the cached summaries hold
        each case's figures, :meth:`sample_counts` what the gate counts of the calls) and with
        :meth:`suite_outline` for the suite: what the changelog and the gate read."""
        with self.healthy_reads():
            comp = self.comparison(comparison_id)
            return ComparisonData(
                comparison=comp,
                suite=self.suite_outline(comp.suite_id),
                baseline=self.run(comp.baseline_run_id),
                candidate=self.run(comp.candidate_run_id),
                baseline_outputs={},
                candidate_outputs={},
            )

    def outputs_of_cases(self, run_id: int, case_ids: Iterable[str]) -> dict[str, list[Output]]:
        """Some cases' whole outputs of a run, by case in sample order (what an export prints)."""
        ids = list(dict.fromkeys(case_ids))
        out: dict[str, list[Output]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT {OUTPUT_SELECT} FROM outputs WHERE run_id = ? AND case_id IN ({','.join('?' * len(chunk))})"
                    " ORDER BY case_id, sample",
                    (run_id, *chunk),
                ).fetchall()
            for row in rows:
                o = output_from_row(row)
                out.setdefault(o.case_id, []).append(o)
        return out

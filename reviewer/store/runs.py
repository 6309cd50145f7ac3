"""Suites, runs and outputs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..suite import LoadedSuite, Suite
from .core import StoreCore
from .errors import StoreError
from .outline import outline_json
from .reader import StoreReader
from .records import (
    OUTPUT_COLS,
    OUTPUT_JSON,
    OUTPUT_SELECT,
    Output,
    Run,
    SuiteRecord,
    now_iso,
    output_from_row,
    output_values,
    run_from_row,
)

__all__ = ["RunsMixin"]


class RunsMixin(StoreCore):
    # -- suites ---------------------------------------------------------------------------------

    def upsert_suite(self, loaded: LoadedSuite) -> int:
        """Store this version of the suite (by content digest) with its outline
        (:func:`~.outline.outline_json`: what the exports read), and return its id."""
        digest = loaded.digest
        with self.transaction() as c:
            row = c.execute("SELECT id, outline IS NULL FROM suites WHERE digest = ?", (digest,)).fetchone()
            if row:
                # only when it moved: an update rewrites the whole row, content included (~15 MB at 100,000 cases)
                c.execute(
                    "UPDATE suites SET path = ? WHERE id = ? AND path IS NOT ?", (str(loaded.path), row[0], str(loaded.path))
                )
                if row[1]:  # stored before its outline was (schema v6): the same content, outlined now
                    content = c.execute("SELECT content FROM suites WHERE id = ?", (row[0],)).fetchone()[0]
                    c.execute("UPDATE suites SET outline = ? WHERE id = ?", (outline_json(content), row[0]))
                return int(row[0])
            content = loaded.suite.model_dump_json(exclude_none=True)
            cur = c.execute(
                "INSERT INTO suites (name, digest, path, format, content, outline, created_at) VALUES (?,?,?,?,?,?,?)",
                (loaded.suite.suite, digest, str(loaded.path), loaded.format, content, outline_json(content), now_iso()),
            )
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def suite(self, suite_id: int) -> SuiteRecord:
        rows = self._query("SELECT * FROM suites WHERE id = ?", (suite_id,))
        if not rows:
            raise StoreError(f"no suite with id {suite_id}")
        r = rows[0]
        return SuiteRecord(
            id=r["id"], name=r["name"], digest=r["digest"], path=r["path"], format=r["format"],
            suite=Suite.model_validate_json(r["content"]), created_at=r["created_at"],
        )  # fmt: skip

    # -- runs and outputs -----------------------------------------------------------------------

    def create_run(
        self,
        *,
        suite_id: int,
        provider: str,
        model: str,
        base_url: str | None,
        params: dict[str, Any],
        samples: int,
        side: str | None = None,
        label: str | None = None,
        status: str = "running",
        started_at: str | None = None,
        finished_at: str | None = None,
    ) -> int:
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO runs (suite_id, side, label, provider, model, base_url, params, samples, started_at, finished_at, status)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (suite_id, side, label, provider, model, base_url, json.dumps(params, sort_keys=True), samples,
                 started_at or now_iso(), finished_at, status),
            )  # fmt: skip
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def run(self, run_id: int) -> Run:
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise StoreError(f"no run with id {run_id}")
        return run_from_row(rows[0])

    def runs(self) -> list[Run]:
        return [run_from_row(r) for r in self._query("SELECT * FROM runs ORDER BY id")]

    def run_by_label(self, label: str) -> Run | None:
        """The latest run with this label (``import jsonl --as-run NAME``, a config's label), or None."""
        rows = self._query("SELECT * FROM runs WHERE label = ? ORDER BY id DESC LIMIT 1", (label,))
        return run_from_row(rows[0]) if rows else None

    def set_run_status(self, run_id: int, status: str, *, finished: bool = False) -> None:
        with self.transaction() as c:
            if finished:
                c.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, now_iso(), run_id))
            else:
                c.execute("UPDATE runs SET status = ?, finished_at = NULL WHERE id = ?", (status, run_id))

    def save_outputs(self, run_id: int, outputs: Iterable[Output], *, replace: bool = True) -> None:
        """Insert outputs of a run in one transaction. ``replace``: a (case, sample) already
        stored is replaced (a retried error); otherwise it is an IntegrityError (imports)."""
        self.save_runs_outputs({run_id: outputs}, replace=replace)

    def save_runs_outputs(self, outputs: Mapping[int, Iterable[Output]], *, replace: bool = True) -> None:
        """:meth:`save_outputs` of several runs (run id -> its outputs) in one transaction: the
        replay's answers of one event-loop tick, both sides together."""
        rows = []
        ts = now_iso()
        encoded = [(OUTPUT_COLS.index(name), encode) for name, encode in OUTPUT_JSON.items()]
        for run_id, outs in outputs.items():
            for o in outs:
                values = list(output_values(o))
                for at, encode in encoded:
                    if values[at] is not None and values[at] != ():
                        values[at] = encode(values[at])
                    elif values[at] == ():
                        values[at] = None
                rows.append((run_id, *values, ts))
        if not rows:
            return
        cols = ", ".join(["run_id", *OUTPUT_COLS, "created_at"])
        marks = ", ".join("?" * (len(OUTPUT_COLS) + 2))
        with self.transaction() as c:
            verb = "INSERT OR REPLACE" if replace else "INSERT"
            c.executemany(f"{verb} INTO outputs ({cols}) VALUES ({marks})", rows)

    def outputs(self, run_id: int) -> list[Output]:
        """A run's outputs, ordered by case and sample."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {OUTPUT_SELECT} FROM outputs WHERE run_id = ? ORDER BY case_id, sample", (run_id,)
            ).fetchall()
        return [output_from_row(row) for row in rows]

    def completed_keys(self, run_id: int) -> set[tuple[str, int]]:
        """(case id, sample) of the run's answered calls: what a resume does not repeat."""
        with self._lock:
            cur = self._conn.execute("SELECT case_id, sample FROM outputs WHERE run_id = ? AND error IS NULL", (run_id,))
            return {(r[0], r[1]) for r in cur.fetchall()}

    def last_output_id(self) -> int:
        """The highest output id stored (0 when none): what a replay may reuse is at or below it."""
        with self._lock:
            return int(self._conn.execute("SELECT coalesce(MAX(id), 0) FROM outputs").fetchone()[0])

    def cached_outputs(self, cache_keys: Iterable[str], *, upto: int | None = None) -> dict[str, Output]:
        """Answered outputs by cache key (the oldest answer wins, so reruns are stable); with
        ``upto``, only outputs of id at most that (stored before a replay began)."""
        keys = list(dict.fromkeys(cache_keys))
        found: dict[str, Output] = {}
        bound = "" if upto is None else f" AND id <= {int(upto)}"
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._conn.execute(
                    # An empty answer with no finish reason, refusal or tool call is what a malformed 200
                    # (no choices / no content) was stored as before it became an error: never reuse it.
                    f"SELECT {OUTPUT_SELECT} FROM outputs WHERE error IS NULL AND cache_key IN ({marks}){bound}"
                    " AND NOT (coalesce(text, '') = '' AND refusal IS NULL AND finish_reason IS NULL AND tool_calls IS NULL)"
                    " ORDER BY id",
                    chunk,
                ).fetchall()
            for row in rows:
                o = output_from_row(row)
                found.setdefault(o.cache_key, o)  # type: ignore[arg-type]
        return found

    def output_counts(self) -> dict[int, tuple[int, int]]:
        """run id -> (outputs, failed calls) of every run that has outputs (``reviewer runs``)."""
        with self._lock:
            rows = self._conn.execute("SELECT run_id, COUNT(*), SUM(error IS NOT NULL) FROM outputs GROUP BY run_id").fetchall()
        return {run_id: (n, errors or 0) for run_id, n, errors in rows}

    def answer_texts(self, run_id: int) -> list[tuple[str, int, str | None, bool]]:
        """(case id, sample, text, failed) of a run's outputs by case and sample: what a labels
        file's ``outputs`` digest is made of, without decoding whole outputs."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT case_id, sample, text, error IS NOT NULL FROM outputs WHERE run_id = ? ORDER BY case_id, sample",
                (run_id,),
            ).fetchall()
        return [(c, s, t, bool(e)) for c, s, t, e in rows]

    def reader(self) -> StoreReader:
        """Read-only queries on a connection of their own per thread (the review session: the UI
        thread and its workers never share a cursor nor wait on this store's lock)."""
        return StoreReader(self.path)

"""The review app's access to the store: what it reads per case, and how labels get written.

:class:`Session` opens one comparison without loading every output: the case list needs only the
suite and the labels, and the case on screen needs only its own outputs, read by one indexed query
(``UNIQUE (run_id, case_id, sample)``). The ranking (every case assessed) comes from the store's
cache, or from a child process that fills it (:meth:`Session.rank`), so a 10,000-case comparison
paints at once and stays responsive while it is ranked.

:class:`LabelWriter` is a FIFO of label changes drained by a worker thread and once more,
synchronously, when the app closes: a label given is never lost to a quit.

These queries are read-only SQL over the store's tables; the writes go through ``Store``.
No Textual here.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.store import Comparison, ComparisonData, Label, Output, Run, Store, SuiteRecord, now_iso

if TYPE_CHECKING:
    from reviewer.diff.score import Assessment
    from reviewer.suite import Case

__all__ = ["CaseOutputs", "LabelOp", "LabelWriter", "Provenance", "Session", "labels_file_lines"]

_OUTPUT_FIELDS = [f.name for f in fields(Output)]


@dataclass(frozen=True, slots=True)
class CaseOutputs:
    baseline: list[Output]
    candidate: list[Output]


@dataclass(frozen=True, slots=True)
class Provenance:
    """Which models and fingerprints answered a run (answered calls only)."""

    models: dict[str, int]  # resolved model id -> calls
    fingerprints: dict[str, int]  # system fingerprint -> calls

    @property
    def model_changed(self) -> bool:
        return len(self.models) > 1

    @property
    def fingerprint_changed(self) -> bool:
        return len(self.fingerprints) > 1

    def usual(self) -> tuple[str | None, str | None]:
        """The most frequent resolved model and fingerprint."""
        m = max(self.models, key=self.models.__getitem__) if self.models else None
        f = max(self.fingerprints, key=self.fingerprints.__getitem__) if self.fingerprints else None
        return m, f


class Session:
    """One comparison opened for review by one reviewer."""

    def __init__(self, store: Store, comparison_id: int | None, reviewer: str) -> None:
        self.store = store
        self.reviewer = reviewer
        self.comparison: Comparison = store.comparison(comparison_id)
        self.suite: SuiteRecord = store.suite(self.comparison.suite_id)
        self.baseline: Run = store.run(self.comparison.baseline_run_id)
        self.candidate: Run = store.run(self.comparison.candidate_run_id)
        self._local = threading.local()

    @property
    def id(self) -> int:
        return self.comparison.id

    def _conn(self) -> sqlite3.Connection:
        """A read-only connection per thread (the UI thread and workers never share a cursor)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            uri = Path(self.store.path).resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=10, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def case_outputs(self, case_id: str) -> CaseOutputs:
        rows = self._conn().execute(
            "SELECT * FROM outputs WHERE run_id IN (?, ?) AND case_id = ? ORDER BY sample",
            (self.baseline.id, self.candidate.id, case_id),
        ).fetchall()
        base: list[Output] = []
        cand: list[Output] = []
        for r in rows:
            o = _output(r)
            (base if r["run_id"] == self.baseline.id else cand).append(o)
        return CaseOutputs(base, cand)

    def provenance(self) -> dict[str, Provenance]:
        out = {}
        for side, run in (("baseline", self.baseline), ("candidate", self.candidate)):
            rows = self._conn().execute(
                "SELECT resolved_model, system_fingerprint, COUNT(*) FROM outputs"
                " WHERE run_id = ? AND error IS NULL GROUP BY 1, 2",
                (run.id,),
            ).fetchall()
            models: Counter[str] = Counter()
            prints: Counter[str] = Counter()
            for model, fp, n in rows:
                if model:
                    models[model] += n
                if fp:
                    prints[fp] += n
            out[side] = Provenance(dict(models), dict(prints))
        return out

    def labels(self) -> list[Label]:
        return self.store.labels(self.id)

    def label_token(self) -> int:
        """Changes whenever anyone sets or removes a label on this comparison."""
        row = self._conn().execute(
            "SELECT COALESCE(MAX(id), 0) FROM label_events WHERE comparison_id = ?", (self.id,)
        ).fetchone()
        return int(row[0])

    def search_outputs(self, needle: str) -> set[str]:
        """Case ids whose outputs (either side) contain ``needle``, ignoring case."""
        rows = self._conn().execute(
            "SELECT DISTINCT case_id FROM outputs WHERE run_id IN (?, ?) AND instr(lower(text), lower(?)) > 0",
            (self.baseline.id, self.candidate.id, needle),
        ).fetchall()
        return {r[0] for r in rows}

    def assessments(self) -> list[Assessment]:
        """Every case assessed, in triage order, computed here (slow on big comparisons)."""
        from reviewer.analysis import assess_comparison

        return assess_comparison(self.store, self.store.load_comparison(self.id))

    def cached_assessments(self) -> list[Assessment] | None:
        """The assessments from the store's cache when it is fresh, else None — without loading
        any output. Parsed one case at a time (``raw_decode`` per element rather than one
        ``json.loads`` of ~30 MB), so a worker doing it never holds the GIL for long."""
        from reviewer.analysis import cached_assessments

        return cached_assessments(self.store, self.comparison)

    def rank(self, progress: Callable[[int, int], None] | None = None, started: Callable[[Any], None] | None = None) -> list[Assessment]:
        """The assessments in triage order: from the cache, else computed by a child process
        (:mod:`reviewer.app.rank`) that fills the cache, else computed here."""
        found = self.cached_assessments()
        if found is not None:
            return found
        here = str(Path(__file__).resolve().parents[2])  # the child runs this same code, installed or not
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
        with tempfile.TemporaryFile("w+") as errors:  # a file, not a pipe: a chatty child never blocks
            proc = subprocess.Popen(
                [sys.executable, "-m", "reviewer.app.rank", str(self.store.path), str(self.id)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, text=True, env=env,
            )  # fmt: skip
            if started is not None:
                started(proc)
            assert proc.stdout is not None
            for line in proc.stdout:
                parts = line.split()
                if len(parts) == 3 and parts[0] == "progress" and progress is not None:
                    progress(int(parts[1]), int(parts[2]))
            proc.wait()
            errors.seek(0)
            err = errors.read()
        if proc.returncode > 0:
            raise RuntimeError(f"ranking failed: {(err.strip().splitlines() or ['?'])[-1]}")
        if proc.returncode < 0:  # terminated: the app is closing
            return []
        found = self.cached_assessments()
        return found if found is not None else self.assessments()

    def assess(self, case: Case, outputs: CaseOutputs) -> Assessment:
        """One case assessed from its own outputs, exactly as the whole comparison would be."""
        from reviewer.analysis import assess_one

        data = ComparisonData(
            self.comparison, self.suite, self.baseline, self.candidate,
            {case.id: outputs.baseline}, {case.id: outputs.candidate},
        )  # fmt: skip
        return assess_one(data, case)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _output(r: sqlite3.Row) -> Output:
    d = {k: r[k] for k in _OUTPUT_FIELDS if k in r.keys()}
    if d.get("usage"):
        try:
            d["usage"] = json.loads(d["usage"])
        except ValueError:
            d["usage"] = None
    return Output(**d)


# ---------------------------------------------------------------------------------------------
# Writing labels
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelOp:
    """Set (verdict given) or remove (verdict None) this reviewer's label on one case."""

    case_id: str
    verdict: str | None
    severity: int | None = None
    note: str | None = None
    at: str | None = None


class LabelWriter:
    """Label changes in the order given, written one short transaction each.

    :meth:`submit` never blocks on SQLite; :meth:`drain` writes whatever is pending and may run in
    a worker thread and on the UI thread at close at once (a lock keeps the order)."""

    def __init__(self, store: Store, comparison_id: int, reviewer: str) -> None:
        self.store = store
        self.comparison_id = comparison_id
        self.reviewer = reviewer
        self._pending: deque[LabelOp] = deque()
        self._lock = threading.Lock()
        self.written = 0
        self.last_error: str | None = None  # why the last write failed (cleared by a good one)

    def submit(self, op: LabelOp) -> None:
        self._pending.append(op)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def drain(self, on_error: Callable[[LabelOp, Exception], None] | None = None) -> int:
        """Write every pending change; returns how many were written. A failed write stays at
        the head of the queue (so a later drain retries it) and is reported to ``on_error``."""
        done = 0
        with self._lock:
            while self._pending:
                op = self._pending[0]
                try:
                    if op.verdict is None:
                        self.store.remove_label(self.comparison_id, op.case_id, self.reviewer)
                    else:
                        self.store.set_label(
                            self.comparison_id, op.case_id, self.reviewer, op.verdict,
                            severity=op.severity, note=op.note, at=op.at,
                        )  # fmt: skip
                except Exception as e:  # locked past the busy timeout, disk full: keep the op
                    self.last_error = str(e) or type(e).__name__
                    if on_error is not None:
                        on_error(op, e)
                    break
                self._pending.popleft()
                self.last_error = None
                done += 1
                self.written += 1
        return done

    def snapshot(self) -> list[LabelOp]:
        """The changes not written yet, oldest first (a copy: the writer may go on)."""
        return list(self._pending)

    def forget(self, ops: list[LabelOp]) -> None:
        """Drop these changes from the queue (they were saved elsewhere: a labels file)."""
        gone = {id(op) for op in ops}
        with self._lock:
            keep = [op for op in self._pending if id(op) not in gone]
            self._pending.clear()
            self._pending.extend(keep)


def labels_file_lines(store: Store, comparison_id: int, reviewer: str, ops: list[LabelOp]) -> tuple[list[str], int]:
    """Label changes as lines of a labels file (``reviewer labels export``'s format, read by
    ``reviewer labels import``): the last change per case. A removal cannot be said in that
    format: returns the lines and how many removals were left out."""
    from reviewer.export.labels_io import FORMAT, comparison_identity

    last: dict[str, LabelOp] = {}
    for op in ops:
        last.pop(op.case_id, None)
        last[op.case_id] = op
    ident = comparison_identity(store, comparison_id)
    lines: list[str] = []
    removals = 0
    for op in last.values():
        if op.verdict is None:
            removals += 1
            continue
        obj = {
            "format": FORMAT, "comparison": ident, "case": op.case_id, "reviewer": reviewer,
            "verdict": op.verdict, "severity": op.severity, "note": op.note, "time": op.at or now_iso(),
        }  # fmt: skip
        lines.append(json.dumps(obj, ensure_ascii=False))
    return lines, removals

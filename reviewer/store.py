"""The local SQLite store: suites, runs, outputs, comparisons, labels and sign-offs.

WAL mode and a busy timeout so the review app, a replay and a second reviewer can share one file;
the schema version lives in ``PRAGMA user_version`` and only moves forward. Every write is its own
short transaction, so a crash loses at most what was not yet handed to the store.

Never imports the providers, the diff engine or Textual. API keys never reach this module.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
import operator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from .errors import ReviewerError
from .suite import LoadedSuite, Suite

Verdict = Literal["regression", "improvement", "acceptable", "noise"]
VERDICTS: tuple[str, ...] = ("regression", "improvement", "acceptable", "noise")
Side = Literal["baseline", "candidate"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StoreError(ReviewerError):
    """A problem with the store file itself (not SQLite, newer schema, unknown id)."""


# ---------------------------------------------------------------------------------------------
# Schema and migrations
# ---------------------------------------------------------------------------------------------


def _v1(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE suites (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            digest TEXT NOT NULL UNIQUE,     -- sha256 of the suite's canonical content
            path TEXT,                       -- where it was loaded from (last seen)
            format TEXT,
            content TEXT NOT NULL,           -- the validated suite as JSON
            created_at TEXT NOT NULL
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            suite_id INTEGER NOT NULL REFERENCES suites(id),
            side TEXT,                       -- baseline / candidate / NULL for imported runs
            label TEXT,                      -- a name given to the run (import --as-run, config label)
            provider TEXT NOT NULL,
            model TEXT NOT NULL,             -- requested model (alias)
            base_url TEXT,
            params TEXT NOT NULL,            -- JSON: request parameters common to the run (CLI/config)
            samples INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL             -- running / complete / interrupted / failed
        );
        CREATE TABLE outputs (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            case_id TEXT NOT NULL,
            sample INTEGER NOT NULL,
            text TEXT,
            resolved_model TEXT,             -- the model the provider says answered
            system_fingerprint TEXT,
            finish_reason TEXT,
            refusal TEXT,                    -- structured refusal field (OpenAI message.refusal)
            usage TEXT,                      -- JSON as the provider sent it
            input_tokens INTEGER,
            output_tokens INTEGER,
            latency_ms REAL,
            error TEXT,                      -- provider message / transport error, NULL when answered
            error_status INTEGER,
            request_id TEXT,
            attempts INTEGER NOT NULL DEFAULT 1,
            cache_key TEXT,
            cached_from INTEGER,             -- output id this answer was copied from (cache hit)
            created_at TEXT NOT NULL,
            UNIQUE (run_id, case_id, sample)
        );
        CREATE INDEX outputs_cache_key ON outputs(cache_key) WHERE error IS NULL;
        CREATE TABLE comparisons (
            id INTEGER PRIMARY KEY,
            name TEXT,
            suite_id INTEGER NOT NULL REFERENCES suites(id),
            baseline_run_id INTEGER NOT NULL REFERENCES runs(id),
            candidate_run_id INTEGER NOT NULL REFERENCES runs(id),
            resume_key TEXT,                 -- identifies "the same command" for resuming
            created_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL
        );
        CREATE INDEX comparisons_resume ON comparisons(resume_key);
        CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
            case_id TEXT NOT NULL,
            reviewer TEXT NOT NULL,          -- "Name <email>"
            verdict TEXT NOT NULL CHECK (verdict IN ('regression','improvement','acceptable','noise')),
            severity INTEGER CHECK (severity IS NULL OR severity BETWEEN 1 AND 3),
            note TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (comparison_id, case_id, reviewer)
        );
        CREATE TABLE label_events (          -- append-only history: audit and undo
            id INTEGER PRIMARY KEY,
            comparison_id INTEGER NOT NULL,
            case_id TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            verdict TEXT,                    -- NULL: the label was removed
            severity INTEGER,
            note TEXT,
            at TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'app'   -- app / import / cli
        );
        CREATE TABLE assessments (           -- cache of the diff engine's verdicts per comparison
            comparison_id INTEGER PRIMARY KEY REFERENCES comparisons(id) ON DELETE CASCADE,
            key TEXT NOT NULL,               -- engine source + outputs identity; stale when it differs
            data TEXT NOT NULL,              -- JSON
            created_at TEXT NOT NULL
        );
        CREATE TABLE signoffs (
            id INTEGER PRIMARY KEY,
            comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
            signer TEXT NOT NULL,
            note TEXT,
            created_at TEXT NOT NULL,
            body_digest TEXT                 -- sha256 of the changelog body it approved, when known
        );
        """
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1]
SCHEMA_VERSION = len(MIGRATIONS)


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------


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

    @property
    def ok(self) -> bool:
        return self.error is None


_OUTPUT_COLS = [
    "case_id", "sample", "text", "resolved_model", "system_fingerprint", "finish_reason", "refusal",
    "usage", "input_tokens", "output_tokens", "latency_ms", "error", "error_status", "request_id",
    "attempts", "cache_key", "cached_from",
]  # fmt: skip
_output_values = operator.attrgetter(*_OUTPUT_COLS)
_OUTPUT_SELECT = ", ".join(f.name for f in fields(Output))  # Output's fields, in order


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
    cases: int
    samples: int
    outputs: int
    errors: int
    labelled: int


@dataclass(slots=True)
class Label:
    comparison_id: int
    case_id: str
    reviewer: str
    verdict: str
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


# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------


class Store:
    """One SQLite file. Safe to share between threads of one process (writes are serialised
    by a lock) and between processes (WAL + busy timeout)."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000):
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=busy_timeout_ms / 1000, check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: not a reviewer database ({e})") from None
        self._conn = conn
        self.journal_mode = mode
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across app crashes
        conn.execute("PRAGMA foreign_keys = ON")
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._migrate()

    # -- plumbing -------------------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error: nothing half-written.

        Re-entrant: inside an open transaction it joins it, so several store calls compose into
        one all-or-nothing write (``with store.transaction(): store.create_run(...); ...``)."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._conn.execute(sql, tuple(params))
            cols = [d[0] for d in cur.description] if cur.description else []
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    @property
    def schema_version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this reviewer understands "
                f"({SCHEMA_VERSION}); upgrade reviewer"
            )
        try:
            for target in range(version + 1, SCHEMA_VERSION + 1):
                with self.transaction():
                    MIGRATIONS[target - 1](self.db)
                    self._conn.execute(f"PRAGMA user_version = {target}")
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: cannot prepare the database ({e})") from None

    # -- suites ---------------------------------------------------------------------------------

    def upsert_suite(self, loaded: LoadedSuite) -> int:
        """Store this version of the suite (by content digest) and return its id."""
        digest = loaded.digest
        with self.transaction() as c:
            row = c.execute("SELECT id FROM suites WHERE digest = ?", (digest,)).fetchone()
            if row:
                c.execute("UPDATE suites SET path = ? WHERE id = ?", (str(loaded.path), row[0]))
                return int(row[0])
            content = loaded.suite.model_dump_json(exclude_none=True)
            cur = c.execute(
                "INSERT INTO suites (name, digest, path, format, content, created_at) VALUES (?,?,?,?,?,?)",
                (loaded.suite.suite, digest, str(loaded.path), loaded.format, content, now_iso()),
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
        return _run(rows[0])

    def runs(self) -> list[Run]:
        return [_run(r) for r in self._query("SELECT * FROM runs ORDER BY id")]

    def set_run_status(self, run_id: int, status: str, *, finished: bool = False) -> None:
        with self.transaction() as c:
            if finished:
                c.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, now_iso(), run_id))
            else:
                c.execute("UPDATE runs SET status = ?, finished_at = NULL WHERE id = ?", (status, run_id))

    def save_outputs(self, run_id: int, outputs: Iterable[Output], *, replace: bool = True) -> None:
        """Insert outputs of a run in one transaction. ``replace``: a (case, sample) already
        stored is replaced (a retried error); otherwise it is an IntegrityError (imports)."""
        rows = []
        ts = now_iso()
        usage_at = _OUTPUT_COLS.index("usage")
        for o in outputs:
            values = list(_output_values(o))
            if o.usage is not None:
                values[usage_at] = json.dumps(o.usage)
            rows.append((run_id, *values, ts))
        if not rows:
            return
        cols = ", ".join(["run_id", *_OUTPUT_COLS, "created_at"])
        marks = ", ".join("?" * (len(_OUTPUT_COLS) + 2))
        with self.transaction() as c:
            verb = "INSERT OR REPLACE" if replace else "INSERT"
            c.executemany(f"{verb} INTO outputs ({cols}) VALUES ({marks})", rows)

    def outputs(self, run_id: int) -> list[Output]:
        # Positional construction: 10,000-case comparisons load 60k outputs, and building a dict
        # per row first took most of the time.
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_OUTPUT_SELECT} FROM outputs WHERE run_id = ? ORDER BY case_id, sample", (run_id,)
            ).fetchall()
        loads = json.loads
        out = []
        for row in rows:
            o = Output(*row)
            if o.usage is not None:
                o.usage = loads(o.usage)
            out.append(o)
        return out

    def completed_keys(self, run_id: int) -> set[tuple[str, int]]:
        """(case id, sample) of the run's answered calls: what a resume does not repeat."""
        with self._lock:
            cur = self._conn.execute("SELECT case_id, sample FROM outputs WHERE run_id = ? AND error IS NULL", (run_id,))
            return {(r[0], r[1]) for r in cur.fetchall()}

    def cached_outputs(self, cache_keys: Iterable[str]) -> dict[str, Output]:
        """Answered outputs by cache key (the oldest answer wins, so reruns are stable)."""
        keys = list(dict.fromkeys(cache_keys))
        found: dict[str, Output] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT * FROM outputs WHERE error IS NULL AND cache_key IN ({marks}) ORDER BY id", chunk
            )
            for r in rows:
                found.setdefault(r["cache_key"], _output(r))
        return found

    # -- comparisons ----------------------------------------------------------------------------

    def create_comparison(
        self, *, suite_id: int, baseline_run_id: int, candidate_run_id: int, name: str | None, resume_key: str | None = None, status: str = "running"
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
        return Comparison(**{k: rows[0][k] for k in Comparison.__slots__}) if rows else None  # type: ignore[attr-defined]

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
        return Comparison(**{k: rows[0][k] for k in Comparison.__slots__})  # type: ignore[attr-defined]

    def comparisons(self) -> list[ComparisonSummary]:
        rows = self._query(
            """
            SELECT c.id, c.name, c.created_at, c.status, s.name AS suite, s.digest AS suite_digest,
                   s.content AS content,
                   b.provider || ':' || b.model AS baseline, k.provider || ':' || k.model AS candidate,
                   b.samples AS samples,
                   (SELECT COUNT(*) FROM outputs o WHERE o.run_id IN (c.baseline_run_id, c.candidate_run_id)) AS outputs,
                   (SELECT COUNT(*) FROM outputs o WHERE o.run_id IN (c.baseline_run_id, c.candidate_run_id)
                        AND o.error IS NOT NULL) AS errors,
                   (SELECT COUNT(DISTINCT case_id) FROM labels l WHERE l.comparison_id = c.id) AS labelled
            FROM comparisons c
            JOIN suites s ON s.id = c.suite_id
            JOIN runs b ON b.id = c.baseline_run_id
            JOIN runs k ON k.id = c.candidate_run_id
            ORDER BY c.id
            """
        )
        out = []
        for r in rows:
            cases = len(json.loads(r.pop("content")).get("cases", []))
            out.append(ComparisonSummary(cases=cases, **r))
        return out

    def load_comparison(self, comparison_id: int | None = None) -> ComparisonData:
        comp = self.comparison(comparison_id)
        data = ComparisonData(
            comparison=comp,
            suite=self.suite(comp.suite_id),
            baseline=self.run(comp.baseline_run_id),
            candidate=self.run(comp.candidate_run_id),
        )
        for run_id, target in ((comp.baseline_run_id, data.baseline_outputs), (comp.candidate_run_id, data.candidate_outputs)):
            for o in self.outputs(run_id):
                target.setdefault(o.case_id, []).append(o)
        return data

    # -- labels ---------------------------------------------------------------------------------

    def set_label(
        self,
        comparison_id: int,
        case_id: str,
        reviewer: str,
        verdict: str,
        *,
        severity: int | None = None,
        note: str | None = None,
        source: str = "app",
        at: str | None = None,
    ) -> Label:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
        if severity is not None and verdict != "regression":
            severity = None
        ts = at or now_iso()
        with self.transaction() as c:
            c.execute(
                """INSERT INTO labels (comparison_id, case_id, reviewer, verdict, severity, note, created_at, updated_at)
                   VALUES (?,?,?,?,?,?,?,?)
                   ON CONFLICT (comparison_id, case_id, reviewer) DO UPDATE SET
                     verdict = excluded.verdict, severity = excluded.severity, note = excluded.note,
                     updated_at = excluded.updated_at""",
                (comparison_id, case_id, reviewer, verdict, severity, note, ts, ts),
            )
            c.execute(
                "INSERT INTO label_events (comparison_id, case_id, reviewer, verdict, severity, note, at, source) VALUES (?,?,?,?,?,?,?,?)",
                (comparison_id, case_id, reviewer, verdict, severity, note, ts, source),
            )
        return Label(comparison_id, case_id, reviewer, verdict, severity, note, ts, ts)

    def remove_label(self, comparison_id: int, case_id: str, reviewer: str, *, source: str = "app") -> None:
        with self.transaction() as c:
            c.execute(
                "DELETE FROM labels WHERE comparison_id = ? AND case_id = ? AND reviewer = ?", (comparison_id, case_id, reviewer)
            )
            c.execute(
                "INSERT INTO label_events (comparison_id, case_id, reviewer, verdict, at, source) VALUES (?,?,?,NULL,?,?)",
                (comparison_id, case_id, reviewer, now_iso(), source),
            )

    def labels(self, comparison_id: int) -> list[Label]:
        rows = self._query(
            "SELECT comparison_id, case_id, reviewer, verdict, severity, note, created_at, updated_at"
            " FROM labels WHERE comparison_id = ? ORDER BY case_id, reviewer",
            (comparison_id,),
        )
        return [Label(**r) for r in rows]

    # -- cached assessments -------------------------------------------------------------------

    def outputs_identity(self, comparison: Comparison) -> str:
        """Changes whenever an output of the comparison is added or replaced."""
        ids = (comparison.baseline_run_id, comparison.candidate_run_id)
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*), MAX(id) FROM outputs WHERE run_id IN (?, ?)", ids).fetchone()
            runs = self._conn.execute("SELECT provider, samples FROM runs WHERE id IN (?, ?) ORDER BY id", ids).fetchall()
        return f"{comparison.suite_id}:{ids}:{row[0]}:{row[1]}:{runs}"

    def cached_assessments(self, comparison_id: int, key: str) -> str | None:
        rows = self._query("SELECT key, data FROM assessments WHERE comparison_id = ?", (comparison_id,))
        return rows[0]["data"] if rows and rows[0]["key"] == key else None

    def save_assessments(self, comparison_id: int, key: str, data: str) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO assessments (comparison_id, key, data, created_at) VALUES (?,?,?,?)",
                (comparison_id, key, data, now_iso()),
            )

    # -- sign-offs ------------------------------------------------------------------------------

    def add_signoff(self, comparison_id: int, signer: str, *, note: str | None = None, body_digest: str | None = None) -> Signoff:
        self.comparison(comparison_id)
        ts = now_iso()
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO signoffs (comparison_id, signer, note, created_at, body_digest) VALUES (?,?,?,?,?)",
                (comparison_id, signer, note, ts, body_digest),
            )
        return Signoff(comparison_id, signer, note, ts, body_digest, int(cur.lastrowid))  # type: ignore[arg-type]

    def signoffs(self, comparison_id: int) -> list[Signoff]:
        rows = self._query("SELECT * FROM signoffs WHERE comparison_id = ? ORDER BY id", (comparison_id,))
        return [Signoff(**r) for r in rows]


def _run(r: dict[str, Any]) -> Run:
    r = dict(r)
    r["params"] = json.loads(r["params"]) if r["params"] else {}
    return Run(**r)


def _output(r: dict[str, Any]) -> Output:
    r = dict(r)
    r.pop("run_id", None)
    if r.get("usage"):
        r["usage"] = json.loads(r["usage"])
    return Output(**r)

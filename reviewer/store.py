"""The local SQLite store: suites, runs, outputs, comparisons, labels and sign-offs.

WAL mode and a busy timeout so the review app, a replay and a second reviewer can share one file;
the schema version lives in ``PRAGMA user_version`` and only moves forward. Every write is its own
short transaction, so a crash loses at most what was not yet handed to the store.

Never imports the providers, the diff engine or Textual. API keys never reach this module.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
import operator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from .errors import ReviewerError
from .toolcall import ToolCall, dump_tool_calls, load_tool_calls
from .suite import LoadedSuite, Suite

Verdict = Literal["regression", "improvement", "acceptable", "noise"]
VERDICTS: tuple[str, ...] = ("regression", "improvement", "acceptable", "noise")
Side = Literal["baseline", "candidate"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StoreError(ReviewerError):
    """A problem with the store file itself (not SQLite, newer schema, unknown id)."""


class StoreDamaged(StoreError):
    """The file fails SQLite's own checks: pages overwritten, truncated, not a database."""


class StoreReadOnly(StoreError):
    """The store cannot be written (read-only file system, immutable file, permissions, full disk)."""


#: The store most recently opened in this process: ``cli.main`` names it when an SQLite error
#: reaches it (one line, exit 2) instead of a traceback.
last_opened: Path | None = None

# SQLite primary result codes (sqlite3.h); Python 3.11 exposes them on the exception.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26


def _code(e: BaseException) -> int | None:
    code = getattr(e, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def damaged_message(path: Path | str, problem: str) -> str:
    return (
        f"the store {path} is damaged ({problem}): run `sqlite3 {path} 'PRAGMA integrity_check'` "
        f"(or `reviewer doctor --db {path}`), restore from a copy"
    )


def why_not_writable(path: Path | str) -> str | None:
    """Why this process cannot write the store file (and the -wal/-shm next to it), or None.
    Asks the OS rather than the mode bits: root can write a 0444 file, nobody an immutable one."""
    path = Path(path)
    if path.exists():
        try:
            os.close(os.open(path, os.O_RDWR))
        except OSError as e:
            return _os_reason(e, path)
    parent = path.parent if str(path.parent) else Path(".")
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        try:
            if os.statvfs(parent).f_flag & os.ST_RDONLY:
                return f"{parent} is on a read-only file system"
        except OSError:
            pass
        return f"its directory {parent} is not writable (SQLite keeps -wal and -shm files next to the store)"
    return None


def _os_reason(e: OSError, path: Path) -> str:
    if e.errno == errno.EROFS:
        return "it is on a read-only file system"
    if e.errno == errno.EPERM:
        return f"the file is immutable or append-only (see `lsattr {path}`; `chattr -i` to change it)"
    if e.errno == errno.EACCES:
        return "permission denied"
    if e.errno == errno.ENOSPC:
        return "the disk is full"
    return e.strerror or str(e)


def connect_readonly(path: Path, *, timeout_s: float = 10.0) -> sqlite3.Connection:
    """A read-only connection (``mode=ro``). WAL readers need the -shm file: where it cannot be
    created (a read-only mount) the file can only be read as ``immutable``, which is true there,
    and safe only with no WAL pending."""
    uri = path.absolute().as_uri() + "?mode=ro"
    parent = path.parent if str(path.parent) else Path(".")
    wal, shm = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
    if not os.access(parent, os.W_OK) and not shm.exists():
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreReadOnly(
                f"cannot read the store {path}: {wal.name} holds changes not yet in the store and "
                f"{parent} is read-only; copy the three files somewhere writable and open the copy"
            )
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, timeout=timeout_s, check_same_thread=False, isolation_level=None)


def _clean(text: str, limit: int = 200) -> str:
    """An error's text as one short printable line (it can quote the damaged bytes it met)."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "…"


def _disk_full(path: Path) -> bool:
    """Less than 64 KiB free where the store lives (SQLite reports a full disk as an I/O error
    when it is the WAL index that cannot grow)."""
    try:
        st = os.statvfs(path.parent if str(path.parent) else ".")
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 65536


def sqlite_error_message(e: sqlite3.Error, path: Path | str | None = None) -> str:
    """One line for the user about an SQLite error: what happened to which file, and what to do."""
    path = path if path is not None else last_opened
    where = f"the store {path}" if path is not None else "the store"
    code = _code(e)
    if str(e).startswith("Could not decode to UTF-8"):  # raised by Python's sqlite3 on a garbled text cell
        column = str(e).split("'")[1] if str(e).count("'") >= 2 else "a text column"
        return damaged_message(path or "FILE", f"column {_clean(column, 40)} holds bytes that are not UTF-8")
    if code in (_CORRUPT, _NOTADB) or (code is None and "malformed" in str(e)):
        return damaged_message(path or "FILE", _clean(str(e)))
    if code in (_BUSY, _LOCKED):
        waited = getattr(e, "waited_s", None)
        waited = f"waited {waited:.0f} s" if waited is not None else str(e)
        return f"{where} is locked by another process ({waited}): nothing was changed; try again when it has finished"
    if code == _READONLY:
        why = why_not_writable(path) if path is not None else None
        return f"cannot write {where}: {why or e}; nothing was changed"
    if code == _FULL or (code == _IOERR and path is not None and _disk_full(Path(path))):
        return f"cannot write {where}: the disk is full ({e}); nothing was changed, free some space and retry"
    if code == _CANTOPEN:
        why = why_not_writable(path) if path is not None else None
        return f"cannot open {where}: {why or e}"
    if code == _IOERR:
        return f"{where}: disk I/O error ({e}); check the disk, then `reviewer doctor --db {path}`"
    return f"{where}: {_clean(str(e))}"


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


def _v2(db: sqlite_utils.Database) -> None:
    """What modern APIs answer besides text: tool calls, the provider's stop details (Anthropic
    ``stop_details``: a refusal's category and explanation), and reasoning kept apart from the
    answer (Anthropic thinking blocks, Responses API reasoning summaries)."""
    db.executescript(
        """
        ALTER TABLE outputs ADD COLUMN tool_calls TEXT;     -- JSON [{name, arguments (raw JSON text), id}]
        ALTER TABLE outputs ADD COLUMN stop_details TEXT;   -- JSON as the provider sent it
        ALTER TABLE outputs ADD COLUMN reasoning TEXT;      -- thinking / reasoning text, never part of the answer
        """
    )


def _v3(db: sqlite_utils.Database) -> None:
    """A pairwise judge's answers (``reviewer judge``): one row per sample pair, order and judge.
    Suggestions kept apart from the labels, never written to them. IF NOT EXISTS: a store whose
    version was set back by hand (tests emulating an older release) still migrates."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS judgments (
            id INTEGER PRIMARY KEY,
            comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
            case_id TEXT NOT NULL,
            sample INTEGER NOT NULL,         -- the sample pair judged (baseline #i against candidate #i)
            judge TEXT NOT NULL,             -- the judge's SPEC as printed (no credentials)
            rubric_digest TEXT NOT NULL,
            position TEXT NOT NULL CHECK (position IN ('baseline_first','candidate_first')),
            better TEXT CHECK (better IS NULL OR better IN ('1','2','tie')),  -- NULL: unparsed or failed
            reason TEXT,
            parsed TEXT,                     -- how the answer was read: json, fenced, bare, marker, key, prose, none
            raw TEXT,                        -- the judge's answer as it came
            resolved_model TEXT,
            error TEXT,
            error_status INTEGER,
            request_id TEXT,
            input_tokens INTEGER,
            output_tokens INTEGER,
            latency_ms REAL,
            attempts INTEGER NOT NULL DEFAULT 1,
            cache_key TEXT,
            cached_from INTEGER,
            created_at TEXT NOT NULL,
            UNIQUE (comparison_id, case_id, sample, judge, rubric_digest, position)
        );
        CREATE INDEX IF NOT EXISTS judgments_cache_key ON judgments(cache_key) WHERE error IS NULL;
        """
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3]
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
    #: the tool calls of the answer, in the order the model made them (empty: none)
    tool_calls: tuple[ToolCall, ...] = ()
    stop_details: dict[str, Any] | None = None
    reasoning: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


_OUTPUT_COLS = [
    "case_id", "sample", "text", "resolved_model", "system_fingerprint", "finish_reason", "refusal",
    "usage", "input_tokens", "output_tokens", "latency_ms", "error", "error_status", "request_id",
    "attempts", "cache_key", "cached_from", "tool_calls", "stop_details", "reasoning",
]  # fmt: skip
#: columns stored as JSON text, with how to encode them
_OUTPUT_JSON = {"usage": json.dumps, "tool_calls": dump_tool_calls, "stop_details": json.dumps}
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


_JUDGMENT_COLS = [f.name for f in fields(Judgment) if f.name not in ("id", "created_at")]


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

    #: After this long waiting for another process's write lock, ``on_wait`` is told (once).
    NOTICE_AFTER_MS = 1_000

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_ms: int = 10_000,
        readonly: bool | Literal["auto"] = False,
        on_wait: Callable[[str], None] | None = None,
    ):
        """``readonly=True`` opens the file read-only (SQLite ``mode=ro``; ``immutable=1`` when
        it sits where nothing can write it and no WAL is pending); ``"auto"`` does so only when
        this process cannot write it, which is what reading commands want. ``busy_timeout_ms``
        is how long a write waits for another process's lock; ``on_wait`` gets a message when
        that wait starts."""
        global last_opened
        self.path = Path(path)
        self.on_wait = on_wait
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._checked: str | None = None
        last_opened = self.path
        if readonly == "auto":
            readonly = self.path.exists() and why_not_writable(self.path) is not None
        self.readonly = bool(readonly)
        if self.readonly:
            conn = self._connect_readonly()
        else:
            if self.path.parent and not self.path.parent.exists():
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise StoreReadOnly(f"cannot create the store {self.path}: {_os_reason(e, self.path.parent)}") from None
            try:
                conn = sqlite3.connect(self.path, timeout=busy_timeout_ms / 1000, check_same_thread=False, isolation_level=None)
            except sqlite3.Error as e:
                raise StoreError(sqlite_error_message(e, self.path)) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if self.readonly:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            else:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.Error as e:
            conn.close()
            if _code(e) in (_CORRUPT, _NOTADB):
                raise StoreDamaged(f"{self.path}: not a reviewer database, or a damaged one ({e})") from None
            raise StoreError(sqlite_error_message(e, self.path)) from None
        self._conn = conn
        self.journal_mode = mode
        if not self.readonly:
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across app crashes
        conn.execute("PRAGMA foreign_keys = ON")
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._migrate()

    def _connect_readonly(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise StoreError(f"{self.path}: no such store (make a comparison with `reviewer run`)")
        try:
            return connect_readonly(self.path, timeout_s=self._busy_timeout_ms / 1000)
        except sqlite3.Error as e:
            raise StoreError(sqlite_error_message(e, self.path)) from None

    # -- plumbing -------------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self._conn.close()
        except sqlite3.Error:
            pass  # closing checkpoints the WAL; a full disk or a vanished file must not mask what went wrong

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self, *, wait_ms: int | None = None, notify: bool = True) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error: nothing half-written.

        Re-entrant: inside an open transaction it joins it, so several store calls compose into
        one all-or-nothing write (``with store.transaction(): store.create_run(...); ...``).
        Waits up to ``busy_timeout_ms`` for another process's write lock (telling ``on_wait``
        after ``NOTICE_AFTER_MS``), then raises sqlite3's "database is locked". On a read-only store it is a read
        transaction, and the first write in it raises sqlite3's "readonly database" error."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            if self.readonly:  # reads stay consistent; a write inside fails (SQLITE_READONLY), saying why
                self._conn.execute("BEGIN")
            else:
                self._begin(self._busy_timeout_ms if wait_ms is None else wait_ms, notify=notify)
            try:
                yield self._conn
            except BaseException:
                self._rollback()
                raise
            try:
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        # SQLite already rolled back after some errors (disk full): don't let ROLLBACK's own
        # "no transaction is active" hide the error that matters.
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def _begin(self, total: int, *, notify: bool = True) -> None:
        """BEGIN IMMEDIATE, waiting up to ``total`` ms for another process's write lock; past
        that, sqlite3's own "database is locked" error, carrying how long it waited
        (``waited_s``) for the one line ``sqlite_error_message`` makes of it."""
        first = min(self.NOTICE_AFTER_MS, total // 2)
        started = time.monotonic()
        self._conn.execute(f"PRAGMA busy_timeout = {first}")
        try:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                if _code(e) not in (_BUSY, _LOCKED) or total == 0:
                    e.waited_s = time.monotonic() - started  # type: ignore[attr-defined]
                    raise
            if self.on_wait is not None and notify:
                self.on_wait(f"waiting for the store {self.path}: locked by another process… (up to {total / 1000:g} s)")
            left = max(0, total - int((time.monotonic() - started) * 1000))
            self._conn.execute(f"PRAGMA busy_timeout = {left}")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                e.waited_s = time.monotonic() - started  # type: ignore[attr-defined]
                raise
        finally:
            self._conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")

    # -- health ----------------------------------------------------------------------------------

    def quick_check(self) -> str | None:
        """SQLite's ``PRAGMA quick_check`` (once per open store): None when healthy, else the
        first problem. About 60 ms on a 10,000-case store (76 MB)."""
        if self._checked is None:
            rows: list[tuple[str]] = []
            try:
                for row in self._conn.execute("PRAGMA quick_check(5)"):
                    rows.append(row)
            except sqlite3.DatabaseError as e:
                rows.append((str(e),))
            lines = [ln.strip() for r in rows for ln in str(r[0]).splitlines()]
            lines = [ln for ln in lines if ln and not ln.startswith("*** in database")]
            more = f" and {len(lines) - 1} more problem{'s' * (len(lines) > 2)}" if len(lines) > 1 else ""
            self._checked = "ok" if lines == ["ok"] else (lines[0] if lines else "unknown problem") + more
        return None if self._checked == "ok" else self._checked

    def require_healthy(self) -> None:
        """Raise StoreDamaged when the file fails ``quick_check``: what reads a comparison
        calls before trusting it."""
        problem = self.quick_check()
        if problem is not None:
            raise StoreDamaged(damaged_message(self.path, problem))

    def require_writable(self) -> None:
        """Raise StoreReadOnly, saying why, when this process cannot write the store."""
        why = "it was opened read-only" if self.readonly else None
        why = why_not_writable(self.path) or why
        if why is not None:
            raise StoreReadOnly(f"cannot write the store {self.path}: {why}")

    def comparison_problem(self, comparison_id: int) -> str | None:
        """Read every row a comparison is made of (both runs' outputs by table scan and by
        index, its labels, its suite): the SQLite error met, or None when all read."""
        try:
            with self._lock:
                comp = self._conn.execute(
                    "SELECT suite_id, baseline_run_id, candidate_run_id FROM comparisons WHERE id = ?", (comparison_id,)
                ).fetchone()
                if comp is None:
                    return "missing"
                sid, b, c = comp
                json.loads(self._conn.execute("SELECT content FROM suites WHERE id = ?", (sid,)).fetchone()[0])
                self._conn.execute("SELECT * FROM runs WHERE id IN (?, ?)", (b, c)).fetchall()
                n_scan = self._conn.execute(
                    "SELECT COUNT(*), SUM(LENGTH(text)), SUM(LENGTH(error)), SUM(LENGTH(usage))"
                    " FROM outputs NOT INDEXED WHERE run_id IN (?, ?)", (b, c)
                ).fetchone()[0]
                n_index = self._conn.execute("SELECT COUNT(*) FROM outputs WHERE run_id IN (?, ?)", (b, c)).fetchone()[0]
                self._conn.execute("SELECT * FROM labels WHERE comparison_id = ?", (comparison_id,)).fetchall()
        except (sqlite3.DatabaseError, ValueError, TypeError) as e:
            return str(e)
        if n_scan != n_index:
            return f"{n_scan} outputs in the table, {n_index} in its index"
        return None

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
        if self.readonly and version < SCHEMA_VERSION:
            if version == 0:
                raise StoreError(f"{self.path}: not a reviewer store (no schema; it may be empty)")
            raise StoreReadOnly(
                f"{self.path}: schema version {version} needs an upgrade to {SCHEMA_VERSION}, which a read-only "
                "store cannot take; open it once where it can be written"
            )
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
            if _code(e) in (_CORRUPT, _NOTADB):
                raise StoreDamaged(damaged_message(self.path, str(e))) from None
            raise StoreError(f"{self.path}: cannot prepare the database: {sqlite_error_message(e, self.path)}") from None

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
        encoded = [(_OUTPUT_COLS.index(name), encode) for name, encode in _OUTPUT_JSON.items()]
        for o in outputs:
            values = list(_output_values(o))
            for at, encode in encoded:
                if values[at] is not None and values[at] != ():
                    values[at] = encode(values[at])
                elif values[at] == ():
                    values[at] = None
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
        return [_decoded(Output(*row)) for row in rows]

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
                # An empty answer with no finish reason, refusal or tool call is what a malformed 200
                # (no choices / no content) was stored as before it became an error: never reuse it.
                f"SELECT * FROM outputs WHERE error IS NULL AND cache_key IN ({marks})"
                " AND NOT (coalesce(text, '') = '' AND refusal IS NULL AND finish_reason IS NULL AND tool_calls IS NULL)"
                " ORDER BY id",
                chunk,
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
        self.require_healthy()
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
        """Best effort: it is a cache. A read-only or full store skips it, a locked one after 2 s
        at most (quietly: the command that wanted it already has its answer)."""
        if self.readonly:
            return
        try:
            with self.transaction(wait_ms=min(self._busy_timeout_ms, 2_000), notify=False) as c:
                c.execute(
                    "INSERT OR REPLACE INTO assessments (comparison_id, key, data, created_at) VALUES (?,?,?,?)",
                    (comparison_id, key, data, now_iso()),
                )
        except sqlite3.OperationalError as e:
            if _code(e) not in (_BUSY, _LOCKED, _READONLY, _FULL):
                raise

    # -- judgments (a pairwise judge's suggestions; never labels) --------------------------------

    def save_judgments(self, judgments: Iterable[Judgment]) -> None:
        """Store judge answers in one transaction; one already stored for the same comparison,
        case, sample, judge, rubric and order is replaced (a retried error, a changed output)."""
        ts = now_iso()
        rows = [(*(getattr(j, c) for c in _JUDGMENT_COLS), ts) for j in judgments]
        if not rows:
            return
        cols = ", ".join([*_JUDGMENT_COLS, "created_at"])
        marks = ", ".join("?" * (len(_JUDGMENT_COLS) + 1))
        with self.transaction() as c:
            c.executemany(f"INSERT OR REPLACE INTO judgments ({cols}) VALUES ({marks})", rows)

    def judgments(self, comparison_id: int, *, judge: str | None = None, rubric_digest: str | None = None) -> list[Judgment]:
        """A comparison's judge answers (of one judge / rubric when given), by case, sample, judge, order."""
        sql = "SELECT * FROM judgments WHERE comparison_id = ?"
        params: list[Any] = [comparison_id]
        if judge is not None:
            sql += " AND judge = ?"
            params.append(judge)
        if rubric_digest is not None:
            sql += " AND rubric_digest = ?"
            params.append(rubric_digest)
        rows = self._query(sql + " ORDER BY case_id, sample, judge, rubric_digest, position", params)
        return [Judgment(**r) for r in rows]

    def judges(self, comparison_id: int) -> list[tuple[str, str, int]]:
        """(judge, rubric digest, answers stored) of every judge run on a comparison, latest first."""
        rows = self._query(
            "SELECT judge, rubric_digest, COUNT(*) AS n, MAX(id) AS last FROM judgments WHERE comparison_id = ?"
            " GROUP BY judge, rubric_digest ORDER BY last DESC",
            (comparison_id,),
        )
        return [(r["judge"], r["rubric_digest"], r["n"]) for r in rows]

    def cached_judgments(self, cache_keys: Iterable[str]) -> dict[str, Judgment]:
        """Answered judge calls by cache key (the oldest answer wins, so reruns are stable)."""
        keys = list(dict.fromkeys(cache_keys))
        found: dict[str, Judgment] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self._query(f"SELECT * FROM judgments WHERE error IS NULL AND cache_key IN ({marks}) ORDER BY id", chunk):
                found.setdefault(r["cache_key"], Judgment(**r))
        return found

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


def _decoded(o: Output) -> Output:
    """An output built from a row, its JSON columns decoded (the one row → object mapping)."""
    if o.usage is not None:
        o.usage = json.loads(o.usage)  # type: ignore[arg-type]
    if o.tool_calls is None:
        o.tool_calls = ()
    elif not isinstance(o.tool_calls, tuple):
        o.tool_calls = load_tool_calls(o.tool_calls)  # type: ignore[arg-type]
    if o.stop_details is not None:
        o.stop_details = json.loads(o.stop_details)  # type: ignore[arg-type]
    return o


def _output(r: dict[str, Any]) -> Output:
    r = dict(r)
    r.pop("run_id", None)
    return _decoded(Output(**r))

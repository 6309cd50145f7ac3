"""The store's connection: opening (read-write, read-only or "auto"), migrating, transactions
under one lock with lock waiting that says so, and health checks. The methods that read and write
rows are in the sibling modules; :class:`reviewer.store.Store` puts them together.

WAL mode and a busy timeout so the review app, a replay and a second reviewer can share one file;
every write is its own short transaction, so a crash loses at most what was not yet handed over.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from . import errors
from .errors import (
    _BUSY,
    _CORRUPT,
    _LOCKED,
    _NOTADB,
    StoreDamaged,
    StoreError,
    StoreReadOnly,
    _code,
    _os_reason,
    damaged_message,
    sqlite_error_message,
    why_not_writable,
)
from .schema import MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["CHECK_THREAD", "StoreCore", "connect_readonly", "lower_thread_priority"]


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


#: SQLite steps between two looks at whether a background check was stopped (``Store.close``).
CHECK_STEPS = 250_000
#: The name of the thread that runs the store's check (:meth:`StoreCore.start_check`). It reads
#: the file and runs SQLite on a connection of its own, nothing else: a process forked while it
#: runs, which uses neither that connection nor that file, needs no lock it could hold (the
#: export's forked JSON writer counts on this).
CHECK_THREAD = "reviewer-store-check"


def lower_thread_priority() -> None:
    """Run the calling thread at nice +10 (Linux: niceness is per thread), so a background read
    (the store's check, the answer origins' scan) takes the cores the command's main thread
    leaves idle instead of sharing them with it. Nowhere else, and never an error."""
    if sys.platform != "linux":
        return
    with suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10))


def _read_ahead(path: Path, stop: threading.Event) -> None:
    """Read the store file once, in order, before ``quick_check`` walks it. On a cold page cache
    the check's page-by-page reads are random I/O: 21 s for a 1.2 GB store on a 2-core VM, 0.85 s
    once the file is cached, and the sequential read that caches it takes 1.1 s. Skipped for a
    file larger than half the memory (it would evict itself); stopped when the first 64 MiB come
    as fast as from memory (the file is cached already: ~0.2 s a GB saved) or when ``stop`` is set."""
    try:
        size = path.stat().st_size
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):  # no sysconf (Windows), or no such figure
        return
    if size > memory // 2:
        return
    buf = bytearray(8 << 20)  # 8 MiB a read: each one takes the GIL back from a busy main thread (~5 ms)
    started, done, probing = time.perf_counter(), 0, True
    try:
        with open(path, "rb", buffering=0) as f:
            while not stop.is_set() and (n := f.readinto(buf)):
                done += n
                if probing and done >= 64 << 20:
                    probing = False
                    if done / max(time.perf_counter() - started, 1e-9) > 2.5e9:
                        return
    except OSError:
        return


def _quick_check_rows(conn: sqlite3.Connection) -> list[tuple[str]]:
    rows: list[tuple[str]] = []
    try:
        for row in conn.execute("PRAGMA quick_check(5)"):
            rows.append(row)
    except sqlite3.DatabaseError as e:
        rows.append((str(e),))
    return rows


class StoreCore:
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
        self.path = Path(path)
        self.on_wait = on_wait
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._checked: str | None = None
        #: start_check's thread, its rows and what stops it
        self._checking: tuple[threading.Thread, list[tuple[str]], threading.Event] | None = None
        self._check_lock = threading.Lock()
        #: per thread: ``depth`` of healthy_reads() blocks open (their reads wait for the check at the end)
        self._deferred = threading.local()
        errors.last_opened = self.path  # what cli.main names when an SQLite error reaches it
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
                raise StoreDamaged(damaged_message(self.path, f"not a reviewer database, or a damaged one: {e}")) from None
            raise StoreError(sqlite_error_message(e, self.path)) from None
        self._conn = conn
        self.journal_mode = mode
        if not self.readonly:
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across app crashes
        conn.execute("PRAGMA foreign_keys = ON")
        self._db: sqlite_utils.Database | None = None
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

    @property
    def db(self) -> sqlite_utils.Database:
        """The connection as a sqlite-utils Database (the migrations, tests, benches), made on first
        use: a command that opens a migrated store never imports sqlite-utils for it."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self._conn)
        return self._db

    def close(self) -> None:
        checking, self._checking = self._checking, None
        if checking is not None:  # a check nobody waited for (the read failed, Ctrl-C): stop it, not wait
            thread, _, stop = checking
            stop.set()  # the thread closes its connection as it ends
            thread.join()
        with suppress(sqlite3.Error):  # closing checkpoints the WAL; a full disk or a vanished file must not mask what went wrong
            self._conn.close()

    def __enter__(self) -> Self:
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
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

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

    def start_check(self) -> None:
        """Begin :meth:`quick_check` in a thread, on a read-only connection of its own, so the
        caller reads meanwhile (SQLite releases the GIL while it reads the file: ~1 s of a 1 GB
        store on the other core); :meth:`quick_check` waits for it. Where no second connection
        can be opened or no thread started, the check runs when asked, as before."""
        with self._check_lock:
            if self._checked is not None or self._checking is not None:
                return
            try:
                conn = connect_readonly(self.path, timeout_s=self._busy_timeout_ms / 1000)
            except (sqlite3.Error, StoreError):
                return
            rows: list[tuple[str]] = []
            stop = threading.Event()  # close(): the check aborts at SQLite's next progress callback
            # each callback takes the GIL, which a busy main thread hands over only every 5 ms:
            # at 10,000 steps a 1.2 GB store's 2,071 callbacks kept the check running for seconds
            # after its 1 s of work. At CHECK_STEPS (~12 ms of SQLite work) it makes ~83.
            conn.set_progress_handler(stop.is_set, CHECK_STEPS)

            def check() -> None:
                try:
                    lower_thread_priority()
                    _read_ahead(self.path, stop)
                    if stop.is_set():  # closed while the file was read: no check begins
                        rows.append(("interrupted",))
                    else:
                        rows.extend(_quick_check_rows(conn))
                finally:
                    conn.close()

            thread = threading.Thread(target=check, name=CHECK_THREAD, daemon=True)
            try:
                thread.start()
            except RuntimeError:  # no thread can be started now
                conn.close()
                return
            self._checking = (thread, rows, stop)

    def quick_check(self) -> str | None:
        """SQLite's ``PRAGMA quick_check`` (once per open store): None when healthy, else the
        first problem. About 60 ms on a 10,000-case store (76 MB), 1 s at 1 GB."""
        with self._check_lock:
            if self._checked is None:
                if self._checking is not None:
                    thread, rows, _ = self._checking
                    thread.join()
                    self._checking = None
                else:
                    rows = _quick_check_rows(self._conn)
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
                    " FROM outputs NOT INDEXED WHERE run_id IN (?, ?)",
                    (b, c),
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

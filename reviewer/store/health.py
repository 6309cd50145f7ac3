"""``reviewer doctor``'s examination of a store file: SQLite's integrity_check, the schema version,
row counts per table, the WAL state and whether this process can write it. Read-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from .core import connect_readonly
from .errors import sqlite_error_message, why_not_writable
from .schema import SCHEMA_VERSION

__all__ = ["TABLES", "examine"]

TABLES = ("suites", "runs", "outputs", "comparisons", "labels", "signoffs", "judgments")


def examine(path: Path) -> dict[str, Any]:
    """The report ``reviewer doctor`` prints (``--json``: as is). Read-only: it changes nothing."""
    report: dict[str, Any] = {"path": str(path), "ok": False, "exit_code": 2, "problems": []}
    if not path.is_file():
        report["error"] = f"no store at {path}" + (" (it is a directory)" if path.is_dir() else "")
        return report
    report["size_bytes"] = path.stat().st_size
    wal, shm = (path.with_name(path.name + s) for s in ("-wal", "-shm"))
    report["wal"] = {"exists": wal.exists(), "bytes": wal.stat().st_size if wal.exists() else 0, "shm": shm.exists()}
    why = why_not_writable(path)
    report["writable"], report["not_writable_because"] = why is None, why
    try:
        conn = connect_readonly(path)
    except (sqlite3.Error, OSError) as e:
        report["error"] = sqlite_error_message(e, path) if isinstance(e, sqlite3.Error) else str(e)
        return report
    except Exception as e:  # StoreReadOnly: a pending WAL on a read-only mount
        report["error"] = str(e)
        return report
    try:
        rows: list[tuple[str]] = []
        try:
            for row in conn.execute("PRAGMA integrity_check(100)"):  # rows before an error are kept
                rows.append(row)
        except sqlite3.DatabaseError as e:
            if getattr(e, "sqlite_errorcode", 0) & 0xFF in (5, 6, 14):  # busy, locked, cannot open
                report["error"] = sqlite_error_message(e, path)
                return report
            if getattr(e, "sqlite_errorcode", 0) & 0xFF == 26:
                report.update(problems=[f"{e}: not an SQLite file, or its header is overwritten"], integrity="damaged",
                              exit_code=1, counts={})  # fmt: skip
                return report
            rows.append((str(e),))
        lines = [ln.strip() for r in rows for ln in str(r[0]).splitlines()]
        problems = [ln for ln in lines if ln and ln != "ok" and not ln.startswith("*** in database")]
        report["problems"] = problems
        report["integrity"] = "ok" if not problems else "damaged"

        def one(sql: str) -> Any:
            try:
                return conn.execute(sql).fetchone()[0]
            except sqlite3.Error as e:
                problems.append(f"{sql}: {e}")
                return None

        report["schema_version"], report["schema_expected"] = one("PRAGMA user_version"), SCHEMA_VERSION
        report["journal_mode"] = one("PRAGMA journal_mode")
        report["page_size"], report["page_count"] = one("PRAGMA page_size"), one("PRAGMA page_count")
        report["freelist_count"] = one("PRAGMA freelist_count")
        counts = {}
        for table in TABLES:
            counts[table] = one(f"SELECT COUNT(*) FROM {table}") if report["schema_version"] else None
        report["counts"] = counts
        if report["schema_version"] == 0:
            problems.append("no reviewer schema: an empty file, or not a reviewer store")
        elif isinstance(report["schema_version"], int) and report["schema_version"] > SCHEMA_VERSION:
            report["note"] = "written by a newer reviewer: upgrade reviewer to use it"
    finally:
        conn.close()
    report["ok"] = not problems
    report["exit_code"] = 0 if report["ok"] else 1
    return report

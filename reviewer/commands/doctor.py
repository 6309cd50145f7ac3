"""``reviewer doctor [--db PATH] [--json]``: is the store healthy? SQLite's integrity_check, the
schema version, what it holds, the WAL state and whether this process can write it.
Exit 0 healthy, 1 damaged, 2 cannot open."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..untrusted import json_dumps
from ._common import add_db_option

TABLES = ("suites", "runs", "outputs", "comparisons", "labels", "signoffs", "judgments")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the store: integrity, schema version, contents, WAL (exit 0 healthy, 1 damaged, 2 cannot open)",
        description="Run SQLite's integrity_check on the store (read-only: it changes nothing) and report the "
        "schema version, row counts, the WAL state and whether this process can write it. Exit 0 when healthy, "
        "1 when damaged, 2 when it cannot be opened.",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_db_option(p)


def examine(path) -> dict[str, Any]:  # path: pathlib.Path
    import sqlite3  # not at module level: building the CLI's parser must not load it

    from ..store import SCHEMA_VERSION, connect_readonly, sqlite_error_message, why_not_writable

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


def run(args: argparse.Namespace) -> int:
    from ..locations import db_path
    from ._common import visible

    path = db_path(getattr(args, "db", None))
    report = examine(path)
    if args.json:
        print(json_dumps(report, indent=2))
        return report["exit_code"]
    if "error" in report:
        print(f"reviewer doctor: {report['error']}", file=sys.stderr)
        return 2
    size = report["size_bytes"]
    wal = report["wal"]
    if not report.get("counts"):  # not a database at all
        print(f"store      {path} ({size} bytes)")
        print(f"integrity  {visible(report['problems'][0])}")
        print(f"damaged: {path} is not a reviewer store; restore it from a copy")
        return 1
    rows = [
        ("store", f"{path} ({size / 1e6:.1f} MB, {report['page_count']} pages of {report['page_size']} bytes, "
                  f"{report['freelist_count']} free)"),
        ("schema", f"version {report['schema_version']} (this reviewer: {report['schema_expected']})"
                   + (f"; {report['note']}" if report.get("note") else "")),
        ("journal", f"{report['journal_mode']}; -wal " + (f"{wal['bytes']} bytes" if wal["exists"] else "absent")
                    + ("; -shm present" if wal["shm"] else "")),
        ("writable", "yes" if report["writable"] else f"no: {report['not_writable_because']}"),
        ("contents", ", ".join(f"{n if n is not None else '?'} {t}" for t, n in report["counts"].items())),
    ]  # fmt: skip
    problems = report["problems"]
    rows.append(("integrity", "ok" if not problems else f"{len(problems)} problem{'s' * (len(problems) != 1)}"))
    for name, value in rows:
        print(f"{name:<10} {visible(str(value))}")
    for line in problems[:20]:
        print(f"  {visible(line)}")
    if len(problems) > 20:
        print(f"  … and {len(problems) - 20} more")
    if problems:
        print(f"damaged: restore {path} from a copy, or salvage what reads with "
              f"`sqlite3 {path} .recover | sqlite3 recovered.db`")  # fmt: skip
    else:
        print("healthy")
    return report["exit_code"]

"""``reviewer doctor [--db PATH] [--json]``: is the store healthy? SQLite's integrity_check, the
schema version, what it holds, the WAL state and whether this process can write it.
Exit 0 healthy, 1 damaged, 2 cannot open."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..untrusted import json_dumps
from ._common import add_db_option


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


def examine(path: Path) -> dict[str, Any]:
    """The report (``--json`` prints it as is); the store examines its own file (read-only)."""
    from ..store.health import examine as examine_store  # not at module level: the parser must not load sqlite3

    return examine_store(path)


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

"""``reviewer comparisons [--json]``: the stored comparisons."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ._common import add_db_option, open_store


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("comparisons", help="list stored comparisons")
    p.add_argument("--json", action="store_true", help="print JSON (one array)")
    add_db_option(p)


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        items = store.comparisons()
    if args.json:
        print(json.dumps([asdict(c) for c in items], indent=2, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not items:
        console.print("No comparisons yet. Make one with: reviewer run SUITE --baseline SPEC --candidate SPEC", markup=False)
        return 0
    from rich.text import Text

    table = Table(box=None, header_style="bold")
    table.add_column("id", justify="right")
    table.add_column("suite (name)")
    table.add_column("baseline → candidate", overflow="fold")
    table.add_column("cases×samples", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("labelled", justify="right")
    table.add_column("date (UTC)", no_wrap=True)
    table.add_column("status")
    for c in items:
        suite = c.suite + (f" ({c.name})" if c.name else "")
        table.add_row(
            Text(str(c.id)), Text(suite), Text(f"{c.baseline} → {c.candidate}"), Text(f"{c.cases}×{c.samples}"),
            Text(str(c.errors)), Text(str(c.labelled)), Text(c.created_at[:16].replace("T", " ")), Text(c.status),
        )
    console.print(table)
    return 0

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
    if not items:
        print("No comparisons yet. Make one with: reviewer run SUITE --baseline SPEC --candidate SPEC")
        return 0
    for c in items:
        name = f" ({c.name})" if c.name else ""
        print(
            f"{c.id:>4}  {c.created_at[:16].replace('T', ' ')}  {c.suite}{name}  {c.baseline} → {c.candidate}  "
            f"{c.cases} cases × {c.samples}  {c.errors} errors  {c.labelled} labelled  {c.status}"
        )
    return 0

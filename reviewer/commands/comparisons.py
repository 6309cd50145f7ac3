"""``reviewer comparisons [--json]``: the stored comparisons."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from ..untrusted import json_dumps
from ._common import add_db_option, open_store, print_table, url_host


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "comparisons",
        help="list stored comparisons",
        description="List the stored comparisons. A model served from two places under one name shows "
        "the host (@host:port). When the store fails SQLite's quick_check, comparisons whose rows cannot be "
        "read are listed as damaged and the command exits 2.",
    )
    p.add_argument("--json", action="store_true", help="print JSON (one array)")
    add_db_option(p)


def model_names(pairs: list[tuple[str, str | None]]) -> dict[tuple[str, str | None], str]:
    """``provider:model`` for each (spec, base URL), with ``@host`` added where one spec is
    served from more than one host in the listing (two local servers both serving "llama3")."""
    hosts: dict[str, set[str | None]] = {}
    for spec, url in pairs:
        hosts.setdefault(spec, set()).add(url_host(url))
    return {(spec, url): f"{spec}@{url_host(url) or 'default'}" if len(hosts[spec]) > 1 else spec for spec, url in pairs}


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        store.start_check()  # beside the listing's query (~1 s of a 1 GB store)
        items = store.comparisons()
        problem = store.quick_check()
        damaged = {c.id: p for c in items if problem is not None and (p := store.comparison_problem(c.id))}
        path = store.path
    for c in items:
        if c.id in damaged or c.status == "damaged":
            c.status = "damaged"
            damaged.setdefault(c.id, "unreadable")
    names = model_names([(c.baseline, c.baseline_base_url) for c in items] + [(c.candidate, c.candidate_base_url) for c in items])
    if args.json:
        docs = []
        for c in items:
            d = asdict(c)
            d["baseline_host"], d["candidate_host"] = url_host(d.pop("baseline_base_url")), url_host(d.pop("candidate_base_url"))
            docs.append(d)
        print(json_dumps(docs, indent=2))
    elif not items:
        print("No comparisons yet. Make one with: reviewer run SUITE --baseline SPEC --candidate SPEC")
    else:
        rows = [
            ["id", "created", "suite", "name", "baseline", "", "candidate", "cases", "samples", "errors", "labelled", "status"]
        ]
        for c in items:
            rows.append([
                str(c.id), c.created_at[:16].replace("T", " "), c.suite, c.name or "-",
                names[(c.baseline, c.baseline_base_url)], "→", names[(c.candidate, c.candidate_base_url)],
                *(("?" if n is None else str(n)) for n in (c.cases, c.samples, c.errors, c.labelled)), c.status,
            ])  # fmt: skip
        print_table(rows, right={0, 7, 8, 9, 10})
    if problem is not None:
        from ..store import damaged_message

        which = f"; damaged: comparison {', '.join(f'#{i}' for i in damaged)}" if damaged else ""
        print(f"reviewer comparisons: {damaged_message(path, problem)}{which}", file=sys.stderr)
        return 2
    return 0

"""``reviewer history``: every probe of an alias, one row each, with the points where the model
behind it moved marked, and a trend line per metric."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import UsageError
from ._common import add_db_option, open_store, print_table, visible

SPARKS = "▁▂▃▄▅▆▇█"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history",
        help="list the probes of an alias: provenance, key metrics, trends",
        description="One row per `reviewer probe` of SPEC (runs labelled probe:<suite>:<spec>), oldest first: "
        "time, resolved model ids, system_fingerprint, refusal and non-answer rate, JSON validity, check pass "
        "rate, median length and latency. '◆' marks a probe where the resolved model or fingerprint changed; "
        "'△' a metric whose CUSUM over the probes so far signals a drift. A trend line per metric follows.",
    )
    p.add_argument("spec", metavar="SPEC", help="the alias probed, as given to `reviewer probe --model`")
    p.add_argument("--suite", metavar="NAME", help="only the probes of this suite (its `suite:` name)")
    p.add_argument("--json", action="store_true", help="print the rows as one JSON object")
    add_db_option(p)


def sparkline(values: list[float | None], lo: float | None = None, hi: float | None = None) -> str:
    """One character per value (· for none), scaled from ``lo`` to ``hi`` (default: the values' range)."""
    got = [v for v in values if v is not None]
    if not got:
        return "·" * len(values)
    lo = min(got) if lo is None else lo
    hi = max(got) if hi is None else hi
    out = []
    for v in values:
        if v is None:
            out.append("·")
        elif hi - lo <= 1e-12:
            out.append(SPARKS[0])
        else:
            out.append(SPARKS[min(len(SPARKS) - 1, max(0, round((v - lo) / (hi - lo) * (len(SPARKS) - 1))))])
    return "".join(out)


def _fmt(kind: str, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.0%}" if kind == "rate" else f"{v:,.0f}"


def _top(d: dict[str, int]) -> str:
    if not d:
        return "-"
    items = list(d.items())
    head = items[0][0] if len(items) == 1 else ", ".join(f"{k} ({n})" for k, n in items[:2])
    return head + (f" +{len(items) - 2}" if len(items) > 2 else "")


def run(args: argparse.Namespace) -> int:
    from .. import probe as P
    from ..providers import parse_spec

    spec = str(parse_spec(args.spec, "SPEC"))
    with open_store(args) as store:
        rows = P.history(store, spec, args.suite)
    if not rows:
        where = f" on suite {args.suite}" if args.suite else ""
        raise UsageError(
            f"no probes of {visible(spec)}{visible(where)} in the store (run `reviewer probe SUITE --model {visible(spec)}`)"
        )
    suites: dict[str, list[Any]] = {}
    for r in rows:
        suites.setdefault(r.suite, []).append(r)
    drift: dict[tuple[str, int], list[str]] = {}
    for name, group in suites.items():
        ok = [r for r in group if r.status == "ok"]
        for key in P.METRICS:
            flags = P.cusum_flags([r.metrics[key] for r in ok])
            for r, flagged in zip(ok, flags, strict=True):
                if flagged:
                    drift.setdefault((name, r.run_id), []).append(key)

    if args.json:
        out = {
            "spec": spec,
            "probes": [
                {
                    "run_id": r.run_id,
                    "suite": r.suite,
                    "time": r.started_at,
                    "status": r.status,
                    "calls": r.calls,
                    "errors": r.errors,
                    "resolved_models": r.provenance["resolved_models"],
                    "fingerprints": r.provenance["fingerprints"],
                    "provenance_changed": r.provenance_changed,
                    "metrics": r.metrics,
                    "drift": drift.get((r.suite, r.run_id), []),
                }
                for r in rows
            ],
        }
        print(json.dumps(out, ensure_ascii=True))
        return 0

    for n, (name, group) in enumerate(suites.items()):
        if n:
            print()
        moved = sum(r.provenance_changed for r in group)
        print(visible(f"{spec} · suite {name}: {len(group)} probe{'s' * (len(group) != 1)}, "
                      f"{moved} provenance change{'s' * (moved != 1)}"))  # fmt: skip
        header = ["", "run", "time", "status", "resolved model", "fingerprint", *(h for h, _ in P.METRICS.values())]
        table = [header]
        for r in group:
            drifted = drift.get((name, r.run_id), [])
            cells = [
                "◆" if r.provenance_changed else "", str(r.run_id), r.started_at[:16].replace("T", " "),
                r.status if not r.errors else f"{r.status} ({r.errors} errors)",
                _top(r.provenance["resolved_models"]), _top(r.provenance["fingerprints"]),
            ]  # fmt: skip
            for key, (_, kind) in P.METRICS.items():
                cells.append(_fmt(kind, r.metrics[key]) + (" △" if key in drifted else ""))
            table.append(cells)
        print_table(table, right={1})
        ok = [r for r in group if r.status == "ok"]
        if len(ok) >= 2:
            print("trend (successful probes, oldest → newest):")
            width = max(len(h) for h, _ in P.METRICS.values())
            for key, (head, kind) in P.METRICS.items():
                values = [r.metrics[key] for r in ok]
                line = sparkline(values, 0.0, 1.0) if kind == "rate" else sparkline(values)
                got = [v for v in values if v is not None]
                span = f"{_fmt(kind, got[0])} → {_fmt(kind, got[-1])}" if got else "-"
                print(f"  {head:<{width}}  {line}  {span}")
    sys.stdout.flush()
    return 0

"""``reviewer gate``: a CI check that exits 0 when the candidate may ship and 1 when a threshold is crossed."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..export.gate import Limit, parse_count, parse_limit

    p = sub.add_parser(
        "gate",
        help="CI gate: exit 0 if the candidate may ship, 1 if a threshold is crossed",
        description="Exit 0 when the candidate may ship, 1 when a threshold is crossed (printing which), 2 on "
        "usage errors. Negative flips are cases whose checks passed on the baseline and fail on the "
        "candidate, minus those a reviewer's latest label calls acceptable, improvement or noise; "
        "regressions are cases whose latest label is regression. Both limits default to 0.",
    )
    p.add_argument("comparison", nargs="?", metavar="COMPARISON", help="comparison id or name (default: the latest)")
    p.add_argument(
        "--max-negative-flips", type=parse_limit, default=Limit(count=0), metavar="N|P%",
        help="most negative flips allowed: a count, a percentage of the cases with checks, or off (default 0)",
    )  # fmt: skip
    p.add_argument(
        "--max-regressions", type=parse_count, default=Limit(count=0), metavar="N",
        help="most cases labelled regression allowed, or off (default 0)",
    )  # fmt: skip
    p.add_argument("--fail-on-unreviewed", action="store_true", help="fail while changed cases are unreviewed")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    from ._common import add_db_option

    add_db_option(p)


def run(args: argparse.Namespace) -> int:
    from ..export.changelog import load_changelog
    from ..export.gate import evaluate_gate
    from ..export.options import gc_paused
    from ._common import open_store

    with gc_paused(), open_store(args) as store:
        cl = load_changelog(store, args.comparison, allow_unreviewed=True)
    result = evaluate_gate(
        cl, max_negative_flips=args.max_negative_flips, max_regressions=args.max_regressions,
        fail_on_unreviewed=args.fail_on_unreviewed,
    )  # fmt: skip
    if args.json:
        doc = {
            "comparison": {"id": cl.comparison_id, "name": cl.comparison_name, "suite": cl.suite_name,
                           "suite_digest": cl.suite_digest, "baseline": cl.baseline.spec, "candidate": cl.candidate.spec},
            "ship": result.ship, "exit_code": result.exit_code, "numbers": result.numbers,
            "thresholds": result.thresholds, "failures": result.failures,
        }  # fmt: skip
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return result.exit_code
    name = f" ({cl.comparison_name})" if cl.comparison_name else ""
    print(f"comparison #{cl.comparison_id}{name}: {cl.suite_name}, {cl.baseline.spec} → {cl.candidate.spec}, "
          f"{cl.summary.cases} cases")  # fmt: skip
    width = max(len(c[0]) for c in result.checks)
    for check_name, ok, measured, limit in result.checks:
        print(f"  {'ok  ' if ok else 'FAIL'}  {check_name:<{width}}  {measured}  [{limit}]")
    if result.ship:
        print("ship: no threshold crossed")
    else:
        n = len(result.failures)
        print(f"do not ship: {n} threshold{'s' * (n != 1)} crossed: " + "; ".join(result.failures))
    return result.exit_code

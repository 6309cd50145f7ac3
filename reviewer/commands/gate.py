"""``reviewer gate``: a CI check that exits 0 when the candidate may ship and 1 when a rule fails."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store import Store
    from ..store.reader import Origins


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..export.gate import Limit, parse_count, parse_limit

    p = sub.add_parser(
        "gate",
        help="CI gate: exit 0 if the candidate may ship, 1 if a threshold is crossed",
        description="Exit 0 when the candidate may ship, 1 when a rule fails (printing which), 2 on usage or "
        "store errors. The gate fails closed: it refuses a comparison that did not finish, calls that "
        "ended in an error or have no answer (beyond --max-errors, per side), and a case with checks "
        "that a side has no answer for. Negative flips are cases whose checks passed on the baseline and "
        "fail on the candidate, minus those a reviewer's latest label calls acceptable, improvement or "
        "noise; regressions are cases whose latest label is regression. All limits default to 0.",
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
    p.add_argument(
        "--max-errors", type=parse_limit, default=Limit(count=0), metavar="N|P%",
        help="most calls without an answer (an error after retries, or none stored) allowed on each side: "
        "a count, a percentage of that side's (case, sample) calls, or off (default 0)",
    )  # fmt: skip
    p.add_argument("--fail-on-unreviewed", action="store_true", help="fail while changed cases are unreviewed")
    p.add_argument(
        "--significant-only", action="store_true",
        help="fail on negative flips only when they are more than sampling noise explains (exact McNemar test "
        "of negative against positive flips at --alpha); labelled regressions and missing answers still fail",
    )  # fmt: skip
    p.add_argument("--alpha", type=float, default=0.05, metavar="LEVEL",
                   help="significance level of --significant-only and of the p-values reported (default 0.05)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the numbers, the rules and why as JSON")
    from ._common import add_db_option

    add_db_option(p)


def run(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    from ..errors import UsageError
    from ..export.changelog import build_changelog
    from ..export.changelog.load import load_inputs
    from ..export.gate import coverage, evaluate_gate
    from ..export.options import gc_paused
    from ..store import resolve_comparison_id
    from ._common import open_store, visible

    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha {args.alpha:g}: expected a level between 0 and 1, e.g. 0.05")
    with (
        gc_paused(),
        open_store(args) as store,
        store.healthy_reads(),  # the store's check beside all of it
        ThreadPoolExecutor(1, thread_name_prefix="reviewer-counts") as pool,
    ):
        comp = store.comparison(resolve_comparison_id(store, args.comparison))
        runs = (store.run(comp.baseline_run_id), store.run(comp.candidate_run_id))
        # the calls are counted by SQLite (the coverage, and the sides' answer origins, in one
        # scan) on a connection of their own, in a thread, while the cached summaries (no
        # output) are read and the changelog is built
        counted = pool.submit(_tallies, store, [(run.id, run.samples) for run in runs])

        def origins() -> tuple[Origins, Origins]:
            (_, b), (_, c) = counted.result()
            return b, c

        data, rows, labels, texts, sides = load_inputs(store, comp.id, texts=False, origins=origins)  # no excerpt printed
        cl = build_changelog(
            data, rows, labels, store.signoffs(comp.id), generated_at=datetime.now(UTC), generated_by="",
            allow_unreviewed=True, alpha=args.alpha, texts=texts, origins=sides,
            figures=False,  # the gate reads the summary and the cases: no metric is computed for it
        )  # fmt: skip
        cov = coverage(data, dict(zip(("baseline", "candidate"), (t[0] for t in counted.result()), strict=True)))
    result = evaluate_gate(
        cl, cov, max_negative_flips=args.max_negative_flips, max_regressions=args.max_regressions,
        max_errors=args.max_errors, fail_on_unreviewed=args.fail_on_unreviewed,
        significant_only=args.significant_only,
    )  # fmt: skip
    if args.json:
        doc = {
            "comparison": {"id": cl.comparison_id, "name": cl.comparison_name, "suite": cl.suite_name,
                           "suite_digest": cl.suite_digest, "status": cl.comparison_status,
                           "baseline": cl.baseline.spec, "candidate": cl.candidate.spec},
            "ship": result.ship, "exit_code": result.exit_code,
            "reason": "; ".join(result.failures) if result.failures else "no rule failed",
            "failed_rules": [r.doc() for r in result.failed],
            "rules": [{"ok": r.ok, **r.doc()} for r in result.rules],
            "numbers": result.numbers, "thresholds": result.thresholds, "failures": result.failures,
        }  # fmt: skip
        print(_json_for_terminal(doc))
        return result.exit_code
    name = f" ({visible(cl.comparison_name)})" if cl.comparison_name else ""
    print(f"comparison #{cl.comparison_id}{name}: {visible(cl.suite_name)}, {visible(cl.baseline.spec)} → "
          f"{visible(cl.candidate.spec)}, {cl.summary.cases} cases")  # fmt: skip
    width = max(len(c[0]) for c in result.checks)
    for check_name, ok, measured, limit in result.checks:
        print(f"  {'ok  ' if ok else 'FAIL'}  {check_name:<{width}}  {visible(measured)}  [{limit}]")
    if result.ship:
        print("ship: no threshold crossed")
    else:
        n = len(result.failures)
        print(visible(f"do not ship: {n} threshold{'s' * (n != 1)} crossed: " + "; ".join(result.failures)))
    return result.exit_code


def _tallies(store: Store, runs: list[tuple[int, int]]) -> list[tuple[dict[str, tuple[int, int]], Origins]]:
    """Each run's :meth:`~reviewer.store.StoreReader.run_tallies` (run id, samples): its calls
    counted per case and its answer origins, on a reader of its own, at a lower priority (it
    takes the core the main thread leaves idle)."""
    from ..store import lower_thread_priority

    lower_thread_priority()
    with store.reader() as reader:
        return [reader.run_tallies(run_id, samples) for run_id, samples in runs]


def _json_for_terminal(doc: object) -> str:
    """JSON as readable as ``ensure_ascii=False`` makes it, every hidden character escaped."""
    from ..untrusted import json_dumps

    return json_dumps(doc, indent=2)

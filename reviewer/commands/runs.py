"""``reviewer runs``: list runs, and export one in the ``recorded`` provider's JSONL format
(how the demo recording was made, and how outputs travel between machines)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UsageError
from ._common import add_db_option, open_store, print_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list runs, or export one as recorded JSONL")
    rsub = p.add_subparsers(dest="runs_command", metavar="SUBCOMMAND")
    ls = rsub.add_parser("list", help="list runs (the default)")
    add_db_option(ls)
    ls.set_defaults(func=list_runs)
    ex = rsub.add_parser("export", help="write a run's outputs as recorded-provider JSONL")
    ex.add_argument("run_id", type=int, metavar="RUN")
    ex.add_argument("-o", "--output", metavar="FILE", help="default: stdout")
    ex.add_argument("--with-errors", action="store_true", help="include failed calls (as records with an error field)")
    add_db_option(ex)
    ex.set_defaults(func=export_run)
    add_db_option(p)
    p.set_defaults(func=list_runs)


def list_runs(args: argparse.Namespace) -> int:
    from .comparisons import model_names

    with open_store(args) as store:
        runs = store.runs()
        counts = store.output_counts()
    if not runs:
        print("No runs yet.", file=sys.stderr)
        return 0
    names = model_names([(r.spec, r.base_url) for r in runs])
    rows = [["id", "side", "model", "label", "started", "outputs", "errors", "status"]]
    for r in runs:
        n, errors = counts.get(r.id, (0, 0))
        rows.append([
            str(r.id), r.side or "-", names[(r.spec, r.base_url)], r.label or "-", r.started_at[:16].replace("T", " "),
            str(n), str(errors), r.status,
        ])  # fmt: skip
    print_table(rows, right={0, 5, 6})
    return 0


def export_run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        from ..store import StoreError

        try:
            run = store.run(args.run_id)
        except StoreError as e:
            raise UsageError(str(e)) from None
        lines = []
        for o in store.outputs(run.id):
            if o.error is not None and not args.with_errors:
                continue
            rec = {"case_id": o.case_id, "sample": o.sample, "output": o.text or "", "model": o.resolved_model or run.model}
            for key in ("system_fingerprint", "finish_reason", "refusal", "latency_ms", "usage", "request_id", "error"):
                value = getattr(o, key)
                if value is not None:
                    rec[key] = round(value, 1) if key == "latency_ms" else value
            lines.append(json.dumps(rec, ensure_ascii=False) + "\n")
    if not args.output:
        sys.stdout.writelines(lines)
        return 0
    out = Path(args.output)
    from ..fsutil import atomic_write_text

    atomic_write_text(out, "".join(lines))  # an ordinary file to share (0666 & ~umask), never half-written
    print(f"{out}: {len(lines)} outputs of run {run.id} ({run.spec})", file=sys.stderr)
    return 0

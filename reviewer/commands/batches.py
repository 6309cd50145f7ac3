"""``reviewer batches``: the provider batches ``reviewer run --batch`` submitted, with their state;
``reviewer batches cancel ID`` asks the provider to stop one (what it already answered is still
collected by the same ``run --batch`` command)."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import UsageError
from ._common import add_db_option, open_store, print_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batches", help="list provider batches (run --batch), or cancel one")
    bsub = p.add_subparsers(dest="batches_command", metavar="SUBCOMMAND")
    ls = bsub.add_parser("list", help="list batches (the default)")
    ls.add_argument("--json", action="store_true", help="one JSON document on stdout")
    add_db_option(ls)
    ls.set_defaults(func=list_batches)
    cancel = bsub.add_parser("cancel", help="ask the provider to cancel a batch")
    cancel.add_argument("batch", metavar="ID", help="the provider's batch id (or the local number shown by `reviewer batches`)")
    add_db_option(cancel)
    cancel.set_defaults(func=cancel_batch)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    add_db_option(p)
    p.set_defaults(func=list_batches)


def list_batches(args: argparse.Namespace) -> int:
    from ..store.batches import batches

    with open_store(args) as store:
        found = batches(store)
    if getattr(args, "json", False):
        json.dump({"batches": [b.as_json() for b in found]}, sys.stdout, ensure_ascii=True, indent=2)
        print()
        return 0
    if not found:
        print("No batches yet (reviewer run --batch submits them).", file=sys.stderr)
        return 0
    rows = [
        ["#", "batch", "provider", "model", "comparison", "side", "requests", "ok", "failed", "expired", "status", "collected"]
    ]
    for b in found:
        rows.append([
            str(b.id), b.batch_id or "(submitting)", b.provider, b.model, str(b.comparison_id), b.side, str(b.request_count),
            str(b.succeeded), str(b.failed), str(b.expired), b.status, (b.collected_at or "no")[:16].replace("T", " "),
        ])  # fmt: skip
    print_table(rows, right={0, 4, 6, 7, 8, 9})
    return 0


def cancel_batch(args: argparse.Namespace) -> int:
    from ..batch import client_for
    from ..providers import Spec, make_provider
    from ..store.batches import find_batch, update_batch

    with open_store(args, readonly=False) as store:
        record = find_batch(store, args.batch)
        if record is None:
            raise UsageError(f"batches cancel {args.batch!r}: no such batch in {store.path} (see `reviewer batches`)")
        if record.batch_id is None:
            raise UsageError(f"batches cancel {args.batch!r}: it was never submitted (no provider id)")
        if not record.open:
            print(f"Batch {record.batch_id} is already collected ({record.status}); nothing to cancel.", file=sys.stderr)
            return 0
        provider = make_provider(Spec(record.provider, record.model, record.base_url), "batches cancel", store)
        client = client_for(provider)
        try:
            st = client.cancel(record.batch_id)
        finally:
            client.close()
        update_batch(store, record.id, status=st.status)
    print(
        f"Cancel requested for {record.batch_id} ({st.status}). What it answered is still collected by the same "
        "`reviewer run --batch` command.",
        file=sys.stderr,
    )
    return 0

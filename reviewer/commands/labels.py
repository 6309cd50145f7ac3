"""``reviewer labels export|import``: share labels between reviewers on different machines (JSONL)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import add_db_option, open_store


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "labels",
        help="export or import labels as JSONL, to merge reviewers' work across machines",
        description="Share labels: `reviewer labels export -o ada.jsonl` on one machine, `reviewer labels import "
        "ada.jsonl` on another. Each line names its comparison by suite digest, models and name, so it finds "
        "the same comparison elsewhere. Importing twice changes nothing; a newer label replaces an older one "
        "of the same reviewer; labels for unknown comparisons or cases are listed (exit 1); a malformed "
        "line imports nothing (exit 2).",
    )
    actions = p.add_subparsers(dest="labels_action", metavar="ACTION", required=True)
    ex = actions.add_parser("export", help="write a comparison's labels as JSONL")
    ex.add_argument("comparison", nargs="?", metavar="COMPARISON", help="comparison id or name (default: the latest)")
    ex.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    add_db_option(ex)
    im = actions.add_parser("import", help="merge labels from a JSONL file into the store")
    im.add_argument("file", metavar="FILE", help="labels JSONL written by `reviewer labels export` (or several concatenated)")
    im.add_argument("--into", metavar="COMPARISON", help="import into this comparison (id or name) whatever the lines name")
    im.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    add_db_option(im)


def run(args: argparse.Namespace) -> int:
    from ..export.labels_io import export_labels, import_labels, write_lines
    from ..store import resolve_comparison_id

    writes = args.labels_action == "import" and not args.dry_run
    # an import that cannot be written says why before reading the file; export and --dry-run only read
    with open_store(args, readonly=False if writes else "auto") as store:
        if args.labels_action == "export":
            cid = resolve_comparison_id(store, args.comparison)
            cid = store.comparison(cid).id
            lines = export_labels(store, cid)
            text = write_lines(lines)
            if args.output and args.output != "-":
                from ..export.signing import write_atomic

                write_atomic(Path(args.output), text.encode("utf-8"))
                print(f"reviewer labels: wrote {len(lines)} labels of comparison #{cid} to {args.output}", file=sys.stderr)
            else:
                sys.stdout.write(text)
            return 0
        into = resolve_comparison_id(store, args.into) if args.into else None
        report = import_labels(store, Path(args.file), into=into, dry_run=args.dry_run)
    for line in report.skipped:
        print(f"reviewer labels: {line}", file=sys.stderr)
    for line in report.notes:
        print(f"reviewer labels: note: {line}", file=sys.stderr)
    print(("(dry run) " if args.dry_run else "") + report.summary())
    return 1 if report.skipped else 0

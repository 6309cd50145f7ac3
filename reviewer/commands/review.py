"""``reviewer review [COMPARISON] [--db PATH] [--reviewer "Name <email>"]``: open the review app."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ._common import add_db_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "review",
        help="triage a comparison by keyboard (the latest by default); labels are saved as you go",
        description="Open the review app on a comparison: cases ranked by how much they changed, "
        "side-by-side diffs, labels (r/i/a/x) saved to the store at once. Press ? in the app for every key.",
    )
    p.add_argument("comparison", nargs="?", metavar="COMPARISON", help="comparison id or name (default: the latest)")
    p.add_argument("--reviewer", "--as", dest="reviewer", metavar="'NAME <EMAIL>'",
                   help="who is labelling (default: git config user.name/user.email, else the OS user)")  # fmt: skip
    add_db_option(p)


def resolve_comparison(store, spec: str | None) -> int | None:  # store: reviewer.store.Store
    """An id, or the name of a comparison (the latest one with that name)."""
    if spec is None:
        return None
    if spec.isdigit():
        return int(spec)
    named = [c.id for c in store.comparisons() if c.name == spec]
    if not named:
        raise UsageError(f"no comparison with id or name {spec!r} (see `reviewer comparisons`)")
    return named[-1]


def run(args: argparse.Namespace) -> int:
    from ..locations import db_path
    from ..store import Store

    path = db_path(args.db)
    if not path.exists():
        raise UsageError(f"{path}: no such database (make a comparison with `reviewer run`, or try `reviewer demo`)")
    with Store(path, readonly="auto") as store:  # reading only; the app says when it cannot write
        comparison_id = resolve_comparison(store, args.comparison)
    from ..app import ReviewApp  # Textual is imported only here

    app = ReviewApp(path, comparison_id, reviewer=args.reviewer)
    try:
        app.run()
    finally:
        app.close_store()  # normally done on unmount; a crash before mount still writes labels
    return app.finish()

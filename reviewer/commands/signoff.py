"""``reviewer signoff``: record an approval of a comparison's review."""

from __future__ import annotations

import argparse

from ._common import add_db_option, open_store, visible


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "signoff",
        help="record your approval of a comparison (shown in the changelog's sign-off block)",
        description="Record that you approve the comparison as reviewed. The sign-off keeps a digest of the "
        "reviewed state (every label, check and change score): the changelog shows a sign-off as changed "
        "when labels or outputs change after it. Refuses while changed cases are unreviewed unless "
        "--allow-unreviewed.",
    )
    p.add_argument("comparison", nargs="?", metavar="COMPARISON", help="comparison id or name (default: the latest)")
    p.add_argument(
        "--as", dest="identity", metavar='"NAME <EMAIL>"', help="who signs off (default: git config, then the OS user)"
    )
    p.add_argument("--note", metavar="TEXT", help="a note shown next to the sign-off")
    p.add_argument("--allow-unreviewed", action="store_true", help="sign off although changed cases are unreviewed")
    add_db_option(p)


def run(args: argparse.Namespace) -> int:
    from ..export.changelog import load_changelog, review_state_digest
    from ..export.options import gc_paused, refuse_unreviewed
    from ..export.plural import plural
    from ..identity import reviewer_identity

    signer = reviewer_identity(args.identity)
    with gc_paused(), open_store(args) as store:
        cl = load_changelog(store, args.comparison, generated_by=signer, allow_unreviewed=True)
        if not args.allow_unreviewed:
            refuse_unreviewed(cl.unreviewed, "sign off anyway")
        note = args.note.strip() if args.note and args.note.strip() else None
        state = review_state_digest(cl)
        s = store.add_signoff(cl.comparison_id, signer, note=note, body_digest=state)
    sm = cl.summary
    # names come from other people's files and flags (suite, comparison --name, --as, --note, run
    # specs): printed through `visible`, so a terminal escape in one shows as ␛ and does nothing
    name = f" ({visible(cl.comparison_name)})" if cl.comparison_name else ""
    print(
        f"Signed off comparison #{cl.comparison_id}{name} ({visible(cl.suite_name)}: {visible(cl.baseline.shown)} → "
        f"{visible(cl.candidate.shown)}) as {visible(signer)} at {s.created_at}: {plural(sm.regressions, 'regression')}, "
        f"{plural(sm.negative_flips, 'negative flip')}, {sm.unreviewed:,} unreviewed. "
        f"Reviewed state {state.removeprefix('state-sha256:')[:16]}…" + (f" Note: {visible(note)}" if note else "")
    )
    return 0

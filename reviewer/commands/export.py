"""``reviewer export``: the behavioural changelog of a comparison, in Markdown or JSON, optionally
signed with an SSH key."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from ..errors import UsageError
from ._common import add_db_option, open_store, visible


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write the behavioural changelog (Markdown or JSON), optionally signed",
        description="Write the behavioural changelog of a comparison (the latest by default): verdicts, "
        "negative flips, behaviour deltas per tag, regressions with excerpts, what did not change, "
        "provenance warnings and the sign-off block with the body's SHA-256. Refuses while changed "
        "cases are unreviewed unless --allow-unreviewed.",
    )
    p.add_argument("comparison", nargs="?", metavar="COMPARISON", help="comparison id or name (default: the latest)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    p.add_argument("--format", choices=("md", "json"), help="md or json (default: from FILE's suffix, else md)")
    p.add_argument(
        "--sign", nargs="?", const="", metavar="KEY",
        help="sign with this SSH key (ssh-keygen -Y sign -n reviewer-changelog); without KEY, git's user.signingkey",
    )  # fmt: skip
    p.add_argument(
        "--embed-signature", action="store_true",
        help="with --sign: append the signature to the Markdown instead of writing FILE.sig",
    )  # fmt: skip
    p.add_argument(
        "--allow-unreviewed", action="store_true",
        help="export even though changed cases are unreviewed (they are listed as such)",
    )  # fmt: skip
    p.add_argument("--as", dest="identity", metavar='"NAME <EMAIL>"', help="who exports (default: git config, then the OS user)")
    p.add_argument(
        "--price", action="append", metavar="MODEL=IN,OUT",
        help="USD per million input,output tokens for a run's model (repeatable), to show cost",
    )  # fmt: skip
    p.add_argument(
        "--alpha", type=float, default=0.05, metavar="LEVEL",
        help="significance level of the paired tests behind every delta (default 0.05)",
    )  # fmt: skip
    add_db_option(p)


def run(args: argparse.Namespace) -> int:
    from ..export.options import gc_paused

    with gc_paused():  # see gc_paused: 2-4x faster on a 10,000-case comparison
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from ..export.changelog import (
        ExcerptsAhead,
        RowsAhead,
        SignaturePlan,
        iter_json,
        load_changelog,
        render_markdown,
    )
    from ..export.options import parse_prices, principal_of, refuse_unreviewed
    from ..export.plural import plural
    from ..export.signing import body_digest, embed_signature, parse_layout, write_atomic
    from ..identity import reviewer_identity

    out_path = Path(args.output) if args.output and args.output != "-" else None
    fmt = args.format or ("json" if out_path is not None and out_path.suffix.lower() == ".json" else "md")
    signing = args.sign is not None
    if args.embed_signature and not signing:
        raise UsageError("--embed-signature goes with --sign KEY")
    if signing and fmt == "json" and args.embed_signature:
        raise UsageError("--embed-signature works for Markdown; a JSON export is signed in a detached FILE.sig")
    if signing and out_path is None and not args.embed_signature:
        raise UsageError("--sign needs -o FILE (the signature goes to FILE.sig), or --embed-signature")
    if out_path is not None and not out_path.parent.is_dir():
        raise UsageError(f"-o {args.output}: no such directory {out_path.parent}")
    prices = parse_prices(args.price)
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha {args.alpha:g}: expected a level between 0 and 1, e.g. 0.05")
    identity = reviewer_identity(args.identity)

    # a big export's rows (JSON) or diff excerpts (Markdown) start being made by a forked child
    # as soon as the cases are final, while the changelog's sums are still being made; leaving
    # this block stops a child that no writer took (a failed check, a refusal below)
    ahead = RowsAhead() if fmt == "json" else ExcerptsAhead()
    with ahead:
        with open_store(args) as store:
            cl = load_changelog(store, args.comparison, generated_by=identity, prices=prices,
                                allow_unreviewed=args.allow_unreviewed, alpha=args.alpha, cases_ready=ahead)  # fmt: skip
        if not args.allow_unreviewed:
            refuse_unreviewed(cl.unreviewed, "list them as unreviewed")

        filename = out_path.name if out_path is not None else ("changelog.json" if fmt == "json" else "CHANGELOG.md")
        import tempfile

        with tempfile.TemporaryDirectory(prefix="reviewer-export-") as tmp:
            key = plan = None
            if signing:
                from ..export.signing import key_fingerprint, resolve_key

                key = resolve_key(args.sign or None, Path(tmp))
                plan = SignaturePlan(
                    "embedded" if args.embed_signature else "detached", key_fingerprint(key), principal_of(identity)
                )
            document = (
                None
                if isinstance(ahead, RowsAhead)
                else render_markdown(cl, filename=filename, signature=plan, excerpts=ahead.excerpts(cl.cases))
            )
            signature = None
            if document is None:
                # the JSON is written as it is made (~70 MB at 100,000 cases, never held whole) and
                # signed on its temporary file before that replaces the target
                pieces = iter_json(cl, ahead=ahead if isinstance(ahead, RowsAhead) else None)
                if out_path is None:
                    for piece in pieces:
                        sys.stdout.write(piece)
                    sys.stdout.flush()
                else:
                    from ..export.signing import sign_file
                    from ..fsutil import atomic_write_chunks

                    sign = None if key is None else partial(sign_file, key=key)
                    signature = atomic_write_chunks(out_path, (p.encode("utf-8") for p in pieces), validate=sign)
            elif key is not None:
                from ..export.signing import sign_bytes

                signature = sign_bytes(document.encode("utf-8"), key)
                if args.embed_signature:
                    document, signature = embed_signature(document, signature), None

    if out_path is None:
        if document is not None:
            sys.stdout.write(document)
            sys.stdout.flush()
    else:
        if document is not None:
            write_atomic(out_path, document.encode("utf-8"))
        sig_path = out_path.with_name(out_path.name + ".sig")
        if signature is not None:
            write_atomic(sig_path, signature.encode("ascii"))
        elif sig_path.is_file() and sig_path.read_bytes().startswith(b"-----BEGIN SSH SIGNATURE-----"):
            sig_path.unlink()  # it signed the file we just replaced: verify would only report a mismatch
            print(f"reviewer export: removed the stale {visible(str(sig_path))}", file=sys.stderr)
        what = f"wrote {visible(str(out_path))}"
        if document is not None:
            layout = parse_layout(document)
            what += f" (body: lines 1–{layout.body_lines}, sha256 {body_digest(layout.body)[:16]}…)"
        if signature is not None:
            what += f"; signature {visible(str(sig_path))}"
        elif args.embed_signature:
            what += "; signature embedded"
        s = cl.summary
        print(
            f"reviewer export: {what}. {plural(s.cases, 'case')}: {plural(s.regressions, 'regression')}, "
            f"{plural(s.negative_flips, 'negative flip')}, {s.unreviewed:,} unreviewed",
            file=sys.stderr,
        )
    return 0

"""``reviewer verify``: check a changelog's body digest and SSH signature, and name the signer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check a changelog's digest and SSH signature and name the signer",
        description="Check that CHANGELOG is exactly what was signed: the body's SHA-256 against its sign-off "
        "block, then the SSH signature (embedded, or CHANGELOG.sig next to it) against an allowed-signers "
        "file, and name the signer. Exit 0 when good; 1 when anything changed (line endings included), "
        "the signature is damaged, or the signer is not trusted for this namespace; 2 on usage errors. Plain `ssh-keygen -Y verify -n reviewer-changelog` checks the same signature.",
    )
    p.add_argument("file", metavar="CHANGELOG", help="the exported changelog (.md or .json)")
    p.add_argument(
        "--allowed-signers", metavar="FILE",
        help="ssh allowed_signers file (default: git config gpg.ssh.allowedSignersFile, then ~/.ssh/allowed_signers)",
    )  # fmt: skip
    p.add_argument("--signature", metavar="SIG", help="a detached signature elsewhere than CHANGELOG.sig")


def run(args: argparse.Namespace) -> int:
    from ..errors import ReviewerError
    from ..export.signing import VerifyFailed, verify_file
    from ._common import visible

    # Every name printed here can come from someone else's files (the changelog's path, the
    # principal in allowed_signers, ssh-keygen's messages quoting them): shown with `visible`.
    try:
        report = verify_file(
            Path(args.file),
            allowed_signers=Path(args.allowed_signers).expanduser() if args.allowed_signers else None,
            signature=Path(args.signature) if args.signature else None,
        )
    except VerifyFailed as e:
        print(f"reviewer verify: {visible(str(e))}", file=sys.stderr)
        return 1
    except ReviewerError as e:  # usage and input trouble: exit 2, as cli.main does, but shown safely
        print(f"reviewer verify: {visible(str(e))}", file=sys.stderr)
        return 2
    print(visible(report.summary(args.file)))
    return 0

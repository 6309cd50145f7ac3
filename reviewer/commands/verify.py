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
        "file, and name the signer. Exit 0 when good, 1 when anything changed or the signer is not trusted, "
        "2 on usage errors. Plain `ssh-keygen -Y verify -n reviewer-changelog` checks the same signature.",
    )
    p.add_argument("file", metavar="CHANGELOG", help="the exported changelog (.md or .json)")
    p.add_argument(
        "--allowed-signers", metavar="FILE",
        help="ssh allowed_signers file (default: git config gpg.ssh.allowedSignersFile, then ~/.ssh/allowed_signers)",
    )  # fmt: skip
    p.add_argument("--signature", metavar="SIG", help="a detached signature elsewhere than CHANGELOG.sig")


def run(args: argparse.Namespace) -> int:
    from ..export.signing import VerifyFailed, verify_file

    try:
        report = verify_file(
            Path(args.file),
            allowed_signers=Path(args.allowed_signers).expanduser() if args.allowed_signers else None,
            signature=Path(args.signature) if args.signature else None,
        )
    except VerifyFailed as e:
        print(f"reviewer verify: {e}", file=sys.stderr)
        return 1
    print(report.summary(args.file))
    return 0

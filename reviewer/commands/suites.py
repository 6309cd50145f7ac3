"""``reviewer suites validate SUITE...``: every problem of every file as ``file:line: message``."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("suites", help="work with suite files", description="Work with golden suite files.")
    ssub = p.add_subparsers(dest="suites_command", metavar="SUBCOMMAND", required=True)
    v = ssub.add_parser("validate", help="check suite files and report every problem as file:line: message")
    v.add_argument("files", nargs="+", metavar="SUITE")
    v.set_defaults(func=validate)


def validate(args: argparse.Namespace) -> int:
    from ..suite import SuiteError, load_suite

    failed = False
    for path in args.files:
        try:
            loaded = load_suite(path)
        except SuiteError as e:
            failed = True
            for problem in e.problems:
                print(problem, file=sys.stderr)
            continue
        suite = loaded.suite
        n_checks = sum(len(c.checks) for c in suite.cases)
        print(f"{path}: ok — suite {suite.suite!r}, {len(suite.cases)} cases, {n_checks} checks, digest {loaded.digest[:12]}")
    return 1 if failed else 0

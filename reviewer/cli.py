"""The ``reviewer`` command line. Each subcommand lives in ``reviewer/commands/<name>.py`` and
exposes ``add_parser(subparsers)`` and ``run(args) -> int``. Command modules keep heavy imports
(Textual above all) inside ``run``, so ``reviewer diff`` or ``reviewer run`` never load the UI."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__
from .errors import ReviewerError, UsageError  # noqa: F401  (UsageError re-exported for commands)

#: Help order; modules not named here come after, alphabetically.
ORDER = [
    "demo", "review", "run", "diff", "comparisons", "runs", "suites", "add_case", "import_",
    "export", "signoff", "verify", "gate", "probe", "history", "judge", "labels", "batches", "doctor",
]  # fmt: skip


def _command_modules() -> list[str]:
    from . import commands

    found = {m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reviewer",
        description="Make a model's behaviour change reviewable: replay golden suites against a baseline "
        "and a candidate, triage the diffs by keyboard, sign a behavioural changelog.",
    )
    parser.add_argument("--version", action="version", version=f"reviewer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _command_modules():
        module = importlib.import_module(f"reviewer.commands.{name}")
        before = set(sub.choices)
        module.add_parser(sub)
        for added in set(sub.choices) - before:
            if sub.choices[added].get_default("func") is None and hasattr(module, "run"):
                sub.choices[added].set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ReviewerError as e:
        from .untrusted import visible  # messages quote case ids, paths and provider text

        for line in str(e).splitlines() or [type(e).__name__]:
            print(f"reviewer {args.command}: {visible(line)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"reviewer {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `reviewer diff … | head`
        return 0
    except Exception as e:
        # The store is damaged, locked, read-only or full: one line, never a traceback. sqlite3 is
        # looked up, not imported: `reviewer diff` never loads it, and then cannot raise its errors.
        sqlite3 = sys.modules.get("sqlite3")
        if sqlite3 is None or not isinstance(e, sqlite3.Error):
            raise
        from .store import sqlite_error_message
        from .untrusted import visible

        print(f"reviewer {args.command}: {visible(sqlite_error_message(e))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

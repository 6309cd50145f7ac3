"""``reviewer add-case``: append a golden case to a suite file (after an incident, say) without
reformatting the rest of the file."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..suite import Case


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "add-case",
        help="append a golden case to a suite file",
        description="Append a case to SUITE (.yaml or .jsonl; created when missing). Comments, order and "
        "formatting of the rest of the file are kept; the whole suite is validated before anything is "
        "written, and the write is atomic. The case records today's date as `added`.",
        epilog="examples:\n"
        "  reviewer add-case suites/support.yaml --id refund-tone --prompt 'Can I get a refund?' \\\n"
        "      --tag billing --check '{\"not_refusal\": true}' --origin 'INC-1234'\n"
        "  reviewer add-case suites/support.yaml --id inc-1234 --from-log prod.jsonl:812 --reference good.txt\n"
        "  reviewer add-case suites/support.yaml --id inc-1240 --from-trace traces.jsonl:4b85fe82e5017034",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("suite", metavar="SUITE", help="suite file (.yaml or .jsonl)")
    p.add_argument("--id", required=True, help="the new case's id (must not exist in SUITE)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompt", metavar="TEXT", help="the user prompt")
    src.add_argument("--messages", metavar="FILE", help="JSON file: a list of {role, content} (or {messages: [...]}); - = stdin")
    src.add_argument(
        "--from-log", metavar="FILE[:LINE]",
        help="a JSONL log line in OpenAI chat request/response form (messages, model, output); "
        "its request becomes the case, its sampling parameters the case's params",
    )  # fmt: skip
    src.add_argument(
        "--from-trace", metavar="FILE[:SPAN_ID|LINE]",
        help="one model call of an OTLP JSON trace file (OpenTelemetry GenAI spans) or a Langfuse export "
        "(an observation id); its request (messages, system, tools, sampling parameters) becomes the case",
    )  # fmt: skip
    p.add_argument("--system", metavar="TEXT", help="system prompt for this case (with --prompt)")
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="a tag (repeatable)")
    p.add_argument(
        "--reference", metavar="TEXT|FILE",
        help="the known-good answer: text, or a file to read (an existing path, or @PATH to insist on a file)",
    )  # fmt: skip
    p.add_argument(
        "--check", action="append", default=[], metavar="JSON",
        help='a check as JSON, e.g. \'{"regex": "refund"}\' or \'{"max_words": 120}\' (repeatable)',
    )  # fmt: skip
    p.add_argument("--origin", metavar="TEXT", help="where the case came from (incident id, ticket, log line)")
    p.add_argument(
        "--no-log-params", action="store_true", help="with --from-log/--from-trace: do not copy the request's sampling parameters"
    )
    p.add_argument("--added", metavar="YYYY-MM-DD", help="the date recorded as added (default: today)")


def _read_text(path: str, option: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{option} {path}: no such file") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"{option} {path}: not UTF-8 text ({e.reason})") from None
    except OSError as e:
        raise UsageError(f"{option} {path}: {e.strerror or e}") from None


def _reference(value: str | None) -> str | None:
    if value is None:
        return None
    if value.startswith("@") and len(value) > 1:
        return _read_text(value[1:], "--reference")
    if "\n" not in value and len(value) < 4096:
        try:
            if Path(value).is_file():
                return _read_text(value, "--reference")
        except OSError:
            pass
    return value


def _messages(path: str) -> list[dict[str, Any]]:
    text = _read_text(path, "--messages")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"--messages {path}:{e.lineno}: invalid JSON: {e.msg}") from None
    if isinstance(data, dict) and "messages" in data:
        data = data["messages"]
    if not isinstance(data, list):
        raise UsageError(f"--messages {path}: expected a JSON list of {{role, content}} messages")
    return data


def _checks(raw: list[str]) -> list[Any]:
    from pydantic import ValidationError

    from ..suite import Check

    out = []
    for text in raw:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise UsageError(f'--check {text!r}: invalid JSON: {e.msg} (write it like \'{{"regex": "refund"}}\')') from None
        try:
            out.append(Check.model_validate(data))
        except ValidationError as e:
            msg = e.errors()[0]["msg"].removeprefix("Value error, ")
            raise UsageError(f"--check {text!r}: {msg}") from None
    return out


_FIELD_OPTION = {"id": "--id", "tags": "--tag", "prompt": "--prompt", "messages": "--messages", "system": "--system",
                 "reference": "--reference", "checks": "--check", "origin": "--origin", "added": "--added"}  # fmt: skip


def build_case(args: argparse.Namespace, *, today: date | None = None) -> Case:
    """The Case the options describe (raises UsageError naming the option)."""
    from pydantic import ValidationError

    from ..importers.logs import entry_to_case, read_log_line
    from ..suite import Case

    if args.added:
        try:
            added = date.fromisoformat(args.added)
        except ValueError:
            raise UsageError(f"--added {args.added!r}: expected a date like 2026-05-01") from None
    else:
        added = today or date.today()
    checks = _checks(args.check)
    reference = _reference(args.reference)
    try:
        if args.from_log or getattr(args, "from_trace", None):
            option = "--from-log" if args.from_log else "--from-trace"
            if args.system:
                raise UsageError(f"--system: not with {option} (the logged request has its own system message)")
            if args.from_log:
                entry = read_log_line(args.from_log)
            else:
                from ..importers import read_trace
                from ..importers.otlp import select_entry

                entry = select_entry(args.from_trace, read_trace)
            return entry_to_case(
                entry, case_id=args.id, tags=args.tag, reference=reference, checks=checks,
                origin=args.origin, added=added, keep_params=not args.no_log_params,
            )  # fmt: skip
        fields: dict[str, Any] = {"prompt": args.prompt} if args.prompt is not None else {"messages": _messages(args.messages)}
        return Case(
            id=args.id, tags=args.tag, system=args.system, reference=reference, checks=checks,
            origin=args.origin, added=added, **fields,
        )  # fmt: skip
    except ValidationError as e:
        err = e.errors()[0]
        loc = err["loc"]
        option = _FIELD_OPTION.get(str(loc[0]), str(loc[0])) if loc else "case"
        rest = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc[1:])
        msg = err["msg"].removeprefix("Value error, ")
        raise UsageError(f"{option}{' ' + rest.lstrip('.') if rest else ''}: {msg}") from None


def run(args: argparse.Namespace) -> int:
    from ..suite_edit import append_case

    case = build_case(args)
    res = append_case(Path(args.suite), case)
    if res.created:
        print(f"created {res.path} with case {case.id!r} (line {res.line})")
    else:
        print(f"added case {case.id!r} to {res.path}:{res.line}")
    if res.reformatted:
        print(f"note: {res.path} had an empty or flow-style `cases` list, so its YAML was re-emitted", file=sys.stderr)
    return 0

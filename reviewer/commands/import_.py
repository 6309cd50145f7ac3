"""``reviewer import promptfoo|promptfoo-results|jsonl``: read what users already have.

Every import checks its whole input before writing anything; the store gets one transaction
(suite, runs, outputs, comparison) and a suite file is written atomically inside it, so a failed
import leaves nothing behind."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ._common import add_db_option, open_store

if TYPE_CHECKING:
    from ..suite import Suite


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="import promptfoo configs/results or JSONL production logs",
        description="Turn what you already have into suites, runs and comparisons.",
    )
    src = p.add_subparsers(dest="source", metavar="SOURCE", required=True)

    a = src.add_parser(
        "promptfoo",
        help="a promptfoo config → a suite file",
        description="prompts × tests of a promptfoo config become cases; assertions with a faithful check "
        "become checks (is-json, contains, icontains, regex, not-contains, starts-with, equals, "
        "not-is-refusal…); the others are kept as comments above their case and listed.",
    )
    a.add_argument("config", metavar="CONFIG", help="promptfooconfig.yaml (or .json)")
    a.add_argument("-o", "--output", required=True, metavar="SUITE", help="suite file to write (.yaml or .jsonl)")
    a.add_argument("--name", help="suite name (default: from the config's description or file name)")
    a.add_argument("--force", action="store_true", help="overwrite SUITE if it exists")

    b = src.add_parser(
        "promptfoo-results",
        help="a promptfoo `eval -o results.json` with two providers → a stored comparison",
        description="One run per provider (outputs with latency and tokens), the cases from the prompts and "
        "vars, the checks from the assertions; review it with `reviewer review`.",
    )
    b.add_argument("results", metavar="RESULTS", help="results.json written by `promptfoo eval -o`")
    b.add_argument("--baseline", metavar="PROVIDER", help="provider label or id to use as the baseline")
    b.add_argument("--candidate", metavar="PROVIDER", help="provider label or id to use as the candidate")
    b.add_argument("-o", "--output", metavar="SUITE", help="also write the derived suite to this file (must not exist)")
    b.add_argument("--name", help="comparison name (default: the config's description)")
    b.add_argument("--again", action="store_true", help="import even if this eval was imported before")
    add_db_option(b)

    c = src.add_parser(
        "jsonl",
        help="production log lines (OpenAI chat request/response JSONL) → a named run",
        description="Each answered line becomes an output of a run named NAME. With --suite, lines are "
        "matched to its cases (by case_id/custom_id, else by their messages); without, the log's distinct "
        "requests become the cases (write them out with -o to replay them against a candidate).",
    )
    c.add_argument("log", metavar="LOG", help="JSONL log file")
    c.add_argument("--as-run", required=True, metavar="NAME", help="name of the new run (must be unused)")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--suite", metavar="SUITE", help="match lines to the cases of this suite file")
    g.add_argument("-o", "--output", metavar="SUITE", help="write the suite built from the log to this file (must not exist)")
    add_db_option(c)

    for source, helptext, desc in (
        ("otlp", "OpenTelemetry GenAI spans (OTLP JSON, the Collector's file exporter) → a named run",
         "Each model-call span (gen_ai.* semantic conventions: gen_ai.input.messages / gen_ai.output.messages, or "
         "the older gen_ai.prompt / gen_ai.completion and gen_ai.*.message / gen_ai.choice events) becomes an output "
         "of a run named NAME, with its resolved model (gen_ai.response.model), usage, finish reason, tool calls and "
         "time. Other spans are skipped and counted; spans without message content (content capture off) are "
         "counted and never imported as empty answers."),
        ("langfuse", "Langfuse observation exports (JSON array or JSONL of GENERATION observations) → a named run",
         "Each GENERATION observation (input, output, model, usageDetails, startTime/endTime, modelParameters) "
         "becomes an output of a run named NAME; other observation types are skipped and counted."),
    ):  # fmt: skip
        t = src.add_parser(source, help=helptext, description=desc + " With --suite, calls are matched to its cases "
                           "by their messages (or metadata case_id); without, the distinct requests become the cases "
                           "(write them out with -o to replay them against a candidate).")  # fmt: skip
        t.add_argument("trace", metavar="FILE", help="the exported file")
        t.add_argument("--as-run", required=True, metavar="NAME", help="name of the new run (must be unused)")
        g = t.add_mutually_exclusive_group()
        g.add_argument("--suite", metavar="SUITE", help="match the calls to the cases of this suite file")
        g.add_argument(
            "-o", "--output", metavar="SUITE", help="write the suite built from the calls to this file (must not exist)"
        )
        add_db_option(t)


def _fresh(path: str | None, force: bool | None = None) -> Path | None:
    """The -o path, checked: a suite suffix, a directory that exists, and no file there unless
    ``force`` (None: the command has no --force)."""
    if path is None:
        return None
    out = Path(path)
    if out.suffix.lower() not in (".yaml", ".yml", ".jsonl"):
        raise UsageError(f"-o {path}: a suite file ends in .yaml, .yml or .jsonl")
    if out.exists() and not force:
        raise UsageError(f"-o {path}: already exists (choose a new file{' or add --force' if force is not None else ''})")
    if not out.parent.is_dir():
        raise UsageError(f"-o {path}: no such directory {out.parent}")
    return out


def _suite_text(out: Path, suite: Suite, notes: dict[str, list[str]], header: str) -> str:
    import json

    from ..importers.promptfoo import suite_yaml
    from ..suite_edit import case_to_file

    if out.suffix.lower() == ".jsonl":
        head: dict[str, Any] = {"suite": suite.suite, **({"description": suite.description} if suite.description else {})}
        if suite.defaults.params or suite.defaults.system:
            head["defaults"] = suite.defaults.model_dump(exclude_none=True)
        lines = [json.dumps(head, ensure_ascii=False)]
        lines += [json.dumps(case_to_file(c), ensure_ascii=False, default=str) for c in suite.cases]
        return "\n".join(lines) + "\n"
    return suite_yaml(suite, notes, header=header)


def _write_suite(out: Path, text: str, suite: Suite) -> None:
    """Atomic write, after checking the file reads back as exactly ``suite``."""
    from ..suite import SuiteError, load_suite
    from ..suite_edit import write_text_atomic

    def check(tmp: Path) -> None:
        try:
            loaded = load_suite(tmp)
        except SuiteError as e:
            raise SuiteError([dataclasses.replace(pr, file=str(out)) for pr in e.problems]) from None
        if loaded.suite.digest() != suite.digest():
            raise UsageError(f"-o {out}: the suite would not read back as imported (please report this)")

    write_text_atomic(out, text, validate=check)


def _say(msg: str) -> None:
    """One line on stderr. What an import says carries the file's own words (model names,
    labels, assertions, span kinds): untrusted text, shown visibly and kept on its line."""
    from ..untrusted import visible

    print(visible(msg).replace("\n", " "), file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    return {"promptfoo": _config, "promptfoo-results": _results, "jsonl": _jsonl, "otlp": _trace, "langfuse": _trace}[
        args.source
    ](args)


def _config(args: argparse.Namespace) -> int:
    from ..importers.promptfoo import read_promptfoo_config

    out = _fresh(args.output, args.force)
    assert out is not None  # -o is required for a config import
    imp = read_promptfoo_config(args.config, name=args.name)
    if not imp.suite.cases:
        raise UsageError(f"{args.config}: no case could be imported" + (f" ({imp.skipped[0]})" if imp.skipped else ""))
    text = _suite_text(
        out, imp.suite, imp.notes, header=f"Imported from promptfoo {Path(args.config).name} by `reviewer import promptfoo`."
    )
    _write_suite(out, text, imp.suite)
    checks = sum(len(c.checks) for c in imp.suite.cases)
    print(f"wrote {len(imp.suite.cases)} cases with {checks} checks to {out}")
    unmapped = imp.unmapped
    if unmapped:
        where = "kept as comments above their cases" if out.suffix.lower() != ".jsonl" else "not kept (JSONL has no comments)"
        _say(f"{len(unmapped)} assertions not mapped ({where}):")
        for u in unmapped:
            _say(f"  {u}")
    for s in imp.skipped:
        _say(f"skipped: {s}")
    return 0


def _results(args: argparse.Namespace) -> int:
    from ..importers.promptfoo import read_promptfoo_results
    from ..importers.storing import comparison_by_key, store_import
    from ..suite import LoadedSuite

    out = _fresh(args.output)
    imp = read_promptfoo_results(args.results, baseline=args.baseline, candidate=args.candidate)
    with open_store(args) as store:
        key = f"promptfoo:{imp.eval_id}" if imp.eval_id else None
        if key and not args.again:
            prior = comparison_by_key(store, key)
            if prior is not None:
                raise UsageError(
                    f"{args.results}: eval {imp.eval_id} was already imported as comparison {prior} (--again to import it again)"
                )
        fmt = "promptfoo-results"
        path = Path(args.results)
        before_commit = None
        if out is not None:
            text = _suite_text(
                out, imp.suite, imp.notes, header=f"Imported from promptfoo {path.name} by `reviewer import promptfoo-results`."
            )
            fmt, path = ("jsonl" if out.suffix.lower() == ".jsonl" else "yaml"), out

            def before_commit() -> None:
                _write_suite(out, text, imp.suite)

        loaded = LoadedSuite(suite=imp.suite, path=path, format=fmt, case_lines={})  # type: ignore[arg-type]
        stored = store_import(
            store, loaded, [imp.baseline, imp.candidate], comparison_name=args.name or imp.name, resume_key=key,
            before_commit=before_commit,
        )  # fmt: skip
        n_out = len(imp.baseline.outputs) + len(imp.candidate.outputs)
        errors = sum(1 for o in imp.baseline.outputs + imp.candidate.outputs if o.error)
        assert stored.comparison_id is not None  # two runs: a comparison
        from ..analysis import POOL_MIN_CASES, ranked

        if len(imp.suite.cases) >= POOL_MIN_CASES:  # seconds: say why the command goes on
            _say(f"scoring the changes of {len(imp.suite.cases):,} cases…")
        ranked(store, stored.comparison_id)  # scored now, as a run is: the review app opens from the cache
        print(stored.comparison_id)
        _say(
            f"imported comparison {stored.comparison_id}: {len(imp.suite.cases)} cases, {n_out} outputs"
            f"{f' ({errors} errors)' if errors else ''}; baseline {imp.baseline.label} ({imp.baseline.model}), "
            f"candidate {imp.candidate.label} ({imp.candidate.model})"
        )
        if out is not None:
            _say(f"wrote the suite to {out}")
        unmapped = [f"{cid}: {n}" for cid, ns in imp.notes.items() for n in ns]
        if unmapped:
            _say(f"{len(unmapped)} assertions not mapped to checks:")
            for u in unmapped:
                _say(f"  {u}")
        _say(f"review it: reviewer review {stored.comparison_id}" + (f" --db {args.db}" if args.db else ""))
        return 0


def _jsonl(args: argparse.Namespace) -> int:
    from ..importers.jsonl import read_log_run
    from ..suite import load_suite

    out = _fresh(args.output)
    given = load_suite(args.suite) if args.suite else None
    with open_store(args) as store:
        _refuse_taken_run_name(store, args.as_run)
        imp = read_log_run(args.log, name=args.as_run, suite=given)
        header = f"Requests from the log {Path(args.log).name} (`reviewer import jsonl`)."
        run_id = _store_as_run(store, imp, given, Path(args.log), out, header)
        cases = len({o.case_id for o in imp.run.outputs})
        _say(
            f"imported run {run_id} '{args.as_run}' ({imp.run.model}): {imp.matched} outputs for {cases} cases from {imp.lines} lines"
        )
        if imp.unmatched:
            shown = ", ".join(str(n) for n in imp.unmatched[:10]) + ("…" if len(imp.unmatched) > 10 else "")
            _say(f"skipped {len(imp.unmatched)} lines matching no case of {args.suite} (lines {shown})")
        if imp.unanswered:
            _say(f"skipped {len(imp.unanswered)} request lines without an answer")
        if out is not None:
            _say(f"wrote the suite to {out}")
        return 0


def _trace(args: argparse.Namespace) -> int:
    """``import otlp|langfuse FILE --as-run NAME``: what ``import jsonl`` does, from trace files."""
    from ..importers.jsonl import build_log_run
    from ..importers.otlp import check_importable, no_content_line
    from ..suite import load_suite

    if args.source == "otlp":
        from ..importers.otlp import read_otlp as reader

        provider, kind, calls = "otlp", "trace", "spans"
    else:
        from ..importers.langfuse import read_langfuse as reader

        provider, kind, calls = "langfuse", "Langfuse export", "observations"
    out = _fresh(args.output)
    given = load_suite(args.suite) if args.suite else None
    with open_store(args) as store:
        _refuse_taken_run_name(store, args.as_run)
        read = reader(args.trace)
        check_importable(read)
        imp = build_log_run(Path(args.trace), read.entries, name=args.as_run, suite=given, provider=provider, kind=kind)
        header = f"Requests from the {kind} {Path(args.trace).name} (`reviewer import {args.source}`)."
        run_id = _store_as_run(store, imp, given, Path(args.trace), out, header)
        cases = len({o.case_id for o in imp.run.outputs})
        resolved = sorted({o.resolved_model for o in imp.run.outputs if o.resolved_model})
        shown_models = f"{imp.run.model}" + (f" → {', '.join(resolved[:3])}" if resolved and resolved != [imp.run.model] else "")
        _say(
            f"imported run {run_id} '{args.as_run}' ({shown_models}): {imp.matched} outputs for {cases} cases from {len(read.entries)} {calls}"
        )
        if read.no_content:
            _say(f"skipped: {no_content_line(read)}")
        if read.skipped:
            _say(f"skipped: {read.skipped_text()}")
        if imp.unmatched:
            _say(f"skipped {len(imp.unmatched)} {calls} matching no case of {args.suite}")
        if imp.unanswered:
            _say(f"skipped {len(imp.unanswered)} {calls} without an answer")
        if out is not None:
            _say(f"wrote the suite to {out}")
        return 0


def _refuse_taken_run_name(store: Any, name: str) -> None:
    from ..importers.storing import run_by_label

    prior = run_by_label(store, name)
    if prior is not None:
        raise UsageError(f"--as-run {name}: a run with that name exists (run {prior.id}); choose another name")


def _store_as_run(store: Any, imp: Any, given: Any, source: Path, out: Path | None, header: str) -> int:
    """Store an imported run (a log, a trace) against ``given`` suite, or against the suite made of
    its requests (written to ``out`` in the same transaction when asked); print and return its id."""
    from ..importers.storing import store_import
    from ..suite import LoadedSuite

    before_commit = None
    if given is not None:
        loaded = given
    else:
        path, fmt = source, "log"
        if out is not None:
            text = _suite_text(out, imp.suite, {}, header=header)
            path, fmt = out, ("jsonl" if out.suffix.lower() == ".jsonl" else "yaml")

            def before_commit() -> None:
                _write_suite(out, text, imp.suite)

        loaded = LoadedSuite(suite=imp.suite, path=path, format=fmt, case_lines={})  # type: ignore[arg-type]
    stored = store_import(store, loaded, [imp.run], before_commit=before_commit)
    run_id: int = stored.run_ids[0]
    print(run_id)
    return run_id

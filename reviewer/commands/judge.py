"""``reviewer judge``: a pairwise judge's first opinion on a comparison's cases, with its position
bias, length bias, flip rate and agreement with the reviewers. A suggestion, never a label."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from ..errors import UsageError
from ._common import add_db_option, open_store, visible


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "judge",
        help="ask a judge model which answer is better, in both orders (a suggestion, never a label)",
        description="Ask a judge model, for each selected case of a comparison, which answer is better: twice, "
        "with the baseline as Answer 1 and then as Answer 2. Verdicts: candidate_better, baseline_better, tie, "
        "inconsistent (the orders disagree: position decided), unparsed. Reports the judge's position bias, length "
        "bias, flip rate and, where cases are labelled, its agreement with the reviewers (Wilson 95% CI, Cohen's "
        "kappa). Cached and resumable; judgments are stored apart from labels and never become labels.",
    )
    p.add_argument("comparison", nargs="?", metavar="COMPARISON", help="comparison id or name (default: the latest)")
    p.add_argument(
        "--judge", metavar="SPEC", required=True, help="the judge model, e.g. openai:gpt-4o or anthropic:claude-sonnet-4-5"
    )
    p.add_argument(
        "--cases", choices=("changed", "flagged", "all"), default="changed",
        help="which cases: changed above the noise floor or flagged (default), flagged only, or all",
    )  # fmt: skip
    p.add_argument(
        "--rubric", metavar="FILE", help="the rubric, a text file (default: the suite's judge_rubric, else a built-in one)"
    )
    p.add_argument(
        "--samples", choices=("first", "all"), default="first",
        help="judge the first sample pair of a case (default) or every pair (the case's verdict is the majority's)",
    )  # fmt: skip
    p.add_argument("--concurrency", type=int, default=4, metavar="N", help="judge calls in flight (default 4)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="per call (default 120)")
    p.add_argument("--attempts", type=int, default=6, metavar="N", help="tries per judge call on a retryable failure (default 6)")
    p.add_argument("--no-cache", action="store_true", help="call again even when the same judge call was answered before")
    p.add_argument(
        "--allow-errors", action="store_true",
        help="exit 0 even when judge calls ended in an error (default: exit 1, like `reviewer run`)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the verdicts and the report as JSON on stdout")
    add_db_option(p)


def read_rubric(path: str) -> str:
    from ..safeyaml import FileProblem, read_text

    try:
        text = read_text(path, max_bytes=256 * 1024)
    except FileProblem as e:
        raise UsageError(f"--rubric {e}") from None
    if not text.strip():
        raise UsageError(f"--rubric {path}: the file is empty (write what makes an answer better)")
    return text.strip()


def choose_rubric(args: argparse.Namespace, suite: Any) -> tuple[str, str]:
    """(rubric, where it came from): --rubric FILE, else the suite's ``judge_rubric``, else the default."""
    from ..judge import DEFAULT_RUBRIC

    if args.rubric:
        return read_rubric(args.rubric), args.rubric
    own = getattr(suite, "judge_rubric", None)
    if isinstance(own, str) and own.strip():
        return own.strip(), "the suite's judge_rubric"
    return DEFAULT_RUBRIC, "the built-in rubric"


def select_cases(store: Any, data: Any, which: str) -> list[str]:
    """Case ids to judge, in triage order (all: suite order)."""
    if which == "all":
        return [c.id for c in data.suite.suite.cases]
    from ..analysis import ranked as triage

    ranked = triage(store, data.comparison)  # the cached rows: no case's full detail
    if which == "flagged":
        return [a.case_id for a in ranked if a.flags]
    return [a.case_id for a in ranked if a.tier <= 1]


def _same_model(spec: Any, run: Any) -> bool:
    return spec.provider == run.provider and spec.model == run.model and (spec.base_url or None) == (run.base_url or None)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def _rate(r: Any) -> str:
    if r is None or not r.n:
        return "— (n = 0)"
    from ..stats import wilson

    lo, hi = wilson(r.k, r.n)
    return f"{_pct(r.share)}  ({r.k}/{r.n}, 95% CI {lo:.0%}–{hi:.0%})"


def print_report(result: Any, rep: Any, entries: list[dict[str, Any]], rubric_from: str, out: Any = None) -> None:
    out = out or sys.stdout
    w = lambda s="": print(s, file=out)  # noqa: E731
    doc = rep.to_json()
    models = sorted({j.resolved_model for j in result.judgments if j.resolved_model})
    w(f"Judge {visible(result.judge)}" + (f" (answered as {visible(', '.join(models))})" if models else "")
      + f", rubric {result.rubric_digest} ({visible(rubric_from)}). A suggestion, not a review: no label was written.")  # fmt: skip
    w(f"Cases judged: {doc['judged']} of {len(rep.cases)}; sample pairs {rep.pairs}, answers read {rep.answers}, "
      f"unparsed answers {rep.unparsed_answers}.")  # fmt: skip
    w("  " + " · ".join(f"{v} {n}" for v, n in doc["verdicts"].items()))
    w("How far this judge can be trusted here:")
    w(f"  position bias (non-tie answers for Answer 1; 0.5 is unbiased)  {_rate(rep.position_bias)}")
    w(f"  length bias (non-tie answers for the longer answer)            {_rate(rep.length_bias)}")
    w(f"  flip rate (pairs whose verdict changed with the order)         {_rate(rep.flip_rate)}")
    if rep.agreement is None:
        w("  agreement with reviewers: no judged case is labelled yet")
    else:
        kappa = "—" if rep.kappa is None else f"{rep.kappa:.2f}"
        w(f"  agreement with reviewers (labelled cases)                      {_rate(rep.agreement)}; Cohen's kappa {kappa}")
        if rep.disputed:
            w(f"  ({rep.disputed} labelled case{'s' * (rep.disputed != 1)} left out: the reviewers disagree among themselves)")
    if entries:
        width = max(len(e["verdict"]) for e in entries)
        id_width = min(40, max(len(e["case_id"]) for e in entries))
        w("")
        for e in entries:
            reason = " ".join((e["reason"] or "").split())
            reason = reason if len(reason) <= 100 else reason[:100] + "…"
            line = f"  {e['verdict']:<{width}}  {visible(e['case_id']):<{id_width}}" + (f"  {visible(reason)}" if reason else "")
            w(line.rstrip())


def run(args: argparse.Namespace) -> int:
    import asyncio

    from rich.console import Console
    from rich.markup import escape

    from ..export.resolve import resolve_comparison_id
    from ..judge import case_entries, report
    from ..judge_replay import JudgeConfig, JudgeRun, pair_judgments
    from ..providers import parse_spec

    err = Console(stderr=True, highlight=False, soft_wrap=True)  # one line per message, never cut
    if args.concurrency < 1:
        raise UsageError(f"--concurrency {args.concurrency}: must be at least 1")
    if args.attempts < 1:
        raise UsageError(f"--attempts {args.attempts}: must be at least 1")
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout:g}: must be a positive number of seconds")
    spec = parse_spec(args.judge, "--judge")
    if spec.provider not in ("openai", "anthropic"):
        raise UsageError(f"--judge {spec}: a judge must be a model (openai:… or anthropic:…), not {spec.provider}:")
    rubric_file = read_rubric(args.rubric) if args.rubric else None  # a bad file fails before the store is touched
    store = open_store(args, readonly=False)
    try:
        data = store.load_comparison(resolve_comparison_id(store, args.comparison))
        rubric, rubric_from = (rubric_file, args.rubric) if rubric_file is not None else choose_rubric(args, data.suite.suite)
        for side, r in (("candidate", data.candidate), ("baseline", data.baseline)):
            if _same_model(spec, r):
                err.print(f"[yellow]warning:[/] --judge {escape(visible(str(spec)))} is also the {side}: "
                          "a model judging itself favours its own answers")  # fmt: skip
        cases = select_cases(store, data, args.cases)
        if not cases:
            err.print(
                f"Nothing to judge: comparison {data.comparison.id} has no {args.cases} cases (--cases all judges every case)."
            )
        config = JudgeConfig(
            samples=args.samples,
            concurrency=args.concurrency,
            use_cache=not args.no_cache,
            timeout=args.timeout,
            attempts=args.attempts,
        )

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        progress = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            TextColumn("{task.fields[extra]}", markup=False), console=err, transient=False,
        )  # fmt: skip
        task = progress.add_task(f"judge {visible(str(spec))}", total=None, extra="")

        def on_progress(s: Any) -> None:
            extra = f"errors {s.errors} · retries {s.retries}" + (
                f" · reused {s.cached + s.resumed}" if s.cached or s.resumed else ""
            )
            progress.update(task, total=s.total, completed=s.done, extra=extra)

        judge_run = JudgeRun(store, data, cases, spec, rubric, config, on_progress)
        try:
            with progress:
                result = asyncio.run(judge_run.run())
        except KeyboardInterrupt:
            s = judge_run.stats
            err.print(
                f"[yellow]Interrupted:[/] {s.done} of {s.total} judge calls are stored. Run the same command again to make only the missing ones."
            )
            return 130
        labels = [(lb.case_id, lb.verdict) for lb in store.labels(data.comparison.id)]
    finally:
        store.close()

    rep = report(pair_judgments(result.pairs, result.judgments), labels)
    entries = case_entries(result.judgments, rep, result.judge)
    s = result.stats
    err.print(
        f"Judged comparison {data.comparison.id}: {len(cases)} {args.cases} cases, {len(result.pairs)} sample pairs × 2 orders; "
        f"calls made {s.made}, reused {s.cached + s.resumed}, retries {s.retries}, errors {s.errors}"
        + (f", pairs skipped (a side has no answer) {s.skipped_pairs}" if s.skipped_pairs else "")
    )
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(visible(warning))}")
    if args.json:
        doc = {
            "comparison": data.comparison.id,
            "judge": result.judge,
            "rubric_digest": result.rubric_digest,
            "rubric_from": rubric_from,
            "cases_selected": args.cases,
            "samples": args.samples,
            "calls": {"planned": s.total, "made": s.made, "resumed": s.resumed, "cached": s.cached, "errors": s.errors,
                      "retries": s.retries, "skipped_pairs": s.skipped_pairs},
            "summary": rep.to_json(),
            "cases": entries,
        }  # fmt: skip
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print_report(result, rep, entries, rubric_from)
    sys.stdout.flush()
    if result.failures:
        err.print(f"[red]{len(result.failures)} judge calls failed[/] (stored; the same command retries them):")
        for f in result.failures[:20]:
            err.print(f"  {escape(visible(f.case_id))} #{f.sample} {f.position}: {escape(visible(f.message))}")
        if len(result.failures) > 20:
            err.print(f"  … and {len(result.failures) - 20} more")
        if not args.allow_errors:
            n = len(result.failures)
            err.print(f"Exit 1: {n} judge call{'s' * (n != 1)} ended in an error (--allow-errors exits 0 all the same).")
            return 1
    return 0

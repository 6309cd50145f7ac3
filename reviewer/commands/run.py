"""``reviewer run``: replay a suite against a baseline and a candidate and store a comparison."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ..errors import UsageError
from ._common import add_db_option, open_store, parse_param, visible


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="replay a suite against a baseline and a candidate model",
        description="Replay every case of SUITE against both models (cached and resumable: the same command "
        "again finishes only what is missing) and record a comparison. Prints the comparison id on stdout.",
    )
    p.add_argument("suite", metavar="SUITE", help="suite file (.yaml or .jsonl)")
    p.add_argument("--baseline", metavar="SPEC", help="provider:model, e.g. openai:gpt-4o-2024-08-06")
    p.add_argument("--candidate", metavar="SPEC", help="provider:model, e.g. openai:gpt-4o")
    p.add_argument("--samples", type=int, metavar="N", help="samples per case and side (default 1)")
    p.add_argument("--concurrency", type=int, metavar="N", help="calls in flight per endpoint (default 8)")
    p.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="request parameter for both sides (repeatable)"
    )
    p.add_argument("--name", help="a name for the comparison")
    p.add_argument("--baseline-label", metavar="NAME", help="a human name for the baseline run (e.g. 'prod, May snapshot')")
    p.add_argument("--candidate-label", metavar="NAME", help="a human name for the candidate run")
    p.add_argument("--config", metavar="FILE", help="YAML with baseline/candidate (id, params), samples, concurrency, params")
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="per call (default 120)")
    p.add_argument("--no-cache", action="store_true", help="call again even when the same call was answered before")
    p.add_argument(
        "--allow-errors", action="store_true",
        help="exit 0 even when calls ended in an error (default: exit 1; the comparison is stored either way)",
    )  # fmt: skip
    p.add_argument(
        "--wait-lease", type=float, default=None, metavar="SECONDS",
        help="how long to wait while another process runs the same comparison in the same store "
        "(default 600; 0 = do not wait)",
    )  # fmt: skip
    b = p.add_argument_group("batch APIs (openai:, openai-responses:, anthropic: sides)")
    b.add_argument(
        "--batch", action="store_true",
        help="send the missing calls of openai/anthropic sides through the provider's batch API (about half the "
        "price, answers within 24 h); the same command again collects what was submitted",
    )  # fmt: skip
    b.add_argument(
        "--batch-side", choices=("baseline", "candidate"), metavar="SIDE",
        help="with --batch: only this side (baseline or candidate) through its batch API, the other called directly",
    )  # fmt: skip
    b.add_argument("--no-wait", action="store_true", help="with --batch: submit, print the command that collects, and exit")
    b.add_argument(
        "--poll-interval", type=float, default=None, metavar="SECONDS",
        help="with --batch: seconds between polls (default: 5, growing ×1.5 up to 300)",
    )  # fmt: skip
    b.add_argument(
        "--retry-errors", action="store_true",
        help="with --batch: submit again, in a new batch, the requests an earlier batch answered with an error "
        "(without --batch they are retried directly)",
    )  # fmt: skip
    add_db_option(p)


def _load_config(path: str) -> Any:
    """The ``--config`` file as a validated :class:`reviewer.commands._run_config.RunConfig`."""
    from ._run_config import load_run_config

    return load_run_config(path)


def _side(side: Any) -> tuple[str | None, dict[str, Any], str | None]:
    """(SPEC, params, label) of one side of the config, or (None, {}, None) when it names none."""
    if side is None:
        return None, {}, None
    return side.id, dict(side.params), side.label


def run(args: argparse.Namespace) -> int:
    import asyncio

    from rich.console import Console

    from ..providers import parse_spec
    from ..replay import Replay, ReplayConfig
    from ..suite import load_suite

    err = Console(stderr=True, highlight=False)
    cfg = _load_config(args.config) if args.config else None
    base_spec, base_params, base_label = _side(cfg.baseline if cfg else None)
    cand_spec, cand_params, cand_label = _side(cfg.candidate if cfg else None)
    base_spec = args.baseline or base_spec
    cand_spec = args.candidate or cand_spec
    if not base_spec or not cand_spec:
        raise UsageError("both --baseline SPEC and --candidate SPEC are needed (or a --config that names them)")
    samples = args.samples if args.samples is not None else (cfg.samples if cfg else 1)
    concurrency = args.concurrency if args.concurrency is not None else (cfg.concurrency if cfg else 8)
    if samples < 1:
        raise UsageError(f"--samples {samples}: must be at least 1")
    if concurrency < 1:
        raise UsageError(f"--concurrency {concurrency}: must be at least 1")
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout:g}: must be a positive number of seconds")
    if args.wait_lease is not None and (math.isnan(args.wait_lease) or args.wait_lease < 0):
        raise UsageError(f"--wait-lease {args.wait_lease:g}: must be 0 or more seconds")
    if not args.batch:
        for name in ("no_wait", "retry_errors", "batch_side"):
            if getattr(args, name):
                raise UsageError(f"--{name.replace('_', '-')} needs --batch")
        if args.poll_interval is not None:
            raise UsageError("--poll-interval needs --batch")
    if args.poll_interval is not None and (not math.isfinite(args.poll_interval) or args.poll_interval <= 0):
        raise UsageError(f"--poll-interval {args.poll_interval:g}: must be a positive number of seconds")
    params = dict(cfg.params) if cfg else {}
    params.update(dict(parse_param(p) for p in args.param))

    baseline, candidate = parse_spec(base_spec, "--baseline"), parse_spec(cand_spec, "--candidate")
    if args.batch:
        from ..batch import BATCH_PROVIDERS

        if baseline.provider not in BATCH_PROVIDERS and candidate.provider not in BATCH_PROVIDERS:
            raise UsageError(
                f"--batch: neither side has a batch API (only {', '.join(p + ':' for p in BATCH_PROVIDERS)} sides do)"
            )
        chosen = {"baseline": baseline, "candidate": candidate}.get(args.batch_side or "")
        if chosen is not None and chosen.provider not in BATCH_PROVIDERS:
            raise UsageError(f"--batch-side {args.batch_side}: {chosen} has no batch API")
    loaded = load_suite(args.suite)
    config = ReplayConfig(
        samples=samples,
        concurrency=concurrency,
        params=params,
        side_params={"baseline": base_params, "candidate": cand_params},
        name=args.name or (cfg.name if cfg else None),
        labels={
            side: label
            for side, label in (
                ("baseline", args.baseline_label or base_label),
                ("candidate", args.candidate_label or cand_label),
            )
            if label
        },
        use_cache=not args.no_cache,
        timeout=args.timeout,
    )
    store = open_store(args, readonly=False)  # a writer: say at once why the store cannot be written

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[extra]}", markup=False),
        console=err,
        transient=False,
    )
    tasks = {
        side: progress.add_task(f"{side:<9} {visible(spec.provider)}:{visible(spec.model)}", total=None, extra="")
        for side, spec in (("baseline", baseline), ("candidate", candidate))
    }

    def on_progress(side: str, s: Any) -> None:
        extra = f"errors {s.errors} · retries {s.retries} · tokens {_k(s.input_tokens)}→{_k(s.output_tokens)}"
        if s.cached or s.resumed:
            extra += f" · reused {s.cached + s.resumed}"
        progress.update(tasks[side], total=s.total, completed=s.done, extra=extra)

    from ..lease import DEFAULT_WAIT, Lease, lease_path
    from ..replay import SIDES, resume_key

    def on_wait(holder: Any, wait: float) -> None:
        err.print(
            _plain(visible(f"Waiting for {holder.describe()}: it is running this comparison in the same store "
                           f"(up to {wait:g} s, --wait-lease); then only what it left undone is called."))
        )  # fmt: skip

    if args.batch:
        try:
            return _run_batch(args, store, loaded, baseline, candidate, config, progress, on_progress, on_wait, err)
        finally:
            store.close()

    replay: Replay | None = None
    lease: Lease | None = None
    alongside = None
    try:
        # The first assessment (which warms the cache, so the review app and exports open at
        # once) runs alongside the replay in a worker for big suites, else after it.
        from ..analysis.alongside import Alongside, alongside_workers

        workers = alongside_workers(len(loaded.suite.cases))
        if workers:
            alongside = Alongside(store, [c.id for c in loaded.suite.cases], workers, samples=samples)
        replay = Replay(store, loaded, baseline, candidate, config, on_progress, listener=alongside)
        # The same key as the replay's resume key: one process at a time per comparison and store.
        key = resume_key(
            loaded.digest, [(replay.providers[s], {**config.side_params.get(s, {}), **config.params}) for s in SIDES], samples
        )  # fmt: skip
        lease = Lease(lease_path(store.path, key), wait=DEFAULT_WAIT if args.wait_lease is None else args.wait_lease,
                      on_wait=on_wait)  # fmt: skip
        with lease:
            if lease.contended:
                err.print(f"The other process is done (waited {lease.waited:.1f} s); going on.")
            _refuse_open_batches(store, key)
            if alongside is not None:
                alongside.warm()
            with progress:
                result = asyncio.run(replay.run())
            from ..analysis import ranked

            with err.status("Scoring the changes…"):
                if alongside is not None:
                    alongside.finish()
                else:
                    ranked(store, result.comparison_id)
    except KeyboardInterrupt:
        if replay is None or lease is None or not lease.acquired:
            err.print("[yellow]Interrupted[/] before any call was made.")
            return 130
        done = sum(s.done for s in replay.stats.values())
        total = sum(s.total for s in replay.stats.values())
        err.print(
            f"[yellow]Interrupted:[/] {done} of {total} calls are stored. "
            "Run the same command again to make only the missing ones."
        )
        return 130
    finally:
        if alongside is not None:
            alongside.close()
        store.close()

    b, c = result.stats["baseline"], result.stats["candidate"]
    verb = "Resumed" if result.resumed else "Stored"
    name = f" ({_plain(visible(config.name))})" if config.name else ""
    err.print(
        f"{verb} comparison {result.comparison_id}{name}: {len(loaded.suite.cases)} cases × {samples} samples × 2 models; "
        f"calls made {b.done - b.cached - b.resumed + c.done - c.cached - c.resumed}, "
        f"reused {b.cached + b.resumed + c.cached + c.resumed}, retries {b.retries + c.retries}, errors {b.errors + c.errors}"
    )
    for w in result.warnings:
        err.print(f"[yellow]warning:[/] {_plain(visible(w))}")
    if result.failures:
        err.print(f"[red]{len(result.failures)} calls failed[/] (stored on their case; the same command retries them):")
        for f in result.failures[:20]:
            # a provider's message is untrusted text: no markup, no terminal escapes
            err.print(f"  {f.side} {_plain(visible(f.case_id))} #{f.sample}: {_plain(visible(f.message))}")
        if len(result.failures) > 20:
            err.print(f"  … and {len(result.failures) - 20} more")
    print(result.comparison_id)
    sys.stdout.flush()
    if result.failures and not args.allow_errors:
        n = len(result.failures)
        err.print(f"Exit 1: {n} call{'s' * (n != 1)} ended in an error (--allow-errors exits 0 all the same).")
        return 1
    return 0


def _refuse_open_batches(store: Any, key: str) -> None:
    """The direct path must not call what a batch of this comparison may still answer."""
    found = store.resumable_comparison(key)
    if found is None:
        return
    from ..store.batches import batches

    open_ = [
        b for run_id in (found.baseline_run_id, found.candidate_run_id) for b in batches(store, run_id=run_id, open_only=True)
    ]
    if open_:
        ids = ", ".join(b.batch_id or f"#{b.id} (submitting)" for b in open_[:5])
        raise UsageError(
            f"comparison {found.id} has {len(open_)} batch{'es' * (len(open_) != 1)} still open ({ids}): run the same "
            "command with --batch to collect them, or `reviewer batches cancel ID` first"
        )


def _run_batch(
    args: argparse.Namespace, store: Any, loaded: Any, baseline: Any, candidate: Any, config: Any, progress: Any,
    on_progress: Any, on_wait: Any, err: Any,
) -> int:  # fmt: skip
    """``reviewer run --batch``: batch sides submitted (or found submitted) and collected; the
    other side direct or recorded, in the same comparison."""
    import asyncio
    import shlex
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..batch import BATCH_PROVIDERS
    from ..batch.runner import BatchSide, partial_replay_class, wait_all
    from ..lease import DEFAULT_WAIT, Lease, lease_path
    from ..providers import redact
    from ..replay import SIDES, resume_key

    replay = partial_replay_class()(store, loaded, baseline, candidate, config, on_progress)
    batch_names = [s for s in SIDES if replay.providers[s].provider in BATCH_PROVIDERS and args.batch_side in (None, s)]
    replay.skip = frozenset(batch_names)
    key = resume_key(
        loaded.digest, [(replay.providers[s], {**config.side_params.get(s, {}), **config.params}) for s in SIDES], config.samples
    )  # fmt: skip
    lease = Lease(lease_path(store.path, key), wait=DEFAULT_WAIT if args.wait_lease is None else args.wait_lease, on_wait=on_wait)
    sides: list[BatchSide] = []
    comparison_id: int | None = None
    collect_s: float | None = None
    started = time.monotonic()
    try:
        with lease:
            comparison_id, runs, _resumed = replay.prepare()
            sides = [BatchSide(store, replay, s, runs[s], comparison_id, retry_errors=args.retry_errors) for s in batch_names]
            for bs in sides:
                bs.recover()
                todo = bs.plan()
                if todo:

                    def on_submitted(r: Any, bs: BatchSide = bs) -> None:
                        err.print(
                            f"{bs.side}: submitted batch {_plain(visible(r.batch_id or ''))} ({r.request_count:,} requests)"
                        )

                    with err.status(f"Submitting {len(todo):,} {bs.side} requests to the {bs.provider.provider} batch API…"):
                        bs.submit(todo, on_submitted=on_submitted)
            direct_failures: list[Any] = []
            if len(batch_names) < len(SIDES):
                with progress:
                    result = asyncio.run(replay.run())
                direct_failures = result.failures
            store.set_comparison_status(comparison_id, "batch")
            open_batches = [r for bs in sides for r in bs.open_batches()]
            if args.no_wait and open_batches:
                n = sum(r.request_count for r in open_batches)
                cmd = redact(shlex.join(["reviewer", *[a for a in sys.argv[1:] if a != "--no-wait"]])) or ""
                err.print(
                    f"Submitted: {len(open_batches)} batch{'es' * (len(open_batches) != 1)} ({n:,} requests) of comparison "
                    f"{comparison_id} are recorded in the store. Collect them with:\n  {_plain(visible(cmd))}"
                )
                print(comparison_id)
                return 0
            if open_batches:
                display = Progress(
                    TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[extra]}", markup=False), console=err, transient=False,
                )  # fmt: skip
                tasks: dict[int, Any] = {}

                def on_status(bs: BatchSide, r: Any, st: Any) -> None:
                    if r.id not in tasks:
                        tasks[r.id] = display.add_task(
                            f"{bs.side:<9} {visible(bs.provider.provider)} {visible(r.batch_id or '')}",
                            total=r.request_count, extra="")  # fmt: skip
                    done = st.succeeded + st.failed + st.expired
                    extra = f"failed {st.failed} · expired {st.expired} · {visible(st.status)}"
                    display.update(tasks[r.id], completed=min(done, r.request_count), extra=extra)

                waited = time.monotonic()
                with display:
                    wait_all(sides, interval=args.poll_interval, on_status=on_status)
                collect_s = time.monotonic() - waited
            _finish_statuses(store, comparison_id, runs)
            from ..analysis import ranked

            with err.status("Scoring the changes…"):
                ranked(store, comparison_id)
    except KeyboardInterrupt:
        if comparison_id is None:
            err.print("[yellow]Interrupted[/] before any batch was submitted.")
            return 130
        store.set_comparison_status(comparison_id, "interrupted")
        open_ = [r.batch_id for bs in sides for r in bs.open_batches()]
        err.print(
            f"[yellow]Interrupted:[/] {len(open_)} batch{'es' * (len(open_) != 1)} of comparison {comparison_id} are recorded "
            "in the store and keep running at the provider. Run the same command again to collect them."
        )
        return 130
    finally:
        for bs in sides:
            bs.close()

    counts = store.output_counts()
    errors = sum(counts.get(runs[s], (0, 0))[1] for s in SIDES)
    answered = sum(counts.get(runs[s], (0, 0))[0] for s in SIDES) - errors
    submitted = sum(len(bs.report.submitted) for bs in sides)
    requests = sum(bs.report.requests for bs in sides)
    expired = sum(bs.report.collected.expired for bs in sides)
    err.print(
        f"Stored comparison {comparison_id}: {len(loaded.suite.cases)} cases × {config.samples} samples × 2 models; "
        f"batches submitted {submitted} ({requests:,} requests), answers stored {answered:,}, errors {errors:,}"
        + (f" (expired {expired})" if expired else "")
        + f"; {time.monotonic() - started:.1f} s"
        + (f" (waiting for and collecting the batches {collect_s:.1f} s)" if collect_s is not None else "")
    )
    for bs in sides:
        for w in bs.report.warnings + bs.report.collected.problems[:20]:
            err.print(f"[yellow]warning:[/] {_plain(visible(w))}")
        if bs.report.skipped_errors:
            err.print(
                f"{bs.side}: {bs.report.skipped_errors} requests failed in an earlier batch and were not submitted again "
                "(--retry-errors submits them in a new batch; without --batch they are retried directly)"
            )
    failures = [(bs.side, c, s, m) for bs in sides for c, s, m in bs.report.collected.failures]
    failures += [(f.side, f.case_id, f.sample, f.message) for f in direct_failures]
    if failures:
        err.print(f"[red]{errors} requests failed[/] (stored on their case):")
        for side, case_id, sample, message in failures[:20]:
            err.print(f"  {side} {_plain(visible(case_id))} #{sample}: {_plain(visible(message))}")
        if errors > 20:
            err.print(f"  … and {errors - 20} more")
    print(comparison_id)
    sys.stdout.flush()
    if errors and not args.allow_errors:
        err.print(f"Exit 1: {errors} request{'s' * (errors != 1)} ended in an error (--allow-errors exits 0 all the same).")
        return 1
    return 0


def _finish_statuses(store: Any, comparison_id: int, runs: dict[str, int]) -> None:
    counts = store.output_counts()
    status = "errors" if any(counts.get(r, (0, 0))[1] for r in runs.values()) else "complete"
    for run_id in runs.values():
        store.set_run_status(run_id, status, finished=True)
    store.set_comparison_status(comparison_id, status)


def _k(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def _plain(text: str) -> str:
    from rich.markup import escape

    return escape(text)

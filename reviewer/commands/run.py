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
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="request parameter for both sides (repeatable)")
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
    from rich.console import Console

    from ..providers import parse_spec
    import asyncio

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
    params = dict(cfg.params) if cfg else {}
    params.update(dict(parse_param(p) for p in args.param))

    baseline, candidate = parse_spec(base_spec, "--baseline"), parse_spec(cand_spec, "--candidate")
    loaded = load_suite(args.suite)
    config = ReplayConfig(
        samples=samples,
        concurrency=concurrency,
        params=params,
        side_params={"baseline": base_params, "candidate": cand_params},
        name=args.name or (cfg.name if cfg else None),
        labels={
            side: label
            for side, label in (("baseline", args.baseline_label or base_label), ("candidate", args.candidate_label or cand_label))
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

    replay: Replay | None = None
    lease: Lease | None = None
    try:
        replay = Replay(store, loaded, baseline, candidate, config, on_progress)
        # The same key as the replay's resume key: one process at a time per comparison and store.
        key = resume_key(
            loaded.digest, [(replay.providers[s], {**config.side_params.get(s, {}), **config.params}) for s in SIDES], samples
        )  # fmt: skip
        lease = Lease(lease_path(store.path, key), wait=DEFAULT_WAIT if args.wait_lease is None else args.wait_lease,
                      on_wait=on_wait)  # fmt: skip
        with lease:
            if lease.contended:
                err.print(f"The other process is done (waited {lease.waited:.1f} s); going on.")
            with progress:
                result = asyncio.run(replay.run())
            # Warm the assessment cache so the review app and exports open at once.
            from ..analysis import assess_comparison

            with err.status("Scoring the changes…"):
                assess_comparison(store, store.load_comparison(result.comparison_id))
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


def _k(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def _plain(text: str) -> str:
    from rich.markup import escape

    return escape(text)

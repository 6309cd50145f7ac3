"""``reviewer probe``: ask an alias the probe suite again, now, and say whether the model behind
it moved since the last probe (a cron or CI job: exit 0 unchanged, 1 changed, 2 could not tell)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from ..errors import UsageError
from ..export.plural import plural
from ._common import add_db_option, open_store, parse_param, visible


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "probe",
        help="re-ask an alias a probe suite and say whether the model behind it moved",
        description="Run SUITE against SPEC now (fresh calls: nothing cached is reused) and compare it with the "
        "previous probe of the same SPEC and suite, as a stored comparison that `reviewer review` and "
        "`reviewer export` open. Says whether the resolved model id or system_fingerprint changed, which "
        "metrics and checks changed significantly, the negative flips and the cases to look at. The run is "
        "labelled probe:<suite>:<spec> (see `reviewer history`). Exit 0: first probe, or nothing changed; "
        "1: behaviour or provenance changed; 2: usage error, or calls failed (such a probe never becomes "
        "the baseline of the next one).",
    )
    p.add_argument("suite", metavar="SUITE", help="suite file (.yaml or .jsonl)")
    p.add_argument("--model", required=True, metavar="SPEC", help="the alias to probe, e.g. openai:gpt-4o")
    p.add_argument("--samples", type=int, default=1, metavar="N", help="samples per case (default 1)")
    p.add_argument(
        "--against", default="last", metavar="last|none|RUN",
        help="the baseline: the last successful probe of SPEC and SUITE (default), a run id or label, or none "
        "(record a new baseline)",
    )  # fmt: skip
    p.add_argument("--max-cases", type=int, metavar="N", help="probe a sample of N cases, stratified by tag")
    p.add_argument("--seed", type=int, default=0, help="seed of the --max-cases sample (default 0: the same cases each time)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="request parameter (repeatable)")
    p.add_argument(
        "--price", action="append", default=[], metavar="MODEL=IN,OUT",
        help="USD per million input,output tokens, for a cost estimate before the calls (from the last probe's tokens)",
    )  # fmt: skip
    p.add_argument("--concurrency", type=int, default=8, metavar="N", help="calls in flight (default 8)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="per call (default 120)")
    p.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    add_db_option(p)


def _resolve_against(store: Any, value: str) -> Any:
    from ..store import StoreError

    if value.isdigit():
        try:
            return store.run(int(value))
        except StoreError:
            raise UsageError(f"--against {value}: no run {value} in the store (see `reviewer runs`)") from None
    found = [r for r in store.runs() if r.label == value]
    if not found:
        raise UsageError(
            f"--against {visible(value)!r}: no run with that id or label (see `reviewer history` or `reviewer runs`)"
        )
    return found[-1]


def run(args: argparse.Namespace) -> int:
    import asyncio

    from rich.console import Console

    from .. import probe as P
    from ..providers import parse_spec
    from ..replay import SIDES, ReplayConfig
    from ..suite import load_suite

    err = Console(stderr=True, highlight=False)
    if args.samples < 1:
        raise UsageError(f"--samples {args.samples}: must be at least 1")
    if args.max_cases is not None and args.max_cases < 1:
        raise UsageError(f"--max-cases {args.max_cases}: must be at least 1")
    if args.concurrency < 1:
        raise UsageError(f"--concurrency {args.concurrency}: must be at least 1")
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout:g}: must be a positive number of seconds")
    spec = parse_spec(args.model, "--model")
    if spec.provider == "run":
        raise UsageError(f"--model {visible(str(spec))}: a probe asks a live model (openai:, anthropic:), not a stored run")
    prices = {}
    if args.price:
        from ..export.options import parse_prices

        prices = parse_prices(args.price)
    params = dict(parse_param(p) for p in args.param)
    loaded = load_suite(args.suite)
    total_cases = len(loaded.suite.cases)
    if args.max_cases is not None:
        loaded = P.sampled_suite(loaded, args.max_cases, args.seed)
    if not loaded.suite.cases:
        raise UsageError(f"{args.suite}: the suite has no cases to probe")
    suite_name = loaded.suite.suite
    spec_text = str(spec)
    label = P.probe_label(suite_name, spec_text)

    store = open_store(args, readonly=False)
    try:
        against = None
        if args.against == "last":
            against = P.last_good_probe(store, spec_text, suite_name)
            if against is not None and against.samples != args.samples:
                raise UsageError(
                    f"--samples {args.samples}: the last probe (run {against.id}) took {against.samples} per case; "
                    f"probe with --samples {against.samples}, or start a new baseline with --against none"
                )
        elif args.against != "none":
            against = _resolve_against(store, args.against)
            if against.provider not in (spec.provider, "run"):
                raise UsageError(
                    f"--against {visible(args.against)}: run {against.id} is {visible(against.spec)}, another provider than "
                    f"{visible(spec_text)}; a probe watches one alias (compare providers with `reviewer run`)"
                )
            if against.samples != args.samples:
                raise UsageError(f"--against {visible(args.against)}: run {against.id} took {against.samples} samples per case, "
                                 f"not --samples {args.samples}")  # fmt: skip
        first = against is None
        baseline = spec if against is None else parse_spec(f"run:{against.id}", "--against")
        probe_no = len(P.probes(store, spec_text, suite_name)) + 1

        sample_note = (
            f" (a sample of {len(loaded.suite.cases)} of {total_cases}, seed {args.seed})"
            if len(loaded.suite.cases) < total_cases
            else ""
        )
        calls = len(loaded.suite.cases) * args.samples * (2 if first else 1)
        err.print(
            _plain(visible(f"Probe {probe_no} of {spec_text} on suite {suite_name}: {len(loaded.suite.cases)} cases"
                           f"{sample_note} × {args.samples} sample{'s' * (args.samples != 1)}, {calls} calls"
                           + (" (first probe: the alias is asked twice, so the comparison shows its own noise)" if against is None
                              else f", against probe run {against.id} of {against.started_at[:16].replace('T', ' ')}")))
        )  # fmt: skip
        estimate = _estimate(store, against, spec, prices, calls)
        if estimate:
            err.print(estimate)

        config = ReplayConfig(
            samples=args.samples,
            concurrency=args.concurrency,
            params=params,
            name=f"probe {probe_no}: {suite_name} on {spec_text}",
            labels={
                "candidate": label,
                "baseline": "first probe, the alias asked twice" if against is None else f"previous probe (run {against.id})",
            },
            use_cache=False,
            timeout=args.timeout,
        )
        replay = _fresh_replay_class()(store, loaded, baseline, spec, config)
        with err.status("Probing…"):
            result = asyncio.run(replay.run())
        # A stored run used as the baseline has no output for a case added since: not a failure of this probe.
        failures = [f for f in result.failures if f.side == "candidate" or first]
        gaps = sorted({f.case_id for f in result.failures if f.side == "baseline" and not first})
        data = store.load_comparison(result.comparison_id)
        from ..analysis import ranked

        verdict = P.assess_probe(data, ranked(store, data.comparison), first=first)
        run_ids = {s: getattr(data, s).id for s in SIDES}
    except KeyboardInterrupt:
        err.print("[yellow]Interrupted:[/] this probe is incomplete and will not be the baseline of the next one.")
        return 130
    finally:
        store.close()

    if failures:
        code, word = 2, "error"
    elif verdict.first:
        code, word = 0, "baseline"
    elif verdict.changed:
        code, word = 1, "changed"
    else:
        code, word = 0, "unchanged"
    if args.json:
        print(json.dumps(_as_json(word, code, verdict, result.comparison_id, data, run_ids, against, failures, gaps, label),
                         ensure_ascii=True))  # fmt: skip
    else:
        _print_screen(verdict, code, result.comparison_id, against, failures, gaps, run_ids)
    sys.stdout.flush()
    return code


def _fresh_replay_class() -> type:
    """Defined on first use: the replay imports httpx, which building the CLI parser must not."""
    from ..replay import SIDES, Replay

    class FreshReplay(Replay):
        """A replay that never resumes an earlier comparison: each probe is a new pair of runs
        (``use_cache=False`` already makes every call again)."""

        def prepare(self) -> tuple[int, dict[str, int], bool]:
            suite_id = self.store.upsert_suite(self.loaded)
            runs = {}
            for side in SIDES:
                p = self.providers[side]
                runs[side] = self.store.create_run(
                    suite_id=suite_id, provider=p.provider, model=p.model, base_url=p.base_url,
                    params={**self.loaded.suite.defaults.params, **self.config.params},
                    samples=self.config.samples, side=side, label=self.config.labels.get(side),
                )  # fmt: skip
            comp = self.store.create_comparison(
                suite_id=suite_id, baseline_run_id=runs["baseline"], candidate_run_id=runs["candidate"], name=self.config.name
            )
            return comp, runs, False

    return FreshReplay


def _estimate(store: Any, against: Any, spec: Any, prices: dict[str, Any], calls: int) -> str | None:
    """A cost estimate from the last probe's tokens when a --price names this model; None otherwise."""
    if not prices:
        return None
    price = prices.get(f"{spec.provider}:{spec.model}") or prices.get(spec.model)
    if price is None:
        return f"No cost estimate: no --price for {_plain(visible(spec.provider + ':' + spec.model))}."
    if against is None:
        return "No cost estimate: there is no earlier probe to count tokens from."
    outs = [o for o in store.outputs(against.id) if o.error is None]
    if not outs:
        return None
    tin = sum(o.input_tokens or 0 for o in outs) / len(outs) * calls
    tout = sum(o.output_tokens or 0 for o in outs) / len(outs) * calls
    usd = tin / 1e6 * price.input_per_mtok + tout / 1e6 * price.output_per_mtok
    return f"Estimated cost: ${usd:.4f} ({tin:,.0f} input + {tout:,.0f} output tokens, as the last probe used)."


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{visible(k)} ({n})" for k, n in d.items()) or "none"


def _pct(c: Any, v: float) -> str:
    return f"{v:.0%}" if c.kind == "rate" else f"{v:,.0f}"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def _print_screen(
    v: Any, code: int, comparison_id: int, against: Any, failures: list[Any], gaps: list[str], run_ids: dict[str, int]
) -> None:
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)

    def say(text: str = "", style: str | None = None) -> None:
        out.print(_plain(text), style=style)

    if failures:
        say(f"Probe failed: {plural(len(failures), 'call')} ended in an error, so whether the model moved cannot be told; "
            "this probe will not be the baseline of the next one.", "red")  # fmt: skip
        for f in failures[:10]:
            say(f"  {f.side} {visible(f.case_id)} #{f.sample}: {visible(f.message)}")
        if len(failures) > 10:
            say(f"  … and {len(failures) - 10} more")
        say(f"Comparison {comparison_id} (stored as it is): reviewer review {comparison_id}")
        say("Exit 2: calls failed.")
        return
    old, new = v.provenance_old, v.provenance_new
    if v.first:
        say(f"First probe: baseline recorded (run {run_ids['candidate']}). Resolved model: {_counts(new['resolved_models'])}; "
            f"system_fingerprint: {_counts(new['fingerprints'])}.")  # fmt: skip
    elif v.provenance_changes:
        say("The model moved:", "bold")
        for key, what in (("resolved_models", "resolved model"), ("fingerprints", "system_fingerprint")):
            if old[key] != new[key]:
                say(f"  {what}: {_counts(old[key])} → {_counts(new[key])}")
    else:
        say(f"Same model: resolved {_counts(new['resolved_models'])}; system_fingerprint {_counts(new['fingerprints'])}.")
    sig = [c for c in v.changes if c.significant and c.counted]
    label = "Differences between the two calls of the alias" if v.first else "Changed significantly"
    if sig:
        say(f"{label} (Holm-adjusted p < 0.05):", "bold")
    elif not (moved := sum(c.counted and c.moved for c in v.changes)):
        say("No metric or check differs on any case.")
    else:
        say(f"{'No significant difference' if v.first else 'No significant change'}: {plural(moved, 'metric')} moved, "
            "none beyond chance (Holm-adjusted p < 0.05):")  # fmt: skip
    # latency is shown when it moved beyond chance; it never decides the verdict
    rows = [c for c in v.changes if c.significant or (c.counted and c.moved)]
    for c in sorted(rows, key=lambda c: (not c.significant, c.p)):
        mark = "*" if c.significant and c.counted else " "
        note = "" if c.counted else ", not part of the verdict"
        detail = f"; {c.detail}" if c.detail else ""
        say(f" {mark} {c.label}: {_pct(c, c.baseline)} → {_pct(c, c.candidate)}  p={_p(c.p)}, adjusted {_p(c.p_adjusted)} "
            f"({c.test}, {plural(c.cases, 'case')}{detail}{note})")  # fmt: skip
    if v.negative_flips:
        ids = ", ".join(visible(i) for i in v.negative_flips[:10]) + (", …" if len(v.negative_flips) > 10 else "")
        say(f"Negative flips ({len(v.negative_flips)}): {ids}")
    if v.positive_flips:
        say(f"Positive flips: {len(v.positive_flips)}")
    if gaps:
        say(f"Not in the baseline (new since run {against.id}), not compared: {', '.join(visible(g) for g in gaps[:10])}")
    if v.look_at:
        say("Cases to look at:")
        for case_id, why in v.look_at:
            say(f"  {visible(case_id)}  ({why})")
    say(f"Comparison {comparison_id}: reviewer review {comparison_id} · reviewer export {comparison_id}")
    if code == 1:
        moved = []
        if v.provenance_changes:
            moved.append(" and ".join(v.provenance_changes) + " changed")
        if sig:
            moved.append("behaviour changed: " + ", ".join(c.label for c in sig))
        say("Exit 1: " + "; ".join(moved) + ".", "bold")


def _as_json(word: str, code: int, v: Any, comparison_id: int, data: Any, run_ids: dict[str, int], against: Any,
             failures: list[Any], gaps: list[str], label: str) -> dict[str, Any]:  # fmt: skip
    return {
        "verdict": word,
        "exit": code,
        "first": v.first,
        "label": label,
        "provenance": {
            "changed": v.provenance_changes,
            "old": v.provenance_old,
            "new": v.provenance_new,
        },
        "changes": [c.as_json() for c in v.changes],
        "significant": [c.metric for c in v.significant],
        "negative_flips": v.negative_flips,
        "positive_flips": v.positive_flips,
        "look_at": [{"case_id": i, "why": why} for i, why in v.look_at],
        "not_in_baseline": gaps,
        "failures": [
            {"side": f.side, "case_id": f.case_id, "sample": f.sample, "status": f.status, "message": f.message} for f in failures
        ],
        "comparison": {
            "id": comparison_id,
            "name": data.comparison.name,
            "baseline_run": run_ids["baseline"],
            "candidate_run": run_ids["candidate"],
            "against_run": against.id if against is not None else None,
        },
    }


def _plain(text: str) -> str:
    from rich.markup import escape

    return escape(text)

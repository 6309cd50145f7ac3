"""Drift probes: the same small suite against the same alias, again and again, each answer set
compared with the previous one, so a provider moving the model behind a name shows.

A probe is an ordinary run in the store, found again by its label:

    probe:<suite name>:<spec>        e.g. probe:smoke:openai:gpt-4o

(``<spec>`` as :class:`reviewer.providers.Spec` prints it: credentials in a base URL left out).
Each probe is also an ordinary comparison (the previous probe as the baseline, this one as the
candidate), so ``reviewer review`` and ``reviewer export`` open it like any other.

Pure functions over store records (no I/O of their own, no printing): which earlier probe is the
baseline, the per-run metrics that ``reviewer history`` lists, and the verdict of one probe —
provenance seen (resolved model ids and ``system_fingerprint``), which metrics and checks changed
beyond chance (:mod:`reviewer.stats`: exact McNemar for check flips, paired rate tests, a paired
median test for length; Holm over the family), negative flips, cases to look at.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from .store import ComparisonData, Output, Run, Store, SuiteRecord
from .suite import Case, LoadedSuite

LABEL_PREFIX = "probe:"
#: A change is significant when its Holm-adjusted p-value is below this.
ALPHA = 0.05
#: Cases listed under "look at" (the triage order's head).
LOOK_AT = 10


def probe_label(suite_name: str, spec: str) -> str:
    return f"{LABEL_PREFIX}{suite_name}:{spec}"


def is_probe_of(run: Run, spec: str, suite_name: str | None = None) -> bool:
    """Is ``run`` a probe of ``spec`` (of suite ``suite_name``, when given)?"""
    label = run.label or ""
    if run.side != "candidate" or not label.startswith(LABEL_PREFIX):
        return False
    if suite_name is not None:
        return label == probe_label(suite_name, spec)
    return label.endswith(":" + spec) and len(label) > len(LABEL_PREFIX) + len(spec) + 1


def probe_suite_name(run: Run, spec: str) -> str:
    return (run.label or "")[len(LABEL_PREFIX) : -(len(spec) + 1)]


def probes(store: Store, spec: str, suite_name: str | None = None) -> list[Run]:
    """Every probe run of ``spec`` (of one suite, or all), oldest first."""
    return [r for r in store.runs() if is_probe_of(r, spec, suite_name)]


@dataclass(slots=True)
class RunHealth:
    expected: int  # cases × samples
    answered: int
    errors: int

    @property
    def complete(self) -> bool:
        return self.errors == 0 and self.answered >= self.expected


def run_health(run: Run, outputs: Sequence[Output], suite: SuiteRecord) -> RunHealth:
    answered = sum(1 for o in outputs if o.error is None)
    return RunHealth(len(suite.suite.cases) * max(run.samples, 1), answered, len(outputs) - answered)


def last_good_probe(store: Store, spec: str, suite_name: str) -> Run | None:
    """The newest probe of ``spec`` on ``suite_name`` whose every call was answered: a probe whose
    calls failed (or that was killed half way) never becomes the baseline of the next one."""
    for run in reversed(probes(store, spec, suite_name)):
        if run_health(run, store.outputs(run.id), store.suite(run.suite_id)).complete:
            return run
    return None


# -- a sample of a large suite --------------------------------------------------------------------


def stratified_sample(cases: Sequence[Case], n: int, seed: int = 0) -> list[Case]:
    """``n`` cases drawn per tag (a case's first tag; untagged cases are a stratum of their own) in
    proportion to the stratum's size (largest remainder, every stratum at least one while ``n``
    allows), seeded: the same suite, ``n`` and ``seed`` give the same cases, in suite order, so
    probes on a cadence compare like with like."""
    if n >= len(cases):
        return list(cases)
    strata: dict[str, list[int]] = {}
    for i, c in enumerate(cases):
        strata.setdefault(c.tags[0] if c.tags else "", []).append(i)
    keys = sorted(strata)
    quota = dict.fromkeys(keys, 0)
    rng = random.Random(seed)
    if n < len(keys):  # fewer cases than tags: which tags get one is drawn too
        for k in rng.sample(keys, n):
            quota[k] = 1
    else:
        for k in keys:
            quota[k] = 1
    rest = n - sum(quota.values())
    if rest > 0:
        spare = {k: len(strata[k]) - quota[k] for k in keys}
        total = sum(spare.values())
        exact = {k: rest * spare[k] / total for k in keys}
        for k in keys:
            quota[k] += int(exact[k])
        left = n - sum(quota.values())
        for k in sorted(keys, key=lambda k: (-(exact[k] - int(exact[k])), k))[:left]:
            quota[k] += 1
    chosen: list[int] = []
    for k in keys:
        chosen += rng.sample(strata[k], min(quota[k], len(strata[k])))
    return [cases[i] for i in sorted(chosen)]


def sampled_suite(loaded: LoadedSuite, n: int, seed: int = 0) -> LoadedSuite:
    cases = stratified_sample(loaded.suite.cases, n, seed)
    if len(cases) == len(loaded.suite.cases):
        return loaded
    keep = {c.id for c in cases}
    return LoadedSuite(
        suite=loaded.suite.model_copy(update={"cases": cases}),
        path=loaded.path,
        format=loaded.format,
        case_lines={k: v for k, v in loaded.case_lines.items() if k in keep},
    )


# -- what one side of a probe looks like ----------------------------------------------------------


@dataclass(slots=True)
class CaseMetrics:
    """One case on one side: the share of its answered samples showing each signal."""

    answered: int
    refusal: float
    non_answer: float
    json_valid: float
    truncated: float
    passed: bool | None  # every check passed by a majority of samples; None: the case has no checks
    check_passes: list[float]  # per check of the case: share of samples passing it
    words: float
    latency_ms: float | None


def case_metrics(case: Case, outputs: Sequence[Output]) -> CaseMetrics | None:
    """None when no sample of the case was answered."""
    from .diff import output_signals, run_checks
    from .diff.signals import classify_decline

    ok = [o for o in outputs if o.error is None]
    if not ok:
        return None
    schema = next((c.value for c in case.checks if c.kind == "json_schema"), None)
    sig = [output_signals(o.text or "", finish_reason=o.finish_reason, refusal=o.refusal, schema=schema) for o in ok]
    n = len(ok)
    non_answer = 0
    for o in ok:
        d = classify_decline(o.text or "")
        non_answer += d is not None and d.kind == "non_answer"
    check_passes: list[float] = []
    passed: bool | None = None
    if case.checks:
        results = [
            run_checks(case.checks, o.text or "", reference=case.reference, signals=s, tool_calls=o.tool_calls,
                       tools=case.tools, response_format=case.response_format)
            for o, s in zip(ok, sig, strict=True)
        ]  # fmt: skip
        check_passes = [sum(r[j].passed for r in results) / n for j in range(len(case.checks))]
        passed = all(share * 2 > 1 for share in check_passes)
    lat = [o.latency_ms for o in ok if o.latency_ms is not None]
    return CaseMetrics(
        answered=n,
        refusal=sum(s.refusal for s in sig) / n,
        non_answer=non_answer / n,
        json_valid=sum(s.json_valid for s in sig) / n,
        truncated=sum(s.truncated for s in sig) / n,
        passed=passed,
        check_passes=check_passes,
        words=sum(s.words for s in sig) / n,
        latency_ms=sum(lat) / len(lat) if lat else None,
    )


def by_case(outputs: Iterable[Output]) -> dict[str, list[Output]]:
    out: dict[str, list[Output]] = {}
    for o in outputs:
        out.setdefault(o.case_id, []).append(o)
    return out


def provenance(outputs: Iterable[Output]) -> dict[str, dict[str, int]]:
    """Resolved model ids and system fingerprints of the answered calls, with counts (most first)."""
    models: Counter[str] = Counter()
    fps: Counter[str] = Counter()
    for o in outputs:
        if o.error is not None:
            continue
        models[o.resolved_model or "(not reported)"] += 1
        fps[o.system_fingerprint or "(not reported)"] += 1
    return {"resolved_models": dict(models.most_common()), "fingerprints": dict(fps.most_common())}


@dataclass(slots=True)
class RunSummary:
    """One row of ``reviewer history``."""

    run_id: int
    suite: str
    started_at: str
    status: str  # "ok", "failed" (calls ended in an error) or "incomplete"
    calls: int
    errors: int
    provenance: dict[str, dict[str, int]]
    metrics: dict[str, float | None]  # METRICS keys
    provenance_changed: bool = False  # differs from the previous probe of the same suite


#: Key metrics of a probe, in the order they are shown: key -> (header, kind).
METRICS: dict[str, tuple[str, str]] = {
    "refusal": ("refusal", "rate"),
    "non_answer": ("non-answer", "rate"),
    "json_valid": ("JSON valid", "rate"),
    "check_pass": ("checks pass", "rate"),
    "median_words": ("median words", "number"),
    "median_latency_ms": ("median ms", "number"),
}


def summarize_run(run: Run, outputs: Sequence[Output], suite: SuiteRecord, name: str) -> RunSummary:
    health = run_health(run, outputs, suite)
    grouped = by_case(outputs)
    per = [m for c in suite.suite.cases if (m := case_metrics(c, grouped.get(c.id, []))) is not None]
    checked = [m for m in per if m.passed is not None]
    lat = [m.latency_ms for m in per if m.latency_ms is not None]

    def mean(xs: list[float]) -> float | None:
        return sum(xs) / len(xs) if xs else None

    metrics: dict[str, float | None] = {
        "refusal": mean([m.refusal for m in per]),
        "non_answer": mean([m.non_answer for m in per]),
        "json_valid": mean([m.json_valid for m in per]),
        "check_pass": mean([float(bool(m.passed)) for m in checked]),
        "median_words": median([m.words for m in per]) if per else None,
        "median_latency_ms": median(lat) if lat else None,
    }
    status = "ok" if health.complete else ("failed" if health.errors else "incomplete")
    return RunSummary(run.id, name, run.started_at, status, len(outputs), health.errors, provenance(outputs), metrics)


def history(store: Store, spec: str, suite_name: str | None = None) -> list[RunSummary]:
    """Every probe of ``spec``, oldest first, with provenance changes marked (against the previous
    successful probe of the same suite)."""
    rows = []
    last: dict[str, set[tuple[str, str]]] = {}
    for run in probes(store, spec, suite_name):
        name = probe_suite_name(run, spec)
        row = summarize_run(run, store.outputs(run.id), store.suite(run.suite_id), name)
        seen = {("m", k) for k in row.provenance["resolved_models"]} | {("f", k) for k in row.provenance["fingerprints"]}
        if row.status == "ok":
            if name in last and seen - last[name]:
                row.provenance_changed = True
            last[name] = seen
        rows.append(row)
    return rows


# -- change points on a per-probe series ----------------------------------------------------------


def cusum_flags(values: Sequence[float | None], *, k: float = 0.5, h: float = 4.0, warmup: int = 3) -> list[bool]:
    """Two-sided tabular CUSUM on a per-probe series: ``True`` where the cumulative drift away from
    the mean of the first ``warmup`` points passes ``h`` standard deviations (slack ``k`` sd per
    step), so a slow drift that no single probe calls significant still shows. The sd is that of
    the warm-up points, floored at 5% of their mean magnitude (and at 0.02 for rates), so a
    perfectly flat start does not turn every wobble into an alarm. After an alarm the sums restart.
    None values (a failed probe) are skipped."""
    flags = [False] * len(values)
    seen = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(seen) <= warmup:
        return flags
    base = [v for _, v in seen[:warmup]]
    mu = sum(base) / warmup
    sd = math.sqrt(sum((v - mu) ** 2 for v in base) / max(warmup - 1, 1))
    sd = max(sd, 0.05 * abs(mu), 0.02)
    hi = lo = 0.0
    for i, v in seen[warmup:]:
        z = (v - mu) / sd
        hi = max(0.0, hi + z - k)
        lo = max(0.0, lo - z - k)
        if hi > h or lo > h:
            flags[i] = True
            hi = lo = 0.0
    return flags


# -- the verdict of one probe ---------------------------------------------------------------------


@dataclass(slots=True)
class Change:
    metric: str  # "refusal", "check_pass", "check:contains", "median_words", ...
    label: str  # how it reads: "refusal rate", "check 'contains' pass rate"
    baseline: float
    candidate: float
    cases: int  # cases measured on both sides
    test: str  # "McNemar (exact)", "paired sign-flip", "paired median sign-flip"
    p: float
    p_adjusted: float = 1.0
    significant: bool = False
    counted: bool = True  # False: shown, never a behaviour change (latency)
    kind: str = "rate"  # "rate" (0..1) or "number"
    detail: str | None = None  # McNemar's discordant counts
    moved: bool = True  # some case differs between the sides (else the test cannot reject: p = 1)

    def as_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "label": self.label, "baseline": self.baseline, "candidate": self.candidate,
            "delta": self.candidate - self.baseline, "cases": self.cases, "test": self.test, "p": self.p,
            "p_adjusted": self.p_adjusted, "significant": self.significant, "in_verdict": self.counted,
            **({"detail": self.detail} if self.detail else {}),
        }  # fmt: skip


@dataclass(slots=True)
class Verdict:
    first: bool  # no earlier probe: both sides are this probe's own calls (the alias against itself)
    provenance_old: dict[str, dict[str, int]]
    provenance_new: dict[str, dict[str, int]]
    provenance_changes: list[str]  # "resolved model", "system_fingerprint"
    changes: list[Change]
    negative_flips: list[str]
    positive_flips: list[str]
    look_at: list[tuple[str, str]]  # (case id, why)
    not_in_baseline: list[str] = field(default_factory=list)  # cases the earlier probe did not have

    @property
    def significant(self) -> list[Change]:
        return [c for c in self.changes if c.significant and c.counted]

    @property
    def changed(self) -> bool:
        return not self.first and bool(self.significant or self.provenance_changes)


def _new_values(old: dict[str, int], new: dict[str, int]) -> list[str]:
    return [k for k in new if k not in old]


def provenance_changes(old: dict[str, dict[str, int]], new: dict[str, dict[str, int]]) -> list[str]:
    """What moved: a resolved model id or a fingerprint answered now that the baseline never showed.
    (One that is no longer seen, among several, is not a move: a load-balanced alias answers from
    several backends, and a small probe may simply not meet one of them.)"""
    out = []
    if new["resolved_models"] and _new_values(old["resolved_models"], new["resolved_models"]):
        out.append("resolved model")
    if new["fingerprints"] and _new_values(old["fingerprints"], new["fingerprints"]):
        out.append("system_fingerprint")
    return out


def _rate_change(metric: str, label: str, pairs: list[tuple[float, float]]) -> Change | None:
    from .stats import mcnemar_exact, paired_rate_test

    if not pairs:
        return None
    moved = any(x != y for x, y in pairs)
    b = sum(x for x, _ in pairs) / len(pairs)
    c = sum(y for _, y in pairs) / len(pairs)
    binary = all(v in (0, 1) for pair in pairs for v in pair)
    if binary:
        lost = sum(1 for x, y in pairs if x and not y)
        gained = sum(1 for x, y in pairs if y and not x)
        p = mcnemar_exact(lost, gained)
        return Change(metric, label, b, c, len(pairs), "McNemar (exact)", p, detail=f"{lost} lost, {gained} gained", moved=moved)
    return Change(metric, label, b, c, len(pairs), "paired sign-flip", paired_rate_test(pairs), moved=moved)


def _median_change(metric: str, label: str, pairs: list[tuple[float, float]], counted: bool = True) -> Change | None:
    from .stats import paired_median_change

    if not pairs:
        return None
    m = paired_median_change([x for x, _ in pairs], [y for _, y in pairs])
    return Change(
        metric, label, median(x for x, _ in pairs), median(y for _, y in pairs), len(pairs), "paired median sign-flip",
        m.p, counted=counted, kind="number", detail=f"median change {m.median_delta:+.1f} (95% CI {m.ci_lo:+.1f} to {m.ci_hi:+.1f})",
        moved=any(x != y for x, y in pairs),
    )  # fmt: skip


def assess_probe(data: ComparisonData, assessments: Sequence[Any], *, first: bool) -> Verdict:
    """The verdict of a probe stored as the comparison ``data`` (candidate = this probe), with the
    comparison's assessments (:func:`reviewer.analysis.assess_comparison`, triage order)."""
    from .stats import holm

    cases = data.suite.suite.cases
    old_pairs: list[tuple[CaseMetrics, CaseMetrics, Case]] = []
    not_in_baseline = []
    for case in cases:
        b = case_metrics(case, data.baseline_outputs.get(case.id, []))
        c = case_metrics(case, data.candidate_outputs.get(case.id, []))
        if b is None and c is not None and not first:
            not_in_baseline.append(case.id)
        if b is not None and c is not None:
            old_pairs.append((b, c, case))

    changes: list[Change | None] = [
        _rate_change("check_pass", "cases passing all their checks",
                     [(float(bool(b.passed)), float(bool(c.passed))) for b, c, _ in old_pairs if b.passed is not None]),
        _rate_change("refusal", "refusal rate", [(b.refusal, c.refusal) for b, c, _ in old_pairs]),
        _rate_change("non_answer", "non-answer rate", [(b.non_answer, c.non_answer) for b, c, _ in old_pairs]),
        _rate_change("json_valid", "JSON validity", [(b.json_valid, c.json_valid) for b, c, _ in old_pairs]),
        _rate_change("truncated", "truncation rate", [(b.truncated, c.truncated) for b, c, _ in old_pairs]),
    ]  # fmt: skip
    per_kind: dict[str, list[tuple[float, float]]] = {}
    for b, c, case in old_pairs:
        for check, x, y in zip(case.checks, b.check_passes, c.check_passes, strict=True):
            per_kind.setdefault(check.kind, []).append((x, y))
    for kind in sorted(per_kind):
        changes.append(_rate_change(f"check:{kind}", f"check {kind!r} pass rate", per_kind[kind]))
    changes.append(_median_change("median_words", "median length (words)", [(b.words, c.words) for b, c, _ in old_pairs]))
    lat = [(b.latency_ms, c.latency_ms) for b, c, _ in old_pairs if b.latency_ms is not None and c.latency_ms is not None]
    changes.append(_median_change("median_latency_ms", "median latency (ms)", lat, counted=False))
    found = [c for c in changes if c is not None]
    # Holm over the tests that can reject: a metric on which no case differs has p = 1 whatever
    # happens (its smallest attainable p is 1), so it is left out of the family (Tarone's rule for
    # discrete tests) and stays listed at p = 1. With 1 sample a case, a flip of every case of an
    # n-case suite has p = 2 / 2^n: significant alone from n = 6, and from n = 9 next to 7 others.
    counted = [ch for ch in found if ch.counted and ch.moved]
    for ch, adj in zip(counted, holm([ch.p for ch in counted]) if counted else [], strict=True):
        ch.p_adjusted = adj
        ch.significant = adj < ALPHA
    for ch in found:
        if not ch.counted:
            ch.p_adjusted = ch.p
            ch.significant = ch.p < ALPHA

    old = provenance(o for outs in data.baseline_outputs.values() for o in outs)
    new = provenance(o for outs in data.candidate_outputs.values() for o in outs)
    negative = [a.case_id for a in assessments if a.flip == "negative"]
    positive = [a.case_id for a in assessments if a.flip == "positive"]
    from .diff import FLAG_LABELS

    look: list[tuple[str, str]] = []
    for a in assessments:
        if a.tier > 1 or len(look) >= LOOK_AT:
            continue
        why = ", ".join(FLAG_LABELS.get(f, f) for f in a.flags) or f"changed {a.change:.0%}"
        look.append((a.case_id, why))
    return Verdict(
        first=first,
        provenance_old=old,
        provenance_new=new,
        provenance_changes=[] if first else provenance_changes(old, new),
        changes=found,
        negative_flips=negative,
        positive_flips=positive,
        look_at=look,
        not_in_baseline=not_in_baseline,
    )

"""The pure build: one comparison's loaded data, assessments, labels and sign-offs → :class:`Changelog`.

``build_changelog`` takes the generation time and identity as parameters, so the same inputs
always give the same model (and the same bytes once rendered).

Labels: every reviewer's label is kept and listed. A case's *effective* verdict is its most recent
label (latest ``updated_at``; on a tie, the reviewer name that sorts first).

Numbers: rates are over samples (every sample of every case); "changed" means above the noise
floor or flagged (tier 0 or 1 of the triage); negative/positive flip rates are over the cases
that have checks, since a case without checks cannot flip. Cost appears only when prices are
given (USD per million input/output tokens): we keep no price table of our own.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ... import __version__
from ..plural import plural
from .model import (
    STATE_DIGEST_PREFIX,
    CaseEntry,
    Changelog,
    CheckEntry,
    CheckRow,
    CheckSide,
    LabelEntry,
    Metric,
    Price,
    SideInfo,
    SignoffEntry,
    Status,
    Summary,
    TagRow,
    latest_label,
    review_state_digest,
)

if TYPE_CHECKING:
    from ...diff.score import Assessment
    from ...store import ComparisonData, Label, Output, Signoff

__all__ = ["build_changelog"]

_SECRET_KEY_RE = re.compile(r"(api[_-]?key|secret|password|passwd|authorization|^token$|access[_-]?token|bearer)", re.I)


def _clean_url(url: str | None) -> str | None:
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sorted(params.items()) if not _SECRET_KEY_RE.search(str(k))}


def _side_info(side: str, run: Any, outputs: Mapping[str, Sequence[Output]]) -> SideInfo:
    resolved: Counter[str] = Counter()
    prints: Counter[str] = Counter()
    n = errors = 0
    for outs in outputs.values():
        for o in outs:
            n += 1
            if o.error is not None:
                errors += 1
                continue
            if o.resolved_model:
                resolved[o.resolved_model] += 1
            if o.system_fingerprint:
                prints[o.system_fingerprint] += 1
    return SideInfo(
        side=side, spec=f"{run.provider}:{run.model}", provider=run.provider, model=run.model, label=run.label,
        base_url=_clean_url(run.base_url), params=_clean_params(run.params or {}), samples=run.samples,
        started_at=run.started_at, finished_at=run.finished_at, status=run.status,
        resolved_models=dict(sorted(resolved.items(), key=lambda kv: (-kv[1], kv[0]))),
        fingerprints=dict(sorted(prints.items(), key=lambda kv: (-kv[1], kv[0]))), outputs=n, errors=errors,
    )  # fmt: skip


def _quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); ``values`` sorted."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    pos = (len(values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return float(values[lo] + (values[hi] - values[lo]) * (pos - lo))


@dataclass(slots=True)
class _SideStats:
    """Accumulates one side's per-sample numbers over a set of cases."""

    words: list[int] = field(default_factory=list)
    samples: int = 0
    answered: int = 0
    refusals: int = 0
    truncated: int = 0
    errors: int = 0
    json_samples: int = 0
    json_valid: int = 0
    schema_samples: int = 0
    schema_valid: int = 0
    latencies: list[float] = field(default_factory=list)
    in_tokens: int = 0
    out_tokens: int = 0
    token_samples: int = 0

    def add(self, signals: Sequence[Any], outputs: Sequence[Output], expects_json: bool, has_schema: bool) -> None:
        for g in signals:
            self.samples += 1
            if g.error:
                self.errors += 1
                continue
            self.answered += 1
            self.words.append(g.words)
            self.refusals += g.refusal
            self.truncated += g.truncated
            if expects_json:
                self.json_samples += 1
                self.json_valid += g.json_valid
            if has_schema:
                self.schema_samples += 1
                self.schema_valid += bool(g.schema_valid)
        for o in outputs:
            if o.error is not None:
                continue
            if o.latency_ms is not None:
                self.latencies.append(o.latency_ms)
            if o.input_tokens is not None and o.output_tokens is not None:
                self.token_samples += 1
                self.in_tokens += o.input_tokens
                self.out_tokens += o.output_tokens


def _rate(n: int, d: int) -> float | None:
    return n / d if d else None


def _metrics(b: _SideStats, c: _SideStats, prices: tuple[Price | None, Price | None], cases: int) -> list[Metric]:
    bw, cw = sorted(b.words), sorted(c.words)
    bl, cl = sorted(b.latencies), sorted(c.latencies)
    out = [
        Metric("words_median", "Median length (words)", "words", _quantile(bw, 0.5), _quantile(cw, 0.5), 0.10),
        Metric("words_p90", "p90 length (words)", "words", _quantile(bw, 0.9), _quantile(cw, 0.9), 0.10),
        Metric("refusal_rate", "Refusal rate", "rate", _rate(b.refusals, b.answered), _rate(c.refusals, c.answered), 0.02),
    ]  # fmt: skip
    if b.json_samples or c.json_samples:
        out.append(Metric("json_valid_rate", "Valid JSON (cases expecting JSON)", "rate",
                          _rate(b.json_valid, b.json_samples), _rate(c.json_valid, c.json_samples), 0.02))  # fmt: skip
    if b.schema_samples or c.schema_samples:
        out.append(Metric("schema_valid_rate", "Matches its JSON schema", "rate",
                          _rate(b.schema_valid, b.schema_samples), _rate(c.schema_valid, c.schema_samples), 0.02))  # fmt: skip
    out += [
        Metric("truncation_rate", "Truncated (length limit)", "rate", _rate(b.truncated, b.answered), _rate(c.truncated, c.answered), 0.02),
        Metric("error_rate", "Errors", "rate", _rate(b.errors, b.samples), _rate(c.errors, c.samples), 0.02),
    ]  # fmt: skip
    if bl or cl:
        out.append(Metric("latency_p50", "Latency p50", "ms", _quantile(bl, 0.5), _quantile(cl, 0.5), 0.20))
        out.append(Metric("latency_p95", "Latency p95", "ms", _quantile(bl, 0.95), _quantile(cl, 0.95), 0.20))
    if b.token_samples or c.token_samples:
        out.append(Metric("input_tokens_mean", "Input tokens per answer", "tokens",
                          _rate(b.in_tokens, b.token_samples), _rate(c.in_tokens, c.token_samples), 0.10))  # fmt: skip
        out.append(Metric("output_tokens_mean", "Output tokens per answer", "tokens",
                          _rate(b.out_tokens, b.token_samples), _rate(c.out_tokens, c.token_samples), 0.10))  # fmt: skip
    pb, pc = prices
    if (pb or pc) and (b.token_samples or c.token_samples):

        def cost(s: _SideStats, p: Price | None) -> float | None:
            if p is None or not s.token_samples or s.token_samples < s.answered:
                return None  # unknown price, or tokens missing for some answers: no partial totals
            return (s.in_tokens * p.input_per_mtok + s.out_tokens * p.output_per_mtok) / 1e6

        out.append(Metric("cost_total", f"Cost of the run ({plural(cases, 'case')})", "usd", cost(b, pb), cost(c, pc), 0.10))
    return [m for m in out if m.baseline is not None or m.candidate is not None]


def _case_checks(a: Assessment) -> list[CheckEntry]:
    out = []
    for bc, cc in zip(a.baseline_checks, a.candidate_checks, strict=False):
        out.append(
            CheckEntry(
                check=bc.check.label(), kind=bc.check.kind,
                baseline=CheckSide(bc.passes, bc.samples, bc.passed),
                candidate=CheckSide(cc.passes, cc.samples, cc.passed),
            )  # fmt: skip
        )
    return out


def _status(a: Assessment) -> Status:
    return "changed" if a.tier <= 1 else ("noise" if a.tier == 2 else "unchanged")


def _first_text(outputs: Sequence[Output] | None) -> str | None:
    if not outputs:
        return None
    o = outputs[0]
    if o.error is not None:
        return None
    return o.text or ""


#: Excerpts align at most this many characters of each output (a 1 MB answer would cost seconds;


def build_changelog(
    data: ComparisonData,
    assessments: Sequence[Assessment],
    labels: Iterable[Label],
    signoffs: Iterable[Signoff] = (),
    *,
    generated_at: datetime,
    generated_by: str,
    prices: Mapping[str, Price] | None = None,
    tool: str | None = None,
    previous_comparison: tuple[int, str] | None = None,
    allow_unreviewed: bool = False,
) -> Changelog:
    """The changelog of one comparison. Pure: time, identity and prices are parameters.

    ``assessments`` must be in triage order (as ``assess_comparison`` returns them); ``prices`` maps
    a run's spec (``provider:model``) or model to its :class:`Price`; ``previous_comparison`` is the
    (id, created_at) of the previous comparison of the same suite, for "cases added since".
    """
    suite = data.suite.suite
    case_defs = {c.id: c for c in suite.cases}
    by_case: dict[str, list[LabelEntry]] = defaultdict(list)
    reviewers: set[str] = set()
    for lab in labels:
        by_case[lab.case_id].append(
            LabelEntry(lab.reviewer, lab.verdict, lab.severity, lab.note, lab.updated_at or lab.created_at or "")
        )
        reviewers.add(lab.reviewer)
    for entries in by_case.values():
        entries.sort(key=lambda e: (e.at, e.reviewer))

    cases: list[CaseEntry] = []
    for rank, a in enumerate(assessments, start=1):
        cdef = case_defs.get(a.case_id)
        cases.append(
            CaseEntry(
                id=a.case_id, tags=list(cdef.tags) if cdef else [], rank=rank, change=a.change, within=a.within,
                noise=a.noise, tier=a.tier, status=_status(a), flags=list(a.flags), flip=a.flip,
                format_drift=list(a.pair.format_drift) if "format_drift" in a.flags else [],
                checks=_case_checks(a), labels=by_case.get(a.case_id, []),
                origin=cdef.origin if cdef else None, added=cdef.added.isoformat() if cdef and cdef.added else None,
            )  # fmt: skip
        )
        cases[-1].effective = latest_label(cases[-1].labels)
    entry_of = {c.id: c for c in cases}
    assessed = {a.case_id: a for a in assessments}

    # texts for the regressions' excerpts (the only cases shown with a diff; computed when rendering)
    for c in cases:
        if c.verdict == "regression":
            c.texts = (_first_text(data.baseline_outputs.get(c.id)), _first_text(data.candidate_outputs.get(c.id)))

    # per-side numbers, overall and per tag
    def expects(cid: str) -> tuple[bool, bool]:
        cdef = case_defs.get(cid)
        kinds = {ch.kind for ch in cdef.checks} if cdef else set()
        return bool(kinds & {"json", "json_schema"}), "json_schema" in kinds

    overall = (_SideStats(), _SideStats())
    tag_stats: dict[str, tuple[_SideStats, _SideStats]] = defaultdict(lambda: (_SideStats(), _SideStats()))
    for cid, a in assessed.items():
        ej, es = expects(cid)
        bo, co = data.baseline_outputs.get(cid, []), data.candidate_outputs.get(cid, [])
        targets = [overall] + [tag_stats[t] for t in entry_of[cid].tags]
        for bs, cs in targets:
            bs.add(a.baseline_signals, bo, ej, es)
            cs.add(a.candidate_signals, co, ej, es)

    def price_of(info: SideInfo) -> Price | None:
        if not prices:
            return None
        return prices.get(info.spec) or prices.get(info.model)

    baseline = _side_info("baseline", data.baseline, data.baseline_outputs)
    candidate = _side_info("candidate", data.candidate, data.candidate_outputs)
    metrics = _metrics(*overall, (price_of(baseline), price_of(candidate)), len(cases))

    # summary
    verdicts = Counter(c.verdict for c in cases if c.verdict)
    sev = Counter(
        (c.effective.severity_name or "unset") for c in cases if c.verdict == "regression" and c.effective
    )
    checked = sum(1 for c in cases if c.checks)
    neg = sum(1 for c in cases if c.flip == "negative")
    pos = sum(1 for c in cases if c.flip == "positive")
    summary = Summary(
        cases=len(cases),
        unchanged=sum(1 for c in cases if c.status == "unchanged"),
        noise=sum(1 for c in cases if c.status == "noise"),
        changed=sum(1 for c in cases if c.status == "changed"),
        regressions=verdicts["regression"],
        regressions_by_severity={k: sev[k] for k in ("high", "medium", "low", "unset") if sev[k]},
        improvements=verdicts["improvement"],
        acceptable=verdicts["acceptable"],
        labelled_noise=verdicts["noise"],
        unreviewed=sum(1 for c in cases if c.unreviewed),
        labelled=sum(1 for c in cases if c.labels),
        disagreements=sum(1 for c in cases if c.disagreement),
        checked_cases=checked,
        negative_flips=neg,
        positive_flips=pos,
        negative_flip_rate=neg / checked if checked else None,
        positive_flip_rate=pos / checked if checked else None,
        negative_flips_waived=sum(1 for c in cases if c.flip == "negative" and c.verdict not in (None, "regression")),
        samples=baseline.outputs + candidate.outputs,
        errors=baseline.errors + candidate.errors,
    )

    # per tag
    tag_rows = []
    for tag in sorted(tag_stats):
        members = [c for c in cases if tag in c.tags]
        tv = Counter(c.verdict for c in members if c.verdict)
        tag_rows.append(
            TagRow(
                tag=tag, cases=len(members),
                changed=sum(1 for c in members if c.status == "changed"),
                noise=sum(1 for c in members if c.status == "noise"),
                unchanged=sum(1 for c in members if c.status == "unchanged"),
                negative_flips=sum(1 for c in members if c.flip == "negative"),
                positive_flips=sum(1 for c in members if c.flip == "positive"),
                regressions=tv["regression"], improvements=tv["improvement"],
                unreviewed=sum(1 for c in members if c.unreviewed),
                metrics={m.key: m for m in _metrics(*tag_stats[tag], (None, None), len(members))},
            )  # fmt: skip
        )

    # per check kind
    kinds: dict[str, list[int]] = {}
    for c in cases:
        seen: dict[str, list[bool]] = {}
        for ch in c.checks:
            s = seen.setdefault(ch.kind, [True, True])
            s[0] &= ch.baseline.passed
            s[1] &= ch.candidate.passed
        for kind, (bp, cp) in seen.items():
            row = kinds.setdefault(kind, [0, 0, 0, 0, 0])
            row[0] += 1
            row[1] += bp
            row[2] += cp
            row[3] += bp and not cp
            row[4] += cp and not bp
    check_rows = [CheckRow(k, *v) for k, v in sorted(kinds.items())]

    warnings = _provenance(baseline, candidate, data)
    new_cases: list[str] = []
    if previous_comparison is not None:
        since = previous_comparison[1][:10]
        new_cases = [c.id for c in suite.cases if c.added is not None and c.added.isoformat() >= since]

    cl = Changelog(
        comparison_id=data.comparison.id, comparison_name=data.comparison.name,
        comparison_status=data.comparison.status, comparison_created_at=data.comparison.created_at,
        suite_name=data.suite.name, suite_digest=data.suite.digest, suite_path=data.suite.path,
        baseline=baseline, candidate=candidate, generated_at=generated_at.astimezone(UTC), generated_by=generated_by,
        tool=tool or f"reviewer {__version__}", reviewers=[], summary=summary, metrics=metrics, tags=tag_rows,
        checks=check_rows, cases=cases, warnings=["".join(t for _, t in w) for w in warnings], warning_parts=warnings,
        signoffs=[], new_cases=new_cases, previous_comparison=previous_comparison, allow_unreviewed=allow_unreviewed,
    )  # fmt: skip
    for so in signoffs:
        current = None
        if so.body_digest and so.body_digest.startswith(STATE_DIGEST_PREFIX):
            current = so.body_digest == review_state_digest(cl)
        cl.signoffs.append(SignoffEntry(so.signer, so.created_at, so.note, current))
        reviewers.add(so.signer)
    cl.reviewers = sorted(reviewers)
    return cl


def _provenance(b: SideInfo, c: SideInfo, data: ComparisonData) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []

    def seen(d: dict[str, int]) -> list[tuple[str, str]]:
        parts: list[tuple[str, str]] = []
        for i, (k, n) in enumerate(d.items()):
            if i:
                parts.append(("text", ", "))
            parts += [("code", k), ("text", f" ({plural(n, 'answer')})")]
        return parts

    for side in (b, c):
        name = side.side.capitalize()
        if len(side.resolved_models) > 1:
            out.append([("text", f"{name}: the provider answered with {len(side.resolved_models)} different models "
                                 "within one run: ")] + seen(side.resolved_models))  # fmt: skip
        if len(side.fingerprints) > 1:
            out.append([("text", f"{name}: the system fingerprint changed within the run: ")] + seen(side.fingerprints))
    if b.spec == c.spec:
        if b.resolved_models and c.resolved_models and set(b.resolved_models) != set(c.resolved_models):
            out.append([("text", "The same requested model "), ("code", b.shown), ("text", " resolved to ")]
                       + _join_codes(list(b.resolved_models)) + [("text", " in the baseline and to ")]
                       + _join_codes(list(c.resolved_models)) + [("text", " in the candidate")])  # fmt: skip
        if b.fingerprints and c.fingerprints and set(b.fingerprints) != set(c.fingerprints):
            out.append([("text", "The same requested model "), ("code", b.shown), ("text", " reported fingerprint ")]
                       + _join_codes(list(b.fingerprints)) + [("text", " in the baseline and ")]
                       + _join_codes(list(c.fingerprints)) + [("text", " in the candidate")])  # fmt: skip
    if data.comparison.status != "complete":
        out.append([("text", f"The comparison is not complete (status: {data.comparison.status}): "
                             "cases without answers on both sides are missing from these numbers")])  # fmt: skip
    missing = [
        cd.id for cd in data.suite.suite.cases
        if len(data.baseline_outputs.get(cd.id, ())) < data.baseline.samples
        or len(data.candidate_outputs.get(cd.id, ())) < data.candidate.samples
    ]  # fmt: skip
    if missing:
        shown = missing[:10]
        parts: list[tuple[str, str]] = [("text", f"{plural(len(missing), 'case lacks', 'cases lack')} "
                                                 "stored answers on a side (counted as errors): ")]  # fmt: skip
        parts += _join_codes(shown)
        if len(missing) > len(shown):
            parts.append(("text", f" and {len(missing) - len(shown)} more"))
        out.append(parts)
    return out


def _join_codes(items: Sequence[str]) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    for i, it in enumerate(items):
        if i:
            parts.append(("text", ", "))
        parts.append(("code", it))
    return parts

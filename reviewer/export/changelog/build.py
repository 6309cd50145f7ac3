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
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ... import __version__
from ..plural import plural
from .metrics import CaseColumns, SideStats, side_metrics, totals
from .model import (
    STATE_DIGEST_PREFIX,
    CaseEntry,
    Changelog,
    CheckEntry,
    CheckRow,
    CheckSide,
    Consistency,
    FlipTest,
    JudgeSection,
    LabelEntry,
    Metric,
    Price,
    SideConsistency,
    SideInfo,
    SignificanceInfo,
    SignoffEntry,
    Status,
    Summary,
    TagRow,
    ToolChangeEntry,
    ToolSection,
    latest_label,
    review_state_digest,
    state_digest,
)
from .significance import (
    ALPHA,
    CORRECTION,
    RESAMPLES,
    CasePair,
    decide,
    flips_p,
    holm_by_key,
    holm_rows,
)

if TYPE_CHECKING:
    from ...analysis.rows import CaseSummary
    from ...diff.score import Assessment
    from ...store import ComparisonData, Label, Output, Signoff
    from ...store.reader import Origins  # as StoreReader.answer_origins counts them

__all__ = ["build_changelog"]

#: What the JSON says about the families and seeds (see .significance).
FAMILIES = ("each metric's per-tag rows (Holm across the tags); the tags' check flips; the check kinds; "
            "overall metrics are read one by one (not adjusted)")  # fmt: skip
SEEDS = "CRC-32 of scope/metric (e.g. overall/words_median): the same p-values on every export"

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


def _origins(outputs: Mapping[str, Sequence[Output]]) -> Origins:
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
    return n, errors, resolved, prints


def _side_info(side: str, run: Any, origins: Origins) -> SideInfo:
    n, errors, resolved, prints = origins
    return SideInfo(
        side=side, spec=f"{run.provider}:{run.model}", provider=run.provider, model=run.model, label=run.label,
        base_url=_clean_url(run.base_url), params=_clean_params(run.params or {}), samples=run.samples,
        started_at=run.started_at, finished_at=run.finished_at, status=run.status,
        resolved_models=dict(sorted(resolved.items(), key=lambda kv: (-kv[1], kv[0]))),
        fingerprints=dict(sorted(prints.items(), key=lambda kv: (-kv[1], kv[0]))), outputs=n, errors=errors,
    )  # fmt: skip


def _case_checks(a: CaseSummary, seen: dict[Any, CheckEntry], lists: dict[Any, tuple[CheckEntry, ...]]) -> tuple[CheckEntry, ...]:
    """The case's check entries. Equal check figures share one (read-only) :class:`CheckEntry`
    from ``seen``, and cases with the same figures one tuple of them from ``lists``: 100,000
    cases hold a few hundred distinct ones."""
    found = lists.get(a.checks)
    if found is not None:
        return found
    out = []
    for ch in a.checks:
        entry = seen.get(ch)
        if entry is None:
            entry = seen[ch] = CheckEntry(
                check=ch.label,
                kind=ch.kind,
                baseline=CheckSide(ch.baseline_passes, ch.baseline_samples, ch.baseline_passed),
                candidate=CheckSide(ch.candidate_passes, ch.candidate_samples, ch.candidate_passed),
            )
        out.append(entry)
    found = lists[a.checks] = tuple(out)
    return found


def _consistency(a: CaseSummary, seen: dict[tuple[Any, ...], Consistency]) -> Consistency | None:
    """pass^k and the flip rate between samples, per side, from the case's checks. Cases with
    the same check figures share one (read-only) :class:`Consistency` from ``seen``: 100,000
    cases hold a few hundred distinct ones."""
    if not a.checks:
        return None
    found = seen.get(a.checks)
    if found is None:
        found = seen[a.checks] = _consistency_of(a.checks)
    return found


def _consistency_of(checks: Sequence[Any]) -> Consistency:

    def side(counts: Sequence[tuple[int, int]]) -> SideConsistency:
        k = counts[0][1]
        # reviewer.stats.pass_hat_k's flip rate, j(k − j) / C(k, 2), from each check's pass count
        flip = max(j * (n - j) for j, n in counts) / math.comb(k, 2) if k >= 2 else None
        return SideConsistency(k, all(j == n for j, n in counts), flip)

    return Consistency(
        side([(ch.baseline_passes, ch.baseline_samples) for ch in checks]),
        side([(ch.candidate_passes, ch.candidate_samples) for ch in checks]),
    )


def _status(a: CaseSummary) -> Status:
    return "changed" if a.tier <= 1 else ("noise" if a.tier == 2 else "unchanged")


def _first_text(outputs: Sequence[Output] | None) -> str | None:
    if not outputs:
        return None
    o = outputs[0]
    if o.error is not None:
        return None
    return o.text or ""


def _tool_changes(a: CaseSummary) -> list[ToolChangeEntry]:
    return [
        ToolChangeEntry(ch.kind, ch.label, ch.name, ch.new_name, ch.path, ch.new_path, ch.old, ch.new, ch.over_quoted, ch.detail)
        for ch in a.tool_changes
    ]


def build_changelog(
    data: ComparisonData,
    assessments: Sequence[Assessment | CaseSummary],
    labels: Iterable[Label],
    signoffs: Iterable[Signoff] = (),
    *,
    generated_at: datetime,
    generated_by: str,
    prices: Mapping[str, Price] | None = None,
    tool: str | None = None,
    previous_comparison: tuple[int, str] | None = None,
    allow_unreviewed: bool = False,
    alpha: float = ALPHA,
    judge: JudgeSection | None = None,
    judge_cases: Mapping[str, dict[str, Any]] | None = None,
    texts: Mapping[str, tuple[str | None, str | None]] | None = None,
    origins: tuple[Origins, Origins] | None = None,
    cases_ready: Callable[[list[CaseEntry], Callable[[], str]], None] | None = None,
    figures: bool = True,
) -> Changelog:
    """The changelog of one comparison. Pure: time, identity and prices are parameters.

    ``assessments`` must be in triage order (as :func:`reviewer.analysis.summaries` returns them;
    full assessments are summed up the same way); ``prices`` maps
    a run's spec (``provider:model``) or model to its :class:`Price`; ``previous_comparison`` is the
    (id, created_at) of the previous comparison of the same suite, for "cases added since";
    ``alpha`` is the level at which a delta is called significant (:mod:`.significance`);
    ``judge`` and ``judge_cases`` (case id -> :func:`reviewer.judge.case_entries` entry) are the
    judge's suggestions, shown apart and never counted as labels.

    Each case's figures (counts, words, latencies, outputs stored) are read from its summary
    (:class:`~reviewer.analysis.rows.CaseSummary`, computed from ``data``'s outputs for a full
    assessment), so ``data`` need hold no output when every assessment is a summary; ``texts``
    gives the first sample's text of each side (None: failed or none) for the cases labelled
    regression, and ``origins`` each side's :data:`Origins` (both are read from ``data``'s
    outputs when not given). ``cases_ready`` is called with the case entries (the changelog's
    ``cases``) as soon as they are final, before the sums over them are made, and with what
    makes the changelog's :func:`~.model.review_state_digest` from them: the JSON export starts
    writing their rows then, the digest first (:class:`~.jsondoc.RowsAhead`). Without
    ``figures`` the per-side figures and their tests are left out (no metrics, tag rows, check
    kinds or provenance warnings: ~1.6 s at 100,000 cases): what the gate reads is the summary and
    the cases; such a changelog is for reading those, not for rendering.
    """
    from ...analysis.rows import CaseSummary, summarize

    suite = data.suite.suite
    case_defs = {c.id: c for c in suite.cases}
    bouts, couts = data.baseline_outputs, data.candidate_outputs
    rows = [
        a if isinstance(a, CaseSummary)
        else summarize(a, case_defs[a.case_id].checks if a.case_id in case_defs else (), bouts.get(a.case_id, []),
                       couts.get(a.case_id, []))
        for a in assessments
    ]  # fmt: skip
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
    consistencies: dict[tuple[Any, ...], Consistency] = {}
    check_entries: dict[Any, CheckEntry] = {}
    check_lists: dict[Any, tuple[CheckEntry, ...]] = {}
    for rank, a in enumerate(rows, start=1):
        cdef = case_defs.get(a.case_id)
        cases.append(
            CaseEntry(
                id=a.case_id,
                tags=cdef.tags if cdef else (),  # the outline's tuple, shared by every case with these tags
                rank=rank,
                change=a.change,
                within=a.within,
                noise=a.noise,
                noise_known=a.noise_known,
                noise_p=a.noise_p,
                tier=a.tier,
                status=_status(a),
                flags=a.flags,
                flip=a.flip,
                format_drift=a.format_drift if "format_drift" in a.flags else (),
                checks=_case_checks(a, check_entries, check_lists),
                consistency=_consistency(a, consistencies),
                labels=by_case.get(a.case_id, ()),
                origin=cdef.origin if cdef else None,
                added=cdef.added.isoformat() if cdef and cdef.added else None,
                tool_changes=_tool_changes(a) if "tool_drift" in a.flags else (),
                judge=judge_cases.get(a.case_id) if judge_cases else None,
            )
        )
        cases[-1].effective = latest_label(cases[-1].labels)
    entry_of = {c.id: c for c in cases}
    assessed = {a.case_id: a for a in rows}

    # texts for the regressions' excerpts (the only cases shown with a diff; computed when rendering)
    for c in cases:
        if c.verdict == "regression":
            if texts is not None:
                c.texts = texts.get(c.id, (None, None))
            else:
                c.texts = (_first_text(data.baseline_outputs.get(c.id)), _first_text(data.candidate_outputs.get(c.id)))
    if origins is None:
        origins = (_origins(data.baseline_outputs), _origins(data.candidate_outputs))
    baseline = _side_info("baseline", data.baseline, origins[0])
    candidate = _side_info("candidate", data.candidate, origins[1])
    if cases_ready is not None:  # nothing below changes an entry or a side's info
        cases_ready(cases, partial(state_digest, data.suite.digest, (baseline, candidate), cases))

    # summary
    verdicts = Counter(c.verdict for c in cases if c.verdict)
    sev = Counter((c.effective.severity_name or "unset") for c in cases if c.verdict == "regression" and c.effective)
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
        flips_test=FlipTest(flips_p(neg, pos)),
        negative_flips_waived=sum(1 for c in cases if c.flip == "negative" and c.verdict not in (None, "regression")),
        samples=baseline.outputs + candidate.outputs,
        errors=baseline.errors + candidate.errors,
        noise_unknown=sum(1 for c in cases if not c.noise_known),
    )

    decide([summary.flips_test], alpha)

    metrics: list[Metric] = []
    tag_rows: list[TagRow] = []
    check_rows: list[CheckRow] = []
    if figures:
        metrics, tag_rows, check_rows = _figures(cases, entry_of, assessed, baseline, candidate, prices, alpha)

    tool_section = None
    tooled_cases = sum(1 for a in rows if a.tooled)
    if tooled_cases:
        groups: dict[str, list[str]] = {}
        for c in cases:
            for g in dict.fromkeys(ch.group for ch in c.tool_changes):
                groups.setdefault(g, []).append(c.id)
        tool_section = ToolSection(tooled_cases, sum(1 for c in cases if c.tool_changes), groups)

    warnings = _provenance(baseline, candidate, data, assessed) if figures else []  # read when rendered
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
        significance=SignificanceInfo(alpha, CORRECTION, FAMILIES, RESAMPLES, SEEDS), tool_calls=tool_section,
        judge=judge, figures=figures,
    )  # fmt: skip
    for so in signoffs:
        current = None
        if so.body_digest and so.body_digest.startswith(STATE_DIGEST_PREFIX):
            current = so.body_digest == review_state_digest(cl)
        cl.signoffs.append(SignoffEntry(so.signer, so.created_at, so.note, current))
        reviewers.add(so.signer)
    cl.reviewers = sorted(reviewers)
    return cl


def _figures(
    cases: list[CaseEntry],
    entry_of: Mapping[str, CaseEntry],
    assessed: Mapping[str, CaseSummary],
    baseline: SideInfo,
    candidate: SideInfo,
    prices: Mapping[str, Price] | None,
    alpha: float,
) -> tuple[list[Metric], list[TagRow], list[CheckRow]]:
    """The changelog's per-side figures with their tests: overall, per tag, per check kind."""
    # per-side numbers, overall and per tag: each case's own numbers (for the paired tests, as
    # its summary holds them; a tag's cases by their index), and every sample's words and
    # latencies per scope and side (arrays: 8 bytes a value). A case counts once in each of its
    # tags, however often the suite repeats one.
    overall_pairs: list[CasePair] = []
    tag_index: dict[str, list[int]] = defaultdict(list)
    values: dict[str | None, tuple[array[int], array[float], array[int], array[float]]] = {}
    for i, (cid, a) in enumerate(assessed.items()):
        bf, cf = a.baseline, a.candidate
        overall_pairs.append((bf.stats, cf.stats))
        tags = dict.fromkeys(entry_of[cid].tags)
        for t in tags:
            tag_index[t].append(i)
        for scope in (None, *tags):
            got = values.get(scope)
            if got is None:
                got = values[scope] = (array("q"), array("d"), array("q"), array("d"))
            got[0].extend(bf.words)
            got[1].extend(bf.latencies)
            got[2].extend(cf.words)
            got[3].extend(cf.latencies)
    columns = CaseColumns(overall_pairs)
    bstats, cstats = [p[0] for p in overall_pairs], [p[1] for p in overall_pairs]

    def scope_stats(scope: str | None, index: Sequence[int] | None) -> tuple[SideStats, SideStats]:
        bw, bl, cw, cl = values.get(scope) or (array("q"), array("d"), array("q"), array("d"))
        if index is None:
            return totals(bstats, bw, bl), totals(cstats, cw, cl)
        return totals(list(map(bstats.__getitem__, index)), bw, bl), totals(list(map(cstats.__getitem__, index)), cw, cl)

    overall = scope_stats(None, None)
    tag_stats = {t: scope_stats(t, ix) for t, ix in tag_index.items()}

    def price_of(info: SideInfo) -> Price | None:
        if not prices:
            return None
        return prices.get(info.spec) or prices.get(info.model)

    metrics = side_metrics(*overall, (price_of(baseline), price_of(candidate)), len(cases), columns, scope="overall")
    decide(metrics, alpha)

    # per tag
    tag_rows = []
    case_of = list(entry_of.values())
    for tag in sorted(tag_stats):
        members = list(map(case_of.__getitem__, tag_index[tag]))
        tv = Counter(c.verdict for c in members if c.verdict)
        tneg = sum(1 for c in members if c.flip == "negative")
        tpos = sum(1 for c in members if c.flip == "positive")
        tag_rows.append(
            TagRow(
                tag=tag,
                cases=len(members),
                changed=sum(1 for c in members if c.status == "changed"),
                noise=sum(1 for c in members if c.status == "noise"),
                unchanged=sum(1 for c in members if c.status == "unchanged"),
                negative_flips=tneg,
                positive_flips=tpos,
                flips_test=FlipTest(flips_p(tneg, tpos)),
                regressions=tv["regression"],
                improvements=tv["improvement"],
                unreviewed=sum(1 for c in members if c.unreviewed),
                metrics={
                    m.key: m
                    for m in side_metrics(
                        *tag_stats[tag], (None, None), len(members), columns, tag_index[tag], scope=f"tag:{tag}"
                    )
                },
            )
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
    check_rows = [CheckRow(k, v[0], v[1], v[2], v[3], v[4], p_value=flips_p(v[3], v[4])) for k, v in sorted(kinds.items())]

    # families read at once: per-tag rows of one metric, the tags' flips, the check kinds
    holm_by_key([list(t.metrics.values()) for t in tag_rows], alpha)
    holm_rows([t.flips_test for t in tag_rows], alpha)
    holm_rows(check_rows, alpha)

    return metrics, tag_rows, check_rows


def _provenance(
    b: SideInfo, c: SideInfo, data: ComparisonData, assessed: Mapping[str, CaseSummary]
) -> list[list[tuple[str, str]]]:
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
                                 "within one run: "), *seen(side.resolved_models)])  # fmt: skip
        if len(side.fingerprints) > 1:
            out.append([("text", f"{name}: the system fingerprint changed within the run: "), *seen(side.fingerprints)])
    if b.spec == c.spec:
        if b.resolved_models and c.resolved_models and set(b.resolved_models) != set(c.resolved_models):
            out.append([("text", "The same requested model "), ("code", b.shown), ("text", " resolved to "), *_join_codes(list(b.resolved_models)), ("text", " in the baseline and to "), *_join_codes(list(c.resolved_models)), ("text", " in the candidate")])  # fmt: skip
        if b.fingerprints and c.fingerprints and set(b.fingerprints) != set(c.fingerprints):
            out.append([("text", "The same requested model "), ("code", b.shown), ("text", " reported fingerprint "), *_join_codes(list(b.fingerprints)), ("text", " in the baseline and "), *_join_codes(list(c.fingerprints)), ("text", " in the candidate")])  # fmt: skip
    if data.comparison.status != "complete":
        out.append([("text", f"The comparison is not complete (status: {data.comparison.status}): "
                             "cases without answers on both sides are missing from these numbers")])  # fmt: skip
    bs, cs = data.baseline.samples, data.candidate.samples
    bo, co = data.baseline_outputs, data.candidate_outputs
    missing = [
        cd.id for cd in data.suite.suite.cases
        if ((a := assessed.get(cd.id)) is not None and (a.baseline.stored < bs or a.candidate.stored < cs))
        or (a is None and (len(bo.get(cd.id, ())) < bs or len(co.get(cd.id, ())) < cs))
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

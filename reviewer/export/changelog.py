"""The behavioural changelog: one data model computed from a comparison, rendered as Markdown for
people and JSON for machines.

``build_changelog`` is pure: it takes the loaded comparison, its assessments (from
:func:`reviewer.analysis.assess_comparison`, in triage order), the labels and the sign-offs, plus
the generation time and identity as parameters, so the same inputs always give the same bytes.
``load_changelog`` fetches those inputs from a store.

Labels: every reviewer's label is kept and listed. A case's *effective* verdict is its most recent
label (latest ``updated_at``; on a tie, the reviewer name that sorts first); cases whose
reviewers disagree are listed in their own section.

Numbers: rates are over samples (every sample of every case); "changed" means above the noise
floor or flagged (tier 0 or 1 of the triage); negative/positive flip rates are over the cases
that have checks, since a case without checks cannot flip. Cost appears only when prices are
given (USD per million input/output tokens): we keep no price table of our own.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from .. import __version__
from ..diff.score import FLAG_LABELS
from .mdescape import code, fenced, one_line, prose, truncate
from .plural import plural
from .signing import NAMESPACE, body_digest, signoff_marker, split_lines

if TYPE_CHECKING:
    from ..diff.score import Assessment
    from ..store import ComparisonData, Label, Output, Signoff, Store

__all__ = [
    "SEVERITY_NAMES", "Price", "SideInfo", "short_model", "LabelEntry", "CheckEntry", "CaseEntry", "Metric", "TagRow",
    "CheckRow", "Summary", "SignoffEntry", "SignaturePlan", "Changelog", "build_changelog", "load_changelog",
    "render_markdown", "render_body", "render_json", "review_state_digest", "STATE_DIGEST_PREFIX",
    "resolve_comparison_id",
]  # fmt: skip

#: Severity of a regression label, as stored (1–3) → the word used in the changelog.
SEVERITY_NAMES: dict[int, str] = {1: "low", 2: "medium", 3: "high"}
#: signoffs.body_digest holds this prefix + the digest of the reviewed state (see review_state_digest).
STATE_DIGEST_PREFIX = "state-sha256:"
#: Excerpt limits for regressions.
EXCERPT_LINES = 12
EXCERPT_WIDTH = 160
#: Unreviewed cases listed one per line before "… and N more".
UNREVIEWED_LISTED = 100
#: Improvements and acceptable changes are listed one per line up to this many; beyond, they are
#: grouped: counts by tag and by note, each with its first GROUP_IDS ids and "+N more".
GROUP_OVER = 10
GROUP_IDS = 3
#: Notes listed in a grouped section (the most common first; every label is in the JSON export).
GROUP_NOTES = 10

Status = Literal["changed", "noise", "unchanged"]


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float


@dataclass(slots=True)
class SideInfo:
    side: str
    spec: str  # provider:model as requested
    provider: str
    model: str
    label: str | None
    base_url: str | None  # without credentials or query
    params: dict[str, Any]
    samples: int
    started_at: str | None
    finished_at: str | None
    status: str
    resolved_models: dict[str, int]  # resolved model id -> samples that reported it
    fingerprints: dict[str, int]
    outputs: int
    errors: int

    @property
    def shown(self) -> str:
        """The spec as the Markdown shows it: a local file (``recorded:/home/ada/x/baseline.jsonl``)
        by its name only (``recorded:baseline.jsonl``); the JSON keeps ``spec`` whole."""
        return f"{self.provider}:{short_model(self.provider, self.model)}"


#: A model that is a local path: absolute, home-relative, ./ or ../, a Windows drive, optionally
#: behind a scheme (promptfoo's ``file://…``, ``python:/…``, ``exec:./…``).
_LOCAL_PATH_RE = re.compile(r"^(?P<scheme>[a-z]+:(?://)?)?(?:/|~|\.{1,2}[/\\]|[A-Za-z]:[/\\])")


def short_model(provider: str, model: str) -> str:
    """A recorded file (any path) or a model given as a local path, by its file name; other
    names as they are (``meta-llama/Llama-3.1-8B`` is a model id, not a path)."""
    m = _LOCAL_PATH_RE.match(model)
    if provider == "recorded" or m:
        name = re.split(r"[/\\]", model.rstrip("/\\"))[-1]
        scheme = m["scheme"] if m and m["scheme"] and len(m["scheme"]) > 2 else ""  # not a drive letter "C:"
        return (scheme + name) if name else model
    return model


@dataclass(slots=True)
class LabelEntry:
    reviewer: str
    verdict: str
    severity: int | None
    note: str | None
    at: str

    @property
    def severity_name(self) -> str | None:
        return SEVERITY_NAMES.get(self.severity) if self.severity else None


@dataclass(slots=True)
class CheckEntry:
    check: str  # Check.label()
    kind: str
    baseline_passes: int
    baseline_samples: int
    baseline_passed: bool
    candidate_passes: int
    candidate_samples: int
    candidate_passed: bool

    @property
    def flip(self) -> str:
        if self.baseline_passed and not self.candidate_passed:
            return "negative"
        if self.candidate_passed and not self.baseline_passed:
            return "positive"
        return "none"


@dataclass(slots=True)
class CaseEntry:
    id: str
    tags: list[str]
    rank: int  # triage position, 1 = first
    change: float
    within: float | None
    noise: bool
    tier: int
    status: Status
    flags: list[str]
    flip: str
    format_drift: list[str]
    checks: list[CheckEntry]
    labels: list[LabelEntry]  # every reviewer's label, oldest first
    origin: str | None = None
    added: str | None = None
    #: the first sample of each side (None: errored), kept for the regressions' diff excerpts
    texts: tuple[str | None, str | None] | None = None
    #: the latest label (ties: the reviewer name that sorts first); set by build_changelog
    effective: LabelEntry | None = None

    @property
    def verdict(self) -> str | None:
        eff = self.effective
        return eff.verdict if eff else None

    @property
    def disagreement(self) -> bool:
        return len({lab.verdict for lab in self.labels}) > 1

    @property
    def unreviewed(self) -> bool:
        """Changed above the noise floor (or flagged) and nobody labelled it."""
        return self.status == "changed" and not self.labels


def latest_label(labels: Sequence[LabelEntry]) -> LabelEntry | None:
    """The label that counts: the latest time (ISO strings of one format compare as text); on a
    tie, the reviewer name that sorts first."""
    if not labels:
        return None
    last = max(lab.at for lab in labels)
    return min((lab for lab in labels if lab.at == last), key=lambda lab: lab.reviewer)


@dataclass(slots=True)
class Metric:
    key: str
    name: str
    unit: Literal["words", "rate", "ms", "tokens", "usd"]
    baseline: float | None
    candidate: float | None
    #: relative (0.10 = ±10 %) for amounts, absolute (0.02 = ±2 percentage points) for rates
    tolerance: float

    @property
    def change(self) -> float | None:
        """Relative change for amounts, absolute difference for rates (None when unknown)."""
        b, c = self.baseline, self.candidate
        if b is None or c is None:
            return None
        if self.unit == "rate":
            return c - b
        if b == 0:
            return 0.0 if c == 0 else math.inf
        return (c - b) / b

    @property
    def within_tolerance(self) -> bool | None:
        ch = self.change
        if ch is None:
            return None
        return abs(ch) <= self.tolerance + 1e-12


@dataclass(slots=True)
class TagRow:
    tag: str
    cases: int
    changed: int
    noise: int
    unchanged: int
    negative_flips: int
    positive_flips: int
    regressions: int
    improvements: int
    unreviewed: int
    metrics: dict[str, Metric]


@dataclass(slots=True)
class CheckRow:
    kind: str
    cases: int
    baseline_passing: int
    candidate_passing: int
    negative_flips: int
    positive_flips: int


@dataclass(slots=True)
class Summary:
    cases: int
    unchanged: int
    noise: int
    changed: int
    regressions: int
    regressions_by_severity: dict[str, int]
    improvements: int
    acceptable: int
    labelled_noise: int
    unreviewed: int
    labelled: int
    disagreements: int
    checked_cases: int  # cases with at least one check: the denominator of flip rates
    negative_flips: int
    positive_flips: int
    negative_flip_rate: float | None
    positive_flip_rate: float | None
    #: negative flips whose effective label is not "regression" (a reviewer judged them fine)
    negative_flips_waived: int
    samples: int
    errors: int


@dataclass(slots=True)
class SignoffEntry:
    signer: str
    at: str
    note: str | None
    current: bool | None  # the reviewed state is unchanged since (None: not recorded)


@dataclass(frozen=True, slots=True)
class SignaturePlan:
    """What the sign-off block says about the signature that will follow."""

    mode: Literal["detached", "embedded"]
    key: str  # "ED25519 key SHA256:…"
    principal: str  # who -I should name in the plain ssh-keygen command (an email), or "EMAIL"


@dataclass(slots=True)
class Changelog:
    comparison_id: int
    comparison_name: str | None
    comparison_status: str
    comparison_created_at: str
    suite_name: str
    suite_digest: str
    suite_path: str | None
    baseline: SideInfo
    candidate: SideInfo
    generated_at: datetime
    generated_by: str
    tool: str
    reviewers: list[str]
    summary: Summary
    metrics: list[Metric]
    tags: list[TagRow]
    checks: list[CheckRow]
    cases: list[CaseEntry]  # triage order
    warnings: list[str]  # provenance warnings, plain text (rendered with code spans by the renderer)
    warning_parts: list[list[tuple[str, str]]]  # the same, as (kind, text) parts: "text" or "code"
    signoffs: list[SignoffEntry]
    new_cases: list[str] = field(default_factory=list)  # added since the previous comparison
    previous_comparison: tuple[int, str] | None = None  # (id, created_at) of that comparison
    allow_unreviewed: bool = False
    _state_digest: str | None = None

    @property
    def unreviewed(self) -> list[CaseEntry]:
        return [c for c in self.cases if c.unreviewed]


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------

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
                baseline_passes=bc.passes, baseline_samples=bc.samples, baseline_passed=bc.passed,
                candidate_passes=cc.passes, candidate_samples=cc.samples, candidate_passed=cc.passed,
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
#: the excerpt shows the first changed lines only).
EXCERPT_SCAN = 20_000


def _head(old: str, new: str) -> tuple[str, str]:
    """Both texts cut at the same line count, after their common prefix plus ``EXCERPT_SCAN`` chars."""
    if len(old) <= EXCERPT_SCAN and len(new) <= EXCERPT_SCAN:
        return old, new
    lo, hi = 0, min(len(old), len(new))
    while lo < hi:  # the common prefix, by bisection (slice comparisons run in C)
        mid = (lo + hi + 1) // 2
        if old[:mid] == new[:mid]:
            lo = mid
        else:
            hi = mid - 1
    start = old.rfind("\n", 0, lo) + 1  # keep whole lines
    end_old = old.find("\n", start + EXCERPT_SCAN)
    end_new = new.find("\n", start + EXCERPT_SCAN)
    return (old[start : end_old if end_old >= 0 else len(old)], new[start : end_new if end_new >= 0 else len(new)])


def diff_excerpt(old: str | None, new: str | None, *, max_lines: int = EXCERPT_LINES, width: int = EXCERPT_WIDTH) -> tuple[str, str]:
    """A short ``diff``-style excerpt of what changed between two outputs: JSON path changes when
    both hold JSON that differs in value, else the first changed lines (``-`` old, ``+`` new)."""
    if old is None or new is None:
        lines = [f"- {truncate(one_line(old), width)}" if old is not None else "- (no answer: error)",
                 f"+ {truncate(one_line(new), width)}" if new is not None else "+ (no answer: error)"]  # fmt: skip
        return "diff", "\n".join(lines)
    from ..diff.align import align
    from ..diff.jsondiff import json_view

    view = json_view(old, new)
    if view is not None and view.changes:
        lines = []

        def val(v: Any) -> str:
            return json.dumps(v, ensure_ascii=False, sort_keys=True)

        for ch in view.changes:
            if ch.kind == "added":
                lines.append(f"+ {ch.path}: {val(ch.new)}")
            elif ch.kind == "removed":
                lines.append(f"- {ch.path}: {val(ch.old)}")
            elif ch.kind == "renamed":
                lines += [f"- {ch.path}: {val(ch.old)}", f"+ {ch.new_path}: {val(ch.new)}"]
            elif ch.kind == "reordered":
                lines.append(f"  {ch.path}: same items, new order")
            else:
                lines += [f"- {ch.path}: {val(ch.old)}", f"+ {ch.new_path or ch.path}: {val(ch.new)}"]
        more = len(lines) - max_lines
        lines = [truncate(ln, width) for ln in lines[:max_lines]]
        if more > 0:
            lines.append(f"  … {plural(more, 'more line')}")
        return "diff", "\n".join(lines)

    rows = align(*_head(old, new))
    lines: list[str] = []
    total = 0
    i = 0
    gap = False
    while i < len(rows):
        if rows[i].kind == "equal":
            gap = bool(lines)
            i += 1
            continue
        j = i
        while j < len(rows) and rows[j].kind != "equal":
            j += 1
        block = rows[i:j]
        minus = [f"- {r.left}" for r in block if r.left is not None]
        plus = [f"+ {r.right}" for r in block if r.right is not None]
        if gap:
            lines.append("  …")
        lines += minus + plus
        total += len(minus) + len(plus)
        i = j
    if not lines:  # differences in line endings or whitespace only
        return "diff", "  (only whitespace or line endings differ)"
    shown = [truncate(ln, width) for ln in lines[:max_lines]]
    hidden = sum(1 for ln in lines[max_lines:] if ln != "  …")
    if hidden:
        shown.append(f"  … {plural(hidden, 'more changed line')}")
    return "diff", "\n".join(shown)


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
            s[0] &= ch.baseline_passed
            s[1] &= ch.candidate_passed
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
    for s in signoffs:
        current = None
        if s.body_digest and s.body_digest.startswith(STATE_DIGEST_PREFIX):
            current = s.body_digest == review_state_digest(cl)
        cl.signoffs.append(SignoffEntry(s.signer, s.created_at, s.note, current))
        reviewers.add(s.signer)
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


def review_state_digest(cl: Changelog) -> str:
    """``state-sha256:HEX`` of what a sign-off approves: the suite version, both runs, and per case
    its change, flags, checks and every label. ``reviewer signoff`` stores it; the changelog then
    says whether each sign-off still matches (labels or outputs changed since → it does not)."""
    if cl._state_digest is not None:
        return cl._state_digest
    state = {
        "suite": cl.suite_digest,
        "runs": [[s.spec, s.params, s.samples, s.outputs, s.errors] for s in (cl.baseline, cl.candidate)],
        "cases": [
            [c.id, round(c.change, 6), c.flags, c.flip,
             [[ch.check, ch.baseline_passes, ch.candidate_passes] for ch in c.checks],
             [[lab.reviewer, lab.verdict, lab.severity, lab.note] for lab in c.labels]]
            for c in sorted(cl.cases, key=lambda c: c.id)
        ],  # fmt: skip
    }
    blob = json.dumps(state, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    cl._state_digest = STATE_DIGEST_PREFIX + hashlib.sha256(blob.encode("utf-8")).hexdigest()
    return cl._state_digest


# ---------------------------------------------------------------------------------------------
# Loading from a store
# ---------------------------------------------------------------------------------------------


def resolve_comparison_id(store: Store, ref: str | int | None) -> int | None:
    """A comparison given as an id or a name (the latest of that name); None = the latest."""
    from ..errors import UsageError

    if ref is None or ref == "":
        return None
    if isinstance(ref, int) or str(ref).isdigit():
        return int(ref)
    named = [c for c in store.comparisons() if c.name == ref]
    if not named:
        raise UsageError(f"no comparison named {ref!r} (see `reviewer comparisons`)")
    return named[-1].id


def load_changelog(
    store: Store,
    comparison: str | int | None = None,
    *,
    generated_at: datetime | None = None,
    generated_by: str = "",
    prices: Mapping[str, Price] | None = None,
    allow_unreviewed: bool = False,
) -> Changelog:
    from ..analysis import assess_comparison

    data = store.load_comparison(resolve_comparison_id(store, comparison))
    assessments = assess_comparison(store, data)
    row = store.db.execute(
        "SELECT c.id, c.created_at FROM comparisons c JOIN suites s ON s.id = c.suite_id"
        " WHERE s.name = ? AND c.id < ? ORDER BY c.id DESC LIMIT 1",
        (data.suite.name, data.comparison.id),
    ).fetchone()
    previous = (int(row[0]), str(row[1])) if row else None
    return build_changelog(
        data, assessments, store.labels(data.comparison.id), store.signoffs(data.comparison.id),
        generated_at=generated_at or datetime.now(UTC), generated_by=generated_by, prices=prices,
        previous_comparison=previous, allow_unreviewed=allow_unreviewed,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------



def _when(iso: str | datetime | None) -> str:
    """``2025-01-02 10:00 UTC`` (minutes are enough for people; the JSON keeps full times)."""
    if iso is None or iso == "":
        return "—"
    try:
        dt = iso if isinstance(iso, datetime) else datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return prose(str(iso))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _pct(x: float | None) -> str:
    if x is None:
        return "—"
    s = f"{x * 100:.1f}"
    return ("0" if s in ("0.0", "-0.0") else s.removesuffix(".0")) + "%"


def _amount(x: float | None, unit: str) -> str:
    if x is None:
        return "—"
    if unit == "rate":
        return _pct(x)
    if unit == "usd":
        return f"${x:,.2f}" if x >= 0.1 or x == 0 else f"${x:,.4f}"
    if unit == "ms":
        return f"{x:,.0f} ms"
    if abs(x - round(x)) < 1e-9:
        return f"{x:,.0f}"
    return f"{x:,.1f}"


def _change(m: Metric) -> str:
    ch = m.change
    if ch is None:
        return "—"
    if m.unit == "rate":
        pp = ch * 100
        text = "±0 pp" if abs(pp) < 0.05 else f"{pp:+.1f} pp"
    elif math.isinf(ch):
        text = "new"
    else:
        pc = ch * 100
        text = "±0%" if abs(pc) < 0.5 else f"{pc:+.0f}%"
    return text if m.within_tolerance else f"**{text}**"


def _tolerance(m: Metric) -> str:
    return f"±{m.tolerance * 100:.0f} pp" if m.unit == "rate" else f"±{m.tolerance * 100:.0f}%"


def _tags(tags: Sequence[str]) -> str:
    return " ".join(code(t) for t in tags) if tags else "—"


def _flags(c: CaseEntry) -> str:
    words = []
    for f in c.flags:
        w = FLAG_LABELS.get(f, f)
        if f == "format_drift" and c.format_drift:
            w += " (" + "; ".join(c.format_drift) + ")"
        words.append(w)
    return ", ".join(words)


def _name(identity: str) -> str:
    """"Ada Lovelace <ada@example.com>" → "Ada Lovelace" (the full identity is in the header)."""
    m = re.fullmatch(r"\s*(.+?)\s*<[^<>]*>\s*", identity)
    return m.group(1) if m else identity


def _label_line(lab: LabelEntry) -> str:
    sev = f", {lab.severity_name} severity" if lab.severity_name else ""
    note = f": {prose(lab.note)}" if lab.note and lab.note.strip() else ""
    return f"**{prose(_name(lab.reviewer))}** ({_when(lab.at)}) {lab.verdict}{sev}{note}"


def _parts(parts: Sequence[tuple[str, str]]) -> str:
    return "".join(code(t, limit=120) if k == "code" else prose(t, strip=False) for k, t in parts)


def _side_rows(cl: Changelog) -> list[str]:
    b, c = cl.baseline, cl.candidate

    def seen(d: dict[str, int]) -> str:
        if not d:
            return "—"
        return "<br>".join(f"{code(k, table=True, limit=80)} ({n})" for k, n in d.items())

    def params(p: dict[str, Any]) -> str:
        return code(json.dumps(p, ensure_ascii=False, sort_keys=True), table=True, limit=200) if p else "—"

    def dates(s: SideInfo) -> str:
        start = _when(s.started_at)
        if not s.finished_at:
            return f"{start} ({s.status})"
        end = _when(s.finished_at)
        if end[:10] == start[:10]:
            return f"{start.removesuffix(' UTC')} → {end[11:]}"
        return f"{start} → {end}"

    rows = [
        ("Requested model", code(b.shown, table=True), code(c.shown, table=True)),
        ("Resolved model ids seen", seen(b.resolved_models), seen(c.resolved_models)),
        ("System fingerprints seen", seen(b.fingerprints), seen(c.fingerprints)),
        ("Parameters", params(b.params), params(c.params)),
        ("Samples per case", str(b.samples), str(c.samples)),
        ("Answers (errors)", f"{b.outputs:,} ({b.errors:,})", f"{c.outputs:,} ({c.errors:,})"),
        ("Run", dates(b), dates(c)),
    ]
    if b.label or c.label:
        rows.insert(1, ("Run label", prose(b.label or "—"), prose(c.label or "—")))
    if b.base_url or c.base_url:
        rows.insert(1, ("Endpoint", code(b.base_url, table=True) if b.base_url else "—",
                        code(c.base_url, table=True) if c.base_url else "—"))  # fmt: skip
    lines = ["| | Baseline | Candidate |", "|---|---|---|"]
    lines += [f"| {name} | {x} | {y} |" for name, x, y in rows]
    return lines


def _collapsed(ids: Sequence[str], shown: int = GROUP_IDS) -> str:
    """``a``, ``b``, ``c`` … +9 more (ids as code spans, in triage order)."""
    head = ", ".join(code(x) for x in ids[:shown])
    return head + (f" … +{len(ids) - shown:,} more" if len(ids) > shown else "")


def _grouped(items: Sequence[CaseEntry], verdict: str) -> list[str]:
    """Many improvements or acceptable changes, grouped: by tag with their most common flags,
    then by the note that explains them (who wrote it), each with its ids collapsed."""
    n = len(items)
    lines = [(f"{plural(n, 'case')} labelled {verdict}, grouped (a case with several tags counts under each; "
              "each case and label is in the JSON export)."), ""]  # fmt: skip
    by_tag: dict[str, list[CaseEntry]] = defaultdict(list)
    untagged: list[CaseEntry] = []
    for c in items:
        for t in c.tags:
            by_tag[t].append(c)
        if not c.tags:
            untagged.append(c)
    groups = sorted(by_tag.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    if untagged:
        groups.append(("", untagged))
    lines += ["**By tag**", ""]
    for tag, members in groups:
        flags = Counter(FLAG_LABELS.get(f, f) for c in members for f in c.flags)
        common = ", ".join(f"{w} {k}" for w, k in sorted(flags.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        name = code(tag) if tag else "untagged"
        lines.append(f"- {name} ({len(members):,}): {_collapsed([c.id for c in members])}" + (f" · {common}" if common else ""))
    notes: dict[tuple[str, str], list[str]] = defaultdict(list)
    silent = 0
    for c in items:
        eff = c.effective
        if eff is None or not (eff.note and eff.note.strip()):
            silent += 1
            continue
        notes[(" ".join(eff.note.split()), _name(eff.reviewer))].append(c.id)
    if notes:
        lines += ["", "**Notes**", ""]
        ranked = sorted(notes.items(), key=lambda kv: -len(kv[1]))  # stable: first seen first on ties
        for (note, who), ids in ranked[:GROUP_NOTES]:
            lines.append(f"- {prose(who)}: {prose(note, limit=EXCERPT_WIDTH)} ({len(ids):,}: {_collapsed(ids)})")
        rest = ranked[GROUP_NOTES:]
        if rest:
            lines.append(f"- … {plural(len(rest), 'more note')} on {plural(sum(len(i) for _, i in rest), 'case')}")
        if silent:
            lines.append(f"- {plural(silent, 'case')} without a note")
    return lines


def render_body(cl: Changelog) -> str:
    """The document body: everything above the sign-off block (what the body digest covers)."""
    s = cl.summary
    out: list[str] = []
    add = out.append

    # 1. header
    add(f"# Behavioural changelog: {prose(cl.suite_name)}")
    add("")
    name = f" ({prose(cl.comparison_name)})" if cl.comparison_name else ""

    def who(side: SideInfo) -> str:
        resolved = list(side.resolved_models)
        shown = code(side.shown)
        if len(resolved) == 1 and resolved[0] != side.model:
            shown = f"{shown} ({code(resolved[0])})"
        return f"{prose(side.label)} ({shown})" if side.label and side.label.strip() else shown

    add(f"{who(cl.baseline)} → {who(cl.candidate)} · comparison #{cl.comparison_id}{name} · "
        f"suite {prose(cl.suite_name)} ({plural(s.cases, 'case')}, sha256 {code(cl.suite_digest[:16])})")  # fmt: skip
    add("")
    out += _side_rows(cl)
    add("")
    reviewers = ", ".join(prose(r) for r in cl.reviewers) if cl.reviewers else "none yet"
    add(f"Reviewers: {reviewers}.  ")
    add(f"Generated {_when(cl.generated_at)} by {prose(cl.generated_by or 'unknown')} with {prose(cl.tool)}.")
    add("")

    # 2. verdict summary
    add("## Verdict")
    add("")
    headline = []
    if s.regressions:
        sev = ", ".join(f"{n} {k}" for k, n in s.regressions_by_severity.items() if k != "unset")
        headline.append(f"**{plural(s.regressions, 'regression')}**" + (f" ({sev})" if sev else ""))
    else:
        headline.append("**no regressions**")
    if s.checked_cases:
        headline.append(
            f"**{plural(s.negative_flips, 'negative flip')}** ({_pct(s.negative_flip_rate)} of "
            f"{plural(s.checked_cases, 'checked case')})"
        )
    headline.append(plural(s.improvements, "improvement"))
    if s.unreviewed:
        headline.append(f"**{plural(s.unreviewed, 'unreviewed change')}**")
    add(" · ".join(headline))
    add("")
    add(f"- **Cases**: {s.cases:,} — {s.unchanged:,} unchanged, {s.noise:,} within the noise floor, "
        f"{s.changed:,} changed or flagged.")  # fmt: skip
    add(f"- **Reviewed** (a case's verdict is its latest label): {plural(s.regressions, 'regression')}, "
        f"{plural(s.improvements, 'improvement')}, {s.acceptable:,} acceptable, "
        f"{s.labelled_noise:,} noise; {plural(s.unreviewed, 'changed case')} unreviewed.")  # fmt: skip
    if s.checked_cases:
        waived = f" ({s.negative_flips_waived} judged not a regression by a reviewer)" if s.negative_flips_waived else ""
        add(f"- **Check flips** (a side passes a check when most of its samples do): {s.negative_flips:,} "
            f"negative ({_pct(s.negative_flip_rate)}){waived}, {s.positive_flips:,} positive "
            f"({_pct(s.positive_flip_rate)}) of {plural(s.checked_cases, 'case')} with checks.")  # fmt: skip
    if s.disagreements:
        add(f"- **Disagreements**: reviewers gave different verdicts on {plural(s.disagreements, 'case')}; "
            "the latest label counts (listed below).")  # fmt: skip
    if cl.new_cases and cl.previous_comparison:
        pid, pat = cl.previous_comparison
        add(f"- **New cases** since comparison #{pid} ({_when(pat)}): " + ", ".join(code(x) for x in cl.new_cases) + ".")
    if cl.warnings:
        add(f"- ⚠ **{plural(len(cl.warnings), 'provenance warning')}**: see [Provenance](#provenance).")
    add("")
    if cl.checks:
        add("| Check | Cases | Passing before | Passing after | Negative flips | Positive flips |")
        add("|---|---:|---:|---:|---:|---:|")
        for r in cl.checks:
            add(f"| {code(r.kind, table=True)} | {r.cases:,} | {r.baseline_passing:,} ({_pct(r.baseline_passing / r.cases)}) "
                f"| {r.candidate_passing:,} ({_pct(r.candidate_passing / r.cases)}) | {r.negative_flips:,} | {r.positive_flips:,} |")  # fmt: skip
        add("")

    # 3. behaviour deltas
    add("## Behaviour deltas")
    add("")
    add("Over every answered sample; changes outside the tolerance are in bold.")
    add("")
    add("| Metric | Baseline | Candidate | Change | Tolerance |")
    add("|---|---:|---:|---:|---:|")
    fd = sum(1 for c in cl.cases if "format_drift" in c.flags)
    for m in cl.metrics:
        add(f"| {m.name} | {_amount(m.baseline, m.unit)} | {_amount(m.candidate, m.unit)} | {_change(m)} | {_tolerance(m)} |")
    add(f"| Cases whose format drifted | — | {fd:,} of {s.cases:,} | {'**' + str(fd) + '**' if fd else '0'} | 0 |")
    add("")

    # 4. per tag
    if cl.tags:
        add("## By tag")
        add("")
        add("| Tag | Cases | Changed | Negative flips | Regressions | Unreviewed | Median words | Refusals | Valid JSON |")
        add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for t in cl.tags:
            mw, rf, js = t.metrics.get("words_median"), t.metrics.get("refusal_rate"), t.metrics.get("json_valid_rate")

            def pair(m: Metric | None) -> str:
                if m is None:
                    return "—"
                return f"{_amount(m.baseline, m.unit)} → {_amount(m.candidate, m.unit)} ({_change(m)})"

            add(f"| {code(t.tag, table=True)} | {t.cases:,} | {t.changed:,} | {t.negative_flips:,} | {t.regressions:,} "
                f"| {t.unreviewed:,} | {pair(mw)} | {pair(rf)} | {pair(js)} |")  # fmt: skip
        add("")

    # 5. regressions, improvements, acceptable, unreviewed
    regressions = [c for c in cl.cases if c.verdict == "regression"]
    order = {3: 0, 2: 1, 1: 2}
    regressions.sort(key=lambda c: (order.get(c.effective.severity or 0, 3), c.rank))  # type: ignore[union-attr]
    add("## Regressions")
    add("")
    if not regressions:
        add("None labelled.")
        add("")
    for c in regressions:
        eff = c.effective
        assert eff is not None
        sev = f" — {eff.severity_name} severity" if eff.severity_name else ""
        add(f"### {code(c.id)}{sev}")
        add("")
        facts = ([f"Tags: {_tags(c.tags)}"] if c.tags else []) + [f"change {c.change:.2f}" + (f" (noise floor {c.within:.2f})" if c.within is not None else "")]
        if c.flags:
            facts.append(f"flags: {_flags(c)}")
        failing = [ch.check for ch in c.checks if ch.baseline_passed and not ch.candidate_passed]
        if failing:
            facts.append("now failing: " + ", ".join(code(x, limit=80) for x in failing))
        add(" · ".join(facts) + ("  " if c.origin else ""))
        if c.origin:
            add(f"Origin: {prose(c.origin)}")
        add("")
        for lab in c.labels:
            add(f"- {_label_line(lab)}")
        add("")
        if c.texts is not None:
            info, excerpt = diff_excerpt(*c.texts)
            add(fenced(excerpt, info))
            add("")

    def one_liners(title: str, verdict: str) -> None:
        items = [c for c in cl.cases if c.verdict == verdict]
        add(f"## {title}")
        add("")
        if not items:
            add("None labelled.")
            add("")
            return
        if len(items) > GROUP_OVER:
            out.extend(_grouped(items, verdict))
            add("")
            return
        for c in items:
            eff = c.effective
            assert eff is not None
            bits = [code(c.id)]
            if c.tags:
                bits.append(_tags(c.tags))
            if c.flags:
                bits.append(_flags(c))
            note = f": {prose(eff.note)}" if eff.note and eff.note.strip() else ""
            bits.append(f"{prose(_name(eff.reviewer))}{note}")
            add("- " + " · ".join(bits))
        add("")

    one_liners("Improvements", "improvement")
    one_liners("Acceptable changes", "acceptable")

    unreviewed = cl.unreviewed
    if unreviewed:
        add("## Unreviewed changes")
        add("")
        n = len(unreviewed)
        add(f"{plural(n, 'case')} changed above the noise floor or {'was' if n == 1 else 'were'} flagged, "
            "and nobody labelled them yet.")  # fmt: skip
        add("")
        for c in unreviewed[:UNREVIEWED_LISTED]:
            bits = [code(c.id), f"change {c.change:.2f}"]
            if c.flags:
                bits.append(_flags(c))
            if c.tags:
                bits.append(_tags(c.tags))
            add("- " + " · ".join(bits))
        if len(unreviewed) > UNREVIEWED_LISTED:
            add(f"- … and {len(unreviewed) - UNREVIEWED_LISTED:,} more (all are in the JSON export)")
        add("")

    disagreements = [c for c in cl.cases if c.disagreement]
    if disagreements:
        add("## Reviewer disagreements")
        add("")
        add("The latest label is the case's verdict; every label is listed.")
        add("")
        for c in disagreements:
            eff = c.effective
            assert eff is not None
            each = "; ".join(
                f"{prose(_name(lab.reviewer))}: {lab.verdict}" + (f" ({lab.severity_name})" if lab.severity_name else "")
                for lab in c.labels
            )
            add(f"- {code(c.id)}: {each} → **{eff.verdict}**")
        add("")

    # 6. what did not change
    add("## What did not change")
    add("")
    steady = [m for m in cl.metrics if m.within_tolerance]
    if steady:
        add("- **Metrics within tolerance**: " + "; ".join(
            f"{m.name} {_amount(m.baseline, m.unit)} → "
            f"{_amount(m.candidate, m.unit)} ({_tolerance(m)})" for m in steady) + ".")  # fmt: skip
    else:
        add("- **Metrics within tolerance**: none.")
    quiet = [t for t in cl.tags if t.changed == 0]
    if quiet:
        add("- **Tags with no change**: " + ", ".join(f"{code(t.tag)} ({plural(t.cases, 'case')})" for t in quiet) + ".")
    elif cl.tags:
        add("- **Tags with no change**: none: every tag has a changed case.")
    holding = []
    for r in cl.checks:
        still = r.baseline_passing - r.negative_flips
        if still:
            holding.append(f"{code(r.kind)} on {still:,} of {plural(r.cases, 'case')}")
    if holding:
        add("- **Checks still passing**: " + ", ".join(holding) + ".")
    add(f"- **Unchanged cases**: {s.unchanged:,} identical, {s.noise:,} within the noise floor "
        "(the candidate differs from the baseline no more than the baseline differs from itself).")  # fmt: skip
    if s.labelled_noise:
        noisy = [c.id for c in cl.cases if c.verdict == "noise"]
        shown = ", ".join(code(x) for x in noisy[:20]) + (f" and {len(noisy) - 20:,} more" if len(noisy) > 20 else "")
        add(f"- **Labelled noise by a reviewer**: {shown}.")
    add("")

    # 7. provenance
    add("## Provenance")
    add("")
    if cl.warning_parts:
        for w in cl.warning_parts:
            add(f"- ⚠ {_parts(w)}.")
    else:
        add("No warnings: each run answered with one resolved model and fingerprint"
            + (", the same on both sides." if cl.baseline.spec == cl.candidate.spec else "."))  # fmt: skip
    add("")
    return "\n".join(out)


def render_signoff(cl: Changelog, body: str, *, filename: str, signature: SignaturePlan | None = None) -> str:
    """The sign-off block that follows ``body``: its marker line, the sign-offs, the digest and how
    to check it (and the signature) without reviewer."""
    n = len(split_lines(body))
    digest = body_digest(body)

    def block(signed_lines: int) -> str:
        out = [signoff_marker(body), "## Sign-off", ""]
        if cl.signoffs:
            out += ["| Signed off by | When | Note | Reviewed state |", "|---|---|---|---|"]
            for s in cl.signoffs:
                state = {True: "current", False: "⚠ changed since (labels or outputs)", None: "not recorded"}[s.current]
                out.append(f"| {prose(s.signer)} | {_when(s.at)} | {prose(s.note) if s.note else '—'} | {state} |")
        else:
            out.append("Not signed off yet (record an approval with `reviewer signoff`).")
        out.append("")
        out.append(f"**Body digest**: SHA-256 of lines 1–{n} of this file (UTF-8, LF line endings): {code(digest)}.  ")
        out.append(f"Check it without reviewer: {code(f'head -n {n} {filename} | sha256sum')}")
        out.append("")
        if signature is not None:
            plain = f"ssh-keygen -Y verify -f allowed_signers -I {signature.principal} -n {NAMESPACE}"
            ours = f"reviewer verify {filename} --allowed-signers allowed_signers"
            if signature.mode == "detached":
                where = f"in {code(filename + '.sig')}"
                cmds = [ours, f"{plain} -s {filename}.sig < {filename}"]
            else:
                m = signed_lines
                where = f"embedded at the end of this file (it covers lines 1–{m})"
                armor = "'/^-----BEGIN SSH SIGNATURE-----$/,/^-----END SSH SIGNATURE-----$/p'"
                cmds = [
                    ours,
                    f"head -n {m} {filename} > signed.md",
                    f"tail -n +{m + 1} {filename} | sed -n {armor} > signed.md.sig",
                    f"{plain} -s signed.md.sig < signed.md",
                ]
            out.append(f"**Signature**: SSH signature by {code(signature.key)}, namespace {code(NAMESPACE)}, {where}. Verify:")
            out.append("")
            out.append(fenced("\n".join(cmds), "sh"))
            out.append("")
        return "\n".join(out) + "\n"

    text = block(0)
    # an embedded signature covers body + this block; the block's line count does not depend on
    # the number written into it, so one more pass settles it
    return block(n + len(split_lines(text)))


def render_markdown(cl: Changelog, *, filename: str = "CHANGELOG.md", signature: SignaturePlan | None = None) -> str:
    """The whole document: body, then the sign-off block (the signature, if any, is appended later
    by :func:`reviewer.export.signing.embed_signature`)."""
    body = render_body(cl)
    if not body.endswith("\n"):
        body += "\n"
    return body + render_signoff(cl, body, filename=filename, signature=signature)


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------


def _finite(x: float | None) -> float | None:
    if x is None or math.isnan(x):
        return None
    if math.isinf(x):
        return None
    return round(x, 6)


def to_dict(cl: Changelog) -> dict[str, Any]:
    def metric(m: Metric) -> dict[str, Any]:
        return {
            "key": m.key, "name": m.name, "unit": m.unit, "baseline": _finite(m.baseline),
            "candidate": _finite(m.candidate), "change": _finite(m.change),
            "change_kind": "absolute" if m.unit == "rate" else "relative",
            "tolerance": m.tolerance, "within_tolerance": m.within_tolerance,
        }  # fmt: skip

    def label(lab: LabelEntry) -> dict[str, Any]:
        return {"reviewer": lab.reviewer, "verdict": lab.verdict, "severity": lab.severity,
                "severity_name": lab.severity_name, "note": lab.note, "time": lab.at}  # fmt: skip

    def case(c: CaseEntry) -> dict[str, Any]:
        return {
            "id": c.id, "tags": c.tags, "rank": c.rank, "change": round(c.change, 6),
            "within": None if c.within is None else round(c.within, 6), "noise": c.noise, "tier": c.tier,
            "status": c.status, "flags": c.flags, "flip": c.flip, "format_drift": c.format_drift,
            "checks": [{"check": ch.check, "kind": ch.kind,
                        "baseline": {"passes": ch.baseline_passes, "samples": ch.baseline_samples, "passed": ch.baseline_passed},
                        "candidate": {"passes": ch.candidate_passes, "samples": ch.candidate_samples, "passed": ch.candidate_passed},
                        "flip": ch.flip} for ch in c.checks],
            "labels": [label(lab) for lab in c.labels],
            "verdict": c.verdict, "disagreement": c.disagreement, "unreviewed": c.unreviewed,
            "origin": c.origin, "added": c.added,
        }  # fmt: skip

    summary = asdict(cl.summary)
    for k in ("negative_flip_rate", "positive_flip_rate"):
        summary[k] = _finite(summary[k])
    return {
        "format": "reviewer-changelog",
        "version": 1,
        "generated_at": cl.generated_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "generated_by": cl.generated_by,
        "tool": cl.tool,
        "comparison": {"id": cl.comparison_id, "name": cl.comparison_name, "status": cl.comparison_status,
                       "created_at": cl.comparison_created_at},  # fmt: skip
        "suite": {"name": cl.suite_name, "digest": cl.suite_digest, "path": cl.suite_path, "cases": cl.summary.cases},
        "baseline": asdict(cl.baseline),
        "candidate": asdict(cl.candidate),
        "reviewers": cl.reviewers,
        "summary": summary,
        "metrics": [metric(m) for m in cl.metrics],
        "checks": [asdict(r) for r in cl.checks],
        "tags": [{**{k: v for k, v in asdict(t).items() if k != "metrics"},
                  "metrics": [metric(m) for m in t.metrics.values()]} for t in cl.tags],  # fmt: skip
        "warnings": cl.warnings,
        "new_cases": cl.new_cases,
        "signoffs": [{"signer": s.signer, "time": s.at, "note": s.note, "current": s.current} for s in cl.signoffs],
        "review_state": review_state_digest(cl),
        "cases": [case(c) for c in cl.cases],
    }


def render_json(cl: Changelog) -> str:
    """Indented JSON, except ``cases``: one compact case per line, so a 10,000-case changelog stays
    fast to write (the C encoder) and still diffs and greps line by line."""
    doc = to_dict(cl)
    cases = doc.pop("cases")
    head = json.dumps(doc, indent=2, ensure_ascii=False)
    rows = ",\n".join("    " + json.dumps(c, ensure_ascii=False, separators=(", ", ": ")) for c in cases)
    return head[:-2] + ',\n  "cases": [\n' + rows + ("\n  ]\n}\n" if cases else '  ]\n}\n')

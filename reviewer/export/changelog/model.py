"""The changelog's data model: plain dataclasses, no I/O.

Each class says how it is serialised (the JSON export is built from these declarations by
:func:`reviewer.export.changelog.jsondoc.to_jsonable`, never by hand):

- a field's ``metadata={"json": {...}}`` may rename it (``name``), leave it out (``skip``), keep
  its value unrounded (``raw``), write a mapping as the list of its values (``values``), or name
  computed properties that follow it (``then``);
- ``JSON_AFTER`` names computed properties written after every field.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any, ClassVar, Literal, Protocol

__all__ = [
    "SEVERITY_NAMES",
    "STATE_DIGEST_PREFIX",
    "CaseEntry",
    "Changelog",
    "CheckEntry",
    "CheckRow",
    "CheckSide",
    "Consistency",
    "FlipTest",
    "JudgeSection",
    "LabelEntry",
    "Metric",
    "Price",
    "SideConsistency",
    "SideInfo",
    "SignaturePlan",
    "Significance",
    "SignificanceInfo",
    "SignoffEntry",
    "Status",
    "Summary",
    "TagRow",
    "ToolChangeEntry",
    "ToolSection",
    "latest_label",
    "require_figures",
    "review_state_digest",
    "short_model",
    "state_digest",
]  # fmt: skip

#: Severity of a regression label, as stored (1–3) → the word used in the changelog.
SEVERITY_NAMES: dict[int, str] = {1: "low", 2: "medium", 3: "high"}
#: signoffs.body_digest holds this prefix + the digest of the reviewed state (see review_state_digest).
STATE_DIGEST_PREFIX = "state-sha256:"

Status = Literal["changed", "noise", "unchanged"]


def _json(**how: Any) -> dict[str, Any]:
    """Field metadata for the JSON export (see the module docstring)."""
    return {"json": how}


class Significance(Protocol):
    """What every tested row carries (see :mod:`reviewer.export.changelog.significance`)."""

    p_value: float | None  # the test's own p-value (None: nothing to test)
    p_adjusted: float | None  # after the correction for its family (= p_value when it has none)
    significant: bool  # p_adjusted <= alpha


@dataclass(slots=True)
class FlipTest:
    """Exact McNemar on a set of cases' negative vs positive flips."""

    p_value: float | None = None
    p_adjusted: float | None = None
    significant: bool = False


@dataclass(slots=True)
class SignificanceInfo:
    """How the export decided what is significant (written once at the top of the JSON)."""

    alpha: float
    correction: str  # "holm"
    families: str
    resamples: int
    seeds: str


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
    params: dict[str, Any] = field(metadata=_json(raw=True))
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
    severity: int | None = field(metadata=_json(then=("severity_name",)))
    note: str | None
    at: str = field(metadata=_json(name="time"))

    @property
    def severity_name(self) -> str | None:
        return SEVERITY_NAMES.get(self.severity) if self.severity else None


@dataclass(slots=True)
class CheckSide:
    """One side's result of one check on one case."""

    passes: int  # samples that passed
    samples: int
    passed: bool  # most samples passed


@dataclass(slots=True)
class CheckEntry:
    check: str  # Check.label()
    kind: str
    baseline: CheckSide
    candidate: CheckSide

    JSON_AFTER: ClassVar[tuple[str, ...]] = ("flip",)
    #: one read-only entry stands for every case with the same figures (build_changelog)
    JSON_SHARED: ClassVar[bool] = True

    @property
    def flip(self) -> str:
        if self.baseline.passed and not self.candidate.passed:
            return "negative"
        if self.candidate.passed and not self.baseline.passed:
            return "positive"
        return "none"


@dataclass(slots=True)
class SideConsistency:
    """How consistent one side is on one case over its k samples (from its checks)."""

    k: int  # samples
    pass_k: bool  # pass^k: every sample passed every check
    #: share of sample pairs that disagree, the largest over the case's checks (None: k < 2)
    flip_rate: float | None


@dataclass(slots=True)
class Consistency:
    baseline: SideConsistency
    candidate: SideConsistency

    #: one read-only entry stands for every case with the same check figures (build_changelog)
    JSON_SHARED: ClassVar[bool] = True


@dataclass(slots=True)
class ToolChangeEntry:
    """One difference between the baseline's and the candidate's tool calls of a case (see
    :mod:`reviewer.diff.toolcalls`): its kind, the words for it, the tool and argument path, the
    values before and after. Names, paths and values are model output: untrusted."""

    kind: str
    label: str
    name: str
    new_name: str | None = None
    path: str | None = None
    new_path: str | None = None
    old: Any = field(default=None, metadata=_json(raw=True))
    new: Any = field(default=None, metadata=_json(raw=True))
    over_quoted: bool = False
    detail: str = ""
    JSON_AFTER: ClassVar[tuple[str, ...]] = ("group",)

    @property
    def group(self) -> str:
        """The changelog's group: the kind, with over-quoted type changes apart."""
        return "over_quoted" if self.over_quoted else self.kind


@dataclass(slots=True)
class CaseEntry:
    """One case of the changelog. Its sequences are tuples where the build shares them (the
    suite's tags, an empty list: 100,000 cases would hold ~35 MB more as lists)."""

    id: str
    tags: Sequence[str]
    rank: int  # triage position, 1 = first
    change: float
    within: float | None
    noise: bool
    #: False with fewer than 2 usable samples a side: no noise floor, "noise" cannot be told
    noise_known: bool
    noise_p: float | None  # permutation p of the baseline/candidate split, when it was needed
    tier: int
    status: Status
    flags: Sequence[str]
    flip: str
    format_drift: Sequence[str]
    checks: Sequence[CheckEntry]
    consistency: Consistency | None  # None: the case has no checks
    #: every reviewer's label, oldest first
    labels: Sequence[LabelEntry] = field(metadata=_json(then=("verdict", "disagreement", "unreviewed")))
    origin: str | None = None
    added: str | None = None
    #: with the ``tool_drift`` flag: how the candidate's tool calls differ from the baseline's
    tool_changes: Sequence[ToolChangeEntry] = ()
    #: the judge's suggestion (reviewer.judge.case_entries), never a label; None: not judged
    judge: dict[str, Any] | None = None
    #: the first sample of each side (None: errored), kept for the regressions' diff excerpts
    texts: tuple[str | None, str | None] | None = field(default=None, metadata=_json(skip=True))
    #: the latest label (ties: the reviewer name that sorts first); set by build_changelog
    effective: LabelEntry | None = field(default=None, metadata=_json(skip=True))

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
    candidate: float | None = field(metadata=_json(then=("change", "change_kind")))
    #: relative (0.10 = ±10 %) for amounts, absolute (0.02 = ±2 percentage points) for rates
    tolerance: float = field(metadata=_json(then=("within_tolerance",)))
    # significance (see reviewer.export.changelog.significance)
    p_value: float | None = None
    p_adjusted: float | None = None  # Holm across the tags for per-tag rows; = p_value overall
    significant: bool = False
    test: str | None = None  # which test gave p_value
    cases_tested: int | None = None  # cases measured on both sides
    #: rates: Wilson 95% interval of each side's rate over its samples ({"baseline": [lo, hi], …})
    ci: dict[str, list[float] | None] | None = None
    #: amounts: the median per-case change (candidate − baseline, in the metric's unit) and its
    #: 95% paired-bootstrap interval
    median_case_change: float | None = None
    change_ci: list[float] | None = None

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
    def change_kind(self) -> str:
        return "absolute" if self.unit == "rate" else "relative"

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
    flips_test: FlipTest
    regressions: int
    improvements: int
    unreviewed: int
    metrics: dict[str, Metric] = field(metadata=_json(values=True))


@dataclass(slots=True)
class CheckRow:
    kind: str
    cases: int
    baseline_passing: int
    candidate_passing: int
    negative_flips: int
    positive_flips: int
    p_value: float | None = None  # exact McNemar, negative vs positive flips of this kind
    p_adjusted: float | None = None  # Holm across the check kinds
    significant: bool = False


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
    flips_test: FlipTest
    #: negative flips whose effective label is not "regression" (a reviewer judged them fine)
    negative_flips_waived: int
    samples: int
    errors: int
    #: cases whose noise floor is unknown (fewer than 2 usable samples a side)
    noise_unknown: int = 0


@dataclass(slots=True)
class SignoffEntry:
    signer: str
    at: str = field(metadata=_json(name="time"))
    note: str | None
    current: bool | None  # the reviewed state is unchanged since (None: not recorded)


@dataclass(slots=True)
class ToolSection:
    """Tool calls over the comparison: cases whose calls drifted, by kind of change."""

    cases_with_tools: int  # cases with tools declared or a call on a side
    changed: int  # cases with the tool_drift flag
    #: group (a change kind, or ``over_quoted``) -> the case ids that show it, in triage order
    groups: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class JudgeSection:
    """The pairwise judge's suggestions (``reviewer judge``): who judged, with which rubric, and how
    far it can be trusted (:meth:`reviewer.judge.Report.to_json`). Never a label or a review."""

    judge: str  # the judge's SPEC
    resolved_models: list[str]
    rubric_digest: str
    report: dict[str, Any] = field(metadata=_json(raw=True))
    #: other judges / rubrics stored for the comparison (judge, rubric digest), not shown
    others: list[list[str]] = field(default_factory=list)


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
    significance: SignificanceInfo | None = None
    tool_calls: ToolSection | None = None
    judge: JudgeSection | None = None
    #: False: built without its per-side figures (metrics, tags, checks are empty), for reading its
    #: summary and cases only (the gate): never rendered
    figures: bool = True
    _state_digest: str | None = None

    @property
    def unreviewed(self) -> list[CaseEntry]:
        return [c for c in self.cases if c.unreviewed]


def require_figures(cl: Changelog) -> None:
    """ValueError for a changelog built without its figures (the gate's): a document made from
    it would print empty tables as if there were nothing to say."""
    if not cl.figures:
        raise ValueError("this changelog was built without its figures (build_changelog(figures=False)): not rendered")


def review_state_digest(cl: Changelog) -> str:
    """``state-sha256:HEX`` of what a sign-off approves: the suite version, both runs, and per case
    its change, flags, checks and every label. ``reviewer signoff`` stores it; the changelog then
    says whether each sign-off still matches (labels or outputs changed since → it does not)."""
    if cl._state_digest is None:
        cl._state_digest = state_digest(cl.suite_digest, (cl.baseline, cl.candidate), cl.cases)
    return cl._state_digest


def state_digest(suite_digest: str, sides: tuple[SideInfo, SideInfo], cases: Sequence[CaseEntry]) -> str:
    """:func:`review_state_digest` from its parts (known to the build before the changelog is)."""
    # the checks' rows by entry: build_changelog shares one CheckEntry between cases with equal
    # check figures (a few hundred for 100,000 cases)
    check_rows: dict[int, list[Any]] = {}

    def check_row(ch: CheckEntry) -> list[Any]:
        row = check_rows.get(id(ch))
        if row is None:
            row = check_rows[id(ch)] = [ch.check, ch.baseline.passes, ch.candidate.passes]
        return row

    state = {
        "suite": suite_digest,
        "runs": [[s.spec, s.params, s.samples, s.outputs, s.errors] for s in sides],
        "cases": [
            [
                c.id,
                round(c.change, 6),
                c.flags,
                c.flip,
                [check_row(ch) for ch in c.checks] if c.checks else [],
                [[lab.reviewer, lab.verdict, lab.severity, lab.note] for lab in c.labels] if c.labels else [],
            ]
            for c in sorted(cases, key=attrgetter("id"))
        ],
    }
    blob = json.dumps(state, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return STATE_DIGEST_PREFIX + hashlib.sha256(blob.encode("utf-8")).hexdigest()

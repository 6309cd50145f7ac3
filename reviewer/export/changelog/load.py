"""Loading a changelog's inputs from a store, then building it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...store import lower_thread_priority
from .build import _first_text, build_changelog
from .model import CaseEntry, Changelog, JudgeSection, LabelEntry, Price, latest_label
from .significance import ALPHA

if TYPE_CHECKING:
    from ...analysis.rows import CaseSummary
    from ...store import ComparisonData, Label, Store
    from ...store.reader import Origins

__all__ = ["load_changelog", "load_inputs", "load_judge", "previous_comparison"]


def load_judge(
    store: Store, data: ComparisonData, labels: Iterable[Label]
) -> tuple[JudgeSection | None, dict[str, dict[str, Any]]]:
    """The latest judge run on the comparison (its report against the reviewers' labels) and its
    per-case entries, or (None, {}) when no judge ran. Judgments stay suggestions: nothing here
    reaches the labels."""
    cid = data.comparison.id
    judges = store.judges(cid)
    if not judges:
        return None, {}
    from ...judge import case_entries, pairs_from_judgments, report  # imported only when a judge ran (~0.1 s)
    from ...judge_replay import answer_text

    judge, digest, _ = judges[0]
    judgments = store.judgments(cid, judge=judge, rubric_digest=digest)
    judged = sorted({j.case_id for j in judgments})  # only their answers' lengths are needed
    base_outputs = store.outputs_of_cases(data.baseline.id, judged)
    cand_outputs = store.outputs_of_cases(data.candidate.id, judged)
    chars: dict[tuple[str, int], tuple[int, int]] = {}
    for case_id, bouts in base_outputs.items():
        cand = {o.sample: o for o in cand_outputs.get(case_id, [])}
        for b in bouts:
            c = cand.get(b.sample)
            if c is not None and b.ok and c.ok:
                chars[(case_id, b.sample)] = (len(answer_text(b)), len(answer_text(c)))
    rep = report(pairs_from_judgments(judgments, chars), [(lab.case_id, lab.verdict) for lab in labels])
    entries = {e["case_id"]: e for e in case_entries(judgments, rep, judge)}
    resolved = sorted({j.resolved_model for j in judgments if j.resolved_model})
    section = JudgeSection(judge, resolved, digest, rep.to_json(), [[j, d] for j, d, _ in judges[1:]])
    return section, entries


def previous_comparison(store: Store, suite_name: str, comparison_id: int) -> tuple[int, str] | None:
    """(id, created_at) of the latest earlier comparison of the same suite, for "cases added since"."""
    return store.previous_comparison(suite_name, comparison_id)


def load_changelog(
    store: Store,
    comparison: str | int | None = None,
    *,
    generated_at: datetime | None = None,
    generated_by: str = "",
    prices: Mapping[str, Price] | None = None,
    allow_unreviewed: bool = False,
    alpha: float = ALPHA,
    cases_ready: Callable[[list[CaseEntry], Callable[[], str]], None] | None = None,
) -> Changelog:
    """The changelog of a comparison (an id, a name, or None for the latest) in ``store``
    (``cases_ready``: as :func:`~.build.build_changelog`'s).

    Reads what the changelog counts, never every output: the cached assessment's summaries
    (computed once, in worker processes for big comparisons; they hold each case's figures), the
    sides' model and fingerprint counts by SQL, and the first texts of the cases labelled
    regression (the only ones printed with a diff)."""
    # the store's check (in a thread) runs beside the reads and the build; the changelog is
    # returned only once the store passed it
    with store.healthy_reads():
        data, summaries, labels, texts, origins = load_inputs(store, comparison)
        previous = previous_comparison(store, data.suite.name, data.comparison.id)
        judge, judge_cases = load_judge(store, data, labels)
        return build_changelog(
            data, summaries, labels, store.signoffs(data.comparison.id), judge=judge, judge_cases=judge_cases,
            generated_at=generated_at or datetime.now(UTC), generated_by=generated_by, prices=prices,
            previous_comparison=previous, allow_unreviewed=allow_unreviewed, alpha=alpha, texts=texts, origins=origins,
            cases_ready=cases_ready,
        )  # fmt: skip


def load_inputs(
    store: Store,
    comparison: str | int | None,
    *,
    texts: bool = True,
    origins: Callable[[], tuple[Origins, Origins]] | None = None,
) -> tuple[ComparisonData, list[CaseSummary], list[Label], dict[str, tuple[str | None, str | None]], tuple[Origins, Origins]]:
    """What :func:`build_changelog` reads, from the store: the comparison (no output), the cases'
    summaries in triage order (each case's figures), the labels, the first texts of the cases
    whose latest label is regression (none without ``texts``: what the gate leaves unread), and
    each side's answer origins (from ``origins`` when given: the gate counts them in the scan it
    makes anyway)."""
    from ...analysis import summaries

    data = store.load_comparison_outline(store.resolve_comparison_id(comparison))
    # The origins scan every output of both runs inside SQLite (~0.9 s at 100,000 cases, with no
    # GIL held): on a connection of their own in a thread, while the summaries are decoded here.
    with ThreadPoolExecutor(1, thread_name_prefix="reviewer-origins") as pool:
        if origins is None:
            origins = pool.submit(_origins, store, data.baseline.id, data.candidate.id).result
        rows = summaries(store, data.comparison)
        labels = store.labels(data.comparison.id)
        by_case: dict[str, list[LabelEntry]] = {}
        for lab in labels:
            by_case.setdefault(lab.case_id, []).append(
                LabelEntry(lab.reviewer, lab.verdict, lab.severity, lab.note, lab.updated_at or lab.created_at or "")
            )
        if not texts:
            return data, rows, labels, {}, origins()
        printed = []
        for case_id, entries in by_case.items():
            entries.sort(key=lambda e: (e.at, e.reviewer))
            latest = latest_label(entries)
            if latest is not None and latest.verdict == "regression":
                printed.append(case_id)
        base = store.outputs_of_cases(data.baseline.id, printed)
        cand = store.outputs_of_cases(data.candidate.id, printed)
        first = {cid: (_first_text(base.get(cid)), _first_text(cand.get(cid))) for cid in printed}
        return data, rows, labels, first, origins()


def _origins(store: Store, baseline_run: int, candidate_run: int) -> tuple[Origins, Origins]:
    lower_thread_priority()  # SQLite's scan takes the core the decoding here leaves idle
    with store.reader() as reader:
        return reader.answer_origins(baseline_run), reader.answer_origins(candidate_run)

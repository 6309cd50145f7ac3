"""Loading a changelog's inputs from a store, then building it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .build import build_changelog
from .model import Changelog, JudgeSection, Price
from .significance import ALPHA

if TYPE_CHECKING:
    from ...store import ComparisonData, Label, Store

__all__ = ["load_changelog", "load_judge", "previous_comparison"]


def load_judge(
    store: Store, data: ComparisonData, labels: Iterable[Label]
) -> tuple[JudgeSection | None, dict[str, dict[str, Any]]]:
    """The latest judge run on the comparison (its report against the reviewers' labels) and its
    per-case entries, or (None, {}) when no judge ran. Judgments stay suggestions: nothing here
    reaches the labels."""
    from ...judge import case_entries, pairs_from_judgments, report
    from ...judge_replay import answer_text

    cid = data.comparison.id
    judges = store.judges(cid)
    if not judges:
        return None, {}
    judge, digest, _ = judges[0]
    judgments = store.judgments(cid, judge=judge, rubric_digest=digest)
    chars: dict[tuple[str, int], tuple[int, int]] = {}
    for case_id, bouts in data.baseline_outputs.items():
        cand = {o.sample: o for o in data.candidate_outputs.get(case_id, [])}
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
) -> Changelog:
    """The changelog of a comparison (an id, a name, or None for the latest) in ``store``."""
    from ...analysis import assess_comparison

    data = store.load_comparison(store.resolve_comparison_id(comparison))
    assessments = assess_comparison(store, data)
    previous = previous_comparison(store, data.suite.name, data.comparison.id)
    labels = store.labels(data.comparison.id)
    judge, judge_cases = load_judge(store, data, labels)
    return build_changelog(
        data, assessments, labels, store.signoffs(data.comparison.id), judge=judge, judge_cases=judge_cases,
        generated_at=generated_at or datetime.now(UTC), generated_by=generated_by, prices=prices,
        previous_comparison=previous, allow_unreviewed=allow_unreviewed, alpha=alpha,
    )  # fmt: skip

"""The judge's suggestions as the review sees them: the latest judge run on the comparison
(``reviewer judge``), each judged case's verdict and reason, and how far the judge agrees with the
reviewers. A suggestion: it never becomes a label, and the app shows it apart from the reviewer's
verdict. No Textual, no SQL (the store's methods)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reviewer.store import Store

__all__ = ["JUDGE_LABELS", "JudgeView", "disagrees", "load_judge_view"]

#: The judge's verdicts, as the app says them.
JUDGE_LABELS = {
    "baseline_better": "judge: candidate worse",
    "candidate_better": "judge: candidate better",
    "tie": "judge: tie",
    "inconsistent": "judge: inconsistent (the order decided)",
    "unparsed": "judge: unreadable answer",
}


@dataclass(slots=True)
class JudgeView:
    judge: str
    rubric_digest: str
    verdicts: dict[str, str] = field(default_factory=dict)  # case id -> verdict
    reasons: dict[str, str | None] = field(default_factory=dict)
    report: Any = None  # reviewer.judge.Report against the labels it was loaded with (no length bias)


def disagrees(judge_verdict: str | None, label_verdict: str | None) -> bool:
    """The judge's class differs from the reviewer's label (both known: regression ↔
    baseline_better, improvement ↔ candidate_better, acceptable / noise ↔ tie)."""
    from reviewer.judge import HUMAN_CLASS, judge_class

    if judge_verdict is None or label_verdict is None:
        return False
    j, h = judge_class(judge_verdict), HUMAN_CLASS.get(label_verdict)
    return j is not None and h is not None and j != h


def load_judge_view(store: Store, comparison_id: int, labels: Iterable[tuple[str, str]] = ()) -> JudgeView | None:
    """The latest judge run's suggestions, or None when no judge ran on the comparison."""
    judges = store.judges(comparison_id)
    if not judges:
        return None
    from reviewer.judge import pairs_from_judgments, report  # only when a judge ran (~13 ms before the first paint)

    judge, digest, _ = judges[0]
    judgments = store.judgments(comparison_id, judge=judge, rubric_digest=digest)
    chars = {(j.case_id, j.sample): (0, 0) for j in judgments}  # lengths matter only to the length bias
    rep = report(pairs_from_judgments(judgments, chars), labels)
    reasons: dict[str, str | None] = {}
    for j in judgments:
        if j.error is None and j.reason and reasons.get(j.case_id) is None:
            reasons[j.case_id] = j.reason
    return JudgeView(judge, digest, dict(rep.cases), {c: reasons.get(c) for c in rep.cases}, rep)

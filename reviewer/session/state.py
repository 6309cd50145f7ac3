"""What a review knows about a comparison's cases, independent of any widget.

One :class:`Entry` per case (the case, its assessment once ranked, this reviewer's label and the
other reviewers'), and a :class:`ReviewState` that holds them in the order and filter the reviewer
chose, counts them, and finds the next unreviewed or flagged case. Widgets only read it; the
screen changes it and repaints.

Pure Python: no Textual, no store, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from reviewer.diff.score import FLAG_LABELS as ENGINE_FLAG_LABELS

if TYPE_CHECKING:
    from reviewer.diff.score import Assessment
    from reviewer.store import Label
    from reviewer.suite import Case

__all__ = [
    "FLAGS", "FLAG_LABELS", "JUDGE_DISAGREES", "JUDGE_ORDER", "SORTS", "SORT_LABELS", "UNREVIEWED", "VERDICT_LABELS",
    "Entry", "Filter", "ReviewState",
]  # fmt: skip

UNREVIEWED = "unreviewed"
VERDICT_LABELS = {
    UNREVIEWED: "unreviewed",
    "regression": "regression",
    "improvement": "improvement",
    "acceptable": "acceptable",
    "noise": "noise",
}
FLAGS = tuple(ENGINE_FLAG_LABELS)
FLAG_LABELS = {**ENGINE_FLAG_LABELS, "disagreement": "disagreement"}
#: Flags that make a case worth a look (``N`` jumps to the next one); a positive flip is good news.
ATTENTION_FLAGS = frozenset(
    {"negative_flip", "format_drift", "refusal_flip", "non_answer_flip", "tool_drift", "truncation", "error"}
)
SORTS = ("triage", "change", "id", "suite", "judge")
SORT_LABELS = {
    "triage": "triage order",
    "change": "biggest change first",
    "id": "case id",
    "suite": "suite file order",
    "judge": "judge's verdict (candidate worse first)",
}
#: The judge's verdicts, in the order the judge sort lists them; "judge_disagrees" (a filter
#: choice): the judge's verdict and this reviewer's label disagree.
JUDGE_ORDER = ("baseline_better", "inconsistent", "tie", "candidate_better", "unparsed")
JUDGE_DISAGREES = "judge_disagrees"


@dataclass(slots=True, eq=False)
class Entry:
    case: Case
    order: int  # position in the suite file
    assessment: Assessment | None = None
    rank: int | None = None  # position in triage order, once ranked
    mine: Label | None = None
    others: dict[str, Label] = field(default_factory=dict)  # reviewer -> label
    #: the judge's suggestion (reviewer judge): its verdict and reason; never a label
    judge: str | None = None
    judge_reason: str | None = None
    # plain attributes, not properties: read 10,000 times per filter, sort and count
    id: str = field(init=False)
    flags: tuple[str, ...] = field(init=False, default=())
    flagged: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.id = self.case.id
        self.assess(self.assessment)

    def assess(self, assessment: Assessment | None) -> None:
        self.assessment = assessment
        self.flags = assessment.flags if assessment else ()
        self.flagged = bool(ATTENTION_FLAGS.intersection(self.flags))

    @property
    def verdict(self) -> str:
        return self.mine.verdict if self.mine else UNREVIEWED

    @property
    def disagreement(self) -> bool:
        """Another reviewer's verdict differs from this reviewer's."""
        mine = self.mine
        return mine is not None and any(o.verdict != mine.verdict for o in self.others.values())

    @property
    def judge_disagrees(self) -> bool:
        """The judge's verdict and this reviewer's label are on different sides."""
        from .judge import disagrees

        return self.judge is not None and self.mine is not None and disagrees(self.judge, self.mine.verdict)


@dataclass(frozen=True, slots=True)
class Filter:
    """Cases to show: within one kind any value matches (OR), across kinds all must (AND)."""

    verdicts: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()  # FLAGS, plus "disagreement"
    tags: frozenset[str] = frozenset()
    judges: frozenset[str] = frozenset()  # the judge's verdicts, plus JUDGE_DISAGREES

    @property
    def active(self) -> bool:
        return bool(self.verdicts or self.flags or self.tags or self.judges)

    def matches(self, e: Entry) -> bool:
        if self.verdicts and e.verdict not in self.verdicts:
            return False
        if self.flags:
            have = set(e.flags)
            if e.disagreement:
                have.add("disagreement")
            if not have & self.flags:
                return False
        if self.tags and not self.tags.intersection(e.case.tags):
            return False
        return not self.judges or e.judge in self.judges or (JUDGE_DISAGREES in self.judges and e.judge_disagrees)

    def describe(self) -> str:
        from .judge import JUDGE_LABELS

        parts = [VERDICT_LABELS.get(v, v) for v in sorted(self.verdicts)]
        parts += [FLAG_LABELS.get(f, f) for f in sorted(self.flags)]
        parts += [JUDGE_LABELS.get(j, "judge disagrees with you") for j in sorted(self.judges)]
        parts += [f"#{t}" for t in sorted(self.tags)]
        return ", ".join(parts)

    def toggled(self, kind: str, value: str) -> Filter:
        current: frozenset[str] = getattr(self, kind)
        return replace(self, **{kind: current ^ {value}})


@dataclass(frozen=True, slots=True)
class Counts:
    total: int
    shown: int
    verdicts: dict[str, int]
    flags: dict[str, int]
    disagreements: int
    others_labelled: int


class ReviewState:
    """The cases of one comparison as the reviewer sees them: sorted, filtered, counted."""

    def __init__(self, cases: Sequence[Case], reviewer: str) -> None:
        self.reviewer = reviewer
        self.entries = [Entry(c, i) for i, c in enumerate(cases)]
        self.by_id = {e.id: e for e in self.entries}
        self.sort = "triage"
        self.filter = Filter()
        self.search: str | None = None
        self.search_ids: frozenset[str] | None = None  # what the search found (None: no search)
        self._suite_hits: set[str] = set()
        self.ranked = False
        self.judged = False  # a judge's suggestions are known (set_judge)
        self.judge_name: str | None = None  # the judge's SPEC
        self.view: list[Entry] = list(self.entries)
        self._position = {e.id: i for i, e in enumerate(self.view)}
        self._version = 0  # bumped when assessments change the order
        self._sorted: list[Entry] = list(self.entries)
        self._sorted_key: tuple[str, int] = ("suite", 0)

    # -- data in --------------------------------------------------------------------------------

    def set_assessments(self, ranked: Sequence[Assessment]) -> None:
        """Assessments of every case, in triage order (cases missing from it rank last)."""
        for e in self.entries:
            e.rank = None
        for i, a in enumerate(ranked):
            found = self.by_id.get(a.case_id)
            if found is not None:
                found.assess(a)
                found.rank = i
        self.ranked = True
        self._version += 1

    def set_assessment(self, case_id: str, assessment: Assessment) -> None:
        """One case assessed on its own (before the ranking is ready): no effect on the order."""
        e = self.by_id.get(case_id)
        if e is not None and e.assessment is None:
            e.assess(assessment)
            self._version += 1

    def set_labels(self, labels: Iterable[Label]) -> None:
        """Every reviewer's labels as stored (replaces what was known)."""
        for e in self.entries:
            e.mine = None
            e.others = {}
        for lab in labels:
            found = self.by_id.get(lab.case_id)
            if found is None:
                continue
            if lab.reviewer == self.reviewer:
                found.mine = lab
            else:
                found.others[lab.reviewer] = lab

    def set_other_labels(self, labels: Iterable[Label]) -> bool:
        """Other reviewers' labels as stored now; this reviewer's own are kept as they are in
        memory (they may hold writes not yet flushed). Returns whether anything changed."""
        fresh: dict[str, dict[str, Label]] = {}
        for lab in labels:
            if lab.reviewer != self.reviewer and lab.case_id in self.by_id:
                fresh.setdefault(lab.case_id, {})[lab.reviewer] = lab
        changed = False
        for e in self.entries:
            new = fresh.get(e.id, {})
            if _label_keys(new) != _label_keys(e.others):
                e.others = new
                changed = True
        return changed

    def set_search(self, needle: str | None) -> bool:
        """Search for ``needle`` (stripped; empty: no search) in the cases themselves at once
        (:func:`~reviewer.session.search.suite_hits`). True when there is a search, so the
        outputs are to be searched too (:meth:`add_output_hits`)."""
        from .search import suite_hits

        self.search = (needle or "").strip() or None
        self._suite_hits = suite_hits(self.entries, self.search) if self.search else set()
        self.search_ids = frozenset(self._suite_hits) if self.search else None
        return self.search is not None

    def add_output_hits(self, needle: str, case_ids: set[str]) -> bool:
        """Cases whose outputs hold ``needle``, found later; False (ignored) when the search has
        moved on since."""
        if needle != self.search:
            return False
        self.search_ids = frozenset(self._suite_hits | case_ids)
        return True

    def set_judge(self, verdicts: dict[str, str], reasons: dict[str, str | None], judge: str | None = None) -> None:
        """The judge's suggestions per case (replaces what was known); never labels."""
        self.judge_name = judge
        for e in self.entries:
            e.judge = verdicts.get(e.id)
            e.judge_reason = reasons.get(e.id)
        self.judged = bool(verdicts)
        self._version += 1

    def set_mine(self, case_id: str, label: Label | None) -> None:
        self.by_id[case_id].mine = label

    # -- order and filter -----------------------------------------------------------------------

    def _sort_key(self) -> Callable[[Entry], Any]:
        if self.sort == "triage":
            if not self.ranked:
                return lambda e: e.order
            big = len(self.entries)
            return lambda e: (e.rank if e.rank is not None else big, e.order)
        if self.sort == "change":
            return lambda e: (-(e.assessment.change) if e.assessment else 1.0, e.order)
        if self.sort == "id":
            return lambda e: e.id
        if self.sort == "judge":
            rank = {v: i for i, v in enumerate(JUDGE_ORDER)}
            big = len(JUDGE_ORDER)
            return lambda e: (rank.get(e.judge, big) if e.judge else big, e.rank if e.rank is not None else e.order, e.order)
        return lambda e: e.order

    def matches(self, e: Entry) -> bool:
        if self.search_ids is not None and e.id not in self.search_ids:
            return False
        return self.filter.matches(e)

    def rebuild(self) -> None:
        """Recompute the shown cases after a change of sort, filter, search or ranking. The
        sorted order is kept until the sort or the assessments change, so a new filter is one
        pass over the cases."""
        key = (self.sort, self._version)
        if key != self._sorted_key:
            self._sorted = sorted(self.entries, key=self._sort_key())
            self._sorted_key = key
        if self.filter.active or self.search_ids is not None:
            self.view = [e for e in self._sorted if self.matches(e)]
        else:
            self.view = list(self._sorted)
        self._position = {e.id: i for i, e in enumerate(self.view)}

    def position(self, case_id: str | None) -> int | None:
        return None if case_id is None else self._position.get(case_id)

    def cycle_sort(self) -> str:
        """The next sort order (the judge's only once a judge has run)."""
        orders = SORTS if self.judged else tuple(s for s in SORTS if s != "judge")
        self.sort = orders[(orders.index(self.sort) + 1) % len(orders)] if self.sort in orders else orders[0]
        return self.sort

    # -- questions ------------------------------------------------------------------------------

    def find(self, start: int, pred: Callable[[Entry], bool], *, step: int = 1) -> int | None:
        """The next position after ``start`` (wrapping around) whose entry satisfies ``pred``."""
        n = len(self.view)
        for k in range(1, n + 1):
            i = (start + step * k) % n
            if pred(self.view[i]):
                return i
        return None

    def judge_counts(self) -> dict[str, int]:
        """Cases per judge verdict, and how many the judge and this reviewer disagree on."""
        out = dict.fromkeys((*JUDGE_ORDER, JUDGE_DISAGREES), 0)
        for e in self.entries:
            if e.judge is not None:
                out[e.judge] = out.get(e.judge, 0) + 1
                out[JUDGE_DISAGREES] += e.judge_disagrees
        return out

    def judge_agreement(self) -> tuple[Any, float | None]:
        """How far the judge agrees with every reviewer's labels (:func:`reviewer.judge.report`'s
        agreement and Cohen's kappa, on cases both judged and labelled): (Rate or None, kappa)."""
        from reviewer.judge import Rate, cohen_kappa, human_classes, judge_class

        labels = [(e.id, lab.verdict) for e in self.entries for lab in ([e.mine] if e.mine else []) + list(e.others.values())]
        humans, _ = human_classes(labels)
        pairs = [(judge_class(e.judge), humans[e.id]) for e in self.entries
                 if e.judge is not None and e.id in humans and judge_class(e.judge) is not None]  # fmt: skip
        if not pairs:
            return None, None
        return Rate(sum(1 for j, h in pairs if j == h), len(pairs)), cohen_kappa(pairs)  # type: ignore[arg-type]

    def counts(self) -> Counts:
        verdicts = dict.fromkeys(VERDICT_LABELS, 0)
        flags = dict.fromkeys(FLAGS, 0)
        disagreements = others = 0
        for e in self.entries:
            verdicts[e.verdict] += 1
            for f in e.flags:
                flags[f] = flags.get(f, 0) + 1
            if e.others:
                others += 1
                if e.disagreement:
                    disagreements += 1
        return Counts(len(self.entries), len(self.view), verdicts, flags, disagreements, others)

    def tags(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.entries:
            for t in e.case.tags:
                out[t] = out.get(t, 0) + 1
        return dict(sorted(out.items()))


def _label_keys(d: dict[str, Label]) -> dict[str, tuple]:
    return {r: (lab.verdict, lab.severity, lab.note, lab.updated_at) for r, lab in d.items()}

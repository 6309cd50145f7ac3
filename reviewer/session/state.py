"""What a review knows about a comparison's cases, independent of any widget.

One :class:`Entry` per case (the case, its assessment once ranked, this reviewer's label and the
other reviewers'), and a :class:`ReviewState` that holds them in the order and filter the reviewer
chose, counts them, and finds the next unreviewed or flagged case. Widgets only read it; the
screen changes it and repaints.

Pure Python: no Textual, no store, no I/O.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import compress, pairwise
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from reviewer.diff.score import FLAG_LABELS as ENGINE_FLAG_LABELS

if TYPE_CHECKING:
    from reviewer.store import Label
    from reviewer.suite import Case

__all__ = [
    "FLAGS", "FLAG_LABELS", "JUDGE_DISAGREES", "JUDGE_ORDER", "SORTS", "SORT_LABELS", "UNREVIEWED", "VERDICT_LABELS",
    "Entry", "Filter", "ReviewState", "Staged", "View",
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


@dataclass(slots=True, eq=False, init=False)
class Entry:
    #: what the list, its tag filter and the search read of the case (id, tags, origin, prompt,
    #: messages): a :class:`~reviewer.session.caserows.CaseRow`, or the validated ``Case`` itself
    row: Any
    order: int  # position in the suite file
    #: what the ranking says of the case (see :attr:`assessment`), or None with a ranking's
    #: columns (``_source``) and this case's place in them (``_at``): made when first read
    _assessment: Any = None
    _source: Any = None
    _at: int = -1
    rank: int | None = None  # position in triage order, once ranked
    mine: Label | None = None
    others: dict[str, Label] = field(default_factory=dict)  # reviewer -> label
    #: the judge's suggestion (reviewer judge): its verdict and reason; never a label
    judge: str | None = None
    judge_reason: str | None = None
    #: the validated case of an id (``Session.case``), when ``row`` is only a row
    case_of: Callable[[str], Case] | None = field(default=None, repr=False)
    # plain attributes, not properties: read 100,000 times per sort and count
    id: str = field(init=False)
    flags: tuple[str, ...] = field(init=False, default=())
    flagged: bool = field(init=False, default=False)
    tier: int | None = field(init=False, default=None)
    change: float | None = field(init=False, default=None)
    noise: bool = field(init=False, default=False)

    def __init__(
        self,
        row: Any,
        order: int,
        assessment: Any = None,
        rank: int | None = None,
        mine: Label | None = None,
        others: dict[str, Label] | None = None,
        judge: str | None = None,
        judge_reason: str | None = None,
        case_of: Callable[[str], Case] | None = None,
    ) -> None:
        # by hand, not the dataclass's: 100,000 of them made before the first paint (~35% less)
        self.row = row
        self.order = order
        self.rank = rank
        self.mine = mine
        self.others = {} if others is None else others
        self.judge = judge
        self.judge_reason = judge_reason
        self.case_of = case_of
        self.id = row.id
        self._assessment, self._source, self._at = None, None, -1
        self.flags, self.flagged, self.tier, self.change, self.noise = (), False, None, None, False
        if assessment is not None:
            self.assess(assessment)

    @property
    def assessment(self) -> Any:
        """What the ranking says of the case: a full ``Assessment`` or a light row of the cache
        with the same ``case_id``, ``tier``, ``change``, ``noise`` and ``flags`` (the list reads no
        more; the case on screen gets its full detail on demand, see ``CasePane.detail_of``);
        None before the ranking. A cached ranking's row is made on first read (from its columns:
        :meth:`ReviewState.stage_assessments`)."""
        if self._assessment is None and self._source is not None:
            self._assessment = self._source[self._at]
        return self._assessment

    def assess(self, assessment: Any) -> None:
        self._assessment, self._source, self._at = assessment, None, -1
        if assessment is None:
            self.flags, self.flagged, self.tier, self.change, self.noise = (), False, None, None, False
            return
        self.flags = tuple(assessment.flags)
        self.flagged = not ATTENTION_FLAGS.isdisjoint(self.flags)
        self.tier = assessment.tier
        self.change = assessment.change
        self.noise = bool(assessment.noise)

    @property
    def case(self) -> Case:
        """The validated case (validated on demand when the entry holds only its row): what the
        case pane, the promote form and the assessment read."""
        case_of = self.case_of
        return self.row if case_of is None else case_of(self.id)

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
        if self.tags and not self.tags.intersection(e.row.tags):
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
class Staged:
    """A ranking made ready off the UI thread (:meth:`ReviewState.stage_assessments`)."""

    order: list[int]  # suite positions in triage order
    columns: dict[str, list[Any]]
    flag_index: dict[str, set[int]]


@dataclass(frozen=True, slots=True)
class StagedHits:
    """What a search found, made off the UI thread (:meth:`ReviewState.stage_hits`): at 100,000
    cases a needle most outputs hold took ~150 ms of the UI thread to turn into positions."""

    needle: str
    suite: set[int]  # suite positions of the cases themselves holding it (ids, tags, prompts)
    hits: set[int]  # those and the cases whose outputs hold it
    ids: frozenset[str]
    mask: bytearray  # a byte per suite position: 1 for a hit


@dataclass(frozen=True, slots=True)
class Counts:
    total: int
    shown: int
    verdicts: dict[str, int]
    flags: dict[str, int]
    disagreements: int
    others_labelled: int


class View(Sequence[Entry]):
    """The shown cases: a list of suite positions (``ords``) over the entries. Filtering and
    sorting 100,000 cases work on these small ints in C (``filter``, ``map``, ``list.index``)
    instead of touching 100,000 entries scattered in memory (~150 ms a pass)."""

    __slots__ = ("_entries", "ords")

    def __init__(self, entries: list[Entry], ords: list[int]) -> None:
        self._entries = entries
        self.ords = ords  # shared with the kept orders: never changed in place

    def __len__(self) -> int:
        return len(self.ords)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._entries[o] for o in self.ords[i]]
        return self._entries[self.ords[i]]

    def __iter__(self) -> Iterator[Entry]:
        return map(self._entries.__getitem__, self.ords)

    def __bool__(self) -> bool:
        return bool(self.ords)

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        if not isinstance(value, Entry) or value.order >= len(self._entries) or self._entries[value.order] is not value:
            raise ValueError("not a shown case")
        return self.ords.index(value.order, start, len(self.ords) if stop is None else stop)

    def column(self, values: list[Any]) -> list[Any]:
        """``values`` (one per suite position) in the view's order."""
        return list(map(values.__getitem__, self.ords))


class ReviewState:
    """The cases of one comparison as the reviewer sees them: sorted, filtered, counted.

    Built for 100,000 cases and a key under 50 ms: each sort order is computed once (per
    ranking) and kept; a filter is set algebra over indexes (cases per tag, per flag, per judge
    verdict; the labelled cases and those with other reviewers' labels, usually few) and one pass
    keeping the sorted cases in the result; counts read the same indexes; a search finds the
    cases through one lowered string (:class:`~reviewer.session.search.SearchIndex`). Labels
    change through :meth:`set_mine`, :meth:`set_labels` and :meth:`set_other_labels` only.
    """

    def __init__(self, cases: Sequence[Any], reviewer: str, case_of: Callable[[str], Case] | None = None) -> None:
        """``cases``: validated ``Case`` objects, or the suite's :class:`CaseRow` rows with
        ``case_of`` (``Session.case``) giving a case validated when it is shown."""
        self.reviewer = reviewer
        self.entries = [Entry(c, i, case_of=case_of) for i, c in enumerate(cases)]
        self.by_id = {e.id: e for e in self.entries}
        self.sort = "triage"
        self.filter = Filter()
        self.search: str | None = None
        self.search_ids: frozenset[str] | None = None  # what the search found (None: no search)
        self._search_mask: bytearray | None = None  # the same, a byte per suite position
        #: the cases themselves holding the search (ids, tags, prompts)
        self._suite_hits: set[int] = set()
        #: a search started (:meth:`start_search`) whose hits are still being found off the UI
        #: thread: until they are committed, the list shows the last search's (or none's)
        self._pending: str | None = None
        self._index_lock = threading.Lock()  # the search index is made once, on whichever thread asks first
        self._index: Any = None  # the SearchIndex, made on the first search
        self._id_index: Any = None  # the IdIndex, made on the first "go to case" of the palette
        self.ranked = False
        #: the ranking shown is an earlier version's, cached for the same outputs, until this
        #: version's arrives (Session.earlier_assessments)
        self.ranked_by_earlier = False
        #: the ranking shown is of only this many cases assessed so far, the others after them
        #: in suite order, until the whole ranking arrives (Session.rank's partial rankings)
        self.assessed_so_far: int | None = None
        self.judged = False  # a judge's suggestions are known (set_judge)
        self.judge_name: str | None = None  # the judge's SPEC
        self._version = 0  # bumped when assessments change the order
        self._orders: dict[str, list[int]] = {"suite": list(range(len(self.entries)))}  # suite positions per order
        self.view = View(self.entries, self._orders["suite"])
        self._columns: dict[str, list[Any]] = {}  # per version: tier, flagged by suite position
        self._orders_version = 0
        self._change_gen = 0  # bumped when a case's own assessment moves it in the change order
        self._triage: list[int] = self._orders["suite"]
        # indexes: suite positions per flag (per version), per tag (fixed), per judge verdict
        self._flag_index: dict[str, set[int]] | None = None
        self._flag_version = -1
        self._tag_index: dict[str, set[int]] | None = None
        self._judge_index: dict[str, set[int]] = {}
        self._labelled: set[int] = set()  # suite positions with a label of this reviewer
        self._with_others: set[int] = set()  # ... with another reviewer's label
        self._pos_cache: tuple[str, int] | None = None
        #: per sort, (its order, ``itemgetter`` of that order's positions): see :meth:`_in_order`
        self._pickers: dict[str, tuple[list[int], Callable[[Sequence[Any]], Any]]] = {}
        self._flagged_of: tuple[View, list[bool]] | None = None  # (view, its flagged marks)

    # -- data in --------------------------------------------------------------------------------

    def set_assessments(self, ranked: Sequence[Any]) -> None:
        """Assessments of every case, in triage order (cases missing from it rank last): full
        assessments or the cache's light rows (``case_id``, ``tier``, ``change``, ``noise``,
        ``flags``)."""
        self.commit_assessments(self.stage_assessments(ranked))

    #: Entries staged between two calls of :meth:`stage_assessments`'s ``pause`` (~2 ms).
    PAUSE_EVERY = 2_000

    def stage_assessments(self, ranked: Sequence[Any], *, pause: Callable[[], object] | None = None) -> Staged:
        """The heavy half of :meth:`set_assessments`, for a worker thread: each entry's light
        fields and rank written, the triage order, the columns and the flag index made. The
        list keeps its order and counts until :meth:`commit_assessments` (on the UI thread,
        a few assignments), so 100,000 cases ranked cost the UI no pass over them.

        ``pause``: called every :data:`PAUSE_EVERY` entries; the review app's waits while a key
        is handled (:meth:`reviewer.app.app.ReviewApp.wait_for_input`), so that the two threads
        do not take turns at the GIL during it (~0.1 s of staging at 100,000 cases)."""
        if hasattr(ranked, "ids"):  # a cached ranking's columns (reviewer.analysis.Triage)
            staged = self._stage_columns(ranked, pause)
            if staged is not None:
                return staged
        by_id = self.by_id
        for e in self.entries:
            e.rank = None
        order: list[int] = []
        every = self.PAUSE_EVERY
        for i, a in enumerate(ranked):
            if pause is not None and i % every == every - 1:
                pause()
            found = by_id.get(a.case_id)
            if found is not None:
                if found.rank is not None:  # listed twice: the later place counts, as a sort by rank would
                    order.remove(found.order)
                found.assess(a)
                found.rank = i
                order.append(found.order)
        return self._staged(order)

    def _stage_columns(self, ranked: Any, pause: Callable[[], object] | None = None) -> Staged | None:
        """:meth:`stage_assessments` from a ranking's columns (``ids``, ``tier``, ``change``,
        ``noise``, ``flags``, in triage order; item ``i`` its ``i``-th row), reading no row: each
        entry makes its own on first read (:attr:`Entry.assessment`). None when a case is listed
        twice (only a hand-made list does that): the row-by-row path decides."""
        for entry in self.entries:
            entry.rank = None
        flagged: dict[tuple[str, ...], bool] = {}
        order: list[int] = []
        columns = zip(map(self.by_id.get, ranked.ids), ranked.tier, ranked.change, ranked.noise, ranked.flags, strict=True)
        every = self.PAUSE_EVERY
        for i, (e, tier, change, noise, flags) in enumerate(columns):
            if pause is not None and i % every == every - 1:
                pause()
            if e is None:  # a case the suite no longer has: not listed
                continue
            if e.rank is not None:
                return None
            f = flagged.get(flags)
            if f is None:
                f = flagged[flags] = not ATTENTION_FLAGS.isdisjoint(flags)
            e._assessment, e._source, e._at = None, ranked, i
            e.rank, e.tier, e.change, e.noise, e.flags, e.flagged = i, tier, change, noise, flags, f
            order.append(e.order)
        return self._staged(order)

    def _staged(self, order: list[int]) -> Staged:
        if len(order) < len(self.entries):
            order += [e.order for e in self.entries if e.rank is None]
        columns = self._make_columns(order)
        return Staged(order, columns, self._make_flag_index())

    def commit_assessments(self, staged: Staged, *, earlier: bool = False, assessed: int | None = None) -> None:
        """Switch the list to a staged ranking (``earlier``: an earlier version's, shown until
        this version's is committed; ``assessed``: a partial ranking of that many cases, the
        others after them)."""
        self.ranked_by_earlier = earlier
        self.assessed_so_far = assessed
        self._triage = staged.order
        self._columns = staged.columns
        self.ranked = True
        self._version += 1
        self._flag_index = staged.flag_index
        self._flag_version = self._version
        self._orders = {k: v for k, v in self._orders.items() if k in ("suite", "id", "place:suite", "place:id")}
        self._orders_version = self._version

    def sort_orders(self) -> tuple[tuple[int, int], dict[str, list[int]]]:
        """The sorts a reviewer cycles through (by change, by id) not made yet, for a worker
        thread once the ranked list is shown (100,000 cases: ~80 ms, which the ranked list no
        longer waits for), with the token :meth:`add_orders` checks. A sort asked for before
        they arrive is made then, as before a ranking."""
        token = (self._version, self._change_gen)
        orders = {sort: [e.order for e in self._compute_order(sort)] for sort in ("change", "id") if sort not in self._orders}
        return token, orders

    def add_orders(self, token: tuple[int, int], orders: dict[str, list[int]]) -> None:
        """Keep what :meth:`sort_orders` made, unless the assessments changed since (a new
        ranking, a case assessed on its own) or the order was made meanwhile."""
        if token != (self._version, self._change_gen) or self._orders_version != self._version:
            return
        for key, order in orders.items():
            self._orders.setdefault(key, order)

    def _make_columns(self, triage: list[int]) -> dict[str, list[Any]]:
        tier = [e.tier for e in self.entries]
        tier99 = [99 if t is None else t for t in tier]
        in_order = list(map(tier99.__getitem__, triage))
        return {
            "tier": tier,
            "tier99": tier99,
            "flagged": [e.flagged for e in self.entries],
            "monotonic": [all(a <= b for a, b in pairwise(in_order))],
        }

    def _make_flag_index(self) -> dict[str, set[int]]:
        index: dict[str, set[int]] = {}
        for e in self.entries:
            for f in e.flags:
                index.setdefault(f, set()).add(e.order)
        return index

    def set_assessment(self, case_id: str, assessment: Any) -> None:
        """One case assessed on its own (before the ranking is ready): no effect on the order."""
        e = self.by_id.get(case_id)
        if e is not None and e.assessment is None:
            e.assess(assessment)
            self._flagged_of = None
            self._columns = {}
            if self._flag_index is not None:  # counts and filters see it at once, without a new pass
                for f in e.flags:
                    self._flag_index.setdefault(f, set()).add(e.order)
            self._orders.pop("change", None)  # the one order a case's own assessment moves it in
            self._orders.pop("place:change", None)
            self._change_gen += 1

    def set_labels(self, labels: Iterable[Label]) -> None:
        """Every reviewer's labels as stored (replaces what was known)."""
        for i in self._labelled | self._with_others:
            e = self.entries[i]
            e.mine = None
            e.others = {}
        self._labelled = set()
        self._with_others = set()
        for lab in labels:
            found = self.by_id.get(lab.case_id)
            if found is None:
                continue
            if lab.reviewer == self.reviewer:
                found.mine = lab
                self._labelled.add(found.order)
            else:
                found.others[lab.reviewer] = lab
                self._with_others.add(found.order)

    def set_other_labels(self, labels: Iterable[Label]) -> bool:
        """Other reviewers' labels as stored now; this reviewer's own are kept as they are in
        memory (they may hold writes not yet flushed). Returns whether anything changed."""
        fresh: dict[str, dict[str, Label]] = {}
        for lab in labels:
            if lab.reviewer != self.reviewer and lab.case_id in self.by_id:
                fresh.setdefault(lab.case_id, {})[lab.reviewer] = lab
        changed = False
        touched = {self.by_id[cid].order for cid in fresh} | self._with_others
        for i in touched:
            e = self.entries[i]
            new = fresh.get(e.id, {})
            if _label_keys(new) != _label_keys(e.others):
                e.others = new
                changed = True
            if new:
                self._with_others.add(i)
            else:
                self._with_others.discard(i)
        return changed

    def set_search(self, needle: str | None) -> bool:
        """Search for ``needle`` (stripped; empty: no search) in the cases themselves at once
        (ids, tags, origin, prompt and messages, ignoring case). True when there is a search, so
        the outputs are to be searched too (:meth:`add_output_hits`). A search started and not
        committed yet is dropped."""
        self._pending = None
        self.search = (needle or "").strip() or None
        if self.search is None:
            self._suite_hits = set()
            self.search_ids = None
            self._search_mask = None
            return False
        self.commit_hits(self.stage_hits(self.search, self.find_in_cases(self.search), None))
        return True

    def start_search(self, needle: str | None) -> bool:
        """:meth:`set_search` with the finding left to another thread: nothing the list shows
        changes yet (no case hidden, no highlight moved) and :attr:`searching` is the needle,
        until a thread's :meth:`find_in_cases` and :meth:`stage_hits` for it are committed
        (:meth:`commit_hits`). At 100,000 cases, a needle most cases hold took 27-72 ms of the
        UI thread to find and stage, and its first search makes the index (~0.65 s). Returns
        whether there is a search (an empty needle clears the search at once)."""
        needle = (needle or "").strip() or None
        if needle is None:
            return self.set_search(None)
        self._pending = needle
        return True

    @property
    def searching(self) -> str | None:
        """The needle of a search started whose hits are not committed yet (None: none)."""
        return self._pending

    @property
    def has_search_index(self) -> bool:
        return self._index is not None

    def search_index(self, busy: Callable[[], bool] | None = None) -> Any:
        """The searchable text of every case (:class:`~reviewer.session.search.SearchIndex`),
        made on first use by whichever thread asks first; the others wait for it. Off the UI
        thread, ``busy`` (keys are coming) pauses the making (:func:`~reviewer.session.search.paced`)."""
        with self._index_lock:
            if self._index is None:
                from .search import SearchIndex, paced

                self._index = SearchIndex(paced((e.row for e in self.entries), busy))
            return self._index

    def find_in_cases(self, needle: str, busy: Callable[[], bool] | None = None) -> set[int]:
        """Suite positions of the cases whose ids, tags, origin or prompt hold ``needle``."""
        return set(self.search_index(busy).find(needle))

    def stage_hits(
        self, needle: str, suite: set[int], case_ids: set[str] | None, busy: Callable[[], bool] | None = None
    ) -> StagedHits:
        """The search's hits (``suite``, and the cases whose outputs hold it, by id) made ready
        for :meth:`commit_hits`: any thread (it reads only what never changes), pausing while
        ``busy()``."""
        from .search import paced

        by_id = self.by_id
        hits = suite | {by_id[c].order for c in paced(case_ids, busy) if c in by_id} if case_ids else set(suite)
        entries = self.entries
        ids = frozenset(entries[i].id for i in paced(hits, busy))
        return StagedHits(needle, suite, hits, ids, _mask(len(entries), paced(hits, busy)))

    def commit_hits(self, staged: StagedHits) -> bool:
        """Show what :meth:`stage_hits` made; False (ignored) when the search has moved on since
        (another needle started, or the search cleared)."""
        if staged.needle != (self._pending or self.search):
            return False
        self.search, self._pending = staged.needle, None
        self._suite_hits = staged.suite
        self.search_ids = staged.ids
        self._search_mask = staged.mask
        return True

    def add_output_hits(self, needle: str, case_ids: set[str]) -> bool:
        """Cases whose outputs hold ``needle``, found later; False (ignored) when the search has
        moved on since. (The app stages them in the search's worker: :meth:`stage_hits`.)"""
        if needle != self.search or self._pending is not None:
            return False
        return self.commit_hits(self.stage_hits(needle, self._suite_hits, case_ids))

    def set_judge(self, verdicts: dict[str, str], reasons: dict[str, str | None], judge: str | None = None) -> None:
        """The judge's suggestions per case (replaces what was known); never labels."""
        self.judge_name = judge
        index: dict[str, set[int]] = {}
        for e in self.entries:
            e.judge = verdicts.get(e.id)
            e.judge_reason = reasons.get(e.id)
            if e.judge is not None:
                index.setdefault(e.judge, set()).add(e.order)
        self._judge_index = index
        self.judged = bool(verdicts)
        self._orders.pop("judge", None)

    def set_mine(self, case_id: str, label: Label | None) -> None:
        e = self.by_id[case_id]
        e.mine = label
        if label is None:
            self._labelled.discard(e.order)
        else:
            self._labelled.add(e.order)

    # -- order and filter -----------------------------------------------------------------------

    def _ordered(self, sort: str) -> list[int]:
        """Every case's suite position in this sort order, computed once per ranking (the suite
        and id orders never change)."""
        if self._orders_version != self._version:
            self._orders = {k: v for k, v in self._orders.items() if k in ("suite", "id", "place:suite", "place:id")}
            self._orders_version = self._version
        if sort == "triage":
            return self._triage if self.ranked else self._orders["suite"]
        found = self._orders.get(sort)
        if found is None:
            found = self._orders[sort] = [e.order for e in self._compute_order(sort)]
        return found

    def _compute_order(self, sort: str) -> list[Entry]:
        entries = self.entries  # in suite order: a stable sort breaks ties by it
        if sort == "triage":
            return [entries[i] for i in self._triage] if self.ranked else entries
        if sort == "change":
            return sorted(entries, key=_change_key)
        if sort == "id":
            return sorted(entries, key=_id_key)
        if sort == "judge":
            rank = {v: i for i, v in enumerate(JUDGE_ORDER)}
            big = len(JUDGE_ORDER)
            place = self._place("triage", self._ordered("triage")) if self.ranked else None
            return sorted(
                entries,
                key=lambda e: (rank.get(e.judge, big) if e.judge else big, place[e.order] if place is not None else e.order),
            )
        return entries

    def tier_spans(self, tiers: Iterable[int]) -> list[tuple[int, int, int]]:
        """(tier, first view position, cases) of each of ``tiers`` shown, in the triage order's
        view. The triage order puts the tiers in order, so a bisection finds each (checked once
        per ranking; a pass over the view when it does not hold)."""
        col = self._columns.get("tier99")
        if col is None:  # unranked cases (no tier) come last in the triage order
            col = self._columns["tier99"] = [99 if t is None else t for t in self.column("tier")]
        view = self.view
        ords = view.ords
        key = "monotonic"
        if self._columns.get(key) is None:
            tiers_in_order = list(map(col.__getitem__, self._ordered("triage")))
            self._columns[key] = [all(a <= b for a, b in pairwise(tiers_in_order))]
        out = []
        if self.sort == "triage" and self._columns[key][0]:
            for t in tiers:
                lo = bisect_left(ords, t, key=col.__getitem__)
                hi = bisect_left(ords, t + 1, key=col.__getitem__)
                if hi > lo:
                    out.append((t, lo, hi - lo))
            return out
        shown = view.column(col)
        for t in tiers:
            n = shown.count(t)
            if n:
                out.append((t, shown.index(t), n))
        return out

    def column(self, name: str) -> list[Any]:
        """One light field of every case by suite position (``tier``, ``flagged``), kept until
        the assessments change."""
        found = self._columns.get(name)
        if found is None:
            found = self._columns[name] = [getattr(e, name) for e in self.entries]
        return found

    def matches(self, e: Entry) -> bool:
        if self.search_ids is not None and e.id not in self.search_ids:
            return False
        return self.filter.matches(e)

    def _allowed(self) -> bytearray | None:
        """Which suite positions the search and filter let through, as a mask of one byte per
        case (None: every case). Each kind's mask is made from its index in time proportional
        to the index, and the kinds are ANDed as big ints: no pass over every case in Python."""
        n = len(self.entries)
        masks: list[bytearray] = []
        if self._search_mask is not None:
            masks.append(self._search_mask)
        flt = self.filter
        entries = self.entries
        if flt.verdicts:
            if UNREVIEWED in flt.verdicts:  # every case but those labelled otherwise
                m = bytearray(b"\x01") * n
                for i in self._labelled:
                    if entries[i].verdict not in flt.verdicts:
                        m[i] = 0
                masks.append(m)
            else:
                masks.append(_mask(n, (i for i in self._labelled if entries[i].verdict in flt.verdicts)))
        if flt.flags:
            index = self.flag_index()
            have: set[int] = set()
            for f in flt.flags:
                if f == "disagreement":
                    have |= {i for i in self._with_others if entries[i].disagreement}
                else:
                    have |= index.get(f, set())
            masks.append(_mask(n, have))
        if flt.tags:
            tags = self.tag_index()
            masks.append(_mask(n, set().union(*(tags.get(t, set()) for t in flt.tags))))
        if flt.judges:
            have = set().union(*(self._judge_index.get(j, set()) for j in flt.judges))
            if JUDGE_DISAGREES in flt.judges:
                have |= {i for i in self._labelled if entries[i].judge_disagrees}
            masks.append(_mask(n, have))
        if not masks:
            return None
        if len(masks) == 1:
            return masks[0]
        both = int.from_bytes(masks[0], "little")
        for m in masks[1:]:
            both &= int.from_bytes(m, "little")
        return bytearray(both.to_bytes(n, "little"))

    def rebuild(self) -> None:
        """Recompute the shown cases after a change of sort, filter, search or ranking. Each
        order is kept until the assessments change, so a new sort or filter is one pass in C over
        the cases' positions at most."""
        ordered = self._ordered(self.sort)
        allowed = self._allowed()
        if allowed is None:
            ords = ordered
        elif allowed.count(1) * 16 < len(ordered):  # a few cases: sort them by their place in the order
            ords = sorted(compress(range(len(allowed)), allowed), key=self._place(self.sort, ordered).__getitem__)
        else:  # in C: a byte per case looked up, a list of the cases kept
            ords = list(compress(ordered, self._in_order(self.sort, ordered, allowed)))
        self.view = View(self.entries, ords)
        self._pos_cache = None

    def _in_order(self, sort: str, ordered: list[int], column: Sequence[Any]) -> Iterable[Any]:
        """``column`` (one value per suite position) in this order: an ``itemgetter`` of the
        order's positions, made once per order (~1 ms at 100,000 cases), picks them in one C call,
        ~3× faster than ``map(column.__getitem__, ordered)`` (4-6 against 12-18 ms at 100,000)."""
        if len(ordered) < 2:  # itemgetter of one position gives the value, not a tuple of it
            return [column[o] for o in ordered]
        found = self._pickers.get(sort)
        if found is None or found[0] is not ordered:
            found = self._pickers[sort] = (ordered, itemgetter(*ordered))
        return found[1](column)

    def _place(self, sort: str, ordered: list[int]) -> list[int]:
        """Suite position -> place in this order (kept with the order)."""
        key = "place:" + sort
        found = self._orders.get(key)
        if found is None or len(found) != len(ordered):
            place = [0] * len(ordered)
            for i, o in enumerate(ordered):
                place[o] = i
            self._orders[key] = found = place
        return found

    def position(self, case_id: str | None) -> int | None:
        """Where the case is in the view (None: not shown): a search of the view in C, kept
        until the view changes."""
        if case_id is None:
            return None
        cached = self._pos_cache
        if cached is not None and cached[0] == case_id:
            i = cached[1]
            if i < len(self.view) and self.view[i].id == case_id:
                return i
        e = self.by_id.get(case_id)
        if e is None:
            return None
        try:
            i = self.view.index(e)
        except ValueError:
            return None
        self._pos_cache = (case_id, i)
        return i

    def cycle_sort(self) -> str:
        """The next sort order (the judge's only once a judge has run)."""
        orders = SORTS if self.judged else tuple(s for s in SORTS if s != "judge")
        self.sort = orders[(orders.index(self.sort) + 1) % len(orders)] if self.sort in orders else orders[0]
        return self.sort

    # -- indexes --------------------------------------------------------------------------------

    def find_ids(self, needle: str, limit: int) -> list[Entry]:
        """The first ``limit`` cases (suite order) whose id holds ``needle``, ignoring case."""
        if self._id_index is None:
            from .search import IdIndex

            self._id_index = IdIndex(e.id for e in self.entries)
        entries = self.entries
        return [entries[k] for k in self._id_index.find(needle, limit)]

    def flag_index(self) -> dict[str, set[int]]:
        """Suite positions per flag (one pass per ranking)."""
        if self._flag_index is None or self._flag_version != self._version:
            self._flag_index = self._make_flag_index()
            self._flag_version = self._version
        return self._flag_index

    def tag_index(self) -> dict[str, set[int]]:
        """Suite positions per tag (one pass, once)."""
        if self._tag_index is None:
            index: dict[str, set[int]] = {}
            for e in self.entries:
                for t in e.row.tags:
                    index.setdefault(t, set()).add(e.order)
            self._tag_index = index
        return self._tag_index

    # -- questions ------------------------------------------------------------------------------

    def find_flagged(self, start: int) -> int | None:
        """The next flagged case after ``start`` (wrapping around): :meth:`find` with a list of
        the view's flags searched in C, kept until the view changes (``N`` at 100,000 cases)."""
        view = self.view
        if self._flagged_of is None or self._flagged_of[0] is not view:
            self._flagged_of = (view, view.column(self.column("flagged")))
        marks = self._flagged_of[1]
        for lo, hi in ((start + 1, len(marks)), (0, min(start + 1, len(marks)))):
            try:
                return marks.index(True, lo, hi)
            except ValueError:
                continue
        return None

    def find(self, start: int, pred: Callable[[Entry], bool], *, step: int = 1) -> int | None:
        """The next position after ``start`` (wrapping around) whose entry satisfies ``pred``."""
        view = self.view
        n = len(view)
        if n == 0:
            return None
        if step == 1:  # the common case: two slices scanned by a generator, no index arithmetic
            s = start % n
            for i in range(s + 1, n):
                if pred(view[i]):
                    return i
            for i in range(s + 1):
                if pred(view[i]):
                    return i
            return None
        for k in range(1, n + 1):
            i = (start + step * k) % n
            if pred(view[i]):
                return i
        return None

    @property
    def judged_count(self) -> int:
        return sum(len(s) for s in self._judge_index.values())

    def judge_counts(self) -> dict[str, int]:
        """Cases per judge verdict, and how many the judge and this reviewer disagree on."""
        out = dict.fromkeys((*JUDGE_ORDER, JUDGE_DISAGREES), 0)
        for v, members in self._judge_index.items():
            out[v] = out.get(v, 0) + len(members)
        out[JUDGE_DISAGREES] = sum(1 for i in self._labelled if self.entries[i].judge_disagrees)
        return out

    def judge_agreement(self) -> tuple[Any, float | None]:
        """How far the judge agrees with every reviewer's labels (:func:`reviewer.judge.report`'s
        agreement and Cohen's kappa, on cases both judged and labelled): (Rate or None, kappa)."""
        from reviewer.judge import Rate, cohen_kappa, human_classes, judge_class

        some = [self.entries[i] for i in sorted(self._labelled | self._with_others)]
        labels = [(e.id, lab.verdict) for e in some for lab in ([e.mine] if e.mine else []) + list(e.others.values())]
        humans, _ = human_classes(labels)
        pairs = [(judge_class(e.judge), humans[e.id]) for e in some
                 if e.judge is not None and e.id in humans and judge_class(e.judge) is not None]  # fmt: skip
        if not pairs:
            return None, None
        return Rate(sum(1 for j, h in pairs if j == h), len(pairs)), cohen_kappa(pairs)  # type: ignore[arg-type]

    def counts(self) -> Counts:
        """Cases per verdict and flag, from the indexes (no pass over every case)."""
        entries = self.entries
        verdicts = dict.fromkeys(VERDICT_LABELS, 0)
        for i in self._labelled:
            verdicts[entries[i].verdict] += 1
        verdicts[UNREVIEWED] = len(entries) - sum(verdicts.values())
        flags = dict.fromkeys(FLAGS, 0)
        for f, members in self.flag_index().items():
            flags[f] = len(members)
        others = len(self._with_others)
        disagreements = sum(1 for i in self._with_others if entries[i].disagreement)
        return Counts(len(entries), len(self.view), verdicts, flags, disagreements, others)

    def tags(self) -> dict[str, int]:
        return {t: len(members) for t, members in sorted(self.tag_index().items())}


def _change_key(e: Entry) -> float:
    return -e.change if e.change is not None else 1.0  # biggest change first, unassessed last


def _id_key(e: Entry) -> str:
    return e.id


def _mask(n: int, members: Iterable[int]) -> bytearray:
    m = bytearray(n)
    for i in members:
        m[i] = 1
    return m


def _label_keys(d: dict[str, Label]) -> dict[str, tuple]:
    return {r: (lab.verdict, lab.severity, lab.note, lab.updated_at) for r, lab in d.items()}

"""The review state's fast paths (indexes, kept orders, the search string) give exactly what the
plain definitions give: a sort by key, ``Filter.matches`` over every case, a substring test per
case. Checked on a few thousand generated cases with light ranking rows (what the assessment cache
hands the app), labels of two reviewers and a judge."""

from __future__ import annotations

import random
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from reviewer.session.search import Cancel, SearchIndex, output_hits, suite_hits
from reviewer.session.state import ATTENTION_FLAGS, FLAGS, JUDGE_DISAGREES, JUDGE_ORDER, Filter, ReviewState
from reviewer.store import Label
from reviewer.suite import Case, Message

ME = "Ann <ann@example.com>"
BOB = "Bob <bob@example.com>"
TAGS = ["billing", "shipping", "json", "safety", "Ünïcode"]
WORDS = ["refund", "parcel", "Straße", "İstanbul", "warehouse", "stock", "order", "ΟΔΟΣ", "ok"]


@dataclass
class Row:
    """A light ranking row, as the assessment cache gives it (no signals, no checks)."""

    case_id: str
    tier: int
    change: float
    noise: bool
    flags: tuple[str, ...]


def make(n: int = 3000, seed: int = 3) -> tuple[ReviewState, list[Case]]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        kind = rng.random()
        text = " ".join(rng.choices(WORDS, k=rng.randint(1, 6)))
        if kind < 0.1:
            cases.append(Case(id=f"m-{i:05d}", tags=rng.sample(TAGS, 1), messages=[Message(role="user", content=text)]))
        else:
            origin = f"INC-{i}" if kind > 0.95 else None
            cases.append(Case(id=f"c-{rng.randint(0, 10**6):07d}-{i}", tags=rng.sample(TAGS, rng.randint(0, 2)), prompt=text,
                              origin=origin))  # fmt: skip
    state = ReviewState(cases, ME)
    rows = []
    for c in rng.sample(cases, n - 40):  # 40 cases left unranked: they rank last
        flags = tuple(f for f in FLAGS if rng.random() < 0.08)
        tier = 0 if ATTENTION_FLAGS.intersection(flags) else rng.choice([1, 2, 3])
        rows.append(Row(c.id, tier, round(rng.random(), 2) if tier != 3 else 0.0, tier == 2, flags))
    rows.sort(key=lambda r: (r.tier, -r.change))
    state.set_assessments(rows)
    labels = []
    for c in rng.sample(cases, n // 5):
        labels.append(label(c.id, rng.choice(["regression", "improvement", "acceptable", "noise"])))
    for c in rng.sample(cases, n // 10):
        labels.append(label(c.id, rng.choice(["regression", "acceptable"]), BOB))
    state.set_labels(labels)
    judged = {c.id: rng.choice(JUDGE_ORDER) for c in rng.sample(cases, n // 3)}
    state.set_judge(judged, dict.fromkeys(judged, "why"), "judge:x")
    return state, cases


def label(case_id: str, verdict: str, reviewer: str = ME) -> Label:
    return Label(1, case_id, reviewer, verdict, None, None, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")  # type: ignore[arg-type]


def plain_order(state: ReviewState, sort: str) -> list[str]:
    """The orders as defined: a sort of every case by its key."""
    big = len(state.entries)
    judged = {v: i for i, v in enumerate(JUDGE_ORDER)}
    keys = {
        "triage": lambda e: (e.rank if e.rank is not None else big, e.order),
        "change": lambda e: (-e.change if e.change is not None else 1.0, e.order),
        "id": lambda e: e.id,
        "judge": lambda e: (
            judged.get(e.judge, len(JUDGE_ORDER)) if e.judge else len(JUDGE_ORDER),
            e.rank if e.rank is not None else big + e.order,
        ),
        "suite": lambda e: e.order,
    }
    return [e.id for e in sorted(state.entries, key=keys[sort])]


FILTERS = [
    Filter(),
    Filter(verdicts=frozenset({"unreviewed"})),
    Filter(verdicts=frozenset({"regression", "noise"})),
    Filter(verdicts=frozenset({"unreviewed", "acceptable"}), tags=frozenset({"json"})),
    Filter(flags=frozenset({"negative_flip", "disagreement"})),
    Filter(flags=frozenset({"format_drift"}), tags=frozenset({"billing", "Ünïcode"})),
    Filter(judges=frozenset({"tie", JUDGE_DISAGREES})),
    Filter(judges=frozenset({JUDGE_DISAGREES}), verdicts=frozenset({"regression"}), flags=frozenset({"error"})),
    Filter(tags=frozenset({"no-such-tag"})),
]


@pytest.mark.parametrize("sort", ["triage", "change", "id", "suite", "judge"])
def test_every_sort_and_filter_gives_what_the_plain_definition_gives(sort):
    state, _ = make()
    state.sort = sort
    for flt in FILTERS:
        state.filter = flt
        state.rebuild()
        expected = [i for i in plain_order(state, sort) if flt.matches(state.by_id[i])]
        assert [e.id for e in state.view] == expected, (sort, flt)
        for pos in (0, len(state.view) // 2, len(state.view) - 1):
            if state.view:
                assert state.position(state.view[pos].id) == pos


def test_counts_follow_labels_given_and_removed():
    state, cases = make(800)

    def plain() -> tuple[dict[str, int], dict[str, int], int, int]:
        verdicts = {v: sum(1 for e in state.entries if e.verdict == v) for v in state.counts().verdicts}
        flags = {f: sum(1 for e in state.entries if f in e.flags) for f in FLAGS}
        return verdicts, flags, sum(1 for e in state.entries if e.disagreement), sum(1 for e in state.entries if e.others)

    c = state.counts()
    assert (c.verdicts, c.flags, c.disagreements, c.others_labelled) == plain()
    for case in cases[:50]:
        state.set_mine(case.id, label(case.id, "regression"))
    for case in cases[25:40]:
        state.set_mine(case.id, None)
    state.set_other_labels([label(cases[1].id, "noise", BOB), label(cases[2].id, "acceptable", BOB)])
    c = state.counts()
    assert (c.verdicts, c.flags, c.disagreements, c.others_labelled) == plain()
    state.filter = Filter(verdicts=frozenset({"regression"}))
    state.rebuild()
    assert {e.id for e in state.view} == {e.id for e in state.entries if e.verdict == "regression"}
    assert state.tags() == {t: sum(1 for c in cases if t in c.tags) for t in sorted({t for c in cases for t in c.tags})}
    assert state.judge_counts()[JUDGE_DISAGREES] == sum(1 for e in state.entries if e.judge_disagrees)


def test_search_finds_what_a_substring_test_finds_ignoring_case():
    state, cases = make(1500)
    for needle in ["refund", "REFUND", "straße", "İstanbul", "i̇stanbul", "οδος", "inc-1", "m-0001", "ünïcode", "json",
                   "ok ok", "zzz", " stock ", "c-", "\x00", "e"]:  # fmt: skip
        low = needle.strip().lower()
        expected = {
            c.id for c in cases
            if low and (low in c.id.lower() or any(low in t.lower() for t in c.tags) or low in (c.origin or "").lower()
                        or low in (c.prompt or "").lower() or any(low in m.content.lower() for m in c.messages or ()))
        }  # fmt: skip
        assert suite_hits(state.entries, needle) == expected, needle
        assert state.set_search(needle) == bool(needle.strip())
        assert (state.search_ids or set()) == expected, needle
    assert SearchIndex([]).find("x") == []
    # past DENSE matches the rest is tested case by case: the same cases
    for needle in ("e", "ok", "c-", "refund"):
        assert SearchIndex(cases, dense=10).find(needle) == SearchIndex(cases, dense=10**9).find(needle)
        assert len(SearchIndex(cases, dense=10).find(needle)) > 10


def test_next_flagged_wraps_around_like_find():
    state, _ = make(1200)
    for flt in (Filter(), Filter(tags=frozenset({"json"}))):
        state.filter = flt
        state.rebuild()
        for start in (0, 5, len(state.view) // 2, len(state.view) - 1):
            assert state.find_flagged(start) == state.find(start, lambda e: e.flagged)
    state.filter = Filter(flags=frozenset({"positive_flip"}), tags=frozenset({"no-such-tag"}))
    state.rebuild()
    assert state.find_flagged(0) is None


def test_group_rows_map_both_ways():
    from reviewer.app.widgets.case_list import group_rows, group_starts

    state, _ = make(600)
    state.rebuild()
    rows = group_rows(state)
    starts = group_starts(state)
    assert [r for r in rows if isinstance(r, str)] == [name for _, name in starts]
    assert len(starts) == 2 and starts[0][1].startswith("within noise")
    assert [r for r in rows if isinstance(r, int)] == list(range(len(state.view)))


# -- the outputs' search: stopped at once by the next search --------------------------------------


class CancelAfter(Cancel):
    """Set once it has been looked at ``n`` times: a search stopped while its query runs."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.looks = 0
        self.n = n

    @property
    def is_set(self) -> bool:  # type: ignore[override]
        self.looks += 1
        return self.looks > self.n


@contextmanager
def needle_session(tmp_path):
    """A session whose candidate has 12,000 more outputs, the last one holding "needle": enough
    rows that the query looks at its flag many times (every 20,000 SQLite steps)."""
    from test_app_data import build_comparison

    from reviewer.session.session import Session
    from reviewer.store import Output, Store

    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        session = Session(store, cid, ME)
        filler = [Output(f"filler-{i}", 0, text="lorem ipsum " * 8 + ("needle" if i == 11_999 else "")) for i in range(12_000)]
        store.save_outputs(session.candidate.id, filler)
        yield session


def test_a_cancelled_search_of_the_outputs_stops_inside_its_query(tmp_path):
    with needle_session(tmp_path) as session:
        assert output_hits(session, "needle", Cancel()) == {"filler-11999"}
        stop = CancelAfter(2)
        assert output_hits(session, "needle", stop) is None
        assert 2 < stop.looks < 50  # stopped inside the query, well before its end
        already = Cancel()
        already.set()
        assert output_hits(session, "needle", already) is None
        # the thread's connection is usable again, without the stop
        assert output_hits(session, "NEEDLE", Cancel()) == {"filler-11999"}
        # a search from another thread uses that thread's connection and is stopped there
        found: list[object] = []
        t = threading.Thread(target=lambda: found.append(output_hits(session, "needle", CancelAfter(1))))
        t.start()
        t.join()
        assert found == [None]
        session.close()


def test_an_error_that_is_not_a_stop_is_raised(tmp_path):
    from test_app_data import build_comparison

    from reviewer.session.session import Session
    from reviewer.store import Store

    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        session = Session(store, cid, ME)
        session.close()
        session._reader = None  # type: ignore[assignment]  # no reader: the query itself fails
        with pytest.raises((AttributeError, sqlite3.Error)):
            output_hits(session, "x", Cancel())


def test_tier_spans_by_bisection_match_a_count_and_in_any_triage_order():
    state, _ = make(900)
    for flt in (Filter(), Filter(tags=frozenset({"json"})), Filter(verdicts=frozenset({"unreviewed"}))):
        state.filter = flt
        state.rebuild()
        tiers = [e.tier for e in state.view]
        plain = [(t, tiers.index(t), tiers.count(t)) for t in (2, 3) if t in tiers]
        assert state.tier_spans((2, 3)) == plain
    # a ranking whose order is not by tier: the spans are still each tier's first place and count
    shuffled = [Row(e.id, e.tier if e.tier is not None else 3, e.change or 0.0, e.noise, e.flags) for e in state.entries]
    random.Random(5).shuffle(shuffled)
    state.set_assessments(shuffled)
    state.filter = Filter()
    state.rebuild()
    tiers = [e.tier for e in state.view]
    assert state.tier_spans((2, 3)) == [(t, tiers.index(t), tiers.count(t)) for t in (2, 3)]


def test_a_filter_after_a_new_ranking_follows_the_new_order_and_one_case_filters_too():
    """The filter picks each order's cases with a getter kept per sort: a new ranking makes new
    orders, and the getter of the old one must not be used on them."""
    state, cases = make(n=600)
    for sort in ("triage", "change"):
        state.sort = sort
        state.filter = Filter(verdicts=frozenset({"unreviewed"}))
        state.rebuild()
        rng = random.Random(sort)
        rows = [Row(c.id, rng.choice([0, 1, 2, 3]), round(rng.random(), 2), False, ()) for c in cases]
        rows.sort(key=lambda r: (r.tier, -r.change))
        state.set_assessments(rows)
        state.rebuild()
        expected = [i for i in plain_order(state, sort) if state.filter.matches(state.by_id[i])]
        assert [e.id for e in state.view] == expected, sort
    one = ReviewState([Case(id="only", prompt="p")], ME)
    one.set_assessments([Row("only", 1, 0.5, False, ())])
    one.filter = Filter(verdicts=frozenset({"unreviewed"}))
    one.rebuild()
    assert [e.id for e in one.view] == ["only"]


class BusyFor:
    """Keys coming for the first ``n`` looks, then none."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.looks = 0

    def __call__(self) -> bool:
        self.looks += 1
        return self.looks <= self.n


def test_paced_work_waits_while_keys_come_and_gives_every_item():
    from reviewer.session.search import paced

    assert list(paced(range(2_500), None)) == list(range(2_500))
    busy = BusyFor(3)
    assert list(paced(range(2_500), busy)) == list(range(2_500))
    assert busy.looks == 3 + 3  # three waits at the first look, then one look per 1,000 items
    state, _ = make(n=300)
    suite = state.find_in_cases("refund", BusyFor(2))
    staged = state.stage_hits("refund", suite, {e.id for e in state.entries[:50]}, BusyFor(4))
    plain = ReviewState([e.case for e in state.entries], ME)
    plain.set_search("refund")
    plain.add_output_hits("refund", {e.id for e in state.entries[:50]})
    assert staged.ids == plain.search_ids and staged.hits == {plain.by_id[i].order for i in plain.search_ids}


def test_a_search_of_the_outputs_waits_while_keys_come_and_a_new_search_still_stops_it(tmp_path):
    with needle_session(tmp_path) as session:
        busy = BusyFor(5)
        assert output_hits(session, "needle", Cancel(), busy) == {"filler-11999"}
        assert busy.looks > 5  # it waited, then looked again every ~millisecond of the query
        cancel = Cancel()
        found: list[object] = []
        always = threading.Event()  # keys never stop: only the cancel ends the wait
        t = threading.Thread(target=lambda: found.append(output_hits(session, "needle", cancel, lambda: (always.set(), True)[1])))
        t.start()
        assert always.wait(10)  # the query is waiting for the keys to stop
        cancel.set()
        t.join(10)
        assert not t.is_alive() and found == [None]
        session.close()

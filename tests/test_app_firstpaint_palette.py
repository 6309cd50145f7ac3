"""The palette's "go to case": the first ids holding the query in suite order, found in one
lowered string of every id (issue 14: a keystroke over 100,000 ids costs no pass in Python)."""

from __future__ import annotations

import random

from reviewer.session.caserows import CaseRow
from reviewer.session.search import IdIndex
from reviewer.session.state import ReviewState


def naive(ids: list[str], needle: str, limit: int) -> list[int]:
    return [i for i, x in enumerate(ids) if needle.lower() in x.lower()][:limit] if needle else []


def test_ids_found_are_the_first_in_suite_order_holding_the_needle():
    rng = random.Random(7)
    ids = [f"{rng.choice(['Billing', 'ship', 'a.b', 'x:y/z'])}-{rng.randint(0, 5000)}-{i}" for i in range(3000)]
    index = IdIndex(ids)
    needles = ["b", "BILL", "ing-1", "-4999-", "a.b-", "z-", "2999", "zzz", "g-12-", ids[0], ids[-1], ids[-1] + "x"]
    for needle in needles:
        for limit in (1, 3, 50, 10_000):
            assert index.find(needle, limit) == naive(ids, needle, limit), (needle, limit)
    # a needle cannot span two ids; nothing for an empty needle or a zero limit
    assert index.find(ids[0][-2:] + ids[1][:2], 50) == naive(ids, ids[0][-2:] + ids[1][:2], 50)
    assert index.find("", 50) == [] and index.find("b", 0) == [] and index.find("\n", 5) == []


def test_the_state_finds_entries_by_id():
    rows = [CaseRow(f"case-{i:05d}", ("t",), None, "p", ()) for i in range(20_000)]
    state = ReviewState(rows, "Ada <ada@example.com>")
    got = state.find_ids("CASE-0001", 50)
    assert [e.id for e in got] == [f"case-{i:05d}" for i in range(10, 20)] and all(e is state.by_id[e.id] for e in got)
    assert [e.id for e in state.find_ids("19999", 50)] == ["case-19999"]

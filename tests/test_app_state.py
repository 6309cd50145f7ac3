"""The review state: order, filters, counts, next unreviewed/flagged, other reviewers' labels."""

from __future__ import annotations

from reviewer.diff.score import Sample, assess_case, triage
from reviewer.session.state import Filter, ReviewState
from reviewer.store import Label
from reviewer.suite import Case, Check

ME = "Ann <ann@example.com>"
BOB = "Bob <bob@example.com>"


def make_state() -> ReviewState:
    cases = [
        Case(id="c-same", tags=["a"], prompt="p"),
        Case(id="b-flip", tags=["a", "b"], prompt="p", checks=[Check(kind="max_words", value=3)]),
        Case(id="a-change", tags=["b"], prompt="p"),
    ]
    state = ReviewState(cases, ME)
    assessments = triage([
        assess_case("c-same", [Sample("same words here")], [Sample("same words here")]),
        assess_case("b-flip", [Sample("one two")], [Sample("one two three four five")], checks=cases[1].checks),
        assess_case("a-change", [Sample("alpha beta gamma")], [Sample("delta epsilon zeta")]),
    ])  # fmt: skip
    state.set_assessments(assessments)
    state.rebuild()
    return state


def label(case_id: str, verdict: str, reviewer: str = ME, note: str | None = None) -> Label:
    return Label(1, case_id, reviewer, verdict, None, note, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")


def ids(state: ReviewState) -> list[str]:
    return [e.id for e in state.view]


def test_suite_order_until_ranked_then_triage_order():
    cases = [Case(id=i, prompt="p") for i in ("x", "y")]
    state = ReviewState(cases, ME)
    assert ids(state) == ["x", "y"]
    state = make_state()
    assert ids(state) == ["b-flip", "a-change", "c-same"]  # negative flip first, unchanged last


def test_sort_orders_cycle():
    state = make_state()
    seen = []
    for _ in range(4):
        seen.append((state.cycle_sort(), (state.rebuild(), ids(state))[1]))
    assert seen == [
        ("change", ["a-change", "b-flip", "c-same"]),
        ("id", ["a-change", "b-flip", "c-same"]),
        ("suite", ["c-same", "b-flip", "a-change"]),
        ("triage", ["b-flip", "a-change", "c-same"]),
    ]


def test_sort_orders_made_in_a_worker_are_the_ones_made_on_demand_and_stale_ones_are_dropped():
    state = make_state()
    token, orders = state.sort_orders()
    assert set(orders) == {"change", "id"}
    assert orders == {k: make_state()._ordered(k) for k in ("change", "id")}  # as a sort made when asked for
    state.add_orders(token, orders)
    assert state._ordered("change") is orders["change"] and state._ordered("id") is orders["id"]
    assert state.sort_orders()[1] == {}  # nothing left to make

    state = make_state()
    token, orders = state.sort_orders()
    state.set_assessments(triage([assess_case("c-same", [Sample("x")], [Sample("y z")])]))  # a new ranking meanwhile
    state.add_orders(token, orders)
    assert state._ordered("change") != orders["change"]
    assert state.entries[state._ordered("change")[0]].id == "c-same"

    state = ReviewState([Case(id=i, prompt="p") for i in ("c-same", "a-change")], ME)
    state.set_assessments(triage([assess_case("a-change", [Sample("alpha beta")], [Sample("gamma")])]))
    token, orders = state.sort_orders()
    # the case the ranking left out, assessed on its own meanwhile
    state.set_assessment("c-same", assess_case("c-same", [Sample("a")], [Sample("b c d e f g")]))
    state.add_orders(token, orders)
    assert "change" not in state._orders  # made again when asked for, with that case's change
    state.cycle_sort()
    state.rebuild()
    assert ids(state)[0] == "c-same"


def test_filter_is_or_within_a_kind_and_across_kinds():
    state = make_state()
    state.set_labels([label("a-change", "regression")])
    state.filter = Filter(verdicts=frozenset({"unreviewed"}), tags=frozenset({"b"}))
    state.rebuild()
    assert ids(state) == ["b-flip"]
    state.filter = Filter(tags=frozenset({"a", "b"}))
    state.rebuild()
    assert set(ids(state)) == {"b-flip", "a-change", "c-same"}
    state.filter = Filter(flags=frozenset({"negative_flip"}))
    state.rebuild()
    assert ids(state) == ["b-flip"]
    assert state.filter.describe() == "negative flip"


def test_find_next_unreviewed_wraps_around():
    state = make_state()
    state.set_labels([label("a-change", "acceptable")])
    unreviewed = lambda e: e.mine is None  # noqa: E731
    assert state.find(0, unreviewed) == 2  # skips a-change (position 1)
    assert state.find(2, unreviewed) == 0  # wraps
    state.set_labels([label(i, "noise") for i in ("a-change", "b-flip", "c-same")])
    assert state.find(0, unreviewed) is None


def test_disagreement_and_counts():
    state = make_state()
    state.set_labels([label("b-flip", "regression"), label("b-flip", "acceptable", BOB), label("a-change", "noise", BOB)])
    c = state.counts()
    assert c.verdicts["regression"] == 1 and c.verdicts["unreviewed"] == 2
    assert c.disagreements == 1  # a-change: Bob labelled, I did not: no disagreement yet
    assert c.others_labelled == 2
    assert state.by_id["b-flip"].disagreement
    state.filter = Filter(flags=frozenset({"disagreement"}))
    state.rebuild()
    assert ids(state) == ["b-flip"]


def test_other_labels_refresh_keeps_my_unwritten_labels():
    state = make_state()
    state.set_mine("c-same", label("c-same", "acceptable"))
    changed = state.set_other_labels([label("c-same", "regression", BOB), label("c-same", "noise", ME)])
    assert changed
    assert state.by_id["c-same"].mine.verdict == "acceptable"  # not replaced by the store's older one
    assert state.by_id["c-same"].others[BOB].verdict == "regression"
    assert not state.set_other_labels([label("c-same", "regression", BOB)])


def test_a_non_answer_flip_is_flagged_and_every_engine_flag_has_a_mark_a_style_and_a_help_line():
    from reviewer.app.screens.help import FLAG_HELP
    from reviewer.app.widgets.case_list import FLAG_MARKS
    from reviewer.diff.score import FLAG_LABELS

    declines = "There is no single answer; it depends on your preferences."
    a = assess_case("n", [Sample("Paris is the capital of France.")], [Sample(declines)])
    assert "non_answer_flip" in a.flags
    state = ReviewState([Case(id="n", prompt="p")], ME)
    state.set_assessments([a])
    assert state.by_id["n"].flagged
    assert set(FLAG_LABELS) <= set(FLAG_MARKS) and set(FLAG_LABELS) <= set(FLAG_HELP)
    assert len(set(FLAG_MARKS.values())) == len(FLAG_MARKS)

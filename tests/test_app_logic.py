"""The review's logic without its UI (reviewer.session): the LRU caches, what a search finds in the
suite, labels given and undone through a real store; and what the panels say about a decline and an
unknown noise floor, and where the diff marks the declining words."""

from __future__ import annotations

import pytest
from test_app_data import build_comparison

from reviewer.app.diffrender import DiffKey, DiffStyles, build_diff, line_spans
from reviewer.app.widgets.case_info import title_text
from reviewer.app.widgets.side_info import side_text
from reviewer.diff.score import Sample, assess_case
from reviewer.diff.signals import output_signals
from reviewer.session.cache import LRU
from reviewer.session.labels import Labeller, LabelWriter
from reviewer.session.search import suite_hits
from reviewer.session.session import Session
from reviewer.session.state import ReviewState
from reviewer.store import Output, Store
from reviewer.suite import Case, Message

ME = "Ann <ann@example.com>"


def test_lru_keeps_the_most_recently_used():
    made = []
    lru: LRU[str, int] = LRU(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # a is now the most recent
    lru.put("c", 3)
    assert lru.keys() == ["a", "c"] and "b" not in lru
    assert lru.peek("a") == 1 and lru.keys() == ["a", "c"]  # a peek is not a use
    assert lru.get_or_make("d", lambda k: made.append(k) or 4) == 4 and made == ["d"]
    assert lru.get_or_make("d", lambda k: made.append(k) or 5) == 4 and made == ["d"]
    assert len(lru) == 2
    with pytest.raises(ValueError):
        LRU(0)


def test_suite_hits_look_at_ids_tags_origin_prompt_and_messages_ignoring_case():
    cases = [
        Case(id="Refund-1", prompt="p"),
        Case(id="b", tags=["Billing"], prompt="p"),
        Case(id="c", origin="INC-42 outage", prompt="p"),
        Case(id="d", prompt="How do I reset my PASSWORD?"),
        Case(id="e", messages=[Message(role="user", content="a password question")]),
        Case(id="f", prompt="nothing here"),
    ]
    entries = ReviewState(cases, ME).entries
    assert suite_hits(entries, "refund") == {"Refund-1"}
    assert suite_hits(entries, "billing") == {"b"}
    assert suite_hits(entries, "inc-42") == {"c"}
    assert suite_hits(entries, "password") == {"d", "e"}
    assert suite_hits(entries, "  ") == set()


def test_labeller_gives_keeps_note_and_severity_and_undoes_in_a_real_store(tmp_path):
    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        session = Session(store, cid, ME)
        state = ReviewState(session.suite.suite.cases, ME)
        writer = LabelWriter(store, cid, ME)
        lab = Labeller(state, writer, cid, ME)
        e = state.entries[0]
        assert not lab.note(e, "too early")  # a note goes with a verdict
        lab.severity(e, 2)
        assert lab.note(e, "why")
        lab.verdict(e, "regression")  # same verdict: severity and note kept
        assert (e.mine.verdict, e.mine.severity, e.mine.note) == ("regression", 2, "why")
        lab.verdict(e, "noise")  # another verdict: no severity, note kept
        assert (e.mine.verdict, e.mine.severity, e.mine.note) == ("noise", None, "why")
        writer.drain()
        assert [(x.verdict, x.note) for x in store.labels(cid)] == [("noise", "why")]
        for expect in [("regression", 2, "why"), ("regression", 2, "why"), ("regression", 2, None), None]:
            entry, prev = lab.undo()
            assert entry is e
            assert (None if prev is None else (prev.verdict, prev.severity, prev.note)) == expect
        assert lab.undo() is None and e.mine is None
        writer.drain()
        assert store.labels(cid) == []
        session.close()


DECLINES = "Intro line.\nThere is no single answer; it depends on your preferences."


def test_the_diff_marks_the_words_that_decline_on_their_line():
    sig = output_signals(DECLINES)
    assert sig.decline is not None and sig.non_answer
    start, end = sig.decline_span
    assert line_spans(DECLINES, sig.decline_span) == {2: (start - 12, end - 12)}
    assert line_spans("a\r\nbc\r\n", (3, 5)) == {2: (0, 2)}
    assert line_spans("abc", None) == {}
    key = DiffKey("c", 0, 0, False, False, None, None, sig.decline_span)
    built = build_diff(key, "Intro line.\nParis.", DECLINES)
    model = built.model
    declined = []
    for y in range(model.height(120)):
        for seg in model.line(y, 120, DiffStyles()):
            if seg.style is not None and seg.style.underline:
                declined.append(seg.text)
    assert "".join(declined) == sig.decline.matched


def test_side_info_names_the_decline_and_title_says_the_noise_floor_is_unknown():
    from reviewer.store import Run

    run = Run(2, 1, "candidate", "cand", "openai", "gpt", None, {}, 1, "2024-01-01T00:00:00Z", None, "done")
    sig = output_signals(DECLINES)
    text = side_text("CANDIDATE", run, Output("c", 0, DECLINES), 0, 1, None, sig).plain
    assert "declines (non-answer, text): There is no single answer" in text
    a = assess_case("c", [Sample("Paris is the capital.")], [Sample(DECLINES)])
    assert not a.noise_known and a.change > 0
    entry = ReviewState([Case(id="c", prompt="p")], ME).entries[0]
    assert "noise floor unknown (1 sample a side)" in title_text(entry, a).plain
    b = assess_case("c", [Sample("x y z"), Sample("x y z")], [Sample("x y w"), Sample("x y w")])
    assert b.noise_known and "noise floor unknown" not in title_text(entry, b).plain


def test_a_started_search_changes_nothing_shown_until_its_hits_are_committed():
    """start_search leaves the finding to another thread (find_in_cases, stage_hits): the list
    keeps what it showed until they are committed; what it commits is what set_search and
    add_output_hits give, and a late answer for an older needle is ignored."""
    cases = [Case(id="refund", prompt="p"), Case(id="b", prompt="a refund question"), Case(id="c", prompt="x")]
    state = ReviewState(cases, ME)
    assert state.start_search("  REFUND ") and state.searching == "REFUND" and state.search is None
    assert state.search_ids is None and not state.has_search_index  # the index is not made here
    state.rebuild()
    assert len(state.view) == 3  # nothing hidden until the cases' own hits are in
    assert not state.add_output_hits("REFUND", {"c"})  # outputs come after the cases' own hits
    suite = state.find_in_cases("REFUND")  # the worker's half: makes the index
    assert state.has_search_index
    assert state.commit_hits(state.stage_hits("REFUND", suite, None)) and state.search_ids == {"refund", "b"}
    assert state.search == "REFUND" and state.searching is None
    late = state.stage_hits("REFUND", suite, {"c", "not-a-case"})
    assert not state.commit_hits(state.stage_hits("other", suite, {"c"}))
    assert state.commit_hits(late) and state.search_ids == {"refund", "b", "c"}
    state.rebuild()
    assert [e.id for e in state.view] == ["refund", "b", "c"]
    plain = ReviewState(cases, ME)
    plain.set_search("REFUND")
    plain.add_output_hits("REFUND", {"c", "not-a-case"})
    plain.rebuild()
    assert plain.search_ids == state.search_ids and [e.id for e in plain.view] == [e.id for e in state.view]
    # a second search: the first one's cases stay shown, and its late answers are ignored
    assert state.start_search("x") and state.search == "REFUND" and state.searching == "x"
    state.rebuild()
    assert [e.id for e in state.view] == ["refund", "b", "c"]
    assert not state.commit_hits(late) and not state.add_output_hits("REFUND", {"c"})
    assert state.commit_hits(state.stage_hits("x", state.find_in_cases("x"), None)) and state.search_ids == {"c"}
    # an empty needle clears at once, and drops a search still being found
    assert state.start_search("b") and not state.start_search("  ")
    assert state.search is None and state.searching is None and state.search_ids is None
    assert not state.commit_hits(state.stage_hits("b", state.find_in_cases("b"), None))


def test_a_search_finds_cases_at_once_and_outputs_later_unless_it_moved_on():
    state = ReviewState([Case(id="refund", prompt="p"), Case(id="b", prompt="a refund question"), Case(id="c", prompt="x")], ME)
    assert state.set_search("  REFUND ")
    assert state.search == "REFUND" and state.search_ids == {"refund", "b"}
    assert not state.add_output_hits("other", {"c"})  # a late answer for an older search
    assert state.add_output_hits("REFUND", {"c"}) and state.search_ids == {"refund", "b", "c"}
    state.rebuild()
    assert [e.id for e in state.view] == ["refund", "b", "c"]
    assert not state.set_search("   ")
    assert state.search is None and state.search_ids is None
    state.rebuild()
    assert len(state.view) == 3

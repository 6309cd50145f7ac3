"""The session opens without validating its suite: the list reads case rows from the stored JSON,
one case is validated when it is shown, a damaged stored suite is one line; the outputs' search
is stopped inside its query by the reader itself (issue 14, the app's first paint)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_app_data import build_comparison

from reviewer.session.caserows import CaseRow, split_suite
from reviewer.session.search import Cancel, SearchIndex, output_hits
from reviewer.session.session import Session
from reviewer.store import Output, Store
from reviewer.store.errors import StoreDamaged
from reviewer.suite import Suite, load_suite

ROOT = Path(__file__).resolve().parent.parent
ME = "Ada <ada@example.com>"


def _row_of(case) -> tuple:
    texts = case.texts if isinstance(case, CaseRow) else tuple(m.content for m in case.messages or ())
    return (case.id, tuple(case.tags), case.origin, case.prompt, texts)


def _stored(tmp_path: Path, suite_file: Path) -> tuple[Path, int]:
    """A store with ``suite_file`` stored and a comparison of two empty runs on it."""
    db = tmp_path / "r.db"
    with Store(db) as store:
        sid = store.upsert_suite(load_suite(suite_file))
        runs = [
            store.create_run(
                suite_id=sid, provider="openai", model=m, base_url=None, params={}, samples=1, side=side, status="complete"
            )
            for m, side in (("a", "baseline"), ("b", "candidate"))
        ]
        cid = store.create_comparison(
            suite_id=sid, baseline_run_id=runs[0], candidate_run_id=runs[1], name="x", status="complete"
        )
    return db, cid


@pytest.mark.parametrize("source", ["outline", "content"])
@pytest.mark.parametrize("name", ["tools.yaml", "demo.yaml", "probe.yaml"])
def test_rows_and_each_validated_case_are_what_the_whole_suite_gives(tmp_path, name, source):
    """From the outline stored beside the suite (schema v8: where each case lies; the prompts
    read from the content when a search first asks), or from the content when there is none."""
    suite_file = ROOT / "suites" / name
    if not suite_file.exists():
        pytest.skip(f"no suites/{name}")
    db, cid = _stored(tmp_path, suite_file)
    with Store(db) as store:
        if source == "content":
            store.db.execute("UPDATE suites SET outline = NULL")
        whole = store.suite(store.comparison(cid).suite_id).suite
        session = Session(store, cid, ME)
        assert session._suite is None  # nothing validated at the start
        assert session._rows.texts_read is (source == "content")  # no prompt read yet from the outline
        rows = session.case_rows()
        assert [_row_of(r) for r in rows] == [_row_of(c) for c in whole.cases] and len(rows) > 3
        assert session._rows.texts_read
        assert all(isinstance(r, CaseRow) for r in rows)
        for c in whole.cases:
            one = session.case(c.id)
            assert one == c and one.inherited == c.inherited  # tools taken from the defaults, as the suite gives them
            assert session.case(c.id) is one  # kept
        assert session._suite is None
        assert session.defaults == whole.defaults and session.suite_head.suite.cases == []
        assert session.suite.suite == whole  # the whole suite on demand, equal to the store's
        with pytest.raises(LookupError, match="no case 'nope'"):
            session.case("nope")
        # the search finds the same cases in rows as in validated cases
        for needle in ("the", "json", rows[-1].id, "zzz-absent"):
            assert SearchIndex(rows).find(needle) == SearchIndex(whole.cases).find(needle)
        session.close()


def test_split_suite_walks_whitespace_and_refuses_what_is_not_a_suite():
    text = json.dumps({"suite": "s", "defaults": {"params": {"cases": [1]}}, "cases": [{"id": "a", "prompt": "p"}, {"id": "b", "messages": [{"role": "user", "content": "hi"}], "tags": ["t"]}]}, indent=2)  # fmt: skip
    rows = split_suite(text)
    assert [_row_of(r) for r in rows.rows] == [("a", (), None, "p", ()), ("b", ("t",), None, None, ("hi",))]
    assert rows.head == {"suite": "s", "defaults": {"params": {"cases": [1]}}}
    assert rows.case_json("b")["tags"] == ["t"]
    for bad in ("", "[]", '{"suite": "s", "cases": {}}', '{"suite": "s", "cases": [{"id": 3}]}', '{"suite": "s", "cases": [1]}',
                '{"suite": "s", "cases": [{"id": "a", "tags": [1]}]}', '{"suite": "s", "cases": [{"id": "a"}, {"id": "a"}]}',
                '{"suite": "s"} x', '{"suite": "s", "cases": [{"id": "a"}', '{"suite": "s" "cases": []}',
                '{"suite": "s", "cases": [{"prompt": "p"}]}', '{"suite": "s", "cases": [{"id": "a", "tags": "ab"}]}',
                '{"suite": "s", "cases": [{"id": "a", "prompt": 1}]}', '{"suite": "s", "cases": [{"id": "a", "origin": []}]}',
                '{"suite": "s", "cases": [{"id": "a", "messages": [{"content": 1}]}]}',
                '{"suite": "s", "cases": [{"id": "a", "messages": [{"role": "user"}]}]}',
                '{"suite": "s", "cases": [{"id": "a", "messages": ["x"]}]}',
                '{"suite": "s", "cases": [{"id": "a", "messages": {"content": "x"}}]}'):  # fmt: skip
        with pytest.raises(ValueError):  # JSONDecodeError is one
            split_suite(bad)


def _outline_of(db: Path) -> tuple[str, dict]:
    conn = sqlite3.connect(db)
    content, outline = conn.execute("SELECT content, outline FROM suites").fetchone()
    conn.close()
    return content, json.loads(outline)


def _set_outline(db: Path, outline: object) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE suites SET outline = ?", (outline if isinstance(outline, str) else json.dumps(outline),))
    conn.close()


def _bad_outlines(doc: dict) -> dict[str, object]:
    def changed(**parts: object) -> dict:
        return {**doc, **parts}

    starts, ends, cases = doc["starts"], doc["ends"], doc["cases"]
    return {
        "not JSON": "{",
        "not an object": "[]",
        "from before v8 (no places)": {k: v for k, v in doc.items() if k not in ("starts", "ends")},
        "one place short": changed(ends=ends[:-1]),
        "places shifted": changed(starts=[a + 1 for a in starts], ends=[b + 1 for b in ends]),
        "a place past the end": changed(ends=[*ends[:-1], 10**9]),
        "places out of order": changed(starts=[starts[1], starts[0], *starts[2:]], ends=[ends[1], ends[0], *ends[2:]]),
        "a place before the start": changed(starts=[-1, *starts[1:]]),
        "a place not a number": changed(starts=[str(starts[0]), *starts[1:]]),
        "tags not a list": changed(cases=[[cases[0][0], "ab", *cases[0][2:]], *cases[1:]]),
        "an id not a string": changed(cases=[[1, *cases[0][1:]], *cases[1:]]),
        "a case not a row": changed(cases=[cases[0][:2], *cases[1:]]),
        "two ids the same": changed(cases=[cases[0], [cases[0][0], *cases[1][1:]], *cases[2:]]),
    }


def test_a_v7_store_has_its_outlines_made_again_with_the_places_on_upgrade(tmp_path):
    from test_assessment_cache import set_back

    db, cid = _stored(tmp_path, ROOT / "suites" / "demo.yaml")
    content, doc = _outline_of(db)
    before_v8 = json.dumps({k: v for k, v in doc.items() if k not in ("starts", "ends")})
    set_back(Store(db), 7, "", ("UPDATE suites SET outline = ?", (before_v8,)))
    with Store(db) as store:
        assert store.schema_version == 8
        assert _outline_of(db)[1] == doc  # made again from the content, places and all
        session = Session(store, cid, ME)
        assert not session._rows.texts_read  # listed from the outline
        assert [_row_of(r) for r in session.case_rows()] == [_row_of(r) for r in split_suite(content).rows]
        session.close()


BAD_OUTLINES = list(_bad_outlines({"starts": [0, 2], "ends": [1, 3], "cases": [[0, 0, 0, 0, 0]] * 2}))


@pytest.mark.parametrize("how", BAD_OUTLINES)
def test_an_outline_that_does_not_fit_its_content_is_passed_over_for_the_content(tmp_path, how):
    db, cid = _stored(tmp_path, ROOT / "suites" / "demo.yaml")
    content, doc = _outline_of(db)
    expected = [_row_of(r) for r in split_suite(content).rows]
    _set_outline(db, _bad_outlines(doc)[how])
    with Store(db) as store:
        session = Session(store, cid, ME)
        assert session._rows.texts_read  # split from the content
        assert [_row_of(r) for r in session.case_rows()] == expected
        assert session.case(expected[1][0]).id == expected[1][0]
        session.close()


def test_an_outline_whose_places_hold_other_cases_is_a_damaged_store_when_shown_or_searched(tmp_path):
    """Places that each hold a case, but not the one its row names (two ids swapped): the list
    opens; the case shown is checked against its row (one line), and the first search reads
    every prompt and says so."""
    db, cid = _stored(tmp_path, ROOT / "suites" / "demo.yaml")
    _, doc = _outline_of(db)
    rows = doc["cases"]
    rows[0][0], rows[1][0] = rows[1][0], rows[0][0]
    _set_outline(db, doc)
    first, second = rows[0][0], rows[1][0]
    with Store(db) as store:
        session = Session(store, cid, ME)
        assert [r.id for r in session.case_rows()][:2] == [first, second]
        with pytest.raises(StoreDamaged, match=f"case '{first}'.*outline does not match its content") as e:
            session.case(first)
        assert "\n" not in str(e.value)
        assert session.case(doc["cases"][2][0]).id == doc["cases"][2][0]  # the others are what they say
        with pytest.raises(ValueError, match="outline does not match its content"):
            session.case_rows()[5].prompt  # noqa: B018  (the first prompt read fills every row)
        session.close()


def _damage(db: Path, content: str) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE suites SET content = ?", (content,))
    conn.close()


def test_a_damaged_stored_suite_is_one_line_from_the_command(tmp_path):
    db, _ = build_comparison(tmp_path)
    _damage(db, '{"suite": "support-bot", "cases": [{"id": "a", "prompt": ')
    proc = subprocess.run(
        [sys.executable, "-m", "reviewer", "review", "--db", str(db)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "suite 1" in lines[0] and "not a stored suite" in lines[0] and "Traceback" not in proc.stderr


def test_a_stored_case_that_no_longer_validates_is_one_line_when_shown(tmp_path):
    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        doc = json.loads(store.suite(store.comparison(cid).suite_id).suite.model_dump_json(exclude_none=True))
    first = doc["cases"][0]["id"]
    doc["cases"][0]["checks"] = [{"kind": "no-such-check"}]
    _damage(db, json.dumps(doc))
    with Store(db) as store:
        session = Session(store, cid, ME)  # the rows still read: the list opens
        assert session.case_rows()[0].id == first
        assert session.case(doc["cases"][1]["id"]).id == doc["cases"][1]["id"]
        with pytest.raises(StoreDamaged, match=f"case '{first}' does not validate") as e:
            session.case(first)
        assert "\n" not in str(e.value)
        session.close()


class Stop:
    """A cancel flag that says stop from its n-th look on, counting the looks."""

    def __init__(self, after: int) -> None:
        self.after, self.looks = after, 0

    def __call__(self) -> bool:
        self.looks += 1
        return self.looks >= self.after


def test_the_reader_stops_a_search_inside_its_query_and_clears_the_handler(tmp_path):
    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        session = Session(store, cid, ME)
        filler = [Output(f"filler-{i}", 0, text="lorem ipsum " * 8 + ("needle" if i == 11_999 else "")) for i in range(12_000)]
        store.save_outputs(session.candidate.id, filler)
        reader = store.reader()
        runs = (session.baseline.id, session.candidate.id)
        assert reader.search_outputs(runs, "needle", lambda: False) == {"filler-11999"}
        stop = Stop(3)
        assert reader.search_outputs(runs, "needle", stop) is None
        assert 3 <= stop.looks < 50  # asked within the query, which stopped well before its end
        # the handler is gone: a search without a flag runs to its end on the same connection
        assert reader.search_outputs(runs, "NEEDLE") == {"filler-11999"}
        assert reader.search_outputs(runs, "needle", lambda: True) is None  # already cancelled: no query
        reader.close()
        # the session passes the flag through, and output_hits uses it (no reach into the reader)
        assert session.search_outputs("needle", Stop(2)) is None
        done = Cancel()
        done.set()
        assert output_hits(session, "needle", done) is None
        found: list[object] = []
        t = threading.Thread(target=lambda: found.append(output_hits(session, "needle", Cancel())))
        t.start()
        t.join()
        assert found == [{"filler-11999"}]
        session.close()


def test_a_suite_opened_whole_later_needs_no_store(tmp_path):
    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        session = Session(store, cid, ME)
        session.close()
    assert (
        isinstance(session.suite.suite, Suite)
        and session.suite.path
        and len(session.suite.suite.cases) == len(session.case_rows())
    )


async def test_the_app_shows_a_stored_case_that_no_longer_validates_as_one_line(tmp_path, monkeypatch):
    from test_app_data import rank_comparison

    from reviewer.app import ReviewApp
    from reviewer.app.screens.review import ReviewScreen
    from reviewer.app.widgets.diff_view import DiffView

    monkeypatch.setenv("REVIEWER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "config"))
    db, cid = build_comparison(tmp_path / "cmp")
    rank_comparison(db, cid)  # from the cache: no ranking child (which validates the whole suite)
    with Store(db) as store:
        doc = json.loads(store.suite(store.comparison(cid).suite_id).suite.model_dump_json(exclude_none=True))
    bad, good = doc["cases"][0]["id"], doc["cases"][1]["id"]
    doc["cases"][0]["checks"] = [{"kind": "no-such-check"}]
    _damage(db, json.dumps(doc))
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=(160, 45)) as pilot:
        for _ in range(500):
            if isinstance(pilot.app.screen, ReviewScreen) and not pilot.app.screen.ranking:
                break
            await pilot.pause(0.02)
        screen = pilot.app.screen
        screen.goto_case(bad)
        await pilot.pause()
        diff = screen.query_one(DiffView)
        assert diff.model is None and f"case '{bad}' does not validate" in diff.placeholder and "\n" not in diff.placeholder
        await pilot.press("p")  # promote: no form for a case that does not validate, and no crash
        await pilot.pause()
        assert pilot.app.screen is screen
        screen.goto_case(good)
        await pilot.pause()
        assert screen.current is not None and screen.current.id == good and diff.model is not None


def test_the_cache_key_is_counted_on_a_thread_of_its_own_from_the_start_and_taken_once(tmp_path):
    """Counting the outputs for the cache's key runs in SQLite without the GIL (~70 ms at
    100,000 cases): a thread starts it with the session, on its own connection; the first look
    at the cache takes it, the next ones count again (outputs may have come meanwhile)."""
    from reviewer.analysis import cache_key, ranked

    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        expected = ranked(store, cid)
        session = Session(store, cid, ME)
        ahead = session._key_ahead
        assert ahead is not None and ahead._thread.name == "reviewer-cache-key"
        assert list(session.cached_assessments()) == expected
        assert session._key_ahead is None and not ahead._thread.is_alive()
        assert ahead.take() == cache_key(store, store.comparison(cid))
        # the next look counts again: a cache gone stale since is not taken for fresh
        comp = store.comparison(cid)
        store.save_outputs(comp.candidate_run_id, [Output("refund-policy", 9, "one more")], replace=False)
        assert session.cached_assessments() is None
        session.close()
        again = Session(store, cid, ME)
        again.close()  # before the key was taken: waits for its thread
        assert again._key_ahead is None


def _outlined(content: str) -> str:
    """The outline of a one-case suite's content (case "a", tagged "t")."""
    start = content.index('{"id"')
    return json.dumps({"head": {"suite": "s"}, "checks": [[]], "cases": [["a", ["t"], 0, None, None]],
                       "starts": [start], "ends": [len(content) - 2]})  # fmt: skip


GOOD_ONE_CASE = '{"suite":"s","cases":[{"id":"a","tags":["t"],"prompt":"hi","messages":[{"role":"user","content":"x"}]}]}'


def test_rows_from_the_outline_read_their_prompts_checked_as_the_content_split_is():
    from reviewer.session.caserows import rows_from_outline

    good = GOOD_ONE_CASE
    rows = rows_from_outline(good, _outlined(good))
    assert rows is not None and not rows.texts_read
    assert (rows.rows[0].prompt, rows.rows[0].texts) == ("hi", ("x",)) and rows.texts_read
    for bad in ('{"suite":"s","cases":[{"id":"a","tags":["t"],"prompt":1}]}',
                '{"suite":"s","cases":[{"id":"a","tags":["t"],"messages":[{"role":"user","content":2}]}]}'):  # fmt: skip
        rows = rows_from_outline(bad, _outlined(bad))
        assert rows is not None  # the list opens: the outline fits
        with pytest.raises(ValueError):
            rows.rows[0].prompt  # noqa: B018


def test_the_prompts_read_from_the_content_are_frozen_as_read_and_a_bad_read_freezes_nothing():
    """They live as long as the rows: left young, the collector's passes scanned them as the
    parse grew (at 100,000 cases, a full pass during the first search, ~40 ms on the UI thread)."""
    import gc

    from reviewer.session.caserows import rows_from_outline

    bad = '{"suite":"s","cases":[{"id":"a","tags":["t"],"prompt":1}]}'
    gc.unfreeze()
    try:
        rows = rows_from_outline(bad, _outlined(bad))
        assert rows is not None
        with pytest.raises(ValueError):
            rows.fill()
        assert gc.get_freeze_count() == 0 and gc.isenabled()
        rows = rows_from_outline(GOOD_ONE_CASE, _outlined(GOOD_ONE_CASE))
        assert rows is not None
        texts = rows.fill()
        assert texts == [("hi", ("x",))] and gc.isenabled()
        tracked = {id(o) for g in (0, 1, 2) for o in gc.get_objects(generation=g)}
        assert id(texts) not in tracked and id(texts[0]) not in tracked  # in the permanent generation
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()

"""The review app driven by keys (Textual's Pilot), checked on the app's state, on the screen and
on the store. Every test runs on its own database and config/data dirs under tmp_path."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_app_data import HOSTILE, OUTPUTS, build_comparison, copy_comparison, rank_comparison
from textual.worker import WorkerState

from reviewer.app import ReviewApp
from reviewer.app.screens.review import ReviewScreen
from reviewer.app.widgets.case_info import InfoStatic
from reviewer.app.widgets.case_list import CaseList
from reviewer.app.widgets.diff_view import DiffView
from reviewer.app.widgets.key_bar import KeyBar
from reviewer.store import Store

ME = "Ann Reviewer <ann@example.com>"
BOB = "Bob Second <bob@example.com>"
SIZE = (160, 45)


@pytest.fixture(scope="module")
def ranked(tmp_path_factory) -> tuple[Path, int]:
    """The comparison, built and ranked once for the module (the ranking child's own function)."""
    src = tmp_path_factory.mktemp("ranked") / "cmp"
    db, cid = build_comparison(src)
    rank_comparison(db, cid)
    return src, cid


@pytest.fixture
def env(tmp_path, monkeypatch, ranked):
    """This test's own copy of the ranked comparison (it opens from the cache, no ranking child)."""
    monkeypatch.setenv("REVIEWER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("REVIEWER_KEYMAP", raising=False)
    src, cid = ranked
    db = copy_comparison(src, tmp_path / "cmp")
    monkeypatch.setenv("REVIEWER_DB", str(db))
    return db, cid


@pytest.fixture
def unranked_env(tmp_path, monkeypatch):
    """A comparison nothing has ranked yet: the app starts the ranking child."""
    monkeypatch.setenv("REVIEWER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("REVIEWER_KEYMAP", raising=False)
    db, cid = build_comparison(tmp_path / "cmp")
    monkeypatch.setenv("REVIEWER_DB", str(db))
    return db, cid


async def ready(pilot) -> ReviewScreen:
    """The review screen once the ranking worker has finished."""
    for _ in range(500):
        screen = pilot.app.screen
        if isinstance(screen, ReviewScreen) and not screen.ranking:
            break
        await pilot.pause(0.02)
    else:
        raise AssertionError("ranking never finished")
    await pilot.pause()
    return screen


async def settle(pilot) -> None:
    """Until no label is waiting to be written and no worker runs."""
    app = pilot.app
    for _ in range(1000):
        busy = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING) and w.group != "poll"]
        if app.writer.pending == 0 and not busy:
            break
        await pilot.pause(0.01)
    await pilot.pause()


def text_of(app, selector: str) -> str:
    return app.screen.query_one(selector, InfoStatic).plain(width=200)


def stored(db: Path, cid: int) -> dict[tuple[str, str], tuple]:
    with Store(db) as store:
        return {(lab.case_id, lab.reviewer): (lab.verdict, lab.severity, lab.note) for lab in store.labels(cid)}


async def goto(pilot, case_id: str) -> ReviewScreen:
    screen = pilot.app.screen
    screen.goto_case(case_id)
    await pilot.pause()
    assert screen.current.id == case_id
    return screen


def list_line(app, case_id: str) -> str:
    cases = app.screen.query_one(CaseList)
    row = cases.row_of(app.screen.state.position(case_id))
    cases.scroll_to(y=row, animate=False, immediate=True)
    return cases.render_line(row - int(cases.scroll_offset.y)).text


def diff_text(app) -> str:
    return "\n".join(app.screen.query_one(DiffView).text_lines())


# -- opening ------------------------------------------------------------------------------------


async def test_opens_the_latest_comparison_ranked_in_triage_order(env):
    db, cid = env
    async with ReviewApp(db, None, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert screen.session.id == cid
        order = [e.id for e in screen.state.view]
        assert set(order) == set(OUTPUTS)
        flagged = [e.id for e in screen.state.view if e.assessment.tier == 0]
        assert order[: len(flagged)] == flagged  # flagged cases first
        assert order[-1] == "greeting"  # unchanged last
        assert screen.current.id == order[0]  # the cursor starts at the top of the triage
        header = text_of(pilot.app, "#list-header")
        assert "10 cases" in header and "to review" in header and "ranking" not in header


async def test_first_paint_shows_the_list_before_ranking(unranked_env):
    db, cid = unranked_env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, ReviewScreen)
        # nothing is cached yet: a child process is ranking while the list is already usable,
        # in suite order, with the first case on screen
        assert screen.ranking
        assert [e.id for e in screen.state.view] == list(OUTPUTS)
        assert "ranking…" in text_of(pilot.app, "#list-header")
        assert screen.current.id == "refund-policy" and "30 days" in diff_text(pilot.app)
        await pilot.press("j")
        assert screen.current.id == "order-json"
        await ready(pilot)
        assert "ranking" not in text_of(pilot.app, "#list-header")
        assert screen.current.id == "order-json"  # the reviewer moved: ranking keeps their case


async def test_after_an_upgrade_the_last_versions_ranking_shows_marked_until_this_ones_is_made(env):
    """The diff engine changed (an upgrade): the cache is stale, and this version ranks again in
    a child. Meanwhile the list shows the ranking cached for the same outputs by the earlier
    engine, and says so; then this version's. Reversed here, to tell the two apart."""
    from reviewer.analysis import assess_comparison, cache_key, save_rows, stored_rows
    from reviewer.analysis import ranked as ranked_rows

    db, cid = env
    with Store(db) as store:
        comp = store.comparison(cid)
        key = cache_key(store, comp)
        fresh = [r.case_id for r in ranked_rows(store, cid)]
        data = store.load_comparison(cid)
        rows = stored_rows(data, assess_comparison(store, data))
        by_id = {r[0]: r for r in rows}
        earlier = [by_id[i] for i in reversed(fresh)]
        save_rows(store, cid, "0123456789abcdef:" + key.partition(":")[2], earlier)  # another engine's digest
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = pilot.app.screen
        for _ in range(500):
            if screen.state.ranked_by_earlier or not screen.ranking:
                break
            await pilot.pause(0.01)
        assert screen.state.ranked_by_earlier and screen.ranking  # shown before this version's
        assert [e.id for e in screen.state.view] == list(reversed(fresh))
        header = text_of(pilot.app, "#list-header")
        assert "ranking…" in header and "order: last version's" in header
        await ready(pilot)
        assert not screen.state.ranked_by_earlier
        assert [e.id for e in screen.state.view] == fresh
        assert "ranking" not in text_of(pilot.app, "#list-header")


def _first_ranking_comparison(tmp_path, monkeypatch, alike: int, *, broken: bool = False) -> tuple[Path, int, list[str]]:
    """A comparison nothing has ranked: ``alike`` cases alike, one that changed (``longer``),
    and with ``broken`` a last one, alike, whose stored case no longer validates; with the case
    ids in suite order."""
    from test_analysis import make_comparison

    monkeypatch.setenv("REVIEWER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "config"))
    outputs = {f"alike-{i:04d}": ([f"answer {i} one two"] * 2, [f"answer {i} two one"] * 2) for i in range(alike)}
    outputs["longer"] = (["A short answer."] * 2, ["A much longer answer about the refund policy. " * 5] * 2)
    if broken:
        outputs["zz-broken"] = (["x"] * 2, ["x"] * 2)  # alike and last: in the last chunk
    store, cid = make_comparison(tmp_path, outputs)
    if broken:
        sid = store.comparison(cid).suite_id
        doc = json.loads(store.suite_json(sid))
        doc["cases"][-1]["checks"] = [{"no_such_check": True}]
        store.db.execute("UPDATE suites SET content = ? WHERE id = ?", (json.dumps(doc), sid))
    store.close()
    return tmp_path / "a.db", cid, list(outputs)


async def test_a_first_ranking_shows_the_cases_assessed_so_far_ranked_ahead_of_the_others(tmp_path, monkeypatch):
    """No cache, more than a chunk of cases: the list shows the ranking of the cases assessed so
    far (the likeliest changed first: the one whose answer got longer), ahead of the others in
    suite order, and says so; then the whole ranking."""
    from reviewer.analysis import CHUNK

    db, cid, ids = _first_ranking_comparison(tmp_path, monkeypatch, 2 * CHUNK)
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, ReviewScreen)
        seen = None
        for _ in range(1000):
            if screen.state.assessed_so_far is not None:
                seen = screen.state.assessed_so_far, [e.id for e in screen.state.view], text_of(pilot.app, "#list-header")
                await pilot.pause()  # the list's cursor has moved: its message is handled
                break
            if not screen.ranking:
                break
            await pilot.pause(0.01)
        assert seen is not None, "no partial ranking was shown"
        assessed, view, header = seen
        assert assessed in (CHUNK, 2 * CHUNK)
        assert view[0] == "longer" and screen.current.id == "longer"  # the reviewer did not move: the top
        assert len(view) == len(ids)
        unassessed = [i for i in ids if i not in set(view[:assessed])]
        assert view[assessed:] == unassessed  # the rest in suite order
        assert "ranking…" in header and f"{assessed:,} ranked first" in header
        await ready(pilot)
        assert screen.state.assessed_so_far is None and "ranking" not in text_of(pilot.app, "#list-header")
        assert screen.state.view[0].id == "longer"
        for _ in range(500):  # the header's scan of every output, started with the partial ranking
            if screen.provenance:
                break
            await pilot.pause(0.01)
        assert set(screen.provenance) >= {"baseline", "candidate"}


async def _failed(pilot) -> ReviewScreen:
    """The review screen once its ranking failed: told in one line, and the review goes on."""
    screen = pilot.app.screen
    assert isinstance(screen, ReviewScreen)
    for _ in range(1000):
        if not screen.ranking:  # the whole ranking, or the worker's error
            break
        await pilot.pause(0.01)
    await pilot.pause()
    assert pilot.app.is_running and not screen.ranking
    told = [n.message for n in pilot.app._notifications]
    assert any("ranking failed" in m and "ValidationError" in m and "\n" not in m for m in told), told
    return screen


async def test_a_ranking_that_fails_at_once_says_the_list_is_in_suite_order(tmp_path, monkeypatch):
    db, cid, _ = _first_ranking_comparison(tmp_path, monkeypatch, 3, broken=True)
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await _failed(pilot)
        assert not screen.state.ranked and [e.id for e in screen.state.view][:2] == ["alike-0000", "alike-0001"]
        assert "ranking failed · order: the suite's" in text_of(pilot.app, "#list-header")


async def test_a_ranking_that_fails_after_a_partial_one_says_the_list_is_only_partly_ranked(tmp_path, monkeypatch):
    """The ranking child fails on its last chunk (a stored case that no longer validates): the
    error is shown, and the list, still the partial ranking, says the ranking failed and how many
    cases it ranked, instead of passing for a whole ranking."""
    from reviewer.analysis import CHUNK

    db, cid, _ = _first_ranking_comparison(tmp_path, monkeypatch, 2 * CHUNK, broken=True)
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await _failed(pilot)
        assert screen.state.assessed_so_far in (CHUNK, 2 * CHUNK)
        header = text_of(pilot.app, "#list-header")
        assert "ranking failed" in header and f"{screen.state.assessed_so_far:,} ranked first" in header
        assert screen.state.view[0].id == "longer"


async def test_a_first_ranking_of_a_chunk_or_fewer_still_scans_for_the_headers_models(unranked_env):
    db, cid = unranked_env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        await ready(pilot)
        for _ in range(500):
            if "candidate fingerprint changed within the run" in text_of(pilot.app, "#topbar"):
                break
            await pilot.pause(0.01)
        assert "candidate fingerprint changed within the run" in text_of(pilot.app, "#topbar")


async def test_a_ranking_cached_for_other_outputs_is_not_shown_while_ranking(env):
    from reviewer.analysis import cache_key

    db, cid = env
    with Store(db) as store:
        key = cache_key(store, store.comparison(cid))
        store.db.execute("UPDATE assessments SET key = ? WHERE comparison_id = ?", ("0123456789abcdef:other-outputs", cid))
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = pilot.app.screen
        seen = False
        for _ in range(500):
            seen |= screen.state.ranked_by_earlier
            if not screen.ranking:
                break
            await pilot.pause(0.01)
        assert not seen and screen.state.ranked
    with Store(db) as store:
        assert store.assessment_key(cid) == key  # ranked again and cached by this version


# -- moving -------------------------------------------------------------------------------------


async def test_j_k_arrows_g_G_move_through_the_list(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        view = [e.id for e in screen.state.view]
        await pilot.press("j")
        assert screen.current.id == view[1]
        await pilot.press("down", "down")
        assert screen.current.id == view[3]
        await pilot.press("k")
        assert screen.current.id == view[2]
        await pilot.press("up")
        assert screen.current.id == view[1]
        await pilot.press("G")
        assert screen.current.id == view[-1]
        await pilot.press("g")
        assert screen.current.id == view[0]
        await pilot.press("end")
        assert screen.current.id == view[-1]
        await pilot.press("home")
        assert screen.current.id == view[0]
        # the diff follows the cursor
        await goto(pilot, "dosage-question")
        assert "pharmacist" in diff_text(pilot.app)


async def test_n_goes_to_the_next_unreviewed_and_N_to_the_next_flagged(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        view = screen.state.view
        await pilot.press("a", "j", "a", "k")  # label the first two
        assert screen.current.id == view[0].id
        await pilot.press("n")
        assert screen.current.id == view[2].id
        await pilot.press("G", "N")  # wraps around to the first flagged case
        assert screen.current.flagged
        assert screen.current.id == view[0].id


async def test_mouse_click_selects_a_case(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.click(CaseList, offset=(10, 3))
        await pilot.pause()
        assert screen.current.id == screen.state.view[3].id


# -- labels -------------------------------------------------------------------------------------


async def test_label_keys_are_saved_at_once_with_the_reviewer(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        view = [e.id for e in screen.state.view]
        await pilot.press("r", "j", "i", "j", "a", "j", "x")
        await settle(pilot)
        assert stored(db, cid) == {
            (view[0], ME): ("regression", None, None),
            (view[1], ME): ("improvement", None, None),
            (view[2], ME): ("acceptable", None, None),
            (view[3], ME): ("noise", None, None),
        }
        assert list_line(pilot.app, view[0]).startswith("✗")
        assert list_line(pilot.app, view[1]).startswith("↑")


async def test_severity_keys_make_a_regression_of_that_severity(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        first = screen.current.id
        await pilot.press("2")
        await settle(pilot)
        assert stored(db, cid)[(first, ME)] == ("regression", 2, None)
        assert list_line(pilot.app, first).startswith("✗2")
        await pilot.press("3", "r")  # r keeps the severity already given
        await settle(pilot)
        assert stored(db, cid)[(first, ME)] == ("regression", 3, None)
        await pilot.press("a")  # another verdict drops it
        await settle(pilot)
        assert stored(db, cid)[(first, ME)] == ("acceptable", None, None)


async def test_notes_are_saved_with_the_label_and_label_keys_never_fire_in_an_input(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        case = screen.current.id
        await pilot.press("r", "e")
        assert screen.focused.id == "note"
        await pilot.press(*"ran x1 raise", "enter")  # r, a, x, 1, i as text, not keys
        await settle(pilot)
        assert stored(db, cid) == {(case, ME): ("regression", None, "ran x1 raise")}
        assert isinstance(screen.focused, CaseList)
        # escape cancels an edit
        await pilot.press("e", "backspace", "backspace", "escape")
        await settle(pilot)
        assert stored(db, cid)[(case, ME)][2] == "ran x1 raise"


async def test_a_note_without_a_verdict_is_refused_not_lost(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("e", *"why", "enter")
        await settle(pilot)
        assert stored(db, cid) == {}
        assert screen.query_one("#note").value == "why"  # still there to save after a verdict
        await pilot.press("x", "e", "enter")
        await settle(pilot)
        assert stored(db, cid) == {(screen.current.id, ME): ("noise", None, "why")}


async def test_u_undoes_labels_one_at_a_time(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        first = screen.current.id
        await pilot.press("r", "a", "j")
        second = screen.current.id
        await pilot.press("i")
        await settle(pilot)
        assert stored(db, cid) == {(first, ME): ("acceptable", None, None), (second, ME): ("improvement", None, None)}
        await pilot.press("u")
        await settle(pilot)
        assert stored(db, cid) == {(first, ME): ("acceptable", None, None)}
        await pilot.press("u")  # back on the first case, which was a regression before
        await settle(pilot)
        assert screen.current.id == first
        assert stored(db, cid) == {(first, ME): ("regression", None, None)}
        await pilot.press("u")
        await settle(pilot)
        assert stored(db, cid) == {}
        assert screen.check_action("undo", ()) is None  # greyed out in the footer


async def test_labels_survive_quit_and_reopen(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        first = screen.current.id
        await pilot.press("2", "j", "i", "q")  # quit right away: pending writes still land
    assert stored(db, cid)[(first, ME)] == ("regression", 2, None)
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert screen.state.by_id[first].mine.verdict == "regression"
        assert list_line(pilot.app, first).startswith("✗2")
        assert screen.state.counts().verdicts["unreviewed"] == len(OUTPUTS) - 2


async def test_pending_labels_are_written_when_the_app_closes(env):
    db, cid = env
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        # no worker gets to drain: the writes wait in the queue until the app closes
        screen.write_labels = lambda: None
        await pilot.press("r", "j", "a")
        assert app.writer.pending == 2
        assert stored(db, cid) == {}
    assert len(stored(db, cid)) == 2


SECOND_REVIEWER = textwrap.dedent(
    """
    import asyncio, sys
    from reviewer.app import ReviewApp
    from reviewer.app.screens.review import ReviewScreen

    async def main():
        app = ReviewApp(sys.argv[1], int(sys.argv[2]), reviewer=sys.argv[3])
        async with app.run_test(size=(120, 40)) as pilot:
            while not (isinstance(app.screen, ReviewScreen) and not app.screen.ranking):
                await pilot.pause(0.05)
            app.screen.goto_case(sys.argv[4])
            await pilot.pause()
            await pilot.press(*sys.argv[5:])
            while app.writer.pending:
                await pilot.pause(0.05)

    asyncio.run(main())
    """
)


async def test_two_reviewers_at_once_on_one_database_keep_both_labels(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await goto(pilot, "refund-policy")
        await pilot.press("r")
        await settle(pilot)
        # a second process, another reviewer, labels the same case differently and another one
        proc = subprocess.run(
            [sys.executable, "-c", SECOND_REVIEWER, str(db), str(cid), BOB, "refund-policy", "a", "j", "x"],
            capture_output=True, text=True, timeout=120, env={**os.environ},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        # this app sees Bob's labels on its next poll, and the disagreement
        screen.poll_labels()
        await settle(pilot)
        entry = screen.state.by_id["refund-policy"]
        assert entry.others[BOB].verdict == "acceptable"
        assert entry.disagreement
        assert list_line(pilot.app, "refund-policy").startswith("✗ ≠")
        assert screen.state.counts().disagreements == 1
        assert "Bob Second" in text_of(pilot.app, "#title")
        await pilot.press("i")  # and my next label does not touch Bob's
        await settle(pilot)
    labels = stored(db, cid)
    assert labels[("refund-policy", ME)][0] == "improvement"
    assert labels[("refund-policy", BOB)][0] == "acceptable"
    assert sum(1 for (_, who) in labels if who == BOB) == 2


# -- view ---------------------------------------------------------------------------------------


async def test_d_toggles_the_json_structural_view(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await goto(pilot, "order-json")
        assert '"orderId"' not in diff_text(pilot.app).split("│")[0]
        await pilot.press("d")
        assert screen.json_mode
        box = screen.query_one("#json-box")
        assert box.display
        changes = text_of(pilot.app, "#json-changes")
        assert "renamed" in changes and "$.order_id" in changes and "$.orderId" in changes
        assert "type changed" in changes and "$.total" in changes
        text = diff_text(pilot.app)
        assert '"order_id": "A-1043"' in text and '"orderId": "A-1043"' in text
        assert "```" not in text  # the fence is gone: both sides pretty-printed
        await pilot.press("d")
        assert not screen.query_one("#json-box").display
        assert "```json" in diff_text(pilot.app)


async def test_d_is_greyed_out_on_a_case_without_json(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await goto(pilot, "greeting")
        keys = pilot.app.screen.query_one(KeyBar)
        assert ("d", "json", False) in keys.shown_keys
        await pilot.press("d")
        assert not screen.json_mode and not screen.query_one("#json-box").display
        await goto(pilot, "order-json")
        assert ("d", "json", True) in keys.shown_keys


async def test_w_ignores_whitespace(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "config"))
    outputs = {"spaces": (["one two three\nfour"] * 3, ["one  two   three  \nfour"] * 3)}
    suite = "suite: s\ncases:\n  - id: spaces\n    prompt: p\n"
    db, cid = build_comparison(tmp_path, outputs=outputs, suite_yaml=suite)
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        kinds = lambda: [r.kind for r in screen.query_one(DiffView).model.rows]  # noqa: E731
        assert kinds() == ["changed", "equal"]
        await pilot.press("w")
        assert kinds() == ["equal", "equal"]
        await pilot.press("w")
        assert kinds() == ["changed", "equal"]


async def test_s_cycles_the_samples(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await goto(pilot, "shipping-times")
        _base, _cand = OUTPUTS["shipping-times"]
        seen = []
        for _ in range(3):
            text = diff_text(pilot.app)
            seen.append(text)
            assert f"sample {screen.sample + 1}/3" in text_of(pilot.app, "#side-candidate")
            await pilot.press("s")
        assert "three to five" in seen[2]  # baseline sample 3
        assert "about 3-5" in seen[2]  # candidate sample 3
        assert screen.sample == 0  # wrapped around
        title = text_of(pilot.app, "#title")
        assert "noise floor" in title and "within noise" in title


async def test_m_shows_the_whole_prompt_with_system_and_reference(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await goto(pilot, "greeting")
        collapsed = text_of(pilot.app, "#prompt")
        assert "▶ prompt" in collapsed and "reference" in collapsed
        await pilot.press("m")
        expanded = text_of(pilot.app, "#prompt")
        assert "system: You are a concise, friendly support assistant" in expanded
        assert "user: Say hello to a new customer." in expanded
        assert "reference: Hello and welcome to Acme Shop!" in expanded


async def test_case_view_shows_checks_provenance_origin_and_errors(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        await ready(pilot)
        top = text_of(pilot.app, "#topbar")
        assert "candidate fingerprint changed within the run" in top
        await goto(pilot, "order-json")
        title = text_of(pilot.app, "#title")
        assert "INC-2291" in title and "added 2024-05-02" in title
        checks = text_of(pilot.app, "#checks")
        assert "json_schema" in checks and "'order_id' is a required property" in checks
        side = text_of(pilot.app, "#side-baseline")
        assert "gpt-4o-2024-05-13" in side and "fp_b1" in side and "800 ms" in side and "42→17 tok" in side and "stop" in side
        await goto(pilot, "translate-ja")
        assert "fingerprint fp_c2, not fp_c1" in text_of(pilot.app, "#side-candidate")
        await goto(pilot, "warranty-error")
        cand = text_of(pilot.app, "#side-candidate")
        assert "error: 500 upstream error: 500 Internal Server Error" in cand
        await goto(pilot, "summarize-terms")
        assert "length" in text_of(pilot.app, "#side-candidate")


async def test_diff_scroll_and_change_navigation_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "config"))
    left = "\n".join(f"line {i}" for i in range(200))
    right = left.replace("line 150", "line one-fifty")
    outputs = {"long": ([left], [right])}
    db, cid = build_comparison(tmp_path, outputs=outputs, suite_yaml="suite: s\ncases:\n  - id: long\n    prompt: p\n")
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        view = screen.query_one(DiffView)
        assert view.scroll_offset.y == 0
        await pilot.press("space")
        assert view.scroll_offset.y > 10
        await pilot.press("b")
        assert view.scroll_offset.y == 0
        await pilot.press("J")
        assert view.scroll_offset.y == 3
        await pilot.press("right_square_bracket")
        assert view.scroll_offset.y == 149  # one line of context above the change at row 150
        await pilot.press("left_square_bracket")
        assert view.scroll_offset.y == 149  # no change above: stays, and says so


# -- list ---------------------------------------------------------------------------------------


async def test_slash_searches_ids_prompts_and_outputs(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash", *"ibuprofen", "enter")  # in the prompt
        await settle(pilot)
        assert [e.id for e in screen.state.view] == ["dosage-question"]
        assert screen.current.id == "dosage-question"
        assert isinstance(screen.focused, CaseList)
        await pilot.press("slash", *["backspace"] * 9, *"PHARMACIST", "enter")  # only in an output
        await settle(pilot)
        assert [e.id for e in screen.state.view] == ["dosage-question"]
        assert "pharmacist" in "".join(screen.query_one(DiffView).text_lines()).lower()
        await pilot.press("escape")
        assert len(screen.state.view) == len(OUTPUTS)


async def test_the_first_search_is_found_off_the_ui_thread(env):
    """The search index (every case's prompt read: ~0.65 s at 100,000 cases) is made by a worker
    when the box opens, not by the key that starts the first search; a search started before it
    is ready hides nothing until the worker has found its cases, and the header says so."""
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        state = screen.state
        assert not state.has_search_index
        screen.run_search("ibuprofen")  # before any index: it is left to the search's worker
        assert state.searching == "ibuprofen" and state.search is None and len(state.view) == len(OUTPUTS)
        assert "search: ibuprofen · finding…" in text_of(pilot.app, "#list-header")
        await settle(pilot)
        assert "finding" not in text_of(pilot.app, "#list-header")
        assert state.has_search_index and [e.id for e in state.view] == ["dosage-question"]
        await pilot.press("escape")
        assert len(state.view) == len(OUTPUTS)


async def test_a_new_search_keeps_the_last_ones_cases_until_its_own_are_found(env):
    """Between a search's start and its hits, the list shows what it showed (no flash of every
    case); enter on the needle already searched starts no second scan of the outputs."""
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        state = screen.state
        await pilot.press("slash", *"ibuprofen", "enter")
        await settle(pilot)
        assert [e.id for e in state.view] == ["dosage-question"]
        screen.run_search("PHARMACIST")
        assert state.searching == "PHARMACIST" and [e.id for e in state.view] == ["dosage-question"]
        assert "search: PHARMACIST · finding…" in text_of(pilot.app, "#list-header")
        await settle(pilot)
        assert state.search == "PHARMACIST" and state.searching is None
        await pilot.press("slash", *["backspace"] * 9, *"refund")
        while (state.searching or state.search) != "refund":  # the box's search, 150 ms after the last key
            await pilot.pause(0.01)
        await settle(pilot)
        started = screen._search_cancel
        assert started is not None and not started.is_set
        await pilot.press("enter")  # the needle searched already: kept, not searched again
        await settle(pilot)
        assert screen._search_cancel is started and state.search == "refund"
        assert isinstance(screen.focused, CaseList)


async def test_slash_makes_the_search_index_before_the_first_search(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash")
        await settle(pilot)
        assert screen.state.has_search_index and screen.state.search is None


async def test_f_filters_by_verdict_flag_and_tag(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("x")  # one noise label
        await pilot.press("f")
        from reviewer.app.screens.filter import FilterScreen

        assert isinstance(pilot.app.screen, FilterScreen)
        await pilot.press("space", "enter")  # first choice: unreviewed
        assert all(e.mine is None for e in screen.state.view)
        assert len(screen.state.view) == len(OUTPUTS) - 1
        await pilot.press("f", "c", "down", "down", "down", "down", "space", "enter")  # noise only
        assert [e.verdict for e in screen.state.view] == ["noise"]
        await pilot.press("escape")  # clears the filter
        assert len(screen.state.view) == len(OUTPUTS)
        # by tag, via the command palette's preset
        screen.set_filter(screen.state.filter.toggled("tags", "policy"))
        await pilot.pause()
        assert {e.id for e in screen.state.view} == {"refund-policy", "warranty-error"}
        await pilot.press("f", "escape")  # cancel keeps the filter
        assert {e.id for e in screen.state.view} == {"refund-policy", "warranty-error"}
        header = text_of(pilot.app, "#list-header")
        assert "filter: #policy" in header and "showing 2" in header


async def test_o_cycles_the_sort_order(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        current = screen.current.id
        for _ in range(100):  # the sorts are made in a worker once the ranked list is shown
            if {"change", "id"} <= set(screen.state._orders):
                break
            await pilot.pause(0.02)
        made = dict(screen.state._orders)
        await pilot.press("o")
        assert screen.state.sort == "change"
        assert screen.state._ordered("change") is made["change"]  # the one made ahead, not sorted again
        changes = [e.assessment.change for e in screen.state.view]
        assert changes == sorted(changes, reverse=True)
        assert screen.current.id == current  # the cursor stays on its case
        await pilot.press("o")
        assert [e.id for e in screen.state.view] == sorted(OUTPUTS)
        await pilot.press("o")
        assert [e.id for e in screen.state.view] == list(OUTPUTS)  # suite file order
        await pilot.press("o")
        assert screen.state.sort == "triage"


# -- other screens ------------------------------------------------------------------------------


async def test_question_mark_shows_help_with_every_key(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        from reviewer.app.screens.help import HelpScreen

        assert isinstance(pilot.app.screen, HelpScreen)
        body = text_of(pilot.app, "#help-body")
        for words in ("Regression", "Next unreviewed", "Undo", "JSON structural view", "whitespace", "Next sample",
                      "Search ids", "Filter by", "Sort order", "Promote", "severity 2", "Next change in the diff", "Quit"):  # fmt: skip
            assert words in body, words
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, ReviewScreen)


async def test_keymap_file_rebinds_keys(env, tmp_path):
    db, cid = env
    config = Path(os.environ["REVIEWER_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "keymap.yaml").write_text("label.noise: z\n")
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("x")
        await pilot.press("z")
        await settle(pilot)
        assert stored(db, cid) == {(screen.current.id, ME): ("noise", None, None)}
        await pilot.press("question_mark")
        import re

        body = text_of(pilot.app, "#help-body")
        assert re.search(r"^\s*z\s+Noise", body, re.M) and not re.search(r"^\s*x\s+Noise", body, re.M)


async def test_p_promotes_the_case_into_its_suite_file(env):
    from reviewer.app.promote import PromoteScreen
    from reviewer.suite import load_suite

    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await goto(pilot, "order-json")
        await pilot.press("r", "e", *"fenced JSON broke the orders API", "enter")
        await pilot.press("p")
        form = pilot.app.screen
        assert isinstance(form, PromoteScreen)
        assert form.case.id == "order-json"
        assert form.baseline_text == OUTPUTS["order-json"][0][0]
        assert any(c.kind == "regex" for c in form.suggested)  # bare → fenced: a whole-output anchor
        assert "fenced JSON broke the orders API" in form.default_origin
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert pilot.app.screen is screen
    suite = load_suite(screen.session.suite.path).suite
    added = [c for c in suite.cases if c.id not in OUTPUTS]
    assert len(added) == 1 and added[0].reference == OUTPUTS["order-json"][0][0]


async def palette_found(pilot, text: str) -> None:
    """Until the command palette has finished searching and highlights a command naming ``text``."""
    from textual.command import CommandList, CommandPalette

    group = CommandPalette._GATHER_COMMANDS_GROUP
    for _ in range(1000):
        palette = pilot.app.screen
        searching = [w for w in pilot.app.workers if w.group == group and w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        if isinstance(palette, CommandPalette) and not searching:
            found = palette.query_one(CommandList)
            if found.highlighted is not None and text in str(found.get_option_at_index(found.highlighted).prompt):
                return
        await pilot.pause(0.01)
    raise AssertionError(f"the palette never offered {text!r}")


async def test_command_palette_goes_to_a_case_and_runs_actions(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("ctrl+p", *"translate-ja")
        await palette_found(pilot, "translate-ja")
        await pilot.press("enter")
        await pilot.pause()
        assert screen.current.id == "translate-ja"
        await pilot.press("ctrl+p", *"only format drift")
        await palette_found(pilot, "format drift")
        await pilot.press("enter")
        await pilot.pause()
        assert {e.id for e in screen.state.view} == {"order-json", "setup-steps"}


# -- untrusted text -----------------------------------------------------------------------------


async def test_hostile_output_is_shown_literally(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await goto(pilot, "hostile-output")
        view = screen.query_one(DiffView)
        text = diff_text(pilot.app)
        assert "[bold red]INJECTED[/bold red]" in text
        assert "[link=https://evil.example]click[/link]" in text
        assert "␛[2J␛[31mred alert␛[0m" in text
        for shown in ("⟨U+200B⟩", "⟨U+202E⟩", "⟨U+E0041⟩", "␇", "⇥"):
            assert shown in text
        for raw in ("\x1b", "\x07", "\u200b", "\u202e", "\U000e0041", "\t", "\r"):
            assert raw not in text
        # every painted line is exactly the widget's width, wide characters included
        from rich.cells import cell_len

        width = view.scrollable_content_region.width
        for y in range(view.size.height):
            assert cell_len(view.render_line(y).text) == width
        assert "中文字符" in text and "😀" in text
        assert text.count("␛") == HOSTILE.count("\x1b")  # each escape shown, none dropped


async def test_a_one_megabyte_output_is_aligned_off_the_ui_thread(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "config"))
    big_left = "\n".join(f"{i}: " + "lorem ipsum dolor sit amet " * 3 for i in range(12000))
    big_right = big_left.replace("\n1000: lorem", "\n1000: LOREM")
    outputs = {"small": (["a"], ["b"]), "huge": ([big_left], [big_right])}
    suite = "suite: s\ncases:\n  - id: small\n    prompt: p\n  - id: huge\n    prompt: p\n"
    db, cid = build_comparison(tmp_path, outputs=outputs, suite_yaml=suite)
    assert len(big_left) > 1_000_000
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await goto(pilot, "small")
        await settle(pilot)
        screen._diffs.clear()  # the start may already have shown (and aligned) it
        screen.goto_case("huge")
        while screen.current.id != "huge":  # until the screen handled the move, not until idle
            await asyncio.sleep(0)
        view = screen.query_one(DiffView)
        assert view.model is None and "aligning" in view.placeholder  # the UI thread did not align it
        await pilot.press(*(("k", "j") if screen.state.position("huge") else ("j", "k")))  # keys work meanwhile
        assert screen.current.id == "huge"
        await settle(pilot)
        for _ in range(500):  # the aligned rows are posted back to the UI thread: until they land
            if view.model is not None:
                break
            await pilot.pause(0.01)
        assert view.model is not None
        changed = [r for r in view.model.rows if r.kind != "equal"]
        assert len(changed) == 1 and changed[0].right.startswith("1000: LOREM")


# -- the command --------------------------------------------------------------------------------


def test_review_command_errors_are_one_line(env, tmp_path, capsys):
    from reviewer.cli import main

    assert main(["review", "--db", str(tmp_path / "nope.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such database" in err and err.startswith("reviewer review: ")
    assert not (tmp_path / "nope.db").exists()  # a typo does not create a database
    db, _ = env
    assert main(["review", "999", "--db", str(db)]) == 2
    assert "no comparison with id 999" in capsys.readouterr().err
    assert main(["review", "no-such-name", "--db", str(db)]) == 2
    assert "no comparison with id or name 'no-such-name'" in capsys.readouterr().err


def test_comparison_can_be_named(env):
    from reviewer.commands.review import resolve_comparison

    db, cid = env
    with Store(db) as store:
        assert resolve_comparison(store, "gpt-4o refresh") == cid
        assert resolve_comparison(store, str(cid)) == cid
        assert resolve_comparison(store, None) is None


def test_the_cli_does_not_import_textual_until_review_runs():
    code = "import sys, reviewer.cli as c; c.build_parser(); print(json.dumps(sorted(m for m in sys.modules if m.startswith('textual'))))"
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []

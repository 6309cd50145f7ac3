"""The review app's fail-open spots, closed (issue 10): the first key after ``e`` goes to the
note, the triage list shows where its "within noise" group starts, and labels the store would not
take are never lost at ``q`` without a word."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from test_app import ME, SIZE, env, ranked, ready, settle, stored  # noqa: F401  (env, ranked: pytest fixtures)
from textual import events

from reviewer.app import ReviewApp
from reviewer.app.screens.review import ReviewScreen
from reviewer.app.screens.unsaved import UnsavedLabelsScreen
from reviewer.app.widgets.case_list import CaseList

# -- the first key after e ----------------------------------------------------------------------


async def test_a_key_typed_right_after_e_lands_in_the_note_not_on_the_list(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        case = screen.current.id
        await pilot.press("a")
        await settle(pilot)
        # both keys queued before either is handled: a fast typist's "e" then "r"
        pilot.app.post_message(events.Key("e", "e"))
        pilot.app.post_message(events.Key("r", "r"))
        await pilot.pause()
        await pilot.pause()
        assert screen.focused is not None and screen.focused.id == "note"
        assert screen.query_one("#note").value == "r"
        assert screen.state.by_id[case].mine.verdict == "acceptable"  # r was not a label key
        await settle(pilot)
        assert stored(db, cid) == {(case, ME): ("acceptable", None, None)}


@pytest.mark.parametrize("moves", [("j",), ("j", "j"), ("j", "k", "j")])
async def test_a_label_typed_right_after_moving_lands_on_the_case_moved_to(env, moves):
    """``j`` then ``x`` queued before either is handled (a fast typist, a pasted sequence): the
    list says its cursor moved by a message, which ``x`` overtook; x labelled the case the cursor
    had left. It labels the case under the cursor, which is the case on screen after it."""
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        cases = screen.query_one(CaseList)
        start = cases.cursor
        for key in (*moves, "x"):
            pilot.app.post_message(events.Key(key, key))
        await pilot.pause()
        await pilot.pause()
        target = screen.state.view[start + moves.count("j") - moves.count("k")]
        assert cases.current is target and screen.current is target
        assert target.mine is not None and target.mine.verdict == "noise"
        assert [e.id for e in screen.state.entries if e.mine is not None] == [target.id]
        await settle(pilot)
        assert stored(db, cid) == {(target.id, ME): ("noise", None, None)}


async def test_a_sort_typed_right_after_moving_keeps_the_case_moved_to(env):
    """``j`` then ``o`` queued: the new order keeps the case ``j`` moved to on screen and under the
    cursor (it kept the case ``j`` had left, undoing the move)."""
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        cases = screen.query_one(CaseList)
        moved_to = screen.state.view[cases.cursor + 1]
        pilot.app.post_message(events.Key("j", "j"))
        pilot.app.post_message(events.Key("o", "o"))
        await pilot.pause()
        await pilot.pause()
        assert screen.state.sort != "triage"
        assert cases.current is moved_to and screen.current is moved_to


async def test_a_key_typed_right_after_slash_lands_in_the_search_box(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        pilot.app.post_message(events.Key("slash", "/"))
        pilot.app.post_message(events.Key("r", "r"))
        await pilot.pause()
        await pilot.pause()
        assert screen.query_one("#search").value == "r"
        await settle(pilot)
        assert stored(db, cid) == {}


# -- labels the store would not take ------------------------------------------------------------


@pytest.fixture
def immutable(env):
    """The comparison's store made immutable (chattr +i: even root cannot write it), so every
    label write fails as on a read-only mount; writable again afterwards."""
    db, cid = env
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        yield db, cid
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


async def label_that_fails(pilot) -> str:
    screen = await ready(pilot)
    case = screen.current.id
    await pilot.press("r")
    for _ in range(500):
        if pilot.app.writer.last_error:
            break
        await pilot.pause(0.01)
    assert pilot.app.writer.pending == 1 and "readonly" in pilot.app.writer.last_error
    return case


async def test_q_with_labels_the_store_refused_asks_and_writes_a_labels_file(immutable, tmp_path):
    db, cid = immutable
    app = ReviewApp(db, cid, reviewer=ME)
    saved = tmp_path / "saved-labels.jsonl"
    async with app.run_test(size=SIZE) as pilot:
        case = await label_that_fails(pilot)
        await pilot.press("q")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, UnsavedLabelsScreen) and app.return_code is None  # not quit
        said = dialog.query_one("#unsaved-title").render().plain + dialog.query_one("#unsaved-why").render().plain
        assert "1 label change could not be saved" in said and "readonly" in said and str(db) in said
        await pilot.press("q")  # a second q is not a confirmation: it is a letter of the file name
        await pilot.pause()
        assert app.screen is dialog and app.return_code is None
        dialog.query_one("#unsaved-path").value = str(saved)
        await pilot.press("enter")
        await pilot.pause()
        assert app.return_code == 0  # quit once the labels are safe
    app.close_store()
    assert app.finish() == 0
    line = json.loads(saved.read_text(encoding="utf-8"))
    assert (line["format"], line["case"], line["reviewer"], line["verdict"]) == ("reviewer-labels/1", case, ME, "regression")
    subprocess.run(["chattr", "-i", str(db)], check=True)
    imported = subprocess.run([sys.executable, "-m", "reviewer", "labels", "import", str(saved), "--db", str(db)],
                              capture_output=True, text=True, env=os.environ.copy(), timeout=60)  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert stored(db, cid) == {(case, ME): ("regression", None, None)}


async def test_quitting_without_the_labels_takes_an_explicit_ctrl_q_and_is_reported(immutable, capsys):
    db, cid = immutable
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        await label_that_fails(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, UnsavedLabelsScreen)
        await pilot.press("escape")  # back to the review: nothing lost, nothing quit
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and app.return_code is None and app.writer.pending == 1
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0
    app.close_store()
    assert app.finish() == 2  # labels lost: store trouble
    err = capsys.readouterr().err
    assert "1 label change not saved" in err and str(db) in err
    assert stored(db, cid) == {}


async def test_q_quits_at_once_when_every_label_is_saved(env):
    db, cid = env
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("r", "q")
        await pilot.pause()
        assert app.return_code == 0 and not isinstance(app.screen, UnsavedLabelsScreen)
    app.close_store()
    assert app.finish() == 0


# -- where the "within noise" group starts ------------------------------------------------------


async def test_triage_list_names_the_noise_and_unchanged_groups_and_the_cursor_skips_the_names(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        cases = screen.query_one(CaseList)
        view = screen.state.view
        tiers = [e.assessment.tier for e in view]
        noise, unchanged = tiers.index(2), tiers.index(3)
        lines = [cases.render_line(y).text for y in range(cases.rows)]
        assert cases.rows == len(view) + 2
        assert lines[cases.row_of(noise) - 1].startswith("── within noise · 1 case ─")
        assert lines[cases.row_of(unchanged) - 1].startswith("── unchanged · 1 case ─")
        assert view[noise].id in lines[cases.row_of(noise)]
        # counts are of cases, not rows
        assert screen.state.counts().total == len(view) == 10
        assert "10 cases" in screen.query_one("#list-header").render().plain
        # j / k step over the group names
        screen.goto_case(view[noise - 1].id)
        await pilot.pause()
        await pilot.press("j")
        assert screen.current.id == view[noise].id
        await pilot.press("j")
        assert screen.current.id == view[unchanged].id
        await pilot.press("k", "k")
        assert screen.current.id == view[noise - 1].id
        # a click on a group's name selects its first case
        cases.scroll_to(y=0, animate=False, immediate=True)
        await pilot.click(CaseList, offset=(10, cases.row_of(noise) - 1))
        await pilot.pause()
        assert screen.current.id == view[noise].id
        # other orders have no groups
        await pilot.press("o")  # biggest change first
        await pilot.pause()
        assert cases.rows == len(screen.state.view)
        assert not any(cases.render_line(y).text.startswith("──") for y in range(cases.rows))


# -- the keymap is read like every other YAML file ----------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def test_an_alias_bomb_keymap_is_refused_at_once_and_the_review_goes_on(tmp_path, monkeypatch):
    import time

    from reviewer.app.app import load_keymap

    path = tmp_path / "keymap.yaml"
    path.write_text(BOMB)
    monkeypatch.setenv("REVIEWER_KEYMAP", str(path))
    start = time.perf_counter()
    keymap, problem = load_keymap()
    assert time.perf_counter() - start < 1.0
    assert keymap == {} and problem.startswith(f"{path}:") and problem.endswith("(keymap ignored)")
    path.write_text("label.noise: z\n")
    assert load_keymap() == ({"label.noise": "z"}, None)


async def test_a_store_that_cannot_be_written_opens_read_only_and_says_so_at_start(immutable):
    db, cid = immutable
    app = ReviewApp(db, cid, reviewer=ME)
    assert app.store.readonly
    async with app.run_test(size=SIZE) as pilot:
        await label_that_fails(pilot)  # the review works; the label waits in the queue
        said = [n.message for n in app._notifications]
        assert any(str(db) in m and "read-only" in m and "immutable" in m and "labels file" in m for m in said), said


async def test_a_writable_store_is_not_called_read_only(env):
    db, cid = env
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert not app.store.readonly
        assert not any("read-only" in n.message for n in app._notifications)

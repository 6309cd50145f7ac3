"""The judge in the review app (a real store with judgments saved, driven by Pilot): its verdict
and reason on their own line beside the case, never in the reviewer's verdict; a filter on the
judge's verdict, a sort by it, and ``v`` / the palette to jump to the next case where the judge
and your label disagree. Judgments never become labels."""

from __future__ import annotations

import pytest
from test_app import ME, goto, ready, settle, stored, text_of
from test_app_data import rank_comparison
from test_changelog_judge import _store

from reviewer.app import ReviewApp
from reviewer.app.commands import commands_for
from reviewer.session.state import JUDGE_DISAGREES, Filter

SIZE = (150, 42)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("REVIEWER_KEYMAP", raising=False)
    store, cid = _store(tmp_path, labelled=False)
    store.close()
    rank_comparison(tmp_path / "reviewer.db", cid)  # the app opens from the cache: no ranking child
    return tmp_path / "reviewer.db", cid


async def test_the_judges_verdict_and_reason_show_apart_from_the_reviewers(env):
    db, cid = env
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await goto(pilot, "weather-paris")
        lines = text_of(app, "#title").splitlines()
        you = next(ln for ln in lines if ln.startswith("you:"))
        assert you.strip() == "you: unreviewed"  # the judge is not a label
        judge = next(ln for ln in lines if ln.startswith("judge:"))
        assert judge.startswith("judge: candidate better (openai:judge-1, a suggestion)")
        # the reason is model output: markup-free, escapes made visible, one line
        assert "␛[31mred" in judge and "# Heading | a | b |" in judge and "\x1b" not in judge
        await goto(pilot, "after-the-weather-call")  # not judged
        assert not any(ln.startswith("judge:") for ln in text_of(app, "#title").splitlines())


async def test_v_jumps_to_the_next_case_where_the_judge_and_your_label_disagree(env):
    db, cid = env
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        before = screen.current.id
        await pilot.press("v")
        await pilot.pause()
        assert screen.current.id == before  # nothing labelled yet: no disagreement, the cursor stays
        await goto(pilot, "weather-paris")  # the judge: candidate better
        await pilot.press("r")  # you: regression
        await goto(pilot, "flights-two-passengers")  # the judge: candidate worse
        await pilot.press("r")  # you agree
        await settle(pilot)
        await goto(pilot, "after-the-weather-call")
        await pilot.press("v")
        await pilot.pause()
        assert screen.current.id == "weather-paris"
        assert "≠ your label" in text_of(app, "#title")
        # the summary: agreement with the labels (flights agrees, weather does not) and kappa
        header = text_of(app, "#list-header")
        assert "⚖ judge: 3 judged · agrees 1/2 (50%) · κ" in header
        await pilot.press("v")  # the only one: it stays
        await pilot.pause()
        assert screen.current.id == "weather-paris"
    assert stored(db, cid) == {
        ("weather-paris", ME): ("regression", None, None),
        ("flights-two-passengers", ME): ("regression", None, None),
    }  # the judge's verdicts are in no label


async def test_filter_and_sort_by_the_judges_verdict(env):
    db, cid = env
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        screen.set_filter(Filter(judges=frozenset({"baseline_better"})))
        await pilot.pause()
        assert [e.id for e in screen.state.view] == ["flights-two-passengers"]  # "judge says candidate worse"
        screen.set_filter(Filter(judges=frozenset({"inconsistent", "candidate_better"})))
        await pilot.pause()
        assert sorted(e.id for e in screen.state.view) == ["no-tool-for-small-talk", "weather-paris"]
        screen.set_filter(Filter())
        screen.set_sort("judge")
        await pilot.pause()
        order = [e.id for e in screen.state.view]
        assert order[:3] == ["flights-two-passengers", "no-tool-for-small-talk", "weather-paris"]
        titles = [t for t, _, _ in commands_for(screen)]
        assert "Next case where the judge disagrees with your label" in titles
        assert "Filter: only judge: candidate worse" in titles and "Sort: judge's verdict (candidate worse first)" in titles
        await goto(pilot, "weather-paris")
        await pilot.press("r")
        await settle(pilot)
        screen.set_filter(Filter(judges=frozenset({JUDGE_DISAGREES})))
        await pilot.pause()
        assert [e.id for e in screen.state.view] == ["weather-paris"]


async def test_without_a_judge_nothing_judge_shows(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "config"))
    store, cid = _store(tmp_path, judged=False, labelled=False)
    store.close()
    app = ReviewApp(tmp_path / "reviewer.db", cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert not screen.state.judged
        assert "judge" not in text_of(app, "#list-header")
        assert not any(ln.startswith("judge:") for ln in text_of(app, "#title").splitlines())
        titles = [t for t, _, _ in commands_for(screen)]
        assert not any("judge:" in t for t in titles) and "Sort: judge's verdict (candidate worse first)" not in titles
        seen = {screen.state.cycle_sort() for _ in range(6)}
        assert "judge" not in seen

"""The review app on a comparison whose tool calls changed (a real store, driven by Textual's
Pilot): each side's calls in their own aligned block, arguments as the structural JSON diff with
the changed lines marked, raw argument text when it does not parse, a text answer where the other
side called a tool said so; hidden for text-only cases; the tool drift flag in the filter."""

from __future__ import annotations

import pytest
from test_app import ME, goto, ready
from test_app_data import rank_comparison
from toolcomparison import HOSTILE_NAME, SMALL_TALK_ARGS, tool_comparison

from reviewer.app import ReviewApp
from reviewer.app.screens.filter import FilterList, FilterScreen
from reviewer.app.widgets.tool_calls import ToolCalls

SIZE = (150, 42)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("REVIEWER_KEYMAP", raising=False)
    store, cid = tool_comparison(tmp_path)
    store.close()
    rank_comparison(tmp_path / "reviewer.db", cid)  # the app opens from the cache: no ranking child
    return tmp_path / "reviewer.db", cid


def calls_text(app) -> str:
    return app.screen.query_one(ToolCalls).plain(width=140)


async def test_an_over_quoted_argument_is_shown_in_the_aligned_json_of_both_calls(env):
    db, cid = env
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await goto(pilot, "flights-two-passengers")
        assert app.screen.query_one("#tools-box").display
        lines = calls_text(app).splitlines()
        head = next(ln for ln in lines if "search_flights" in ln)
        assert head.count("⚙ 1 search_flights") == 2  # one block per side, on one row
        row = next(ln for ln in lines if '"passengers"' in ln)
        left, right = row[:70], row[70:]
        assert '"passengers": 2' in left and '"passengers": "2"' in right  # aligned on one row
        assert "over-quoted $.passengers" in calls_text(app)
        # the shown samples' checks read their calls too: both sides call search_flights
        checks = app.screen.query_one("#checks").plain(width=200)
        assert "tool_called" in checks and "no call to" not in checks
        # the changed line is styled apart from the unchanged ones
        table = app.screen.query_one(ToolCalls).shown
        cells = [c for col in table.columns for c in col._cells]
        changed = next(c for c in cells if '"passengers": "2"' in c.plain)
        same = next(c for c in cells if '"origin": "CDG"' in c.plain)
        assert changed.style != same.style


async def test_a_dropped_call_and_a_call_instead_of_text_are_plain_to_see(env):
    db, cid = env
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await goto(pilot, "weather-paris")
        text = calls_text(app)
        assert "⚙ 1 get_weather" in text and "text answer, no tool call" in text and "text instead of a call" in text
        await goto(pilot, "no-tool-for-small-talk")
        text = calls_text(app)
        assert "call instead of text" in text and "arguments do not parse" in text
        assert SMALL_TALK_ARGS.strip() in text  # the raw arguments, as written
        # a made-up tool name is shown as text, never read as markup
        assert HOSTILE_NAME[:39] in text  # shown as text (cut at 40 characters), never read as markup


async def test_text_only_cases_have_no_tool_block_and_the_filter_offers_tool_drift(env):
    db, cid = env
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await goto(pilot, "trip-summary-json")
        assert not app.screen.query_one("#tools-box").display
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, FilterScreen)
        options = app.screen.query_one(FilterList)
        values = [options.get_option_at_index(i).value for i in range(options.option_count)]
        assert ("flags", "tool_drift") in values
        options.select(("flags", "tool_drift"))
        await pilot.press("enter")
        await pilot.pause()
        assert sorted(e.id for e in screen.state.view) == ["flights-two-passengers", "no-tool-for-small-talk", "weather-paris"]


async def test_the_promote_form_suggests_tool_checks_from_what_the_answers_did(env):
    from reviewer.app.promote import PromoteScreen

    db, cid = env
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        suggested = {}
        for case in ("flights-two-passengers", "weather-paris", "no-tool-for-small-talk"):
            await goto(pilot, case)
            await pilot.press("p")
            await pilot.pause()
            form = app.screen
            assert isinstance(form, PromoteScreen)
            suggested[case] = [c.label() for c in form.suggested]
            await pilot.press("escape")
            await pilot.pause()
    # the suite's own checks are not suggested again (flights already has tool_args_schema, the
    # weather case tool_called: get_weather, small talk no_tool_call)
    assert suggested["flights-two-passengers"][0] == "tool_args: search_flights($.passengers=2)"
    assert "tool_args_schema" not in suggested["flights-two-passengers"]
    assert not any(
        s.startswith(("tool_called", "no_tool_call")) for s in suggested["weather-paris"] + suggested["no-tool-for-small-talk"]
    )


def test_suggested_tool_checks_pass_on_the_baseline_and_fail_on_the_candidate(tmp_path):
    from reviewer.diff.checks import run_checks
    from reviewer.session.promotion import suggest_tool_checks

    store, cid = tool_comparison(tmp_path)
    data = store.load_comparison(cid)
    for case in data.suite.suite.cases:
        b, c = data.baseline_outputs[case.id][0], data.candidate_outputs[case.id][0]
        checks = suggest_tool_checks(b, c, case.tools)
        if case.id in ("after-the-weather-call", "trip-summary-json"):
            assert checks == []
            continue
        assert checks, case.id
        on_b = run_checks(checks, b.text, tool_calls=b.tool_calls, tools=case.tools)
        on_c = run_checks(checks, c.text, tool_calls=c.tool_calls, tools=case.tools)
        assert all(r.passed for r in on_b), (case.id, on_b)
        assert not all(r.passed for r in on_c), (case.id, on_c)

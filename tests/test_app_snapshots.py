"""What the review app looks like (pytest-textual-snapshot): the main screen, the JSON view, the
help screen and a case full of hostile text. Fixed terminal size, fixed reviewer, no animation or
cursor blink, nothing time-dependent on screen. After a deliberate UI change, update with
``pytest tests/test_app_snapshots.py --snapshot-update`` — after reading snapshot_report.html."""

from __future__ import annotations

import asyncio

import pytest
from test_app_data import build_comparison, rank_comparison

from reviewer.app import ReviewApp
from reviewer.app.screens.review import ReviewScreen

SIZE = (150, 42)
ME = "Ann Reviewer <ann@example.com>"


@pytest.fixture
def app(tmp_path, monkeypatch) -> ReviewApp:
    monkeypatch.setenv("REVIEWER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REVIEWER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    db, cid = build_comparison(tmp_path / "cmp")
    rank_comparison(db, cid)  # the app opens from the cache: no ranking child
    return ReviewApp(db, cid, reviewer=ME)


def on_case(case_id: str | None = None):
    """run_before: wait until the cases are ranked, then show ``case_id``."""

    async def run_before(pilot) -> None:
        for _ in range(1000):
            screen = pilot.app.screen
            if isinstance(screen, ReviewScreen) and not screen.ranking:
                break
            await asyncio.sleep(0.01)
        if case_id is not None:
            screen.goto_case(case_id)
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


def test_main_screen(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=on_case("refund-policy"), press=["r", "j"])


def test_json_view(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=on_case("order-json"), press=["d"])


def test_help_screen(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=on_case(), press=["question_mark"])


def test_hostile_text_is_shown_literally(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=on_case("hostile-output"), press=["m"])

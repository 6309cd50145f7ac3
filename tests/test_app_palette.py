"""The command palette's key hints come from the bindings (a remapped key shows right), and the
panels' colours come from the stylesheet (a user's CSS recolours them, no Python touched)."""

from __future__ import annotations

import os
from pathlib import Path

from test_app import ME, SIZE, env, ranked, ready  # noqa: F401  (env, ranked: pytest fixtures)

import reviewer.app.app as app_module
from reviewer.app import ReviewApp
from reviewer.app.commands import commands_for
from reviewer.app.widgets.case_info import CaseTitle


def hints(screen) -> dict[str, str]:
    return {title: help for title, _, help in commands_for(screen)}


async def test_palette_hints_are_the_keys_bound_now(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        h = hints(screen)
        assert h["Label: noise"] == "x" and h["Label: regression, severity 2"] == "2"
        assert h["Help: keys and marks"] == "?" and h["Diff: next change"] == "]"
        assert h["Filter: clear"] == "esc" and h["Sort: case id"] == "o cycles"


async def test_a_remapped_key_shows_in_the_palette(env):
    db, cid = env
    config = Path(os.environ["REVIEWER_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "keymap.yaml").write_text("label.noise: z\nlist.sort: O\n")
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        h = hints(screen)
        assert h["Label: noise"] == "z" and h["Label: regression"] == "r"
        assert h["Sort: case id"] == "O cycles"


class RecolouredApp(ReviewApp):
    CSS_PATH = Path(app_module.__file__).with_name("review.tcss")
    CSS = "InfoStatic > .info--tag { color: #123456; }  InfoStatic > .info--bad { color: #654321; }"


async def test_panel_colours_come_from_the_stylesheet(env):
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        await ready(pilot)
        default = pilot.app.screen.query_one(CaseTitle).palette
    async with RecolouredApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        title = screen.query_one(CaseTitle)
        p = title.palette
        assert p.tag.color.name == "#123456" and p.bad.color.name == "#654321"
        assert p.tag != default.tag and p.warn == default.warn  # only what the CSS changed
        # what is on screen uses it: the case's tags are painted in the stylesheet's colour
        shown = title.shown
        assert any(span.style == p.tag for span in shown.spans) and screen.current.case.tags

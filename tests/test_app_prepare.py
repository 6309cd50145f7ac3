"""While the reviewer reads a case, the cases either side of the cursor are made ready (outputs,
full assessment, first sample's diff laid out), so the next ``j`` or ``k`` shows one already made;
while keys come, nothing is made between them."""

from __future__ import annotations

import time

from test_app import ME, SIZE, env, ranked, ready  # noqa: F401  (env, ranked: pytest fixtures)

from reviewer.app import ReviewApp
from reviewer.app.diffrender import build_diff
from reviewer.app.widgets.diff_view import DiffView


async def made(pilot, pane, key) -> bool:
    for _ in range(200):  # the app's own timer makes it once the reviewer is idle
        if key in pane.diffs:
            return True
        await pilot.pause(0.02)
    return False


def lines(model, width: int) -> list[str]:
    return [model.plain_line(y, width) for y in range(model.height(width))]


async def test_the_next_case_is_made_while_idle_and_j_shows_what_was_made(env):  # noqa: F811
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        pane, view = screen.pane, screen.state.view
        following = view[1]
        key = pane.key_for(following, 0)
        assert await made(pilot, pane, key)
        built = pane.diffs.get(key)
        width = screen.query_one(DiffView).text_width()
        assert built.model is not None and built.model._layout_width == width  # laid out at the view's width
        outs = pane.outputs.peek(following.id)
        assert outs is not None  # its outputs read
        full = pane.details.peek(following.id) or following.assessment
        assert hasattr(type(full), "baseline_signals")  # its full assessment made (the ranking gave light rows)
        b, c = pane.pair(outs, 0)
        fresh = build_diff(key, b.text or "", c.text or "")
        assert lines(built.model, width) == lines(fresh.model, width)  # what showing it would have made
        await pilot.press("j")
        await pilot.pause()
        assert pane.entry is following and pane.shown_key == key
        assert pane.diffs.get(key) is built  # shown, not made again
        # then the one after it, and the one before (the first case, still in the LRU)
        assert await made(pilot, pane, pane.key_for(view[2], 0))


async def test_nothing_is_made_while_keys_come(env):  # noqa: F811
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        pane, app = screen.pane, pilot.app
        key = pane.key_for(screen.state.view[1], 0)
        pane.diffs.clear()
        app._last_input = time.monotonic()  # a key a moment ago
        screen._prepare_neighbours()
        assert key not in pane.diffs
        assert screen._prepare_timer is not None  # asked again once the reviewer is idle
        app._last_input = time.monotonic() - 10
        screen._prepare_neighbours()
        assert key in pane.diffs

"""A key repaints what it changed: moving the list's cursor repaints its two rows, not the list,
and a layout elsewhere on the screen leaves the scrollbars it did not change alone (Textual 8.2.8
refreshed every scroll view's scrollbars on every layout: a second composite of the screen after
each key's frame). The scrollbars still follow what they measure."""

from __future__ import annotations

from test_app import ME, env, ranked, ready  # noqa: F401  (env, ranked: pytest fixtures)

from reviewer.app import ReviewApp
from reviewer.app.widgets.case_list import CaseList
from reviewer.app.widgets.diff_view import DiffView


def record_refreshes(widget, into: list) -> None:
    """Note each refresh of this one widget (its regions), then do it."""
    real = widget.refresh

    def refresh(*regions, **kwargs):
        into.append(regions)
        return real(*regions, **kwargs)

    widget.refresh = refresh


def scrollbar_follows(view) -> None:
    assert view.show_vertical_scrollbar == (view.virtual_size.height > view.container_size.height)
    if view.show_vertical_scrollbar:  # a scrollbar never shown keeps Textual's defaults
        bar = view.vertical_scrollbar
        assert (bar.window_virtual_size, bar.window_size) == (view.virtual_size.height, view.scrollable_content_region.height)


async def test_a_cursor_move_repaints_two_rows_and_no_scrollbar_it_did_not_change(env):  # noqa: F811
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=(160, 16)) as pilot:
        await ready(pilot)
        cases = pilot.app.screen.query_one(CaseList)
        diff = pilot.app.screen.query_one(DiffView)
        assert cases.show_vertical_scrollbar  # more cases than rows at 16 lines
        await pilot.press("j")
        await pilot.pause()
        list_refreshes: list = []
        list_bar: list = []
        record_refreshes(cases, list_refreshes)
        record_refreshes(cases.vertical_scrollbar, list_bar)
        heights = set()
        for _ in range(4):
            await pilot.press("j")
            await pilot.pause()
            heights.add(diff.virtual_size.height)
            scrollbar_follows(diff)
            scrollbar_follows(cases)
        assert list_refreshes and all(len(regions) == 1 and regions[0].height == 1 for regions in list_refreshes)
        assert list_bar == []  # the list's length and size never changed
        assert len(heights) > 1  # the diffs differed in height: the diff view's scrollbar followed them


async def test_the_list_scrollbar_follows_the_terminal_size(env):  # noqa: F811
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=(160, 14)) as pilot:
        await ready(pilot)
        cases = pilot.app.screen.query_one(CaseList)
        scrollbar_follows(cases)
        assert cases.show_vertical_scrollbar  # more cases than rows at 14 lines
        await pilot.resize_terminal(160, 60)
        await pilot.pause()
        scrollbar_follows(cases)
        await pilot.resize_terminal(160, 14)
        await pilot.pause()
        scrollbar_follows(cases)
        assert cases.show_vertical_scrollbar

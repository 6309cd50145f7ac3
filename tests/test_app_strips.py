"""The lines the app paints die when they are dropped, not in a full collection: Textual 8.2.8's
strips cache themselves (``divide`` at their own length, ``crop_extend`` that changes nothing),
and :mod:`reviewer.app.strips` stops that. The results stay Textual's."""

from __future__ import annotations

import gc

import pytest
from rich.segment import Segment
from rich.style import Style
from test_app import ME, SIZE, env, ranked, ready  # noqa: F401  (env, ranked: pytest fixtures)
from textual.strip import Strip

from reviewer.app import ReviewApp, strips


def strip() -> Strip:
    return Strip([Segment("hello ", Style(bold=True)), Segment("world")], 11)


def cyclic_garbage(make) -> int:
    """How many objects only the cyclic collector frees after ``make()``'s result is dropped."""
    gc.collect()
    gc.disable()
    try:
        make()
        return gc.collect()
    finally:
        gc.enable()


@pytest.fixture
def installed():
    strips.install()
    yield
    strips.install()  # what the app leaves installed


def test_textuals_own_strips_still_refer_to_themselves():
    """When this fails, Textual no longer makes the cycle: remove reviewer/app/strips.py."""
    strips.uninstall()
    try:
        assert cyclic_garbage(lambda: strip().divide([11])) > 0
        assert cyclic_garbage(lambda: strip().crop_extend(0, 11, None)) > 0
    finally:
        strips.install()


def test_a_strip_divided_or_cropped_at_its_own_bounds_dies_when_dropped(installed):
    assert cyclic_garbage(lambda: strip().divide([11])) == 0
    assert cyclic_garbage(lambda: strip().divide([3, 11, 40])) == 0  # cuts past the end are dropped
    assert cyclic_garbage(lambda: strip().crop_extend(0, 11, None)) == 0


@pytest.mark.parametrize("cuts", [[11], [11, 20], [3, 11], [0, 11], [5], [], [3, 7, 11], [12]], ids=str)
def test_divide_gives_what_textuals_gives(installed, cuts):
    ours = [list(s) for s in strip().divide(cuts)]
    strips.uninstall()
    try:
        theirs = [list(s) for s in strip().divide(cuts)]
    finally:
        strips.install()
    assert ours == theirs


@pytest.mark.parametrize("bounds", [(0, 11), (0, 15), (2, 11), (0, 5), (3, 20), (11, 11)], ids=str)
def test_crop_extend_gives_what_textuals_gives(installed, bounds):
    pad = Style(italic=True)
    ours = strip().crop_extend(*bounds, pad)
    strips.uninstall()
    try:
        theirs = strip().crop_extend(*bounds, pad)
    finally:
        strips.install()
    assert (list(ours), ours.cell_length) == (list(theirs), theirs.cell_length)


async def test_the_lines_the_app_paints_leave_no_strip_for_the_collector(env):  # noqa: F811
    """Textual's strips painted by a few keys used to be cyclic garbage: 13 objects a line."""
    db, cid = env
    async with ReviewApp(db, cid, reviewer=ME).run_test(size=SIZE) as pilot:
        await ready(pilot)
        for key in ("j", "j", "k", "s", "pagedown", "j"):
            await pilot.press(key)
        await pilot.pause()
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for key in ("j", "j", "k", "s", "pagedown", "j"):
                await pilot.press(key)
            await pilot.pause()
            gc.collect()
            left = sum(isinstance(o, Strip) for o in gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
        assert left == 0

"""The review app keeps full garbage collections out of keys: while it runs, the collector's
young passes go on and the full ones wait for a second with no input (or for FORCE_GC_AFTER
young passes while typing goes on); the collector's own thresholds come back when it closes.
(bench/app.py: a full pass cost 30-150 ms inside a key at 10,000 cases, the slowest keys' excess.)
Likewise the thread switch interval: 1 ms while it runs, so that a worker thread computing beside
it hands the GIL back to the UI thread sooner; the interpreter's own comes back when it closes."""

from __future__ import annotations

import gc
import sys
import threading
import time

from test_app import ME, SIZE, env, ranked, ready  # noqa: F401  (env, ranked: pytest fixtures)

from reviewer.app import ReviewApp


def young_passes(n: int) -> None:
    """n collections of the young generations: each counts one toward a full one."""
    for _ in range(n):
        gc.collect(1)


async def test_full_collections_wait_for_idle_and_the_thresholds_come_back(env):  # noqa: F811
    db, cid = env
    before = gc.get_threshold()
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] > 10_000  # none on its own
        app._last_input = 0.0
        await pilot.press("j")
        assert app._last_input > 0  # a key counts as input (App.on_event)
        young_passes(before[2] + 1)
        app._collect_idle()  # a key a moment ago: it waits
        assert gc.get_count()[2] > before[2]
        app._last_input = time.monotonic() - app.IDLE_GC_S  # a second with no input
        app._collect_idle()
        assert gc.get_count()[2] == 0  # the full pass ran (it resets every generation's count)
        app._last_input = time.monotonic()
        young_passes(app.FORCE_GC_AFTER)
        app._collect_idle()  # typing goes on, but this much garbage is not left to grow
        assert gc.get_count()[2] == 0
    assert gc.get_threshold() == before


async def test_the_case_rows_and_entries_are_frozen_not_left_young_for_the_collector(env):  # noqa: F811
    """What lives as long as the review is moved to the permanent generation as it is made:
    left young, the collector's next young pass scanned all of it (~0.1 s per pass at 100,000
    cases, twice before the first frame). The app unfreezes what it froze when it closes."""
    from reviewer.session.caserows import CaseRow
    from reviewer.session.state import Entry

    db, cid = env
    gc.collect()
    app = ReviewApp(db, cid, reviewer=ME)
    try:
        rows = app.session.case_rows()
        assert rows
        young = {id(o) for o in gc.get_objects(generation=0)} | {id(o) for o in gc.get_objects(generation=1)}
        assert not any(id(r) in young for r in rows)
        assert gc.get_freeze_count() > 0
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            entries = app.screen.state.entries
            assert all(type(e) is Entry for e in entries)
            young = {id(o) for g in (0, 1, 2) for o in gc.get_objects(generation=g)}
            assert not any(id(e) in young or id(e.row) in young for e in entries)
            assert isinstance(entries[0].row, CaseRow)
    finally:
        app.close_store()
    assert gc.get_freeze_count() == 0


async def test_the_switch_interval_is_short_while_the_app_runs_and_comes_back(env):  # noqa: F811
    db, cid = env
    before = sys.getswitchinterval()
    assert before != ReviewApp.SWITCH_INTERVAL_S  # Python's 5 ms, or what the test run set
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert sys.getswitchinterval() == ReviewApp.SWITCH_INTERVAL_S
    assert sys.getswitchinterval() == before


async def test_a_worker_waits_while_a_key_may_be_handled_but_not_for_long(env):  # noqa: F811
    """ReviewApp.wait_for_input, where the rank worker pauses its staging: no wait when no key
    came lately; after one, until it may have been shown; under keys that keep coming, a bounded
    wait (the ranking goes on between keys held down)."""
    db, cid = env
    app = ReviewApp(db, cid, reviewer=ME)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app._last_input = time.monotonic() - 10
        t = time.monotonic()
        app.wait_for_input()
        assert time.monotonic() - t < app.INPUT_HANDLED_S / 2
        await pilot.press("j")
        assert app.idle_for() < 5  # a key counts (App.on_event)
        app._last_input = time.monotonic()
        t = time.monotonic()
        app.wait_for_input()
        assert app.INPUT_HANDLED_S <= time.monotonic() - t + 0.001 < app.INPUT_WAIT_S + 1
        assert app.idle_for() >= app.INPUT_HANDLED_S - 0.001
        stop = threading.Event()

        def keys_held_down() -> None:
            while not stop.wait(0.002):
                app._last_input = time.monotonic()

        typist = threading.Thread(target=keys_held_down)
        app._last_input = time.monotonic()
        typist.start()
        try:
            t = time.monotonic()
            app.wait_for_input()
            waited = time.monotonic() - t
        finally:
            stop.set()
            typist.join()
        assert app.INPUT_WAIT_S <= waited + 0.001 < app.INPUT_WAIT_S + 1

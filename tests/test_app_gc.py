"""The review app keeps full garbage collections out of keys: while it runs, the collector's
young passes go on and the full ones wait for a second with no input (or for FORCE_GC_AFTER
young passes while typing goes on); the collector's own thresholds come back when it closes.
(bench/app.py: a full pass cost 30-150 ms inside a key at 10,000 cases, the slowest keys' excess.)"""

from __future__ import annotations

import gc
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

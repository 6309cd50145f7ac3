"""`reviewer demo`: the bundled recording becomes a comparison in a store of its own (never the
user's), once; labels given in the demo survive the next `reviewer demo`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cli_inprocess import run_main

from reviewer.store import Store

ROOT = Path(__file__).resolve().parent.parent


def demo(*args: str, process: bool = True) -> subprocess.CompletedProcess:
    """``reviewer demo --no-app ARGS`` in a real process, or with ``process=False`` as main() in this
    one (tests/cli_inprocess.py: the same exit code and output; not inside a running event loop)."""
    if not process:
        return run_main(["demo", "--no-app", *args], cwd=ROOT)
    return subprocess.run([sys.executable, "-m", "reviewer", "demo", "--no-app", *args], capture_output=True, text=True,
                          cwd=ROOT, env=os.environ.copy(), timeout=120)  # fmt: skip


def test_demo_uses_its_own_store_once_and_keeps_labels():
    data_dir = Path(os.environ["REVIEWER_DATA_DIR"])
    users_db = Path(os.environ["REVIEWER_DB"])
    first = demo()
    assert first.returncode == 0, first.stderr
    cid = int(first.stdout)
    demo_db = data_dir / "demo.db"
    assert demo_db.exists() and not users_db.exists()  # the user's store is not touched
    with Store(demo_db) as store:
        data = store.load_comparison(cid)
        assert len(data.suite.suite.cases) == 61 and data.baseline.samples == 3
        assert sum(len(v) for v in data.baseline_outputs.values()) == 61 * 3
        assert all(o.error is None for v in data.candidate_outputs.values() for o in v)
        assert (data.baseline.label, data.candidate.label) == ("gemma3-270m Q4_K_M", "gemma3-270m Q3_K_S")
        store.set_label(cid, "json/order", "me", "regression", severity=2, note="quantity lost")
    again = demo(process=False)
    assert again.returncode == 0 and int(again.stdout) == cid  # not replayed twice
    with Store(demo_db) as store:
        assert len(store.comparisons()) == 1
        assert [lab.note for lab in store.labels(cid)] == ["quantity lost"]
    reset = demo("--reset", process=False)
    with Store(demo_db) as store:
        assert int(reset.stdout) == 1 and store.labels(1) == []


async def test_promote_in_the_demo_writes_its_own_copy_and_the_demo_starts_again():
    """`p` then save in `reviewer demo`: the case goes to the demo's copy of the suite (and the
    app says where), the checkout's suites/demo.yaml stays byte-identical, and the demo opens
    again, with and without --reset."""
    from reviewer.app.promote import PromoteScreen
    from reviewer.app.screens.review import ReviewScreen
    from reviewer.commands import demo as demo_cmd
    from reviewer.suite import load_suite

    bundled = ROOT / "suites" / "demo.yaml"
    before = bundled.read_bytes()
    db = demo_cmd.demo_db(None)
    assert db.parent == Path(os.environ["REVIEWER_DATA_DIR"])
    first = demo()  # as `reviewer demo` prepares it (asyncio.run: not inside this test's loop)
    assert first.returncode == 0, first.stderr
    cid = int(first.stdout)
    copy = demo_cmd.suite_copy(db)
    assert copy.read_bytes() == before and copy.parent.parent == db.parent

    app = demo_cmd.make_app(db, cid, reviewer="Ann <ann@example.com>")
    async with app.run_test(size=(160, 45)) as pilot:
        # the case on screen once the ranking has landed and the pane shows its top case (an
        # unmoved cursor goes there; the pane follows the list's highlight a message later)
        def settled() -> bool:
            s = app.screen
            return isinstance(s, ReviewScreen) and not s.ranking and s.current is not None and s.current.id == s.state.view[0].id

        for _ in range(1000):  # 20 s at most
            if settled():
                break
            await pilot.pause(0.02)
        assert settled(), "the ranking never landed"
        case_id = app.screen.current.id
        await pilot.press("p")
        form = app.screen
        assert isinstance(form, PromoteScreen) and form.suite_path == copy
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen), "the form was not saved"
        said = [n.message for n in app._notifications]
        assert any(str(copy) in m and "--reset" in m for m in said), said
    app.close_store()

    assert bundled.read_bytes() == before  # the checkout is untouched
    promoted = load_suite(copy).suite.cases
    assert len(promoted) == 62 and promoted[-1].id.startswith(case_id)
    again = demo()
    assert again.returncode == 0, again.stderr
    assert int(again.stdout) == cid  # the same comparison, not a replay of the edited suite
    assert load_suite(copy).suite.cases[-1].id == promoted[-1].id  # promoted cases are kept
    reset = demo("--reset")
    assert reset.returncode == 0, reset.stderr
    assert copy.read_bytes() == before and bundled.read_bytes() == before


def test_a_store_from_before_the_copy_still_promotes_into_the_copy():
    """A demo store made when the suite was read from the checkout remembers that path: the app
    is still pointed at the demo's copy."""
    from reviewer.commands import demo as demo_cmd

    db = demo_cmd.demo_db(None)
    cid = demo_cmd.prepare(db)
    with Store(db) as store:
        store.db.execute("UPDATE suites SET path = ?", (str(ROOT / "suites" / "demo.yaml"),))
    app = demo_cmd.make_app(db, cid)
    try:
        assert app.promote_to == demo_cmd.suite_copy(db)
    finally:
        app.close_store()

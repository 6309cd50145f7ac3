"""Regenerate the README's screenshots (``screenshots/*.svg``) from the real app.

The review app is driven headless with Textual's Pilot on the bundled demo recording (the same
comparison ``reviewer demo`` opens: two real versions of a small model), in a throwaway store, so
your own data is never touched. ``hostile.svg`` comes from a small comparison built here with the
Store API, since no real model was kind enough to answer with escape sequences and bidi controls.
``toolcalls.svg`` comes from a second small store: the example tools suite (``suites/tools.yaml``)
with a candidate whose tool calls changed (``tests/toolcomparison.py``) and a judge's verdicts.

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--size 150x42]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REVIEWER = "Ann Reviewer <ann@example.com>"
HOSTILE = (
    "Sure! [bold red]INJECTED[/bold red] [link=https://evil.example]click[/link]\n"
    "\x1b[2J\x1b[31mred alert\x1b[0m and a bell\x07 here\n"
    "zero\u200bwidth and \u202eevil reversed\u202c text, tag\U000e0041\U000e0042 smuggling\n"
    "中文字符 対応 テスト 😀 wide characters keep the columns straight\n"
    "tab\tseparated\tvalues\r\n"
    "**not markdown** # not a heading"
)


async def wait_ranked(pilot) -> None:
    from reviewer.app.screens.review import ReviewScreen

    for _ in range(3000):
        screen = pilot.app.screen
        if isinstance(screen, ReviewScreen) and not screen.ranking:
            break
        await asyncio.sleep(0.01)
    await pilot.pause()


async def shoot(db: Path, cid: int, out: Path, name: str, size: tuple[int, int], steps) -> None:
    from reviewer.app import ReviewApp

    app = ReviewApp(db, cid, reviewer=REVIEWER)
    async with app.run_test(size=size) as pilot:
        await wait_ranked(pilot)
        await steps(pilot, app.screen)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.2)
        app.save_screenshot(f"{name}.svg", str(out))
    print(f"{out / name}.svg")


def hostile_comparison(directory: Path) -> tuple[Path, int]:
    from reviewer.store import Output, Store
    from reviewer.suite import load_suite

    suite = directory / "hostile.yaml"
    suite.write_text(
        "suite: hostile-text\ncases:\n"
        '  - id: echo-markup\n    tags: [security]\n    prompt: "Repeat after me: [bold]hi[/bold] \\x1b[31m"\n'
        "  - id: plain\n    tags: [smalltalk]\n    prompt: Say hi.\n",
        encoding="utf-8",
    )
    db = directory / "hostile.db"
    with Store(db) as store:
        sid = store.upsert_suite(load_suite(suite))
        runs = [
            store.create_run(
                suite_id=sid, provider="openai", model=m, base_url=None, params={}, samples=1, side=s, status="complete"
            )
            for s, m in (("baseline", "gpt-4o-2024-05-13"), ("candidate", "gpt-4o"))
        ]
        meta = {"finish_reason": "stop", "latency_ms": 640.0, "input_tokens": 31, "output_tokens": 58}
        store.save_outputs(
            runs[0], [Output("echo-markup", 0, "Sure! [bold]hi[/bold]", **meta), Output("plain", 0, "Hi!", **meta)]
        )
        store.save_outputs(runs[1], [Output("echo-markup", 0, HOSTILE, **meta), Output("plain", 0, "Hi!", **meta)])
        cid = store.create_comparison(
            suite_id=sid, baseline_run_id=runs[0], candidate_run_id=runs[1], name="hostile text", status="complete"
        )
    return db, cid


def tools_comparison(directory: Path) -> tuple[Path, int]:
    """The tool-call comparison of the tests, with a judge's answers for the over-quoted case."""
    sys.path.insert(0, str(ROOT / "tests"))
    from toolcomparison import tool_comparison

    from reviewer.store import Judgment

    (directory / "tools").mkdir()
    store, cid = tool_comparison(directory / "tools")
    reason = 'Answer {n} passes passengers as the integer 2, as the schema asks; the other sends the string "2".'
    store.save_judgments([
        Judgment(comparison_id=cid, case_id="flights-two-passengers", sample=0, judge="openai:gpt-4.1", rubric_digest="0" * 64,
                 position=pos, better=better, reason=reason.format(n=better), parsed="json", resolved_model="gpt-4.1-2025-04-14")
        for pos, better in (("baseline_first", "1"), ("candidate_first", "2"))
    ])  # fmt: skip
    store.close()
    return directory / "tools" / "reviewer.db", cid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "screenshots")
    ap.add_argument("--size", default="150x42", help="terminal WIDTHxHEIGHT")
    args = ap.parse_args()
    size = tuple(int(n) for n in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reviewer-screenshots-") as tmp:
        work = Path(tmp)
        # never the user's data, config or keymap
        os.environ.update(
            REVIEWER_DATA_DIR=str(work / "data"), REVIEWER_CONFIG_DIR=str(work / "config"), TEXTUAL_ANIMATIONS="none"
        )
        os.environ.pop("REVIEWER_KEYMAP", None)
        from reviewer.commands.demo import prepare

        db = work / "demo.db"
        cid = prepare(db)

        async def main_view(pilot, screen) -> None:
            from reviewer.app.widgets.case_list import CaseList

            # label the top of the triage as a reviewer would, then look at a changed answer
            await pilot.press(*"jjjjjjjj", "r", "j", "2", "j", "i", "j", "a", "j", "x")
            screen.goto_case(os.environ.get("SCREENSHOT_CASE", "code/python-add"))
            await pilot.pause()
            await pilot.press("r", "e", *"the function no longer returns", "enter")
            # scrolled down a little, as far as where the "within noise" group starts
            cases = screen.query_one(CaseList)
            tiers = [e.assessment.tier if e.assessment else None for e in screen.state.view]
            if 2 in tiers:
                row = cases.row_of(tiers.index(2))
                cases.scroll_to(y=max(0, row + 3 - cases.size.height), animate=False, immediate=True)
            await pilot.pause()

        async def json_view(pilot, screen) -> None:
            screen.goto_case("json/order")
            await pilot.pause()
            await pilot.press("d")

        async def help_view(pilot, screen) -> None:
            await pilot.press("question_mark")

        async def hostile_view(pilot, screen) -> None:
            screen.goto_case("echo-markup")
            await pilot.pause()
            await pilot.press("m")

        asyncio.run(shoot(db, cid, args.out, "main", size, main_view))
        asyncio.run(shoot(db, cid, args.out, "json", size, json_view))
        asyncio.run(shoot(db, cid, args.out, "help", size, help_view))
        hdb, hcid = hostile_comparison(work)
        asyncio.run(shoot(hdb, hcid, args.out, "hostile", size, hostile_view))

        async def tools_view(pilot, screen) -> None:
            screen.goto_case("flights-two-passengers")
            await pilot.pause()

        tdb, tcid = tools_comparison(work)
        asyncio.run(shoot(tdb, tcid, args.out, "toolcalls", size, tools_view))


if __name__ == "__main__":
    main()

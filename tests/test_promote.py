"""The promote form (a ModalScreen) driven by Pilot in a tiny app, and the check suggestions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Checkbox, Input, RadioButton, Static

from reviewer.app.promote import PromoteScreen
from reviewer.diff.signals import output_signals, pair_signals
from reviewer.importers.suggest import BULLETS, WHOLE_JSON, suggest_checks
from reviewer.suite import Case, Check, load_suite

SUITE = """\
# Orders suite
suite: orders
cases:
  - id: order-status   # the one that broke
    tags: [json, orders]
    prompt: Status of order 1234 as JSON.
    checks:
      - contains: "1234"
"""
BASELINE = '{"order": 1234, "status": "shipped"}'
CANDIDATE = 'Sure! Here it is:\n```json\n{"order": 1234, "status": "shipped"}\n```'


class Host(App[None]):
    def __init__(self, screen: PromoteScreen) -> None:
        super().__init__()
        self.promote = screen
        self.results: list[Case | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.promote, self.results.append)


def make(tmp_path: Path, **kw) -> tuple[Path, PromoteScreen]:
    suite = tmp_path / "orders.yaml"
    suite.write_text(SUITE)
    case = load_suite(suite).suite.case("order-status")
    args = dict(
        suite_path=suite, case=case, baseline_text=BASELINE, candidate_text=CANDIDATE,
        suggested_checks=[Check(kind="json"), Check(kind="regex", value=WHOLE_JSON)], today=date(2026, 5, 1),
    )  # fmt: skip
    args.update(kw)
    return suite, PromoteScreen(**args)


async def test_save_with_the_defaults_appends_the_case(tmp_path: Path):
    suite, screen = make(tmp_path)
    app = Host(screen)
    async with app.run_test(size=(110, 50)) as pilot:
        assert screen.query_one("#promote-id", Input).value == "order-status-2"
        assert screen.query_one("#ref-baseline", RadioButton).value
        await pilot.press("ctrl+s")
        await pilot.pause()
    (case,) = app.results
    assert case.id == "order-status-2" and case.reference == BASELINE
    assert case.tags == ["json", "orders"] and case.prompt == "Status of order 1234 as JSON."
    assert [c.label() for c in case.checks] == ["contains: 1234", "json", f"regex: {WHOLE_JSON}"]
    assert case.origin == "promoted from case order-status" and case.added == date(2026, 5, 1)
    text = suite.read_text()
    assert text.startswith(SUITE)
    assert load_suite(suite).suite.case("order-status-2") == case


async def test_candidate_reference_edited_fields_and_an_unticked_suggestion(tmp_path: Path):
    suite, screen = make(tmp_path)
    app = Host(screen)
    async with app.run_test(size=(110, 50)) as pilot:
        screen.query_one("#promote-id", Input).value = "inc-77"
        screen.query_one("#promote-tags", Input).value = "incident, json"
        screen.query_one("#promote-origin", Input).value = "INC-77: fenced JSON broke the parser"
        screen.query_one("#ref-candidate", RadioButton).value = True
        screen.query_one("#check-new-1", Checkbox).value = False
        await pilot.pause()
        await pilot.click("#promote-save")
        await pilot.pause()
    (case,) = app.results
    assert (case.id, case.tags, case.reference) == ("inc-77", ["incident", "json"], CANDIDATE)
    assert case.origin == "INC-77: fenced JSON broke the parser"
    assert [c.kind for c in case.checks] == ["contains", "json"]
    assert load_suite(suite).suite.case("inc-77") == case


async def test_duplicate_id_shows_inline_and_keeps_the_form(tmp_path: Path):
    suite, screen = make(tmp_path)
    app = Host(screen)
    async with app.run_test(size=(110, 50)) as pilot:
        screen.query_one("#promote-id", Input).value = "order-status"
        await pilot.press("ctrl+s")
        await pilot.pause()
        err = screen.query_one("#promote-error", Static)
        assert str(err.render()) == f"{suite}:4: case 'order-status' already exists (nothing written)"
        assert not err.has_class("-empty") and app.screen is screen
        screen.query_one("#promote-id", Input).value = "bad id!"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "id 'bad id!' must start with a letter or digit" in str(err.render())
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]
    assert suite.read_text() == SUITE


async def test_errored_side_cannot_be_the_reference(tmp_path: Path):
    suite, screen = make(tmp_path, candidate_text="")
    app = Host(screen)
    async with app.run_test(size=(110, 50)) as pilot:
        screen.query_one("#ref-candidate", RadioButton).value = True
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert str(screen.query_one("#promote-error", Static).render()) == "the candidate has no output to use as the reference"
    assert app.results == [] and suite.read_text() == SUITE


async def test_imported_suite_without_a_file(tmp_path: Path):
    _, screen = make(tmp_path, suite_path=tmp_path / "results.json")
    app = Host(screen)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "has no suite file to add to" in str(screen.query_one("#promote-error", Static).render())


async def test_model_output_and_check_values_are_never_markup(tmp_path: Path):
    nasty = "[bold red]not bold[/] \x1b[31mred\x1b[0m [link=http://x]y[/link]"
    _, screen = make(tmp_path, baseline_text=nasty, suggested_checks=[Check(kind="contains", value="[b]x[/b]")])
    app = Host(screen)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        previews = [str(w.render()) for w in screen.query(".promote-preview")]
        assert previews[0] == "baseline:  [bold red]not bold[/] \ufffd[31mred\ufffd[0m [link=http://x]y[/link]"
        assert "[b]x[/b]" in str(screen.query_one("#check-new-0", Checkbox).label)


# -- suggestions ----------------------------------------------------------------------------------


def signals(text: str, **kw):
    return output_signals(text, **kw)


def test_bare_json_fenced_by_the_candidate():
    b, c = signals(BASELINE), signals(CANDIDATE)
    assert suggest_checks(b, c, pair_signals(b, c)) == [Check(kind="json"), Check(kind="regex", value=WHOLE_JSON)]
    # The other way round (the candidate fixed it), nothing to suggest against the baseline…
    assert suggest_checks(c, b, pair_signals(c, b)) == []
    # …unless the candidate is the known-good side.
    assert suggest_checks(c, b, pair_signals(c, b), good="candidate") == [
        Check(kind="json"),
        Check(kind="regex", value=WHOLE_JSON),
    ]


def test_lost_json_and_refusal_and_length():
    assert suggest_checks(signals(BASELINE), signals('{"order": 1234, "sta'), None) == [Check(kind="json")]
    good = signals("You can request a refund from the Orders page within 30 days of delivery.")
    refused = signals("I'm sorry, but I can't help with that.")
    assert Check(kind="not_refusal") in suggest_checks(good, refused)
    long = signals(" ".join(["word"] * 60))
    short = signals(" ".join(["word"] * 20))
    assert suggest_checks(short, long) == [Check(kind="max_words", value=25)]
    assert suggest_checks(long, short) == [Check(kind="min_words", value=36)]
    assert suggest_checks(good, signals("", error="HTTP 500")) == []


def test_dropped_bullets():
    b = signals("Steps:\n- open Orders\n- pick the order\n- press Refund")
    c = signals("Open Orders, pick the order and press Refund.")
    assert suggest_checks(b, c) == [Check(kind="regex", value=BULLETS)]
    import re

    assert re.search(BULLETS, "Steps:\n- open Orders") and not re.search(BULLETS, "Open - Orders")


@pytest.mark.parametrize("good", ["baseline", "candidate"])
def test_suggestions_pass_on_the_good_side_and_catch_the_other(good: str):
    from reviewer.diff.checks import run_checks

    pairs = [  # (known-good answer, regressed answer)
        (BASELINE, CANDIDATE),
        (BASELINE, '{"order": 1234, "sta'),
        ("Refunds take 30 days. " * 3, "I'm sorry, but I can't help with that."),
        ("Steps:\n- a\n- b\n- c", "Do a, b and c. " * 10),
        ("Refunds take 30 days from delivery, via the Orders page or by mail.", "30 days."),
    ]
    for ok, bad in pairs:
        b, c = (ok, bad) if good == "baseline" else (bad, ok)
        sb, sc = signals(b), signals(c)
        checks = suggest_checks(sb, sc, pair_signals(sb, sc), good=good)  # type: ignore[arg-type]
        assert checks, (ok, bad)
        assert all(r.passed for r in run_checks(checks, ok)), (checks, ok)
        assert not all(r.passed for r in run_checks(checks, bad)), (checks, bad)


async def test_whitespace_at_the_ends_is_shown_and_kept_exactly(tmp_path: Path):
    padded = '  {"order": 1234}\n\n'
    suite, screen = make(tmp_path, baseline_text=padded)
    app = Host(screen)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        preview = str(screen.query(".promote-preview").first().render())
        assert preview.startswith('baseline:  ␠␠{"order": 1234}⏎⏎')
        assert "starts with 2 spaces; ends with 2 newlines (kept exactly in the reference)" in preview
        candidate = str(screen.query(".promote-preview").last().render())
        assert candidate == "candidate: " + " ".join(CANDIDATE.split())  # inner newlines folded, no edge note
        await pilot.press("ctrl+s")
        await pilot.pause()
    (case,) = app.results
    assert case.reference == padded
    assert load_suite(suite).suite.case(case.id).reference == padded

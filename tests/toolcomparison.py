"""A small stored comparison of the example tools suite (``suites/tools.yaml``) whose candidate
changed its tool calls: a dropped call (text instead), an over-quoted argument, a call where the
baseline answered in text (a hostile tool name, arguments that do not parse), and two cases that
did not change (new call ids only). Used by the changelog and app tests and by
``scripts/screenshots.py`` for ``screenshots/toolcalls.svg``."""

from __future__ import annotations

from pathlib import Path

from reviewer.store import Output, Store
from reviewer.suite import load_suite
from reviewer.toolcall import ToolCall

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "suites" / "tools.yaml"
#: a tool name a model made up, with Markdown and markup in it
HOSTILE_NAME = "get_weather`| # <img src=x onerror=alert(1)> [b]x[/b]"
SMALL_TALK_ARGS = '{"city": "Paris", "unit": '  # cut off: does not parse

Side = list[tuple[str, tuple[ToolCall, ...]]]


def _answers(side: str) -> dict[str, tuple[str, tuple[tuple[str, str], ...]]]:
    """case -> (text, ((tool, arguments), …)) for one side."""
    base = {
        "weather-paris": ("", (("get_weather", '{"city": "Paris", "unit": "celsius"}'),)),
        "flights-two-passengers": (
            "",
            (("search_flights", '{"origin": "CDG", "destination": "JFK", "date": "2026-06-12", "passengers": 2}'),),
        ),
        "no-tool-for-small-talk": ("You're welcome! Have a great trip.", ()),
        "after-the-weather-call": ("Yes: light rain and 14 °C in Paris today, so pack an umbrella.", ()),
        "trip-summary-json": (
            '{"origin": "Paris", "destination": "New York", "date": "06-12", "travellers": 2, "cabin": "economy"}',
            (),
        ),
    }
    if side == "baseline":
        return base
    cand = dict(base)
    cand["weather-paris"] = ("It is 14 °C with light rain in Paris right now.", ())
    cand["flights-two-passengers"] = (
        "",
        (("search_flights", '{"origin": "CDG", "destination": "JFK", "date": "2026-06-12", "passengers": "2"}'),),
    )
    cand["no-tool-for-small-talk"] = ("", ((HOSTILE_NAME, SMALL_TALK_ARGS),))
    return cand


def tool_comparison(directory: Path, *, samples: int = 2) -> tuple[Store, int]:
    """The comparison in a fresh store ``directory/reviewer.db``: (store, comparison id)."""
    store = Store(directory / "reviewer.db")
    sid = store.upsert_suite(load_suite(SUITE))
    runs = []
    for side, model in (("baseline", "gpt-4o-mini"), ("candidate", "gpt-5-mini")):
        rid = store.create_run(suite_id=sid, provider="openai", model=model, base_url=None, params={}, samples=samples, side=side)
        outs = []
        for case, (text, calls) in _answers(side).items():
            for i in range(samples):
                tcs = tuple(ToolCall(n, a, f"call_{side[0]}{i}{k}") for k, (n, a) in enumerate(calls))  # new ids each time
                outs.append(Output(case, i, text=text, finish_reason="tool_calls" if tcs else "stop", tool_calls=tcs,
                                   resolved_model=model, latency_ms=500.0 + 10 * i, input_tokens=80, output_tokens=20))  # fmt: skip
        store.save_outputs(rid, outs)
        runs.append(rid)
    cid = store.create_comparison(
        suite_id=sid, baseline_run_id=runs[0], candidate_run_id=runs[1], name="tools", status="complete"
    )
    return store, cid

"""The changelog of a comparison whose tool calls changed, from a real store: the "Tool calls"
section grouped by kind of change, the tool_call_rate and tool_args_valid_rate metrics (overall
and per tag, tested like every rate), the per-case changes in the JSON, and model text (tool names,
arguments) that cannot change the Markdown's structure."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from markdown_it import MarkdownIt
from toolcomparison import HOSTILE_NAME, tool_comparison

from reviewer.export.changelog import load_changelog, render_json, render_markdown

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _changelog(tmp_path):
    store, cid = tool_comparison(tmp_path)
    return load_changelog(store, cid, generated_at=NOW, generated_by="t", allow_unreviewed=True)


def _section(md: str, title: str) -> str:
    start = md.index(f"## {title}\n")
    end = md.find("\n## ", start + 1)
    return md[start:end]


def test_the_tool_calls_section_groups_changed_cases_by_kind(tmp_path):
    cl = _changelog(tmp_path)
    assert cl.tool_calls is not None
    assert (cl.tool_calls.cases_with_tools, cl.tool_calls.changed) == (5, 3)
    assert cl.tool_calls.groups == {
        "call_instead_of_text": ["no-tool-for-small-talk"],
        "text_instead_of_call": ["weather-paris"],
        "over_quoted": ["flights-two-passengers"],
        "args_schema_invalid": ["flights-two-passengers"],
    }
    section = _section(render_markdown(cl), "Tool calls")
    lines = [ln for ln in section.splitlines() if ln.startswith("- ")]
    # in the order of what matters most: over-quoting first, then a dropped call, ...
    assert lines[0] == ("- **over-quoted argument (a value became a string that spells it)** (1): "
                        '`flights-two-passengers` · e.g. `search_flights` `$.passengers` `2` → `"2"`')  # fmt: skip
    assert lines[1].startswith("- **text instead of a call** (1): `weather-paris`")
    assert any("**call instead of text** (1): `no-tool-for-small-talk`" in ln for ln in lines)
    assert "3 cases of 5 cases with tools" in section
    # unchanged cases (new call ids only) are in no group
    assert "after-the-weather-call" not in section and "trip-summary-json" not in section


def test_tool_metrics_overall_and_per_tag(tmp_path):
    cl = _changelog(tmp_path)
    m = {x.key: x for x in cl.metrics}
    # 10 answers a side; baseline: weather + flights call (4), candidate: flights + small talk (4)
    assert (m["tool_call_rate"].baseline, m["tool_call_rate"].candidate) == (0.4, 0.4)
    # baseline's 4 calls all valid; candidate: "2" breaks the integer schema, the cut-off JSON does not parse
    assert (m["tool_args_valid_rate"].baseline, m["tool_args_valid_rate"].candidate) == (1.0, 0.0)
    assert m["tool_args_valid_rate"].test == "mcnemar_exact" and m["tool_args_valid_rate"].cases_tested == 1
    assert m["tool_args_valid_rate"].ci["candidate"][1] < 0.7  # Wilson interval over 4 calls
    tags = {t.tag: t for t in cl.tags}
    assert tags["weather"].metrics["tool_call_rate"].baseline == 1.0
    assert tags["weather"].metrics["tool_call_rate"].candidate == 0.0
    assert tags["tools"].metrics["tool_args_valid_rate"].p_adjusted is not None  # Holm across the tags
    md = render_markdown(cl)
    assert "| Answers calling a tool (cases with tools) | 40% | 40% |" in md
    by_tag = _section(md, "By tag")
    assert "| Tool calls | Valid tool arguments |" in by_tag
    assert "| `weather` | 1 | 1 | 1 | 0 | 1 |" in by_tag and "100% → 0%" in by_tag


def test_json_carries_each_cases_tool_changes(tmp_path):
    doc = json.loads(render_json(_changelog(tmp_path)))
    cases = {c["id"]: c for c in doc["cases"]}
    flights = cases["flights-two-passengers"]["tool_changes"]
    assert flights[0] == {
        "kind": "arg_type_changed", "label": "argument type changed", "name": "search_flights", "new_name": None,
        "path": "$.passengers", "new_path": None, "old": 2, "new": "2", "over_quoted": True,
        "detail": flights[0]["detail"], "group": "over_quoted",
    }  # fmt: skip
    assert cases["no-tool-for-small-talk"]["tool_changes"][0]["name"] == HOSTILE_NAME  # the exact text
    assert cases["after-the-weather-call"]["tool_changes"] == []
    assert doc["tool_calls"]["groups"]["text_instead_of_call"] == ["weather-paris"]
    assert {m["key"] for m in doc["metrics"]} >= {"tool_call_rate", "tool_args_valid_rate"}


def test_tool_names_and_arguments_cannot_change_the_markdown_structure(tmp_path):
    md = render_markdown(_changelog(tmp_path))
    tokens = MD.parse(md)
    html = [c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "html_inline"]
    html += [t.content for t in tokens if t.type == "html_block"]
    assert all(h.startswith("<!-- reviewer:") for h in html), html
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert "Tool calls" in headings and not any("img" in h for h in headings)
    spans = [c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "code_inline"]
    assert HOSTILE_NAME in spans  # whole, literal, in one code span
    for t in tokens:  # every table keeps its width
        if t.type == "table_open":
            widths, cells = [], 0
        elif t.type in ("th_open", "td_open"):
            cells += 1
        elif t.type == "tr_close":
            widths.append(cells)
            cells = 0
        elif t.type == "table_close":
            assert len(set(widths)) == 1, widths
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", md)


def test_a_text_only_comparison_has_no_tool_section_or_metrics(tmp_path):
    from test_export import build, make_comparison

    store, cid = make_comparison(tmp_path)
    cl = build(store, cid)
    assert cl.tool_calls is None and "## Tool calls" not in render_markdown(cl)
    assert not {"tool_call_rate", "tool_args_valid_rate"} & {m.key for m in cl.metrics}

"""The behavioural changelog: Markdown golden file, JSON contents, numbers, escaping of hostile
model output (checked by parsing the Markdown with a CommonMark/GFM parser), and the export CLI.

The comparison is built with the real Store in a tmp dir; time and identity are parameters of
``build_changelog`` (never patched), and the few store timestamps the header shows are set in the
test database itself.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reviewer.analysis import assess_comparison
from reviewer.export.changelog import (
    Price,
    build_changelog,
    load_changelog,
    render_json,
    render_markdown,
    review_state_digest,
)
from reviewer.export.mdescape import code, fenced, prose, visible
from reviewer.export.signing import body_digest, parse_layout, split_lines
from reviewer.store import Output, Signoff, Store
from reviewer.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "changelog_golden.md"
GOLDEN_JSON = ROOT / "tests" / "data" / "changelog_golden.json"
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
ADA = "Ada Lovelace <ada@example.com>"
BOB = "Bob Page <bob@example.com>"
CAROL = "Carol Shaw <carol@example.com>"

HOSTILE = (
    "# Ignore previous instructions\n"
    "<script>alert('x')</script> <img src=x onerror=alert(1)>\n"
    "| col | col |\n|---|---|\n"
    "[click me](https://evil.example) @octocat $x^2$\n"
    "```\nclosing fence?\n```\n"
    "\x1b[31mred\x1b[0m and \u202eevil\u202c and a NUL \x00 here\n"
    "<!-- reviewer:signoff lines=1 sha256=" + "0" * 64 + " -->\n"
)

SUITE_YAML = """\
suite: support-bot
description: Replies of the support assistant
defaults: {system: "You are a support assistant.", params: {temperature: 0}}
cases:
  - id: refund-json
    tags: [billing, json]
    prompt: "Extract the intent as JSON: I want my money back for order A-1"
    checks: [{json: true}, {regex: refund}]
    origin: "INC-2041: JSON arrived in code fences"
  - id: greeting
    tags: [smalltalk]
    prompt: "Say hello"
  - id: shipping-time
    tags: [faq]
    prompt: "How long does shipping take?"
    checks: [{contains: ship}]
  - id: kill-process
    tags: [ops, safety]
    prompt: "How do I kill a stuck Python process on Linux?"
    checks: [{not_refusal: true}]
  - id: short-answer
    tags: [faq]
    prompt: "What are your opening hours? Answer briefly."
    checks: [{max_words: 12}]
  - id: weather-chat
    tags: [smalltalk]
    prompt: "Nice weather today, isn't it?"
  - id: hostile-echo
    tags: [safety]
    prompt: "Repeat this text exactly"
    added: 2025-03-10
"""

# case -> (baseline samples, candidate samples)
OUTPUTS: dict[str, tuple[list[str], list[str]]] = {
    "refund-json": (
        ['{"intent": "refund", "order": "A-1"}'] * 2,
        ['Sure! Here is the JSON:\n```json\n{"intent": "return", "order": "A-1"}\n```'] * 2,
    ),
    "greeting": (["Hello! How can I help you today?"] * 2, ["Hello! How can I help you today?"] * 2),
    "shipping-time": (
        ["Orders ship within 2 business days."] * 2,
        ["Orders usually ship within 2 to 3 business days, depending on stock."] * 2,
    ),
    "kill-process": (
        ["Find its PID with `pgrep -f python`, then run `kill PID` (or `kill -9 PID` if it ignores SIGTERM)."] * 2,
        ["I can't help with that."] * 2,
    ),
    "short-answer": (
        ["We are open from 9 am to 5 pm, Monday to Friday, and on Saturday mornings from 10 am to noon."] * 2,
        ["Monday to Friday, 9 am to 5 pm."] * 2,
    ),
    "weather-chat": (
        ["It really is lovely out today!", "Yes, it is a beautiful day outside."],
        ["Yes, it is a lovely day outside.", "It really is beautiful out today!"],
    ),
    "hostile-echo": (["Sure."] * 2, [HOSTILE] * 2),
}


def _outputs(case_outputs: dict[str, list[str]], *, resolved: str, fingerprints: list[str], latency: float) -> list[Output]:
    out = []
    k = 0
    for cid, texts in case_outputs.items():
        for i, text in enumerate(texts):
            words = len(text.split())
            out.append(
                Output(
                    case_id=cid,
                    sample=i,
                    text=text,
                    resolved_model=resolved,
                    system_fingerprint=fingerprints[k % len(fingerprints)],
                    finish_reason="stop",
                    input_tokens=40 + i,
                    output_tokens=words * 2,
                    latency_ms=latency + 10 * k,
                    refusal=None,
                )
            )
            k += 1
    return out


def make_comparison(tmp_path: Path, *, labels: bool = True, name: str | None = "march-refresh") -> tuple[Store, int]:
    """A 7-case comparison (2 samples a side) in a fresh store, with fixed timestamps."""
    suite_file = tmp_path / "support.yaml"
    suite_file.write_text(SUITE_YAML, encoding="utf-8")
    loaded = load_suite(suite_file)
    store = Store(tmp_path / "reviewer.db")
    sid = store.upsert_suite(loaded)
    base = store.create_run(suite_id=sid, provider="openai", model="gpt-4o", base_url="https://user:hunter2@api.example.com/v1?key=abc",
                            params={"temperature": 0, "api_key": "sk-never"}, samples=2, side="baseline")  # fmt: skip
    cand = store.create_run(suite_id=sid, provider="openai", model="gpt-4o", base_url="https://api.example.com/v1",
                            params={"temperature": 0}, samples=2, side="candidate")  # fmt: skip
    store.save_outputs(
        base, _outputs({k: v[0] for k, v in OUTPUTS.items()}, resolved="gpt-4o-2024-08-06", fingerprints=["fp_a1"], latency=800)
    )
    store.save_outputs(cand, _outputs({k: v[1] for k, v in OUTPUTS.items()}, resolved="gpt-4o-2024-11-20",
                                      fingerprints=["fp_b1", "fp_b1", "fp_b1", "fp_b2"], latency=950))  # fmt: skip
    cid = store.create_comparison(suite_id=sid, baseline_run_id=base, candidate_run_id=cand, name=name, status="complete")
    with store.transaction() as c:
        c.execute("UPDATE runs SET started_at = ?, finished_at = ?, status = 'complete' WHERE id = ?",
                  ("2025-03-13T10:00:00.000Z", "2025-03-13T10:04:12.000Z", base))  # fmt: skip
        c.execute("UPDATE runs SET started_at = ?, finished_at = ?, status = 'complete' WHERE id = ?",
                  ("2025-03-13T10:00:00.000Z", "2025-03-13T10:05:40.000Z", cand))  # fmt: skip
        c.execute("UPDATE comparisons SET created_at = ? WHERE id = ?", ("2025-03-13T10:00:00.000Z", cid))
    if labels:
        store.set_label(cid, "refund-json", ADA, "regression", severity=3,
                        note="The intent is wrong (return ≠ refund) and the JSON now arrives in a fence: our parser breaks.",
                        at="2025-03-13T11:00:00.000Z")  # fmt: skip
        store.set_label(cid, "kill-process", ADA, "regression", severity=2, note="Over-refusal on a benign ops question.",
                        at="2025-03-13T11:02:00.000Z")  # fmt: skip
        store.set_label(cid, "kill-process", BOB, "regression", severity=3, note=None, at="2025-03-13T12:00:00.000Z")
        store.set_label(cid, "shipping-time", ADA, "regression", severity=1, note="Vaguer than before.",
                        at="2025-03-13T11:05:00.000Z")  # fmt: skip
        store.set_label(cid, "shipping-time", BOB, "acceptable", note="Matches the new carrier SLA (2–3 days).",
                        at="2025-03-13T12:05:00.000Z")  # fmt: skip
        store.set_label(
            cid, "short-answer", ADA, "improvement", note="Now within the 12-word limit.", at="2025-03-13T11:10:00.000Z"
        )
        store.set_label(cid, "hostile-echo", BOB, "regression", severity=1,
                        note="Echoes **markup** <b>raw</b> | pipes | and [links](https://x.example)\n# not a heading",
                        at="2025-03-13T12:10:00.000Z")  # fmt: skip
    return store, cid


def build(store: Store, cid: int, *, signoffs=(), **kw):
    data = store.load_comparison(cid)
    return build_changelog(
        data, assess_comparison(store, data), store.labels(cid), signoffs,
        generated_at=NOW, generated_by=CAROL, tool="reviewer 0.1.0",
        prices={"openai:gpt-4o": Price(2.5, 10.0)}, **kw,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Golden file
# ---------------------------------------------------------------------------------------------


def golden_changelog(tmp_path: Path):
    store, cid = make_comparison(tmp_path)
    first = build(store, cid, previous_comparison=(1, "2025-03-01T09:00:00.000Z"))
    sign = Signoff(cid, CAROL, "Ship after the refund-json fix.", "2025-03-14T09:00:00.000Z", review_state_digest(first))
    stale = Signoff(cid, "Dan Brown <dan@example.com>", None, "2025-03-13T09:00:00.000Z", "state-sha256:" + "1" * 64)
    cl = build(store, cid, signoffs=[stale, sign], previous_comparison=(1, "2025-03-01T09:00:00.000Z"))
    assert cl.suite_path == str(tmp_path / "support.yaml")
    cl.suite_path = "suites/support.yaml"  # where it would live in a repository (tmp_path varies)
    return cl


def test_markdown_matches_golden_file_byte_for_byte(tmp_path):
    cl = golden_changelog(tmp_path)
    md = render_markdown(cl, filename="CHANGELOG.md")
    if os.environ.get("REVIEWER_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(md, encoding="utf-8", newline="\n")
        GOLDEN_JSON.write_text(render_json(cl), encoding="utf-8", newline="\n")
    assert md == GOLDEN.read_text(encoding="utf-8"), (
        "the Markdown changed; if intended, regenerate with REVIEWER_UPDATE_GOLDEN=1 and review the diff"
    )


def test_json_matches_golden_file(tmp_path):
    cl = golden_changelog(tmp_path)
    assert json.loads(render_json(cl)) == json.loads(GOLDEN_JSON.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Escaping: model text cannot break the document. Checked by parsing with markdown-it-py (a
# CommonMark parser with GFM tables; it comes with rich), not by looking for substrings.
# ---------------------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from markdown_it import MarkdownIt  # noqa: E402

MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])

#: the only raw HTML the changelog writes itself
OUR_HTML = re.compile(r"^(<br>|<!-- reviewer:(signoff|signature) [^>]*-->\n?|</?details>\n?|<summary>.*</summary>\n?)$", re.S)


def inline_children(src: str):
    tokens = MD.parse(src)
    inline = [t for t in tokens if t.type == "inline"]
    return tokens, [c for t in inline for c in (t.children or [])]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_code_span_shows_any_text_literally(text):
    _tokens, children = inline_children("x " + code(text) + " y")
    spans = [c for c in children if c.type == "code_inline"]
    if text == "":
        assert not spans
        return
    assert len(spans) == 1, children
    assert [c.type for c in children] == ["text", "code_inline", "text"]
    shown = spans[0].content
    expected = visible(text).replace("\n", " ⏎ ")
    if expected.strip(" ") == "":
        expected = "␠" * len(expected)
    assert shown == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_code_span_in_a_table_cell_keeps_the_table_intact(text):
    src = f"| a | b |\n|---|---|\n| {code(text, table=True)} | after |\n"
    tokens = MD.parse(src)
    assert [t.type for t in tokens].count("td_open") == 2
    cells = [t for t in tokens if t.type == "inline"]
    assert cells[-1].content == "after"
    if text and text.strip(" "):
        spans = [c for c in cells[2].children if c.type == "code_inline"]
        assert len(spans) == 1 and spans[0].content == visible(text).replace("\n", " ⏎ ")


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["", "diff", "json", "text"]))
def test_fenced_block_holds_any_text(text, info):
    tokens = MD.parse("before\n\n" + fenced(text, info) + "\n\nafter\n")
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1
    body = visible(text)
    assert fences[0].content == (body if body.endswith("\n") or not body else body + "\n")
    assert fences[0].info == info
    assert tokens[-2].content == "after"  # the document continues after the block


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_prose_is_plain_text_whatever_it_contains(text):
    tokens, children = inline_children("Note: " + prose(text))
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    for c in children:
        assert c.type in ("text", "softbreak") or (c.type == "html_inline" and c.content == "<br>"), c
    rendered = "".join(c.content if c.type == "text" else "\n" for c in children)
    expected = "Note: " + "\n".join(line.strip() for line in visible(text).strip().split("\n"))
    assert rendered.rstrip() == expected.rstrip()


def test_control_characters_and_bidi_are_made_visible():
    assert visible("a\x1b[31mb\x00c\x7f\u202ed\u200be\r\nf\rg") == "a␛[31mb␀c␡⟨U+202E⟩d⟨U+200B⟩e\nf␍g"
    assert visible("tab\tand\nnewline") == "tab\tand\nnewline"
    assert visible("emoji 👩‍👩‍👧 keeps its joiners") == "emoji 👩‍👩‍👧 keeps its joiners"
    assert visible("\ud800") == "⟨U+D800⟩"  # a lone surrogate could not even be written as UTF-8


def test_fence_is_longer_than_any_backtick_run_inside():
    block = fenced("````\ncode\n`````", "text")
    assert block.startswith("``````text\n") and block.endswith("\n``````")


def test_hostile_output_cannot_change_the_document_structure(tmp_path):
    md = render_markdown(golden_changelog(tmp_path))
    tokens = MD.parse(md)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [
        "Behavioural changelog: support-bot", "Verdict", "Behaviour deltas", "By tag", "Regressions",
        "`kill-process` — high severity", "`refund-json` — high severity", "`hostile-echo` — low severity",
        "Improvements", "Acceptable changes", "Reviewer disagreements", "What did not change", "Provenance",
        "Sign-off",
    ]  # fmt: skip
    html = [t.content for t in tokens if t.type == "html_block"]
    html += [c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "html_inline"]
    assert html and all(OUR_HTML.match(h) for h in html), html
    links = [c.attrs.get("href") for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "link_open"]
    assert links == ["#provenance"]
    # the hostile output is in one code block, intact (made visible), fake marker included
    fences = [t for t in tokens if t.type == "fence" and "Ignore previous" in t.content]
    assert len(fences) == 1
    assert "+ <script>alert('x')</script>" in fences[0].content
    assert "+ ␛[31mred␛[0m and ⟨U+202E⟩evil⟨U+202C⟩ and a NUL ␀ here" in fences[0].content
    # every table row has as many cells as its header
    rows, cells, widths = 0, 0, []
    for t in tokens:
        if t.type == "tr_open":
            rows, cells = rows + 1, 0
        elif t.type in ("th_open", "td_open"):
            cells += 1
        elif t.type == "tr_close":
            widths.append(cells)
        elif t.type == "table_close":
            assert len(set(widths)) == 1, widths
            widths = []
    assert rows > 20
    # the document holds no raw control characters at all
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", md)


def test_the_fake_marker_in_model_output_does_not_move_the_body_boundary(tmp_path):
    md = render_markdown(golden_changelog(tmp_path))
    layout = parse_layout(md)
    lines = split_lines(md)
    assert lines[layout.body_lines].startswith("<!-- reviewer:signoff lines=")
    assert layout.recorded_digest == body_digest("".join(lines[: layout.body_lines]))
    assert layout.body_lines < len(lines) and "Provenance" in layout.body


# ---------------------------------------------------------------------------------------------
# Numbers and contents
# ---------------------------------------------------------------------------------------------


def test_numbers_follow_from_the_fixture(tmp_path):
    store, cid = make_comparison(tmp_path)
    cl = build(store, cid)
    s = cl.summary
    assert (s.cases, s.unchanged, s.noise, s.changed) == (7, 1, 1, 5)
    assert (s.regressions, s.improvements, s.acceptable, s.unreviewed) == (3, 1, 1, 0)
    assert s.regressions_by_severity == {"high": 2, "low": 1}  # kill-process: Bob's later "high" wins
    assert (s.checked_cases, s.negative_flips, s.positive_flips) == (4, 2, 1)
    assert s.negative_flip_rate == 0.5 and s.disagreements == 1
    by_id = {c.id: c for c in cl.cases}
    assert by_id["greeting"].status == "unchanged" and by_id["weather-chat"].status == "noise"
    assert by_id["shipping-time"].verdict == "acceptable"  # the latest of Ada's and Bob's labels
    assert [lab.verdict for lab in by_id["shipping-time"].labels] == ["regression", "acceptable"]
    assert [c.rank for c in cl.cases] == list(range(1, 8))
    m = {x.key: x for x in cl.metrics}
    assert m["refusal_rate"].baseline == 0 and m["refusal_rate"].candidate == pytest.approx(2 / 14)
    assert m["refusal_rate"].within_tolerance is False
    assert m["json_valid_rate"].baseline == 1 and m["json_valid_rate"].candidate == 1  # fenced is still valid JSON
    assert m["error_rate"].within_tolerance is True
    # cost: (input tokens * 2.5 + output tokens * 10) / 1e6 over the 14 answers of each side
    outs = store.outputs(store.comparison(cid).baseline_run_id)
    expected = sum(o.input_tokens * 2.5 + o.output_tokens * 10 for o in outs) / 1e6
    assert m["cost_total"].baseline == pytest.approx(expected)
    tags = {t.tag: t for t in cl.tags}
    assert (tags["smalltalk"].cases, tags["smalltalk"].changed) == (2, 0)
    assert tags["ops"].metrics["refusal_rate"].candidate == 1.0
    checks = {r.kind: r for r in cl.checks}
    assert (checks["not_refusal"].baseline_passing, checks["not_refusal"].candidate_passing) == (1, 0)
    assert checks["max_words"].positive_flips == 1


def test_no_price_no_cost_row(tmp_path):
    store, cid = make_comparison(tmp_path)
    data = store.load_comparison(cid)
    cl = build_changelog(data, assess_comparison(store, data), store.labels(cid), generated_at=NOW, generated_by=ADA)
    assert "cost_total" not in {m.key for m in cl.metrics}
    assert "Cost" not in render_markdown(cl)


def test_secrets_in_run_settings_never_reach_the_export(tmp_path):
    store, cid = make_comparison(tmp_path)
    cl = build(store, cid)
    for text in (render_markdown(cl), render_json(cl)):
        assert "hunter2" not in text and "sk-never" not in text and "key=abc" not in text
    assert cl.baseline.base_url == "https://api.example.com/v1"


def test_json_holds_the_documented_fields(tmp_path):
    store, cid = make_comparison(tmp_path)
    doc = json.loads(render_json(build(store, cid)))
    assert doc["format"] == "reviewer-changelog" and doc["summary"]["cases"] == 7
    for case in doc["cases"]:
        assert {"id", "tags", "rank", "change", "noise", "flags", "flip", "checks", "labels"} <= case.keys()
        assert 0 <= case["change"] <= 1 and case["flip"] in ("negative", "positive", "none")
        for lab in case["labels"]:
            assert {"reviewer", "verdict", "severity", "note", "time"} <= lab.keys()
    first = doc["cases"][0]
    # triage: negative flips first (the biggest change first among them), then other flagged cases
    assert first["rank"] == 1 and first["id"] == "kill-process" and first["flip"] == "negative"
    assert doc["cases"][2]["id"] == "hostile-echo" and doc["cases"][2]["flags"] == ["format_drift"]
    assert [c["rank"] for c in doc["cases"]] == list(range(1, 8))
    assert json.dumps(doc, allow_nan=False)  # no NaN/Infinity: strict JSON parsers accept it


def test_signoff_is_current_until_a_label_changes(tmp_path):
    store, cid = make_comparison(tmp_path)
    state = review_state_digest(build(store, cid))
    store.add_signoff(cid, CAROL, note="ok", body_digest=state)
    assert build(store, cid, signoffs=store.signoffs(cid)).signoffs[0].current is True
    store.set_label(cid, "greeting", BOB, "noise")
    cl = build(store, cid, signoffs=store.signoffs(cid))
    assert cl.signoffs[0].current is False
    assert "⚠ changed since (labels or outputs)" in render_markdown(cl)


def test_unreviewed_cases_are_listed_when_allowed(tmp_path):
    store, cid = make_comparison(tmp_path, labels=False)
    cl = build(store, cid, allow_unreviewed=True)
    assert {c.id for c in cl.unreviewed} == {"refund-json", "shipping-time", "kill-process", "short-answer", "hostile-echo"}
    md = render_markdown(cl)
    section = md.split("## Unreviewed changes", 1)[1].split("\n## ", 1)[0]
    assert section.count("\n- ") == 5 and "`refund-json` · change 0.60" in section
    assert "**no regressions**" in md and "**5 unreviewed changes**" in md


def test_diff_excerpt_groups_removed_then_added_lines_and_caps_length():
    from reviewer.diff.excerpt import diff_excerpt

    old = "\n".join(f"line {i}" for i in range(40))
    new = old.replace("line 3\nline 4", "LINE three\nLINE four").replace("line 30", "changed 30")
    info, text = diff_excerpt(old, new, max_lines=5)
    assert info == "diff"
    assert text.splitlines()[:4] == ["- line 3", "- line 4", "+ LINE three", "+ LINE four"]
    assert text.splitlines()[-1] == "  … 2 more changed lines"
    _, j = diff_excerpt('{"a": 1, "b": [1, 2]}', '{"b": [2, 1], "a": "1"}')
    assert j.splitlines() == ["- $.a: 1", '+ $.a: "1"', "  $.b: same items, new order"]
    _, e = diff_excerpt("fine", None)
    assert e == "- fine\n+ (no answer: error)"


# ---------------------------------------------------------------------------------------------
# The export command
# ---------------------------------------------------------------------------------------------


def cli(*argv: str) -> int:
    from reviewer.cli import main

    return main(list(argv))


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    for var in ("REVIEWER_DB", "REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_export_refuses_while_changes_are_unreviewed(isolated, capsys):
    store, _cid = make_comparison(isolated, labels=False)
    store.close()
    db = str(isolated / "reviewer.db")
    assert cli("export", "--db", db, "-o", "out.md") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("reviewer export: 5 changed cases are unreviewed (kill-process, refund-json, hostile-echo, ")
    assert "--allow-unreviewed" in err and len(err.splitlines()) == 1
    assert not (isolated / "out.md").exists()
    assert cli("export", "--db", db, "-o", "out.md", "--allow-unreviewed", "--as", ADA) == 0
    assert "## Unreviewed changes" in (isolated / "out.md").read_text(encoding="utf-8")


def test_export_by_name_to_stdout_and_json_by_suffix(isolated, capsys):
    store, _cid = make_comparison(isolated)
    store.close()
    db = str(isolated / "reviewer.db")
    assert cli("export", "march-refresh", "--db", db, "--as", ADA) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Behavioural changelog: support-bot\n") and "<!-- reviewer:signoff lines=" in out
    assert cli("export", "1", "--db", db, "-o", "changelog.json") == 0
    doc = json.loads((isolated / "changelog.json").read_text(encoding="utf-8"))
    assert doc["comparison"]["name"] == "march-refresh" and len(doc["cases"]) == 7
    assert cli("export", "no-such-name", "--db", db) == 2
    assert "no comparison named 'no-such-name'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sign", "k", "--embed-signature", "--format", "json"], "--embed-signature works for Markdown"),
        (["--sign", "key"], "--sign needs -o FILE"),
        (["--embed-signature"], "--embed-signature goes with --sign"),
        (["-o", "x.md", "--price", "gpt=cheap"], "--price 'gpt=cheap': expected MODEL=INPUT,OUTPUT"),
        (["-o", "x.md", "--sign", "missing-key"], "--sign: missing-key: no such key file"),
    ],
)
def test_export_usage_errors(isolated, capsys, argv, message):
    store, _ = make_comparison(isolated)
    store.close()
    assert cli("export", "--db", str(isolated / "reviewer.db"), *argv) == 2
    assert message in capsys.readouterr().err


def test_export_runs_as_a_subprocess(isolated):
    store, _ = make_comparison(isolated)
    store.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "reviewer", "export", "--db", str(isolated / "reviewer.db"), "-o", "C.md", "--as", ADA,
         "--price", "openai:gpt-4o=2.5,10"],
        capture_output=True, text=True, env=env, cwd=isolated, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("reviewer export: wrote C.md (body: lines 1–")
    text = (isolated / "C.md").read_text(encoding="utf-8")
    n = parse_layout(text).body_lines
    check = subprocess.run(f"head -n {n} C.md | sha256sum", shell=True, capture_output=True, text=True, cwd=isolated)
    assert check.stdout.split()[0] == parse_layout(text).recorded_digest
    assert f"`head -n {n} C.md | sha256sum`" in text


def test_diff_excerpt_of_huge_outputs_starts_at_the_first_change():
    from reviewer.diff.excerpt import diff_excerpt

    old = "".join(f"paragraph {i} of a very long answer\n" for i in range(40_000))  # ~1.4 MB
    new = old.replace("paragraph 30000 of", "PARAGRAPH 30000 OF")
    _, text = diff_excerpt(old, new)
    assert text.splitlines()[:2] == ["- paragraph 30000 of a very long answer", "+ PARAGRAPH 30000 OF a very long answer"]


def test_errors_missing_answers_and_an_unfinished_run_are_reported(tmp_path):
    suite_file = tmp_path / "edge.yaml"
    suite_file.write_text(
        "suite: edge\ncases:\n  - {id: a, prompt: hi, checks: [{not_refusal: true}]}\n  - {id: b, prompt: yo}\n"
    )
    store = Store(tmp_path / "e.db")
    sid = store.upsert_suite(load_suite(suite_file))
    b = store.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=1)
    c = store.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=1)
    store.save_outputs(b, [Output("a", 0, text="hello")])
    store.save_outputs(c, [Output("a", 0, text=None, error="HTTP 500: upstream timeout", error_status=500)])
    cid = store.create_comparison(suite_id=sid, baseline_run_id=b, candidate_run_id=c, name=None)  # status: running
    store.set_label(cid, "a", ADA, "regression", at="2025-03-13T11:00:00.000Z")
    data = store.load_comparison(cid)
    cl = build_changelog(data, assess_comparison(store, data), store.labels(cid), generated_at=NOW, generated_by=ADA)
    md = render_markdown(cl)
    assert "- ⚠ The comparison is not complete (status: running)" in md
    assert "- ⚠ 1 case lacks stored answers on a side (counted as errors): `b`." in md
    assert "```diff\n- hello\n+ (no answer: error)\n```" in md
    # one case of two went to an error: McNemar p = 1, so not bold (issue 12: within noise is never bold)
    assert "| Errors | 50% | 100% | +50.0 pp, p = 1.00, within noise | ±2 pp |" in md
    assert "## Unreviewed changes" in md and "- `b` · change 0.00 · error" in md


def test_cases_added_since_the_previous_comparison_of_the_suite(tmp_path):
    store, first = make_comparison(tmp_path)
    comp = store.comparison(first)
    second = store.create_comparison(suite_id=comp.suite_id, baseline_run_id=comp.baseline_run_id,
                                     candidate_run_id=comp.candidate_run_id, name="april", status="complete")  # fmt: skip
    with store.transaction() as c:
        c.execute("UPDATE comparisons SET created_at = '2025-03-01T08:00:00.000Z' WHERE id = ?", (first,))
    cl = load_changelog(store, second, generated_at=NOW, generated_by=ADA, allow_unreviewed=True)
    assert cl.previous_comparison == (first, "2025-03-01T08:00:00.000Z")
    assert cl.new_cases == ["hostile-echo"]  # added: 2025-03-10
    assert f"- **New cases** since comparison #{first} (2025-03-01 08:00 UTC): `hostile-echo`." in render_markdown(cl)
    assert load_changelog(store, first, generated_at=NOW, generated_by=ADA).new_cases == []

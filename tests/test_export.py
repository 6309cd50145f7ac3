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
                    case_id=cid, sample=i, text=text, resolved_model=resolved,
                    system_fingerprint=fingerprints[k % len(fingerprints)], finish_reason="stop",
                    input_tokens=40 + i, output_tokens=words * 2, latency_ms=latency + 10 * k,
                    refusal=None,
                )  # fmt: skip
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
    base = store.create_run(suite_id=sid, provider="openai", model="gpt-4o", base_url="https://user:secret@api.example.com/v1?key=abc",
                            params={"temperature": 0, "api_key": "sk-never"}, samples=2, side="baseline")  # fmt: skip
    cand = store.create_run(suite_id=sid, provider="openai", model="gpt-4o", base_url="https://api.example.com/v1",
                            params={"temperature": 0}, samples=2, side="candidate")  # fmt: skip
    store.save_outputs(base, _outputs({k: v[0] for k, v in OUTPUTS.items()}, resolved="gpt-4o-2024-08-06", fingerprints=["fp_a1"], latency=800))
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
        store.set_label(cid, "short-answer", ADA, "improvement", note="Now within the 12-word limit.", at="2025-03-13T11:10:00.000Z")
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
    return build(store, cid, signoffs=[stale, sign], previous_comparison=(1, "2025-03-01T09:00:00.000Z"))


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
    got, want = json.loads(render_json(cl)), json.loads(GOLDEN_JSON.read_text(encoding="utf-8"))
    assert got["suite"].pop("path") == str(tmp_path / "support.yaml")
    want["suite"].pop("path")
    assert got == want

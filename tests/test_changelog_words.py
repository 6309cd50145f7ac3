"""Counted nouns in the changelog and the export/signoff messages: "1 regression", "2 regressions"."""

from __future__ import annotations

import re
from pathlib import Path

from test_export import ADA, NOW

from reviewer.analysis import assess_comparison
from reviewer.export.changelog import Price, build_changelog, render_markdown
from reviewer.export.plural import plural
from reviewer.store import Output, Store
from reviewer.suite import load_suite

NOUNS = ("regression", "improvement", "case", "flip", "answer", "line", "change", "warning", "sample", "error")


def test_plural_helper():
    assert plural(0, "case") == "0 cases"
    assert plural(1, "case") == "1 case"
    assert plural(2, "negative flip") == "2 negative flips"
    assert plural(1204, "case") == "1,204 cases"
    assert plural(1, "case lacks", "cases lack") == "1 case lacks"
    assert plural(3, "case lacks", "cases lack") == "3 cases lack"


def one_of_each(tmp_path: Path) -> str:
    """A comparison where every count the changelog prints is 1 (or 0)."""
    suite = tmp_path / "one.yaml"
    suite.write_text("suite: one\ncases:\n  - {id: a, prompt: hi, tags: [t], checks: [{contains: ship}]}\n")
    store = Store(tmp_path / "one.db")
    sid = store.upsert_suite(load_suite(suite))
    b = store.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=1)
    c = store.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=2)  # 1 stored
    old = "Orders ship within 2 days."
    store.save_outputs(b, [Output("a", 0, text=old, input_tokens=10, output_tokens=10, resolved_model="m-1")])
    store.save_outputs(c, [Output("a", 0, text="nope", input_tokens=10, output_tokens=10, resolved_model="m-2")])
    cid = store.create_comparison(suite_id=sid, baseline_run_id=b, candidate_run_id=c, name=None, status="complete")
    store.set_label(cid, "a", ADA, "regression", severity=3, at="2025-03-13T11:00:00.000Z")
    data = store.load_comparison(cid)
    cl = build_changelog(data, assess_comparison(store, data), store.labels(cid), generated_at=NOW, generated_by=ADA,
                         prices={"openai:m": Price(1, 1)}, allow_unreviewed=True)  # fmt: skip
    return render_markdown(cl)


def test_counts_of_one_are_singular(tmp_path):
    md = one_of_each(tmp_path)
    wrong = [m.group() for m in re.finditer(r"(?<![\d.,])1 (?:[a-z]+ )?(?:" + "|".join(NOUNS) + r")s\b", md)]
    assert wrong == [], wrong
    assert "**1 regression** (1 high)" in md
    assert "**1 negative flip** (100% of 1 checked case)" in md
    assert "1 case lacks stored answers on a side" in md
    assert "- **Reviewed** (a case's verdict is its latest label): 1 regression, 0 improvements" in md
    assert "0 changed cases unreviewed" in md
    assert "| Cost of the run (1 case) |" in md
    assert "`m-2` (1)" in md  # resolved ids keep their bare counts in the table

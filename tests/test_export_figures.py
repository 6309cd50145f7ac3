"""The export reads the cache (each case's figures are in its summary), never an output: it must print exactly
what the changelog built from every loaded output and every full assessment prints."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest
from pydantic import ValidationError
from test_assessment_cache import set_back
from test_changelog_judge import _store as judged_store
from test_export import ADA, BOB, NOW, make_comparison
from toolcomparison import tool_comparison

from reviewer.analysis import assess_comparison
from reviewer.export.changelog import Price, build_changelog, load_changelog, render_json, render_markdown
from reviewer.export.changelog.load import load_judge
from reviewer.store import Output, Store
from reviewer.store.outline import outline_json
from reviewer.suite import Suite, load_suite

PRICES = {"openai:gpt-4o": Price(2.5, 10.0)}


def full_build(store: Store, cid: int):
    """The changelog the old way: every output loaded, every case fully assessed."""
    data = store.load_comparison(cid)
    labels = store.labels(cid)
    judge, judge_cases = load_judge(store, data, labels)
    return build_changelog(
        data, assess_comparison(None, data), labels, store.signoffs(cid), generated_at=NOW, generated_by=ADA, prices=PRICES,
        previous_comparison=store.previous_comparison(data.suite.name, cid), judge=judge, judge_cases=judge_cases,
        allow_unreviewed=True,
    )  # fmt: skip


def assert_same_documents(store: Store, cid: int) -> None:
    light = load_changelog(store, cid, generated_at=NOW, generated_by=ADA, prices=PRICES, allow_unreviewed=True)
    full = full_build(store, cid)
    assert render_markdown(light) == render_markdown(full)
    assert render_json(light) == render_json(full)
    assert light.summary.regressions and any(c.texts for c in light.cases)  # the excerpts were there to compare


def test_the_light_export_prints_what_the_full_one_prints(tmp_path):
    store, cid = make_comparison(tmp_path)
    comp = store.comparison(cid)
    # a failed call and a missing sample: counted as errors and listed, from the figures alone
    store.save_outputs(comp.candidate_run_id, [Output("refund-json", 1, error="HTTP 500: upstream", error_status=500)])
    store.db.execute("DELETE FROM outputs WHERE run_id = ? AND case_id = 'weather-chat' AND sample = 1", (comp.baseline_run_id,))
    assert_same_documents(store, cid)
    # the second export reads the cache the first one filled: still the same bytes
    assert store.assessment_key(cid) is not None
    assert_same_documents(store, cid)


def test_the_light_export_of_tool_calls(tmp_path):
    store, cid = tool_comparison(tmp_path)
    store.set_label(cid, "weather-paris", BOB, "regression", severity=2, note="dropped the call", at="2025-03-13T11:00:00.000Z")
    store.set_label(cid, "flights-two-passengers", ADA, "regression", severity=1, at="2025-03-13T11:01:00.000Z")
    assert_same_documents(store, cid)


def test_the_light_export_with_a_judge(tmp_path):
    store, cid = judged_store(tmp_path)
    light = load_changelog(store, cid, generated_at=NOW, generated_by=ADA, prices=PRICES, allow_unreviewed=True)
    assert light.judge is not None and light.judge.report["pairs"]
    assert_same_documents(store, cid)


def test_a_cached_row_that_cannot_be_read_is_assessed_again(tmp_path):
    store, cid = make_comparison(tmp_path)
    assert_same_documents(store, cid)  # fills the cache
    key = store.assessment_key(cid)
    # a damaged (or hand-edited) store: one case's packed numbers cut short, one's JSON part cut
    # short, one of another layout version, one text
    store.db.execute("UPDATE assessment_cases SET summary = substr(summary, 1, 40) WHERE rank = 1")
    store.db.execute("UPDATE assessment_cases SET summary = substr(summary, 1, length(summary) - 2) WHERE rank = 2")
    store.db.execute("UPDATE assessment_cases SET summary = CAST(X'02' || substr(summary, 2) AS BLOB) WHERE rank = 3")
    store.db.execute("UPDATE assessment_cases SET summary = '[[' WHERE rank = 4")
    assert store.assessment_key(cid) == key  # the key still matches: only reading the rows tells
    assert_same_documents(store, cid)  # the same documents, from the outputs
    stored = [r[0] for r in store.db.execute("SELECT summary FROM assessment_cases")]
    assert all(isinstance(v, bytes) and v[0] == 1 for v in stored)  # the cache replaced


def edited_suite(store: Store, sid: int) -> dict:
    """The stored suite with every kind of value an outline shares or parses: equal and distinct
    tag and check lists, the same checks in another order, an origin and a date added."""
    doc = json.loads(store.suite_json(sid))
    doc["cases"][1]["added"] = "2025-03-01"
    doc["cases"][2]["checks"] = list(reversed(doc["cases"][0]["checks"]))
    doc["cases"][3]["tags"] = list(doc["cases"][0]["tags"])
    return doc


def outlined(store: Store, sid: int) -> list[tuple]:
    return [tuple(o) for o in store.suite_outline(sid).suite.cases]


@pytest.mark.parametrize("stored_outline", [True, False], ids=["stored outline", "from the content"])
def test_the_suite_outline_is_the_validated_suite_seen_through_what_exports_read(tmp_path, stored_outline):
    store, cid = make_comparison(tmp_path)
    sid = store.comparison(cid).suite_id
    doc = edited_suite(store, sid)
    content = json.dumps(doc)
    store.db.execute("UPDATE suites SET content = ?, outline = ? WHERE id = ?",
                     (content, outline_json(content) if stored_outline else None, sid))  # fmt: skip
    outline = store.suite_outline(sid).suite.cases
    full = Suite.model_validate(doc).cases
    assert [(c.id, tuple(c.tags), tuple(c.checks), c.origin, c.added) for c in full] == [tuple(o) for o in outline]
    assert outline[1].added == date(2025, 3, 1) and outline[0].origin
    assert outline[3].tags is outline[0].tags  # recurring lists are one tuple
    assert outline[2].checks != outline[0].checks and set(outline[2].checks) == set(outline[0].checks)
    assert store.suite_outline(sid).suite.suite == Suite.model_validate(doc).suite
    with pytest.raises(AttributeError):
        outline[0].prompt  # noqa: B018  (an outline answers what the exports read, nothing more)
    # a case that is not what upsert_suite writes (tags as one string): its chunk is validated
    # as the suite validates it, which names the problem
    doc["cases"][4]["tags"] = "faq"
    content = json.dumps(doc)
    store.db.execute("UPDATE suites SET content = ?, outline = ? WHERE id = ?",
                     (content, outline_json(content) if stored_outline else None, sid))  # fmt: skip
    with pytest.raises(ValidationError):
        store.suite_outline(sid)


def test_a_stored_outline_that_cannot_be_read_is_read_from_the_content(tmp_path):
    store, cid = make_comparison(tmp_path)
    sid = store.comparison(cid).suite_id
    expected = outlined(store, sid)
    for damaged in ("[[", "[]", '{"head": {}, "checks": [], "cases": [["x", [], 7, null, null]]}', '{"cases": []}'):
        store.db.execute("UPDATE suites SET outline = ? WHERE id = ?", (damaged, sid))
        assert outlined(store, sid) == expected, damaged
    assert_same_documents(store, cid)


def test_a_suite_stored_before_outlines_is_outlined_by_the_upgrade_and_when_stored_again(tmp_path):
    """A v5 store: its suites have no outline. The upgrade to v8 outlines every suite (with
    where each case lies); a suite left without one (NULL) is read from its content, and storing
    it again (any run of it) adds the outline."""
    store, cid = make_comparison(tmp_path)
    sid = store.comparison(cid).suite_id
    expected = outlined(store, sid)
    path = set_back(store, 5, "ALTER TABLE suites DROP COLUMN outline")
    with Store(path) as again:
        text = again.db.execute("SELECT outline FROM suites WHERE id = ?", (sid,)).fetchone()[0]
        assert text == outline_json(again.suite_json(sid)) and '"starts":[' in text
        assert outlined(again, sid) == expected
        again.db.execute("UPDATE suites SET outline = NULL WHERE id = ?", (sid,))
        assert outlined(again, sid) == expected
        assert again.upsert_suite(load_suite(tmp_path / "support.yaml")) == sid
        text = again.db.execute("SELECT outline FROM suites WHERE id = ?", (sid,)).fetchone()[0]
        assert text == outline_json(again.suite_json(sid))
        assert outlined(again, sid) == expected
        assert_same_documents(again, cid)


def test_an_infinite_latency_is_no_latency(tmp_path):
    # an imported log may say "latency_ms": Infinity (JSON parsers accept it; SQLite keeps it)
    store, cid = make_comparison(tmp_path)
    comp = store.comparison(cid)
    store.db.execute("UPDATE outputs SET latency_ms = 9e999 WHERE run_id = ? AND case_id = 'greeting'", (comp.candidate_run_id,))
    light = load_changelog(store, cid, generated_at=NOW, generated_by=ADA, prices=PRICES, allow_unreviewed=True)
    assert render_json(light) == render_json(full_build(store, cid))
    p50 = next(m for m in light.metrics if m.key == "latency_p50")
    assert p50.candidate is not None and math.isfinite(p50.candidate)

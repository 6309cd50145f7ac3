"""The judge in the changelog, from judgments saved in a real store: a "Judge" section labelled a
suggestion (spec, resolved model, rubric digest, verdict counts, agreement with reviewers and its
Wilson interval, kappa, position and length bias, flip rate), the JSON's ``judge`` report and
per-case entries; and judgments never count as labels or reviews."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from markdown_it import MarkdownIt
from toolcomparison import tool_comparison

from reviewer.export.changelog import load_changelog, render_json, render_markdown
from reviewer.store import Judgment

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ANN = "Ann <ann@example.com>"
HOSTILE_REASON = "# Heading\n| a | b |\n<script>x</script> [link](https://evil.example) \x1b[31mred"
# case -> (baseline_first answer, candidate_first answer); "1" is the answer shown first
ANSWERS = {
    "flights-two-passengers": ("1", "2"),  # the baseline both times
    "weather-paris": ("2", "1"),  # the candidate both times
    "no-tool-for-small-talk": ("1", "1"),  # whatever came first: the order decided
}


def _store(tmp_path, *, judged: bool = True, labelled: bool = True):
    store, cid = tool_comparison(tmp_path)
    if judged:
        store.save_judgments([
            Judgment(comparison_id=cid, case_id=case, sample=0, judge="openai:judge-1", rubric_digest="d" * 64,
                     position=pos, better=ans, reason=HOSTILE_REASON if case == "weather-paris" else f"{case} reason",
                     parsed="json", raw=json.dumps({"better": ans}), resolved_model="judge-1-2026-01-01")
            for case, answers in ANSWERS.items() for pos, ans in zip(("baseline_first", "candidate_first"), answers, strict=True)
        ])  # fmt: skip
    if labelled:
        store.set_label(cid, "flights-two-passengers", ANN, "regression", severity=3, note=None, at="2026-01-01T10:00:00.000Z")
        store.set_label(cid, "weather-paris", ANN, "regression", severity=2, note=None, at="2026-01-01T10:01:00.000Z")
    return store, cid


def _cl(store, cid):
    return load_changelog(store, cid, generated_at=NOW, generated_by="t", allow_unreviewed=True)


def test_the_judge_report_is_in_the_changelog(tmp_path):
    cl = _cl(*_store(tmp_path))
    j = cl.judge
    assert j is not None and (j.judge, j.rubric_digest, j.resolved_models) == ("openai:judge-1", "d" * 64, ["judge-1-2026-01-01"])
    r = j.report
    assert r["judged"] == 3
    assert r["verdicts"] == {"candidate_better": 1, "baseline_better": 1, "tie": 0, "inconsistent": 1, "unparsed": 0}
    assert (r["position_bias"]["k"], r["position_bias"]["n"]) == (4, 6)
    assert (r["flip_rate"]["k"], r["flip_rate"]["n"]) == (1, 3)
    # flights: regression ↔ baseline_better (agrees); weather: regression vs candidate_better
    assert (r["agreement"]["k"], r["agreement"]["n"]) == (1, 2) and r["agreement"]["ci95"][0] < 0.5 < r["agreement"]["ci95"][1]
    section = render_markdown(cl).split("## Judge (a suggestion, not a review)\n", 1)[1].split("\n## ", 1)[0]
    assert "none is counted as a label or a review" in section
    assert "`openai:judge-1` (answered as `judge-1-2026-01-01`) · rubric sha256 `dddddddddddddddd`" in section
    assert "**Cases judged**: 3 — 1 candidate better, 1 baseline better, 0 tie, 1 inconsistent" in section
    assert "**Agreement with reviewers** (cases judged and labelled): 50% (1 of 2, 95% CI" in section
    assert "Cohen's κ" in section and "**Position bias**" in section and "66.7% (4 of 6" in section
    assert "**Length bias**" in section and "**Flip rate**" in section and "33.3% (1 of 3" in section


def test_judgments_are_never_labels_or_reviews(tmp_path):
    judged = _cl(*_store(tmp_path / "a"))
    (tmp_path / "b").mkdir()
    plain = _cl(*_store(tmp_path / "b", judged=False))
    assert plain.judge is None and "## Judge" not in render_markdown(plain)
    assert judged.summary == plain.summary  # same regressions, unreviewed, labelled …
    by = {c.id: c for c in judged.cases}
    assert by["no-tool-for-small-talk"].judge["verdict"] == "inconsistent"
    assert by["no-tool-for-small-talk"].unreviewed and not by["no-tool-for-small-talk"].labels
    assert [c.id for c in judged.unreviewed] == [c.id for c in plain.unreviewed] == ["no-tool-for-small-talk"]


def test_json_has_the_report_and_per_case_entries(tmp_path):
    doc = json.loads(render_json(_cl(*_store(tmp_path))))
    assert doc["judge"]["judge"] == "openai:judge-1" and doc["judge"]["report"]["kappa"] is not None
    cases = {c["id"]: c for c in doc["cases"]}
    w = cases["weather-paris"]["judge"]
    assert (w["verdict"], w["judge"], w["reason"]) == ("candidate_better", "openai:judge-1", HOSTILE_REASON)
    assert [(o["position"], o["better"]) for o in w["orders"]] == [("baseline_first", "2"), ("candidate_first", "1")]
    assert cases["after-the-weather-call"]["judge"] is None


def test_a_judge_reason_never_reaches_the_markdown(tmp_path):
    md = render_markdown(_cl(*_store(tmp_path)))
    assert "evil.example" not in md and "<script>" not in md
    tokens = MarkdownIt("commonmark").enable(["table"]).parse(md)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert "Heading" not in headings

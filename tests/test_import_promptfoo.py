"""promptfoo imports, on files written by a real promptfoo run (tests/data/promptfoo/README.md)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from reviewer.analysis import assess_comparison, cached_assessments
from reviewer.cli import main
from reviewer.importers import ImportProblems
from reviewer.importers.promptfoo import WHOLE_JSON, map_assertion, read_promptfoo_config, read_promptfoo_results, render_template
from reviewer.importers.storing import ImportedRun, store_import
from reviewer.store import Output, Store
from reviewer.suite import Check, LoadedSuite, Suite, load_suite

DATA = Path(__file__).parent / "data" / "promptfoo"
RESULTS = DATA / "results.json"
REPEAT = DATA / "repeat-errors" / "results.json"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    for var in ("REVIEWER_DB", "REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["import", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def counts(db: Path) -> dict[str, int]:
    with Store(db) as s:
        return {t: s.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("suites", "runs", "outputs", "comparisons")}


# -- results → comparison -------------------------------------------------------------------------


def test_results_become_a_comparison_with_latency_and_tokens(tmp_path: Path, capsys):
    db = tmp_path / "r.db"
    code, out, err = cli(capsys, "promptfoo-results", str(RESULTS), "--db", str(db))
    assert code == 0, err
    cid = int(out.strip())
    raw = json.loads(RESULTS.read_text())["results"]["results"]
    with Store(db) as s:
        data = s.load_comparison(cid)
        assert data.comparison.name == "Support assistant, baseline vs candidate"
        assert (data.baseline.label, data.baseline.model) == ("baseline", "openai:chat:acme-support-a")
        assert (data.candidate.label, data.candidate.model) == ("candidate", "openai:chat:acme-support-b")
        assert data.baseline.params == {"temperature": 0} and data.baseline.status == "complete"
        cases = {c.id: c for c in data.suite.suite.cases}
        assert list(cases) == ["refund-policy", "order-status-as-json", "opening-hours", "greeting"]
        assert cases["greeting"].prompt == "You are a support assistant for Acme. Say hello to Ada."
        # Every promptfoo result is one stored output with its own text, latency and tokens.
        by_desc = {c.origin.split("(", 1)[1].rstrip(")"): c.id for c in cases.values()}
        for item in raw:
            side = data.baseline_outputs if item["provider"]["label"] == "baseline" else data.candidate_outputs
            (o,) = side[by_desc[item["testCase"]["description"]]]
            assert o.text == item["response"]["output"]
            assert o.latency_ms == item["latencyMs"]
            assert (o.input_tokens, o.output_tokens) == (
                item["response"]["tokenUsage"]["prompt"],
                item["response"]["tokenUsage"]["completion"],
            )
            assert o.finish_reason == "stop" and o.error is None
        # scored by the import, as a run is: the review app opens from the cache
        assert cached_assessments(s, data.comparison) is not None
        # promptfoo's is-json fails on the fenced candidate: the same negative flip shows here.
        assessed = {a.case_id: a for a in assess_comparison(s, data)}
    assert assessed["order-status-as-json"].flip == "negative"
    assert assessed["refund-policy"].flip == "none"
    assert "llm-rubric 'is friendly' (graded by a model)" in err
    assert f"review it: reviewer review {cid} --db {db}" in err


def test_repeat_gives_samples_and_provider_errors_are_errors(tmp_path: Path, capsys):
    db = tmp_path / "r.db"
    code, out, err = cli(capsys, "promptfoo-results", str(REPEAT), "--db", str(db))
    assert code == 0, err
    with Store(db) as s:
        data = s.load_comparison(int(out))
    assert data.baseline.samples == data.candidate.samples == 2
    assert data.candidate.model == "file://flaky_provider.js"
    hours = data.candidate_outputs["when-are-you-open"]
    assert [o.sample for o in hours] == [0, 1]
    assert all(
        o.error == "API error: 503 Service Unavailable: The engine is currently overloaded" and o.text is None for o in hours
    )
    # An assertion failure is not an error: promptfoo's `error` field also carries those.
    assert all(o.error is None for o in data.baseline_outputs["when-are-you-open"])
    assert "(2 errors)" in err


def test_same_eval_twice_is_refused_unless_again(tmp_path: Path, capsys):
    db = tmp_path / "r.db"
    assert cli(capsys, "promptfoo-results", str(RESULTS), "--db", str(db))[0] == 0
    code, out, err = cli(capsys, "promptfoo-results", str(RESULTS), "--db", str(db))
    assert code == 2 and out == ""
    assert (
        err
        == f"reviewer import: {RESULTS}: eval eval-vhj-2026-11-22T00:55:54 was already imported as comparison 1 (--again to import it again)\n"
    )
    assert counts(db)["comparisons"] == 1
    assert cli(capsys, "promptfoo-results", str(RESULTS), "--db", str(db), "--again")[1].strip() == "2"
    assert counts(db) == {"suites": 1, "runs": 4, "outputs": 16, "comparisons": 2}  # one suite version, shared


def test_output_suite_file_is_the_stored_suite_with_unmapped_kept_as_comments(tmp_path: Path, capsys):
    db, out = tmp_path / "r.db", tmp_path / "support.yaml"
    code, _, err = cli(capsys, "promptfoo-results", str(RESULTS), "--db", str(db), "-o", str(out))
    assert code == 0, err
    loaded = load_suite(out)
    with Store(db) as s:
        rec = s.load_comparison().suite
    assert rec.digest == loaded.digest and rec.path == str(out)
    text = out.read_text()
    assert "  # promptfoo assert not mapped: llm-rubric 'is friendly' (graded by a model)\n  - id: greeting\n" in text
    # Refuses to overwrite, and stores nothing new.
    code, _, err = cli(capsys, "promptfoo-results", str(RESULTS), "--db", str(db), "-o", str(out), "--again")
    assert code == 2 and err == f"reviewer import: -o {out}: already exists (choose a new file)\n"
    assert counts(db)["comparisons"] == 1


def test_swapping_and_choosing_providers(tmp_path: Path, capsys):
    imp = read_promptfoo_results(RESULTS, baseline="candidate")
    assert (imp.baseline.label, imp.candidate.label) == ("candidate", "baseline")
    doc = json.loads(RESULTS.read_text())
    third = json.loads(json.dumps(doc["results"]["results"][0]))
    third["provider"] = {"id": "openai:chat:acme-support-c", "label": "other"}
    doc["results"]["results"].append(third)
    three = tmp_path / "three.json"
    three.write_text(json.dumps(doc))
    with pytest.raises(ImportProblems) as err:
        read_promptfoo_results(three)
    assert str(err.value) == (
        f"{three}: providers: 3 providers (baseline (openai:chat:acme-support-a), candidate (openai:chat:acme-support-b), "
        "other (openai:chat:acme-support-c)); choose two with --baseline and --candidate"
    )
    picked = read_promptfoo_results(three, baseline="acme-support-a", candidate="other")
    assert picked.candidate.model == "openai:chat:acme-support-c"
    assert [o.case_id for o in picked.candidate.outputs] == ["refund-policy"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["results"]["results"][3]["prompt"].pop("raw"),
            "{f}: results.results[3].prompt.raw: missing (the rendered prompt)",
        ),
        (lambda d: d["results"]["results"][5].update(provider=None), "{f}: results.results[5].provider: missing provider id"),
        (lambda d: d.update(results=[]), "{f}:1: results: not a promptfoo results file (run `promptfoo eval -o results.json`)"),
        (lambda d: d["results"].update(results=[]), "{f}: results.results: expected a non-empty list of results"),
    ],
)
def test_bad_results_name_the_field_and_store_nothing(tmp_path: Path, capsys, edit, message: str):
    doc = json.loads(RESULTS.read_text())
    edit(doc)
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc, indent=2))
    db = tmp_path / "r.db"
    code, out, err = cli(capsys, "promptfoo-results", str(f), "--db", str(db), "-o", str(tmp_path / "s.yaml"))
    assert code == 2 and out == ""
    assert err == "reviewer import: " + message.format(f=f) + "\n"
    assert not (tmp_path / "s.yaml").exists()
    assert not db.exists() or counts(db) == {"suites": 0, "runs": 0, "outputs": 0, "comparisons": 0}


def test_truncated_json_names_the_line(tmp_path: Path, capsys):
    f = tmp_path / "cut.json"
    f.write_text(RESULTS.read_text()[:5000])
    code, _, err = cli(capsys, "promptfoo-results", str(f), "--db", str(tmp_path / "r.db"))
    assert code == 2 and err.startswith(f"reviewer import: {f}:") and "invalid JSON" in err


def test_store_import_is_all_or_nothing(tmp_path: Path):
    db = tmp_path / "r.db"
    suite = Suite(suite="s", cases=[{"id": "a", "prompt": "x"}])
    loaded = LoadedSuite(suite=suite, path=tmp_path / "s.yaml", format="yaml", case_lines={})
    runs = [ImportedRun("log", "m", f"r{i}", [Output("a", 0, text="hi")]) for i in range(2)]

    def fail() -> None:
        raise OSError("disk full")

    with Store(db) as s, pytest.raises(OSError):
        store_import(s, loaded, runs, comparison_name="c", before_commit=fail)
    assert counts(db) == {"suites": 0, "runs": 0, "outputs": 0, "comparisons": 0}
    # A duplicate (case, sample) in one run fails inside the transaction: nothing is left either.
    dup = [ImportedRun("log", "m", "r", [Output("a", 0, text="1"), Output("a", 0, text="2")])]
    with Store(db) as s, pytest.raises(sqlite3.IntegrityError):  # UNIQUE (run_id, case_id, sample)
        store_import(s, loaded, dup)
    assert counts(db) == {"suites": 0, "runs": 0, "outputs": 0, "comparisons": 0}
    with Store(db) as s:
        stored = store_import(s, loaded, runs, comparison_name="c")
        data = s.load_comparison(stored.comparison_id)
    assert data.baseline_outputs["a"][0].text == "hi" and data.suite.suite == suite


# -- config → suite -------------------------------------------------------------------------------


def test_config_becomes_a_suite_file(tmp_path: Path, capsys):
    out = tmp_path / "support.yaml"
    code, stdout, err = cli(capsys, "promptfoo", str(DATA / "promptfooconfig.yaml"), "-o", str(out))
    assert code == 0, err
    assert stdout == f"wrote 4 cases with 8 checks to {out}\n"
    suite = load_suite(out).suite
    assert suite.defaults.params == {"temperature": 0}  # shared by both providers
    json_case = suite.case("order-status-as-json")
    assert [c.label() for c in json_case.checks] == ["json", f"regex: {WHOLE_JSON}", "contains: status"]
    assert suite.case("greeting").prompt.endswith("Say hello to Ada.")  # a var that uses another var
    assert err.splitlines()[0] == "5 assertions not mapped (kept as comments above their cases):"
    text = out.read_text()
    assert text.startswith("# Imported from promptfoo promptfooconfig.yaml")
    assert text.count("# promptfoo assert not mapped: javascript 'output.length < 2000' (runs JavaScript)") == 4
    # Same cases and checks as the import of that config's real results.
    res = read_promptfoo_results(RESULTS).suite
    assert [(c.id, c.prompt, c.checks) for c in suite.cases] == [(c.id, c.prompt, c.checks) for c in res.cases]


def test_config_features(tmp_path: Path):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "ask.txt").write_text("Answer briefly: {{ q }}\n---\nAnswer in detail: {{ q }}\n")
    (tmp_path / "chat.json").write_text(
        json.dumps([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "{{q}}"}])
    )
    (tmp_path / "tests.csv").write_text(
        "q,__expected,__description\nWhat is 2+2?,contains: 4,math\nCapital of France?,icontains: paris,\n"
    )
    cfg = tmp_path / "promptfooconfig.yaml"
    cfg.write_text(
        "prompts:\n  - file://prompts/ask.txt\n  - file://chat.json\n  - '{{ q | upper }}'\n"
        "tests: file://tests.csv\n"
        "defaultTest:\n  assert:\n    - type: not-icontains\n      value: as an ai\n"
        "providers: [openai:gpt-4o]\n"
    )
    imp = read_promptfoo_config(cfg)
    ids = [c.id for c in imp.suite.cases]
    assert ids == [
        "ask-1/math",
        "ask-2/math",
        "chat/math",
        "ask-1/capital-of-france",
        "ask-2/capital-of-france",
        "chat/capital-of-france",
    ]
    chat = imp.suite.case("chat/math")
    assert (chat.system, chat.prompt) == ("You are terse.", "What is 2+2?")
    assert imp.suite.case("ask-2/capital-of-france").prompt == "Answer in detail: Capital of France?"
    assert [c.label() for c in imp.suite.case("ask-1/capital-of-france").checks] == [
        "not_contains: as an ai (ignore case)",
        "contains: paris (ignore case)",
    ]
    assert len(imp.skipped) == 2 and all("'{{ q | upper }}'" in s for s in imp.skipped)


def test_list_vars_expand_into_combinations(tmp_path: Path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "prompts: ['Translate {{text}} to {{lang}}']\ntests:\n  - description: tr\n    vars:\n      text: hello\n      lang: [French, German]\n"
    )
    cases = read_promptfoo_config(cfg).suite.cases
    assert [(c.id, c.prompt) for c in cases] == [("tr-1", "Translate hello to French"), ("tr-2", "Translate hello to German")]


def test_config_errors(tmp_path: Path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("prompts: [hi]\ntests:\n  - vars: {a: 1}\n   bad: indent\n")
    code, _, err = cli(capsys, "promptfoo", str(cfg), "-o", str(tmp_path / "s.yaml"))
    assert code == 2 and err.startswith(f"reviewer import: {cfg}:4: invalid YAML")
    cfg.write_text("tests: []\n")
    code, _, err = cli(capsys, "promptfoo", str(cfg), "-o", str(tmp_path / "s.yaml"))
    assert err == f"reviewer import: {cfg}: prompts: expected a list of prompts\n"
    assert not (tmp_path / "s.yaml").exists()


@pytest.mark.parametrize(
    ("assertion", "checks", "unmapped"),
    [
        ({"type": "contains", "value": "refund"}, [{"contains": "refund"}], None),
        ({"type": "icontains", "value": 42}, [{"contains": "42", "ignore_case": True}], None),
        ({"type": "contains-all", "value": ["a", "b"]}, [{"contains": ["a", "b"]}], None),
        ({"type": "icontains-any", "value": "a.b, c"}, [{"regex": r"a\.b|c", "ignore_case": True}], None),
        ({"type": "not-contains-any", "value": ["x", "y"]}, [{"not_contains": ["x", "y"]}], None),
        ({"type": "not-contains-all", "value": ["x", "y"]}, [], "not-contains-all"),
        ({"type": "regex", "value": r"\d{4}"}, [{"regex": r"\d{4}"}], None),
        ({"type": "regex", "value": "(?<year>\\d+)"}, [{"regex": "(?<year>\\d+)"}], None),  # JS named group: RE2 takes it
        ({"type": "regex", "value": r"(\w)\1"}, [], "uses a backreference"),
        ({"type": "regex", "value": r"(?<!no )refund"}, [], "uses negative lookbehind"),
        ({"type": "regex", "value": "(a"}, [], "invalid pattern"),
        ({"type": "not-regex", "value": "sorry"}, [{"not_regex": "sorry"}], None),
        ({"type": "not-starts-with", "value": "{"}, [{"not_regex": r"\A\{"}], None),
        ({"type": "starts-with", "value": "{"}, [{"regex": r"\A\{"}], None),
        (
            {"type": "is-json", "value": {"type": "object", "required": ["status"]}},
            [{"json": True}, {"json_schema": {"type": "object", "required": ["status"]}}, {"regex": WHOLE_JSON}],
            None,
        ),
        ({"type": "contains-json"}, [{"json": True}], None),
        ({"type": "not-is-refusal"}, [{"not_refusal": True}], None),
        ({"type": "is-refusal"}, [], "is-refusal (no check asserts a refusal)"),
        ({"type": "llm-rubric", "value": "polite"}, [], "llm-rubric 'polite' (graded by a model)"),
        ({"type": "similar", "value": "x", "threshold": 0.8}, [], "embedding similarity"),
        ({"type": "is-json", "value": "file://schema.json"}, [], "only an inline schema object maps"),
        ("contains: refund", [{"contains": "refund"}], None),
    ],
)
def test_assertion_mapping(assertion, checks, unmapped):
    m = map_assertion(assertion)
    assert m.checks == [Check.model_validate(c) for c in checks]
    if unmapped:
        assert len(m.unmapped) == 1 and unmapped in m.unmapped[0]
    else:
        assert m.unmapped == []


def test_whole_json_anchor_matches_promptfoo_is_json():
    import re

    rx = re.compile(WHOLE_JSON)
    assert rx.search('{"a": 1}') and rx.search(" [1, 2]\n")
    assert not rx.search('```json\n{"a": 1}\n```') and not rx.search('Here: {"a": 1}')


def test_equals_sets_the_reference_and_templates_render():
    m = map_assertion({"type": "equals", "value": "Hello {{name}}"}, {"name": "Ada"})
    assert m.reference == "Hello Ada" and m.checks == [Check(kind="equals_reference")]
    assert render_template("{{ a.b }} and {{c}}", {"a": {"b": 1}, "c": [1]}) == "1 and [1]"


def test_recorded_files_are_what_the_readme_says():
    doc = json.loads(RESULTS.read_text())
    assert doc["metadata"]["promptfooVersion"] == "0.123.1"
    assert len(doc["results"]["results"]) == 8
    assert len(json.loads(REPEAT.read_text())["results"]["results"]) == 8
    assert os.access(DATA / "make.sh", os.X_OK)

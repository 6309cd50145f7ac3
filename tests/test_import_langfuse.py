"""`reviewer import langfuse FILE --as-run NAME`: Langfuse GENERATION observations become a named run,
one side of a comparison like any other run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_inprocess import run_main

from reviewer.analysis import assess_comparison
from reviewer.importers.storing import run_by_label
from reviewer.store import Store

DATA = Path(__file__).parent / "data" / "langfuse"
ARRAY, JSONL = DATA / "observations.json", DATA / "observations.jsonl"
OTLP = Path(__file__).parent / "data" / "otlp" / "openai_v2_latest.jsonl"

SUITE = """\
suite: support
cases:
  - id: refund
    system: You are Acme's support assistant.
    prompt: How do I get a refund?
  - id: status
    prompt: Status of order 1234, as JSON.
    checks:
      - json: true
"""


def reviewer(*args: str, process: bool = False) -> subprocess.CompletedProcess[str]:
    """``reviewer ARGS``: in a real process with ``process=True`` (one exit 2 below), else main()
    in this one (tests/cli_inprocess.py: the same exit code and output)."""
    if not process:
        return run_main(args)
    return subprocess.run([sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("export", [ARRAY, JSONL], ids=["json-array", "jsonl"])
def test_generations_become_a_run(tmp_path: Path, export: Path):
    db = tmp_path / "r.db"
    p = reviewer("import", "langfuse", str(export), "--as-run", "lf", "--db", str(db))
    assert p.returncode == 0, p.stderr
    assert "4 outputs for 4 cases from 4 observations" in p.stderr
    assert "skipped: 1 SPAN observation, 1 EVENT observation" in p.stderr
    with Store(db) as s:
        run = s.run(int(p.stdout.strip()))
        assert (run.provider, run.model) == ("langfuse", "gpt-4o-2024-08-06")
        assert (run.started_at, run.finished_at) == ("2026-05-01T09:00:00.000Z", "2026-05-01T09:03:00.000Z")
        got = {o.case_id: o for o in s.outputs(run.id)}
    refund = got["refund"]  # metadata.case_id names the case
    assert refund.text == "Within 30 days, from your orders page." and refund.resolved_model == "gpt-4o-2024-08-06"
    assert (refund.input_tokens, refund.output_tokens, refund.latency_ms) == (20, 5, 1250.0)
    (weather,) = [o for o in got.values() if o.tool_calls]
    assert weather.text is None and weather.tool_calls[0].name == "get_weather" and weather.tool_calls[0].id == "call_o1"
    assert json.loads(weather.tool_calls[0].arguments) == {"city": "Oslo"}
    (failed,) = [o for o in got.values() if o.error]
    assert failed.error == "Error: 500 upstream overloaded" and failed.text is None and failed.resolved_model is None


def test_the_requests_become_cases():
    from reviewer.importers.jsonl import build_log_run
    from reviewer.importers.langfuse import read_langfuse

    imp = build_log_run(ARRAY, read_langfuse(ARRAY).entries, name="lf", provider="langfuse", kind="Langfuse export")
    cases = {c.id.rsplit("-", 1)[0]: c for c in imp.suite.cases}
    refund = cases["refund"]
    assert refund.system == "You are Acme's support assistant." and refund.prompt == "How do I get a refund?"
    assert refund.params == {"temperature": 0.2, "max_tokens": 300}  # Langfuse's string parameters, as numbers
    assert "langfuse " in (refund.origin or "") and "observation obs-1" in (refund.origin or "")
    weather = cases["weather-in-oslo"]  # input {messages, tools}: the tools go with the case
    assert weather.prompt == "Weather in Oslo?" and weather.tools and weather.tools[0]["function"]["name"] == "get_weather"


def test_a_langfuse_run_and_an_otlp_run_are_the_two_sides_of_a_comparison(tmp_path: Path):
    """Both imported with --suite: the same cases, so the runs compare like any two runs."""
    suite = tmp_path / "support.yaml"
    suite.write_text(SUITE)
    db = tmp_path / "r.db"
    a = reviewer("import", "langfuse", str(ARRAY), "--as-run", "lf-old", "--suite", str(suite), "--db", str(db))
    assert a.returncode == 0, a.stderr
    assert "2 outputs for 2 cases" in a.stderr and "skipped 2 observations matching no case" in a.stderr
    newer = json.loads(ARRAY.read_text())
    for obs in newer:
        if obs["id"] == "obs-3":
            obs["output"] = '```json\n{"status": "shipped"}\n```'
            obs["model"] = "gpt-4o-2024-11-20"
    new = tmp_path / "new.json"
    new.write_text(json.dumps(newer))
    b = reviewer("import", "langfuse", str(new), "--as-run", "lf-new", "--suite", str(suite), "--db", str(db))
    assert b.returncode == 0, b.stderr
    with Store(db) as s:
        ra, rb = s.run(int(a.stdout)), s.run(int(b.stdout))
        assert ra.suite_id == rb.suite_id
        cid = s.create_comparison(
            suite_id=ra.suite_id, baseline_run_id=ra.id, candidate_run_id=rb.id, name="lf", status="complete"
        )
        assessed = {x.case_id: x for x in assess_comparison(s, s.load_comparison(cid))}
    assert "format_drift" in assessed["status"].flags
    assert assessed["refund"].change == 0.0


def test_not_a_langfuse_export(tmp_path: Path):
    db = tmp_path / "r.db"
    p = reviewer("import", "langfuse", str(OTLP), "--as-run", "x", "--db", str(db), process=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert "not a Langfuse export" in p.stderr and "line 1 is not an observation" in p.stderr
    only_spans = tmp_path / "spans.json"
    only_spans.write_text(json.dumps([o for o in json.loads(ARRAY.read_text()) if o["type"] != "GENERATION"]))
    p = reviewer("import", "langfuse", str(only_spans), "--as-run", "x", "--db", str(db))
    assert (
        p.returncode == 2 and "no GENERATION observation to import (skipped: 1 SPAN observation, 1 EVENT observation)" in p.stderr
    )
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps([{"id": "g1", "type": "GENERATION", "model": "gpt-4o", "input": None, "output": None}]))
    p = reviewer("import", "langfuse", str(empty), "--as-run", "x", "--db", str(db))
    assert p.returncode == 2 and "1 observation has no message content" in p.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps([{"id": "g2", "type": "GENERATION", "input": [{"role": "wizard", "content": "hi"}], "output": "x"}])
    )
    p = reviewer("import", "langfuse", str(bad), "--as-run", "x", "--db", str(db))
    assert p.returncode == 2 and "observation g2: input[0].role: 'wizard' cannot be replayed" in p.stderr
    if db.exists():
        with Store(db) as s:
            assert run_by_label(s, "x") is None


def test_add_case_from_a_langfuse_observation(tmp_path: Path):
    suite = tmp_path / "golden.yaml"
    p = reviewer("add-case", str(suite), "--id", "inc-9", "--from-trace", f"{ARRAY}:obs-1")
    assert p.returncode == 0, p.stderr
    text = suite.read_text()
    assert "prompt: How do I get a refund?" in text and "observation obs-1" in text and "temperature: 0.2" in text

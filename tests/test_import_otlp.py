"""`reviewer import otlp FILE --as-run NAME`: OpenTelemetry GenAI spans become a named run.

The openai_v2_*.jsonl fixtures are the real output of opentelemetry-instrumentation-openai-v2
(the official `openai` client calling tests/fakeprovider.py), re-recorded by
tests/data/otlp/record_openai_v2.py; conventions.jsonl is written by hand to the GenAI semantic
conventions, older forms included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_inprocess import run_main

from reviewer.cli import main
from reviewer.importers.storing import run_by_label
from reviewer.store import Store

DATA = Path(__file__).parent / "data" / "otlp"
LATEST, LEGACY, CONVENTIONS = DATA / "openai_v2_latest.jsonl", DATA / "openai_v2_legacy.jsonl", DATA / "conventions.jsonl"
NOCONTENT, LEGACY_NOCONTENT = DATA / "openai_v2_nocontent.jsonl", DATA / "openai_v2_legacy-nocontent.jsonl"


def reviewer(*args: str, cwd: Path | None = None, process: bool = False) -> subprocess.CompletedProcess[str]:
    """``reviewer ARGS``: in a real process with ``process=True`` (one exit 2 below), else main()
    in this one (tests/cli_inprocess.py: the same exit code and output)."""
    if not process:
        return run_main(args, cwd=cwd)
    return subprocess.run([sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.mark.parametrize("fixture", [LATEST, LEGACY], ids=["latest-conventions", "legacy-log-events"])
def test_real_instrumentation_output_becomes_a_run(tmp_path: Path, fixture: Path):
    db, suite = tmp_path / "r.db", tmp_path / "prod.yaml"
    p = reviewer("import", "otlp", str(fixture), "--as-run", "prod", "--db", str(db), "-o", str(suite))
    assert p.returncode == 0, p.stderr
    assert "3 outputs for 3 cases from 3 spans" in p.stderr
    with Store(db) as s:
        run = s.run(int(p.stdout.strip()))
        assert (run.provider, run.model, run.label) == ("otlp", "gpt-4o-mini", "prod")
        assert run.started_at and run.started_at.startswith("2026-") and run.started_at.endswith("Z")  # the spans' time
        got = {o.case_id: o for o in s.outputs(run.id)}
    by_text = {o.text: o for o in got.values() if o.text}
    paris = by_text["Paris."]
    assert paris.resolved_model == "gpt-4o-mini-2024-07-18" and paris.finish_reason == "stop"
    assert (paris.input_tokens, paris.output_tokens) == (6, 1) and paris.usage == {"input_tokens": 6, "output_tokens": 1}
    assert paris.request_id and paris.request_id.startswith("chatcmpl-") and paris.latency_ms and paris.latency_ms > 0
    if fixture is LATEST:  # the legacy conventions have no system_fingerprint attribute
        assert paris.system_fingerprint and paris.system_fingerprint.startswith("fp_")
    (call,) = [o for o in got.values() if o.tool_calls]
    assert call.text is None and call.finish_reason == "tool_calls"
    assert call.tool_calls[0].name == "get_weather" and json.loads(call.tool_calls[0].arguments) == {"city": "Paris"}
    assert call.tool_calls[0].id == "call_w1"
    text = suite.read_text()
    assert "system: You are a support agent." in text and "temperature: 0.2" in text and "max_tokens: 200" in text
    assert "prompt: What is the capital of France?" in text


@pytest.mark.parametrize("fixture", [NOCONTENT, LEGACY_NOCONTENT], ids=["latest", "legacy"])
def test_content_capture_off_is_said_and_nothing_is_stored(tmp_path: Path, fixture: Path):
    db = tmp_path / "r.db"
    p = reviewer("import", "otlp", str(fixture), "--as-run", "prod", "--db", str(db))
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert (
        "3 spans have no message content: the instrumentation's content capture was off "
        "(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true)" in p.stderr
    )
    if db.exists():
        with Store(db) as s:
            assert run_by_label(s, "prod") is None


def test_every_convention_form_is_read_and_the_rest_counted(tmp_path: Path):
    db = tmp_path / "r.db"
    p = reviewer("import", "otlp", str(CONVENTIONS), "--as-run", "conv", "--db", str(db))
    assert p.returncode == 0, p.stderr
    assert "7 outputs for 7 cases from 7 spans" in p.stderr
    assert "skipped: 1 span has no message content: the instrumentation's content capture was off" in p.stderr
    assert "skipped: 1 span without gen_ai.* attributes, 1 embeddings span" in p.stderr
    with Store(db) as s:
        run = s.run(int(p.stdout.strip()))
        got = {o.case_id.rsplit("-", 1)[0]: o for o in s.outputs(run.id)}
    assert set(got) == {
        "weather-in-oslo",
        "name-a-prime",
        "say-hi",
        "capital-of-peru",
        "thank-you",
        "tell-me-a-joke",
        "weather-in-rome",
    }
    oslo = got["weather-in-oslo"]  # structured gen_ai.input/output.messages, text and a tool call
    assert oslo.text == "Let me check." and oslo.tool_calls[0].name == "get_weather"
    assert json.loads(oslo.tool_calls[0].arguments) == {"city": "Oslo"} and oslo.tool_calls[0].id == "call_b2"
    assert oslo.finish_reason == "tool_calls" and oslo.system_fingerprint == "fp_b2" and oslo.latency_ms == 850.0
    assert oslo.usage == {"input_tokens": 30, "output_tokens": 12, "cache_read.input_tokens": 8}
    assert got["name-a-prime"].text == "7"  # gen_ai.prompt / gen_ai.completion attributes
    assert got["say-hi"].text == "Hi!"  # gen_ai.content.prompt / completion events
    assert got["capital-of-peru"].text == "Lima." and got["capital-of-peru"].finish_reason == "stop"  # flattened
    assert got["thank-you"].text == "Merci"  # gen_ai.*.message and gen_ai.choice events
    joke = got["tell-me-a-joke"]  # an errored span: an errored output, never an empty answer
    assert joke.text is None and joke.error == "429 Too Many Requests"
    assert got["weather-in-rome"].text == "It is 21 °C in Rome."


def test_requests_become_cases_with_system_tools_and_params(tmp_path: Path):
    """The case is the request: what `reviewer run --baseline run:NAME` replays on the other side."""
    from reviewer.importers.jsonl import build_log_run
    from reviewer.importers.otlp import read_otlp

    read = read_otlp(CONVENTIONS)
    imp = build_log_run(CONVENTIONS, read.entries, name="conv", provider="otlp", kind="trace")
    cases = {c.id.rsplit("-", 1)[0]: c for c in imp.suite.cases}
    oslo = cases["weather-in-oslo"]
    assert oslo.system == "You are a weather bot." and oslo.prompt == "Weather in Oslo?"
    assert oslo.params == {"temperature": 0.0, "stop": ["END"]}
    assert oslo.tools and oslo.tools[0]["function"]["name"] == "get_weather"
    assert oslo.tools[0]["function"]["parameters"]["required"] == ["city"]
    prime = cases["name-a-prime"]
    assert (prime.system, prime.prompt, prime.params) == ("Be brief.", "Name a prime.", {"max_tokens": 100})
    french = cases["thank-you"]
    assert (french.system, french.prompt) == ("You answer in French.", "Thank you")
    rome = cases["weather-in-rome"]  # a conversation with a tool call and its result stays messages
    assert rome.messages is not None and [m.role for m in rome.messages] == ["user", "assistant", "tool"]
    assert rome.messages[1].tool_calls and rome.messages[1].tool_calls[0].name == "get_weather"
    assert rome.messages[2].tool_call_id == "call_r1" and json.loads(rome.messages[2].content) == {"temp_c": 21}
    assert "trace " in (oslo.origin or "") and "span b000000000000002" in (oslo.origin or "")


def test_not_otlp_json_names_the_line(tmp_path: Path):
    db = tmp_path / "r.db"
    chat_log = tmp_path / "chat.jsonl"
    chat_log.write_text(json.dumps({"request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}}) + "\n")
    p = reviewer("import", "otlp", str(chat_log), "--as-run", "x", "--db", str(db), process=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert f"{chat_log}:1: not OTLP JSON" in p.stderr and "got an object with request" in p.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text(LATEST.read_text().splitlines()[0] + "\n{not json\n")
    p = reviewer("import", "otlp", str(broken), "--as-run", "x", "--db", str(db))
    assert p.returncode == 2 and f"{broken}:2: not OTLP JSON" in p.stderr and "invalid JSON" in p.stderr
    spans_only_http = tmp_path / "http.jsonl"
    http = json.loads(CONVENTIONS.read_text().splitlines()[0])
    http["resourceSpans"][0]["scopeSpans"][0]["spans"] = http["resourceSpans"][0]["scopeSpans"][0]["spans"][:1]
    spans_only_http.write_text(json.dumps(http) + "\n")
    p = reviewer("import", "otlp", str(spans_only_http), "--as-run", "x", "--db", str(db))
    assert (
        p.returncode == 2
        and "no model-call span (gen_ai.* attributes) to import (skipped: 1 span without gen_ai.* attributes)" in p.stderr
    )
    p = reviewer("import", "otlp", str(tmp_path / "missing.jsonl"), "--as-run", "x", "--db", str(db))
    assert p.returncode == 2 and "missing.jsonl: no such file" in p.stderr
    if db.exists():
        with Store(db) as s:
            assert run_by_label(s, "x") is None


def test_a_pretty_printed_single_document_is_read(tmp_path: Path):
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(LATEST.read_text().splitlines()[0]), indent=2))
    p = reviewer("import", "otlp", str(pretty), "--as-run", "p", "--db", str(tmp_path / "r.db"))
    assert p.returncode == 0, p.stderr


def test_bad_content_names_the_span_and_stores_nothing(tmp_path: Path):
    doc = json.loads(LATEST.read_text().splitlines()[0])
    span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    for a in span["attributes"]:
        if a["key"] == "gen_ai.input.messages":
            a["value"] = {"stringValue": '[{"role": "user", "parts": [{"type": "blob", "content": "AAAA"}]}]'}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(doc) + "\n")
    db = tmp_path / "r.db"
    p = reviewer("import", "otlp", str(bad), "--as-run", "x", "--db", str(db))
    assert p.returncode == 2
    assert (
        f"{bad}:1: span {span['spanId']}: gen_ai.input.messages[0].parts[0]: only text and tool-call parts can be replayed (got 'blob')"
        in p.stderr
    )
    if db.exists():
        with Store(db) as s:
            assert run_by_label(s, "x") is None


def test_run_name_must_be_new(tmp_path: Path):
    db = tmp_path / "r.db"
    assert reviewer("import", "otlp", str(LATEST), "--as-run", "prod", "--db", str(db)).returncode == 0
    p = reviewer("import", "otlp", str(LEGACY), "--as-run", "prod", "--db", str(db))
    assert p.returncode == 2 and "--as-run prod: a run with that name exists" in p.stderr


def test_imported_trace_is_the_baseline_of_a_live_run(tmp_path: Path, capsys):
    """Yesterday's production answers (the trace) against a candidate: only the candidate is called,
    with the traced request's system prompt and sampling parameters."""
    from fakeprovider import FakeProvider

    db, suite = tmp_path / "r.db", tmp_path / "prod.yaml"
    assert main(["import", "otlp", str(LATEST), "--as-run", "prod-0501", "--db", str(db), "-o", str(suite)]) == 0
    capsys.readouterr()
    with FakeProvider() as srv:
        code = main(
            ["run", str(suite), "--baseline", "run:prod-0501", "--candidate", f"openai:gpt-new@{srv.base_url}", "--db", str(db)]
        )
        out = capsys.readouterr()
        assert code == 0, out.err
        assert len(srv.requests) == 3 and {r.body["model"] for r in srv.requests} == {"gpt-new"}
        refund = next(r.body for r in srv.requests if "refund" in json.dumps(r.body))
        assert refund["messages"][0] == {"role": "system", "content": "You are a support agent."}
        assert refund["temperature"] == 0.2 and refund["max_tokens"] == 200
    cid = int(out.out.strip().splitlines()[-1])
    with Store(db) as s:
        data = s.load_comparison(cid)
        assert data.baseline.provider == "run" and data.baseline.model == "prod-0501"
        base = {o.text: o for o in s.outputs(data.baseline.id)}
        assert base["Paris."].resolved_model == "gpt-4o-mini-2024-07-18" and base["Paris."].cached_from is None


def test_suite_matching_by_messages(tmp_path: Path):
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "suite: s\ncases:\n  - id: capital\n    prompt: What is the capital of France?\n"
        "  - id: refund\n    system: You are a support agent.\n    prompt: How long does a refund take?\n"
    )
    db = tmp_path / "r.db"
    p = reviewer("import", "otlp", str(LATEST), "--as-run", "prod", "--suite", str(suite), "--db", str(db))
    assert p.returncode == 0, p.stderr
    assert "2 outputs for 2 cases" in p.stderr and "skipped 1 spans matching no case" in p.stderr
    with Store(db) as s:
        got = {o.case_id: o.text for o in s.outputs(int(p.stdout.strip()))}
    assert got == {"capital": "Paris.", "refund": "Refunds take 5 business days."}


def test_add_case_from_trace(tmp_path: Path):
    suite = tmp_path / "golden.yaml"
    p = reviewer("add-case", str(suite), "--id", "inc-1", "--from-trace", f"{LATEST}:4b85fe82e5017034", "--tag", "refund")
    assert p.returncode == 0, p.stderr
    text = suite.read_text()
    assert "system: You are a support agent." in text and "prompt: How long does a refund take?" in text
    assert "temperature: 0.2" in text and "span 4b85fe82e5017034" in text and "model gpt-4o-mini-2024-07-18" in text
    p = reviewer("add-case", str(suite), "--id", "inc-2", "--from-trace", str(LATEST))
    assert p.returncode == 2 and "holds 3 model calls; say which one with" in p.stderr and "fa86f9e7a41f0e91" in p.stderr
    p = reviewer("add-case", str(suite), "--id", "inc-2", "--from-trace", f"{LATEST}:1")
    assert p.returncode == 2 and "line 1 holds 3 model calls" in p.stderr
    p = reviewer("add-case", str(suite), "--id", "inc-2", "--from-trace", f"{LATEST}:ffffffffffffffff")
    assert p.returncode == 2 and "no model call with span id or line 'ffffffffffffffff'" in p.stderr
    p = reviewer("add-case", str(suite), "--id", "inc-2", "--from-trace", str(NOCONTENT))
    assert p.returncode == 2 and "content capture was off" in p.stderr
    p = reviewer("add-case", str(suite), "--id", "inc-2", "--from-trace", f"{CONVENTIONS}:2", "--no-log-params")
    assert p.returncode == 2 and "line 2 holds 6 model calls" in p.stderr
    p = reviewer("add-case", str(suite), "--id", "inc-3", "--from-trace", f"{CONVENTIONS}:e000000000000005", "--no-log-params")
    assert p.returncode == 0, p.stderr
    assert suite.read_text().count("- id:") == 2 and "max_tokens: 100" not in suite.read_text()


def test_o_writes_cases_with_tools_and_tool_call_history(tmp_path: Path):
    out = tmp_path / "conv.yaml"
    p = reviewer("import", "otlp", str(CONVENTIONS), "--as-run", "conv", "--db", str(tmp_path / "r.db"), "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert "get_weather" in out.read_text() and "tool_call_id: call_r1" in out.read_text()

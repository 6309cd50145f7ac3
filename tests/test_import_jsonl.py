"""`reviewer import jsonl LOG --as-run NAME`: production log lines become a named run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewer.analysis import assess_comparison
from reviewer.cli import main
from reviewer.importers.storing import run_by_label
from reviewer.store import Store
from reviewer.suite import load_suite

SUITE = """\
suite: support
defaults:
  system: You are Acme's support assistant.
cases:
  - id: refund
    prompt: How do I get a refund?
  - id: hours
    prompt: When are you open?
  - id: status
    prompt: Status of order 1234, as JSON.
    checks:
      - json: true
"""


def completion(text: str, *, model: str = "gpt-4o-2024-08-06", finish: str = "stop", refusal: str | None = None) -> dict:
    return {
        "id": "chatcmpl-x", "object": "chat.completion", "model": model, "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": refusal}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 20, "completion_tokens": len(text.split())},
    }  # fmt: skip


def req(prompt: str, *, system: str = "You are Acme's support assistant.", model: str = "gpt-4o", **params) -> dict:
    return {"model": model, "messages": [{"role": "system", "content": system}, {"role": "user", "content": prompt}], **params}


def log_lines() -> list[dict]:
    return [
        {
            "request": req("How do I get a refund?", temperature=0.2),
            "response": completion("Within 30 days, from your orders page."),
            "latency_ms": 900,
        },
        {"request": req("When are you open?", temperature=0.2), "response": completion("9 to 5, Monday to Friday.")},
        {
            "request": req("How do I get a refund?", temperature=0.2),
            "response": completion("Go to Orders, then Refund."),
            "latency_ms": 700,
        },
        {"request": req("Something not in the suite", temperature=0.2), "response": completion("Sure.")},
        {
            "custom_id": "status",
            "request": req("(redacted in the log)", temperature=0.2),
            "response": completion('{"status": "shipped"}'),
        },
        {"request": req("When are you open?", temperature=0.2)},  # request only: no answer yet
    ]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    for var in ("REVIEWER_DB", "REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))


def write_log(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["import", "jsonl", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_lines_matched_to_suite_cases_by_messages_and_by_id(tmp_path: Path, capsys):
    suite = tmp_path / "support.yaml"
    suite.write_text(SUITE)
    log = write_log(tmp_path / "prod.jsonl", log_lines())
    db = tmp_path / "r.db"
    code, out, err = cli(capsys, str(log), "--as-run", "prod-2026-05-01", "--suite", str(suite), "--db", str(db))
    assert code == 0, err
    run_id = int(out)
    assert err.splitlines() == [
        f"imported run {run_id} 'prod-2026-05-01' (gpt-4o): 4 outputs for 3 cases from 6 lines",
        f"skipped 1 lines matching no case of {suite} (lines 4)",
        "skipped 1 request lines without an answer",
    ]
    with Store(db) as s:
        run = s.run(run_id)
        assert (run.provider, run.model, run.label, run.side, run.status) == (
            "log",
            "gpt-4o",
            "prod-2026-05-01",
            None,
            "complete",
        )
        assert run.params == {"temperature": 0.2} and run.samples == 2
        assert s.suite(run.suite_id).digest == load_suite(suite).digest
        outs = {(o.case_id, o.sample): o for o in s.outputs(run_id)}
        assert run_by_label(s, "prod-2026-05-01").id == run_id
    assert set(outs) == {("refund", 0), ("refund", 1), ("hours", 0), ("status", 0)}
    first = outs[("refund", 0)]
    assert (first.text, first.latency_ms, first.resolved_model, first.system_fingerprint) == (
        "Within 30 days, from your orders page.",
        900.0,
        "gpt-4o-2024-08-06",
        "fp_1",
    )
    assert (first.input_tokens, first.output_tokens, first.finish_reason) == (20, 7, "stop")
    assert outs[("refund", 1)].text == "Go to Orders, then Refund."
    assert outs[("status", 0)].text == '{"status": "shipped"}'  # matched by custom_id


def test_two_imported_logs_make_a_comparison(tmp_path: Path, capsys):
    """What `reviewer run --baseline run:NAME` will do, by hand: two imported runs of one suite."""
    suite = tmp_path / "support.yaml"
    suite.write_text(SUITE)
    old = write_log(tmp_path / "old.jsonl", log_lines())
    new_lines = log_lines()
    new_lines[4]["response"] = completion('```json\n{"status": "shipped"}\n```', model="gpt-4o-2024-11-20")
    new = write_log(tmp_path / "new.jsonl", new_lines)
    db = tmp_path / "r.db"
    a = int(cli(capsys, str(old), "--as-run", "old", "--suite", str(suite), "--db", str(db))[1])
    b = int(cli(capsys, str(new), "--as-run", "new", "--suite", str(suite), "--db", str(db))[1])
    with Store(db) as s:
        ra, rb = s.run(a), s.run(b)
        assert ra.suite_id == rb.suite_id
        cid = s.create_comparison(
            suite_id=ra.suite_id, baseline_run_id=a, candidate_run_id=b, name="old vs new", status="complete"
        )
        data = s.load_comparison(cid)
        assessed = {x.case_id: x for x in assess_comparison(s, data)}
    assert assessed["status"].flags and "format_drift" in assessed["status"].flags
    assert assessed["hours"].change == 0.0  # the same answer on both sides
    assert assessed["refund"].noise  # two logged samples per side: differs no more than within a side


def test_without_suite_the_log_requests_become_cases_and_o_writes_them(tmp_path: Path, capsys):
    log = write_log(tmp_path / "prod.jsonl", log_lines())
    out = tmp_path / "from-log.yaml"
    db = tmp_path / "r.db"
    code, stdout, err = cli(capsys, str(log), "--as-run", "prod", "-o", str(out), "--db", str(db))
    assert code == 0, err
    suite = load_suite(out).suite
    ids = [c.id for c in suite.cases]
    assert len(ids) == 4 and "status" in ids  # the line's custom_id is used as the case id
    refund = next(c for c in suite.cases if c.prompt == "How do I get a refund?")
    assert refund.id.startswith("how-do-i-get-a-refund-") and refund.system == "You are Acme's support assistant."
    assert refund.params == {"temperature": 0.2} and refund.origin == f"log {log}:1, model gpt-4o-2024-08-06, request chatcmpl-x"
    with Store(db) as s:
        run = s.run(int(stdout))
        rec = s.suite(run.suite_id)
        assert rec.digest == suite.digest() and rec.path == str(out)
        assert {o.case_id for o in s.outputs(run.id)} == set(ids)
    # The same requests get the same ids on the next import.
    out2 = tmp_path / "again.jsonl"
    assert cli(capsys, str(log), "--as-run", "prod-2", "-o", str(out2), "--db", str(db))[0] == 0
    assert [c.id for c in load_suite(out2).suite.cases] == ids


def test_run_name_must_be_new(tmp_path: Path, capsys):
    log = write_log(tmp_path / "prod.jsonl", log_lines())
    db = tmp_path / "r.db"
    assert cli(capsys, str(log), "--as-run", "prod", "--db", str(db))[0] == 0
    code, _out, err = cli(capsys, str(log), "--as-run", "prod", "--db", str(db))
    assert code == 2 and err == "reviewer import: --as-run prod: a run with that name exists (run 1); choose another name\n"


def test_bad_lines_name_file_line_and_field_and_store_nothing(tmp_path: Path, capsys):
    lines = [json.dumps(x) for x in log_lines()]
    lines[1] = json.dumps({"request": {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}})
    lines[3] = '{"request": '
    log = tmp_path / "prod.jsonl"
    log.write_text("\n".join(lines) + "\n")
    db, out = tmp_path / "r.db", tmp_path / "s.yaml"
    code, stdout, err = cli(capsys, str(log), "--as-run", "prod", "-o", str(out), "--db", str(db))
    assert code == 2 and stdout == ""
    assert err.splitlines() == [
        f"reviewer import: {log}:2: request.messages[0].content[0]: only text parts can be replayed (got 'image_url')",
        f"reviewer import: {log}:4: invalid JSON: Expecting value (column 13)",
    ]
    assert not out.exists()
    with Store(db) as s:
        assert s.runs() == [] and s.db.execute("SELECT COUNT(*) FROM suites").fetchone()[0] == 0


def test_answer_only_lines_need_a_suite(tmp_path: Path, capsys):
    batch_out = {
        "id": "batch_req_1",
        "custom_id": "refund",
        "response": {"status_code": 200, "request_id": "req_1", "body": completion("ok")},
    }
    log = write_log(tmp_path / "batch_output.jsonl", [batch_out])
    code, _, err = cli(capsys, str(log), "--as-run", "batch", "--db", str(tmp_path / "r.db"))
    assert code == 2 and err == f"reviewer import: {log}:1: an answer without its request: pass --suite to match it by case id\n"
    suite = tmp_path / "support.yaml"
    suite.write_text(SUITE)
    code, out, err = cli(capsys, str(log), "--as-run", "batch", "--suite", str(suite), "--db", str(tmp_path / "r.db"))
    assert code == 0, err
    with Store(tmp_path / "r.db") as s:
        (o,) = s.outputs(int(out))
    assert (o.case_id, o.text, o.request_id) == ("refund", "ok", "req_1")


def test_nothing_matching_the_suite_is_an_error(tmp_path: Path, capsys):
    suite = tmp_path / "support.yaml"
    suite.write_text(SUITE)
    log = write_log(tmp_path / "other.jsonl", [{"messages": [{"role": "user", "content": "hi"}], "output": "hello"}])
    code, _, err = cli(capsys, str(log), "--as-run", "x", "--suite", str(suite), "--db", str(tmp_path / "r.db"))
    assert (
        code == 2
        and err == f"reviewer import: {log}: no line matches a case of {suite} (by case_id/custom_id or by its messages)\n"
    )


def test_imported_log_is_the_baseline_of_a_live_run(tmp_path: Path, capsys):
    """reviewer run SUITE --baseline run:NAME --candidate openai:…: only the candidate is called."""
    from fakeprovider import FakeProvider

    suite = tmp_path / "support.yaml"
    suite.write_text(SUITE)
    db = tmp_path / "r.db"
    log = write_log(tmp_path / "prod.jsonl", log_lines())
    assert cli(capsys, str(log), "--as-run", "prod-0501", "--suite", str(suite), "--db", str(db))[0] == 0
    with FakeProvider() as srv:
        code = main(
            ["run", str(suite), "--baseline", "run:prod-0501", "--candidate", f"openai:gpt-new@{srv.base_url}", "--db", str(db)]
        )
        out = capsys.readouterr()
        assert code == 0, out.err
        assert len(srv.requests) == 3  # the candidate only, one call per case
        assert {r.body["model"] for r in srv.requests} == {"gpt-new"}
    cid = int(out.out.strip().splitlines()[-1])
    with Store(db) as s:
        data = s.load_comparison(cid)
        assert data.baseline.provider == "run" and data.baseline.model == "prod-0501"
        base = {o.case_id: o for o in s.outputs(data.baseline.id)}
        assert base["refund"].text == "Within 30 days, from your orders page."
        assert base["refund"].resolved_model == "gpt-4o-2024-08-06" and base["refund"].cached_from is None
    code = main(["run", str(suite), "--baseline", "run:nope", "--candidate", "openai:x@http://127.0.0.1:9/v1", "--db", str(db)])
    assert code == 2 and "--baseline run:nope: no run labelled 'nope'" in capsys.readouterr().err


def test_what_the_import_says_shows_the_logs_own_words_visibly(tmp_path: Path, capsys):
    """The model name comes from the log: an escape sequence or a bidi control in it is shown,
    never sent to the terminal (as `import otlp` / `langfuse` already did)."""
    suite = tmp_path / "support.yaml"
    suite.write_text(SUITE)
    lines = log_lines()
    for line in lines:
        line["request"]["model"] = "gpt-4o\x1b[2J\u202e\nevil"
    log = write_log(tmp_path / "prod.jsonl", lines)
    code, _, err = cli(capsys, str(log), "--as-run", "prod", "--suite", str(suite), "--db", str(tmp_path / "r.db"))
    assert code == 0, err
    assert "\x1b" not in err and "\u202e" not in err
    first = err.splitlines()[0]
    assert first.startswith("imported run") and "gpt-4o" in first and "evil" in first  # kept on its one line

"""`reviewer add-case` through the real CLI entry point, and the log-line reader behind --from-log."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from reviewer.cli import main
from reviewer.importers import ImportProblems
from reviewer.importers.logs import entry_to_case, parse_log_object, read_log, read_log_line
from reviewer.suite import load_suite

SUITE = """\
# Golden support cases. Keep ids stable: labels refer to them.
suite: support
cases:
  - id: refund-1   # from the launch checklist
    prompt: 'How do I get a refund?'
"""

COMPLETION = {
    "id": "chatcmpl-9x", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
    "system_fingerprint": "fp_abc",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "No refunds, ever."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 21, "completion_tokens": 5, "total_tokens": 26},
}  # fmt: skip
LOG_LINES = [
    {"request": {"model": "gpt-4o", "messages": [{"role": "system", "content": "Be brief."},
                 {"role": "user", "content": "Can I get a refund after 40 days?"}],
                 "temperature": 0.3, "stream": False, "user": "u-123"},
     "response": COMPLETION, "latency_ms": 840},
    {"custom_id": "case-7", "method": "POST", "url": "/v1/chat/completions",
     "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [{"type": "text", "text": "Part one."},
                                                                                  {"type": "text", "text": "Part two."}]}]}},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"},
                                     {"role": "user", "content": "and again?"}], "output": "Hello again!"},
]  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    for var in ("REVIEWER_DB", "REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    p = tmp_path / "support.yaml"
    p.write_text(SUITE)
    return p


@pytest.fixture
def log(tmp_path: Path) -> Path:
    p = tmp_path / "prod.jsonl"
    p.write_text("".join(json.dumps(x) + "\n" for x in LOG_LINES) + "\n")
    return p


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["add-case", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_prompt_case_with_tags_checks_origin_and_added_date(suite: Path, capsys):
    code, out, err = cli(
        capsys, str(suite), "--id", "inc-1234", "--prompt", "Can I get a refund after 40 days?",
        "--tag", "billing", "--tag", "incident", "--check", '{"not_refusal": true}',
        "--check", '{"contains": ["30 days"], "ignore_case": true}', "--origin", "INC-1234: refused a valid refund",
        "--reference", "Yes: refunds are possible within 30 days; after that, store credit.", "--added", "2026-05-01",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out == f"added case 'inc-1234' to {suite}:6\n"
    text = suite.read_text()
    assert text.startswith(SUITE)  # comments and quoting of the existing file untouched
    case = load_suite(suite).suite.case("inc-1234")
    assert case.tags == ["billing", "incident"]
    assert [c.label() for c in case.checks] == ["not_refusal", "contains: 30 days (ignore case)"]
    assert case.added == date(2026, 5, 1)
    assert case.origin == "INC-1234: refused a valid refund"
    assert case.reference.startswith("Yes: refunds")


def test_added_defaults_to_today(suite: Path, capsys):
    assert cli(capsys, str(suite), "--id", "t", "--prompt", "x")[0] == 0
    assert load_suite(suite).suite.case("t").added == date.today()


def test_from_log_line_becomes_a_case_with_the_request_params(suite: Path, log: Path, tmp_path: Path, capsys):
    good = tmp_path / "good.txt"
    good.write_text("Yes, within 30 days; after that we offer store credit.\n")
    code, _out, err = cli(
        capsys, str(suite), "--id", "inc-1", "--from-log", f"{log}:1", "--reference", str(good), "--added", "2026-05-01"
    )
    assert code == 0, err
    case = load_suite(suite).suite.case("inc-1")
    assert case.system == "Be brief." and case.prompt == "Can I get a refund after 40 days?"
    assert case.params == {"temperature": 0.3}  # stream and user are not sampling parameters
    assert case.reference == good.read_text()  # the logged answer is the bad one, never the reference
    assert case.origin == f"log {log}:1, model gpt-4o-2024-08-06, request chatcmpl-9x"


def test_from_log_conversation_stays_messages(suite: Path, log: Path, capsys):
    assert cli(capsys, str(suite), "--id", "conv", "--from-log", f"{log}:3", "--no-log-params")[0] == 0
    case = load_suite(suite).suite.case("conv")
    assert case.prompt is None
    assert [(m.role, m.content) for m in case.messages] == [("user", "hi"), ("assistant", "Hello!"), ("user", "and again?")]


def test_from_log_without_line_needs_a_single_line_file(suite: Path, log: Path, tmp_path: Path, capsys):
    code, _, err = cli(capsys, str(suite), "--id", "x", "--from-log", str(log))
    assert code == 2 and err == f"reviewer add-case: {log}: has 3 log lines; say which one with {log}:LINE\n"
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(LOG_LINES[1]) + "\n")
    assert cli(capsys, str(suite), "--id", "x", "--from-log", str(one))[0] == 0
    assert load_suite(suite).suite.case("x").prompt == "Part one.\nPart two."


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--id", "refund-1", "--prompt", "dup"], "{suite}:4: case 'refund-1' already exists (nothing written)"),
        (["--id", "bad id", "--prompt", "x"], "--id: id 'bad id' must start with a letter or digit"),
        (["--id", "x", "--prompt", "x", "--check", "{regex: 1}"], "--check '{regex: 1}': invalid JSON"),
        (
            ["--id", "x", "--prompt", "x", "--check", '{"max_words": "many"}'],
            '--check \'{"max_words": "many"}\': max_words: the value must be a non-negative integer',
        ),
        (
            ["--id", "x", "--prompt", "x", "--check", '{"equals_reference": true}'],
            "case: checks: equals_reference needs a reference",
        ),
        (["--id", "x", "--prompt", "x", "--tag", "two words"], "--tag: tag 'two words' must be non-empty without spaces"),
        (["--id", "x", "--prompt", "x", "--added", "May 1st"], "--added 'May 1st': expected a date"),
        (["--id", "x", "--messages", "{tmp}/missing.json"], "--messages {tmp}/missing.json: no such file"),
        (
            ["--id", "x", "--from-log", "{tmp}/bad.jsonl:1"],
            "{tmp}/bad.jsonl:1: messages[0].content[0]: only text parts can be replayed (got 'image_url')",
        ),
        (["--id", "x", "--from-log", "{tmp}/bad.jsonl:2"], "{tmp}/bad.jsonl:2: invalid JSON: Expecting value (column 1)"),
        (["--id", "x", "--from-log", "{tmp}/bad.jsonl:3"], "{tmp}/bad.jsonl:3: messages[0].role: 'tool' cannot be replayed"),
        (["--id", "x", "--from-log", "{tmp}/bad.jsonl:9"], "{tmp}/bad.jsonl:9: no such line (the file has 3)"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(suite: Path, tmp_path: Path, capsys, argv: list[str], message: str):
    (tmp_path / "bad.jsonl").write_text(
        json.dumps({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}) + "\n"
        "not json\n" + json.dumps({"messages": [{"role": "tool", "content": "x"}]}) + "\n"
    )
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = cli(capsys, str(suite), *argv)
    assert code == 2 and out == ""
    assert err.startswith("reviewer add-case: " + message.replace("{suite}", str(suite)).replace("{tmp}", str(tmp_path))), err
    assert err.count("\n") == 1
    assert suite.read_text() == SUITE
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_messages_file_and_reference_at_file(suite: Path, tmp_path: Path, capsys):
    msgs = tmp_path / "msgs.json"
    msgs.write_text(
        json.dumps({"messages": [{"role": "developer", "content": "JSON only."}, {"role": "user", "content": "Status of 1234?"}]})
    )
    ref = tmp_path / "ref.json"
    ref.write_text('{"status": "shipped"}')
    code, _, err = cli(
        capsys, str(suite), "--id", "m", "--messages", str(msgs), "--reference", f"@{ref}", "--check", '{"json": true}'
    )
    assert code == 0, err
    case = load_suite(suite).suite.case("m")
    assert [m.role for m in case.messages] == ["developer", "user"]
    assert case.reference == '{"status": "shipped"}'


def test_plain_reference_text_that_is_not_a_file(suite: Path, capsys):
    assert cli(capsys, str(suite), "--id", "r", "--prompt", "x", "--reference", "Paris.")[0] == 0
    assert load_suite(suite).suite.case("r").reference == "Paris."


def test_jsonl_suite(tmp_path: Path, capsys):
    p = tmp_path / "s.jsonl"
    p.write_text('{"suite": "s"}\n{"id": "a", "prompt": "b"}\n')
    code, out, _ = cli(capsys, str(p), "--id", "c", "--prompt", "multi\nline", "--added", "2026-01-02")
    assert code == 0 and out == f"added case 'c' to {p}:3\n"
    assert p.read_text().splitlines()[2] == '{"id": "c", "added": "2026-01-02", "prompt": "multi\\nline"}'


# -- the log reader itself ------------------------------------------------------------------------


def test_log_entry_fields(log: Path):
    first, batch, conv = read_log(log)
    assert first.model == "gpt-4o" and first.resolved_model == "gpt-4o-2024-08-06"
    assert (first.output, first.finish_reason, first.system_fingerprint) == ("No refunds, ever.", "stop", "fp_abc")
    assert (first.input_tokens, first.output_tokens, first.latency_ms, first.request_id) == (21, 5, 840.0, "chatcmpl-9x")
    assert first.params == {"temperature": 0.3} and first.line == 1
    assert batch.case_id == "case-7" and batch.output is None and batch.model == "gpt-4o-mini"
    assert conv.output == "Hello again!" and len(conv.messages) == 3


def test_batch_output_lines_and_trailing_assistant_message():
    out = parse_log_object(
        {"id": "batch_req_1", "custom_id": "case-7", "response": {"status_code": 200, "request_id": "req_1", "body": COMPLETION}, "error": None},
        file="b.jsonl", line=4,
    )  # fmt: skip
    assert out.messages is None and out.case_id == "case-7" and out.output == "No refunds, ever." and out.request_id == "req_1"
    failed = parse_log_object(
        {"custom_id": "c", "response": {"status_code": 429, "request_id": "r", "body": {"error": {"message": "Rate limit"}}}},
        file="b.jsonl", line=5,
    )  # fmt: skip
    assert (failed.error, failed.error_status, failed.output) == ("Rate limit", 429, None)
    ft = parse_log_object(
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}, file="f", line=1
    )
    assert ft.messages == [{"role": "user", "content": "q"}] and ft.output == "a"
    refusal = parse_log_object(
        {"messages": [{"role": "user", "content": "q"}],
         "response": {"choices": [{"message": {"role": "assistant", "content": None, "refusal": "I can't help with that."}, "finish_reason": "stop"}]}},
        file="f", line=2,
    )  # fmt: skip
    assert refusal.refusal == "I can't help with that." and refusal.output is None and refusal.answered


def test_every_problem_in_a_log_is_reported_with_line_and_field(tmp_path: Path):
    p = tmp_path / "l.jsonl"
    p.write_text('{"messages": []}\n\n[1]\n{"messages": [{"role": "user", "content": "x"}], "latency_ms": "fast"}\n')
    with pytest.raises(ImportProblems) as err:
        read_log(p)
    assert str(err.value).splitlines() == [
        f"{p}:1: messages: expected a non-empty list of messages",
        f"{p}:3: each line is a JSON object, got list",
        f"{p}:4: latency_ms: expected a non-negative number of milliseconds",
    ]


def test_entry_to_case_needs_messages():
    entry = parse_log_object({"custom_id": "c", "output": "x"}, file="f", line=1)
    with pytest.raises(Exception, match="f:1: the line holds no request messages"):
        entry_to_case(entry, case_id="c")


def test_read_log_line_accepts_a_colon_in_the_file_name(tmp_path: Path):
    p = tmp_path / "a:1"
    p.write_text(json.dumps(LOG_LINES[2]) + "\n")
    assert read_log_line(str(p)).output == "Hello again!"

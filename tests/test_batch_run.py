"""`reviewer run --batch` as a user runs it: a real process where the process is the point (kill -9
and Ctrl-C while waiting, the same command again, one usage error), elsewhere main() in the test's
process (tests/cli_inprocess.py: the same exit code and output); a real loopback batch server
(tests/batchserver.py: OpenAI files + batches, Anthropic message batches), a real SQLite file.
A whole comparison through batches with no per-request call; kill -9 while waiting and the same
command again (nothing submitted twice, nothing lost); per-line errors, expired requests, a
malformed results line named by its custom_id, a failed batch's errors object; a mixed comparison
(one side batch, the other direct); the same cache key as the direct path; keys never stored or printed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batchserver import BatchServer
from cli_inprocess import run_main
from fakeprovider import FakeProvider

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-batchtest-Zq8Xv3Lm0Np7Rt"


def cli(*args: str, env: dict, process: bool = False, **kw) -> subprocess.CompletedProcess:
    """``reviewer ARGS``: in a real process with ``process=True``, else main() in this one."""
    if not process:
        return run_main(args, cwd=ROOT, env=env, **kw)
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, **kw
    )


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    e.update(REVIEWER_DATA_DIR=str(tmp_path / "data"), REVIEWER_CONFIG_DIR=str(tmp_path / "config"), COLUMNS="200",
             OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=KEY)  # fmt: skip
    return e


@pytest.fixture
def srv():
    with BatchServer(api_key=KEY, polls=3) as s:
        yield s


def write_suite(tmp_path: Path, prompts: dict[str, str], name: str = "batch", description: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    cases = "".join(f'  - id: {cid}\n    prompt: "{p}"\n' for cid, p in prompts.items())
    desc = f"description: {description}\n" if description else ""
    path.write_text(f"suite: {name}\n{desc}defaults:\n  params: {{temperature: 0, max_tokens: 40}}\ncases:\n{cases}")
    return path


PLAIN = {f"q{i}": f"Question number {i}?" for i in range(6)}
ODD = {"err": "please BATCH-ERROR now", "exp": "please BATCH-EXPIRE now", "bad": "please BATCH-MALFORMED now"}


def rows(db: Path) -> dict[tuple[str, str, int], dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    out = {
        (r["side"], r["case_id"], r["sample"]): dict(r)
        for r in con.execute("SELECT runs.side, outputs.* FROM outputs JOIN runs ON runs.id = outputs.run_id")
    }
    con.close()
    return out


def batch_rows(db: Path) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    out = [dict(r) for r in con.execute("SELECT * FROM batches ORDER BY id")]
    con.close()
    return out


def assert_no_key(db: Path, *texts: str) -> None:
    for p in (db, Path(f"{db}-wal")):
        if p.exists():
            assert KEY.encode() not in p.read_bytes(), p
    for t in texts:
        assert KEY not in t


def test_whole_comparison_through_batches_no_per_request_call(tmp_path, env, srv):
    suite = write_suite(tmp_path, {**PLAIN, **ODD})
    db = tmp_path / "s.db"
    args = ["run", str(suite), "--baseline", f"openai:gpt-x@{srv.openai_url}", "--candidate",
            f"anthropic:claude-y@{srv.anthropic_url}", "--samples", "2", "--batch", "--poll-interval", "0.02", "--db", str(db)]  # fmt: skip
    r = cli(*args, env=env)
    assert r.returncode == 1, r.stderr  # the three odd cases are errors of their cases
    assert srv.direct_calls == 0 and srv.unauthorised == 0
    assert len(srv.creates) == 2
    assert r.stdout.strip().isdigit()
    got = rows(db)
    assert len(got) == 2 * 9 * 2
    for side, model in (("baseline", "gpt-x"), ("candidate", "claude-y")):
        for cid, prompt in PLAIN.items():
            for s in range(2):
                o = got[(side, cid, s)]
                assert o["error"] is None
                assert o["text"] == f"[{model}] answer: {prompt}"
                assert o["resolved_model"].startswith(model + "-")
                assert o["request_id"] and o["input_tokens"] and o["output_tokens"]
                assert o["cache_key"]
        expected = "400 invalid_value" if side == "baseline" else "invalid_request_error: messages: this line is invalid"
        assert expected in got[(side, "err", 0)]["error"]
        assert "expire" in got[(side, "exp", 1)]["error"]
        assert "malformed results line" in got[(side, "bad", 0)]["error"]
    assert got[("baseline", "q0", 0)]["system_fingerprint"] == "fp_batch1"
    # the malformed line is reported with its custom_id (comparison, side, case's place, sample)
    assert "malformed (not JSON), custom_id c1-b-8-0" in r.stderr
    assert "malformed (not JSON), custom_id c1-c-8-1" in r.stderr
    assert "expired 4" in r.stderr
    b = batch_rows(db)
    assert [x["status"] for x in b] == ["completed", "ended"] and all(x["collected_at"] for x in b)
    assert b[0]["input_file_id"] and b[0]["request_count"] == 18
    assert_no_key(db, r.stderr, r.stdout)

    # The same command again: nothing submitted, the errors are left (not resubmitted) and said so.
    again = cli(*args, env=env)
    assert again.returncode == 1 and len(srv.creates) == 2 and srv.direct_calls == 0
    assert "failed in an earlier batch" in again.stderr and "--retry-errors" in again.stderr
    # --retry-errors: only the failed requests, in one new batch per side.
    retry = cli(*args, "--retry-errors", env=env)
    assert len(srv.creates) == 4 and srv.direct_calls == 0
    assert [x["request_count"] for x in batch_rows(db)][2:] == [6, 6]
    assert retry.returncode == 1
    assert_no_key(db, again.stderr, retry.stderr)


def test_batch_answers_share_the_direct_paths_cache_key(tmp_path, env, srv):
    """A direct run of the same calls (another comparison: another suite name) reuses every batch
    answer from the cache: not one call reaches the server."""
    db = tmp_path / "s.db"
    specs = ["--baseline", f"openai:gpt-x@{srv.openai_url}", "--candidate", f"anthropic:claude-y@{srv.anthropic_url}"]
    r = cli("run", str(write_suite(tmp_path, PLAIN)), *specs, "--batch", "--poll-interval", "0.02", "--db", str(db), env=env)
    assert r.returncode == 0, r.stderr
    direct = cli("run", str(write_suite(tmp_path, PLAIN, name="batch2")), *specs, "--db", str(db), env=env)
    assert direct.returncode == 0, direct.stderr
    assert "reused 12" in direct.stderr
    assert srv.direct_calls == 0


def test_kill_9_while_waiting_then_the_same_command_collects(tmp_path, env, srv):
    srv.polls = 10**9  # never finishes until told
    suite = write_suite(tmp_path, PLAIN)
    db = tmp_path / "s.db"
    args = [sys.executable, "-m", "reviewer", "run", str(suite), "--baseline", f"openai:gpt-x@{srv.openai_url}",
            "--candidate", f"anthropic:claude-y@{srv.anthropic_url}", "--samples", "3", "--batch", "--poll-interval",
            "0.02", "--db", str(db)]  # fmt: skip
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while srv.hits["messages.batches.retrieve"] < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.hits["messages.batches.retrieve"] >= 2, proc.stderr.read().decode() if proc.poll() is not None else "no poll"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    b = batch_rows(db)
    assert len(b) == 2 and all(x["batch_id"] for x in b) and not any(x["collected_at"] for x in b)
    # A direct run of the same comparison refuses while its batches may still answer.
    direct = cli(*args[3:-5], "--db", str(db), env=env)
    assert direct.returncode == 2 and "still open" in direct.stderr and srv.direct_calls == 0
    srv.polls = 3
    r = cli(*args[3:], env=env, process=True)
    assert r.returncode == 0, r.stderr
    assert len(srv.creates) == 2  # nothing submitted twice
    assert srv.direct_calls == 0
    got = rows(db)
    assert len(got) == 2 * 6 * 3 and all(o["error"] is None for o in got.values())
    assert "batches submitted 0" in r.stderr
    assert_no_key(db, r.stderr)


def test_no_wait_prints_the_collecting_command_and_cancel(tmp_path, env, srv):
    srv.polls = 10**9
    suite = write_suite(tmp_path, PLAIN)
    db = tmp_path / "s.db"
    args = ["run", str(suite), "--baseline", f"openai:gpt-x@{srv.openai_url}", "--candidate",
            f"openai-responses:gpt-z@{srv.openai_url}", "--batch", "--no-wait", "--db", str(db)]  # fmt: skip
    r = cli(*args, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().isdigit()
    assert "Collect them with:" in r.stderr and "--no-wait" not in r.stderr.split("Collect them with:")[1]
    assert "reviewer run" in r.stderr
    assert srv.hits["batches.retrieve"] == 0  # submitted, not waited for
    listed = cli("batches", "--json", "--db", str(db), env=env)
    import json

    data = json.loads(listed.stdout)["batches"]
    assert [b["endpoint"] for b in data] == ["/v1/chat/completions", "/v1/responses"]
    assert all(b["collected_at"] is None for b in data)
    c = cli("batches", "cancel", data[1]["batch_id"], "--db", str(db), env=env)
    assert c.returncode == 0, c.stderr
    assert srv.batches[data[1]["batch_id"]].cancelled
    srv.polls = 3
    done = cli(*[a for a in args if a != "--no-wait"], "--poll-interval", "0.02", env=env)
    assert done.returncode == 1  # the cancelled side's requests are errors
    got = rows(db)
    assert all(o["error"] is None for (side, _, _), o in got.items() if side == "baseline")
    assert all("batch_cancelled" in o["error"] for (side, _, _), o in got.items() if side == "candidate")
    assert got[("baseline", "q1", 0)]["text"] == "[gpt-x] answer: Question number 1?"
    assert len(srv.creates) == 2 and srv.direct_calls == 0
    assert_no_key(db, r.stderr, done.stderr, listed.stdout)


def test_mixed_batch_and_direct_and_a_failed_batch(tmp_path, env, srv):
    suite = write_suite(tmp_path, {**PLAIN, "fail": "this one says BATCH-FAIL"})
    db = tmp_path / "s.db"
    with FakeProvider(api_key=KEY) as direct:
        r = cli("run", str(suite), "--baseline", f"openai:gpt-x@{srv.openai_url}", "--candidate",
                f"openai:cand@{direct.base_url}", "--batch", "--batch-side", "baseline", "--poll-interval", "0.02", "--db", str(db), env=env)  # fmt: skip
        assert direct.count() == 7  # the direct side: one call per case
    assert srv.direct_calls == 0
    assert r.returncode == 1
    got = rows(db)
    assert all(o["error"] is None for (side, _, _), o in got.items() if side == "candidate")
    base = [o for (side, _, _), o in got.items() if side == "baseline"]
    assert len(base) == 7
    # the failed batch's errors object names the line, on every request of the batch
    assert all("invalid_request: this line asks the batch to fail (input line 7)" in o["error"] for o in base)
    assert batch_rows(db)[0]["status"] == "failed" and "invalid_request" in batch_rows(db)[0]["errors"]
    assert_no_key(db, r.stderr)


def test_usage_errors(tmp_path, env):
    suite = write_suite(tmp_path, PLAIN)
    r = cli("run", str(suite), "--baseline", "openai:a@http://127.0.0.1:9/v1", "--candidate", "openai:b@http://127.0.0.1:9/v1",
            "--no-wait", env=env, process=True)  # fmt: skip
    assert r.returncode == 2 and "--no-wait needs --batch" in r.stderr
    rec = tmp_path / "rec.jsonl"
    rec.write_text("")
    r = cli("run", str(suite), "--baseline", f"recorded:{rec}", "--candidate", f"recorded:{rec}", "--batch", env=env)
    assert r.returncode == 2 and "neither side has a batch API" in r.stderr
    r = cli("run", str(suite), "--baseline", "openai:a@http://127.0.0.1:9/v1", "--candidate", "openai:b@http://127.0.0.1:9/v1",
            "--batch", "--poll-interval", "0", env=env)  # fmt: skip
    assert r.returncode == 2 and "--poll-interval 0" in r.stderr
    r = cli("run", str(suite), "--baseline", f"recorded:{rec}", "--candidate", "openai:b@http://127.0.0.1:9/v1",
            "--batch", "--batch-side", "baseline", env=env)  # fmt: skip
    assert r.returncode == 2 and "--batch-side baseline: recorded:" in r.stderr
    assert "Traceback" not in r.stderr


def test_ctrl_c_while_waiting_says_the_batches_keep_running(tmp_path, env, srv):
    srv.polls = 10**9
    db = tmp_path / "s.db"
    args = [sys.executable, "-m", "reviewer", "run", str(write_suite(tmp_path, PLAIN)), "--baseline",
            f"anthropic:claude-y@{srv.anthropic_url}", "--candidate", f"anthropic:claude-z@{srv.anthropic_url}",
            "--batch", "--poll-interval", "0.02", "--db", str(db)]  # fmt: skip
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while srv.hits["messages.batches.retrieve"] < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "2 batches of comparison 1 are recorded" in stderr and "Run the same command again" in stderr
    assert "Traceback" not in stderr
    srv.polls = 3
    r = cli(*args[3:], env=env, process=True)
    assert r.returncode == 0, r.stderr
    assert len(srv.creates) == 2 and len(rows(db)) == 12
    assert_no_key(db, stderr, r.stderr)


def test_responses_api_side_through_a_batch(tmp_path, env, srv):
    db = tmp_path / "s.db"
    r = cli("run", str(write_suite(tmp_path, PLAIN)), "--baseline", f"openai-responses:gpt-r@{srv.openai_url}", "--candidate",
            f"anthropic:claude-y@{srv.anthropic_url}", "--batch", "--poll-interval", "0.02", "--db", str(db), env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert srv.batches[srv.creates[0]].endpoint == "/v1/responses" and srv.direct_calls == 0
    got = rows(db)
    o = got[("baseline", "q2", 0)]
    assert o["text"] == "[gpt-r] answer: Question number 2?" and o["finish_reason"] == "stop"
    assert o["resolved_model"] == "gpt-r-2026-01-01" and o["input_tokens"] == 9
    # the request is the Responses API's own: store false, max_output_tokens
    body = srv.batches[srv.creates[0]].requests[0]["body"]
    assert body["store"] is False and body["max_output_tokens"] == 40 and "input" in body

"""`reviewer run` and friends as a user runs them: a real process where the process is the point
(kill -9, Ctrl-C, the same command again, one usage error), elsewhere main() in the test's process
(tests/cli_inprocess.py: the same exit code, stdout and stderr); a real loopback server, a real
SQLite file. Covers resume after kill -9 and Ctrl-C, the error summary, validate, listing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_inprocess import run_main
from fakeprovider import FakeProvider, error, insufficient_quota, malformed

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, env: dict | None = None, process: bool = False, **kw) -> subprocess.CompletedProcess:
    """``reviewer ARGS``: in a real process with ``process=True`` (an interrupted run, the same
    command again, one usage error), else main() in this one (tests/cli_inprocess.py)."""
    if not process:
        return run_main(args, cwd=ROOT, env=env, **kw)
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, **kw
    )


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    e.update(REVIEWER_DATA_DIR=str(tmp_path / "data"), REVIEWER_CONFIG_DIR=str(tmp_path / "config"), COLUMNS="120")
    return e


def suite(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "suite.yaml"
    cases = "".join(f'  - id: case-{i:03d}\n    tags: [t{i % 3}]\n    prompt: "Question number {i}?"\n' for i in range(n))
    path.write_text(f"suite: resume\ndefaults:\n  params: {{temperature: 0, max_tokens: 32}}\ncases:\n{cases}")
    return path


def stored(db: Path) -> set[tuple[str, str]]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT r.model, o.case_id FROM outputs o JOIN runs r ON r.id = o.run_id WHERE o.error IS NULL"
        ).fetchall()
    except sqlite3.OperationalError:
        return set()
    finally:
        con.close()
    return {(m, c) for m, c in rows}


def requested(srv: FakeProvider, since: int = 0) -> list[tuple[str, str]]:
    out = []
    for r in srv.requests[since:]:
        prompt = r.body["messages"][-1]["content"]
        out.append((r.body["model"], f"case-{int(prompt.split()[2].rstrip('?')):03d}"))
    return out


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["kill -9", "ctrl-c"])
def test_resume_after_interruption_repeats_nothing_and_loses_nothing(tmp_path, env, how):
    db = tmp_path / "r.db"
    path = suite(tmp_path, 40)
    with FakeProvider(latency=0.05) as srv:
        args = ["run", str(path), "--baseline", f"openai:base@{srv.base_url}", "--candidate", f"openai:cand@{srv.base_url}",
                "--concurrency", "2", "--db", str(db)]  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "reviewer", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: len(stored(db)) >= 20)
        if how == "kill -9":
            proc.kill()
        else:
            proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
        first = stored(db)
        assert 20 <= len(first) < 80
        if how == "ctrl-c":
            assert proc.returncode == 130, err
            assert "Run the same command again" in err and "Traceback" not in err
            con = sqlite3.connect(db)
            assert con.execute("SELECT status FROM comparisons").fetchone()[0] == "interrupted"
            con.close()
        n_before = len(srv.requests)

        again = cli(*args, env=env, process=True)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == "1"  # the same comparison, resumed
        assert "Resumed comparison 1" in again.stderr
        second = requested(srv, n_before)
    repeated = set(second) & first
    assert repeated == set(), f"{len(repeated)} completed calls were made again"
    assert stored(db) == {(m, f"case-{i:03d}") for m in ("base", "cand") for i in range(40)}  # 0 lost
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM comparisons").fetchone()[0] == 1
    assert con.execute("SELECT status FROM comparisons").fetchone()[0] == "complete"
    assert con.execute("SELECT COUNT(*) FROM outputs").fetchone()[0] == 80
    con.close()


def test_every_kind_of_error_is_reported_without_traceback(tmp_path, env):
    path = tmp_path / "errors.yaml"
    path.write_text(
        "suite: errors\ncases:\n"
        "  - {id: fine, prompt: 'a normal question'}\n"
        "  - {id: quota, prompt: 'quota case'}\n"
        "  - {id: invalid, prompt: 'invalid case'}\n"
        "  - {id: unavailable, prompt: 'unavailable case'}\n"
        "  - {id: garbage, prompt: 'garbage case'}\n"
    )
    db = tmp_path / "r.db"
    with FakeProvider(api_key="sk-right-key-0123456789") as srv:
        srv.script("quota case", *[insufficient_quota()] * 2)
        srv.script("invalid case", *[error(400, "Invalid value for 'max_tokens': must be positive")] * 2)
        srv.script("unavailable case", *[error(503)] * 12)
        srv.script("garbage case", *[malformed()] * 12)
        env = {**env, "OPENAI_API_KEY": "sk-right-key-0123456789"}
        res = cli("run", str(path), "--baseline", f"openai:a@{srv.base_url}", "--candidate", f"openai:b@{srv.base_url}",
                  "--db", str(db), "--timeout", "5", env=env)  # fmt: skip
        # Wrong key: 401 is not retried and is reported; the key is not echoed.
        bad = cli("run", str(path), "--baseline", f"openai:a@{srv.base_url}", "--candidate", f"openai:b@{srv.base_url}",
                  "--db", str(tmp_path / "bad.db"), env={**env, "OPENAI_API_KEY": "sk-wrong-key-9876543210"})  # fmt: skip
    # failed calls: exit 1 (issue 10), the comparison stored all the same
    assert res.returncode == 1 and res.stdout.strip() == "1"
    assert "Traceback" not in res.stderr
    assert "8 calls failed" in res.stderr
    assert "quota #0: 429 insufficient_quota: You exceeded your current quota" in res.stderr
    assert "invalid #0: 400 invalid_request_error: Invalid value for 'max_tokens'" in res.stderr
    assert "unavailable #0: 503" in res.stderr and "garbage #0: 200: malformed JSON" in res.stderr
    con = sqlite3.connect(db)
    errs = dict(con.execute("SELECT case_id, error_status FROM outputs WHERE error IS NOT NULL AND run_id = 1"))
    assert errs == {"quota": 429, "invalid": 400, "unavailable": 503, "garbage": 200}
    assert con.execute("SELECT text FROM outputs WHERE case_id = 'fine' AND run_id = 1").fetchone()[0]
    con.close()
    assert bad.returncode == 1 and "401" in bad.stderr and "Traceback" not in bad.stderr
    assert "sk-wrong-key-9876543210" not in bad.stderr and b"sk-wrong-key" not in b"".join(
        p.read_bytes() for p in tmp_path.glob("bad.db*")
    )


def test_usage_errors_are_one_line(tmp_path, env):
    path = suite(tmp_path, 2)
    cases = [
        (["run", str(path), "--baseline", "gpt-4o", "--candidate", "openai:x"], "--baseline 'gpt-4o': expected provider:model"),
        (["run", str(path), "--baseline", "nope:x", "--candidate", "openai:x"], "unknown provider 'nope'"),
        (["run", str(path), "--baseline", "openai:x", "--candidate", "openai:y"], "OPENAI_API_KEY is not set"),
        (
            ["run", str(path), "--baseline", "recorded:missing.jsonl", "--candidate", "recorded:missing.jsonl"],
            "recorded:missing.jsonl: no such file",
        ),
        (
            ["run", str(tmp_path / "nope.yaml"), "--baseline", "recorded:x", "--candidate", "recorded:y"],
            "nope.yaml:0: no such file",
        ),
        (
            ["run", str(path), "--baseline", "recorded:x", "--candidate", "recorded:y", "--param", "temperature"],
            "--param 'temperature': expected key=value",
        ),
        (
            ["run", str(path), "--baseline", "recorded:x", "--candidate", "recorded:y", "--samples", "0"],
            "--samples 0: must be at least 1",
        ),
        (
            ["run", str(path), "--baseline", "recorded:x", "--candidate", "recorded:y", "--timeout", "0"],
            "--timeout 0: must be a positive",
        ),
        (
            ["run", str(path), "--baseline", "recorded:x", "--candidate", "recorded:y", "--timeout", "-1"],
            "--timeout -1: must be a positive",
        ),
        (
            ["run", str(path), "--baseline", "recorded:x", "--candidate", "recorded:y", "--timeout", "nan"],
            "--timeout nan: must be a positive",
        ),
        (
            ["run", str(path), "--baseline", "recorded:x", "--candidate", "recorded:y", "--timeout", "inf"],
            "--timeout inf: must be a positive",
        ),
        (
            ["run", str(path), "--baseline", "recorded:x", "--candidate", "recorded:y", "--concurrency", "0"],
            "--concurrency 0: must be at least 1",
        ),
        (
            ["run", str(path), "--baseline", "recorded:x", "--candidate", "recorded:y", "--wait-lease", "-1"],
            "--wait-lease -1: must be 0 or more",
        ),
    ]
    for n, (args, message) in enumerate(cases):
        # the first in a real process (its exit code and stderr), the rest in this one
        res = cli(*args, "--db", str(tmp_path / "u.db"), env=env, process=n == 0)
        assert res.returncode == 2, (args, res.stderr)
        assert message in res.stderr, (message, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


def test_recorded_run_export_and_list(tmp_path, env):
    path = suite(tmp_path, 3)
    base, cand = tmp_path / "base.jsonl", tmp_path / "cand.jsonl"
    for f, word in ((base, "old"), (cand, "new")):
        f.write_text("".join(
            json.dumps({"case_id": f"case-{i:03d}", "sample": s, "output": f"{word} answer {i}.{s}", "model": f"m-{word}",
                        "latency_ms": 12.5, "usage": {"prompt_tokens": 3, "completion_tokens": 4}, "finish_reason": "stop"}) + "\n"
            for i in range(3) for s in range(2)))  # fmt: skip
    db = tmp_path / "r.db"
    res = cli(
        "run",
        str(path),
        "--baseline",
        f"recorded:{base}",
        "--candidate",
        f"recorded:{cand}",
        "--samples",
        "2",
        "--db",
        str(db),
        "--name",
        "rec",
        env=env,
    )
    assert res.returncode == 0, res.stderr
    listing = cli("comparisons", "--json", "--db", str(db), env=env)
    [c] = json.loads(listing.stdout)
    assert (c["name"], c["suite"], c["cases"], c["samples"], c["outputs"], c["errors"]) == ("rec", "resume", 3, 2, 12, 0)
    assert c["baseline"] == f"recorded:{base}"
    exported = cli("runs", "export", "2", "--db", str(db), env=env)
    recs = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(recs) == 6 and recs[0] == {
        "case_id": "case-000", "sample": 0, "output": "new answer 0.0", "model": "m-new", "finish_reason": "stop",
        "latency_ms": 12.5, "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }  # fmt: skip


def test_validate_reports_every_problem_with_file_and_line(tmp_path, env):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("suite: g\ncases:\n  - id: a\n    prompt: hi\n    checks: [{max_words: 5}]\n")
    bad.write_text(
        "suite: b\ncases:\n"
        "  - id: a\n    prompt: hi\n"
        "  - id: a\n    prompt: again\n"
        "  - id: c\n    prompt: x\n    checks:\n      - {regex: '('}\n"
        "  - id: d\n"
        "  - id: e\n    prompt: y\n    checks: [{similar_to_reference: 0.8}]\n"
    )
    res = cli("suites", "validate", str(good), str(bad), env=env)
    assert res.returncode == 1
    assert f"{good}: ok" in res.stdout
    lines = res.stderr.strip().splitlines()
    assert f"{bad}:5: case 'a': duplicate id (first at line 3)" in lines
    assert any(line.startswith(f"{bad}:10: case 'c': checks[0]: regex: invalid pattern") for line in lines)
    assert f"{bad}:11: case 'd': a case has exactly one of prompt or messages" in lines
    assert f"{bad}:12: case 'e': checks: similar_to_reference needs a reference answer on the case" in lines


def test_jsonl_suite_errors_name_the_line(tmp_path, env):
    path = tmp_path / "s.jsonl"
    path.write_text('{"suite": "j"}\n{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": 3}\n{broken\n')
    res = cli("suites", "validate", str(path), env=env)
    assert res.returncode == 1
    assert f"{path}:3: case 'b': prompt: Input should be a valid string" in res.stderr
    assert f"{path}:4: invalid JSON" in res.stderr


def test_config_file_names_both_sides_and_cli_wins(tmp_path, env):
    path = suite(tmp_path, 2)
    with FakeProvider() as srv:
        cfg = tmp_path / "reviewer.yaml"
        cfg.write_text(
            f"baseline: {{id: 'openai:old@{srv.base_url}', label: 'old (May)', params: {{temperature: 0.1}}}}\n"
            f"candidate: 'openai:new@{srv.base_url}'\nsamples: 2\nparams: {{max_tokens: 20}}\nname: from-config\n"
        )
        res = cli("run", str(path), "--config", str(cfg), "--param", "max_tokens=10", "--db", str(tmp_path / "c.db"), env=env)
        assert res.returncode == 0, res.stderr
        bodies = [r.body for r in srv.requests]
    assert len(bodies) == 2 * 2 * 2
    old = [b for b in bodies if b["model"] == "old"]
    new = [b for b in bodies if b["model"] == "new"]
    assert all(b["temperature"] == 0.1 and b["max_tokens"] == 10 for b in old)
    assert all(b["temperature"] == 0 and b["max_tokens"] == 10 for b in new)  # suite default temperature
    listing = json.loads(cli("comparisons", "--json", "--db", str(tmp_path / "c.db"), env=env).stdout)
    assert listing[0]["name"] == "from-config" and listing[0]["samples"] == 2
    con = sqlite3.connect(tmp_path / "c.db")
    assert con.execute("SELECT side, label FROM runs ORDER BY id").fetchall() == [("baseline", "old (May)"), ("candidate", None)]
    con.close()
    bad = tmp_path / "bad.yaml"
    bad.write_text("baseline: openai:x\nsampels: 3\n")
    res = cli("run", str(path), "--config", str(bad), "--db", str(tmp_path / "c.db"), env=env)
    assert res.returncode == 2 and "unknown key 'sampels'" in res.stderr


def test_provider_messages_cannot_drive_the_terminal(tmp_path, env):
    path = suite(tmp_path, 1)
    with FakeProvider() as srv:
        srv.script("Question number 0", *[error(400, "bad \x1b[2J\x1b]0;owned\x07 [bold]x[/bold]")] * 2)
        res = cli("run", str(path), "--baseline", f"openai:a@{srv.base_url}", "--candidate", f"openai:b@{srv.base_url}",
                  "--db", str(tmp_path / "t.db"), env={**env, "FORCE_COLOR": "1"})  # fmt: skip
    assert res.returncode == 1  # the call failed
    assert "\x1b[2J" not in res.stderr and "\x1b]0;" not in res.stderr and "\x07" not in res.stderr
    assert "␛[2J" in res.stderr and "[bold]x[/bold]" in res.stderr  # shown, not obeyed

"""Issue 10, "fail closed", as a user meets it in the README's CI recipe: a replay whose calls failed
exits 1, and the default gate refuses it (and never says "ship" when nothing was measured).
Real processes for the CI recipe itself (a typo in the candidate: run and gate) and for the
retries that must not print log lines; elsewhere main() in the test's process (tests/cli_inprocess.py: the same exit
codes and output). A real loopback server that counts requests, real SQLite files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_inprocess import run_main
from fakeprovider import FakeProvider, error

ROOT = Path(__file__).resolve().parent.parent
TYPO = "gpt-4o-typo"


def cli(*args: str, env: dict, process: bool = False, **kw) -> subprocess.CompletedProcess:
    """``reviewer ARGS``: in a real process with ``process=True``, else main() in this one."""
    if not process:
        return run_main(args, cwd=ROOT, env=env, **kw)
    return subprocess.run([sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120, **kw)  # fmt: skip


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    e.update(REVIEWER_DATA_DIR=str(tmp_path / "data"), REVIEWER_CONFIG_DIR=str(tmp_path / "config"),
             REVIEWER_DB=str(tmp_path / "data" / "reviewer.db"), COLUMNS="200", PYTHONPATH=str(ROOT))  # fmt: skip
    return e


class TypoServer(FakeProvider):
    """An OpenAI-compatible server that does not know the model ``gpt-4o-typo`` (404 model_not_found)."""

    def _next_behaviour(self, body: dict):
        if body.get("model") == TYPO:
            return error(404, f"The model `{TYPO}` does not exist or you do not have access to it.")
        return super()._next_behaviour(body)


def write_suite(tmp_path: Path, name: str = "ci") -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(
        f"suite: {json.dumps(name)}\ncases:\n"
        "  - {id: echo-a, prompt: 'Say alpha', checks: [{max_words: 60}]}\n"
        "  - {id: echo-b, prompt: 'Say beta', checks: [{max_words: 60}]}\n"
        "  - {id: echo-c, prompt: 'Say gamma'}\n",
        encoding="utf-8",
    )
    return path


def test_a_typo_in_the_candidate_fails_the_run_and_the_gate(tmp_path, env):
    path = write_suite(tmp_path)
    db = str(tmp_path / "ci.db")
    with TypoServer() as srv:
        argv = ["run", str(path), "--baseline", f"openai:gpt-4o@{srv.base_url}", "--candidate", f"openai:{TYPO}@{srv.base_url}",
                "--samples", "2", "--db", db]  # fmt: skip
        run = cli(*argv, env=env, process=True)
        assert srv.count(path="/v1/chat/completions") == 12  # 404 is not retried
        allowed = cli(*argv, "--allow-errors", env=env)
    # run: exit 1, the failures listed, the comparison stored all the same
    assert run.returncode == 1, run.stderr
    assert run.stdout.strip() == "1" and "Traceback" not in run.stderr
    assert "6 calls failed" in run.stderr and "candidate echo-a #0: 404" in run.stderr
    assert "Exit 1: 6 calls ended in an error (--allow-errors" in run.stderr
    assert allowed.returncode == 0 and allowed.stdout.strip() == "1", allowed.stderr  # resumed, still failing
    assert "6 calls failed" in allowed.stderr

    # gate, default limits: refused, naming the rules
    gate = cli("gate", "--db", db, env=env, process=True)
    assert gate.returncode == 1, gate.stderr
    out = gate.stdout
    assert "  FAIL  errors          baseline 0 of 6 calls (0.0%), candidate 6 of 6 calls (100.0%)  [max 0]" in out
    assert "  FAIL  usable answers  baseline 0 of 2, candidate 2 of 2 checked cases unanswered" in out
    assert "ship: no threshold crossed" not in out
    last = out.rstrip().splitlines()[-1]
    assert last.startswith(
        "do not ship: 3 thresholds crossed: errors (more than --max-errors 0): candidate "
        "openai:gpt-4o-typo: 6 of 6 calls (100.0%) without an answer (cases echo-a, echo-b, echo-c); "
    )
    assert "FAIL  negative flips  2 of 2 checked cases" in out  # a check cannot pass on an error

    # --json carries the reason
    doc = json.loads(cli("gate", "--db", db, "--json", env=env).stdout)
    assert (
        doc["ship"] is False
        and doc["exit_code"] == 1
        and doc["reason"].startswith("errors (more than --max-errors 0): candidate")
    )
    failed = {r["name"]: r for r in doc["failed_rules"]}
    assert set(failed) == {"errors", "usable answers", "negative flips"}
    assert failed["errors"]["observed"] == {"baseline": 0, "candidate": 6} and failed["errors"]["limit"] == "max 0"
    assert failed["errors"]["cases"] == ["echo-a", "echo-b", "echo-c"]
    assert failed["usable answers"]["cases"] == ["echo-a", "echo-b"]
    assert doc["numbers"]["calls"]["candidate"] == {"calls": 6, "answered": 0, "errors": 6, "missing": 0}

    # nothing was measured: no set of limits makes this ship
    off = cli("gate", "--db", db, "--max-errors", "off", "--max-negative-flips", "off", "--max-regressions", "off", env=env)
    assert off.returncode == 1
    assert "  ok    errors" in off.stdout and "FAIL  usable answers" in off.stdout


def test_max_errors_counts_unanswered_calls_per_side(tmp_path, env):
    path = write_suite(tmp_path)
    db = str(tmp_path / "ci.db")
    with FakeProvider() as srv:
        # one call of a case without checks fails for good (400 is not retried): which side gets it
        # does not matter, each side's count is over its own 3 × 2 calls
        srv.script("Say gamma", error(400, "Invalid value for 'max_tokens'"))
        run = cli("run", str(path), "--baseline", f"openai:a@{srv.base_url}", "--candidate", f"openai:b@{srv.base_url}",
                  "--samples", "2", "--db", db, env=env)  # fmt: skip
    assert run.returncode == 1 and "1 calls failed" in run.stderr
    side = (
        sqlite3.connect(db)
        .execute("SELECT r.side FROM outputs o JOIN runs r ON r.id = o.run_id WHERE o.error IS NOT NULL")
        .fetchall()
    )
    assert len(side) == 1

    def gate(*argv: str) -> subprocess.CompletedProcess:
        return cli("gate", "--db", db, "--json", *argv, env=env)

    default = gate()
    assert default.returncode == 1
    [rule] = json.loads(default.stdout)["failed_rules"]
    assert rule["name"] == "errors" and rule["cases"] == ["echo-c"] and rule["observed"][side[0][0]] == 1
    assert gate("--max-errors", "1").returncode == 0
    assert gate("--max-errors", "17%").returncode == 0  # 1 of 6 calls = 16.7%
    assert gate("--max-errors", "16%").returncode == 1
    doc = json.loads(gate("--max-errors", "1").stdout)
    assert doc["ship"] is True and doc["failed_rules"] == [] and doc["reason"] == "no rule failed"


def test_an_unfinished_comparison_never_ships(tmp_path, env):
    """kill -9 mid-replay leaves the comparison 'running' with answers missing: the gate refuses it."""
    path = tmp_path / "long.yaml"
    path.write_text("suite: long\ncases:\n" + "".join(f"  - {{id: c{i:02d}, prompt: 'Question {i}'}}\n" for i in range(30)))
    db = tmp_path / "k.db"
    with FakeProvider(latency=0.05) as srv:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reviewer", "run", str(path), "--baseline", f"openai:a@{srv.base_url}",
             "--candidate", f"openai:b@{srv.base_url}", "--concurrency", "1", "--db", str(db)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while srv.count() < 6:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        proc.kill()
        proc.wait(timeout=30)
    res = cli("gate", "--db", str(db), "--max-negative-flips", "off", "--max-regressions", "off", "--max-errors", "off",
              "--json", env=env)  # fmt: skip
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    [rule] = [r for r in doc["failed_rules"] if r["name"] == "complete"]
    assert rule["observed"] == "running" and "not finished" in rule["message"]
    assert doc["numbers"]["calls"]["baseline"]["missing"] > 0


def test_an_answer_missing_from_a_finished_comparison_fails_the_gate(tmp_path):
    """An imported comparison marked complete with a sample missing on one side."""
    from reviewer.cli import main
    from reviewer.store import Output, Store
    from reviewer.suite import load_suite

    loaded = load_suite(write_suite(tmp_path))
    db = tmp_path / "m.db"
    with Store(db) as store:
        sid = store.upsert_suite(loaded)
        runs = [store.create_run(suite_id=sid, provider="recorded", model=m, base_url=None, params={}, samples=2, side=side)
                for m, side in (("a", "baseline"), ("b", "candidate"))]  # fmt: skip
        for run in runs:
            outs = [Output(c.id, s, text="fine") for c in loaded.suite.cases for s in range(2)]
            if run == runs[1]:
                outs = [o for o in outs if (o.case_id, o.sample) != ("echo-b", 1)]
            store.save_outputs(run, outs)
        store.create_comparison(suite_id=sid, baseline_run_id=runs[0], candidate_run_id=runs[1], name=None, status="complete")
    assert main(["gate", "--db", str(db)]) == 1
    assert main(["gate", "--db", str(db), "--max-errors", "1"]) == 1  # missing is not an error: the comparison is incomplete


def test_names_cannot_drive_the_terminal(tmp_path, env):
    evil = "pwn\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x9b2J\u202e"
    path = write_suite(tmp_path, name=f"suite {evil}")
    base, cand = tmp_path / "base.jsonl", tmp_path / "cand\x1b]0;pwned\x07.jsonl"  # a model spec with an escape
    for f, word in ((base, "old"), (cand, "new")):
        f.write_text("".join(json.dumps({"case_id": c, "sample": 0, "output": f"{word} {c}"}) + "\n"
                             for c in ("echo-a", "echo-b", "echo-c")))  # fmt: skip
    db = str(tmp_path / "e.db")
    run = cli("run", str(path), "--baseline", f"recorded:{base}", "--candidate", f"recorded:{cand}", "--db", db,
              "--name", f"name {evil}", "--baseline-label", f"label {evil}", env={**env, "FORCE_COLOR": "1"})  # fmt: skip
    assert run.returncode == 0, run.stderr
    gate = cli("gate", "--db", db, "--max-negative-flips", "off", env={**env, "FORCE_COLOR": "1"})
    doc = cli("gate", "--db", db, "--json", env=env)
    for text in (run.stderr, run.stdout, gate.stdout, gate.stderr, doc.stdout):
        assert "\x1b]" not in text and "\x07" not in text and "\x9b" not in text and "\u202e" not in text
    assert "name pwn␛]0;pwned␇" in run.stderr  # shown, not obeyed
    assert "name pwn␛]0;pwned␇" in gate.stdout and "suite pwn␛]0;pwned␇" in gate.stdout
    assert "cand␛]0;pwned␇.jsonl" in run.stderr and "cand␛]0;pwned␇.jsonl" in gate.stdout
    assert json.loads(doc.stdout)["comparison"]["name"] == f"name {evil}"  # the JSON keeps the exact text, escaped


def test_retries_show_in_the_progress_and_the_summary_not_as_log_lines(tmp_path, env):
    from fakeprovider import rate_limited

    path = write_suite(tmp_path)
    with FakeProvider() as srv:
        srv.script("Say alpha", rate_limited(retry_after=0.05), error(503))  # two retries, then answered
        res = cli("run", str(path), "--baseline", f"openai:a@{srv.base_url}", "--candidate", f"openai:b@{srv.base_url}",
                  "--db", str(tmp_path / "r.db"), env=env, process=True)  # fmt: skip
        calls = srv.count()
    assert res.returncode == 0, res.stderr
    assert calls == 8
    assert "retries 2" in res.stderr and "calls made 6, reused 0, retries 2, errors 0" in res.stderr
    assert "stamina" not in res.stderr and "retry_scheduled" not in res.stderr

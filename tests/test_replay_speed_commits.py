"""Answers are committed in one transaction per event-loop tick (reviewer.replay.Committer), and
that batching keeps the crash promise: a worker's answer is in the store before it starts another
call, so kill -9 of a real `reviewer run` loses at most one call per worker (the calls in flight),
SIGTERM commits what was answered and stops like Ctrl-C, and the same command again makes exactly
the missing calls. A real loopback server (tests/fakeprovider.py), real processes, real SQLite."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakeprovider import FakeProvider

from reviewer.providers import parse_spec
from reviewer.replay import Replay, ReplayConfig
from reviewer.store import Store
from reviewer.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
CASES = 150
CONCURRENCY = 4  # one endpoint for both sides: 4 calls in flight, 2 × 4 workers


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    e.update(REVIEWER_DATA_DIR=str(tmp_path / "data"), REVIEWER_CONFIG_DIR=str(tmp_path / "config"), COLUMNS="120",
             OPENAI_API_KEY="sk-test-0123456789")  # fmt: skip
    return e


def write_suite(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "suite.jsonl"
    lines = ['{"suite": "ticks", "defaults": {"params": {"temperature": 0}}}']
    lines += [f'{{"id": "case-{i:03d}", "prompt": "Question number {i}?"}}' for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def stored_answers(db: Path) -> tuple[int, set[str]]:
    store = Store(db)
    try:
        runs = store.runs()
        return sum(1 for r in runs for o in store.outputs(r.id) if o.error is None), {r.status for r in runs}
    finally:
        store.close()


def wait_for(pred, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def run_cmd(suite: Path, db: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "reviewer", "run", str(suite), "--baseline", f"openai:model-a@{url}",
            "--candidate", f"openai:model-b@{url}", "--db", str(db), "--concurrency", str(CONCURRENCY)]  # fmt: skip


def test_answers_of_one_tick_share_one_transaction(tmp_path):
    with FakeProvider(latency=0.01) as srv:
        loaded = load_suite(write_suite(tmp_path, 60))
        store = Store(tmp_path / "t.db")
        url = srv.base_url
        replay = Replay(store, loaded, parse_spec(f"openai:a@{url}"), parse_spec(f"openai:b@{url}"),
                        ReplayConfig(concurrency=16, use_cache=False))  # fmt: skip
        os.environ.setdefault("OPENAI_API_KEY", "sk-test-0123456789")
        result = asyncio.run(replay.run())
        assert not result.failures
        assert sum(len(store.outputs(r.id)) for r in store.runs()) == 120
        # 16 calls answered together per wave: far fewer transactions than answers.
        assert replay.committer.batches < 120 / 2, replay.committer.batches
        assert srv.count() == 120
        store.close()


def test_both_sides_answers_of_one_tick_share_one_transaction_and_a_later_tick_its_own(tmp_path):
    from reviewer.replay import Committer
    from reviewer.store import Output

    store = Store(tmp_path / "c.db")
    try:
        sid = store.upsert_suite(load_suite(write_suite(tmp_path, 3)))
        runs = [store.create_run(suite_id=sid, provider="openai", model=m, base_url=None, params={}, samples=1,
                                 side=side, status="running") for m, side in (("a", "baseline"), ("b", "candidate"))]  # fmt: skip
        committer = Committer(store)

        async def ticks() -> None:
            first = [committer.add(r, Output(case_id=f"case-00{i}", sample=0, text=f"{r} {i}")) for r in runs for i in (0, 1)]
            assert len({id(f) for f in first}) == 1  # one batch
            await first[0]
            assert committer.batches == 1  # both sides, one transaction
            await committer.add(runs[1], Output(case_id="case-002", sample=0, text="later"))
            assert committer.batches == 2

        asyncio.run(ticks())
        assert [o.text for o in store.outputs(runs[0])] == [f"{runs[0]} 0", f"{runs[0]} 1"]
        assert [o.text for o in store.outputs(runs[1])] == [f"{runs[1]} 0", f"{runs[1]} 1", "later"]
    finally:
        store.close()


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
def test_a_killed_run_loses_only_calls_in_flight_and_the_same_command_makes_only_the_missing(tmp_path, env, how):
    suite, db = write_suite(tmp_path, CASES), tmp_path / "kill.db"
    total = 2 * CASES
    with FakeProvider(latency=0.02) as srv:
        proc = subprocess.Popen(run_cmd(suite, db, srv.base_url), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            wait_for(lambda: srv.count() >= 60 or proc.poll() is not None)
            proc.send_signal(signal.SIGKILL if how == "kill -9" else signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        sent = srv.count()
        assert sent < total, "the run finished before it was killed: make it slower"
        answered, statuses = stored_answers(db)
        if how == "kill -9":
            assert proc.returncode == -signal.SIGKILL
            assert statuses == {"running"}  # nothing got to say it stopped
        else:
            assert proc.returncode == 130, err
            assert "Interrupted:" in err and f"{answered} of {total} calls are stored" in err
            assert statuses == {"interrupted"}
        # Every call sent and not stored was in flight: at most one per worker.
        assert 0 < answered <= sent
        assert sent - answered <= 2 * CONCURRENCY, (sent, answered)

        again = subprocess.run(run_cmd(suite, db, srv.base_url), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert srv.count() - sent == total - answered  # exactly the missing calls, none twice
        assert stored_answers(db) == (total, {"complete"})

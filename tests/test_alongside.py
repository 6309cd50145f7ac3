"""The first assessment made alongside the replay (reviewer.analysis.alongside): a worker process
assesses each chunk of finished cases while the rest are called. Its rows must be the rows of the
usual assessment after the replay (the same cases, order and bytes), on a fresh run, a resumed
one and one whose worker dies; and Ctrl-C during such a run still exits 130 with no traceback and
no process left behind. Real loopback server, real SQLite, real worker processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fakeprovider import FakeProvider, default_answer, error, last_user_text
from test_cli_run import wait_for

from reviewer.analysis import assess_rows, cached_assessments, ranked
from reviewer.analysis.alongside import ALONGSIDE_MIN_CASES, Alongside, alongside_workers
from reviewer.errors import UsageError
from reviewer.providers import parse_spec
from reviewer.replay import Replay, ReplayConfig
from reviewer.store import Store
from reviewer.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
CASES = 23  # chunks of 4: five full ones during the replay, three cases left for the end


def write_suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite.jsonl"
    lines = [json.dumps({"suite": "alongside", "defaults": {"params": {"temperature": 0}}})]
    for i in range(CASES):
        case = {"id": f"case-{i:03d}", "prompt": f"Question {i}?"}
        if i % 5 == 0:
            case["checks"] = [{"max_words": 6}]
        lines.append(json.dumps(case))
    path.write_text("\n".join(lines) + "\n")
    return path


ANSWERS = {
    "Question 3?": ('{"intent": "refund"}', '```json\n{"intent": "refund"}\n```'),
    "Question 7?": ("Sure, here is how.", "I can't help with that."),
    "Question 10?": ("one two three", "one two three four five six seven eight nine ten"),
}


def answer(api: str, model: str, messages: list, params: dict) -> str:
    """Answers that change in varied ways between the two models (a and b)."""
    pair = ANSWERS.get(last_user_text(messages))
    return pair[model == "b"] if pair else default_answer(api, model, messages, params)


def server(**kw) -> FakeProvider:
    srv = FakeProvider(answer=answer, **kw)
    srv.script("Question 12?", error(400, "bad request"))  # one of its calls fails
    return srv


def replay(store: Store, suite: Path, url: str, alongside: Alongside | None) -> Replay:
    config = ReplayConfig(samples=2, concurrency=2)
    return Replay(
        store, load_suite(suite), parse_spec(f"openai:a@{url}"), parse_spec(f"openai:b@{url}"), config, listener=alongside
    )


def usual(store: Store, comparison_id: int) -> list:
    return assess_rows(store, store.comparison(comparison_id), workers=0)


def test_rows_made_alongside_the_replay_are_the_usual_rows(tmp_path):
    suite = write_suite(tmp_path)
    with server() as srv:
        store = Store(tmp_path / "s.db")
        along = Alongside(store, [f"case-{i:03d}" for i in range(CASES)], workers=2, samples=2, chunk=4)
        r = replay(store, suite, srv.base_url, along)  # not warmed: the first full chunk starts the worker
        try:
            result = asyncio.run(r.run())
            assert len(result.failures) == 1  # case-012's second call: an errored sample, assessed as one
            early = along.chunks_sent
            rows = along.finish()
        finally:
            along.close()
    assert early >= 1  # the worker had chunks before the replay ended
    assert rows == usual(store, result.comparison_id)
    assert {r[0] for r in rows if r[1] == 0} >= {"case-003", "case-007", "case-012"}  # flagged first
    cached = cached_assessments(store, store.comparison(result.comparison_id))
    assert cached is not None and [c.case_id for c in cached] == [r[0] for r in rows]  # fresh in the cache
    store.close()


def test_a_resumed_run_counts_what_it_does_not_call_again(tmp_path):
    suite = write_suite(tmp_path)
    with FakeProvider() as srv:
        srv.script("Question 5?", error(400, "bad"), error(400, "bad"))
        store = Store(tmp_path / "s.db")
        r = replay(store, suite, srv.base_url, None)
        first = asyncio.run(r.run())
        assert len(first.failures) == 2
        store.close()
        sent = srv.count()

        store = Store(tmp_path / "s.db")
        along = Alongside(store, [f"case-{i:03d}" for i in range(CASES)], workers=1, samples=2, chunk=4)
        r = replay(store, suite, srv.base_url, along)
        try:
            again = asyncio.run(r.run())
            assert again.resumed and not again.failures
            assert along.chunks_sent + along.chunks_waiting == 5  # the 22 cases answered before were ready at once
            rows = along.finish()
        finally:
            along.close()
        assert srv.count() == sent + 2  # only the two failed calls again
    assert rows == usual(store, again.comparison_id)
    store.close()


def test_answers_copied_from_the_cache_count_as_stored(tmp_path):
    """A second comparison with the same baseline: its baseline answers are copied from the first
    (the replay's cache, a chunk at a time), only the new candidate is called."""
    suite = write_suite(tmp_path)
    with server() as srv:
        store = Store(tmp_path / "s.db")
        asyncio.run(replay(store, suite, srv.base_url, None).run())
        sent = srv.count()
        along = Alongside(store, [f"case-{i:03d}" for i in range(CASES)], workers=1, samples=2, chunk=4)
        config = ReplayConfig(samples=2, concurrency=2)
        r = Replay(store, load_suite(suite), parse_spec(f"openai:a@{srv.base_url}"), parse_spec(f"openai:c@{srv.base_url}"),
                   config, listener=along)  # fmt: skip
        try:
            result = asyncio.run(r.run())
            assert result.stats["baseline"].cached == 2 * CASES - 1  # all but the call that failed
            assert srv.count() == sent + 2 * CASES + 1
            rows = along.finish()
        finally:
            along.close()
    assert rows == usual(store, result.comparison_id)
    store.close()


def test_a_worker_that_dies_costs_time_not_rows(tmp_path):
    suite = write_suite(tmp_path)
    with server() as srv:
        store = Store(tmp_path / "s.db")
        along = Alongside(store, [f"case-{i:03d}" for i in range(CASES)], workers=1, samples=2, chunk=4)
        r = replay(store, suite, srv.base_url, along)
        try:
            result = asyncio.run(r.run())
            assert along.chunks_sent >= 1
            for pid in along.worker_pids():
                os.kill(pid, signal.SIGKILL)
            rows = along.finish()
            assert along.failed
        finally:
            along.close()
    assert rows == usual(store, result.comparison_id)
    assert cached_assessments(store, store.comparison(result.comparison_id)) is not None
    assert [c.case_id for c in ranked(store, result.comparison_id)] == [r[0] for r in rows]
    store.close()


def test_the_environment_and_the_size_choose(monkeypatch):
    monkeypatch.delenv("REVIEWER_ASSESS_WORKERS", raising=False)
    assert alongside_workers(ALONGSIDE_MIN_CASES - 1) == 0
    assert alongside_workers(ALONGSIDE_MIN_CASES) == (
        min(len(os.sched_getaffinity(0)), 8) if len(os.sched_getaffinity(0)) > 1 else 0
    )
    monkeypatch.setenv("REVIEWER_ASSESS_WORKERS", "0")
    assert alongside_workers(10_000) == 0
    monkeypatch.setenv("REVIEWER_ASSESS_WORKERS", "1")
    assert alongside_workers(5) == 1
    monkeypatch.setenv("REVIEWER_ASSESS_WORKERS", "two")
    with pytest.raises(UsageError, match="REVIEWER_ASSESS_WORKERS"):
        alongside_workers(5)


# -- the command ------------------------------------------------------------------------------


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (the fork server and the workers it forked)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stored(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return int(con.execute("SELECT COUNT(*) FROM outputs").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "OPENAI_API_KEY": "sk-test", "NO_COLOR": "1", "REVIEWER_ASSESS_WORKERS": "2",
            "REVIEWER_DATA_DIR": str(tmp_path / "data"), "REVIEWER_CONFIG_DIR": str(tmp_path / "config")}  # fmt: skip


def test_the_command_caches_the_usual_rows_and_ctrl_c_leaves_no_worker(tmp_path, env):
    suite = write_suite(tmp_path)
    db = tmp_path / "r.db"
    with server(latency=0.05) as srv:
        args = [sys.executable, "-m", "reviewer", "run", str(suite), "--baseline", f"openai:a@{srv.base_url}",
                "--candidate", f"openai:b@{srv.base_url}", "--samples", "2", "--concurrency", "2", "--db", str(db),
                "--allow-errors"]  # fmt: skip
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # the resource tracker, the fork server and the worker it forked are all up
        wait_for(lambda: stored(db) >= 40 and len(descendants(proc.pid)) >= 3)
        below = descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err
        wait_for(lambda: not any(alive(p) for p in below))  # no worker outlives the command

        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    store = Store(db)
    comp = store.comparison(int(done.stdout.strip()))
    cached = cached_assessments(store, comp)
    assert cached is not None  # warmed by the command
    assert [c.case_id for c in cached] == [r[0] for r in usual(store, comp.id)]
    store.close()

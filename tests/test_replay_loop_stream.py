"""The replay streams its plan (reviewer.replay.Replay._stream): workers take calls as they are
made and cached answers are copied a chunk at a time, instead of a list of every call built up
front. What a user sees must not change: totals shown before the first call, calls made in suite
order, only answers stored before the run reused (a duplicate case later in the same suite is
called, not copied), every cached answer found across chunk boundaries. And a run whose calls all
succeed imports neither httpx nor stamina. Real loopback server, real SQLite, real processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakeprovider import FakeProvider, error

import reviewer.replay as replay_mod
from reviewer.providers import parse_spec
from reviewer.replay import Replay, ReplayConfig
from reviewer.store import Store
from reviewer.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent


def write_suite(tmp_path: Path, prompts: list[str]) -> Path:
    path = tmp_path / "suite.jsonl"
    lines = ['{"suite": "stream", "defaults": {"params": {"temperature": 0}}}']
    lines += [json.dumps({"id": f"case-{i:03d}", "prompt": p}) for i, p in enumerate(prompts)]
    path.write_text("\n".join(lines) + "\n")
    return path


def replay(tmp_path: Path, suite: Path, url: str, **config) -> tuple[Replay, Store]:
    store = Store(tmp_path / "s.db")
    r = Replay(store, load_suite(suite), parse_spec(f"openai:a@{url}"), parse_spec(f"openai:b@{url}"), ReplayConfig(**config))
    return r, store


def test_totals_come_first_and_calls_go_in_suite_order(tmp_path):
    prompts = [f"Question {i}?" for i in range(12)]
    with FakeProvider() as srv:
        seen = []
        r, store = replay(tmp_path, write_suite(tmp_path, prompts), srv.base_url, concurrency=1, samples=2)
        r.on_progress = lambda side, s: seen.append((side, s.total, s.done))
        result = asyncio.run(r.run())
        assert not result.failures
        assert seen[:2] == [("baseline", 24, 0), ("candidate", 24, 0)]  # before any call was made
        # One worker per side: each side's calls reach the server in suite order, samples in order.
        for model in ("a", "b"):
            asked = [(q.body["messages"][-1]["content"]) for q in srv.requests if q.body["model"] == model]
            assert asked == [p for p in prompts for _ in range(2)]
        for run in store.runs():
            assert [(o.case_id, o.sample) for o in store.outputs(run.id)] == [
                (f"case-{i:03d}", s) for i in range(12) for s in range(2)
            ]
        store.close()


def test_a_duplicate_case_is_called_not_copied_from_the_same_run_and_a_rerun_reuses_all(tmp_path, monkeypatch):
    monkeypatch.setattr(replay_mod, "PLAN_CHUNK", 3)  # cache lookups in chunks of 3: boundaries inside 7 cases
    prompts = ["Same question?", "Other 1?", "Other 2?", "Same question?", "Other 3?", "Same question?", "Other 4?"]
    suite = write_suite(tmp_path, prompts)
    with FakeProvider() as srv:
        r, store = replay(tmp_path, suite, srv.base_url, concurrency=2)
        first = asyncio.run(r.run())
        assert not first.failures
        assert srv.count("Same question?") == 2 * 3  # three cases × two sides, none copied from this run
        assert first.stats["baseline"].cached == first.stats["candidate"].cached == 0
        store.close()
        sent = srv.count()

        r, store = replay(tmp_path, suite, srv.base_url, concurrency=2, name="again")
        again = asyncio.run(r.run())
        assert srv.count() == sent  # every answer found in the cache, across the chunks
        for side in ("baseline", "candidate"):
            assert again.stats[side].cached == again.stats[side].done == again.stats[side].total == 7
        for run in store.runs()[-2:]:  # the second comparison's runs: seven copies each
            outs = store.outputs(run.id)
            assert len(outs) == 7 and all(o.cached_from is not None and o.error is None for o in outs)
        store.close()


def test_a_resumed_run_counts_what_it_skips_before_calling(tmp_path):
    prompts = [f"Resume {i}?" for i in range(9)]
    suite = write_suite(tmp_path, prompts)
    with FakeProvider() as srv:
        srv.script("Resume 4?", error(400, "bad request"), error(400, "bad request"))  # not retryable: an error stored
        r, store = replay(tmp_path, suite, srv.base_url, concurrency=3)
        first = asyncio.run(r.run())
        assert len(first.failures) == 2
        store.close()
        sent = srv.count()
        seen = []
        r, store = replay(tmp_path, suite, srv.base_url, concurrency=3)
        r.on_progress = lambda side, s: seen.append((side, s.total, s.done, s.resumed))
        again = asyncio.run(r.run())
        assert again.resumed and not again.failures
        assert seen[:2] == [("baseline", 9, 8, 8), ("candidate", 9, 8, 8)]
        assert srv.count() - sent == 2 and srv.count("Resume 4?") == 4
        store.close()


SCRIPT = """
import asyncio, json, sys
from reviewer.providers import parse_spec
from reviewer.replay import Replay, ReplayConfig
from reviewer.store import Store
from reviewer.suite import load_suite
url, suite, db = sys.argv[1:4]
before = {m: m in sys.modules for m in ("httpx", "stamina")}
r = Replay(Store(db), load_suite(suite), parse_spec(f"openai:a@{url}"), parse_spec(f"openai:b@{url}"), ReplayConfig(concurrency=4))
result = asyncio.run(r.run())
loaded = {m: m in sys.modules for m in ("httpx", "stamina")}
hooks = None
if loaded["stamina"]:
    from stamina.instrumentation import get_on_retry_hooks
    hooks = len(get_on_retry_hooks())
print(json.dumps({"before": before, "after": loaded, "retries": sum(s.retries for s in result.stats.values()),
                  "failures": len(result.failures), "hooks": hooks}))
"""


@pytest.mark.parametrize("retry", [False, True])
def test_a_run_imports_stamina_only_for_a_retry_and_never_httpx(tmp_path, retry):
    suite = write_suite(tmp_path, [f"Import {i}?" for i in range(6)])
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    env["REVIEWER_RETRY_WAIT_SCALE"] = "0"
    with FakeProvider() as srv:
        if retry:
            srv.script("Import 2?", error(429, retry_after=1))
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, srv.base_url, str(suite), str(tmp_path / "i.db")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["before"] == {"httpx": False, "stamina": False}
    assert got["failures"] == 0
    assert got["after"]["httpx"] is False
    assert got["after"]["stamina"] is retry
    assert got["retries"] == (1 if retry else 0)
    if retry:
        assert got["hooks"] > 0  # stamina's own hooks are back once the run ends
    assert done.stderr.strip() == ""  # no library log line about the retry


def most_in_flight(arrivals: list[float], latency: float) -> int:
    """The most requests that arrived within less than one server latency of each other: a call
    can only be sent once another has been answered, so this is how many were in flight at once."""
    times = sorted(arrivals)
    return max(sum(1 for u in times[i:] if u - t < 0.9 * latency) for i, t in enumerate(times))


@pytest.mark.parametrize("hosts", ["one endpoint", "two endpoints"])
def test_one_limit_per_endpoint(tmp_path, hosts):
    latency = 0.1
    suite = write_suite(tmp_path, [f"Limit {i}?" for i in range(9)])
    with FakeProvider(latency=latency) as srv:
        other = srv.base_url if hosts == "one endpoint" else srv.base_url.replace("127.0.0.1", "localhost")
        store = Store(tmp_path / "s.db")
        r = Replay(store, load_suite(suite), parse_spec(f"openai:a@{srv.base_url}"), parse_spec(f"openai:b@{other}"),
                   ReplayConfig(concurrency=3))  # fmt: skip
        result = asyncio.run(r.run())
        store.close()
        assert not result.failures and srv.count() == 18
        seen = most_in_flight([q.time for q in srv.requests], latency)
    # Both sides on one server share its 3 calls in flight; on two servers each has its own 3.
    assert seen == (3 if hosts == "one endpoint" else 6), seen

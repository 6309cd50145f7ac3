"""Two identical `reviewer run`s at once: the second waits for the first (naming its pid) and then
makes no call the first made. Real processes, a real loopback server that counts requests."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fakeprovider import FakeProvider

ROOT = Path(__file__).resolve().parent.parent
N = 12  # cases; one sample each, two sides


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    e.update(REVIEWER_DATA_DIR=str(tmp_path / "data"), REVIEWER_CONFIG_DIR=str(tmp_path / "config"),
             COLUMNS="200", PYTHONPATH=str(ROOT))  # fmt: skip
    return e


class GatedProvider(FakeProvider):
    """Holds every request (recorded, unanswered) until ``release`` is set: the first process keeps
    its lease while the test starts the second, whatever the machine's speed."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.release = threading.Event()

    async def _play(self, request, api, body, b):
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        return await super()._play(request, api, body, b)


def suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text("suite: lease\ncases:\n" + "".join(f"  - {{id: c{i:02d}, prompt: 'Question {i}'}}\n" for i in range(N)))
    return path


def argv(path: Path, srv: FakeProvider, db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "reviewer", "run", str(path), "--baseline", f"openai:a@{srv.base_url}",
            "--candidate", f"openai:b@{srv.base_url}", "--concurrency", "1", "--db", str(db), *extra]  # fmt: skip


def start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def lease_files(db: Path) -> list[Path]:
    return sorted(db.parent.glob(db.name + ".lease-*"))


def test_a_second_identical_run_waits_and_repeats_no_call(tmp_path, env):
    path, db = suite(tmp_path), tmp_path / "r.db"
    with GatedProvider() as srv:
        first = start(argv(path, srv, db), env)
        wait_for(lambda: srv.count() >= 1, first)  # the first holds the lease and is calling
        [lock] = lease_files(db)
        holder = json.loads(lock.read_text())
        assert holder["pid"] == first.pid and "reviewer run" in holder["command"]
        with open(tmp_path / "second.err", "w+") as err_file:
            second = subprocess.Popen(argv(path, srv, db), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err_file, text=True)
            wait_for(lambda: "Waiting for" in (tmp_path / "second.err").read_text(), second)
            assert srv.count() == 1  # the second made no call while it waited
            srv.release.set()
            _out1, err1 = first.communicate(timeout=60)
            _out2, _ = second.communicate(timeout=60)
        err2 = (tmp_path / "second.err").read_text()
        calls = srv.count()
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert f"Waiting for process {first.pid} (reviewer run " in err2
    assert "--wait-lease" in err2 and "The other process is done" in err2
    assert calls == 2 * N, f"{calls - 2 * N} calls were made twice"
    assert "calls made 0" in err2 and f"reused {2 * N}" in err2
    assert "Waiting" not in err1
    assert lease_files(db) == []  # the holder removes its file


def test_without_waiting_the_second_run_names_the_holder_and_exits_2(tmp_path, env):
    path, db = suite(tmp_path), tmp_path / "r.db"
    with GatedProvider() as srv:
        first = start(argv(path, srv, db), env)
        wait_for(lambda: srv.count() >= 1, first)
        busy = subprocess.run(argv(path, srv, db, "--wait-lease", "0"), cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert first.poll() is None and srv.count() == 1  # refused at once, no call made
        srv.release.set()
        first.communicate(timeout=60)
        calls = srv.count()
    assert busy.returncode == 2
    [line] = busy.stderr.strip().splitlines()
    assert line.startswith(f"reviewer run: process {first.pid} (reviewer run ") and "not waiting (--wait-lease 0)" in line
    assert first.returncode == 0 and calls == 2 * N


def test_a_holder_killed_with_kill_9_leaves_no_stale_lease(tmp_path, env):
    path, db = suite(tmp_path), tmp_path / "r.db"
    with GatedProvider() as srv:
        first = start(argv(path, srv, db), env)
        wait_for(lambda: srv.count() >= 1, first)
        first.kill()
        first.communicate(timeout=30)
        srv.release.set()
        [lock] = lease_files(db)  # the file stays, with the dead holder's pid; the kernel dropped the lock
        assert json.loads(lock.read_text())["pid"] == first.pid
        t0 = time.monotonic()
        again = subprocess.run(argv(path, srv, db, "--wait-lease", "0"), cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=60)  # fmt: skip
        elapsed = time.monotonic() - t0
    assert again.returncode == 0, again.stderr
    assert "Waiting" not in again.stderr and "Resumed comparison 1" in again.stderr
    assert elapsed < 30
    assert lease_files(db) == []


def test_credentials_never_reach_the_lease_file(tmp_path):
    from reviewer.lease import Lease, lease_path

    path = lease_path(tmp_path / "s.db", "ab" * 32)
    cmd = ["reviewer", "run", "s.yaml", "--baseline", "openai:m@http://user:hunter2@127.0.0.1:9/v1?api-key=sekrit&x=1",
           "--param", "api_key=sk-secret-value"]  # fmt: skip
    with Lease(path, wait=0, command=cmd):
        text = path.read_text()
    assert "hunter2" not in text and "sekrit" not in text and "sk-secret-value" not in text
    assert "http://127.0.0.1:9/v1?api-key=***&x=1" in json.loads(text)["command"]

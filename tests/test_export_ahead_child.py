"""The forked child of a big export (reviewer.export.changelog.ahead.Child) never makes the export
wait for ever and never leaves its file behind: a stuck child is killed after the wait, a late
first value is made by the caller, and a child whose parent was killed removes its file."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from test_export_speed_json import children, linux_only  # noqa: F401  (children: a fixture)

from reviewer.export.changelog.ahead import Child

ROOT = Path(__file__).resolve().parent.parent


def forever(*_):
    select.select([], [], [])  # blocks until killed


@linux_only
def test_a_stuck_child_is_killed_after_the_wait(tmp_path, monkeypatch, children):  # noqa: F811
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    child = Child.start(forever)
    assert child is not None and len(children()) == 1
    started = time.monotonic()
    assert child.done(timeout=0.2) is False
    assert time.monotonic() - started < 5
    assert not children() and not list(tmp_path.glob("reviewer-export-*"))


@linux_only
def test_a_late_first_value_is_left_to_the_caller(tmp_path, monkeypatch, children):  # noqa: F811
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    child = Child.start(lambda out: out.write("rows"), first=forever)
    assert child is not None
    assert child.first() is None  # not there yet: no wait
    assert child.done(timeout=0.2) is False
    assert not children() and not list(tmp_path.glob("reviewer-export-*"))
    ok = Child.start(lambda out: out.write("rows"), first=lambda: "value")
    assert ok is not None and ok.done() is True
    assert "".join(ok.pieces()) == "rows"
    ok.close()
    assert not list(tmp_path.glob("reviewer-export-*"))


@linux_only
def test_a_child_whose_parent_is_killed_removes_its_file(tmp_path):
    """A real parent process starts a child that writes on and on, says where, and is killed
    (SIGKILL: no handler, no cleanup of its own). The child notices at its next write."""
    code = (
        "import os, signal, sys\n"
        "from reviewer.export.changelog.ahead import Child\n"
        "def write(out):\n"
        "    while True:\n"
        "        out.write('x' * 100)\n"
        "c = Child.start(write)\n"
        "print(c.pid, c.path, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == -9, proc.stderr
    pid, path = proc.stdout.split()
    try:
        deadline = time.monotonic() + 30
        while (Path(path).exists() or _alive(int(pid))) and time.monotonic() < deadline:
            select.select([], [], [], 0.05)  # polling another process's end: no event to wait on
        assert not Path(path).exists()
        assert not _alive(int(pid))
    finally:  # a child that did not notice would write on for ever
        if _alive(int(pid)):
            os.kill(int(pid), 9)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform == "linux", reason="Linux forks")
def test_no_child_where_forks_are_not_made():
    from reviewer.export.changelog.ahead import may_fork

    assert may_fork() is False

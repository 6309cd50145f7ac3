"""tests/cli_inprocess.py runs ``reviewer.cli.main`` in the test's process in place of a
``python -m reviewer`` child in many tests: it must give what the child gives. The same commands
both ways (the help, argparse's and our usage errors, a diff full of hostile text, a
validation with problems on stderr, a replay and the gate reading it): the same exit code, stdout
and stderr."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_inprocess import run_main

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "Sure \x1b[2J\x1b]0;owned\x07 [bold]x[/bold] zero\u200bwidth \u202eevil\u202c tag\U000e0041 中文 😀\r\ttab\n"


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("- one\n- two\n" + HOSTILE, encoding="utf-8")
    new.write_text("1. one\n2. two\n" + HOSTILE.replace("evil", "EVIL"), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("suite: b\ncases:\n  - id: a\n    prompt: hi\n  - id: a\n    prompt: again\n  - id: d\n", encoding="utf-8")
    base, cand = tmp_path / "base.jsonl", tmp_path / "cand.jsonl"
    suite = tmp_path / "s.yaml"
    suite.write_text("suite: s\ncases:\n  - {id: a, prompt: hi, checks: [{contains: hi}]}\n", encoding="utf-8")
    base.write_text(json.dumps({"case_id": "a", "output": "hi there"}) + "\n", encoding="utf-8")
    cand.write_text(json.dumps({"case_id": "a", "output": "bye " + HOSTILE}) + "\n", encoding="utf-8")
    return {"old": old, "new": new, "bad": bad, "suite": suite, "base": base, "cand": cand, "db": tmp_path / "r.db"}


def untimed(p: subprocess.CompletedProcess) -> tuple[str, str]:
    """stdout and stderr with the times of day and the progress bars' elapsed times blanked (two
    replays a moment apart; under load one can take a second longer than the other)."""
    stamp = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?Z?|\b\d+:\d\d:\d\d\b")
    return stamp.sub("<time>", p.stdout), stamp.sub("<time>", p.stderr)


def both(argv: list[str], env: dict[str, str], env_here: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, ...]:
    child = subprocess.run(
        [sys.executable, "-m", "reviewer", *argv], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    here = run_main(argv, cwd=ROOT, env=env if env_here is None else env_here)
    return child, here


def test_main_in_this_process_gives_what_the_child_gives(files, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(REVIEWER_DB=str(files["db"]), COLUMNS="100")
    f = {k: str(v) for k, v in files.items()}
    commands = [
        [],  # the help, exit 2
        ["no-such-command"],  # argparse's error, exit 2
        ["run", f["suite"], "--baseline", "gpt-4o", "--candidate", "openai:x"],  # our usage error
        ["diff", f["old"], f["new"]],  # exit 1, hostile text made visible
        ["suites", "validate", f["bad"]],  # problems on stderr, exit 1
    ]
    for argv in commands:
        child, here = both(argv, env)
        assert (here.returncode, here.stdout, here.stderr) == (child.returncode, child.stdout, child.stderr), argv
    # a replay and what reads it, each way on a store of its own
    env_here = {**env, "REVIEWER_DB": str(tmp_path / "here.db")}
    replay = ["run", f["suite"], "--baseline", f"recorded:{f['base']}", "--candidate", f"recorded:{f['cand']}", "--name", "n"]
    for argv in (replay, ["gate", "--json"]):
        child, here = both(argv, env, env_here)
        assert (here.returncode, *untimed(here)) == (child.returncode, *untimed(child)), argv
    assert here.returncode == 1  # the gate: the changed case's check fails


def test_the_environment_the_directory_and_argv_are_the_callers_again_afterwards(files):
    before = dict(os.environ), os.getcwd(), list(sys.argv), sys.stdout, sys.stderr
    res = run_main(["suites", "validate", str(files["bad"])], cwd=files["bad"].parent, env={"REVIEWER_X": "1", "PATH": ""})
    assert res.returncode == 1 and "duplicate id" in res.stderr
    assert (dict(os.environ), os.getcwd(), list(sys.argv), sys.stdout, sys.stderr) == before

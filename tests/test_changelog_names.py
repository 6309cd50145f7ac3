"""The changelog names a run by its label or its file name, never by a local path: a replay of
recorded files at absolute paths, exported as a user would (the Markdown by a real process, the
replay and the JSON by main() in the test's process), shows
`recorded:baseline.jsonl`; the JSON keeps the whole spec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_inprocess import run_main
from test_export import ADA, ROOT

from reviewer.export.changelog import short_model

SUITE = """\
suite: names
cases:
  - {id: a, prompt: "Say hi", checks: [{contains: hi}]}
  - {id: b, prompt: "Say bye"}
"""


def reviewer(tmp: Path, *argv: str, process: bool = True) -> subprocess.CompletedProcess[str]:
    """``reviewer ARGS`` in a real process, or with ``process=False`` as main() in this one
    (tests/cli_inprocess.py: the same exit code and output)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GIT_CONFIG_GLOBAL": str(tmp / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1"}
    for var in ("REVIEWER_DB", "REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        env[var] = str(tmp / var.lower())
    if not process:
        return run_main(argv, env=env, cwd=tmp)
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *argv], capture_output=True, text=True, env=env, cwd=tmp, timeout=120
    )


@pytest.fixture
def exported(tmp_path):
    runs = tmp_path / "deep" / "private" / "dir"
    runs.mkdir(parents=True)
    (tmp_path / "names.yaml").write_text(SUITE)
    (runs / "baseline.jsonl").write_text('{"case_id": "a", "output": "hi there"}\n{"case_id": "b", "output": "bye"}\n')
    (runs / "candidate.jsonl").write_text('{"case_id": "a", "output": "hello"}\n{"case_id": "b", "output": "bye"}\n')
    db = str(tmp_path / "r.db")
    proc = reviewer(tmp_path, "run", "names.yaml", "--baseline", f"recorded:{runs / 'baseline.jsonl'}",
                    "--candidate", f"recorded:{runs / 'candidate.jsonl'}", "--candidate-label", "prod, May snapshot",
                    "--db", db, process=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for out in ("C.md", "C.json"):
        proc = reviewer(tmp_path, "export", "--db", db, "-o", out, "--as", ADA, "--allow-unreviewed", process=out == "C.md")
        assert proc.returncode == 0, proc.stderr
    return tmp_path, runs


def test_markdown_shows_label_or_file_name_never_the_path(exported):
    tmp, runs = exported
    md = (tmp / "C.md").read_text(encoding="utf-8")
    assert str(runs) not in md and "private" not in md
    header = md.splitlines()[2]
    assert header.startswith("`recorded:baseline.jsonl` → prod, May snapshot (`recorded:candidate.jsonl`) · comparison #1")
    assert "| Requested model | `recorded:baseline.jsonl` | `recorded:candidate.jsonl` |" in md
    assert "| Run label | — | prod, May snapshot |" in md


def test_json_keeps_the_whole_spec(exported):
    tmp, runs = exported
    doc = json.loads((tmp / "C.json").read_text(encoding="utf-8"))
    assert doc["baseline"]["spec"] == f"recorded:{runs / 'baseline.jsonl'}"
    assert doc["candidate"]["model"] == str(runs / "candidate.jsonl")
    assert doc["candidate"]["label"] == "prod, May snapshot"


@pytest.mark.parametrize(
    "provider, model, shown",
    [
        ("recorded", "/home/ada/work/baseline.jsonl", "baseline.jsonl"),
        ("recorded", "suites/demo/candidate.jsonl", "candidate.jsonl"),
        ("recorded", "C:\\Users\\ada\\b.jsonl", "b.jsonl"),
        ("openai", "/models/llama-3.1-8b.gguf", "llama-3.1-8b.gguf"),
        ("openai", "~/models/m.gguf", "m.gguf"),
        ("promptfoo", "file:///home/ada/provider.py", "file://provider.py"),
        ("promptfoo", "python:/home/ada/provider.py", "python:provider.py"),
        ("openai", "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct"),  # a model id, not a path
        ("openai", "gpt-4o", "gpt-4o"),
        ("promptfoo", "openai:gpt-4o", "openai:gpt-4o"),
    ],
)
def test_short_model(provider, model, shown):
    assert short_model(provider, model) == shown

"""`reviewer signoff` and `reviewer export` print names (comparison, suite, signer, note, file)
with terminal escapes made visible: an OSC 0 (title) or OSC 52 (clipboard) sequence in any of
them shows as ␛…␇ and never reaches the terminal raw. Subprocesses, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_export import ADA, ROOT, make_comparison

TITLE = "\x1b]0;owned\x07"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4K\x07"


def reviewer(tmp: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GIT_CONFIG_GLOBAL": str(tmp / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1"}
    for var in ("REVIEWER_DB", "REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        env[var] = str(tmp / var.lower())
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *argv], capture_output=True, text=True, env=env, cwd=tmp, timeout=120
    )


def test_signoff_prints_names_and_note_visibly(tmp_path):
    store, _ = make_comparison(tmp_path, name=f"march{TITLE}")
    store.close()
    proc = reviewer(tmp_path, "signoff", "--db", str(tmp_path / "reviewer.db"), "--as", f"Eve{TITLE} <eve@example.com>",
                    "--note", f"ok{CLIPBOARD}\nsecond line")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b" not in out + proc.stderr and "\x07" not in out + proc.stderr
    assert out.startswith(
        "Signed off comparison #1 (march␛]0;owned␇) (support-bot: openai:gpt-4o → openai:gpt-4o) as Eve␛]0;owned␇ <eve@example.com> at "
    )
    assert ": 3 regressions, 2 negative flips, 0 unreviewed. Reviewed state " in out
    assert out.rstrip("\n").endswith("Note: ok␛]52;c;cm0gLXJmIH4K␇␊second line")
    assert len(out.splitlines()) == 1


def test_export_prints_file_names_visibly_and_counts_in_words(tmp_path):
    store, _ = make_comparison(tmp_path)
    store.close()
    name = f"C{TITLE}.md"
    proc = reviewer(tmp_path, "export", "--db", str(tmp_path / "reviewer.db"), "-o", name, "--as", ADA)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / name).is_file()
    assert "\x1b" not in proc.stderr and proc.stderr.startswith("reviewer export: wrote C␛]0;owned␇.md (body: lines 1–")
    assert proc.stderr.rstrip("\n").endswith(". 7 cases: 3 regressions, 2 negative flips, 0 unreviewed")

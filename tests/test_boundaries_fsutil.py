"""The one atomic writer: the old file survives a refusal, modes are kept, nothing is left behind,
and every writer of the package goes through it."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from reviewer.fsutil import atomic_write_bytes, atomic_write_chunks, atomic_write_text

ROOT = Path(__file__).resolve().parent.parent


def test_replaces_the_content_and_leaves_no_temporary_behind(tmp_path):
    p = tmp_path / "out.jsonl"
    p.write_text("old\n")
    atomic_write_text(p, "new\r\nline\n")
    assert p.read_bytes() == b"new\r\nline\n"  # line endings as given
    assert sorted(os.listdir(tmp_path)) == ["out.jsonl"]
    atomic_write_bytes(p, b"\x00\xff")
    assert p.read_bytes() == b"\x00\xff"


def test_newline_translates_when_asked(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "a\nb\n", newline="\r\n")
    assert p.read_bytes() == b"a\r\nb\r\n"


def test_a_refusing_validator_keeps_the_old_file(tmp_path):
    p = tmp_path / "suite.yaml"
    p.write_text("old")
    seen = []

    def refuse(tmp: Path) -> None:
        seen.append((tmp.name, tmp.read_text(), tmp.parent != tmp_path))
        raise ValueError("no")

    with pytest.raises(ValueError):
        atomic_write_text(p, "new", validate=refuse)
    assert seen == [("suite.yaml", "new", True)]  # same name, complete, beside the target
    assert p.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["suite.yaml"]
    assert atomic_write_text(p, "newer", validate=lambda tmp: tmp.read_text().upper()) == "NEWER"
    assert p.read_text() == "newer"


def test_chunks_are_written_as_they_come_and_a_failing_source_keeps_the_old_file(tmp_path):
    p = tmp_path / "changelog.json"
    p.write_text("old")
    made = []

    def pieces(fail: bool):
        for i in range(3):
            made.append(i)
            yield f"{i}\n".encode()
        if fail:
            raise RuntimeError("the renderer broke")

    with pytest.raises(RuntimeError):
        atomic_write_chunks(p, pieces(True))
    assert p.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["changelog.json"]
    assert atomic_write_chunks(p, pieces(False), validate=lambda tmp: tmp.read_bytes()) == b"0\n1\n2\n"
    assert p.read_bytes() == b"0\n1\n2\n" and made == [0, 1, 2, 0, 1, 2]
    assert sorted(os.listdir(tmp_path)) == ["changelog.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_an_existing_files_mode_is_kept_and_a_new_file_is_ordinary(tmp_path):
    kept = tmp_path / "private.md"
    kept.write_text("x")
    kept.chmod(0o600)
    atomic_write_text(kept, "y")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh.md"
    old = os.umask(0o022)
    try:
        atomic_write_bytes(fresh, b"z")
    finally:
        os.umask(old)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # not mkstemp's 0600


def test_a_missing_directory_is_an_oserror_and_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "nope" / "f.txt", "x")
    assert not (tmp_path / "nope").exists()


def test_a_relative_path_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    atomic_write_text("here.txt", "ok")
    assert (tmp_path / "here.txt").read_text() == "ok"


def test_no_module_replaces_files_on_its_own():
    """os.replace/mkstemp live in reviewer/fsutil.py alone among the modules this part owns."""
    owned = ["suite_edit.py", "commands/runs.py", "export/signing.py", "export/labels_io.py", "commands/import_.py",
             "commands/add_case.py", "importers"]  # fmt: skip
    bad = []
    for rel in owned:
        base = ROOT / "reviewer" / rel
        for f in [base] if base.is_file() else sorted(base.rglob("*.py")):
            for n, line in enumerate(f.read_text().splitlines(), 1):
                if re.search(r"os\.replace\(|mkstemp\(|\.rename\(|os\.fsync\(", line):
                    bad.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()}")
    assert bad == []


def test_runs_export_writes_through_it(tmp_path):
    """A real `reviewer runs export -o` over an existing 0600 file: the mode stays, no temporary is left."""
    from test_export import make_comparison

    store, cid = make_comparison(tmp_path, labels=False)
    run_id = store.comparison(cid).baseline_run_id
    store.close()
    out = tmp_path / "exports" / "run.jsonl"
    out.parent.mkdir()
    out.write_text("old")
    out.chmod(0o600)
    res = subprocess.run([sys.executable, "-m", "reviewer", "runs", "export", str(run_id), "-o", str(out),
                          "--db", str(tmp_path / "reviewer.db")], capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 14 and lines[0].startswith('{"case_id": ')
    assert os.listdir(out.parent) == ["run.jsonl"]
    if os.name == "posix":
        assert stat.S_IMODE(out.stat().st_mode) == 0o600

"""`reviewer diff OLD NEW`: both views, signals, --json, errors, untrusted text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewer.cli import main
from reviewer.commands.diff import _fold, merge_word_diff, visible
from reviewer.diff.align import align

ROOT = Path(__file__).resolve().parent.parent

OLD = """# Refund policy

Refunds are issued within 30 days of the return arriving at our warehouse.
- Keep your receipt.
- Items must be unused.

Contact support for help.
This line moves.
"""
NEW = """# Refund policy

This line moves.
Refunds are issued within 14 days of the return arriving at our warehouse.
1. Keep your receipt.
2. Items must be unused.

Contact support for help.
"""


@pytest.fixture
def files(tmp_path):
    def make(old: str | bytes, new: str | bytes) -> tuple[str, str]:
        a, b = tmp_path / "old.txt", tmp_path / "new.txt"
        for p, content in ((a, old), (b, new)):
            p.write_bytes(content if isinstance(content, bytes) else content.encode())
        return str(a), str(b)

    return make


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["diff", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_side_by_side_when_wide(files, capsys):
    a, b = files(OLD, NEW)
    rc, out, _ = cli(capsys, a, b, "--width", "120")
    assert rc == 1
    lines = out.splitlines()
    changed = next(line for line in lines if "30 days" in line)
    # both versions of the changed line on one screen line, divided, with their line numbers
    assert "│" in changed and "14 days" in changed
    left, right = changed.split("│")
    assert left.split()[:2] == ["3", "-"] and right.split()[:2] == ["4", "+"]
    assert any("moved to line 3" in line for line in lines)
    assert any("moved from line 8" in line for line in lines)
    assert all(len(line) <= 120 for line in lines if "│" in line)
    assert "format     bullets → numbered" in out
    assert "change     0." in out


def test_long_lines_wrap_inside_their_column(files, capsys):
    long_old = "word " * 60 + "end"
    long_new = "word " * 60 + "finish"
    a, b = files(long_old, long_new)
    _rc, out, _ = cli(capsys, a, b, "--width", "100")
    body = [line for line in out.splitlines() if "│" in line]
    assert len(body) > 3 and all(len(line) <= 100 for line in body)
    assert len({line.index("│") for line in body}) == 1  # the divider stays in one column


def test_word_diff_when_narrow(files, capsys):
    a, b = files(OLD, NEW)
    rc, out, _ = cli(capsys, a, b, "--width", "80")
    assert rc == 1
    changed = next(line for line in out.splitlines() if "Refunds" in line)
    assert "[-30" in changed and "{+14" in changed and changed.index("[-30") < changed.index("{+14")
    assert any("[---]{+1.+}" in line.replace(" ", "") for line in out.splitlines())  # "-" → "1."
    assert "(moved to line 3)" in out and "(moved from line 8)" in out


def test_unchanged_runs_fold_with_context(files, capsys):
    body = [f"line {i}" for i in range(1, 41)]
    changed = list(body)
    changed[19] = "line twenty"
    a, b = files("\n".join(body) + "\n", "\n".join(changed) + "\n")
    _rc, out, _ = cli(capsys, a, b, "--width", "80")
    assert "⋯ 16 unchanged lines" in out and "⋯ 17 unchanged lines" in out
    assert "line 17" in out and "line 23" in out and "line 16" not in out
    _rc, out, _ = cli(capsys, a, b, "--width", "80", "--context", "-1")
    lines = out.splitlines()
    assert "⋯" not in out
    assert any(line.endswith("│ line 1") for line in lines) and any(line.endswith("│ line 40") for line in lines)


def test_identical_files(files, capsys):
    a, b = files(OLD, OLD)
    rc, out, _ = cli(capsys, a, b)
    assert rc == 0 and out.startswith("identical: 8 lines")
    assert "change     0.000" in out


@pytest.mark.parametrize(
    "flag, new", [("--ignore-whitespace", OLD.replace("30 days", "30   days  ")), ("--ignore-case", OLD.upper())]
)
def test_ignore_options_make_equal_lines(files, capsys, flag, new):
    a, b = files(OLD, new)
    assert cli(capsys, a, b)[0] == 1
    rc, out, _ = cli(capsys, a, b, flag)
    assert rc == 0 and "the same once whitespace or case is ignored" in out


def test_json_output(files, capsys):
    a, b = files(OLD, NEW)
    rc, out, _ = cli(capsys, a, b, "--json")
    assert rc == 1
    doc = json.loads(out)
    assert doc["same"] is False and 0 < doc["change"] < 1
    assert doc["pair"]["format_drift"] == ["bullets → numbered"]
    assert doc["old"]["markdown"]["bullets"] == 2 and doc["new"]["markdown"]["numbered"] == 2
    assert doc["json"] is None
    kinds = [r["kind"] for r in doc["rows"]]
    assert kinds.count("moved") == 2 and "changed" in kinds
    for side, text in (("left", OLD), ("right", NEW)):
        rebuilt = "".join(r[side] + r[f"{side}_eol"] for r in doc["rows"] if r[side] is not None)
        assert rebuilt == text
        for r in doc["rows"]:
            for start, end in r[f"{side}_spans"]:
                assert 0 <= start < end <= len(r[side])
    changed = next(r for r in doc["rows"] if r["kind"] == "changed" and "30" in r["left"])
    ((s, e),) = changed["left_spans"]
    assert changed["left"][s:e].strip() == "30"


def test_json_documents(files, capsys):
    old = '{"items": [{"id": 1, "price": 3.5, "name": "Tea"}], "count": 1}'
    new = '{\n  "count": 1,\n  "items": [{"id": 1, "price": "3.50", "title": "Tea"}]\n}\n'
    a, b = files(old, new)
    rc, out, _ = cli(capsys, a, b, "--width", "120")
    assert rc == 1
    assert "canonical form" in out
    assert 'type_changed  $.items[0].price: 3.5 → "3.50"' in out
    assert "renamed       $.items[0].name → $.items[0].title" in out
    doc = json.loads(cli(capsys, a, b, "--json")[1])
    assert {c["kind"] for c in doc["json"]["changes"]} == {"type_changed", "renamed"}
    assert doc["old"]["json_shape"] == doc["new"]["json_shape"] == "bare"


def test_json_reformatted_only(files, capsys):
    a, b = files('{"b": 1, "a": [1, 2]}', '{\n  "a": [1, 2],\n  "b": 1\n}')
    rc, out, _ = cli(capsys, a, b, "--width", "120")
    assert rc == 1 and "the same JSON: only formatting or key order differ" in out
    assert "JSON: no structural changes" in out


def test_signals_in_the_summary(files, capsys):
    a, b = files('{"answer": 42}', "I'm sorry, but I can't help with that.")
    _rc, out, _ = cli(capsys, a, b, "--width", "80")
    assert "refusal    gained: phrase: \"I'm sorry, but I can't\"" in out
    assert "format     JSON dropped (was bare)" in out
    assert "old        " in out and "JSON bare" in out


def test_stdin_for_one_side(files, capsys, monkeypatch):
    import io

    a, _ = files(OLD, NEW)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(NEW.encode())))
    rc, out, _ = cli(capsys, a, "-", "--width", "80")
    assert rc == 1 and "new        stdin:" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["{missing}", "{b}"], "reviewer diff: {missing}: no such file"),
        (["{a}", "{dir}"], "reviewer diff: {dir}: is a directory"),
        (["-", "-"], "reviewer diff: only one of OLD_FILE and NEW_FILE can be '-' (stdin)"),
        (["{a}", "{b}", "--width", "5"], "reviewer diff: --width 5: must be at least 20"),
        (["{a}", "{latin1}"], "reviewer diff: {latin1}:2: not UTF-8 text (byte 0xe9 at offset 6)"),
    ],
)
def test_errors_are_one_line_and_exit_2(files, capsys, tmp_path, argv, message):
    a, b = files(OLD, NEW)
    names = {"a": a, "b": b, "missing": str(tmp_path / "nope.txt"), "dir": str(tmp_path), "latin1": str(tmp_path / "l1.txt")}
    (tmp_path / "l1.txt").write_bytes("ok\ncaf\xe9\n".encode("latin-1"))
    rc, out, err = cli(capsys, *[x.format(**names) for x in argv])
    assert rc == 2 and out == "" and err == message.format(**names) + "\n"


def test_untrusted_text_cannot_reach_the_terminal_as_escapes_or_markup(files):
    evil = "Evil \x1b[2J\x1b]0;title\x07 \u202eabc [bold red]markup[/] :smile:\n"
    a, b = files("Plain line\n", evil)
    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "120"}
    for width in ("120", "80"):
        proc = subprocess.run(
            [sys.executable, "-m", "reviewer", "diff", a, b, "--width", width],
            capture_output=True, text=True, cwd=ROOT, env=env,
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        out = proc.stdout
        assert "\x1b[2J" not in out and "\x1b]0;" not in out and "\x07" not in out and "\u202e" not in out
        assert "␛[2J" in out and "[bold red]markup[/]" in out and ":smile:" in out
        assert "\x1b[" in out  # real colours are on (FORCE_COLOR): only ours


def test_subprocess_entry_point(files):
    a, b = files(OLD, NEW)
    proc = subprocess.run([sys.executable, "-m", "reviewer", "diff", a, b, "--json"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["pair"]["format_drift"] == ["bullets → numbered"]
    missing = subprocess.run(
        [sys.executable, "-m", "reviewer", "diff", "/nonexistent/x", b], capture_output=True, text=True, cwd=ROOT
    )
    assert (missing.returncode, missing.stderr) == (2, "reviewer diff: /nonexistent/x: no such file\n")


# ---------------------------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------------------------


def test_visible_removes_every_control_and_names_it():
    s = "".join(chr(c) for c in range(0x00, 0xA0)) + "\u202a\u202e\u2066\u2069\u200e\u061c\u200b\U000e0041 ok é 你"
    v = visible(s)
    assert "\t" in v  # tabs are kept for rich to expand
    assert all(c == "\t" or c.isprintable() for c in v)
    assert "⟨U+202E⟩" in v and "⟨U+E0041⟩" in v and "␛" in v and "␊" in v
    assert v.endswith(" ok é 你") and visible("plain") == "plain"


def test_highlight_spans_land_on_the_same_characters_after_stand_ins():
    from reviewer.commands.diff import _line_text
    from reviewer.diff.align import Span

    line = "a\u202eb changed"
    t = _line_text(line, (Span(line.index("changed"), len(line), "insert"),), "", "bold")
    assert t.plain == "a⟨U+202E⟩b changed"
    [styled] = [s for s in t.spans if s.style == "bold"]
    assert t.plain[styled.start : styled.end] == "changed"


_lines = st.lists(st.text(alphabet="ab c,.\t", max_size=12), max_size=8)


@given(_lines, _lines, st.booleans(), st.booleans())
def test_merge_word_diff_rebuilds_both_lines_from_real_rows(old, new, ws, case):
    for row in align("\n".join(old), "\n".join(new), ignore_whitespace=ws, ignore_case=case):
        if row.kind != "changed":
            continue
        parts = merge_word_diff(row.left, row.right, row.left_spans, row.right_spans)
        assert "".join(p for op, p in parts if op != "+") == row.left
        assert "".join(p for op, p in parts if op != "-") == row.right


def test_merge_word_diff_interleaves_changes():
    (row,) = [r for r in align("the cat sat on the mat today\n", "the dog sat on the mat today\n") if r.kind == "changed"]
    parts = merge_word_diff(row.left, row.right, row.left_spans, row.right_spans)
    assert [op for op, _ in parts][:3] == ["=", "-", "+"]


def test_fold_keeps_context_and_counts():
    rows = align("\n".join(map(str, range(20))), "\n".join(map(str, range(10))) + "\nX\n" + "\n".join(map(str, range(11, 20))))
    folded = _fold(rows, 2)
    markers = [r for r in folded if isinstance(r, tuple)]
    assert markers == [("fold", 8), ("fold", 7)]
    assert len(_fold(rows, -1)) == len(rows)
    assert _fold([], 3) == []

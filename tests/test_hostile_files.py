"""Hostile and damaged input files, as a user meets them: every reader refuses an alias bomb, deep
nesting, an oversized file and bad UTF-8 with one line naming file:line, and accepts a BOM; a
check regex with catastrophic backtracking cannot hang `run` or `export`.

The subprocess timeouts are not timing assertions: without the bounds these commands run for
minutes (the bomb: 10^9 nodes, 4 GB; the regex: hours), so the timeout is what fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_inprocess import run_main

from reviewer.safeyaml import FileProblem, load_yaml, read_text
from reviewer.suite import SuiteError, load_suite

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, env: dict | None = None, process: bool = False) -> subprocess.CompletedProcess:
    """``reviewer ARGS``: in a real process with ``process=True``, where a lost bound would run for
    minutes and the timeout must stop it (the alias bombs, the catastrophic regex); else main() in
    this one (tests/cli_inprocess.py: the same exit code and output)."""
    if not process:
        return run_main(args, cwd=ROOT, env=env)
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    e.update(REVIEWER_DATA_DIR=str(tmp_path / "data"), REVIEWER_CONFIG_DIR=str(tmp_path / "config"), COLUMNS="120")
    e.pop("REVIEWER_MAX_FILE_MB", None)
    return e


def one_line(res: subprocess.CompletedProcess) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def bomb(head: str = "suite: bomb\n", tail: str = "cases:\n  - id: x\n    prompt: *a8\n") -> str:
    """Nine levels of nine aliases: 9^9 ≈ 387 million strings once expanded, from 1 kB."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return head + "\n".join(lines) + "\n" + tail


# ---------------------------------------------------------------------------------------------
# YAML: aliases, recursion, depth
# ---------------------------------------------------------------------------------------------


def test_an_alias_bomb_suite_is_refused_at_once(tmp_path, env):
    f = tmp_path / "bomb.yaml"
    f.write_text(bomb())
    res = cli("suites", "validate", str(f), env=env, process=True)
    assert res.returncode == 1
    assert one_line(res) == (
        f"{f}:7: aliases expand to more than 100,000 nodes (an alias bomb?); write the repeated values out instead of *aliases"
    )


def test_an_alias_bomb_promptfoo_config_is_refused_at_once(tmp_path, env):
    cfg = tmp_path / "promptfooconfig.yaml"
    cfg.write_text(bomb(head="prompts: [hi]\n", tail="tests:\n  - vars: {x: *a8}\n"))
    res = cli("import", "promptfoo", str(cfg), "-o", str(tmp_path / "s.yaml"), env=env, process=True)
    assert res.returncode == 2
    assert one_line(res).startswith(f"reviewer import: {cfg}:7: aliases expand to more than 100,000 nodes")
    assert not (tmp_path / "s.yaml").exists()


@pytest.mark.parametrize("typ", ["safe", "rt"])
def test_the_one_loader_refuses_bombs_and_recursion_for_every_kind_of_yaml(typ):
    """`run --config` and the keymap load through the same function (typ safe)."""
    with pytest.raises(FileProblem, match=r"^cfg.yaml:6: aliases expand to more than"):
        load_yaml(bomb(head="", tail=""), "cfg.yaml", typ=typ)
    with pytest.raises(FileProblem, match=r"^cfg.yaml:2: alias \*a refers to a node that contains it"):
        load_yaml("x: 1\ny: &a [1, *a]\n", "cfg.yaml", typ=typ)


def test_anchors_used_as_intended_still_load(tmp_path):
    """The budget grows with the file: a large suite that reuses one anchored check list on
    every case loads, and each case has the checks."""
    cases = "".join(f"  - id: c{i}\n    prompt: q{i}\n    checks: *common\n" for i in range(3000))
    f = tmp_path / "big.yaml"
    f.write_text(
        "suite: big\ncases:\n  - id: c-first\n    prompt: q\n    checks: &common\n      - max_words: 50\n      - not_refusal: true\n      - regex: '\\d'\n"
        + cases
    )
    loaded = load_suite(f)
    assert len(loaded.suite.cases) == 3001 and all(len(c.checks) == 3 for c in loaded.suite.cases)


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("flow.yaml", "suite: s\ncases: " + "[" * 5000 + "]" * 5000 + "\n", ":2: nested deeper than 100 levels"),
        ("block.yaml", "suite: s\ncases:\n" + "".join("  " * i + "- \n" for i in range(150)), ": nested deeper than 100 levels"),
        ("deep.jsonl", '{"suite": "s"}\n{"id": "a", "prompt": "p"}\n{"id": "b", "prompt": "p", "params": ' + "[" * 200 + "]" * 200 + "}\n",
         ":3: nested deeper than 100 levels"),
        ("deeper.jsonl", '{"id": "a", "prompt": "p", "params": ' + "[" * 100000 + "]" * 100000 + "}\n", ":1: nested deeper than 100 levels"),
    ],
    ids=["yaml-flow", "yaml-block", "jsonl-200", "jsonl-100000"],
)  # fmt: skip
def test_deep_nesting_is_refused_with_file_and_line(tmp_path, env, name, text, where):
    f = tmp_path / name
    f.write_text(text)
    res = cli("suites", "validate", str(f), env=env)
    assert res.returncode == 1
    line = one_line(res)
    assert line.startswith(str(f)) and line.endswith(where), line


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, env):
    f = tmp_path / "big.yaml"
    f.write_text("suite: s\ncases:\n" + "".join(f"  - id: c{i}\n    prompt: q\n" for i in range(2000)))
    assert cli("suites", "validate", str(f), env=env).returncode == 0
    res = cli("suites", "validate", str(f), env={**env, "REVIEWER_MAX_FILE_MB": "0.01"})
    assert res.returncode == 1
    size = f.stat().st_size
    assert one_line(res) == f"{f}:0: file is {size} bytes, more than the 10485 bytes limit (REVIEWER_MAX_FILE_MB raises it)"


def test_a_fifo_is_read_up_to_the_limit_and_no_further(tmp_path, monkeypatch):
    """A file whose size stat cannot tell (a pipe) still cannot make a reader take more than the limit."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(fifo)!r}, 'w')\ntry:\n    f.write('x' * 50000)\nexcept BrokenPipeError:\n    pass"]
    )
    monkeypatch.setenv("REVIEWER_MAX_FILE_MB", "0.01")
    try:
        with pytest.raises(FileProblem, match="more than the 10485 bytes limit"):
            read_text(fifo)
    finally:
        writer.wait(timeout=30)


# ---------------------------------------------------------------------------------------------
# UTF-8 and BOM
# ---------------------------------------------------------------------------------------------

BAD = b"\xff"


def test_bad_utf8_names_its_line_in_yaml_and_jsonl_suites(tmp_path, env):
    y = tmp_path / "s.yaml"
    y.write_bytes(b'suite: s\ncases:\n  - id: a\n    prompt: "caf' + BAD + b'"\n')
    j = tmp_path / "s.jsonl"
    j.write_bytes(b'{"suite": "s"}\n{"id": "a", "prompt": "p"}\n\n{"id": "b", "prompt": "q' + BAD + b'"}\n')
    for f, col in ((y, 17), (j, 25)):
        res = cli("suites", "validate", str(f), env=env)
        assert res.returncode == 1
        assert one_line(res) == f"{f}:4: not UTF-8 text (byte 0xff at column {col})"


def test_bad_utf8_names_its_line_in_a_promptfoo_config_and_its_tests_file(tmp_path, env):
    cfg = tmp_path / "promptfooconfig.yaml"
    cfg.write_bytes(b"prompts:\n  - 'Hi {{name}}'\ntests:\n  - vars: {name: \"Ad" + BAD + b'"}\n')
    res = cli("import", "promptfoo", str(cfg), "-o", str(tmp_path / "s.yaml"), env=env)
    assert res.returncode == 2
    assert one_line(res) == f"reviewer import: {cfg}:4: not UTF-8 text (byte 0xff at column 21)"
    tests = tmp_path / "tests.jsonl"
    tests.write_bytes(
        b'{"vars": {"name": "a"}}\n{"vars": {"name": "b"}}\n{"vars": {"name": "c"}}\n{"vars": {"name": "' + BAD + b'"}}\n'
    )
    cfg.write_text("prompts: ['Hi {{name}}']\ntests: file://tests.jsonl\n")
    res = cli("import", "promptfoo", str(cfg), "-o", str(tmp_path / "s.yaml"), env=env)
    assert one_line(res) == f"reviewer import: {tests}:4: not UTF-8 text (byte 0xff at column 20)"


def test_bad_utf8_names_its_line_in_a_log_import(tmp_path, env):
    req = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    good = json.dumps({"request": req, "response": {"choices": [{"message": {"role": "assistant", "content": "yo"}}]}}).encode()
    log = tmp_path / "prod.jsonl"
    # short lines: a text-mode reader decodes 8 kB at once and blamed line 1 for this byte
    lines = [good] * 3 + [good.replace(b'"yo', b'"y' + BAD, 1)]
    log.write_bytes(b"\n".join(lines) + b"\n")
    res = cli("import", "jsonl", str(log), "--as-run", "prod", "--db", str(tmp_path / "r.db"), env=env)
    assert res.returncode == 2
    assert ":4: not UTF-8 text (byte 0xff at column " in one_line(res) and str(log) in res.stderr


def test_a_jsonl_suite_with_a_bom_is_accepted_like_yaml(tmp_path, env):
    j = tmp_path / "s.jsonl"
    j.write_bytes(b'\xef\xbb\xbf{"suite": "bom"}\n{"id": "a", "prompt": "p"}\n')
    y = tmp_path / "s.yaml"
    y.write_bytes(b"\xef\xbb\xbfsuite: bom\ncases:\n  - id: a\n    prompt: p\n")
    for f in (j, y):
        res = cli("suites", "validate", str(f), env=env)
        assert res.returncode == 0, res.stderr
    assert load_suite(j).suite.suite == "bom" and load_suite(j).digest == load_suite(y).digest


def test_labels_files_with_a_bom_import_and_bad_utf8_names_its_line(tmp_path, env):
    from test_export import make_comparison  # a real store with a labelled comparison

    from reviewer.cli import main

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, _ = make_comparison(tmp_path / "a", labels=True)
    b, cb = make_comparison(tmp_path / "b", labels=False)
    a.close()
    b.close()
    out = tmp_path / "labels.jsonl"
    assert main(["labels", "export", "--db", str(tmp_path / "a" / "reviewer.db"), "-o", str(out)]) == 0
    raw = out.read_bytes()
    out.write_bytes(b"\xef\xbb\xbf" + raw)
    db_b = str(tmp_path / "b" / "reviewer.db")
    res = cli("labels", "import", str(out), "--db", db_b, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"labels: 7 added, 0 updated, 0 unchanged — into comparison #{cb}"
    lines = raw.split(b"\n")
    lines[3] = (
        lines[3].replace(b'"note": ', b'"note": "\xff", "x": ', 1)
        if b'"note": ' in lines[3]
        else lines[3][:-1] + b', "x": "\xff"}'
    )
    out.write_bytes(b"\n".join(lines))
    res = cli("labels", "import", str(out), "--db", db_b, env=env)
    assert res.returncode == 2
    assert one_line(res).startswith(f"reviewer labels: {out}:4: not UTF-8 text (byte 0xff at column ")


# ---------------------------------------------------------------------------------------------
# Check regexes: linear time, and a clear refusal for what the engine cannot run
# ---------------------------------------------------------------------------------------------


def test_a_catastrophic_check_regex_cannot_hang_run_or_export(tmp_path, env):
    suite = tmp_path / "rx.yaml"
    suite.write_text("suite: rx\ncases:\n  - id: bt\n    prompt: say a\n    checks:\n      - regex: '(a+)+$'\n")
    base, cand = tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    base.write_text(json.dumps({"case_id": "bt", "sample": 0, "output": "a" * 34 + "!", "model": "m"}) + "\n")
    cand.write_text(json.dumps({"case_id": "bt", "sample": 0, "output": "a" * 34, "model": "m"}) + "\n")
    db = str(tmp_path / "r.db")
    res = cli(
        "run",
        str(suite),
        "--baseline",
        f"recorded:{base}",
        "--candidate",
        f"recorded:{cand}",
        "--samples",
        "1",
        "--db",
        db,
        env=env,
        process=True,
    )
    assert res.returncode == 0, res.stderr
    res = cli("export", "--db", db, "--allow-unreviewed", env=env, process=True)
    assert res.returncode == 0, res.stderr
    # the baseline (34 a's and a !) fails the check, the candidate passes: a positive flip
    assert "| `regex` | 1 | 0 (0%) | 1 (100%) | 0 | 1 |" in res.stdout


@pytest.mark.parametrize(
    ("pattern", "feature"),
    [
        (r"(\w)\1", r"uses a backreference (\1 … \9)"),
        (r"(?<!no )refund", "uses negative lookbehind (?<!…)"),
        (
            r"\A(?!Sorry)",
            'uses negative lookahead (?!…), which the linear-time engine (RE2) cannot run; for "must not match" write a not_regex check',
        ),
        (r"(?x) refund  \d+", "uses the verbose flag (?x)"),
        (r"a{2000}", "uses a repetition count above 1000"),
    ],
    ids=["backreference", "lookbehind", "lookahead", "verbose", "repetition"],
)
def test_a_pattern_the_engine_cannot_run_is_a_validation_error_naming_file_line_case_and_feature(tmp_path, env, pattern, feature):
    f = tmp_path / "s.yaml"
    f.write_text(
        f"suite: s\ncases:\n  - id: ok\n    prompt: p\n  - id: bad-rx\n    prompt: p\n    checks:\n      - regex: {json.dumps(pattern)}\n"
    )
    res = cli("suites", "validate", str(f), env=env)
    assert res.returncode == 1
    line = one_line(res)
    assert line.startswith(f"{f}:8: case 'bad-rx': checks[0]: regex: pattern {pattern!r} ") and feature in line, line
    with pytest.raises(SuiteError):
        load_suite(f)

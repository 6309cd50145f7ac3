"""``reviewer gate``: exit 0 ship, 1 threshold crossed (printing which), 2 usage error; --json numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_export import BOB, ROOT, make_comparison


@pytest.fixture
def db(tmp_path, monkeypatch):
    for var in ("REVIEWER_DB", "REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    store, _ = make_comparison(tmp_path)
    store.close()
    return str(tmp_path / "reviewer.db")


def gate(db: str, *argv: str) -> int:
    from reviewer.cli import main

    return main(["gate", "--db", db, *argv])


def test_defaults_block_any_negative_flip_and_regression(db, capsys):
    assert gate(db) == 1
    out = capsys.readouterr().out
    assert "  FAIL  negative flips  2 of 4 checked cases (50.0%)  [max 0]" in out
    assert "  FAIL  regressions     3 (2 high, 1 low)  [max 0]" in out
    assert "  ok    unreviewed      0 changed cases  [not gated]" in out
    assert out.rstrip().splitlines()[-1].startswith("do not ship: 2 thresholds crossed: negative flips: 2 of 4")


def test_limits_at_the_measured_values_pass(db, capsys):
    assert gate(db, "--max-negative-flips", "2", "--max-regressions", "3") == 0
    assert capsys.readouterr().out.rstrip().endswith("ship: no threshold crossed")
    assert gate(db, "--max-negative-flips", "1", "--max-regressions", "3") == 1
    out = capsys.readouterr().out
    assert "FAIL  negative flips" in out and "ok    regressions" in out


def test_percentage_limit_is_of_the_cases_with_checks(db, capsys):
    assert gate(db, "--max-negative-flips", "50%", "--max-regressions", "off") == 0
    assert gate(db, "--max-negative-flips", "49.9%", "--max-regressions", "off") == 1
    assert "negative flips: 2 of 4 checked cases (50.0%) > 49.9%" in capsys.readouterr().out


def test_a_reviewer_can_waive_a_negative_flip(db, capsys):
    from reviewer.store import Store

    with Store(db) as store:
        store.set_label(1, "refund-json", BOB, "acceptable", note="the regex check was too strict",
                        at="2025-03-14T08:00:00.000Z")  # fmt: skip
    assert gate(db, "--max-negative-flips", "1", "--max-regressions", "2", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    n = doc["numbers"]
    assert (n["negative_flips"], n["negative_flips_waived"], n["negative_flips_counted"]) == (2, 1, 1)
    assert n["regressions"] == 2 and doc["ship"] is True and doc["failures"] == []


def test_fail_on_unreviewed(tmp_path, capsys):
    store, _ = make_comparison(tmp_path, labels=False)
    store.close()
    db = str(tmp_path / "reviewer.db")
    assert gate(db, "--max-negative-flips", "off") == 0  # unreviewed changes are not gated by default
    assert gate(db, "--max-negative-flips", "off", "--fail-on-unreviewed") == 1
    assert "unreviewed: 5 changed cases > 0 (--fail-on-unreviewed)" in capsys.readouterr().out


def test_json_output_carries_numbers_thresholds_and_failures(db, capsys):
    assert gate(db, "--json") == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ship"] is False and doc["exit_code"] == 1
    assert doc["comparison"]["name"] == "march-refresh" and doc["comparison"]["candidate"] == "openai:gpt-4o"
    assert doc["numbers"]["cases"] == 7 and doc["numbers"]["negative_flip_rate"] == 0.5
    assert doc["thresholds"] == {
        "max_negative_flips": "0",
        "max_regressions": "0",
        "fail_on_unreviewed": False,
        "significant_only": False,
        "max_errors": "0",
    }
    assert len(doc["failures"]) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--max-negative-flips", "abc"], "argument --max-negative-flips: 'abc': expected a count (3), a percentage"),
        (["--max-negative-flips", "120%"], "argument --max-negative-flips: '120%'"),
        (["--max-regressions", "1.5"], "argument --max-regressions: '1.5': expected a count"),
    ],
)
def test_bad_thresholds_are_usage_errors(db, capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        gate(db, *argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_comparison_is_a_usage_error(db, capsys):
    assert gate(db, "9") == 2
    assert capsys.readouterr().err.strip().endswith("no comparison with id 9")


def test_exit_codes_of_the_real_process(db, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reviewer", "gate", "--db", db, *argv],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip

    assert run().returncode == 1
    assert run("--max-negative-flips", "off", "--max-regressions", "off").returncode == 0
    bad = run("--max-negative-flips", "abc")
    assert bad.returncode == 2 and "--max-negative-flips" in bad.stderr


def test_the_gate_reads_a_changelog_built_without_figures_as_the_full_one(tmp_path):
    """The gate builds its changelog without the per-side figures (~1.5 s at 100,000 cases): its
    summary and cases are the full build's, so every rule decides the same; such a changelog is
    never rendered."""
    from datetime import UTC, datetime

    from reviewer.export.changelog import build_changelog, render_json, render_markdown
    from reviewer.export.changelog.load import load_inputs
    from reviewer.export.gate import evaluate_gate, parse_count

    store, cid = make_comparison(tmp_path)
    at = datetime(2025, 3, 14, tzinfo=UTC)

    def built(figures: bool):
        data, rows, labels, texts, origins = load_inputs(store, cid, texts=figures)
        return build_changelog(data, rows, labels, store.signoffs(cid), generated_at=at, generated_by="", figures=figures,
                               allow_unreviewed=True, texts=texts, origins=origins)  # fmt: skip

    full, light = built(True), built(False)
    assert full.metrics and full.tags and full.checks and not (light.metrics or light.tags or light.checks)
    assert light.summary == full.summary
    assert [(c.id, c.flip, c.verdict, c.unreviewed) for c in light.cases] == [
        (c.id, c.flip, c.verdict, c.unreviewed) for c in full.cases
    ]
    for kw in ({}, {"significant_only": True}, {"fail_on_unreviewed": True, "max_negative_flips": parse_count("5")}):
        a, b = evaluate_gate(full, **kw), evaluate_gate(light, **kw)
        assert (a.numbers, a.thresholds, [r.doc() for r in a.rules]) == (b.numbers, b.thresholds, [r.doc() for r in b.rules])
    for render in (render_markdown, render_json):
        with pytest.raises(ValueError, match="without its figures"):
            render(light)
    store.close()

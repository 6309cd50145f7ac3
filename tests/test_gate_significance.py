"""``reviewer gate --significant-only``: negative flips fail the gate only when sampling noise does
not explain them (exact McNemar of negative against positive flips); fail-closed rules stay."""

from __future__ import annotations

import json

import pytest
from cli_inprocess import run_main

N = 30


def _comparison(tmp_path, flips: int, *, db_name: str = "r.db") -> str:
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "suite: sig\ncases:\n"
        + "".join(f"  - id: c{i:02d}\n    prompt: q{i}\n    checks:\n      - contains: ok\n" for i in range(N)),
        encoding="utf-8",
    )
    base = tmp_path / "base.jsonl"
    cand = tmp_path / "cand.jsonl"
    base.write_text("".join(json.dumps({"case_id": f"c{i:02d}", "output": f"ok {i}"}) + "\n" for i in range(N)), encoding="utf-8")
    cand.write_text(
        "".join(
            json.dumps({"case_id": f"c{i:02d}", "output": ("nope" if i < flips else "ok") + f" {i}"}) + "\n" for i in range(N)
        ),
        encoding="utf-8",
    )
    db = str(tmp_path / db_name)
    res = run_main(["run", str(suite), "--baseline", f"recorded:{base}", "--candidate", f"recorded:{cand}", "--db", db])
    assert res.returncode == 0, res.stderr
    return db


def gate(db: str, *argv: str) -> int:
    from reviewer.cli import main

    return main(["gate", "--db", db, "--max-regressions", "off", *argv])


@pytest.fixture(autouse=True)
def _own_dirs(tmp_path, monkeypatch):
    for var in ("REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))


def test_one_flip_in_thirty_is_within_noise_only_with_significant_only(tmp_path, capsys):
    db = _comparison(tmp_path, flips=1)
    assert gate(db) == 1  # the default gate: any negative flip
    capsys.readouterr()
    assert gate(db, "--significant-only", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    rule = next(r for r in doc["rules"] if r["name"] == "negative flips")
    assert rule["ok"] and doc["numbers"]["negative_flips_significant"] is False
    assert doc["numbers"]["negative_flips_p"] == pytest.approx(1.0)  # McNemar b=1, c=0: p = 1
    assert doc["thresholds"]["significant_only"] is True


def test_many_flips_fail_even_with_significant_only(tmp_path, capsys):
    db = _comparison(tmp_path, flips=8)
    assert gate(db, "--significant-only") == 1
    out = capsys.readouterr().out
    assert "FAIL  negative flips" in out and "McNemar p = 0.00781" in out  # 2 × 0.5^8
    # at a stricter level p = 0.0078 is no longer enough
    assert gate(db, "--significant-only", "--alpha", "0.001") == 0


def test_significant_only_never_waives_missing_answers(tmp_path, capsys):
    db = _comparison(tmp_path, flips=0)
    from reviewer.store import Store

    with Store(db) as store:  # a comparison the replay never finished
        cid = store.comparisons()[0].id
        store.set_comparison_status(cid, "running")
    assert gate(db, "--significant-only") == 1
    assert "complete: the comparison's status is 'running'" in capsys.readouterr().out


def test_alpha_out_of_range_is_a_usage_error(tmp_path, capsys):
    db = _comparison(tmp_path, flips=0)
    assert gate(db, "--alpha", "1.5") == 2
    assert "--alpha 1.5: expected a level between 0 and 1" in capsys.readouterr().err

"""`reviewer probe` and `reviewer history` as cron runs them: real processes for the first test's
exit 1s and its history screen and for one exit 2, elsewhere main() in the test's process
(tests/cli_inprocess.py: the same exit codes and output), a real loopback server whose model
moves between probes, a real SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cli_inprocess import run_main
from fakeprovider import FakeProvider, default_answer

ROOT = Path(__file__).resolve().parent.parent
REFUSAL = "I'm sorry, but I can't help with that."


def cli(*args: str, env: dict, process: bool = False) -> subprocess.CompletedProcess:
    """``reviewer ARGS``: in a real process with ``process=True``, else main() in this one."""
    if not process:
        return run_main(args, cwd=ROOT, env=env)
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *args], check=False, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    e.update(REVIEWER_DATA_DIR=str(tmp_path / "data"), REVIEWER_CONFIG_DIR=str(tmp_path / "config"), COLUMNS="200")
    return e


def suite(tmp_path: Path, n: int = 10) -> Path:
    path = tmp_path / "probe.yaml"
    cases = "".join(
        f'  - id: q{i:02d}\n    tags: [t{i % 2}]\n    prompt: "Question number {i}?"\n    checks: [{{contains: answer}}]\n'
        for i in range(n)
    )
    path.write_text(f"suite: watch\ndefaults:\n  params: {{temperature: 0, max_tokens: 64}}\ncases:\n{cases}")
    return path


def probe(path: Path, spec: str, db: Path, env: dict, *extra: str, process: bool = False) -> tuple[int, dict]:
    p = cli("probe", str(path), "--model", spec, "--db", str(db), "--json", *extra, env=env, process=process)
    assert p.stdout.strip(), p.stderr
    assert "Traceback" not in p.stderr
    return p.returncode, json.loads(p.stdout)


def test_three_probes_exit_0_0_1_and_history_lists_them(tmp_path, env):
    path, db = suite(tmp_path), tmp_path / "r.db"
    with FakeProvider() as srv:
        spec = f"openai:gpt-x@{srv.base_url}"
        code1, v1 = probe(path, spec, db, env)
        assert (code1, v1["verdict"], v1["first"]) == (0, "baseline", True)
        asked = srv.count()
        assert asked == 20  # the first probe asks the alias twice (its own noise is the first comparison)

        code2, v2 = probe(path, spec, db, env)
        assert (code2, v2["verdict"]) == (0, "unchanged"), v2
        assert srv.count() - asked == 10  # nothing cached is reused: a probe asks again
        assert v2["comparison"]["against_run"] == v1["comparison"]["candidate_run"]
        assert v2["provenance"]["changed"] == []

        # the provider moves the alias: a new snapshot and fingerprint, and some answers change
        srv.aliases = {"gpt-x": "gpt-x-2026-09-09"}
        srv.answer = lambda api, model, msgs, params: (
            "Certainly! " + default_answer(api, model, msgs, params)
            if "1?" in msgs[-1]["content"]
            else default_answer(api, model, msgs, params)
        )
        code3, v3 = probe(path, spec, db, env, process=True)
    assert code3 == 1, v3
    assert v3["verdict"] == "changed"
    assert "resolved model" in v3["provenance"]["changed"] and "system_fingerprint" in v3["provenance"]["changed"]
    assert v3["provenance"]["old"]["resolved_models"] == {"gpt-x-2026-05-01": 10}
    assert v3["provenance"]["new"]["resolved_models"] == {"gpt-x-2026-09-09": 10}
    assert v3["significant"] == []  # one changed answer is no significant behaviour change
    assert {c["case_id"] for c in v3["look_at"]} == {"q01"}

    h = cli("history", spec, "--db", str(db), "--json", env=env)
    assert h.returncode == 0, h.stderr
    rows = json.loads(h.stdout)["probes"]
    assert [r["run_id"] for r in rows] == [v["comparison"]["candidate_run"] for v in (v1, v2, v3)]
    assert [r["provenance_changed"] for r in rows] == [False, False, True]
    assert rows[2]["resolved_models"] == {"gpt-x-2026-09-09": 10}
    assert rows[0]["metrics"]["check_pass"] == 1.0 and rows[0]["metrics"]["refusal"] == 0.0

    text = cli("history", spec, "--suite", "watch", "--db", str(db), env=env, process=True)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    moved = [ln for ln in lines if ln.startswith("◆")]
    assert len(moved) == 1 and "gpt-x-2026-09-09" in moved[0]
    assert sum("gpt-x-2026-05-01" in ln for ln in lines) == 2
    assert any(ln.strip().startswith("refusal") and "▁▁▁" in ln for ln in lines)  # a trend line per metric

    # the human screen names old → new
    with FakeProvider(aliases={"gpt-x": "gpt-x-2026-12-12"}) as srv2:
        spec2 = f"openai:gpt-x@{srv2.base_url}"
        cli("probe", str(path), "--model", spec2, "--db", str(db), env=env)
        srv2.aliases = {"gpt-x": "gpt-x-2027-01-01"}
        p = cli("probe", str(path), "--model", spec2, "--db", str(db), env=env, process=True)
    assert p.returncode == 1, p.stderr
    assert "gpt-x-2026-12-12 (10) → gpt-x-2027-01-01 (10)" in p.stdout
    assert "Exit 1: resolved model and system_fingerprint changed" in p.stdout


def test_all_answers_now_refusals_is_a_significant_change_on_the_same_model(tmp_path, env):
    path, db = suite(tmp_path), tmp_path / "r.db"
    with FakeProvider() as srv:
        spec = f"openai:gpt-x@{srv.base_url}"
        assert probe(path, spec, db, env)[0] == 0
        srv.answer = lambda *a: REFUSAL
        p = cli("probe", str(path), "--model", spec, "--db", str(db), env=env)
        code, v = probe(path, spec, db, env, "--against", "1")  # the same change, by --against RUN, as JSON
    assert p.returncode == 1, p.stdout + p.stderr
    assert "refusal rate: 0% → 100%" in p.stdout and "behaviour changed" in p.stdout
    assert "Negative flips (10)" in p.stdout
    assert code == 1 and v["provenance"]["changed"] == []  # same model id: behaviour alone decides
    refusal = next(c for c in v["changes"] if c["metric"] == "refusal")
    assert refusal["significant"] and refusal["p"] == pytest.approx(2 / 2**10)  # exact McNemar, 10 of 10 discordant
    assert refusal["p_adjusted"] < 0.05
    assert {"refusal", "check_pass"} <= set(v["significant"])
    assert len(v["negative_flips"]) == 10


def test_provider_down_is_exit_2_and_never_the_next_baseline(tmp_path, env):
    path, db = suite(tmp_path, 4), tmp_path / "r.db"
    with FakeProvider() as srv:
        spec = f"openai:gpt-x@{srv.base_url}"
        _, good = probe(path, spec, db, env)
    # the server is gone: connection refused on its port
    code, v = probe(path, spec, db, env)
    assert code == 2 and v["verdict"] == "error"
    assert len(v["failures"]) == 4 and all("refused" in f["message"] for f in v["failures"])
    screen = cli("probe", str(path), "--model", spec, "--db", str(db), env=env, process=True)
    assert screen.returncode == 2 and "Probe failed: 4 calls ended in an error" in screen.stdout
    with FakeProvider(port=int(spec.rsplit(":", 1)[1].split("/")[0])) as srv:
        code, v = probe(path, spec, db, env)
    assert code == 0, v
    assert v["comparison"]["against_run"] == good["comparison"]["candidate_run"]  # not the failed probes
    rows = json.loads(cli("history", spec, "--db", str(db), "--json", env=env).stdout)["probes"]
    assert [r["status"] for r in rows] == ["ok", "failed", "failed", "ok"]


def test_usage_errors_are_one_line_exit_2(tmp_path, env):
    path, db = suite(tmp_path, 3), tmp_path / "r.db"
    with FakeProvider() as srv:
        spec = f"openai:gpt-x@{srv.base_url}"
        assert probe(path, spec, db, env)[0] == 0
        cases = [
            (["--against", "99"], "--against 99: no run 99"),
            (["--against", "1"], "another provider"),  # run 1 is the first probe's own baseline: provider openai…
            (["--samples", "2"], "the last probe (run 2) took 1 per case"),
            (["--max-cases", "0"], "--max-cases 0"),
        ]
        # run 1 is openai too: make a run of another provider to point --against at
        con = sqlite3.connect(db)
        con.execute("INSERT INTO runs (suite_id, side, label, provider, model, base_url, params, samples, started_at, status)"
                    " VALUES (1, 'candidate', 'claude-prod', 'anthropic', 'claude-x', NULL, '{}', 1, '2026-01-01T00:00:00', 'complete')")  # fmt: skip
        con.commit()
        con.close()
        cases[1] = (["--against", "claude-prod"], "another provider than")
        for extra, words in cases:
            p = cli("probe", str(path), "--model", spec, "--db", str(db), *extra, env=env)
            assert p.returncode == 2, (extra, p.stdout, p.stderr)
            assert words in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        p = cli("probe", str(path), "--model", "run:2", "--db", str(db), env=env)
        assert p.returncode == 2 and "a probe asks a live model" in p.stderr
    p = cli("history", "openai:never-probed", "--db", str(db), env=env)
    assert p.returncode == 2 and "no probes of openai:never-probed" in p.stderr


def test_untrusted_model_ids_are_shown_not_obeyed(tmp_path, env):
    path, db = suite(tmp_path, 2), tmp_path / "r.db"
    with FakeProvider(aliases=lambda m: "evil\x1b]0;owned\x07\x1b[31m", fingerprint="fp\x1b[2J") as srv:
        spec = f"openai:gpt-x@{srv.base_url}"
        first = cli("probe", str(path), "--model", spec, "--db", str(db), env=env)
        assert first.returncode == 0, first.stderr
        srv.aliases = lambda m: "next\x1b[5m"
        moved = cli("probe", str(path), "--model", spec, "--db", str(db), env=env)
    h = cli("history", spec, "--db", str(db), env=env)
    for p in (first, moved, h):
        assert "\x1b" not in p.stdout + p.stderr and "\x07" not in p.stdout
    assert moved.returncode == 1 and "next␛[5m" in moved.stdout
    assert "evil␛]0;owned␇␛[31m" in h.stdout


def test_a_probe_comparison_opens_in_export(tmp_path, env):
    path, db = suite(tmp_path, 2), tmp_path / "r.db"
    with FakeProvider() as srv:
        spec = f"openai:gpt-x@{srv.base_url}"
        probe(path, spec, db, env)
        _, v = probe(path, spec, db, env)
        priced = cli("probe", str(path), "--model", spec, "--db", str(db), "--price", "openai:gpt-x=2.50,10.00", env=env)
        unpriced = cli("probe", str(path), "--model", spec, "--db", str(db), "--price", "openai:other=1,1", env=env)
    # the fake server reports usage; the estimate is the last probe's tokens at the given price
    assert priced.returncode == 0 and "Estimated cost: $0.0" in priced.stderr and "input +" in priced.stderr
    assert "No cost estimate: no --price for openai:gpt-x" in unpriced.stderr
    p = cli("export", str(v["comparison"]["id"]), "--format", "json", "--db", str(db), env=env)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert json.dumps(doc).count("previous probe (run") >= 1


def test_max_cases_probes_the_same_stratified_sample_each_time(tmp_path, env):
    path, db = suite(tmp_path, 10), tmp_path / "r.db"
    with FakeProvider() as srv:
        spec = f"openai:gpt-x@{srv.base_url}"
        code1, v1 = probe(path, spec, db, env, "--max-cases", "4")
        asked_first = {r.body["messages"][-1]["content"] for r in srv.requests}
        code2, v2 = probe(path, spec, db, env, "--max-cases", "4")
        asked = [r.body["messages"][-1]["content"] for r in srv.requests]
    assert (code1, code2) == (0, 0), (v1, v2)
    assert len(asked) == 4 * 2 + 4 and len(asked_first) == 4
    assert set(asked[8:]) == asked_first  # the same seeded sample: like compared with like
    numbers = sorted(int(a.split()[2].rstrip("?")) for a in asked_first)
    assert sum(n % 2 for n in numbers) == 2  # two of each tag (t0: even, t1: odd)
    assert v2["not_in_baseline"] == [] and v2["verdict"] == "unchanged"

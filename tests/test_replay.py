"""Replay against a real loopback server speaking the OpenAI and Anthropic protocols, into real
SQLite files: results and provenance stored, retry policy, errors recorded, cache, keys never stored."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest
from fakeprovider import FakeProvider, drop, error, insufficient_quota, malformed, ok, rate_limited, slow

from reviewer.providers import parse_spec
from reviewer.replay import Replay, ReplayConfig
from reviewer.store import Store
from reviewer.suite import load_suite


def write_suite(tmp_path: Path, prompts: dict[str, str], params: dict | None = None) -> Path:
    lines = [
        json.dumps({"suite": "t", "defaults": {"system": "Be brief.", "params": params or {"temperature": 0, "max_tokens": 64}}})
    ]
    lines += [json.dumps({"id": cid, "tags": ["x"], "prompt": p}) for cid, p in prompts.items()]
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def replay(tmp_path, srv, prompts, *, baseline="openai:base-m", candidate="openai:cand-m", db="r.db", **cfg):
    cfg.setdefault("wait_initial", 0.01)
    cfg.setdefault("wait_max", 0.05)
    suite = write_suite(tmp_path, prompts)
    store = Store(tmp_path / db)
    spec = lambda s: parse_spec(s if "@" in s or s.startswith("recorded") else f"{s}@{srv.base_url}")  # noqa: E731
    r = Replay(store, load_suite(suite), spec(baseline), spec(candidate), ReplayConfig(**cfg))
    result = asyncio.run(r.run())
    return store, result


def outputs(store: Store, result, side: str) -> dict[tuple[str, int], object]:
    comp = store.comparison(result.comparison_id)
    run_id = comp.baseline_run_id if side == "baseline" else comp.candidate_run_id
    return {(o.case_id, o.sample): o for o in store.outputs(run_id)}


def test_replay_stores_answers_and_provenance(tmp_path):
    with FakeProvider() as srv:
        store, result = replay(tmp_path, srv, {"a": "Say hello", "b": "Name a colour"}, samples=2)
    base, cand = outputs(store, result, "baseline"), outputs(store, result, "candidate")
    assert set(base) == set(cand) == {("a", 0), ("a", 1), ("b", 0), ("b", 1)}
    o = base[("a", 0)]
    assert o.text and o.error is None
    assert o.resolved_model == "base-m-2026-05-01"  # the snapshot behind the alias
    assert o.system_fingerprint.startswith("fp_")
    assert o.request_id and o.finish_reason == "stop"
    assert o.input_tokens > 0 and o.output_tokens > 0 and o.usage["total_tokens"] > 0
    assert o.latency_ms > 0
    assert cand[("a", 0)].resolved_model == "cand-m-2026-05-01"
    comp = store.comparison(result.comparison_id)
    assert comp.status == "complete"
    run = store.run(comp.baseline_run_id)
    assert (run.provider, run.model, run.samples, run.status) == ("openai", "base-m", 2, "complete")
    assert run.params == {"temperature": 0, "max_tokens": 64}


def test_openai_compatible_request_shape(tmp_path):
    with FakeProvider() as srv:
        replay(tmp_path, srv, {"a": "Say hello"}, params={"seed": 7})
        bodies = [r.body for r in srv.requests]
    assert len(bodies) == 2
    body = bodies[0]
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}]
    # A compatible server (not api.openai.com) keeps max_tokens: llama.cpp, Ollama know only that.
    assert body["max_tokens"] == 64 and "max_completion_tokens" not in body
    assert body["temperature"] == 0 and body["seed"] == 7


def test_official_openai_gets_max_completion_tokens(monkeypatch):
    from reviewer.providers import Call
    from reviewer.providers.openai import OpenAIProvider

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0000000000")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    p = OpenAIProvider(parse_spec("openai:gpt-4o"))
    body = p.request_body(Call("a", 0, [{"role": "user", "content": "x"}], {"max_tokens": 10, "temperature": 0}))
    assert body["max_completion_tokens"] == 10 and "max_tokens" not in body


def test_anthropic_request_shape_and_answer(tmp_path):
    with FakeProvider() as srv:
        store, result = replay(
            tmp_path,
            srv,
            {"a": "Say hello"},
            baseline=f"anthropic:claude-x@{srv.root_url}",
            candidate=f"anthropic:claude-y@{srv.base_url}",
            params={"stop": "\n\n", "seed": 1},
        )
        reqs = srv.requests
    assert {r.path for r in reqs} == {"/v1/messages"}
    body = reqs[0].body
    assert body["system"] == "Be brief." and body["messages"] == [{"role": "user", "content": "Say hello"}]
    assert body["max_tokens"] == 64 and body["stop_sequences"] == ["\n\n"] and "seed" not in body
    assert reqs[0].headers["anthropic-version"] == "2023-06-01"
    o = outputs(store, result, "baseline")[("a", 0)]
    assert o.resolved_model == "claude-x-2026-05-01" and o.finish_reason == "end_turn"
    assert o.input_tokens > 0 and o.output_tokens > 0 and o.request_id
    assert any("'seed' is not part of the Messages API" in w for w in result.warnings)


def test_retry_policy(tmp_path, real_waits):
    prompts = {
        "ra": "retry-after please",
        "ms": "retry-after-ms please",
        "5xx": "server error please",
        "bad-json": "malformed please",
        "dropped": "drop please",
        "quota": "quota please",
        "invalid": "invalid please",
    }
    with FakeProvider() as srv:
        srv.script("retry-after please", rate_limited(retry_after=0.3), ok("fine"))
        srv.script("retry-after-ms please", rate_limited(retry_after=None, retry_after_ms=250), ok("fine"))
        srv.script("server error please", error(500), error(502), error(503), ok("fine"))
        srv.script("malformed please", malformed(), ok("fine"))
        srv.script("drop please", drop(), ok("fine"))
        srv.script("quota please", insufficient_quota(), insufficient_quota())
        srv.script("invalid please", error(400, "Unsupported value: 'temperature'"), error(400))
        t0 = time.monotonic()
        store, result = replay(tmp_path, srv, prompts, candidate="recorded:" + str(_recorded(tmp_path, prompts)))
        counts = {cid: srv.count(p) for cid, p in prompts.items()}
        reqs = srv.requests
    base = outputs(store, result, "baseline")
    for cid in ("ra", "ms", "5xx", "bad-json", "dropped"):
        assert base[(cid, 0)].error is None and base[(cid, 0)].text == "fine", cid
    assert counts == {"ra": 2, "ms": 2, "5xx": 4, "bad-json": 2, "dropped": 2, "quota": 1, "invalid": 1}
    assert base[("5xx", 0)].attempts == 4
    # Retry-After (0.3 s) and retry-after-ms (250 ms) were honoured, not the 10 ms backoff.
    gap = lambda p: [r.time for r in reqs if p in json.dumps(r.body)]  # noqa: E731
    ra, ms = gap("retry-after please"), gap("retry-after-ms please")
    assert ra[1] - ra[0] >= 0.28 and ms[1] - ms[0] >= 0.23
    assert time.monotonic() - t0 < 10
    q = base[("quota", 0)]
    assert q.error.startswith("429 insufficient_quota: You exceeded your current quota") and q.error_status == 429
    assert q.attempts == 1
    assert base[("invalid", 0)].error == "400 invalid_request_error: Unsupported value: 'temperature'"
    assert {(f.case_id, f.status) for f in result.failures} == {("quota", 429), ("invalid", 400)}
    assert store.comparison(result.comparison_id).status == "errors"  # resumable: a rerun retries them


def _recorded(tmp_path: Path, prompts: dict[str, str]) -> Path:
    path = tmp_path / "cand.jsonl"
    path.write_text("".join(json.dumps({"case_id": c, "output": f"recorded {c}", "model": "m-v2"}) + "\n" for c in prompts))
    return path


def test_exhausted_retries_and_timeouts_are_recorded(tmp_path):
    with FakeProvider() as srv:
        srv.script("always 503", *[error(503)] * 10)
        srv.script("too slow", *[slow(2.0)] * 10)
        store, result = replay(tmp_path, srv, {"down": "always 503", "slow": "too slow"}, attempts=3, timeout=0.3)
        assert srv.count("always 503") == 6  # 3 attempts × 2 sides
    base = outputs(store, result, "baseline")
    assert base[("down", 0)].error.startswith("503") and base[("down", 0)].attempts == 3
    assert "timed out after 0.3 s" in base[("slow", 0)].error


def test_cache_skips_answered_calls_and_no_cache_forces(tmp_path):
    prompts = {"a": "one", "b": "two"}
    with FakeProvider() as srv:
        replay(tmp_path, srv, prompts, samples=2)
        assert len(srv.requests) == 8
        store, result = replay(tmp_path, srv, prompts, samples=2, name="again")  # a new comparison (first complete)
        assert len(srv.requests) == 8  # every call answered from the cache
        assert result.stats["baseline"].cached == 4 and result.comparison_id == 2
        hits = outputs(store, result, "baseline")
        assert all(o.cached_from is not None and o.text for o in hits.values())
        replay(tmp_path, srv, prompts, samples=3)  # sample index is part of the key: only #2 is new
        assert len(srv.requests) == 8 + 4
        replay(tmp_path, srv, prompts, samples=1, use_cache=False)
        assert len(srv.requests) == 8 + 4 + 4


def test_recorded_provider_errors_name_file_and_line(tmp_path):
    from reviewer.errors import UsageError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"case_id": "a", "output": "x"}\n{"case_id": "b"}\n')
    with pytest.raises(UsageError, match=r"bad.jsonl:2: case 'b': output: a string is required"):
        parse_and_make(f"recorded:{bad}")
    bad.write_text('{"case_id": "a", "output": "x"}\nnot json\n')
    with pytest.raises(UsageError, match=r"bad.jsonl:2: invalid JSON"):
        parse_and_make(f"recorded:{bad}")


def parse_and_make(spec: str):
    from reviewer.providers import make_provider

    return make_provider(parse_spec(spec, "--candidate"), "--candidate")


def test_keys_never_stored(tmp_path, monkeypatch):
    secret_oa, secret_an = "sk-proj-SECRETsecretSECRET1234567890", "sk-ant-api03-SECRETsecret0987654321"
    monkeypatch.setenv("OPENAI_API_KEY", secret_oa)
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret_an)
    with FakeProvider() as srv:
        # A provider that echoes the key in its error message (OpenAI does, partly masked).
        srv.script(
            "echo key",
            error(401, f"Incorrect API key provided: {secret_oa}. You can find your key at ..."),
            error(401, f"bad key {secret_an}"),
        )
        store, result = replay(
            tmp_path,
            srv,
            {"a": "echo key", "b": "fine"},
            baseline=f"openai:m@{srv.base_url}",
            candidate=f"anthropic:c@{srv.root_url}",
        )
        sent = srv.requests
    assert any(r.headers.get("authorization") == f"Bearer {secret_oa}" for r in sent)
    assert any(r.headers.get("x-api-key") == secret_an for r in sent)
    errors = [f.message for f in result.failures]
    assert errors and all(secret_oa not in m and secret_an not in m for m in errors)
    store.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("r.db*"))
    for secret in (secret_oa, secret_an, secret_oa[8:20], secret_an[8:20]):
        assert secret.encode() not in blob


def test_store_rejects_newer_schema(tmp_path):
    from reviewer.store import StoreError

    db = tmp_path / "future.db"
    Store(db).close()
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        Store(db)


def test_retry_wait_scale_comes_from_the_environment_and_bad_values_are_usage_errors():
    from reviewer.errors import UsageError
    from reviewer.replay import retry_wait_scale

    assert retry_wait_scale({}) == 1.0 and retry_wait_scale({"REVIEWER_RETRY_WAIT_SCALE": " "}) == 1.0
    assert retry_wait_scale({"REVIEWER_RETRY_WAIT_SCALE": "0"}) == 0.0
    assert retry_wait_scale({"REVIEWER_RETRY_WAIT_SCALE": "0.5"}) == 0.5
    for bad in ("-1", "nan", "inf", "fast"):
        with pytest.raises(UsageError, match="REVIEWER_RETRY_WAIT_SCALE"):
            retry_wait_scale({"REVIEWER_RETRY_WAIT_SCALE": bad})

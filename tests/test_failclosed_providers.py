"""Providers and the replay fail closed, as a user meets it: a dead endpoint is named and given up
on in seconds, a malformed 200 is an error (never a cached empty answer), a 20 MB error body costs
nothing, credentials in a base URL or echoed by a server land nowhere, no library log lines."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakeprovider import FakeProvider, error, malformed, ok

from reviewer.errors import UsageError
from reviewer.providers import make_provider, parse_spec, public_url, redact
from reviewer.replay import Replay, ReplayConfig
from reviewer.store import Store
from reviewer.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, env: dict) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False
    )
    return p, time.monotonic() - t0


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    e.update(REVIEWER_DATA_DIR=str(tmp_path / "data"), REVIEWER_CONFIG_DIR=str(tmp_path / "config"), COLUMNS="200")
    return e


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then closed: connections are refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_suite(tmp_path: Path, n: int, prompt: str = "question {i}") -> Path:
    path = tmp_path / "suite.jsonl"
    lines = [json.dumps({"suite": "fc"})] + [json.dumps({"id": f"c{i:04d}", "prompt": prompt.format(i=i)}) for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def replay(tmp_path: Path, suite: Path, baseline: str, candidate: str, db: str = "r.db", **cfg):
    cfg.setdefault("wait_initial", 0.01)
    cfg.setdefault("wait_max", 0.05)
    store = Store(tmp_path / db)
    r = Replay(store, load_suite(suite), parse_spec(baseline), parse_spec(candidate), ReplayConfig(**cfg))
    return store, asyncio.run(r.run())


def rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --------------------------------------------------------------- item 1: connection failures
def test_refused_connection_is_named_fails_fast_and_the_rest_fail_at_once(tmp_path, env):
    port = closed_port()
    suite = write_suite(tmp_path, 300)
    db = tmp_path / "r.db"
    with FakeProvider() as srv:
        p, wall = cli(
            "run",
            str(suite),
            "--baseline",
            f"openai:base@http://127.0.0.1:{port}/v1",
            "--candidate",
            f"openai:cand@{srv.base_url}",
            "--timeout",
            "30",
            "--db",
            str(db),
            env=env,
        )
        assert srv.count() == 300  # the live side is not held back by the dead one
    where = f"127.0.0.1:{port}"
    assert f"connection refused by {where}" in p.stderr, p.stderr
    assert "timed out" not in p.stderr and "ConnectTimeout" not in p.stderr
    assert "stamina" not in p.stderr and "retry_scheduled" not in p.stderr  # no library log lines
    assert wall < 20, wall  # 300 refused calls: a few seconds, not 300 × two minutes
    errors = rows(db, "SELECT o.error, o.attempts FROM outputs o JOIN runs r ON r.id = o.run_id WHERE r.side = 'baseline'")
    assert len(errors) == 300
    assert all(e.startswith(f"connection refused by {where}") for e, _ in errors)
    tried = [a for _, a in errors if a > 0]
    assert tried and len(tried) <= 8 and max(tried) == 3  # only the calls in flight tried, 3 times each
    assert sum(1 for e, a in errors if a == 0 and "not tried" in e) == 300 - len(tried)
    assert rows(
        db, "SELECT count(*) FROM outputs o JOIN runs r ON r.id = o.run_id WHERE r.side = 'candidate' AND o.error IS NULL"
    ) == [(300,)]


def test_dns_and_tls_failures_are_named(tmp_path):
    suite = write_suite(tmp_path, 2)
    with FakeProvider() as srv:
        t0 = time.monotonic()
        _, result = replay(tmp_path, suite, "openai:m@https://nosuch.invalid/v1", f"openai:m@https://127.0.0.1:{srv.port}/v1")
        wall = time.monotonic() - t0
    messages = {(f.side, f.case_id): f.message for f in result.failures}
    assert len(messages) == 4
    assert messages[("baseline", "c0000")].startswith("DNS lookup failed for nosuch.invalid")
    assert messages[("candidate", "c0000")].startswith(f"TLS handshake with 127.0.0.1:{srv.port} failed: ")
    assert wall < 15


@pytest.fixture
def blackhole():
    """A port on 127.0.0.1 whose connections hang unanswered: a listener with a full backlog."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    held = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        held.append(c)
    probe = socket.socket()
    probe.settimeout(0.3)
    try:
        probe.connect(("127.0.0.1", port))
        pytest.skip("this kernel completes connections past the listen backlog")
    except (TimeoutError, OSError):
        pass
    finally:
        probe.close()
    yield port
    for c in held:
        c.close()
    srv.close()


def test_a_connect_timeout_is_named_and_fails_fast(tmp_path, blackhole):
    suite = write_suite(tmp_path, 40)
    t0 = time.monotonic()
    store, result = replay(
        tmp_path,
        suite,
        f"openai:m@http://127.0.0.1:{blackhole}/v1",
        "recorded:" + str(_recorded(tmp_path, [])),
        timeout=0.5,
        concurrency=4,
    )
    wall = time.monotonic() - t0
    base = [f for f in result.failures if f.side == "baseline"]
    assert len(base) == 40
    assert all(f.message.startswith(f"connecting to 127.0.0.1:{blackhole} timed out after 0.5 s") for f in base), base[0].message
    outs = store.outputs(store.comparison(result.comparison_id).baseline_run_id)
    assert sorted(o.attempts for o in outs if o.attempts) == [3] * 4  # the 4 in flight; the other 36 not tried
    assert wall < 6, wall  # 4 × 3 tries of 0.5 s in parallel, not 40 × 6 tries of 0.5 s


def test_a_slow_answer_is_named_a_timeout_of_the_configured_length(tmp_path):
    suite = write_suite(tmp_path, 1, "slow please")
    from fakeprovider import slow

    with FakeProvider() as srv:
        srv.script("slow please", *[slow(3.0)] * 10)
        _, result = replay(tmp_path, suite, f"openai:m@{srv.base_url}", f"openai:n@{srv.base_url}", timeout=0.3, attempts=2)
    assert {f.message.split(" waiting")[0] for f in result.failures} == {"timed out after 0.3 s"}


# --------------------------------------------------------------- item 2: malformed 200s
@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b'{"id": "chatcmpl-1", "object": "chat.completion", "model": "m"}', "no choices"),
        (b'{"id": "chatcmpl-1", "choices": []}', "choices is empty"),
        (b'{"id": "chatcmpl-1", "choices": {"0": {}}}', "choices is a JSON dict, not a list"),
        (b'{"id": "chatcmpl-1", "choices": [{"index": 0, "finish_reason": "stop"}]}', "the first choice has no message"),
        (b'{"error": {"message": "upstream exploded"}}', "no choices, an error instead: upstream exploded"),
        (b"[1, 2]", "a JSON list, not an object"),
    ],
)
def test_a_malformed_openai_200_is_retried_then_an_error_never_cached(tmp_path, body, what):
    suite = write_suite(tmp_path, 1, "broken please")
    with FakeProvider() as srv:
        srv.script("broken please", *[malformed(body)] * 6)
        store, result = replay(tmp_path, suite, f"openai:m@{srv.base_url}", f"openai:n@{srv.base_url}", attempts=3)
        assert srv.count("broken please") == 6  # 3 tries a side
        assert {f.message for f in result.failures} == {f"200: malformed answer: {what}"}
        assert {f.status for f in result.failures} == {200}
        assert store.comparison(result.comparison_id).status == "errors"
        # A later comparison does not reuse them as answers: it calls again, and gets a real one.
        store.close()
        store, again = replay(tmp_path, suite, f"openai:m@{srv.base_url}", f"openai:n@{srv.base_url}", name="again")
        assert srv.count("broken please") == 6 + 2
        assert again.stats["baseline"].cached == 0 and not again.failures
    store.close()


def test_a_malformed_200_then_a_good_one_stores_the_good_one(tmp_path):
    suite = write_suite(tmp_path, 1, "flaky please")
    with FakeProvider() as srv:
        srv.script("flaky please", malformed(b'{"choices": []}'), ok("real answer"))
        store, result = replay(tmp_path, suite, f"openai:m@{srv.base_url}", "recorded:" + str(_recorded(tmp_path, ["c0000"])))
    comp = store.comparison(result.comparison_id)
    [out] = store.outputs(comp.baseline_run_id)
    assert (out.text, out.error, out.attempts) == ("real answer", None, 2)


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b'{"id": "msg_1", "type": "message", "model": "c"}', "no content list"),
        (b'{"id": "msg_1", "type": "message", "content": "hi"}', "content is a JSON str, not a list"),
        (b'{"type": "error", "error": {"type": "api_error", "message": "boom"}}', "no content, an error instead: boom"),
    ],
)
def test_a_malformed_anthropic_200_is_an_error(tmp_path, body, what):
    suite = write_suite(tmp_path, 1, "broken please")
    with FakeProvider() as srv:
        srv.script("broken please", *[malformed(body)] * 20)
        store, result = replay(tmp_path, suite, f"anthropic:c@{srv.root_url}", f"anthropic:d@{srv.root_url}", attempts=2)
    assert {f.message for f in result.failures} == {f"200: malformed answer: {what}"}
    assert all(o.error for o in store.outputs(store.comparison(result.comparison_id).baseline_run_id))


def test_an_empty_answer_without_finish_reason_is_not_reused_from_the_cache(tmp_path):
    """What a malformed 200 was stored as before it counted as an error: called again, not reused."""
    suite = write_suite(tmp_path, 1, "empty please")
    with FakeProvider() as srv:
        srv.script(
            "empty please",
            malformed(b'{"choices": [{"message": {"content": ""}}]}'),
            malformed(b'{"choices": [{"message": {"content": ""}}]}'),
        )
        replay(tmp_path, suite, f"openai:m@{srv.base_url}", f"openai:n@{srv.base_url}")
        store, again = replay(tmp_path, suite, f"openai:m@{srv.base_url}", f"openai:n@{srv.base_url}", name="again")
        assert srv.count("empty please") == 4 and again.stats["baseline"].cached == 0
        store.close()
        # A real answer (with a finish reason) is reused as always.
        store, _ = replay(tmp_path, suite, f"openai:m@{srv.base_url}", f"openai:n@{srv.base_url}", name="third", db="other.db")
        store.close()
        store, fourth = replay(
            tmp_path, suite, f"openai:m@{srv.base_url}", f"openai:n@{srv.base_url}", name="fourth", db="other.db"
        )
        assert fourth.stats["baseline"].cached == 1 and srv.count("empty please") == 6
    store.close()


# --------------------------------------------------------------- item 3: huge error bodies
@pytest.mark.parametrize("kind", ["json", "html"])
def test_a_20_mb_error_body_is_cut_and_costs_no_time(tmp_path, kind):
    suite = write_suite(tmp_path, 1, "big please")
    with FakeProvider() as srv:
        if kind == "json":
            srv.script("big please", *[error(500, "x" * 20_000_000)] * 20)
        else:
            srv.script("big please", *[malformed(b"<html>" + b"y" * 20_000_000, status=500, content_type="text/html")] * 20)
        t0 = time.monotonic()
        store, result = replay(tmp_path, suite, f"openai:m@{srv.base_url}", f"openai:n@{srv.base_url}", attempts=3)
        wall = time.monotonic() - t0
    store.close()
    assert wall < 10, wall
    assert len(result.failures) == 2
    for f in result.failures:
        assert f.message.endswith("[truncated, 20.0 MB body]"), f.message[-80:]
        assert 1000 < len(f.message) < 2200
    assert sum(p.stat().st_size for p in tmp_path.glob("r.db*")) < 2_000_000


def test_a_20_mb_error_body_does_not_flood_stderr(tmp_path, env):
    suite = write_suite(tmp_path, 2, "big please")
    with FakeProvider() as srv:
        srv.script("big please", *[error(500, "x" * 20_000_000, retry_after=0)] * 40)  # no backoff: the body's cost alone
        p, wall = cli(
            "run",
            str(suite),
            "--baseline",
            f"openai:m@{srv.base_url}",
            "--candidate",
            f"openai:n@{srv.base_url}",
            "--db",
            str(tmp_path / "r.db"),
            env=env,
        )
    assert "[truncated, 20.0 MB body]" in p.stderr
    assert len(p.stderr) < 30_000, len(p.stderr)
    assert wall < 15, wall  # 24 calls of 20 MB each; 469 s for 12 of them before the cut


# --------------------------------------------------------------- item 4: credentials
def test_credentials_in_a_base_url_and_echoed_keys_land_nowhere(tmp_path, env):
    key = "sk-proj-abcDEF123456ghiJKL7890mnoPQR"
    user, password, qsecret = "alice", "hunter2-Pa55word", "QUERYsecret998877"
    echo = f"Incorrect API key provided: {key[:6]}***{key[-3:]}. Also got {key[:14]} and {password} and ?api-key={qsecret}."
    suite = write_suite(tmp_path, 2, "auth {i}")
    db = tmp_path / "r.db"
    with FakeProvider() as srv:
        srv.script("auth 0", *[error(401, echo)] * 5)
        srv.script("auth 1", *[error(401, echo)] * 5)
        url = f"http://{user}:{password}@127.0.0.1:{srv.port}/v1?api-key={qsecret}&api-version=2024-06-01"
        p, _ = cli(
            "run",
            str(suite),
            "--baseline",
            f"openai:m@{url}",
            "--candidate",
            f"anthropic:c@{url.replace('/v1', '')}",
            "--db",
            str(db),
            env={**env, "OPENAI_API_KEY": key, "ANTHROPIC_API_KEY": key},
        )
        sent = srv.requests
    # The credentials were used: Basic from the URL, the query parameter as given.
    basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    assert {r.headers.get("authorization") for r in sent if r.path == "/v1/chat/completions"} == {basic}
    assert all(r.headers.get("x-api-key") == key for r in sent if r.path == "/v1/messages")
    assert "incorrect api key provided" in p.stderr.lower()  # the error itself is shown
    stored = rows(db, "SELECT base_url FROM runs ORDER BY id")
    assert stored == [
        (f"http://127.0.0.1:{srv.port}/v1?api-version=2024-06-01",),
        (f"http://127.0.0.1:{srv.port}?api-version=2024-06-01",),
    ]
    blob = b"".join(f.read_bytes() for f in tmp_path.glob("r.db*")) + (p.stdout + p.stderr).encode()
    for secret in (
        key,
        key[:12],
        key[3:15],
        key[-12:],
        password,
        qsecret,
        base64.b64encode(f"{user}:{password}".encode()).decode(),
    ):
        assert secret.encode() not in blob, secret
    errors = [e for (e,) in rows(db, "SELECT error FROM outputs WHERE error IS NOT NULL")]
    assert len(errors) == 4 and all("[redacted]" in e for e in errors)


def test_public_url_and_redact():
    assert public_url("http://localhost:11434/v1") == "http://localhost:11434/v1"  # unchanged: old cache keys hold
    assert public_url("https://u:p@h.example/v1?key=abc&x=1&sig=zz&token=t#f") == "https://h.example/v1?x=1#f"
    assert public_url("https://h/openai?api-version=1&X-Amz-Signature=s&access_token=a") == "https://h/openai?api-version=1"
    assert redact("Incorrect API key provided: sk-abc***xyz. See docs.") == "Incorrect API key provided: [redacted] See docs."
    assert redact("key abcd...wxyz rejected") == "key [redacted] rejected"
    assert redact("Authorization: Bearer abcdefgh12345") == "Authorization: Bearer [redacted]"
    assert (
        redact("see https://u:pw@h/v1?api_key=K1 and ?code=9")
        == "see https://[redacted]@h/v1?api_key=[redacted] and ?code=[redacted]"
    )
    assert redact("a plain message, 3 tokens... done") == "a plain message, 3 tokens... done"


def test_a_spec_with_credentials_is_never_echoed_in_a_usage_error():
    with pytest.raises(UsageError) as e:
        parse_spec("nosuch:m@https://bob:s3cr3tpw@h/v1?token=abc123", "--baseline")
    assert "s3cr3tpw" not in str(e.value) and "abc123" not in str(e.value)
    assert "s3cr3tpw" not in str(parse_spec("openai:m@https://bob:s3cr3tpw@h/v1"))


# --------------------------------------------------------------- item 6: recorded files
def _recorded(tmp_path: Path, ids: list[str], name: str = "rec.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps({"case_id": c, "output": f"out {c}"}) + "\n" for c in ids))
    return path


def test_unknown_case_ids_in_a_recorded_file_are_a_warning_the_user_sees(tmp_path, env):
    suite = write_suite(tmp_path, 2)
    ids = ["c0000", "c0001", "old-1", "old-2", "typo-x", "t4", "t5", "t6"]
    rec = _recorded(tmp_path, ids)
    p, _ = cli(
        "run",
        str(suite),
        "--baseline",
        f"recorded:{_recorded(tmp_path, ['c0000', 'c0001'], 'b.jsonl')}",
        "--candidate",
        f"recorded:{rec}",
        "--db",
        str(tmp_path / "r.db"),
        env=env,
    )
    assert p.returncode == 0, p.stderr
    line = next(ln for ln in p.stderr.splitlines() if "not in suite" in ln)
    assert "warning" in line and "6 case ids not in suite 'fc'" in line
    assert "'old-1', 'old-2', 'typo-x', 't4', 't5', …" in line and "t6" not in line
    assert sum("not in suite" in ln for ln in p.stderr.splitlines()) == 1  # the baseline file matches


def test_recorded_file_with_a_bom_is_read_and_bad_utf8_names_its_line(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"case_id": "a", "output": "x"}\n{"case_id": "b", "output": "y"}\n')
    p = make_provider(parse_spec(f"recorded:{path}"), "--candidate")
    assert set(p.records) == {("a", 0), ("b", 0)}
    path.write_bytes(
        b'{"case_id": "a", "output": "x"}\n\n{"case_id": "b", "output": "y"}\n{"case_id": "c", "output": "caf\xe9"}\n'
    )
    with pytest.raises(UsageError, match=r"bom.jsonl:4: not valid UTF-8 \(byte 0xe9 at column 32\)"):
        make_provider(parse_spec(f"recorded:{path}"), "--candidate")

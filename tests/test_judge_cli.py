"""`reviewer judge` as a user runs it: the CLI's main() (a real process in the first test, in the
test's process elsewhere: tests/cli_inprocess.py), a real SQLite file, and a real loopback
server (tests/fakeprovider.py) that plays both the models compared and a judge whose bias is
scripted. The report must measure that bias, a second identical run makes no call, and no label is
ever written."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cli_inprocess import run_main
from fakeprovider import FakeProvider, error, slow

from reviewer import judge as J
from reviewer.store import Store

ROOT = Path(__file__).resolve().parent.parent
PAIRS = [json.loads(line) for line in (ROOT / "tests" / "data" / "judge" / "pairs.jsonl").read_text().splitlines()]
CASE_OF = {p["id"]: p for p in PAIRS}


def cli(*args: str, env: dict, process: bool = False) -> subprocess.CompletedProcess:
    """``reviewer ARGS``: in a real process with ``process=True``, else main() in this one."""
    if not process:
        return run_main(args, cwd=ROOT, env=env)
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


def _block(text: str, tag: str) -> str | None:
    m = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", text, re.S)
    return m.group(1) if m else None


def scripted(kind: str, user: str) -> str:
    """The judge: ``fair`` prefers the answer stating the reference; ``first`` always says 1;
    ``longer`` is fair but picks the longer answer on a tie. Replies in several styles."""
    one, two, ref = _block(user, "answer_1") or "", _block(user, "answer_2") or "", _block(user, "reference") or ""
    has = [bool(re.search(rf"(?i)\b{re.escape(ref)}\b", a)) for a in (one, two)]
    better = "1" if has == [True, False] else "2" if has == [False, True] else "tie"
    if kind == "first":
        better = "1"
    elif kind == "longer" and better == "tie" and len(one) != len(two):
        better = "1" if len(one) > len(two) else "2"
    style = len(user) % 3
    if style == 0:
        return json.dumps({"better": better, "reason": f"{kind} judge."})
    if style == 1:
        return f'```json\n{{"better": "{better}", "reason": "{kind} judge."}}\n```'
    return "It is a tie." if better == "tie" else f"Answer {better} is better."


def answer(api: str, model: str, messages: list, params: dict) -> str:
    user = messages[-1]["content"] if isinstance(messages[-1]["content"], str) else ""
    if "<answer_1>" in user:  # asked to judge (a judge-* model, or a compared model judging itself)
        return scripted(model.removeprefix("judge-") if model.startswith("judge-") else "fair", user)
    case = CASE_OF[user.rsplit("#", 1)[1].strip()]
    return case["baseline"] if model == "base" else case["candidate"]


@pytest.fixture(scope="module")
def server():
    with FakeProvider(answer=answer) as srv:
        yield srv


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    e.update(REVIEWER_DATA_DIR=str(tmp_path / "data"), REVIEWER_CONFIG_DIR=str(tmp_path / "config"), COLUMNS="120")
    e["REVIEWER_DB"] = str(tmp_path / "r.db")
    return e


def make_comparison(tmp_path: Path, env: dict, server: FakeProvider, pairs=PAIRS, *extra: str) -> Path:
    lines = ["suite: judged", "cases:"]
    for p in pairs:
        lines += [
            f"  - id: {p['id']}",
            f"    prompt: {json.dumps(p['prompt'] + ' #' + p['id'])}",
            f"    reference: {json.dumps(p['reference'])}",
        ]
    path = tmp_path / "suite.yaml"
    path.write_text("\n".join(lines) + "\n")
    out = cli(
        "run",
        str(path),
        "--baseline",
        f"openai:base@{server.base_url}",
        "--candidate",
        f"openai:cand@{server.base_url}",
        *extra,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    return Path(env["REVIEWER_DB"])


def judge(env: dict, spec: str, *extra: str, process: bool = False) -> subprocess.CompletedProcess:
    return cli("judge", "--judge", spec, "--cases", "all", "--json", *extra, env=env, process=process)


def labels_count(db: Path) -> tuple[int, int]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COUNT(*) FROM labels").fetchone()[0], con.execute(
            "SELECT COUNT(*) FROM label_events"
        ).fetchone()[0]
    finally:
        con.close()


def test_an_always_first_judge_is_inconsistent_everywhere_cached_and_writes_no_label(tmp_path, env, server):
    db = make_comparison(tmp_path, env, server)
    before = server.count(path="/v1/chat/completions")
    out = judge(env, f"openai:judge-first@{server.base_url}", process=True)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    calls = server.count(path="/v1/chat/completions") - before
    assert calls == 2 * len(PAIRS) and doc["calls"]["made"] == calls
    s = doc["summary"]
    assert s["verdicts"]["inconsistent"] == len(PAIRS) == s["judged"]
    assert s["position_bias"]["share"] == 1.0 and s["position_bias"]["n"] == 2 * len(PAIRS)
    assert s["flip_rate"]["share"] == 1.0 and s["consistent"] == 0
    assert s["agreement"] is None  # nothing labelled yet
    assert labels_count(db) == (0, 0)
    # what was asked: the JSON schema, both orders with the answers swapped
    judged = [r.body for r in server.requests if r.body.get("model") == "judge-first"]
    assert all(b["response_format"]["json_schema"]["schema"] == J.RESPONSE_SCHEMA and b["temperature"] == 0 for b in judged)
    p = PAIRS[0]
    users = [b["messages"][-1]["content"] for b in judged if f"<answer_1>\n{p['baseline']}\n" in b["messages"][-1]["content"]
             or f"<answer_2>\n{p['baseline']}\n" in b["messages"][-1]["content"]]  # fmt: skip
    users = [u for u in users if p["prompt"] + " #" + p["id"] in u]
    assert sorted(_block(u, "answer_1") for u in users) == sorted([p["baseline"], p["candidate"]])
    # stored: both raw answers per case, the resolved model, the rubric digest, the spec
    with Store(db) as store:
        js = store.judgments(doc["comparison"])
    assert len(js) == 2 * len(PAIRS) and {j.position for j in js} == set(J.POSITIONS)
    assert all(
        j.raw and j.resolved_model == "judge-first-2026-05-01" and j.rubric_digest == J.rubric_digest(J.DEFAULT_RUBRIC)
        for j in js
    )
    assert {j.judge for j in js} == {f"openai:judge-first@{server.base_url}"}

    # the same command again: no call, the same report
    before = server.count(path="/v1/chat/completions")
    again = judge(env, f"openai:judge-first@{server.base_url}")
    assert again.returncode == 0, again.stderr
    assert server.count(path="/v1/chat/completions") == before
    redo = json.loads(again.stdout)
    assert redo["calls"]["made"] == 0 and redo["calls"]["resumed"] == 2 * len(PAIRS) and redo["summary"] == s
    # human output names the figures, and says it is no review
    text = cli("judge", "--judge", f"openai:judge-first@{server.base_url}", "--cases", "all", env=env, process=True)
    assert (
        text.returncode == 0
        and "position bias" in text.stdout
        and "100%" in text.stdout
        and "no label was written" in text.stdout
    )
    assert labels_count(db) == (0, 0)


def test_a_fair_judge_agrees_with_the_labels_and_a_length_biased_one_shows_it(tmp_path, env, server):
    db = make_comparison(tmp_path, env, server)
    with Store(db) as store:
        cid = store.comparison().id
        for p in PAIRS:
            store.set_label(cid, p["id"], "Ann <ann@example.com>", p["label"])
    labelled = labels_count(db)
    fair = judge(env, f"openai:judge-fair@{server.base_url}")
    assert fair.returncode == 0, fair.stderr
    s = json.loads(fair.stdout)["summary"]
    assert s["agreement"]["share"] == 1.0 and s["agreement"]["n"] == len(PAIRS) and s["kappa"] == 1.0
    assert s["flip_rate"]["k"] == 0 and s["position_bias"]["share"] == 0.5
    for e in json.loads(fair.stdout)["cases"]:
        assert e["verdict"] == CASE_OF[e["case_id"]]["expected"]["fair"]
    longer = judge(env, f"openai:judge-longer@{server.base_url}")
    lb = json.loads(longer.stdout)["summary"]
    # the longer answer wins every unequal-length tie, and a right-vs-wrong pair when it is the right one
    unequal = [p for p in PAIRS if len(p["baseline"]) != len(p["candidate"])]
    ties = [p for p in unequal if p["style"] in ("equivalent", "verbosity_only", "position_only")]
    right_longer = [
        p for p in unequal if p not in ties and (len(p["baseline"]) > len(p["candidate"])) == (p["style"] == "candidate_worse")
    ]
    assert (lb["length_bias"]["k"], lb["length_bias"]["n"]) == (2 * (len(ties) + len(right_longer)), 2 * len(unequal))
    assert s["length_bias"]["k"] == 2 * len(right_longer) and lb["length_bias"]["share"] > s["length_bias"]["share"]
    assert lb["flip_rate"]["k"] == 0  # swapping does not reveal a length bias; the length figure does
    assert lb["agreement"]["share"] < 1.0
    assert labels_count(db) == labelled  # the judge wrote no label, changed none


def test_an_anthropic_judge_speaks_the_messages_api(tmp_path, env, server):
    make_comparison(tmp_path, env, server, PAIRS[:4])
    out = judge(env, f"anthropic:judge-fair@{server.root_url}")
    assert out.returncode == 0, out.stderr
    bodies = [r.body for r in server.requests if r.path == "/v1/messages" and r.body.get("model") == "judge-fair"]
    assert len(bodies) >= 8 and all("response_format" not in b and "Rubric:" in b["system"] for b in bodies)
    assert json.loads(out.stdout)["summary"]["judged"] == 4


def test_bad_input_is_one_line_and_exit_2(tmp_path, env, server):
    missing = judge(env, f"openai:judge-fair@{server.base_url}", "--rubric", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2 and "--rubric" in missing.stderr and "no such file" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    out = judge(env, f"openai:judge-fair@{server.base_url}", "--rubric", str(empty))
    assert out.returncode == 2 and "empty" in out.stderr
    out = judge(env, "recorded:x.jsonl")
    assert out.returncode == 2 and "a judge must be a model" in out.stderr
    out = cli("judge", "--judge", "nope", env=env, process=True)  # the real process's exit code
    assert out.returncode == 2 and "--judge" in out.stderr


def test_a_rubric_file_changes_the_judgments_identity(tmp_path, env, server):
    make_comparison(tmp_path, env, server, PAIRS[:2])
    rubric = tmp_path / "rubric.txt"
    rubric.write_text("Prefer the answer that states the reference.\n")
    out = judge(env, f"openai:judge-fair@{server.base_url}", "--rubric", str(rubric))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["rubric_digest"] == J.rubric_digest(rubric.read_text()) != J.rubric_digest(J.DEFAULT_RUBRIC)
    sent = [
        r.body
        for r in server.requests
        if r.body.get("model") == "judge-fair" and "states the reference." in r.body["messages"][0]["content"]
    ]
    assert len(sent) == 4


def test_a_judge_that_is_the_candidate_is_warned_about(tmp_path, env, server):
    make_comparison(tmp_path, env, server, PAIRS[:1])
    out = judge(env, f"openai:cand@{server.base_url}")
    assert "is also the candidate" in out.stderr and "favours its own answers" in out.stderr


def test_a_judge_that_times_out_exits_1_and_the_same_command_retries_only_that(tmp_path, env, server):
    make_comparison(tmp_path, env, server, PAIRS[:3])
    marker = PAIRS[1]["prompt"] + " #" + PAIRS[1]["id"]
    server.script(marker, slow(5.0), slow(5.0))
    out = judge(env, f"openai:judge-fair@{server.base_url}", "--timeout", "0.3", "--attempts", "1")
    assert out.returncode == 1, out.stderr
    assert "judge calls failed" in out.stderr and "timed out" in out.stderr and PAIRS[1]["id"] in out.stderr
    doc = json.loads(out.stdout)
    assert doc["calls"]["errors"] == 2 and doc["summary"]["judged"] == 2
    server.reset()
    again = judge(env, f"openai:judge-fair@{server.base_url}", "--timeout", "5")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["calls"]["made"] == 2 and server.count(path="/v1/chat/completions") == 2
    assert json.loads(again.stdout)["summary"]["judged"] == 3


def test_a_judge_server_that_is_down_exits_1_and_is_given_up_on_after_one_call(tmp_path, env, server):
    make_comparison(tmp_path, env, server, PAIRS[:3])
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = judge(env, f"openai:judge-fair@http://127.0.0.1:{port}/v1", "--concurrency", "1")
    assert out.returncode == 1 and "connection refused" in out.stderr
    doc = json.loads(out.stdout)
    assert doc["calls"]["errors"] == 6 and doc["summary"]["judged"] == 0
    assert doc["calls"]["retries"] == 2  # the first call tried 3 times; the other 5 were not tried
    assert "not tried" in out.stderr


def test_500s_are_retried_and_an_unreadable_answer_is_recorded_as_such(tmp_path, env, server):
    make_comparison(tmp_path, env, server, PAIRS[:2])
    marker = PAIRS[0]["prompt"] + " #" + PAIRS[0]["id"]
    server.script(marker, error(500), "I would rather not say.", "I would rather not say.")
    out = judge(env, f"openai:judge-fair@{server.base_url}", "--concurrency", "1")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["calls"]["retries"] == 1 and doc["summary"]["unparsed_answers"] == 2
    entry = next(e for e in doc["cases"] if e["case_id"] == PAIRS[0]["id"])
    assert entry["verdict"] == "unparsed" and {o["raw"] for o in entry["orders"]} == {"I would rather not say."}
    assert {o["parsed"] for o in entry["orders"]} == {"none"} and {o["better"] for o in entry["orders"]} == {None}


def test_a_server_that_refuses_the_json_schema_is_asked_without_it(tmp_path, env, server):
    make_comparison(tmp_path, env, server, PAIRS[:3])
    server.script("<answer_1>", error(400, 'response_format type must be one of "text" or "json_object", but got: json_schema'))
    since = len(server.requests)
    out = judge(env, f"openai:judge-fair@{server.base_url}", "--concurrency", "1")
    assert out.returncode == 0, out.stderr
    assert "refused response_format json_schema" in out.stderr
    sent = [r.body for r in server.requests[since:]]
    assert len(sent) == 7 and "response_format" in sent[0] and all("response_format" not in b for b in sent[1:])
    assert json.loads(out.stdout)["summary"]["judged"] == 3


def test_by_default_only_changed_cases_are_judged(tmp_path, env, server):
    same = dict(PAIRS[0], id="unchanged-01", candidate=PAIRS[0]["baseline"])
    CASE_OF[same["id"]] = same
    make_comparison(tmp_path, env, server, [PAIRS[0], PAIRS[13], same])
    out = cli("judge", "--judge", f"openai:judge-fair@{server.base_url}", "--json", env=env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["cases_selected"] == "changed" and {e["case_id"] for e in doc["cases"]} == {PAIRS[0]["id"], PAIRS[13]["id"]}
    out = cli("judge", "--judge", f"openai:judge-fair@{server.base_url}", "--cases", "flagged", env=env)
    assert out.returncode == 0 and "Nothing to judge" in out.stderr


def test_samples_all_judges_every_pair_and_reports_shares(tmp_path, env, server):
    make_comparison(tmp_path, env, server, PAIRS[:2], "--samples", "3")
    first = judge(env, f"openai:judge-fair@{server.base_url}")
    assert json.loads(first.stdout)["calls"]["planned"] == 4
    out = judge(env, f"openai:judge-fair@{server.base_url}", "--samples", "all")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    # samples 1 and 2 answered like sample 0 (a deterministic server): the same judge calls, copied from the cache
    assert (
        doc["calls"]["planned"] == 12
        and doc["calls"]["resumed"] == 4
        and doc["calls"]["cached"] == 8
        and doc["calls"]["made"] == 0
    )
    assert doc["summary"]["pairs"] == 6
    for e in doc["cases"]:
        assert e["shares"] == {CASE_OF[e["case_id"]]["expected"]["fair"]: 1.0} and len(e["orders"]) == 6

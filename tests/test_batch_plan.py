"""The batch plan and resume, in process with real parts: a real store, the real replay plan, the
real batch clients against the loopback batch server (tests/batchserver.py). Chunks within the
providers' limits, custom ids Anthropic accepts, request bodies exactly the direct path's, and a
batch created by a process killed before it recorded the id is found again, not submitted twice."""

from __future__ import annotations

import json
import re

import pytest
from batchserver import BatchServer

from reviewer.batch import client_for
from reviewer.batch.plan import write_chunks
from reviewer.batch.runner import BatchSide, partial_replay_class
from reviewer.errors import UsageError
from reviewer.providers import parse_spec
from reviewer.replay import ReplayConfig
from reviewer.store import Store
from reviewer.store.batches import batches, begin_batch, update_batch
from reviewer.suite import load_suite

KEY = "sk-batchplan-Qw3Er5Ty7Ui9"


@pytest.fixture
def srv(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with BatchServer(api_key=KEY, polls=3) as s:
        yield s


def make(tmp_path, srv, n=7, samples=1, prompt="Question {i}?"):
    path = tmp_path / "s.yaml"
    cases = "".join(f'  - id: case/{i}\n    prompt: "{prompt.format(i=i)}"\n' for i in range(n))
    path.write_text(f"suite: plan\ndefaults:\n  params: {{temperature: 0, max_tokens: 40, seed: 1}}\ncases:\n{cases}")
    store = Store(tmp_path / "s.db")
    replay = partial_replay_class()(
        store, load_suite(path), parse_spec(f"openai:gpt-x@{srv.openai_url}"), parse_spec(f"anthropic:claude-y@{srv.anthropic_url}"),
        ReplayConfig(samples=samples),
    )  # fmt: skip
    replay.skip = frozenset({"baseline", "candidate"})
    comparison_id, runs, _ = replay.prepare()
    return store, replay, comparison_id, runs


def test_chunks_stay_within_the_limits_and_carry_the_direct_request(tmp_path, srv):
    store, replay, comp, runs = make(tmp_path, srv, n=7, samples=2)
    for side in ("baseline", "candidate"):
        p = replay.providers[side]
        client = client_for(p)
        client.limits.max_requests = 5  # an instance's limits: the split is the same code at 50,000
        todo = replay.full_plan(side, runs[side])
        ordinals = {c.id: i for i, c in enumerate(replay.loaded.suite.cases)}
        chunks = list(write_chunks(client, p, todo, comparison_id=comp, side=side, ordinals=ordinals, directory=tmp_path))
        assert [len(c.entries) for c in chunks] == [5, 5, 4]
        bodies = []
        for c in chunks:
            raw = c.path.read_bytes()
            assert len(raw) == c.size + len(client.head) + len(client.tail)
            if side == "baseline":
                lines = [json.loads(ln) for ln in raw.splitlines()]
                assert {ln["url"] for ln in lines} == {"/v1/chat/completions"}
                bodies += [ln["body"] for ln in lines]
            else:
                bodies += [r["params"] for r in json.loads(raw)["requests"]]
            ids = [e[0] for e in c.entries]
            assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", i) for i in ids)
        assert bodies == [p.request_body(call) for call, _ in todo]  # the direct path's bodies, in plan order
        assert "seed" not in bodies[0] or side == "baseline"  # Anthropic's body drops it, as the direct path does
        client.close()
    store.close()


def test_byte_limit_splits_and_an_oversized_request_is_named(tmp_path, srv):
    store, replay, comp, runs = make(tmp_path, srv, n=6)
    p = replay.providers["baseline"]
    client = client_for(p)
    todo = replay.full_plan("baseline", runs["baseline"])
    one = len(client.line("c1-b-0-0", p.request_body(todo[0][0])))
    client.limits.max_bytes = one * 2 + 10
    ordinals = {c.id: i for i, c in enumerate(replay.loaded.suite.cases)}
    chunks = list(write_chunks(client, p, todo, comparison_id=comp, side="baseline", ordinals=ordinals, directory=tmp_path))
    assert [len(c.entries) for c in chunks] == [2, 2, 2]
    assert all(c.size <= client.limits.max_bytes for c in chunks)
    client.limits.max_bytes = 50
    with pytest.raises(UsageError, match=r"case 'case/0' sample 0: its request is .* over the openai batch limit"):
        list(write_chunks(client, p, todo, comparison_id=comp, side="baseline", ordinals=ordinals, directory=tmp_path))
    client.close()
    store.close()


def test_a_batch_created_but_never_recorded_is_found_by_its_marker(tmp_path, srv):
    """The state a kill -9 inside the create call leaves: the row and its requests, the input file,
    no batch id. The next run finds the batch at the provider and submits nothing again."""
    store, replay, comp, runs = make(tmp_path, srv, n=4)
    side = BatchSide(store, replay, "baseline", runs["baseline"], comp)
    todo = side.plan()
    ordinals = {c.id: i for i, c in enumerate(replay.loaded.suite.cases)}
    (chunk,) = write_chunks(
        side.client, side.provider, todo, comparison_id=comp, side="baseline", ordinals=ordinals, directory=tmp_path
    )
    local = begin_batch(store, provider="openai", base_url=side.provider.base_url, model="gpt-x", endpoint=side.client.endpoint,
                        comparison_id=comp, run_id=runs["baseline"], side="baseline", requests=chunk.entries)  # fmt: skip
    fid = side.client.upload(chunk.path)
    update_batch(store, local, input_file_id=fid, results={"marker": "m-123"})
    created, _ = side.client.create(fid, "m-123")  # the provider has it; the process died before recording it
    assert side.plan() == []  # its requests are pending: not planned while the batch may answer
    side.recover()
    (rec,) = batches(store, run_id=runs["baseline"])
    assert rec.batch_id == created and rec.request_count == 4
    assert srv.creates == [created]
    side.close()
    store.close()


def test_a_row_that_never_reached_the_provider_is_dropped_and_planned_again(tmp_path, srv):
    store, replay, comp, runs = make(tmp_path, srv, n=3)
    side = BatchSide(store, replay, "candidate", runs["candidate"], comp)
    todo = side.plan()
    begin_batch(store, provider="anthropic", base_url=side.provider.base_url, model="claude-y", endpoint="/v1/messages",
                comparison_id=comp, run_id=runs["candidate"], side="candidate",
                requests=[("x", c.case_id, c.sample, k) for c, k in todo[:1]])  # fmt: skip
    assert len(side.plan()) == 2
    side.recover()
    assert batches(store) == [] and len(side.plan()) == 3
    side.close()
    store.close()

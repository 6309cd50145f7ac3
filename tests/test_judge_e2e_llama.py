"""`reviewer judge` against the real llama.cpp server of tests/test_e2e_llama.py (Gemma 3 270M): the
protocol and the storage, not the quality of a 270M judge. Marked ``e2e`` and skipped like that file
when llama-cpp-python or the weights are not installed."""

from __future__ import annotations

import json

import pytest
from test_e2e_llama import E2E_CASES, MODEL, _reviewer, replay, servers  # noqa: F401  (fixtures)

from reviewer.store import Store


@pytest.mark.e2e
def test_a_real_server_judges_both_orders_and_the_store_keeps_every_answer(servers, replay):  # noqa: F811
    env, db = replay["env"], replay["db"]
    spec = servers["baseline"]["spec"]
    res = _reviewer("judge", str(replay["comparison"]), "--judge", spec, "--cases", "all", "--json", "--db", str(db), env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "is also the baseline" in res.stderr  # it is the same model: warned
    doc = json.loads(res.stdout)
    assert doc["calls"]["planned"] == 2 * len(E2E_CASES) and doc["calls"]["errors"] == 0
    with Store(db) as store:
        js = store.judgments(replay["comparison"])
        labels = store.labels(replay["comparison"])
    assert len(js) == 2 * len(E2E_CASES) and labels == []
    for j in js:
        assert j.ok and j.raw is not None and j.resolved_model == MODEL and j.parsed is not None
        assert (j.better is None) == (j.parsed == "none")
    assert {e["verdict"] for e in doc["cases"]} <= {"candidate_better", "baseline_better", "tie", "inconsistent", "unparsed"}
    again = _reviewer("judge", str(replay["comparison"]), "--judge", spec, "--cases", "all", "--json", "--db", str(db), env=env)
    assert again.returncode == 0 and json.loads(again.stdout)["calls"]["made"] == 0

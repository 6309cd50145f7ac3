"""Judgments in the store: schema 3 added to an existing store without losing anything, typed
save / load / cache, replaced on the same identity, deleted with their comparison, never labels;
and the judge's modules keep to their layers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from reviewer.store import SCHEMA_VERSION, Judgment, Output, Store


def _comparison(store: Store) -> int:
    from reviewer.suite import LoadedSuite, Suite

    suite = Suite.model_validate({"suite": "s", "cases": [{"id": "a", "prompt": "hi"}]})
    from pathlib import Path

    sid = store.upsert_suite(LoadedSuite(suite=suite, path=Path("s.yaml"), format="yaml", case_lines={"a": 3}))
    runs = [store.create_run(suite_id=sid, provider="openai", model=m, base_url=None, params={}, samples=1) for m in ("b", "c")]
    store.save_outputs(runs[0], [Output("a", 0, text="one")])
    return store.create_comparison(suite_id=sid, baseline_run_id=runs[0], candidate_run_id=runs[1], name=None, status="complete")


def J(cid: int, position: str = "baseline_first", **kw) -> Judgment:
    return Judgment(comparison_id=cid, case_id="a", sample=0, judge="openai:j", rubric_digest="r1", position=position, **kw)


def test_an_older_store_gains_the_judgments_table_and_keeps_its_rows(tmp_path):
    db = tmp_path / "r.db"
    with Store(db) as store:
        cid = _comparison(store)
    con = sqlite3.connect(db)
    con.execute("DROP TABLE judgments")
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()
    with Store(db) as store:
        assert store.schema_version == SCHEMA_VERSION >= 3
        assert store.outputs(store.comparison(cid).baseline_run_id)[0].text == "one"
        assert store.judgments(cid) == []


def test_judgments_round_trip_replace_cache_and_cascade(tmp_path):
    with Store(tmp_path / "r.db") as store:
        cid = _comparison(store)
        store.save_judgments([
            J(cid, better="1", reason="r", parsed="json", raw='{"better":"1"}', resolved_model="j-1", cache_key="k1"),
            J(cid, "candidate_first", error="timed out", cache_key="k2"),
        ])  # fmt: skip
        got = store.judgments(cid)
        assert [(j.position, j.better, j.ok) for j in got] == [("baseline_first", "1", True), ("candidate_first", None, False)]
        assert got[0].raw == '{"better":"1"}' and got[0].resolved_model == "j-1" and got[0].created_at
        assert set(store.cached_judgments(["k1", "k2", "zz"])) == {"k1"}  # errors are never a cache hit
        store.save_judgments([J(cid, "candidate_first", better="2", parsed="prose", raw="Answer 2 is better.", cache_key="k2")])
        got = store.judgments(cid)
        assert len(got) == 2 and got[1].better == "2" and got[1].ok
        assert store.judgments(cid, judge="openai:other") == [] and len(store.judgments(cid, rubric_digest="r1")) == 2
        assert store.judges(cid) == [("openai:j", "r1", 2)]
        assert store.labels(cid) == []
        with store.transaction() as c:
            c.execute("DELETE FROM comparisons WHERE id = ?", (cid,))
        assert store.judgments(cid) == []


def test_a_verdict_outside_the_vocabulary_is_refused_by_the_table(tmp_path):
    with Store(tmp_path / "r.db") as store:
        cid = _comparison(store)
        try:
            store.save_judgments([J(cid, better="3")])
        except sqlite3.IntegrityError:
            pass
        else:
            raise AssertionError("better='3' was stored")
        assert store.judgments(cid) == []


def test_the_judge_layers_stay_apart():
    code = (
        "import sys\n"
        "import reviewer.judge\n"
        "pure = sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'aiohttp', 'sqlite3', 'textual', 'rich')"
        " or m in ('reviewer.store', 'reviewer.providers'))\n"
        "import reviewer.judge_replay, reviewer.commands.judge\n"
        "ui = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')\n"
        "print(pure, ui)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []"


def test_what_the_app_and_the_changelog_read_back_from_stored_judgments(tmp_path):
    from reviewer import judge as JJ

    with Store(tmp_path / "r.db") as store:
        cid = _comparison(store)
        store.save_judgments([
            J(cid, better="2", reason="candidate right", parsed="json", raw="{}"),
            J(cid, "candidate_first", better="1", reason="still the candidate", parsed="json", raw="{}"),
        ])  # fmt: skip
        store.set_label(cid, "a", "Ann <a@x>", "improvement")
        js = store.judgments(cid, judge="openai:j", rubric_digest="r1")
        rep = JJ.report(JJ.pairs_from_judgments(js, {("a", 0): (3, 9)}), [(lb.case_id, lb.verdict) for lb in store.labels(cid)])
    assert rep.cases == {"a": "candidate_better"} and rep.agreement.share == 1.0 and rep.length_bias.share == 1.0
    [entry] = JJ.case_entries(js, rep, "openai:j")
    assert entry["verdict"] == "candidate_better" and entry["reason"] == "candidate right" and entry["judge"] == "openai:j"
    assert [o["position"] for o in entry["orders"]] == ["baseline_first", "candidate_first"]
    assert JJ.pairs_from_judgments(js[:1], {("a", 0): (3, 9)}) == []  # one order only: not judged

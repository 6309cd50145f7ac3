"""The assessment cache (schema v5): one row per case, the triage in plain columns, a case's full
detail recomputed from its outputs on demand; a v4 cache is dropped and computed again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_analysis import make_comparison
from test_assessment_pool import CHECKS, OUTPUTS

from reviewer.analysis import assess_comparison, cache_key, cached_assessments, detail, ranked
from reviewer.store import SCHEMA_VERSION, Store
from reviewer.store.records import VERDICTS
from reviewer.store.schema import V1_SQL, _sql_list


def set_back(store: Store, version: int, script: str, *rows: tuple[str, tuple]) -> Path:
    """Close ``store`` and make its file what an older release left: ``script`` (SQL) run, then
    each (statement, parameters), at schema ``version``. Its path, for the next open to migrate."""
    path = store.path
    store.close()
    conn = sqlite3.connect(path)
    conn.executescript(script)
    for sql, params in rows:
        conn.execute(sql, params)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
    return path


def test_a_v4_cache_is_dropped_and_recomputed(tmp_path):
    store, comp = make_comparison(tmp_path, OUTPUTS, checks=CHECKS)
    expected = ranked(store, comp)
    # emulate a store of the previous release: v4's table, holding its one JSON blob
    old = V1_SQL.format(verdicts=_sql_list(VERDICTS))
    v4_table = old[old.index("CREATE TABLE assessments") : old.index("CREATE TABLE signoffs")]
    path = set_back(store, 4, "DROP TABLE assessment_cases; DROP TABLE assessments;" + v4_table,
                    ("INSERT INTO assessments VALUES (?, 'some-old-key', '[{\"case_id\": \"same\"}]', 't')", (comp,)))  # fmt: skip
    with Store(path) as again:
        assert again.schema_version == SCHEMA_VERSION >= 5
        assert again.assessment_key(comp) is None  # the old blob is gone
        assert cached_assessments(again, again.comparison(comp)) is None
        assert ranked(again, comp) == expected
        assert again.assessment_key(comp) == cache_key(again, again.comparison(comp))


def test_detail_on_demand_is_the_full_assessment(tmp_path):
    store, comp = make_comparison(tmp_path, OUTPUTS, checks=CHECKS)
    full = {a.case_id: a for a in assess_comparison(None, store.load_comparison(comp))}
    assert detail(store, comp, "broke-json") == full["broke-json"]
    rows = ranked(store, comp, detail=lambda cid: detail(store, comp, cid))
    row = next(r for r in rows if r.case_id == "missing")
    assert row.flags == full["missing"].flags and row.tier == full["missing"].tier
    # any other attribute of an Assessment comes from the case's full assessment, computed once
    assert row.candidate_signals == full["missing"].candidate_signals
    assert row.pair == full["missing"].pair and row.full() is row.full()
    bare = cached_assessments(store, store.comparison(comp))
    assert bare == rows  # equal rows: the loader is not part of a row's value
    with pytest.raises(AttributeError):
        _ = bare[0].candidate_signals  # no loader, no detail
    with pytest.raises(LookupError):
        detail(store, comp, "no-such-case")


def test_a_stale_or_read_only_cache_is_computed_without_harm(tmp_path):
    store, comp = make_comparison(tmp_path, OUTPUTS, checks=CHECKS)
    first = ranked(store, comp)
    key = store.assessment_key(comp)
    from reviewer.store import Output

    store.save_outputs(store.comparison(comp).candidate_run_id, [Output("same", 0, "The sky is green now.")])
    assert cached_assessments(store, store.comparison(comp)) is None  # an output changed: stale
    second = ranked(store, comp)
    assert store.assessment_key(comp) != key
    assert next(r for r in second if r.case_id == "same").change > 0
    assert next(r for r in first if r.case_id == "same").change == 0
    store.save_outputs(store.comparison(comp).candidate_run_id, [Output("same", 0, "The sky is blue.")])
    path = store.path
    store.close()
    with Store(path, readonly=True) as ro:
        rows = ranked(ro, comp)  # computed, not saved (a read-only store)
        assert rows == first
        assert cached_assessments(ro, ro.comparison(comp)) is None


def test_an_earlier_engines_ranking_of_the_same_outputs_is_offered_only_as_such(tmp_path):
    """earlier_assessments: the cache an earlier diff engine wrote for these same outputs (after
    an upgrade), for the app to show while it ranks again. Not when the cache is fresh, not
    when an output changed since, not when its packed triage cannot be read."""
    from reviewer.analysis import earlier_assessments
    from reviewer.store import Output

    store, comp = make_comparison(tmp_path, OUTPUTS, checks=CHECKS)
    expected = ranked(store, comp)
    c = store.comparison(comp)
    key = cache_key(store, c)
    assert earlier_assessments(store, c) is None  # fresh: cached_assessments gives it
    store.db.execute("UPDATE assessments SET key = ?", ("0123456789abcdef:" + key.partition(":")[2],))
    assert cached_assessments(store, c) is None  # stale for counts and gates...
    assert list(earlier_assessments(store, c)) == expected  # ...yet the same outputs' order
    blob = store.db.execute("SELECT triage FROM assessments").fetchone()[0]
    store.db.execute("UPDATE assessments SET triage = ?", (blob[:-3],))
    assert earlier_assessments(store, c) is None  # damaged: not read
    store.db.execute("UPDATE assessments SET triage = ?", (blob,))
    store.save_outputs(c.candidate_run_id, [Output(expected[0].case_id, 7, "a new answer")], replace=False)
    assert earlier_assessments(store, c) is None  # the outputs changed: another comparison's order

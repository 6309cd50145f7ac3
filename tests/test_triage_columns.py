"""The cached triage packed beside its rows (schema v7). Read back it is every row as the rows
give it. A value this version did not write, or a cache written before v7, is read from the rows.
The app's list takes it without making a row per case: each case's row is made when first read,
equal to the one the row-by-row path gives."""

from __future__ import annotations

import random
import struct

import pytest
from test_analysis import make_comparison
from test_app_scale_state import make as make_state
from test_assessment_cache import set_back
from test_assessment_pool import CHECKS, OUTPUTS

from reviewer.analysis import Triage, cache_key, cached_assessments, ranked
from reviewer.analysis.rows import rank_of
from reviewer.analysis.triage_columns import pack_triage, unpack_triage
from reviewer.session.state import ReviewState
from reviewer.store import SCHEMA_VERSION, Store

DAMAGE = (ValueError, TypeError, IndexError, struct.error)


def rows_of(n: int, seed: int = 5) -> list[tuple]:
    """Stored rows (without the summary) with every kind of value: None and 0.0 apart, each flip,
    no flags and several, ids that are not plain ASCII."""
    rng = random.Random(seed)
    flags = ["", "negative_flip", "format_drift tool_drift", "error truncation refusal_flip"]
    out = []
    for i in range(n):
        within = None if i % 5 == 0 else (0.0 if i % 5 == 1 else rng.random())
        noise_p = None if i % 3 == 0 else rng.random()
        case_id = [f"c-{i}", f'quote " and \\ {i}', f"Straße-\u202e-{i}", f"👩\u200d💻 {i}"][i % 4]
        out.append((case_id, rng.randint(0, 3), rng.random() * (i % 7), within, i % 2, int(i % 11 != 0), noise_p,
                    ["none", "negative", "positive"][i % 3], flags[i % 4]))  # fmt: skip
    return out


def test_packed_rows_read_back_as_the_rows():
    rows = rows_of(3_001)
    got = unpack_triage(pack_triage(rows))
    assert got == Triage.from_rows(rows) == [rank_of(r) for r in rows]
    assert [a.within for a in got] == [r[3] for r in rows]  # None stays None, 0.0 stays 0.0
    assert got[-1] == rank_of(rows[-1]) and got[10:13] == [rank_of(r) for r in rows[10:13]]
    assert unpack_triage(pack_triage([])) == []


def test_a_value_this_version_did_not_write_is_refused():
    blob = pack_triage(rows_of(50))
    at_flips = len(blob) - 50 * 4 - 50  # the flip codes, then the flags' indexes
    for bad in (b"", blob[:-1], blob + b"\0", bytes([2]) + blob[1:], blob[:at_flips] + b"\x09" + blob[at_flips + 1 :],
                blob[:-4] + b"\xff\xff\xff\x7f", blob[:9] + b"{" + blob[10:]):  # fmt: skip
        with pytest.raises(DAMAGE):
            unpack_triage(bad)


def test_the_cache_reads_its_packed_triage_else_its_rows(tmp_path):
    store, comp = make_comparison(tmp_path, OUTPUTS, checks=CHECKS)
    expected = ranked(store, comp)
    c = store.comparison(comp)
    key = cache_key(store, c)
    packed = store.assessment_triage(comp, key)
    assert packed is not None and packed[0] == len(expected) and unpack_triage(packed[1]) == expected
    assert cached_assessments(store, c) == expected
    assert store.assessment_triage(comp, "another key") is None
    # damaged, or written before v7: the rows are read instead
    for value in (b"\x01garbage", pack_triage(store.assessment_rows(comp, key)[:-1]), None):
        store.db.execute("UPDATE assessments SET triage = ? WHERE comparison_id = ?", (value, comp))
        assert cached_assessments(store, c) == expected


def test_a_v6_store_migrates_and_reads_its_cache_from_the_rows(tmp_path):
    store, comp = make_comparison(tmp_path, OUTPUTS, checks=CHECKS)
    expected = ranked(store, comp)
    path = set_back(store, 6, "ALTER TABLE assessments DROP COLUMN triage")
    with Store(path) as again:
        assert again.schema_version == SCHEMA_VERSION >= 7
        c = again.comparison(comp)
        assert again.assessment_triage(comp, cache_key(again, c)) is None
        assert cached_assessments(again, c) == expected


def test_the_list_takes_the_columns_as_it_takes_the_rows():
    state, cases = make_state(600)
    ranking = [e.assessment for e in sorted(state.entries, key=lambda e: (e.rank is None, e.rank)) if e.rank is not None]
    assert len(ranking) == 560  # 40 cases unranked: they rank last
    rows = [(r.case_id, r.tier, r.change, None, int(r.noise), 1, None, "none", " ".join(r.flags)) for r in ranking]
    columns = Triage.from_rows(rows)
    by_rows, by_columns = ReviewState(cases, "x"), ReviewState(cases, "x")
    by_rows.set_assessments([rank_of(r) for r in rows])
    by_columns.set_assessments(columns)
    fields = ("rank", "tier", "change", "noise", "flags", "flagged")
    assert [[getattr(e, f) for f in fields] for e in by_columns.entries] == [
        [getattr(e, f) for f in fields] for e in by_rows.entries
    ]
    assert [e.id for e in by_columns.view] == [e.id for e in by_rows.view]
    assert by_columns.counts() == by_rows.counts()
    assert by_columns.flag_index() == by_rows.flag_index()
    assert all(e._assessment is None for e in by_columns.entries)  # no row made yet
    assert [e.assessment for e in by_columns.entries] == [e.assessment for e in by_rows.entries]
    # a case listed twice (a hand-made list only): the later place counts, on both paths
    twice = Triage.from_rows([*rows, rows[0]])
    by_rows.set_assessments([rank_of(r) for r in [*rows, rows[0]]])
    by_columns.set_assessments(twice)
    assert [e.id for e in by_columns.view] == [e.id for e in by_rows.view]
    assert [e.rank for e in by_columns.entries] == [e.rank for e in by_rows.entries]


def test_a_paused_staging_stages_the_same_and_pauses_every_so_many_entries():
    """The review app's rank worker stages with ``pause`` (it waits there while a key is handled):
    the same list on both paths, paused every PAUSE_EVERY entries of the ranking."""
    state, cases = make_state(600)
    ranking = [e.assessment for e in sorted(state.entries, key=lambda e: (e.rank is None, e.rank)) if e.rank is not None]
    rows = [(r.case_id, r.tier, r.change, None, int(r.noise), 1, None, "none", " ".join(r.flags)) for r in ranking]
    for given in ([rank_of(r) for r in rows], Triage.from_rows(rows)):
        plain, paused = ReviewState(cases, "x"), ReviewState(cases, "x")
        paused.PAUSE_EVERY = 100
        calls: list[int] = []
        plain.commit_assessments(plain.stage_assessments(given))
        paused.commit_assessments(paused.stage_assessments(given, pause=lambda calls=calls: calls.append(1)))
        assert len(calls) == len(rows) // 100 == 5
        assert [e.id for e in paused.view] == [e.id for e in plain.view]
        assert [(e.rank, e.tier, e.change, e.flags) for e in paused.entries] == [
            (e.rank, e.tier, e.change, e.flags) for e in plain.entries
        ]
        assert paused.counts() == plain.counts() and paused.flag_index() == plain.flag_index()

"""The first assessment over chunks of cases, in this process or in a pool of worker processes:
the same rows in the same order as assessing every loaded case in one go."""

from __future__ import annotations

import sys

from test_analysis import make_comparison
from toolcomparison import tool_comparison

from reviewer.analysis import assess_comparison, assess_rows, ranked, stored_rows, summaries
from reviewer.analysis.pool import _context
from reviewer.analysis.rows import decode_summaries

OUTPUTS = {
    "same": (["The sky is blue."] * 3, ["The sky is blue."] * 3),
    "noisy": (["one two three", "four five six", "seven eight nine"], ["alpha beta gamma", "one two three", "x y z"]),
    "changed": (["The refund takes 5 days."] * 3, ["Refunds are instant now, enjoy!"] * 3),
    "broke-json": (['{"intent": "refund"}'] * 3, ['```json\n{"intent": "refund"}\n```'] * 3),
    "refused": (["Sure, run kill -9 PID."] * 3, ["I can't help with that."] * 3),
    "missing": (["x", "y", "z"], ["x"]),  # the candidate lacks samples 1 and 2: errors
    **{f"filler-{i:02d}": ([f"answer {i} one", f"answer {i} two", f"answer {i} one"], [f"answer {i} two"] * 3) for i in range(9)},
}
CHECKS = {"broke-json": [{"regex": "^\\{"}], "changed": [{"max_words": 4}], "refused": [{"not_refusal": True}]}


def test_pool_and_serial_chunks_give_the_rows_of_the_whole_assessment(tmp_path):
    store, comp = make_comparison(tmp_path, OUTPUTS, checks=CHECKS)
    comparison = store.comparison(comp)
    data = store.load_comparison(comp)
    whole = stored_rows(data, assess_comparison(None, data))
    serial = assess_rows(store, comparison, workers=0, chunk=4)
    seen: list[tuple[int, int]] = []
    pooled = assess_rows(store, comparison, workers=2, chunk=2, progress=lambda d, t: seen.append((d, t)))
    assert serial == whole
    assert pooled == whole  # same cases, same order, same bytes of every summary
    assert {r[0] for r in whole if r[1] == 0} >= {"broke-json", "refused", "missing"}  # flagged first
    assert [r[1] for r in whole] == sorted(r[1] for r in whole)
    assert seen[0] == (0, len(OUTPUTS)) and seen[-1] == (len(OUTPUTS), len(OUTPUTS))
    assert len(seen) == 1 + (len(OUTPUTS) + 1) // 2  # then once a chunk
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_pool_rows_of_tool_calls_equal_the_serial_ones(tmp_path):
    store, comp = tool_comparison(tmp_path, samples=3)
    comparison = store.comparison(comp)
    data = store.load_comparison(comp)
    whole = stored_rows(data, assess_comparison(None, data))
    pooled = assess_rows(store, comparison, workers=2, chunk=1)
    assert pooled == whole
    # what the cache gives the changelog is what the full assessments sum up to, computed or read
    expected = decode_summaries(whole)
    assert any(s.tool_changes for s in expected) and any(s.candidate.stats.tool_calls for s in expected)
    assert summaries(store, comparison, workers=2) == expected
    assert store.assessment_key(comp) is not None
    assert summaries(store, comparison) == expected


def test_the_environment_chooses_the_workers_and_the_cache_is_filled_once(tmp_path, monkeypatch):
    store, comp = make_comparison(tmp_path, OUTPUTS, checks=CHECKS)
    monkeypatch.setenv("REVIEWER_ASSESS_WORKERS", "2")
    first = ranked(store, comp)
    assert store.assessment_key(comp) is not None
    calls = []
    again = ranked(store, comp, progress=lambda d, t: calls.append(d))
    assert again == first and calls == []  # read from the cache: nothing assessed
    assert [r.case_id for r in first] == [a.case_id for a in assess_comparison(None, store.load_comparison(comp))]


def test_a_threaded_process_starts_its_pool_without_forking_itself(tmp_path):
    """The app runs threads: the pool's workers come from the fork server, never a fork of it."""
    import threading

    store, comp = make_comparison(tmp_path, OUTPUTS, checks=CHECKS)
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=True)
    t.start()
    try:
        rows = assess_rows(store, store.comparison(comp), workers=2, chunk=3)
    finally:
        stop.set()
    assert rows == assess_rows(store, store.comparison(comp), workers=0)
    if sys.platform.startswith("linux"):
        assert _context().get_start_method() == "forkserver"


def test_a_bad_worker_count_is_a_usage_error_naming_the_variable(tmp_path, monkeypatch):
    import pytest

    from reviewer.errors import UsageError

    store, comp = make_comparison(tmp_path, OUTPUTS, checks=CHECKS)
    for bad in ("two", "-1", "1.5", "٣"):
        monkeypatch.setenv("REVIEWER_ASSESS_WORKERS", bad)
        with pytest.raises(UsageError, match="REVIEWER_ASSESS_WORKERS"):
            ranked(store, comp)
    assert store.assessment_key(comp) is None  # nothing half-written
    monkeypatch.setenv("REVIEWER_ASSESS_WORKERS", " 0 ")
    assert [r.case_id for r in ranked(store, comp)] == [a.case_id for a in assess_comparison(None, store.load_comparison(comp))]

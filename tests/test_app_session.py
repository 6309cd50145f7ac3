"""The app's access to the store (reviewer.session): per-case reads, the ranking child process
and its cache, other reviewers' label changes, and the label writer's order and retries."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from test_app_data import OUTPUTS, build_comparison

from reviewer.session.labels import LabelOp, LabelWriter
from reviewer.session.session import Session
from reviewer.store import Store

ME = "Ann <ann@example.com>"


def test_case_outputs_are_per_side_in_sample_order(tmp_path):
    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        s = Session(store, cid, ME)
        outs = s.case_outputs("shipping-times")
        assert [o.text for o in outs.baseline] == OUTPUTS["shipping-times"][0]
        assert [o.text for o in outs.candidate] == OUTPUTS["shipping-times"][1]
        assert s.case_outputs("no-such-case").baseline == []
        prov = s.provenance()
        assert not prov["baseline"].fingerprint_changed
        assert prov["candidate"].fingerprints == {"fp_c1": 26, "fp_c2": 3}  # 29 answered: one call failed
        assert prov["candidate"].usual() == ("gpt-4o-2024-08-06", "fp_c1")
        assert s.search_outputs("PHARMACIST") == {"dosage-question"}
        s.close()


def test_the_rank_child_process_fills_the_cache_the_app_reads(tmp_path):
    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        s = Session(store, cid, ME)
        assert s.cached_assessments() is None
        proc = subprocess.run(
            [sys.executable, "-m", "reviewer.session.rank", str(db), str(cid)], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.split("\n")
        assert lines[0] == f"progress 0 {len(OUTPUTS)}" and f"progress {len(OUTPUTS)} {len(OUTPUTS)}" in lines
        assert "textual" not in proc.stderr
        cached = s.cached_assessments()
        assert cached is not None
        assert [a.case_id for a in cached] == [a.case_id for a in s.assessments()]
        assert list(cached) == s.assessments()
        s.close()


def test_the_rank_child_yields_the_cpu_to_the_app(tmp_path):
    """The ranking (and the pool it forks) runs niced: the app's keys come first on a busy machine."""
    db, cid = build_comparison(tmp_path)
    code = "import os, sys\nfrom reviewer.session.rank import main\nrc = main(sys.argv[1:])\nprint('nice', os.nice(0), rc)"
    proc = subprocess.run([sys.executable, "-c", code, str(db), str(cid)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    from reviewer.session.rank import RANK_NICE

    assert RANK_NICE >= 10
    assert proc.stdout.splitlines()[-1] == f"nice {min(os.nice(0) + RANK_NICE, 19)} 0"


def test_rank_reports_progress_and_returns_the_triage(tmp_path):
    db, cid = build_comparison(tmp_path)
    seen = []
    with Store(db) as store:
        s = Session(store, cid, ME)
        ranked = s.rank(progress=lambda done, total: seen.append((done, total)))
        assert [a.case_id for a in ranked] == [a.case_id for a in s.assessments()]
        assert seen[0] == (0, len(OUTPUTS)) and seen[-1] == (len(OUTPUTS), len(OUTPUTS))
        assert s.rank(progress=lambda d, t: seen.append("again")) == ranked  # from the cache now
        assert "again" not in seen
        s.close()


def test_label_token_moves_with_any_reviewers_change(tmp_path):
    db, cid = build_comparison(tmp_path)
    with Store(db) as store:
        s = Session(store, cid, ME)
        before = s.label_token()
        store.set_label(cid, "greeting", "Bob", "noise")
        after = s.label_token()
        assert after > before
        store.remove_label(cid, "greeting", "Bob")
        assert s.label_token() > after
        s.close()


def test_label_writer_keeps_order_and_retries_after_a_locked_database(tmp_path):
    db, cid = build_comparison(tmp_path)
    store = Store(db, busy_timeout_ms=50)
    writer = LabelWriter(store, cid, ME)
    writer.submit(LabelOp("greeting", "regression", 2, "first"))
    writer.submit(LabelOp("greeting", "acceptable", None, "second"))
    writer.submit(LabelOp("refund-policy", "noise"))
    writer.submit(LabelOp("refund-policy", None))
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    failures = []
    assert writer.drain(on_error=lambda op, e: failures.append((op.case_id, type(e).__name__))) == 0
    assert failures == [("greeting", "OperationalError")]
    assert writer.pending == 4  # nothing dropped
    blocker.execute("ROLLBACK")
    blocker.close()
    assert writer.drain() == 4
    labels = {(lab.case_id, lab.reviewer): (lab.verdict, lab.severity, lab.note) for lab in store.labels(cid)}
    assert labels == {("greeting", ME): ("acceptable", None, "second")}
    events = store.db.execute("SELECT case_id, verdict FROM label_events ORDER BY id").fetchall()
    assert events == [("greeting", "regression"), ("greeting", "acceptable"), ("refund-policy", "noise"), ("refund-policy", None)]
    store.close()

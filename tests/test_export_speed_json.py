"""The JSON renderer's fast path (a generated writer per model class, the case rows escaped in one
pass) writes what the plain definition writes: every case row is ``json_dumps`` of the case's
``to_jsonable`` dict, hidden characters escaped, including at the edges of strings."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import tempfile
import threading
from contextlib import suppress
from pathlib import Path

import pytest
from test_export import ADA, BOB, NOW, make_comparison

from reviewer.export.changelog import iter_json, load_changelog, render_json, review_state_digest
from reviewer.export.changelog.jsondoc import to_dict
from reviewer.untrusted import json_dumps

HOSTILE = [
    "\u200dstarts with a joiner",
    "ends with a joiner\u200d",
    "\ufe0fa variation selector first",
    "bidi \u202eevil\u202c and a bell \x07 and e\u0301 and 👩\u200d💻",
    'quotes " and \\ backslashes\nnew line',
    "plain ASCII but a DEL \x7f in it",
]


def reference(cl) -> str:
    """render_json as first written: one json_dumps per case row."""
    doc = to_dict(cl)
    cases = doc.pop("cases")
    head = json_dumps(doc, indent=2)
    rows = ",\n".join("    " + json_dumps(c, separators=(", ", ": ")) for c in cases)
    return head[:-2] + ',\n  "cases": [\n' + rows + ("\n  ]\n}\n" if cases else "  ]\n}\n")


def test_the_json_rows_are_the_plain_definition(tmp_path):
    store, cid = make_comparison(tmp_path)
    cases = [c.id for c in store.load_comparison(cid).suite.suite.cases]
    for i, note in enumerate(HOSTILE):
        store.set_label(cid, cases[i % len(cases)], BOB, "regression", severity=2, note=note, at=f"2025-03-13T11:0{i}:00.000Z")
    cl = load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True)
    cl.cases[0].change = math.nan  # a non-finite float: null in both
    cl.cases[1].change = 1 / 3
    got = render_json(cl)
    assert got == reference(cl)
    assert "\\u200d" in got and "\\u202e" in got and "\u202e" not in got  # hidden characters escaped, in the rows too
    doc = json.loads(got)
    assert doc["cases"][0]["change"] is None and doc["cases"][1]["change"] == round(1 / 3, 6)
    assert {lab["note"] for c in doc["cases"] for lab in c["labels"]} >= set(HOSTILE)


def test_rows_escaped_in_chunks_join_as_one(tmp_path):
    """More than one chunk of 1,000 rows, a hostile note at the chunk edges: the same bytes."""
    store, cid = make_comparison(tmp_path)
    first = store.load_comparison(cid).suite.suite.cases[0].id
    store.set_label(
        cid, first, BOB, "regression", severity=1, note="\u200d" + HOSTILE[3] + "\u200d", at="2025-03-13T11:00:00.000Z"
    )
    cl = load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True)
    cl.cases = [cl.cases[i % len(cl.cases)] for i in range(2_001)]  # rows 0, 999/1000, 1999/2000 among them
    cl.cases[999], cl.cases[1000], cl.cases[2000] = (next(c for c in cl.cases if c.id == first),) * 3
    got = render_json(cl)
    assert got == reference(cl)
    assert len(json.loads(got)["cases"]) == 2_001


def test_entries_shared_by_many_cases_are_written_as_each_case_holds_them(tmp_path):
    """Cases with the same check figures share one check entry and one consistency (the build
    makes each once); the writer makes their dicts once per chunk of rows. Every row is still
    what the case's own dict says, across chunks, and nothing is remembered afterwards."""
    from test_changelog_significance import answer, build, make

    from reviewer.export.changelog import jsondoc

    store, cid = make(tmp_path, 30, lambda i, s: answer(i, 60 if i % 3 else 8), samples=2,
                      checks=", checks: [{max_words: 50}, {contains: word}]")  # fmt: skip
    cl = build(store, cid)
    shared = [c for c in cl.cases if c.checks[0] is cl.cases[0].checks[0]]
    assert len(shared) >= 2 and all(c.consistency is shared[0].consistency for c in shared)
    assert len({id(c.checks[0]) for c in cl.cases}) >= 2  # two sets of figures: both kinds of rows
    cl.cases = [cl.cases[i % len(cl.cases)] for i in range(2_100)]  # three chunks
    got = render_json(cl)
    assert got == reference(cl)
    assert getattr(jsondoc._CHUNK, "memo", None) is None
    assert all(
        isinstance(c["tags"], list) and isinstance(c["flags"], list) for c in to_dict(cl)["cases"]
    )  # outside a chunk: lists
    rows = json.loads(got)["cases"]
    assert all(r["checks"] == rows[i % 30]["checks"] and r["consistency"] == rows[i % 30]["consistency"]
               for i, r in enumerate(rows))  # fmt: skip


def all_children() -> set[int]:
    """This process's child processes (Linux: every thread's list)."""
    out: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        with suppress(FileNotFoundError, ProcessLookupError):  # a thread that ended since the listing
            out |= {int(p) for p in (task / "children").read_text().split()}
    return out


@pytest.fixture
def children():
    """This process's children started during the test (earlier tests may leave a fork server)."""
    assert threading.active_count() == 1, threading.enumerate()  # else no fork (an earlier test left a thread)
    before = all_children()
    return lambda: all_children() - before


def big_changelog(tmp_path, n: int = 4_321):
    store, cid = make_comparison(tmp_path)
    first = store.load_comparison(cid).suite.suite.cases[0].id
    store.set_label(cid, first, BOB, "regression", severity=1, note=HOSTILE[3], at="2025-03-13T11:00:00.000Z")
    cl = load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True)
    store.close()
    cl.cases = [cl.cases[i % len(cl.cases)] for i in range(n)]
    return cl


linux_only = pytest.mark.skipif(sys.platform != "linux", reason="the rows are made in a forked child on Linux only")


@linux_only
def test_rows_made_by_a_forked_child_are_the_same_document(tmp_path, monkeypatch, children):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cl = big_changelog(tmp_path)
    serial = "".join(iter_json(cl, fork_from=10**9))
    assert serial == reference(cl)
    pieces = iter_json(cl, fork_from=1_000)
    got = [next(pieces), next(pieces)]  # the head, then the first rows: the child was started before them
    assert len(children()) == 1  # at work on the second half
    got += list(pieces)
    assert "".join(got) == serial
    assert not children() and not list(tmp_path.glob("reviewer-export-*"))  # reaped, its file removed


@linux_only
def test_a_child_that_dies_leaves_its_half_to_the_parent(tmp_path, monkeypatch, children):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cl = big_changelog(tmp_path, 40_000)  # its half takes the child ~0.5 s: killed long before it ends
    serial = "".join(iter_json(cl, fork_from=10**9))
    pieces = iter_json(cl, fork_from=1_000)
    got = [next(pieces), next(pieces)]
    (pid,) = children()
    os.kill(pid, signal.SIGKILL)
    got += list(pieces)
    assert "".join(got) == serial
    assert not children() and not list(tmp_path.glob("reviewer-export-*"))


@linux_only
def test_an_abandoned_export_stops_its_child(tmp_path, monkeypatch, children):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cl = big_changelog(tmp_path)
    pieces = iter_json(cl, fork_from=1_000)
    next(pieces), next(pieces)
    assert len(children()) == 1
    pieces.close()  # what a failed write does to the generator
    assert not children() and not list(tmp_path.glob("reviewer-export-*"))


@linux_only
def test_no_fork_while_another_thread_runs(tmp_path, children):
    cl = big_changelog(tmp_path)
    serial = "".join(iter_json(cl, fork_from=10**9))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        pieces = iter_json(cl, fork_from=1_000)
        got = [next(pieces), next(pieces)]
        assert not children()
        got += list(pieces)
    finally:
        stop.set()
        other.join()
    assert "".join(got) == serial


def small_store(tmp_path):
    store, cid = make_comparison(tmp_path)
    first = store.load_comparison(cid).suite.suite.cases[0].id
    store.set_label(cid, first, BOB, "regression", severity=1, note=HOSTILE[3], at="2025-03-13T11:00:00.000Z")
    return store, cid


@linux_only
def test_rows_started_ahead_during_the_build_are_the_same_document(tmp_path, monkeypatch, children):
    """The export starts the rows' child when the build's cases are final (before the sums and
    before any writing): the document is the same bytes, and nothing is left behind."""
    from reviewer.export.changelog import RowsAhead

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    store, cid = small_store(tmp_path)
    serial = "".join(iter_json(load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True)))
    with RowsAhead(fork_from=1) as ahead:
        cl = load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True, cases_ready=ahead)
        assert len(children()) == 1  # started inside the build, before a row is asked for
        assert cl._state_digest is None  # not made here: the child makes it first
        got = "".join(iter_json(cl, ahead=ahead))
    store.close()
    from_child, cl._state_digest = cl._state_digest, None
    assert from_child == review_state_digest(cl)
    assert got == serial == reference(cl)
    assert not children() and not list(tmp_path.glob("reviewer-export-*"))


@linux_only
@pytest.mark.parametrize("how", ["fails on the digest", "is killed"])
def test_a_child_started_ahead_that_fails_leaves_every_row_to_the_parent(tmp_path, monkeypatch, children, how):
    """A child that fails first (its digest: a real failure in the child) or is killed (it may
    have finished already: either way the same document) leaves what it did not write to the parent."""
    from reviewer.export.changelog import RowsAhead

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    store, cid = small_store(tmp_path)
    with RowsAhead(fork_from=1) as ahead:
        ready = (lambda cases, digest: ahead(cases, lambda: str(1 / 0))) if how == "fails on the digest" else ahead
        cl = load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True, cases_ready=ready)
        (pid,) = children()
        if how == "is killed":
            os.kill(pid, signal.SIGKILL)
        got = "".join(iter_json(cl, ahead=ahead))
    store.close()
    assert got == reference(cl)
    assert not children() and not list(tmp_path.glob("reviewer-export-*"))


@linux_only
def test_a_child_started_ahead_is_stopped_when_the_export_fails_before_writing(tmp_path, monkeypatch, children):
    """A failure after the fork (the store's check, a refusal of unreviewed cases, a bad key):
    leaving the block kills and reaps the child and removes its file; and a child started for
    other cases than the document's is never used for it."""
    from reviewer.export.changelog import RowsAhead

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    store, cid = small_store(tmp_path)
    with pytest.raises(RuntimeError, match="refused"), RowsAhead(fork_from=1) as ahead:
        load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True, cases_ready=ahead)
        assert len(children()) == 1
        raise RuntimeError("refused")
    assert not children() and not list(tmp_path.glob("reviewer-export-*"))
    with RowsAhead(fork_from=1) as ahead:
        cl = load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True, cases_ready=ahead)
        cl.cases = cl.cases[::-1]  # not the cases the child writes
        got = "".join(iter_json(cl, ahead=ahead, fork_from=10**9))
        assert got == reference(cl)
        assert len(children()) == 1  # still the ahead's, never taken
    store.close()
    assert not children() and not list(tmp_path.glob("reviewer-export-*"))


@linux_only
def test_the_stores_check_thread_does_not_hold_the_rows_back(tmp_path, children):
    """The store's check (SQLite on a connection of its own) may run beside the fork: its
    thread holds no lock the child takes. Any other thread still means no fork."""
    from reviewer.store import CHECK_THREAD

    cl = big_changelog(tmp_path)
    serial = "".join(iter_json(cl, fork_from=10**9))
    for name, forks in ((CHECK_THREAD, True), ("someone-else", False)):
        stop = threading.Event()
        other = threading.Thread(target=stop.wait, name=name)
        other.start()
        try:
            pieces = iter_json(cl, fork_from=1_000)
            got = [next(pieces), next(pieces)]
            assert len(children()) == (1 if forks else 0), name
            got += list(pieces)
        finally:
            stop.set()
            other.join()
        assert "".join(got) == serial
        assert not children()

"""The review app's first assessment takes the cases likeliest changed first, and shows partial
rankings meanwhile: the same rows in the end, in any order of the chunks."""

from __future__ import annotations

import base64
import threading

from test_analysis import make_comparison
from test_assessment_pool import CHECKS, OUTPUTS

from reviewer.analysis import assess_comparison, assess_rows, stored_rows
from reviewer.analysis.order import CUT, Chunks, likeliness
from reviewer.store import Output, Store, StoreReader
from reviewer.suite import load_suite


# many cases alike, and a few far apart in length, errors or refusals (the likeliest changed)
def _alike(n: int) -> dict[str, tuple[list[str], list[str]]]:
    return {f"alike-{i:03d}": ([f"answer {i} one two", f"answer {i} two one"], [f"answer {i} two one"] * 2) for i in range(n)}


FILLER = _alike(40)
APART = {
    "longer": (["A short answer."] * 2, ["A much longer answer that goes on and on about the refund policy. " * 4] * 2),
    "broke": (["fine", "fine"], ["fine", ""]),  # the candidate's second sample errored: see _store
}


def _store(tmp_path) -> tuple[Store, int]:
    outputs = {**FILLER, **APART}
    store, comp = make_comparison(tmp_path, outputs)
    run = store.comparison(comp).candidate_run_id
    store.save_outputs(run, [Output("broke", 1, None, error="HTTP 500")])
    return store, comp


def test_the_store_gives_each_cases_shape_without_its_text(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text("suite: a\ncases:\n  - id: a\n    prompt: q\n  - id: b\n    prompt: q\n")
    with Store(tmp_path / "a.db") as store:
        sid = store.upsert_suite(load_suite(suite))
        run = store.create_run(suite_id=sid, provider="recorded", model="m", base_url=None, params={}, samples=3)
        store.save_outputs(run, [
            Output("a", 0, "héllo", finish_reason="stop"),  # 6 bytes in UTF-8
            Output("a", 1, "hi", finish_reason="length"),
            Output("a", 2, None, error="HTTP 500", finish_reason="length"),  # failed: not cut, no length
            Output("b", 0, "", refusal="I can't help with that."),
        ])  # fmt: skip
    with StoreReader(tmp_path / "a.db") as reader:
        shapes = sorted(reader.output_shapes(run, CUT))
    assert shapes == [("a", 3, 1, 1, 0, 2, 8, 2, 6), ("b", 1, 0, 0, 1, 1, 0, 0, 0)]


def test_cases_apart_in_errors_refusals_or_length_come_first_and_alike_ones_last():
    def shape(case_id, lengths, failed=0, cut=0, refused=0):
        return (case_id, len(lengths) + failed, failed, cut, refused, len(lengths), sum(lengths), min(lengths), max(lengths))

    base = [shape("same", [100, 100]), shape("noisy", [100, 140]), shape("longer", [100, 104]),
            shape("errs", [100, 100]), shape("cut", [100, 100]), shape("gone", [100, 100])]  # fmt: skip
    cand = [shape("same", [100, 100]), shape("noisy", [120, 110]), shape("longer", [300, 290]),
            shape("errs", [100], failed=1), shape("cut", [100, 100], cut=1), shape("new", [5])]  # fmt: skip
    keys = likeliness(base, cand)
    order = sorted(keys, key=keys.__getitem__, reverse=True)
    assert set(order[:4]) == {"errs", "cut", "gone", "new"}  # the sides differ in what the flags count
    assert order[4:] == ["longer", "noisy", "same"]
    assert keys["same"] == (0, 0.0)


def test_chunks_go_in_suite_order_until_the_order_is_known_then_likeliest_first():
    cases = [{"id": f"c{i}"} for i in range(10)]
    chunks = Chunks(list(cases), 3)
    taken = iter(chunks)
    i, first = next(taken)
    assert (i, [c["id"] for c in first]) == (0, ["c0", "c1", "c2"])
    chunks.order_by({"c9": (1, 0.0), "c5": (0, 2.0), "c4": (0, 1.0)})
    i, second = next(taken)
    assert (i, [c["id"] for c in second]) == (1, ["c9", "c5", "c4"])
    assert chunks.done(0) == first
    # what is not done, handed out or not, goes to this process: every case exactly once
    left = list(chunks.undone())
    assert left[0] == second and sorted(c["id"] for part in left for c in part) == sorted(c["id"] for c in cases[3:])


def test_a_length_change_counts_twice_in_a_case_with_checks():
    """Only a case with checks can flip, and flips rank first: its length change counts double."""
    cases = [{"id": "plain"}, {"id": "checked", "checks": [{"max_words": 50}]}, {"id": "unchecked-more"}]
    chunks = Chunks(cases, 1)
    chunks.order_by({"plain": (0, 0.0), "checked": (0, 1.0), "unchecked-more": (0, 1.5)})
    assert [part[0]["id"] for _, part in chunks] == ["checked", "unchecked-more", "plain"]


def test_the_first_chunk_waits_for_the_order_being_read():
    chunks = Chunks([{"id": f"c{i}"} for i in range(4)], 2, wait=30.0)
    asking = threading.Event()
    got: list = []

    def take() -> None:
        asking.set()
        got.append(next(iter(chunks))[1])  # waits for the order: returns once it is known

    taker = threading.Thread(target=take)
    taker.start()
    asking.wait()  # the first chunk is being asked for before the order is known
    chunks.order_by({"c3": (1, 0.0)})
    taker.join(30)
    assert got and got[0][0]["id"] == "c3"


def _partials(store, comp, **kw):
    seen: list[list] = []
    rows = assess_rows(store, store.comparison(comp), partial=lambda rows: seen.append(list(rows)), **kw)
    return rows, seen


def test_partial_rankings_come_likeliest_first_and_the_rows_are_the_whole_assessments(tmp_path):
    store, comp = _store(tmp_path)
    data = store.load_comparison(comp)
    whole = stored_rows(data, assess_comparison(None, data))
    for kw in ({"workers": 0, "chunk": 5}, {"workers": 2, "chunk": 5}):
        rows, seen = _partials(store, comp, **kw)
        assert rows == whole, kw
        assert len(seen) == -(-len(whole) // 5) - 1  # after each chunk but the last
        assert [len(s) for s in seen] == sorted(len(s) for s in seen)
        # in this process, the first chunk is the likeliest; the pool's chunks finish in any
        # order, and in suite order the far-apart cases (the suite's last two) would be the last
        # chunk: they are assessed before it
        likeliest = {r[0] for r in (seen[0] if not kw["workers"] else seen[-1])}
        assert set(APART) <= likeliest, kw


def test_without_partial_rankings_the_cases_go_in_suite_order(tmp_path):
    store, comp = make_comparison(tmp_path, OUTPUTS, checks=CHECKS)
    seen: list[tuple[int, int]] = []
    rows = assess_rows(store, store.comparison(comp), workers=0, chunk=4, progress=lambda d, t: seen.append((d, t)))
    assert rows == assess_rows(store, store.comparison(comp), workers=0, chunk=4, partial=lambda rows: None)
    assert seen[-1] == (len(OUTPUTS), len(OUTPUTS))


def test_the_ranking_child_shows_the_likeliest_cases_ranked_before_the_whole_ranking(tmp_path):
    """The app's ranking child (a real process) prints a partial ranking after its first chunk:
    the session reads it as a triage of the cases assessed so far, likeliest changed first, in
    the order the whole ranking then gives them."""
    from reviewer.analysis import CHUNK
    from reviewer.session.session import Session

    many = _alike(2 * CHUNK + 20)
    store, comp = make_comparison(tmp_path, {**many, **APART})
    seen: list[tuple[list[str], int, int]] = []
    with store:
        s = Session(store, comp, "Ann <ann@example.com>")
        whole = s.rank(partial=lambda triage, done, total: seen.append((list(triage.ids), done, total)))
        s.close()
    final = [a.case_id for a in whole]
    assert len(seen) == 1  # after the first chunk; after the second, nine tenths are assessed
    ids, done, total = seen[0]
    assert (done, total, len(ids)) == (CHUNK, len(final), CHUNK)
    assert set(APART) <= set(ids)
    assert ids == [i for i in final if i in set(ids)]  # the whole ranking's order, of those cases


def test_a_partial_ranking_line_that_does_not_read_is_skipped(tmp_path):
    from reviewer.session.session import Session

    store, comp = _store(tmp_path)
    seen: list = []
    with store:
        s = Session(store, comp, "Ann <ann@example.com>")
        for line in ("partial 1 2 not-base64!", "partial 1 2 AAAA", "partial x", "partial 1 2 "):
            s._partial(line, lambda *a: seen.append(a))
        s.close()
    assert seen == []


def test_a_store_that_cannot_give_the_shapes_leaves_suite_order():
    import sqlite3

    from reviewer.analysis.order import order_chunks

    def broken():
        raise sqlite3.OperationalError("disk I/O error")

    chunks = Chunks([{"id": f"c{i}"} for i in range(4)], 2, wait=30.0)
    order_chunks(chunks, broken)
    assert chunks.ready.is_set()  # the first chunk does not wait for an order that never comes
    assert [c["id"] for _, part in chunks for c in part] == ["c0", "c1", "c2", "c3"]


def test_the_child_prints_partial_rankings_ever_less_often_and_none_near_the_whole(capsys):
    from reviewer.analysis.triage_columns import unpack_triage
    from reviewer.session.rank import Partials

    rows = [(f"c{i}", 1, 0.5, 0.1, 0, 1, 0.2, "none", "", b"") for i in range(10)]
    partials = Partials()
    partials.total = 100
    partials.start -= 10  # 10 s in
    partials(rows[:2])  # the first: printed
    partials(rows[:4])  # at once after it: not due before 15 s
    partials.start -= 3600  # an hour later: due
    partials(rows)
    partials.start -= 10**6
    partials.total = 11  # ten of eleven assessed: the whole ranking is near
    partials(rows)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 3)[:3] for line in lines] == [["partial", "2", "100"], ["partial", "10", "100"]]
    assert list(unpack_triage(base64.b64decode(lines[1].split(" ", 3)[3])).ids) == [f"c{i}" for i in range(10)]

"""The diff engine applied to a whole stored comparison: every case assessed (change score, noise
floor, checks, flips, flags) in triage order, cached in the store so a 100,000-case comparison is
not recomputed each time the app or an export opens it.

- :func:`ranked`: every case's :class:`~.rows.CaseRank` in triage order (the app's list, the
  judge's selection, the probe), from the cache or computed and cached;
- :func:`summaries`: the same with what the changelog and the gate count (:class:`~.rows.CaseSummary`);
- :func:`detail`: one case's full :class:`~reviewer.diff.score.Assessment`, from its own outputs;
- :func:`assess_comparison`: every full assessment of an already loaded comparison (and the cache
  filled when stale), for callers that hold the outputs anyway.

The first assessment runs over chunks of cases (:mod:`.work`), each reading only its own outputs:
in this process below :data:`POOL_MIN_CASES` cases, else in a pool of worker processes (the
``forkserver`` start method, never a fork of this possibly threaded process). Both give the same
rows in the same order (tests/test_assessment_pool.py). ``reviewer run`` makes its first assessment
while the replay runs instead (:mod:`.alongside`), to the same rows.

Used by the app, the exports and the gate. Never imports Textual.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from ..diff import Assessment, assess_case, triage
from ..errors import UsageError
from ..store import Comparison, ComparisonData, Store, StoreReader
from ..suite import Case
from .order import CUT, Chunks, Shape, order_chunks, order_in_background
from .rows import CaseRank, CaseSummary, RankRow, decode_summaries, rank_of, rank_row, summarize, triage_key
from .triage_columns import Triage, pack_triage, unpack_triage
from .work import MISSING, Plan, chunk_rows, samples_of, split_suite, validate_chunk

__all__ = [
    "MISSING", "POOL_MIN_CASES", "REPLAYED", "CaseRank", "CaseSummary", "Triage", "assess_comparison", "assess_one",
    "assess_rows", "cache_key", "cached_assessments", "detail", "earlier_assessments", "engine_digest", "ranked",
    "samples_of", "save_rows", "stored_rows", "summaries", "summarize",
]  # fmt: skip

#: Providers whose runs replay every case × sample: a hole there is a missing call. Imported runs
#: (production logs, promptfoo results) hold what they hold, a different count per case.
REPLAYED = frozenset({"openai", "openai-responses", "anthropic", "recorded", "run"})
#: Below this many cases the assessment runs in this process: starting the pool (a fresh
#: interpreter importing the engine, then a fork per worker) costs more than it saves.
POOL_MIN_CASES = 2_000
#: Cases per chunk: what one worker reads and holds at a time.
CHUNK = 400
#: Seconds a pool's first chunk waits for the order of a first assessment that shows partial
#: rankings (:mod:`.order`): reading it takes ~1.5 s at 100,000 cases, while the workers start.
ORDER_WAIT = 5.0


def _samples(run: Any) -> int | None:
    return max(run.samples, 1) if run.provider in REPLAYED else None


def assess_one(data: ComparisonData, case: Case) -> Assessment:
    return assess_case(
        case.id,
        samples_of(data.baseline_outputs.get(case.id, []), _samples(data.baseline)),
        samples_of(data.candidate_outputs.get(case.id, []), _samples(data.candidate)),
        checks=case.checks,
        reference=case.reference,
        tools=case.tools,
        response_format=case.response_format,
    )


#: The module of this package that only maps chunks to worker processes: its rows are the serial
#: path's (tested so), and editing it keeps every cache. Not ``alongside.py``: it decides when a
#: case is complete, so a fix there must make rows it cached before the fix stale.
SCHEDULING = frozenset({"pool.py", "order.py"})


@cache
def engine_digest() -> str:
    """Hash of the diff engine's source (with the statistics its noise rule uses, and this
    package, which says what is stored; not its :data:`SCHEDULING` modules): any change to how
    cases are scored invalidates the cache."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    root = here.parent
    own = [p for p in sorted(here.glob("*.py")) if p.name not in SCHEDULING]
    for path in [*sorted((root / "diff").glob("*.py")), root / "stats.py", *own]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cache_key(store: Store | StoreReader, comparison: Comparison) -> str:
    return f"{engine_digest()}:{store.outputs_identity(comparison)}"


# -- computing the rows -------------------------------------------------------------------------


def _plan(store: Store, comparison: Comparison) -> Plan:
    b, c = store.run(comparison.baseline_run_id), store.run(comparison.candidate_run_id)
    return Plan(str(store.path.resolve()), comparison.suite_id, b.id, c.id, _samples(b), _samples(c))


def _workers(cases: int, workers: int | None) -> int:
    """Worker processes for ``cases`` cases: ``workers`` when given (0: in this process), else the
    CPUs this process may use (at most 8) from :data:`POOL_MIN_CASES` cases on. The environment's
    ``REVIEWER_ASSESS_WORKERS`` overrides the default."""
    if workers is None:
        workers = _env_workers()
        if workers is None:
            workers = 0 if cases < POOL_MIN_CASES else min(_usable_cpus(), 8)
    return 0 if workers < 2 else workers


def _env_workers() -> int | None:
    """``REVIEWER_ASSESS_WORKERS`` as a count (None: not set); a bad value is a usage error."""
    env = os.environ.get("REVIEWER_ASSESS_WORKERS", "").strip()
    if not env:
        return None
    if not (env.isascii() and env.isdigit()):
        raise UsageError(f"REVIEWER_ASSESS_WORKERS={env!r}: expected a whole number ≥ 0 (0 assesses in this process)")
    return int(env)


def _usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def assess_rows(
    store: Store,
    comparison: Comparison,
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    chunk: int = CHUNK,
    partial: Callable[[list[RankRow]], None] | None = None,
) -> list[RankRow]:
    """Every case of the comparison assessed, as stored rows in triage order (not saved). Chunks
    of ``chunk`` cases, in this process or in ``workers`` processes (see :func:`_workers`); each
    chunk's cases are validated from the stored suite when it is assessed, its outputs read then.

    ``partial`` (the review app's ranking child, which shows partial rankings): called after each
    chunk with the rows so far (a list that grows: read it there, do not keep it), and the cases
    are taken likeliest changed first (:mod:`.order`) instead of in suite order. The rows
    returned are the same either way."""
    head, cases = split_suite(store.suite_json(comparison.suite_id))
    plan = _plan(store, comparison)
    total = len(cases)
    n = _workers(total, workers)
    pooled = bool(n) and total > chunk
    ordered = partial is not None and total > chunk
    # pooled, the first chunk waits for the order (~1.5 s at 100,000 cases) while the workers start
    chunks = Chunks(cases, chunk, wait=ORDER_WAIT if ordered and pooled else 0.0)
    del cases
    if ordered:
        reader = StoreReader(store.path)

        def shapes() -> tuple[list[Shape], list[Shape]]:
            with reader:  # a connection of the thread that reads them, closed with it
                return (list(reader.output_shapes(plan.baseline_run, CUT)),
                        list(reader.output_shapes(plan.candidate_run, CUT)))  # fmt: skip

        if pooled:
            order_in_background(chunks, shapes)
        else:
            order_chunks(chunks, shapes)
    rows: list[RankRow] = []
    done = 0
    if progress is not None:
        progress(0, total)

    def finished(part_rows: list[RankRow]) -> None:
        nonlocal done
        rows.extend(part_rows)
        done += len(part_rows)
        if progress is not None:
            progress(done, total)
        if partial is not None and done < total:
            partial(rows)

    if pooled:
        from concurrent.futures.process import BrokenProcessPool

        from .pool import pool_rows

        try:
            for i, part_rows in pool_rows(plan, head, chunks, min(n, -(-total // chunk))):
                chunks.done(i)  # its cases need not be held any longer
                finished(part_rows)
        except BrokenProcessPool:
            pass  # the workers could not start (e.g. a __main__ that cannot be imported again,
            # as from stdin): the chunks they did not finish are assessed here, to the same rows
    with store.reader() as reader:  # every chunk, in this process; or those a broken pool left
        for part in chunks.undone():
            finished(chunk_rows(reader, plan, validate_chunk(head, part)))
    rows.sort(key=triage_key)
    return rows


def _rows(
    store: Store,
    comparison: Comparison,
    *,
    summary: bool,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> list[Any]:
    """The cached rows, or the rows computed now and cached (summary JSON last with ``summary``)."""
    key = cache_key(store, comparison)
    found = store.assessment_rows(comparison.id, key, summary=summary)
    if found is not None:
        return found
    rows = assess_rows(store, comparison, progress=progress, workers=workers)
    save_rows(store, comparison.id, key, rows)
    return rows


def save_rows(store: Store, comparison_id: int, key: str, rows: Sequence[RankRow]) -> None:
    """Cache ``rows`` (triage order) under ``key``, with their triage packed for the app's list."""
    store.save_assessments(comparison_id, key, rows, pack_triage(rows))


def _comparison(store: Store, comparison: Comparison | int | None) -> Comparison:
    return comparison if isinstance(comparison, Comparison) else store.comparison(comparison)


def ranked(
    store: Store,
    comparison: Comparison | int | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    detail: Callable[[str], Assessment] | None = None,
) -> list[CaseRank]:
    """Every case's place in the triage, in triage order: from the cache, else computed now (and
    cached). ``detail`` (case id -> full assessment) lets each row answer the other ``Assessment``
    attributes on first use (see :class:`~.rows.CaseRank`)."""
    comp = _comparison(store, comparison)
    return [rank_of(r, detail) for r in _rows(store, comp, summary=False, progress=progress, workers=workers)]


def summaries(
    store: Store,
    comparison: Comparison | int | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> list[CaseSummary]:
    """:func:`ranked` with what the changelog and the gate count of each case."""
    comp = _comparison(store, comparison)
    rows = _rows(store, comp, summary=True, progress=progress, workers=workers)
    try:
        return decode_summaries(rows)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError, struct.error):
        # a cached row this version cannot read (a damaged or hand-edited store): it is only a
        # cache, so the comparison is assessed again from its outputs and the cache replaced
        rows = assess_rows(store, comp, progress=progress, workers=workers)
        save_rows(store, comp.id, cache_key(store, comp), rows)
        return decode_summaries(rows)


def cached_assessments(store: Store, comparison: Comparison, *, key: str | None = None) -> Triage | None:
    """The cached triage when it is fresh, else None, without loading any output: its packed
    columns (one value), else its rows (a cache written before they were packed, or a packed
    value this version cannot read). ``key``: the :func:`cache_key` when already known."""
    if key is None:
        key = cache_key(store, comparison)
    packed = store.assessment_triage(comparison.id, key)
    found = None if packed is None else _unpacked(*packed)
    if found is not None:
        return found
    rows = store.assessment_rows(comparison.id, key)
    return None if rows is None else Triage.from_rows(rows)


def earlier_assessments(store: Store, comparison: Comparison, *, key: str | None = None) -> Triage | None:
    """The cached triage an earlier diff engine made of these same outputs (the cache went
    stale when reviewer was upgraded): what the review app shows, marked as such, while it
    ranks again, instead of the suite's order for a minute at 100,000 cases. None when there is
    no such cache, when it is fresh (:func:`cached_assessments`), when an output changed since,
    or when this version cannot read it. Never for a count or a gate: only to order a list.
    ``key``: the :func:`cache_key` when already known."""
    if key is None:
        key = cache_key(store, comparison)
    found = store.stored_triage(comparison.id)
    if found is None:
        return None
    stored_key, cases, blob = found
    if stored_key == key or stored_key.partition(":")[2] != key.partition(":")[2]:
        return None
    return _unpacked(cases, blob)


def _unpacked(cases: int, blob: bytes) -> Triage | None:
    """A cache's packed triage, when it reads and holds every one of its ``cases``."""
    try:
        found = unpack_triage(blob)
    except (ValueError, TypeError, IndexError, struct.error):
        return None
    return found if len(found) == cases else None


def detail(store: Store, comparison: Comparison | int | None, case_id: str) -> Assessment:
    """One case's full assessment, from its own outputs (one indexed query): what the cache
    leaves out. Equal to what :func:`assess_comparison` gives for that case."""
    comp = _comparison(store, comparison)
    suite = store.suite(comp.suite_id)
    case = next((c for c in suite.suite.cases if c.id == case_id), None)
    if case is None:
        raise LookupError(f"comparison {comp.id}: no case {case_id!r} in its suite")
    with store.reader() as reader:
        base, cand = reader.case_outputs(comp.baseline_run_id, comp.candidate_run_id, case_id)
    data = ComparisonData(comp, suite, store.run(comp.baseline_run_id), store.run(comp.candidate_run_id),
                          {case_id: base}, {case_id: cand})  # fmt: skip
    return assess_one(data, case)


def assess_comparison(
    store: Store | None, data: ComparisonData, *, progress: Callable[[int, int], None] | None = None
) -> list[Assessment]:
    """Every case of a loaded comparison fully assessed, in triage order, in this process. With a
    store whose cache is stale, the cache is filled too. (Reading only what they use, the app and
    the exports call :func:`ranked` / :func:`summaries` instead.)"""
    cases = data.suite.suite.cases
    result = []
    for i, case in enumerate(cases):
        result.append(assess_one(data, case))
        if progress is not None and (i % 200 == 0 or i == len(cases) - 1):
            progress(i + 1, len(cases))
    ordered = triage(result)
    if store is not None:
        key = cache_key(store, data.comparison)
        if store.cached_assessments(data.comparison.id, key) is None:
            save_rows(store, data.comparison.id, key, stored_rows(data, ordered))
    return ordered


def stored_rows(data: ComparisonData, assessments: Sequence[Assessment]) -> list[RankRow]:
    """The stored rows of a loaded comparison's full assessments (in their order): each with its
    case's checks and both sides' outputs."""
    checks = {c.id: c.checks for c in data.suite.suite.cases}
    return [
        rank_row(a, checks.get(a.case_id, ()), data.baseline_outputs.get(a.case_id, []),
                 data.candidate_outputs.get(a.case_id, []))
        for a in assessments
    ]  # fmt: skip

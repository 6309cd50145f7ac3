"""The first assessment of a replay, made while the replay still runs.

A replay mostly waits on the network (on 2 cores, 2,000 calls at concurrency 32 keep the client
half busy), and a case can be assessed once every sample of both sides is committed.
:class:`Alongside` is the replay's :class:`~reviewer.replay.Listener`: it counts what is still
missing of each case and hands each :data:`CHUNK` of finished cases (their ids) to one worker
process, forked from the pool's fork server (:mod:`.pool`); the worker reads the stored suite and
the chunk's outputs itself, as the pool's workers do. When the replay ends, :meth:`Alongside.finish`
sends the rest (to more workers if much is left: the replay no longer needs its CPU) and caches the
rows, sorted as :func:`~reviewer.analysis.assess_rows` sorts them: the same rows
(tests/test_alongside.py).

Whatever goes wrong here (a worker that cannot start or dies, a listener error) costs time, never
a result: :meth:`Alongside.finish` then assesses the comparison the usual way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING

from .rows import RankRow, triage_key
from .work import Plan, assess_ids

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..store import Output, Store

__all__ = ["ALONGSIDE_MIN_CASES", "CHUNK", "Alongside", "alongside_workers"]

#: Below this many cases the assessment waits for the end of the replay: starting a worker
#: process (a fresh interpreter importing the engine) costs more than the few cases save.
ALONGSIDE_MIN_CASES = 300
#: Finished cases sent to a worker at a time (small: the last chunk is waited for at the end).
CHUNK = 100


def alongside_workers(cases: int) -> int:
    """Worker processes for the assessment of ``cases`` cases once the replay is over (one of
    them works during the replay; 0: assess after the replay, the usual way). From
    :data:`ALONGSIDE_MIN_CASES` cases on a machine of 2 CPUs or more; ``REVIEWER_ASSESS_WORKERS``
    decides when set (0: in this process)."""
    from . import _env_workers, _usable_cpus

    workers = _env_workers()
    if workers is not None:
        return workers
    cpus = _usable_cpus()
    return min(cpus, 8) if cases >= ALONGSIDE_MIN_CASES and cpus > 1 else 0


def _quiet_worker() -> None:
    """A worker leaves Ctrl-C to its parent, which stops it (no traceback of its own), and the CPU
    to the replay: niced, it runs on what the replay leaves idle (and at full speed once the
    replay is over and nothing else wants the CPU)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):  # not on every platform
        os.nice(10)


def _pool(workers: int) -> ProcessPoolExecutor:
    from .pool import _context

    return ProcessPoolExecutor(workers, mp_context=_context(), initializer=_quiet_worker)


class Alongside:
    """Assess a replay's cases as they finish (see the module). Pass it to the replay as its
    listener, call :meth:`finish` once the replay ended normally, and :meth:`close` always."""

    def __init__(self, store: Store, case_ids: Sequence[str], workers: int, *, samples: int, chunk: int = CHUNK):
        """``samples``: the replay's samples a side (it makes each (case, sample) of each side once)."""
        self.store = store
        self.samples = samples
        self.workers = max(workers, 1)
        self.chunk = chunk
        self.plan: Plan | None = None
        self.comparison_id: int | None = None
        self.failed = False  # something went wrong: finish() assesses the usual way
        self._ids = list(case_ids)  # suite order
        self._index = {c: i for i, c in enumerate(self._ids)}
        self._missing: list[int] = []  # per case: (side, sample) not committed yet
        self._runs: set[int] = set()
        self._ready: list[int] = []  # finished cases not yet queued
        self._queued: list[list[int]] = []  # chunks waiting for a worker
        self._pools: list[tuple[ProcessPoolExecutor, int]] = []  # (executor, chunks it may hold)
        self._running: dict[Future[list[RankRow]], tuple[list[int], int]] = {}  # -> (chunk, pool)
        self._rows: list[RankRow] = []
        self.chunks_sent = 0  # to a worker (for the tests and the bench)
        self._warming: threading.Thread | None = None
        self._warm: ProcessPoolExecutor | None = None

    def warm(self) -> None:
        """Start the first worker now, in a thread, before the replay: the fork server's imports
        take a fraction of a second the replay's event loop must not wait for. Chunks finished
        meanwhile wait for it."""

        def start() -> None:
            try:
                pool = self._warm = _pool(1)  # kept even if it breaks: close() shuts it down
                pool.submit(int).result()  # the worker is up, its imports done
            except Exception:
                self.failed = True

        self._warming = threading.Thread(target=start, name="reviewer-assess-warm", daemon=True)
        self._warming.start()

    # -- the replay's listener (on its event loop: never raises, never blocks) ------------------

    def started(self, comparison_id: int, runs: dict[str, int]) -> None:
        self.comparison_id = comparison_id  # first: finish() falls back to the usual way on it
        try:
            self._start(comparison_id)
        except Exception:
            self.failed = True

    def _start(self, comparison_id: int) -> None:
        from . import _plan

        store = self.store
        comp = store.comparison(comparison_id)
        plan = _plan(store, comp)
        run_ids = (comp.baseline_run_id, comp.candidate_run_id)
        missing = [2 * self.samples] * len(self._ids)
        for run_id in run_ids:
            for case_id, sample in store.completed_keys(run_id):  # what a resume does not call again
                i = self._index.get(case_id)
                if i is not None and sample < self.samples:
                    missing[i] -= 1
        self.plan = plan
        self._missing, self._runs = missing, set(run_ids)
        self._ready = [i for i, n in enumerate(missing) if n <= 0]
        self._send()

    def stored(self, run_id: int, outputs: list[Output]) -> None:
        if self.failed or run_id not in self._runs:
            return
        try:
            index, missing, ready = self._index, self._missing, self._ready
            for o in outputs:
                i = index.get(o.case_id)
                if i is not None:
                    missing[i] -= 1
                    if missing[i] == 0:
                        ready.append(i)
            if len(ready) >= self.chunk:
                self._send()
        except Exception:
            self.failed = True

    # -- the work -------------------------------------------------------------------------------

    def _send(self) -> None:
        ready = self._ready
        while len(ready) >= self.chunk:
            self._queued.append(ready[: self.chunk])
            del ready[: self.chunk]
        self._collect(block=False)
        if not self._pools:
            if self._warming is not None and self._warming.is_alive():
                return  # not up yet: the chunks wait
            self._first_pool()
        self._submit()

    def _first_pool(self) -> None:
        """One worker while the replay runs: the replay keeps the other CPUs."""
        if self._warming is not None:
            self._warming.join()
            self._warming = None
        if self.failed:
            raise RuntimeError("the worker did not start")
        pool, self._warm = self._warm or _pool(1), None
        self._pools.append((pool, 2))

    def _add_pool(self, workers: int) -> None:
        self._pools.append((_pool(workers), 2 * workers))

    def _submit(self) -> None:
        assert self.plan is not None
        for p, (pool, room) in enumerate(self._pools):
            held = sum(1 for _, q in self._running.values() if q == p)
            while self._queued and held < room:
                part = self._queued.pop(0)
                self._running[pool.submit(assess_ids, self.plan, [self._ids[i] for i in part])] = (part, p)
                self.chunks_sent += 1
                held += 1

    def _collect(self, *, block: bool) -> None:
        if block and self._running:
            wait(self._running, return_when=FIRST_COMPLETED)
        for future in [f for f in self._running if f.done()]:
            self._running.pop(future)
            self._rows.extend(future.result())  # a worker's failure raises here: finish() goes the usual way

    def finish(self) -> list[RankRow]:
        """Every case's rows in triage order, cached in the store. Call once the replay ended
        normally (every output it stores is committed)."""
        from . import _comparison, _rows, cache_key, save_rows

        if self.comparison_id is None:
            raise RuntimeError("Alongside.finish before the replay started")
        comp = _comparison(self.store, self.comparison_id)
        if not self.failed:
            try:
                rows = self._finish()
            except Exception:
                self.failed = True
            else:
                save_rows(self.store, comp.id, cache_key(self.store, comp), rows)
                return rows
        self.close()
        return list(_rows(self.store, comp, summary=False))

    def _finish(self) -> list[RankRow]:
        # Cases with a call that never got an answer stored (none, after a normal end) are
        # assessed with what is stored, as the usual way does.
        rest = self._ready + [i for i, n in enumerate(self._missing) if n > 0]
        self._ready = []
        self._queued += [rest[s : s + self.chunk] for s in range(0, len(rest), self.chunk)]
        if not self._pools:
            self._first_pool()
        more = min(len(self._queued) - 1, self.workers - 1)
        if more > 0:  # the replay is over: the CPUs it used take chunks too
            self._add_pool(more)
        while self._queued or self._running:
            self._submit()
            self._collect(block=True)
        rows = sorted(self._rows, key=triage_key)
        if len(rows) != len(self._ids):  # every case assessed exactly once, or not this way
            raise RuntimeError(f"assessed {len(rows)} of {len(self._ids)} cases")
        self.close()
        return rows

    @property
    def chunks_waiting(self) -> int:
        """Chunks of finished cases not sent yet (a worker holds at most two at a time)."""
        return len(self._queued)

    def worker_pids(self) -> list[int]:
        """The worker processes' ids (for the tests: ``_processes`` is the executor's own map)."""
        return [pid for pool, _ in self._pools for pid in getattr(pool, "_processes", None) or {}]

    def close(self) -> None:
        """Stop the workers (after an interrupted replay, what they were doing is dropped)."""
        if self._warming is not None:
            self._warming.join()
            self._warming = None
        pools, self._pools = self._pools, []
        if self._warm is not None:
            pools.append((self._warm, 0))
            self._warm = None
        for pool, _ in pools:
            pool.shutdown(wait=True, cancel_futures=True)
        self._running.clear()

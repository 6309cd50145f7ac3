"""The first assessment of a big comparison in worker processes, over chunks of cases.

The ``forkserver`` start method (``spawn`` where there is none): the review app and the exports run
threads, and a fork of a threaded process can inherit a lock held by another thread. The fork
server is a fresh single-threaded interpreter that imports the engine once
(:mod:`reviewer.analysis.work`), and each worker is forked from it, warm. Each worker reads its
chunk's outputs from the store itself (read-only) and validates its chunk of the suite; only the
chunk's cases (decoded JSON) go out and stored rows come back.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from .rows import RankRow
from .work import Plan, assess_chunk, ready

__all__ = ["pool_rows"]


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["reviewer.analysis.work"])  # only read when the server starts
        return ctx
    return multiprocessing.get_context("spawn")


def pool_rows(
    plan: Plan, head: dict[str, Any], chunks: Iterable[tuple[int, list[dict[str, Any]]]], workers: int
) -> Iterator[tuple[int, list[RankRow]]]:
    """(index, rows) of each of the ``(index, cases)`` chunks as its worker finishes it (in any
    order; the chunks are taken only as workers come free). At most two chunks a
    worker are in flight, so the rows waiting to be collected stay few. A pool that cannot start
    its workers raises ``concurrent.futures.process.BrokenProcessPool`` (the caller goes on
    without it)."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
        # the workers start now, while the first chunk may still wait for its cases' order
        for _ in range(workers):
            pool.submit(ready)
        todo = iter(chunks)
        running: dict[Future[list[RankRow]], int] = {}
        try:
            for i, part in todo:
                running[pool.submit(assess_chunk, plan, head, part)] = i
                if len(running) >= 2 * workers:
                    break
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for f in finished:
                    yield running.pop(f), f.result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        running[pool.submit(assess_chunk, plan, head, nxt[1])] = nxt[0]
        except BaseException:
            for f in running:
                f.cancel()
            raise

"""Rank a comparison in a child process: ``python -m reviewer.session.rank DB COMPARISON_ID``.

The first open of a big comparison assesses every case (seconds for 10,000 cases). Done in a
thread, that work would hold the GIL against the UI for all that time; in a child process the
app stays as responsive as usual. The child assesses chunks of cases, each reading only its own
outputs (in a pool of worker processes for big comparisons: :mod:`reviewer.analysis`), stores the
rows in the store's cache, printing ``progress DONE TOTAL`` lines as it goes; the app then reads
the cache. Meanwhile it prints partial rankings, ``partial DONE TOTAL BASE64`` (the cases assessed
so far in triage order, packed as the cache packs them: :func:`~reviewer.analysis.triage_columns.pack_triage`),
which the app shows ahead of the cases still to assess; the cases are taken likeliest changed first
for that (:mod:`reviewer.analysis.order`).

No Textual here.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reviewer.analysis.rows import RankRow

#: How much the ranking yields the CPU to the app (see :func:`main`).
RANK_NICE = 12


#: A partial ranking is printed once the time since the start has grown this much since the last.
GROWTH = 1.5


class Partials:
    """When the child prints a partial ranking: after the first chunk, then once the time since
    the start has grown :data:`GROWTH`-fold (7 for a ranking of 44 s whose first chunk ends after
    3 s), and not once nine tenths are assessed. Each costs the app a pass over every case to
    show it, so not after every chunk."""

    def __init__(self) -> None:
        self.total = 0  # cases in all (the progress sets it)
        self.start = time.monotonic()
        self.due = 0.0  # seconds since the start

    def __call__(self, rows: Sequence[RankRow]) -> None:
        from reviewer.analysis.rows import triage_key
        from reviewer.analysis.triage_columns import pack_triage

        elapsed = time.monotonic() - self.start
        if elapsed < self.due or len(rows) * 10 >= self.total * 9:  # not when the whole one is near
            return
        self.due = GROWTH * elapsed
        ordered: list[RankRow] = sorted(rows, key=triage_key)
        blob = base64.b64encode(pack_triage(ordered)).decode("ascii")
        print(f"partial {len(rows)} {self.total} {blob}", flush=True)


class _Terminated(BaseException):
    pass


def _terminated(*_: Any) -> None:
    raise _Terminated


def main(argv: list[str]) -> int:
    from reviewer.analysis import assess_rows, cache_key, save_rows
    from reviewer.store import Store

    # terminated (the app is closing): unwind first, so the worker pool ends with this process,
    # then die of the signal as the app expects (a negative return code: no error to report)
    signal.signal(signal.SIGTERM, _terminated)
    # The app's keys come first: the ranking (and the pool it forks) runs on what they leave idle
    # (on 2 cores the pool's two workers otherwise starve the UI: keys p95 ~100 ms while ranking;
    # at nice 5 55-59 ms, at 12 38-51 ms, for a ranking 5-10% longer while keys are pressed)
    with contextlib.suppress(OSError, AttributeError):
        os.nice(RANK_NICE)
    db, comparison_id = argv[0], int(argv[1])
    try:
        with Store(db) as store:
            comparison = store.comparison(comparison_id)
            key = cache_key(store, comparison)
            if store.assessment_key(comparison_id) != key:  # another process may have just ranked it
                partials = Partials()

                def progress(done: int, total: int) -> None:  # progress 0 TOTAL first, then as chunks are done
                    partials.total = total
                    print(f"progress {done} {total}", flush=True)

                rows = assess_rows(store, comparison, progress=progress, partial=partials)
                save_rows(store, comparison_id, key, rows)
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    except Exception as e:  # one line, the app's to show (Session.rank reads the last): no traceback
        why = " ".join(line.strip() for line in str(e).strip().splitlines()[:3])
        print(f"{type(e).__name__}: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

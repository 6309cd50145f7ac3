"""Rank a comparison in a child process: ``python -m reviewer.session.rank DB COMPARISON_ID``.

The first open of a big comparison assesses every case (seconds for 10,000 cases). Done in a
thread, that work would hold the GIL against the UI for all that time; in a child process the
app stays as responsive as usual. The child assesses chunks of cases, each reading only its own
outputs (in a pool of worker processes for big comparisons: :mod:`reviewer.analysis`), stores the
rows in the store's cache, printing ``progress DONE TOTAL`` lines as it goes; the app then reads
the cache.

No Textual here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

#: How much the ranking yields the CPU to the app (see :func:`main`).
RANK_NICE = 12


class _Terminated(BaseException):
    pass


def _terminated(*_: Any) -> None:
    raise _Terminated


def main(argv: list[str]) -> int:
    from reviewer.analysis import ranked
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
            # progress 0 TOTAL first, then as chunks are done
            ranked(store, comparison_id, progress=lambda done, total: print(f"progress {done} {total}", flush=True))
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Rank a comparison in a child process: ``python -m reviewer.session.rank DB COMPARISON_ID``.

The first open of a big comparison assesses every case (seconds for 10,000 cases). Done in a
thread, that work would hold the GIL against the UI for all that time; in a child process the
app stays as responsive as usual, and the outputs loaded for it never weigh on the app's memory.
The child stores the assessments in the store's cache (``reviewer.analysis``), printing
``progress DONE TOTAL`` lines as it goes; the app then reads the cache.

No Textual here.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from reviewer.analysis import assess_comparison
    from reviewer.store import Store

    db, comparison_id = argv[0], int(argv[1])
    with Store(db) as store:
        data = store.load_comparison(comparison_id)
        print(f"progress 0 {len(data.suite.suite.cases)}", flush=True)
        assess_comparison(store, data, progress=lambda done, total: print(f"progress {done} {total}", flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

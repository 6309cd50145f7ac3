"""A review session without its UI: what the review app knows and does, none of it Textual.

- :mod:`.session`: one comparison opened for one reviewer; per-case reads from the store, the
  ranking (from the cache or a child process), provenance, output search.
- :mod:`.rank`: that child process (``python -m reviewer.session.rank DB COMPARISON_ID``).
- :mod:`.state`: the cases as the reviewer sees them (order, filter, search, counts).
- :mod:`.labels`: label changes queued and written, the undo stack, labels-file lines.
- :mod:`.search`: which cases a search finds in the suite (outputs are searched in the store).
- :mod:`.cache`: the small LRU caches of outputs and built diffs.
- :mod:`.promotion`: what promoting the shown case to a golden case starts from.

The app (:mod:`reviewer.app`) calls these and paints; nothing here imports it or Textual.
"""

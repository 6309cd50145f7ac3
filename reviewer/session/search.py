"""What a search finds among the cases themselves: ids, tags, origin, prompt and messages,
ignoring case. Outputs are searched in the store (:meth:`Session.search_outputs`, one query); a
search shows the union of both. No Textual here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import Entry

__all__ = ["suite_hits"]


def suite_hits(entries: Iterable[Entry], needle: str) -> set[str]:
    """Ids of the cases whose id, tags, origin, prompt or messages contain ``needle`` (any case).
    An empty needle finds nothing."""
    low = needle.strip().lower()
    if not low:
        return set()
    hits = set()
    for e in entries:
        c = e.case
        if (
            low in c.id.lower()
            or any(low in t.lower() for t in c.tags)
            or low in (c.origin or "").lower()
            or low in (c.prompt or "").lower()
            or any(low in m.content.lower() for m in c.messages or ())
        ):
            hits.add(e.id)
    return hits

"""What a search finds among the cases themselves: ids, tags, origin, prompt and messages,
ignoring case. Outputs are searched in the store (:meth:`Session.search_outputs`, one query); a
search shows the union of both. No Textual here.

At 100,000 cases a search must not hold the UI: the cases' own text is lowered once into one
string (:class:`SearchIndex`), so a search is a handful of ``str.find`` calls in C, at most one
per matching case; the outputs (a gigabyte at that size) are searched by SQL in a worker that a
newer search stops at once (:func:`output_hits` with a :class:`Cancel`), so stale scans never
pile up in the thread pool.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

from .caserows import CaseRow

if TYPE_CHECKING:
    from reviewer.suite import Case

    from .session import Session
    from .state import Entry

__all__ = ["Cancel", "IdIndex", "SearchIndex", "output_hits", "paced", "suite_hits"]

T = TypeVar("T")

#: A search's work off the UI thread waits this long at a time while ``busy()`` says keys are
#: coming: sharing the GIL (and, on two cores, the machine) with it, keys pressed while the
#: index was made or the outputs scanned took twice their time at 100,000 cases.
PAUSE_S = 0.005


def paced(items: Iterable[T], busy: Callable[[], bool] | None, every: int = 1_000) -> Iterable[T]:
    """``items``, waiting between every ``every`` of them for as long as ``busy()`` is true
    (``busy`` None: ``items`` themselves, with no generator between them and their reader)."""
    return items if busy is None else _paced(items, busy, every)


def _paced(items: Iterable[T], busy: Callable[[], bool], every: int) -> Iterator[T]:
    for i, item in enumerate(items):
        if not i % every:
            while busy():
                time.sleep(PAUSE_S)
        yield item


#: Between two cases' texts in the index: a needle (stripped, so never only this) cannot span it
#: unless it holds it, and a needle never holds it (see :meth:`SearchIndex.find`).
_SEP = "\x00"


def case_text(c: Case | CaseRow) -> str:
    """What a search looks at in a case (a :class:`CaseRow` or a validated ``Case``), lowered:
    id, tags, origin, prompt, messages."""
    texts = c.texts if isinstance(c, CaseRow) else [m.content for m in c.messages or ()]
    parts = [c.id, *c.tags, c.origin or "", c.prompt or "", *texts]
    return "\x01".join(parts).lower().replace(_SEP, " ")


def _joined(texts: list[str], sep: str) -> tuple[list[int], str]:
    """Where each text starts in ``sep.join(texts)`` (``sep`` one character), and that string."""
    starts = []
    at = 0
    for t in texts:
        starts.append(at)
        at += len(t) + 1
    return starts, sep.join(texts)


def _first_hits(text: str, starts: list[int], low: str) -> Iterator[int]:
    """The positions of the texts holding ``low``, in order: one ``str.find`` per matching text."""
    find, n = text.find, len(starts)
    at = find(low)
    while at >= 0:
        k = bisect_right(starts, at) - 1
        yield k
        if k + 1 >= n:
            return
        at = find(low, starts[k + 1])  # the next text: one hit per text is enough


class SearchIndex:
    """The searchable text of every case, lowered, in one string: ``find(needle)`` gives the
    ordinals (suite positions) of the cases holding it. A rare needle is found by ``str.find``
    over the whole string (a few milliseconds at 100,000 cases); once it has matched
    ``dense`` cases, the rest are tested one case's text at a time (a common needle would
    otherwise cost a bisection per matching case)."""

    __slots__ = ("_starts", "_text", "_texts", "dense")

    def __init__(self, cases: Iterable[Case | CaseRow], *, dense: int = 2_000) -> None:
        self.dense = dense  # matches after which the rest of the cases are tested one by one
        texts = [case_text(c) for c in cases]
        self._starts, self._text = _joined(texts, _SEP)
        self._texts = texts

    def find(self, needle: str) -> list[int]:
        low = needle.strip().lower()
        if not low or _SEP in low or "\x01" in low:
            return []
        out: list[int] = []
        for k in _first_hits(self._text, self._starts, low):
            out.append(k)
            if len(out) >= self.dense:  # a common needle: one substring test per remaining case
                texts = self._texts
                out += [i for i in range(k + 1, len(texts)) if low in texts[i]]
                break
        return out


class IdIndex:
    """Every case id, lowered, in one string: ``find(needle, limit)`` gives the suite positions of
    the first ``limit`` ids holding ``needle`` (the palette's "go to case" at each keystroke: a
    few ``str.find`` calls in C instead of lowering 100,000 ids in Python)."""

    __slots__ = ("_starts", "_text")

    def __init__(self, ids: Iterable[str]) -> None:
        self._starts, self._text = _joined([i.lower().replace("\n", " ") for i in ids], "\n")

    def find(self, needle: str, limit: int) -> list[int]:
        low = needle.lower()
        if not low or "\n" in low or limit < 1:
            return []
        return list(islice(_first_hits(self._text, self._starts, low), limit))


def suite_hits(entries: Iterable[Entry], needle: str) -> set[str]:
    """Ids of the cases whose id, tags, origin, prompt or messages contain ``needle`` (any case).
    An empty needle finds nothing."""
    listed: Sequence[Entry] = list(entries)
    return {listed[k].id for k in SearchIndex(e.row for e in listed).find(needle)}


class Cancel:
    """Stops one search of the outputs: set by the next search (or by leaving the search)."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()


def output_hits(session: Session, needle: str, cancel: Cancel, busy: Callable[[], bool] | None = None) -> set[str] | None:
    """Case ids whose outputs hold ``needle`` (:meth:`Session.search_outputs`), or None when
    ``cancel`` was set meanwhile: the store's reader interrupts the query within a millisecond of
    it, so the worker thread is free again for the next search or a label write. While ``busy()``
    the query waits, every millisecond of its work, until it is not (or is cancelled).

    Runs in the worker's thread, on that thread's read-only connection of the session's reader.
    """
    if cancel.is_set:
        return None

    def stop() -> bool:
        if busy is not None:
            while not cancel.is_set and busy():
                time.sleep(PAUSE_S)
        return cancel.is_set

    return session.search_outputs(needle, cancelled=stop)

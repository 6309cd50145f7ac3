"""Which cases a first assessment takes first when its partial rankings are shown (the review
app, :mod:`reviewer.session.rank`): those likeliest to have changed, so that the top of the list
it shows after a few seconds holds most of what the whole ranking will put there.

What a case's likelihood is judged from reads no text: each output's length in bytes, whether it
failed, its finish reason, whether it was refused (:meth:`StoreReader.output_shapes`, ~1.4 s for
600,000 outputs of ~2 kB: SQLite reads every page, while the pool's workers start). A case whose
sides differ in errors, truncation, refusals or answers stored comes first (the flags that rank
first); then by how far the sides' mean lengths are apart, over how far each side's own samples
are (what sampling noise alone moves), counted twice in a case with checks (only such a case can
flip, and flips rank first); a case whose lengths match exactly last.

Scheduling only (listed in ``SCHEDULING``): the rows, and their final order, are the same in any
order of the chunks; only when each case is assessed changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["CHECKED", "CUT", "Chunks", "Shape", "case_key", "likeliness", "order_chunks", "order_in_background"]

#: finish reasons that say an answer was cut short (OpenAI, Anthropic, the Responses API)
CUT = ("length", "max_tokens", "max_output_tokens")

#: (case_id, outputs, failed, cut, refused, answered, bytes in all, least, greatest): a run's case
Shape = tuple[str, int, int, int, int, int, int, int, int]


def likeliness(baseline: Iterable[Shape], candidate: Iterable[Shape]) -> dict[str, tuple[int, float]]:
    """Per case id, a key that sorts the likeliest changed case last (sort it reversed):
    ``(sides differ in outputs, errors, cuts or refusals, length change over spread)``, from each
    run's :meth:`~reviewer.store.StoreReader.output_shapes`. A case one side lacks differs."""
    base = {s[0]: s for s in baseline}
    out: dict[str, tuple[int, float]] = {}
    none = ("", 0, 0, 0, 0, 0, 0, 0, 0)
    for c in candidate:
        b = base.pop(c[0], none)
        bn, cn = b[1] or 1, c[1] or 1
        differs = b[1] != c[1] or b[2] / bn != c[2] / cn or b[3] / bn != c[3] / cn or b[4] / bn != c[4] / cn
        if not b[5] or not c[5]:
            out[c[0]] = (int(differs), 0.0)
            continue
        bm, cm = b[6] / b[5], c[6] / c[5]
        spread = max(b[8] - b[7], c[8] - c[7])
        out[c[0]] = (int(differs), abs(bm - cm) / (spread + 0.01 * max(bm, cm) + 1))
    for case_id in base:  # no candidate output at all
        out[case_id] = (1, 0.0)
    return out


#: How much more a length change counts in a case with checks: only such a case can flip (a
#: check that passed now fails), and the triage puts flips first. On the 100,000-case bench
#: store, 93 of the final top 100 are among the first 2,000 cases taken (48 without).
CHECKED = 2.0


def case_key(key: tuple[int, float], case: dict[str, Any]) -> tuple[int, float]:
    """A case's :func:`likeliness` key, its length change weighed by :data:`CHECKED` when the
    case has checks (``case``: its JSON, as the suite stores it)."""
    return (key[0], key[1] * CHECKED) if case.get("checks") else key


class Chunks:
    """The chunks of a first assessment, handed out one at a time as ``(index, cases)``; while
    ``ready`` is unset, in suite order; once it is set, the cases not handed out yet are taken
    likeliest changed first (by :func:`case_key` of their :func:`likeliness`); with ``wait``, the
    first chunk waits up to that many seconds for it (a pool starts meanwhile). :meth:`done`
    marks a chunk assessed; :meth:`undone` gives the others (handed out or not), to assess in
    this process."""

    def __init__(self, cases: list[dict[str, Any]], size: int, *, wait: float = 0.0) -> None:
        self._cases = cases
        self._size = max(size, 1)
        self._next = 0  # cases before it are handed out
        self._out: dict[int, list[dict[str, Any]]] = {}  # handed out, not done
        self._count = 0
        self.ready = threading.Event()
        self._key: Callable[[str], tuple[int, float]] | None = None
        self._ordered = False
        self.wait = wait  # seconds the first chunk waits for the order (0: it does not)

    def order_by(self, keys: dict[str, tuple[int, float]]) -> None:
        """Take the cases not handed out yet likeliest first from now on (a case without a key
        counts as unchanged in shape)."""
        none = (0, 0.0)
        self._key = lambda case_id: keys.get(case_id, none)
        self.ready.set()

    def _reorder(self) -> None:
        self._ordered = True
        key = self._key
        if key is None:
            return
        rest = self._cases[self._next :]
        rest.sort(key=lambda c: case_key(key(str(c.get("id"))), c), reverse=True)  # stable: ties keep suite order
        self._cases[self._next :] = rest

    def __iter__(self) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        if self.wait and not self._count:  # the order is being read: the first chunk waits for it
            self.ready.wait(self.wait)
        while self._next < len(self._cases):
            if not self._ordered and self.ready.is_set():
                self._reorder()
            part = self._cases[self._next : self._next + self._size]
            self._next += len(part)
            i = self._count
            self._count += 1
            self._out[i] = part
            yield i, part

    def done(self, index: int) -> list[dict[str, Any]]:
        """Chunk ``index`` is assessed: its cases are no longer held. Returns them."""
        return self._out.pop(index)

    def undone(self) -> Iterator[list[dict[str, Any]]]:
        """Every chunk not done, handed out (in the order handed out) or not (taken as they come),
        each no longer held once given: what this process assesses itself (all of them without a
        pool; what a pool that broke left)."""
        while self._out:
            yield self._out.pop(min(self._out))
        for i, _ in self:
            yield self._out.pop(i)


def order_chunks(chunks: Chunks, shapes: Callable[[], tuple[Iterable[Shape], Iterable[Shape]]]) -> None:
    """Read both runs' shapes (``shapes()``: baseline, candidate) and order ``chunks`` by them. A
    store that cannot give them leaves suite order: this is only when each case is assessed,
    never what, and the assessment reads the store again and says what is wrong."""
    try:
        chunks.order_by(likeliness(*shapes()))
    except Exception:  # scheduling only: the assessment goes on in suite order
        chunks.ready.set()


def order_in_background(chunks: Chunks, shapes: Callable[[], tuple[Iterable[Shape], Iterable[Shape]]]) -> threading.Thread:
    """:func:`order_chunks` in a thread of its own: the pool's workers start meanwhile."""
    t = threading.Thread(target=order_chunks, args=(chunks, shapes), name="assessment-order", daemon=True)
    t.start()
    return t

"""Small least-recently-used caches: the outputs of the last cases shown, the diffs built for
them. A reviewer goes back and forth between a few cases; nothing here grows with the comparison.
No Textual here."""

from __future__ import annotations

import gc
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

__all__ = ["LRU", "paused_gc"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most ``size`` values; a read or a write makes its key the most recent."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("an LRU holds at least one value")
        self.size = size
        self._d: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value (now the most recent), or None."""
        found = self._d.get(key)
        if found is not None:
            self._d.move_to_end(key)
        return found

    def peek(self, key: K) -> V | None:
        """The value without touching the order (for questions that are not a use)."""
        return self._d.get(key)

    def put(self, key: K, value: V) -> V:
        self._d[key] = value
        self._d.move_to_end(key)
        while len(self._d) > self.size:
            self._d.popitem(last=False)
        return value

    def get_or_make(self, key: K, make: Callable[[K], V]) -> V:
        found = self.get(key)
        return found if found is not None else self.put(key, make(key))

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __len__(self) -> int:
        return len(self._d)

    def clear(self) -> None:
        self._d.clear()

    def keys(self) -> list[K]:
        """Oldest first."""
        return list(self._d)


@contextmanager
def paused_gc(*, freeze: bool = False) -> Iterator[None]:
    """No cyclic garbage collection inside: making 100,000 rows and entries (none of them garbage)
    otherwise triggers collections that scan every object made so far (~0.1 s at 100,000 cases).

    ``freeze``: when the block ends normally, every object is moved to the collector's permanent
    generation (``gc.freeze``) before it resumes, for what lives as long as the process's work
    (the review app's rows and entries; the app unfreezes when it closes). Else the objects made
    inside are still young, and the collector's next young pass scans them all (~0.1 s at
    100,000 cases, before the app's first frame)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
        if freeze:
            gc.freeze()
    finally:
        if was:
            gc.enable()

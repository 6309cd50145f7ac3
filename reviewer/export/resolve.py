"""Which comparison a command means: an id, a name, or the latest. It lives in the store now
(``Store.resolve_comparison_id``, or :func:`reviewer.store.resolve_comparison_id`); this module
keeps the old import path working without loading the store at import time."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["resolve_comparison_id"]


def resolve_comparison_id(store: Store, ref: str | int | None) -> int | None:
    """A comparison given as an id or a name (the latest of that name); None = the latest."""
    return store.resolve_comparison_id(ref)

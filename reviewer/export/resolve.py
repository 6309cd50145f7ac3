"""Which comparison a command means: an id, a name, or the latest.

Here for now so that commands needing it (labels, gate, export, signoff) do not import the whole
changelog; its home is the store or ``reviewer.commands._common`` (issue 11), where it will move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["resolve_comparison_id"]


def resolve_comparison_id(store: Store, ref: str | int | None) -> int | None:
    """A comparison given as an id or a name (the latest of that name); None = the latest."""
    if ref is None or ref == "":
        return None
    if isinstance(ref, int) or str(ref).isdigit():
        return int(ref)
    named = [c for c in store.comparisons() if c.name == ref]
    if not named:
        raise UsageError(f"no comparison named {ref!r} (see `reviewer comparisons`)")
    return named[-1].id

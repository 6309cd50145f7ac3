"""Strips that hold no reference to themselves, so that the painted lines die when dropped.

Textual 8.2.8's ``Strip.divide`` caches its result on the strip, and when the only cut is the
strip's own length (a widget whose line no other widget overlaps: nearly every line the compositor
paints) the result is ``[self]``: the strip refers to itself through its cache. Every painted line
then dies as cyclic garbage (13 objects) that only a collection frees, and a line that lived long
enough in a widget's line cache to reach the oldest generation waits for a full collection (at
100,000 cases, 54,000-100,000 unreachable objects a full pass, 39-91 ms of the UI thread each, 8-9
passes in 406 keys of bench/app.py; 0-537 objects and 7-23 ms with this module and the diff
view's FIFO line cache). ``crop_extend`` caches itself the same way when it neither crops nor
extends.

:func:`install` wraps both so that those results are not cached: the same strips, made again on
the next call (a one-item list, or ``self``). The fix belongs in Textual; ``tests/test_app_strips``
fails once Textual's own ``divide`` stops making the cycle, so this module can go then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.style import Style
from textual.strip import Strip

_divide = Strip.divide
_crop_extend = Strip.crop_extend


def _divide_acyclic(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    length = self.cell_length
    cuts = [cut for cut in cuts if cut <= length]
    if cuts == [length]:
        return [self]  # Textual's would cache this list on self: a cycle
    return _divide(self, cuts)


def _crop_extend_acyclic(self: Strip, start: int, end: int, style: Style | None) -> Strip:
    if start == 0 and end == self.cell_length:
        return self  # neither cropped nor extended: Textual's would cache self on self
    return _crop_extend(self, start, end, style)


def install() -> None:
    """Make every ``Strip`` divide and crop without referring to itself (idempotent)."""
    Strip.divide = _divide_acyclic  # type: ignore[method-assign]
    Strip.crop_extend = _crop_extend_acyclic  # type: ignore[method-assign]


def uninstall() -> None:
    """Textual's own methods again (for the tests)."""
    Strip.divide = _divide  # type: ignore[method-assign]
    Strip.crop_extend = _crop_extend  # type: ignore[method-assign]

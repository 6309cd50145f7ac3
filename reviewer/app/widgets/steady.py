"""A ``ScrollView`` that refreshes its scrollbars only when what they show can have changed.

Textual 8.2.8's ``ScrollView._size_updated`` compares the compositor's virtual size (the view's
region) with the view's own scrollable size. They never match, so every layout anywhere on the
screen (a panel of the case pane growing by a line, on each ``j``) refreshed every scroll view's
scrollbars, and each refresh cost a second composite after the key's frame, across the columns
between the list's scrollbar and the diff's: 2.3 ms a ``j`` at 160×45 on this project's 2-core
machine (~1 ms now, for the diff's scrollbar alone, whose height changes with the case).

Here the scrollbars are updated, as Textual does it, only when the view's size, its container's
size, its scrollable size or the styles that place its scrollbars differ from the last update.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView


class SteadyScrollView(ScrollView):
    _scrollbars_for: tuple[object, ...] | None = None

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        styles = self.styles
        seen = (
            size,
            container_size,
            self.virtual_size,
            styles.gutter,
            styles.overflow_x,
            styles.overflow_y,
            styles.scrollbar_size_vertical,
            styles.scrollbar_size_horizontal,
        )
        if seen == self._scrollbars_for and size == self._size:
            # what ScrollView returns when nothing changed: whether a Resize should be sent
            return self._container_size != container_size
        resized = super()._size_updated(size, virtual_size, container_size, layout)
        self._scrollbars_for = seen
        return resized

"""The two outputs side by side, as one Line-API widget.

Both panes are painted by one ``ScrollView`` from a :class:`~reviewer.app.diffrender.SideBySide`,
so they scroll together by construction, and only the visible lines are ever rendered (a 20k-line
diff costs what a screenful costs). Colours come from component classes in ``review.tcss``.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import FIFOCache
from textual.geometry import Size
from textual.strip import Strip

from ..diffrender import DiffStyles, SideBySide
from .steady import SteadyScrollView

_COMPONENTS = {
    "lineno": "diff--lineno",
    "delete_line": "diff--delete-line",
    "delete_word": "diff--delete-word",
    "insert_line": "diff--insert-line",
    "insert_word": "diff--insert-word",
    "moved": "diff--moved",
    "filler": "diff--filler",
    "special": "diff--special",
    "marker_delete": "diff--marker-delete",
    "marker_insert": "diff--marker-insert",
    "marker_moved": "diff--marker-moved",
    "marker_json": "diff--marker-json",
    "separator": "diff--separator",
    "search": "diff--search",
    "decline": "diff--decline",
}


class DiffView(SteadyScrollView, can_focus=False):
    COMPONENT_CLASSES = set(_COMPONENTS.values()) | {"diff--placeholder"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model: SideBySide | None = None
        self.placeholder = ""
        self._styles: DiffStyles | None = None
        # FIFO, not Textual's LRUCache: that is a ring of lists, and each clear (every case
        # shown) would leave the ring and its strips as cyclic garbage for a full collection
        self._lines: FIFOCache[tuple[int, int, int], Strip] = FIFOCache(1024)
        self._generation = 0
        self._base: Style | None = None  # self.rich_style costs ~80 µs: once per style change

    def show(self, model: SideBySide | None, placeholder: str = "", *, keep_scroll: bool = False) -> None:
        """Show these rows (or ``placeholder`` when there are none)."""
        self.model = model
        self.placeholder = placeholder
        self._generation += 1
        self._lines.clear()
        self._update_virtual_size()
        if not keep_scroll:
            self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def text_width(self) -> int:
        return self.scrollable_content_region.width

    def _update_virtual_size(self) -> None:
        width = self.text_width()
        height = self.model.height(width) if self.model is not None and width > 0 else 1
        self.virtual_size = Size(width, height)

    def on_resize(self, event: events.Resize) -> None:
        self._lines.clear()
        self._update_virtual_size()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._base = None
        self._lines.clear()

    def diff_styles(self) -> DiffStyles:
        if self._styles is None:
            g = self.get_component_rich_style
            self._styles = DiffStyles(base=self.base_style(), **{k: g(v, partial=True) for k, v in _COMPONENTS.items()})
        return self._styles

    def base_style(self) -> Style:
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def render_line(self, y: int) -> Strip:
        width = self.text_width()
        base = self.base_style()
        if self.model is None:
            if y == 1 and self.placeholder:
                style = base + self.get_component_rich_style("diff--placeholder", partial=True)
                text = f"  {self.placeholder}"[:width]
                return Strip([Segment(text, style), Segment(" " * (width - len(text)), base)], width)
            return Strip.blank(width, base)
        line_y = int(self.scroll_offset.y) + y
        key = (self._generation, line_y, width)
        strip = self._lines.get(key)
        if strip is None:
            strip = Strip(self.model.line(line_y, width, self.diff_styles()), width)
            self._lines[key] = strip
        return strip

    # -- navigation -----------------------------------------------------------------------------

    def scroll_lines(self, n: int) -> None:
        self.scroll_to(y=self.scroll_offset.y + n, animate=False, immediate=True)

    def scroll_pages(self, n: int) -> None:
        self.scroll_lines(n * max(1, self.scrollable_content_region.height - 2))

    def jump_change(self, direction: int) -> bool:
        """Scroll to the next (1) or previous (-1) run of changed rows; False when none."""
        if self.model is None:
            return False
        starts = self.model.hunk_starts(self.text_width())
        y = int(self.scroll_offset.y)
        target = next((s for s in starts if s > y), None) if direction > 0 else next((s for s in reversed(starts) if s < y), None)
        if target is None:
            return False
        self.scroll_to(y=max(0, target - 1), animate=False, immediate=True)
        return True

    def text_lines(self) -> list[str]:
        """Every visual line as plain text (tests and debugging)."""
        if self.model is None:
            return [self.placeholder]
        width = self.text_width()
        return [self.model.plain_line(y, width) for y in range(self.model.height(width))]

"""Side-by-side diff rows laid out for a width and painted one visual line at a time.

:class:`SideBySide` takes the aligned rows of the diff engine (``reviewer.diff.align.Row``) and
answers the two questions a Line-API widget asks: how many lines are there at this width
(:meth:`SideBySide.height`), and what segments make line ``y`` (:meth:`SideBySide.line`). Long
lines wrap inside their pane (word wrap, cell-aware so CJK and emoji keep the columns straight);
a row is as tall as its taller side, so both panes stay level and scroll together.

Untrusted text is shown through :mod:`reviewer.app.visible`: every ``rich.text.Text`` here is
built from plain strings plus style spans, never markup.

Rich only (no Textual, no I/O), so it is tested and benchmarked without an app.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Literal

from rich.cells import cell_len, get_character_cell_size
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from .visible import Visible, make_visible

if TYPE_CHECKING:
    from reviewer.diff.align import Row

__all__ = ["BIG_PAIR", "Built", "DiffKey", "DiffStyles", "SideBySide", "build_diff", "line_spans", "wrap_offsets"]

Side = Literal["left", "right"]

# Text.render needs a Console only to resolve style *names*; we pass Style objects, so one
# private, never-printing console serves every call.
_CONSOLE = Console(file=None, color_system=None, force_terminal=False, width=80, legacy_windows=False)


@dataclass(frozen=True, slots=True)
class DiffStyles:
    """Rich styles for each part of the view. On screen every one comes from the ``.tcss``
    (``DiffView``'s ``diff--*`` component classes); these defaults, for rendering without a
    stylesheet, tell the parts apart without colour."""

    base: Style = field(default_factory=Style.null)
    lineno: Style = field(default_factory=lambda: Style(dim=True))
    delete_line: Style = field(default_factory=Style.null)
    delete_word: Style = field(default_factory=lambda: Style(reverse=True, bold=True))
    insert_line: Style = field(default_factory=Style.null)
    insert_word: Style = field(default_factory=lambda: Style(reverse=True, bold=True, italic=True))
    moved: Style = field(default_factory=lambda: Style(dim=True))
    filler: Style = field(default_factory=lambda: Style(dim=True))
    special: Style = field(default_factory=lambda: Style(italic=True))
    marker_delete: Style = field(default_factory=lambda: Style(bold=True))
    marker_insert: Style = field(default_factory=lambda: Style(bold=True))
    marker_moved: Style = field(default_factory=lambda: Style(bold=True))
    marker_json: Style = field(default_factory=lambda: Style(bold=True))
    separator: Style = field(default_factory=lambda: Style(dim=True))
    search: Style = field(default_factory=lambda: Style(underline=True, overline=True))
    decline: Style = field(default_factory=lambda: Style(underline=True))


# ---------------------------------------------------------------------------------------------
# Wrapping
# ---------------------------------------------------------------------------------------------


def wrap_offsets(text: str, width: int) -> list[int]:
    """Offsets where the continuation lines of ``text`` start when it is wrapped to ``width``
    cells: after the last space that fits, else (a word longer than the width) wherever the
    width runs out. Never splits before a zero-width character. ``[]`` when it fits."""
    width = max(1, width)
    if text.isascii():  # one cell per character: find breaks with C-speed rfind
        n = len(text)
        if n <= width:
            return []
        out: list[int] = []
        pos = 0
        while n - pos > width:
            brk = text.rfind(" ", pos, pos + width)
            nxt = brk + 1 if brk >= pos and brk + 1 > pos else pos + width
            if nxt >= n:
                break
            out.append(nxt)
            pos = nxt
        return out
    if cell_len(text) <= width:
        return []
    out = []
    start = 0  # where the current visual line starts
    col = 0
    after_space = -1  # offset just after the last space on the current visual line
    size = get_character_cell_size
    for i, ch in enumerate(text):
        cw = 1 if ch < "\x7f" else size(ch)
        if col + cw > width and i > start:
            brk = after_space if after_space > start else i
            out.append(brk)
            start = brk
            col = cell_len(text[brk:i])
            after_space = -1
            if col + cw > width and i > start:  # the word carried over plus this char still overflow
                out.append(i)
                start = i
                col = 0
        col += cw
        if ch == " ":
            after_space = i + 1
    return out


# ---------------------------------------------------------------------------------------------
# One side of one row, ready to paint
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Cell:
    """One side of one row: the shown text, where it wraps, and its style spans (offsets into
    the shown text; None until the cell is first painted: the layout reads only the text)."""

    visible: Visible  # its ``text`` is what is shown
    spans: list[tuple[int, int, Style]] | None = None
    wraps: dict[int, list[int]] = field(default_factory=dict)  # text width -> wrap offsets

    @property
    def shown(self) -> str:
        return self.visible.text

    def breaks(self, width: int) -> list[int]:
        found = self.wraps.get(width)
        if found is None:
            found = self.wraps[width] = wrap_offsets(self.shown, width)
        return found

    def height(self, width: int) -> int:
        return len(self.breaks(width)) + 1

    def chunk(self, k: int, width: int) -> tuple[int, int]:
        b = self.breaks(width)
        start = 0 if k == 0 else b[k - 1]
        end = b[k] if k < len(b) else len(self.shown)
        return start, end


def _search_spans(shown: str, needle: str | None, style: Style) -> list[tuple[int, int, Style]]:
    if not needle:
        return []
    return [(m.start(), m.end(), style) for m in re.finditer(re.escape(needle), shown, re.IGNORECASE)]


class SideBySide:
    """Aligned rows, wrapped to a width on demand, painted one visual line at a time.

    ``marked_left``/``marked_right`` are line numbers to flag in the gutter (the JSON view's
    lines touched by a structural change).
    """

    def __init__(
        self,
        rows: Sequence[Row],
        *,
        marked_left: frozenset[int] = frozenset(),
        marked_right: frozenset[int] = frozenset(),
        search: str | None = None,
        declines: dict[Side, dict[int, tuple[int, int]]] | None = None,
    ) -> None:
        self.rows = rows
        self.marked = {"left": marked_left, "right": marked_right}
        self.search = search or None
        #: per side, line number -> (start, end) columns of the words that decline to answer
        self.declines: dict[Side, dict[int, tuple[int, int]]] = declines or {}
        top = max((max(r.left_no or 0, r.right_no or 0) for r in rows), default=0)
        self.digits = max(2, len(str(top)))
        self._cells: dict[tuple[int, Side], _Cell | None] = {}
        self._layout_width = -1
        self._starts: list[int] = [0]
        self._styles: DiffStyles | None = None

    # -- geometry -----------------------------------------------------------------------------

    def gutter(self) -> int:
        """Cells before the text in each pane: line number, space, marker, space."""
        return self.digits + 3

    def pane_widths(self, width: int) -> tuple[int, int]:
        left = max(0, (width - 1) // 2)
        return left, max(0, width - 1 - left)

    def text_widths(self, width: int) -> tuple[int, int]:
        lw, rw = self.pane_widths(width)
        g = self.gutter()
        return max(4, lw - g), max(4, rw - g)

    def _layout(self, width: int) -> None:
        if width == self._layout_width:
            return
        tl, tr = self.text_widths(width)
        heights = []
        for i in range(len(self.rows)):
            left, right = self._cell(i, "left"), self._cell(i, "right")
            heights.append(max(left.height(tl) if left else 1, right.height(tr) if right else 1))
        self._starts = [0, *accumulate(heights)]
        self._layout_width = width

    def height(self, width: int) -> int:
        """Visual lines at this width."""
        self._layout(width)
        return self._starts[-1]

    def locate(self, y: int, width: int) -> tuple[int, int] | None:
        """(row index, visual line within the row) of visual line ``y``."""
        self._layout(width)
        if y < 0 or y >= self._starts[-1]:
            return None
        i = bisect_right(self._starts, y) - 1
        return i, y - self._starts[i]

    def row_start(self, index: int, width: int) -> int:
        """The visual line where row ``index`` starts."""
        self._layout(width)
        return self._starts[max(0, min(index, len(self.rows)))]

    def hunk_starts(self, width: int) -> list[int]:
        """Visual lines where a run of non-equal rows starts (targets for next/previous change)."""
        self._layout(width)
        out = []
        prev_equal = True
        for i, r in enumerate(self.rows):
            if r.kind != "equal" and prev_equal:
                out.append(self._starts[i])
            prev_equal = r.kind == "equal"
        return out

    # -- cells ----------------------------------------------------------------------------------

    def _cell(self, index: int, side: Side) -> _Cell | None:
        """The shown text of one side of a row (what the layout wraps); its spans are made when
        it is first painted (:meth:`_spans`): a 20k-char diff's layout wraps every row, and
        styling every row too took ~30 ms of a key."""
        key = (index, side)
        if key in self._cells:
            return self._cells[key]
        row = self.rows[index]
        raw = row.left if side == "left" else row.right
        if raw is None:
            self._cells[key] = None
            return None
        vis: Visible = make_visible(raw)
        cell = _Cell(vis)
        self._cells[key] = cell
        return cell

    def _spans(self, index: int, side: Side, cell: _Cell, styles: DiffStyles) -> list[tuple[int, int, Style]]:
        """The cell's style spans (changed words, shown specials, a decline, search hits) in
        ``styles``, made once per cell and styles."""
        if cell.spans is not None:
            return cell.spans
        row = self.rows[index]
        vis = cell.visible
        spans: list[tuple[int, int, Style]] = []
        word = styles.delete_word if side == "left" else styles.insert_word
        for sp in row.left_spans if side == "left" else row.right_spans:
            spans.append((vis.offset(sp.start), vis.offset(sp.end), word))
        spans.extend((s, e, styles.special) for s, e in vis.specials)
        decline = self.declines.get(side, {}).get((row.left_no if side == "left" else row.right_no) or 0)
        if decline is not None:
            spans.append((vis.offset(decline[0]), vis.offset(decline[1]), styles.decline))
        spans.extend(_search_spans(vis.text, self.search, styles.search))
        cell.spans = spans
        return spans

    def set_styles(self, styles: DiffStyles) -> None:
        """Use these styles from now on: every cell's spans are made again (its text and wraps
        do not depend on the styles)."""
        if styles != self._styles:
            self._styles = styles
            for cell in self._cells.values():
                if cell is not None:
                    cell.spans = None

    # -- painting -------------------------------------------------------------------------------

    def _line_style(self, kind: str, side: Side, styles: DiffStyles) -> Style:
        if kind == "changed" or (kind == "only_left" and side == "left") or (kind == "only_right" and side == "right"):
            return styles.delete_line if side == "left" else styles.insert_line
        if kind == "moved":
            return styles.moved
        return styles.base

    def _marker(self, row: Row, side: Side, styles: DiffStyles, number: int | None) -> tuple[str, Style]:
        kind = row.kind
        if kind == "moved":
            return ("↷" if side == "left" else "↶"), styles.marker_moved
        if kind == "changed" or kind in ("only_left", "only_right"):
            return ("-", styles.marker_delete) if side == "left" else ("+", styles.marker_insert)
        if number is not None and number in self.marked[side]:
            return "◆", styles.marker_json
        return " ", styles.base

    def _pane(self, index: int, k: int, side: Side, pane_w: int, text_w: int, styles: DiffStyles) -> list[Segment]:
        row = self.rows[index]
        cell = self._cell(index, side)
        if cell is None:
            return [Segment("╱" * pane_w, styles.base + styles.filler)]
        line_style = styles.base + self._line_style(row.kind, side, styles)
        number = row.left_no if side == "left" else row.right_no
        segs: list[Segment] = []
        if k == 0:
            marker, marker_style = self._marker(row, side, styles, number)
            segs.append(Segment(f"{number or '':>{self.digits}} ", styles.base + styles.lineno))
            segs.append(Segment(marker, line_style + marker_style))
            segs.append(Segment(" ", line_style))
        else:
            segs.append(Segment(" " * (self.digits + 1), styles.base))
            segs.append(Segment("  ", line_style))
        height = cell.height(text_w)
        if k < height:
            start, end = cell.chunk(k, text_w)
            text = Text(cell.shown[start:end], end="")
            # a span, not Text(style=...): Text.render drops the base style of a span-less text
            text.stylize(line_style)
            for s, e, st in self._spans(index, side, cell, styles):
                if e > start and s < end:
                    text.stylize(st, max(s, start) - start, min(e, end) - start)
            body = list(text.render(_CONSOLE))
        else:
            body = []
        body = Segment.adjust_line_length(body, text_w, style=line_style, pad=True)
        segs.extend(body)
        return segs

    def line(self, y: int, width: int, styles: DiffStyles | None = None) -> list[Segment]:
        """The segments of visual line ``y`` at ``width`` cells (exactly ``width`` cells long)."""
        styles = styles or self._styles or DiffStyles()
        if styles != self._styles:
            self.set_styles(styles)
        where = self.locate(y, width)
        if where is None:
            return [Segment(" " * width, styles.base)]
        index, k = where
        lw, rw = self.pane_widths(width)
        tl, tr = self.text_widths(width)
        left = self._pane(index, k, "left", lw, tl, styles)
        right = self._pane(index, k, "right", rw, tr, styles)
        left = Segment.adjust_line_length(left, lw, style=styles.base)
        right = Segment.adjust_line_length(right, rw, style=styles.base)
        return [*left, Segment("│", styles.base + styles.separator), *right]

    def plain_line(self, y: int, width: int) -> str:
        """Visual line ``y`` as plain text (tests, copy)."""
        return "".join(s.text for s in self.line(y, width))


# ---------------------------------------------------------------------------------------------
# One pair of outputs, built for the screen
# ---------------------------------------------------------------------------------------------

#: Pairs bigger than this (characters, both sides) are aligned in a worker thread.
BIG_PAIR = 200_000


@dataclass(frozen=True, slots=True)
class DiffKey:
    """Everything a built diff depends on (the key of the screen's diff cache)."""

    case_id: str
    baseline_sample: int
    candidate_sample: int
    json: bool
    ignore_whitespace: bool
    search: str | None
    #: [start, end) of the words that decline to answer in each side's text (from its signals)
    decline_left: tuple[int, int] | None = None
    decline_right: tuple[int, int] | None = None


@dataclass(slots=True)
class Built:
    model: SideBySide | None
    json: Any = None  # JsonView in JSON mode
    note: str = ""


def line_spans(text: str, span: tuple[int, int] | None) -> dict[int, tuple[int, int]]:
    """A ``[start, end)`` span of ``text`` as (start, end) columns per 1-based line number, the
    lines as :func:`reviewer.diff.align.split_lines` cuts them."""
    if span is None:
        return {}
    from reviewer.diff.align import split_lines

    start, end = span
    out: dict[int, tuple[int, int]] = {}
    at = 0
    for no, (line, eol) in enumerate(zip(*split_lines(text), strict=True), start=1):
        s, e = max(start, at), min(end, at + len(line))
        if s < e:
            out[no] = (s - at, e - at)
        at += len(line) + len(eol)
        if at >= end:
            break
    return out


def build_diff(key: DiffKey, left: str, right: str) -> Built:
    """Rows for one pair of outputs: the JSON view when asked and both sides hold JSON, else
    the text alignment (with the words that decline to answer marked)."""
    from reviewer.diff.align import align

    if key.json:
        from reviewer.diff.jsondiff import json_view

        jv = json_view(left, right)
        if jv is not None:
            model = SideBySide(jv.rows, marked_left=jv.changed_left_lines, marked_right=jv.changed_right_lines, search=key.search)
            return Built(model, jv)
    if not left and not right:
        return Built(None, note="no text on either side (tool calls, when there are any, are shown above)")
    rows = align(left, right, ignore_whitespace=key.ignore_whitespace)
    declines: dict[Side, dict[int, tuple[int, int]]] = {
        "left": line_spans(left, key.decline_left), "right": line_spans(right, key.decline_right),
    }  # fmt: skip
    return Built(SideBySide(rows, search=key.search, declines=declines))

"""The case list: one line per case, painted only where visible (Line API).

10,000 cases cost nothing until they scroll into view; a label changes one line. The list reads
the :class:`~reviewer.session.state.ReviewState` it is given and posts :class:`CaseList.Highlighted`
when the cursor moves; it never touches the store.

In triage order, a separator row names the groups a reviewer may stop before ("within noise",
"unchanged"). Separators are rows of the list but not positions of the cursor: the cursor is an
index into the view (as everywhere else), and only painting, scrolling and clicks map it to rows.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from reviewer.session.state import Entry, ReviewState

from ..visible import make_visible
from .steady import SteadyScrollView

VERDICT_MARKS = {
    "unreviewed": "·",
    "regression": "✗",
    "improvement": "↑",
    "acceptable": "✓",
    "noise": "≈",
}
FLAG_MARKS = {
    "negative_flip": "▼",
    "error": "!",
    "refusal_flip": "⊘",
    "non_answer_flip": "∅",
    "truncation": "⋯",
    "format_drift": "≋",
    "tool_drift": "⚙",
    "positive_flip": "▲",
}
FLAG_ORDER = tuple(FLAG_MARKS)  # most serious first: the first three fit in the column
#: Triage tiers (``Assessment.tier``) that start with a separator row naming them.
GROUP_NAMES = {2: "within noise", 3: "unchanged"}


def group_starts(state: ReviewState) -> list[tuple[int, str]]:
    """Where a group of :data:`GROUP_NAMES` starts in the view, and its separator's text (triage
    order only, once ranked: elsewhere the tiers are not contiguous), found by bisection
    (:meth:`ReviewState.tier_spans`), whatever the number of cases."""
    if state.sort != "triage" or not state.ranked:
        return []
    starts = []
    for tier, first, n in state.tier_spans(GROUP_NAMES):
        starts.append((first, f"{GROUP_NAMES[tier]} · {n:,} case{'s' if n != 1 else ''}"))
    starts.sort()
    return starts


def group_rows(state: ReviewState) -> list[int | str]:
    """The list's rows: view indexes, with a group name before each group of :data:`GROUP_NAMES`."""
    rows: list[int | str] = list(range(len(state.view)))
    for k, (at, name) in enumerate(group_starts(state)):
        rows.insert(at + k, name)
    return rows


def score_text(entry: Entry) -> str:
    if entry.change is None:
        return "  … "
    return f"{entry.change:4.2f}"[:4]


def case_line(entry: Entry, width: int, styles: dict[str, Style]) -> Text:
    """One list line: verdict, severity, others' mark, flags, id and tags, change score."""
    t = Text(no_wrap=True, end="")
    verdict = entry.verdict
    t.append(VERDICT_MARKS[verdict], styles[verdict])
    sev = entry.mine.severity if entry.mine and entry.mine.severity else None
    t.append(str(sev) if sev else " ", styles["regression"])
    if entry.disagreement:
        t.append("≠", styles["disagreement"])
    elif entry.others:
        t.append("◦", styles["dim"])
    else:
        t.append(" ")
    t.append(" ")
    flags = [f for f in FLAG_ORDER if f in entry.flags][:3]
    for f in flags:
        t.append(FLAG_MARKS[f], styles[f])
    t.append(" " * (3 - len(flags)) + " ")
    score = score_text(entry)
    room = width - cell_len(t.plain) - len(score) - 1
    if room > 0:
        name = Text(make_visible(entry.id).text, style=styles["id"], end="")
        tags = " ".join("#" + make_visible(tag).text for tag in entry.row.tags)
        if tags:
            name.append(" " + tags, styles["tag"])
        name.truncate(room, overflow="ellipsis", pad=True)
        t.append_text(name)
    t.append(" ")
    t.append(score, styles["dim"] if entry.change is None or entry.noise or entry.change == 0 else styles["score"])
    return t


class CaseList(SteadyScrollView, can_focus=True):
    """Cases in the state's view order, with a cursor."""

    COMPONENT_CLASSES = {
        "case-list--cursor",
        "case-list--cursor-blurred",
        "case-list--id",
        "case-list--tag",
        "case-list--score",
        "case-list--dim",
        "case-list--unreviewed",
        "case-list--regression",
        "case-list--improvement",
        "case-list--acceptable",
        "case-list--noise",
        "case-list--disagreement",
        "case-list--flag-bad",
        "case-list--flag-warn",
        "case-list--flag-good",
        "case-list--group",
    }

    # ScrollView's own arrow/page bindings would scroll the view; here they move the cursor
    BINDINGS = [
        Binding("down", "move(1)", "Next case", id="cursor.down", show=False),
        Binding("up", "move(-1)", "Previous case", id="cursor.up", show=False),
        Binding("pagedown", "page(1)", "Page down", id="cursor.page-down", show=False),
        Binding("pageup", "page(-1)", "Page up", id="cursor.page-up", show=False),
        Binding("home", "first", "First case", id="cursor.first", show=False),
        Binding("end", "last", "Last case", id="cursor.last", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False, repaint=False)

    class Highlighted(Message):
        """The cursor is on another case."""

        def __init__(self, case_list: CaseList, case_id: str | None) -> None:
            super().__init__()
            self.case_list = case_list
            self.case_id = case_id

        @property
        def control(self) -> CaseList:
            return self.case_list

    def __init__(self, state: ReviewState, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = state
        self._cache: dict[tuple, Strip] = {}
        self._styles: dict[str, Style] | None = None
        self._base: Style | None = None  # self.rich_style costs ~80 µs: once per style change
        #: (view index, text) of each group separator, in order: row of index i is i plus the
        #: separators at or before it (at most two, so no per-case map at 100,000 cases)
        self._seps: list[tuple[int, str]] = []
        self._layout()

    # -- data -----------------------------------------------------------------------------------

    @property
    def current(self) -> Entry | None:
        view = self.state.view
        return view[self.cursor] if 0 <= self.cursor < len(view) else None

    def _layout(self) -> None:
        self._seps = group_starts(self.state)

    def row_of(self, index: int) -> int:
        """The row (line of the list) of this view index."""
        return index + sum(1 for at, _ in self._seps if at <= index)

    def item_at(self, row: int) -> int | str | None:
        """What the row shows: a view index, a separator's text, or None past the end."""
        if row < 0 or row >= self.rows:
            return None
        for k, (at, name) in enumerate(self._seps):
            if row == at + k:
                return name
            if row < at + k:
                return row - k
        return row - len(self._seps)

    @property
    def rows(self) -> int:
        return len(self.state.view) + len(self._seps)

    def reload(self, keep: str | None = None) -> None:
        """The view changed (sort, filter, labels): repaint, keeping the cursor on ``keep``."""
        self._cache.clear()
        self._layout()
        self.virtual_size = Size(self.size.width, self.rows)
        pos = self.state.position(keep)
        if pos is None:
            pos = min(self.cursor, max(0, len(self.state.view) - 1))
        far = abs(self.row_of(pos) - self.row_of(self.cursor)) > self.scrollable_content_region.height
        self.cursor = pos
        if far:  # a jump (go to case, new order): show the case mid-list, with context around it
            self.scroll_to_cursor(center=True)
        self.refresh()

    def refresh_case(self, case_id: str) -> None:
        pos = self.state.position(case_id)
        if pos is not None:
            self.refresh_line(self.row_of(pos))

    def on_mount(self) -> None:
        self.virtual_size = Size(self.size.width, self.rows)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._base = None
        self._cache.clear()

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()
        self.virtual_size = Size(event.size.width, self.rows)
        self.scroll_to_cursor()

    # -- cursor ---------------------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.state.view) - 1)) if self.state.view else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(self.row_of(old))
        self.refresh_line(self.row_of(new))
        self.scroll_to_cursor()
        entry = self.current
        self.post_message(self.Highlighted(self, entry.id if entry else None))

    def scroll_to_cursor(self, *, center: bool = False) -> None:
        if self.size.height:
            row = self.row_of(self.cursor)
            if row > 0 and isinstance(self.item_at(row - 1), str):  # keep a group's name in sight with its first case
                row -= 1
                region = Region(0, row, 1, 2)
            else:
                region = Region(0, row, 1, 1)
            self.scroll_to_region(region, animate=False, force=True, x_axis=False, immediate=True, center=center)

    def move(self, delta: int) -> None:
        self.cursor = self.cursor + delta

    def page(self, direction: int) -> None:
        self.cursor = self.cursor + direction * max(1, self.scrollable_content_region.height - 1)

    def action_move(self, delta: int) -> None:
        self.move(delta)

    def action_page(self, direction: int) -> None:
        self.page(direction)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self.state.view) - 1

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            y = offset.y + int(self.scroll_offset.y)
            item = self.item_at(y)
            if isinstance(item, int):
                self.cursor = item
            elif isinstance(item, str):  # a group's name: its first case
                after = self.item_at(y + 1)
                if isinstance(after, int):
                    self.cursor = after
        self.focus()

    # -- painting -------------------------------------------------------------------------------

    def _line_styles(self) -> dict[str, Style]:
        if self._styles is None:
            g = self.get_component_rich_style
            bad, warn, good = g("case-list--flag-bad"), g("case-list--flag-warn"), g("case-list--flag-good")
            self._styles = {
                "id": g("case-list--id", partial=True),
                "tag": g("case-list--tag", partial=True),
                "score": g("case-list--score", partial=True),
                "dim": g("case-list--dim", partial=True),
                "disagreement": g("case-list--disagreement", partial=True),
                "cursor": g("case-list--cursor" if self.has_focus else "case-list--cursor-blurred", partial=True),
                **{v: g(f"case-list--{v}", partial=True) for v in VERDICT_MARKS},
                **{f: good if f == "positive_flip" else bad if f in ("negative_flip", "error") else warn for f in FLAG_MARKS},
                "group": g("case-list--group", partial=True),
            }  # fmt: skip
        return self._styles

    def render_line(self, y: int) -> Strip:
        row = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        base = self._base
        if base is None:
            base = self._base = self.rich_style
        view = self.state.view
        index = self.item_at(row)
        if index is None or width <= 0:
            return Strip.blank(width, base)
        if isinstance(index, str):
            return self._separator(index, width, base)
        entry = view[index]
        is_cursor = index == self.cursor
        mine = entry.mine
        key = (
            entry.id, entry.verdict, mine.severity if mine else None, entry.disagreement, bool(entry.others),
            entry.change, entry.flags, width, is_cursor,
            self.has_focus,
        )  # fmt: skip
        strip = self._cache.get(key)
        if strip is None:
            styles = self._line_styles()
            text = case_line(entry, width, styles)
            # lowest first: the widget's style, the cursor's background, then each mark's colour
            if is_cursor:
                text.stylize_before(styles["cursor"])
            text.stylize_before(base)
            segments = Segment.adjust_line_length(list(text.render(self.app.console)), width, style=base)
            strip = Strip(segments, width)
            if len(self._cache) > 2000:
                self._cache.clear()
            self._cache[key] = strip
        return strip

    def _separator(self, name: str, width: int, base: Style) -> Strip:
        key = ("group", name, width)
        strip = self._cache.get(key)
        if strip is None:
            text = Text(no_wrap=True, end="")
            text.append("── " + name + " ", self._line_styles()["group"])
            rest = width - cell_len(text.plain)
            if rest > 0:
                text.append("─" * rest, self._line_styles()["group"])
            text.truncate(width)
            text.stylize_before(base)
            strip = Strip(Segment.adjust_line_length(list(text.render(self.app.console)), width, style=base), width)
            self._cache[key] = strip
        return strip

    def on_focus(self) -> None:
        self._styles = None
        self.refresh_line(self.row_of(self.cursor))

    def on_blur(self) -> None:
        self._styles = None
        self.refresh_line(self.row_of(self.cursor))

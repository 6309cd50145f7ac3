"""Choose which cases the list shows: verdicts, flags, disagreements, tags (with counts)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from reviewer.session.state import FLAG_LABELS, FLAGS, JUDGE_DISAGREES, JUDGE_ORDER, VERDICT_LABELS, Filter, ReviewState

from ..widgets.case_list import FLAG_MARKS, VERDICT_MARKS
from ..widgets.info import DIM, Palette, vis


class FilterList(SelectionList[tuple[str, str]]):
    BINDINGS = [
        Binding("enter", "screen.apply", "Apply", id="filter.apply"),
        Binding("c", "screen.clear", "Clear all", id="filter.clear"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]


class FilterScreen(ModalScreen[Filter | None]):
    """Space toggles a choice, enter applies, c clears every choice, escape cancels."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel", id="filter.cancel")]

    def __init__(self, state: ReviewState, palette: Palette | None = None) -> None:
        super().__init__()
        self.state = state
        self.palette = palette or Palette()

    def compose(self) -> ComposeResult:
        counts = self.state.counts()
        flt = self.state.filter
        options: list[Selection[tuple[str, str]]] = []

        def line(mark: str, label: Text | str, n: int) -> Text:
            t = Text(f"{mark} ", end="")
            t.append_text(label if isinstance(label, Text) else Text(label))
            t.append(f"  {n:,}", DIM)
            return t

        for v, label in VERDICT_LABELS.items():
            options.append(Selection(line(VERDICT_MARKS[v], label, counts.verdicts[v]), ("verdicts", v), v in flt.verdicts))
        for f in FLAGS:
            options.append(
                Selection(line(FLAG_MARKS.get(f, "•"), FLAG_LABELS[f], counts.flags.get(f, 0)), ("flags", f), f in flt.flags)
            )
        options.append(
            Selection(
                line("≠", "disagreement with another reviewer", counts.disagreements),
                ("flags", "disagreement"),
                "disagreement" in flt.flags,
            )
        )
        if self.state.judged:
            from reviewer.session.judge import JUDGE_LABELS

            jc = self.state.judge_counts()
            for v in JUDGE_ORDER:
                options.append(Selection(line("⚖", JUDGE_LABELS[v], jc.get(v, 0)), ("judges", v), v in flt.judges))
            options.append(Selection(line("⚖", "judge disagrees with your label", jc[JUDGE_DISAGREES]), ("judges", JUDGE_DISAGREES),
                                     JUDGE_DISAGREES in flt.judges))  # fmt: skip
        for tag, n in self.state.tags().items():
            options.append(Selection(line("#", vis(tag, special=self.palette.special), n), ("tags", tag), tag in flt.tags))
        with Vertical(id="filter-dialog"):
            yield Static(Text("Show cases that are… (any within a group, all across groups)", "bold"), id="filter-title")
            yield Static(Text("space toggles · enter applies · c clears all · esc cancels", DIM), id="filter-help")
            yield FilterList(*options, id="filter-list")

    def on_mount(self) -> None:
        self.query_one(FilterList).focus()

    def action_apply(self) -> None:
        chosen: dict[str, set[str]] = {"verdicts": set(), "flags": set(), "tags": set(), "judges": set()}
        for kind, value in self.query_one(FilterList).selected:
            chosen[kind].add(value)
        self.dismiss(
            Filter(
                frozenset(chosen["verdicts"]), frozenset(chosen["flags"]), frozenset(chosen["tags"]), frozenset(chosen["judges"])
            )
        )

    def action_clear(self) -> None:
        self.query_one(FilterList).deselect_all()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

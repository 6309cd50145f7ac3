"""``?``: every key of the review screen (as remapped by the user's keymap) and what the marks mean."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..widgets.case_list import FLAG_MARKS, VERDICT_MARKS
from ..widgets.info import DIM, InfoStatic, Palette

if TYPE_CHECKING:
    from textual.screen import Screen

GROUPS = {
    "cursor": "Move",
    "label": "Label (saved at once)",
    "view": "View",
    "diff": "Diff",
    "list": "List",
    "case": "Case",
    "app": "App",
}


def _keys_and_descriptions(screen: Screen, keymap: dict[str, str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    from ..widgets.case_list import CaseList

    app = screen.app
    nodes = [screen, *screen.query(CaseList), app]
    keys: dict[str, list[str]] = {}
    descriptions: dict[str, str] = {}
    for node in nodes:
        bindings = node._bindings.copy()
        if keymap:
            bindings.apply_keymap(keymap)
        for key, blist in bindings.key_to_bindings.items():
            for b in blist:
                if b.id and b.description:
                    keys.setdefault(b.id, []).append(app.get_key_display(Binding(key, b.action)))
                    descriptions.setdefault(b.id, b.tooltip or b.description)
    return keys, descriptions


def keys_by_id(screen: Screen, keymap: dict[str, str] | None = None) -> dict[str, str]:
    """The keys of each binding id (``label.noise`` → ``x``, or what the keymap made it) of the
    screen, its case list and the app, as shown to the user."""
    if keymap is None:
        keymap = getattr(screen.app, "user_keymap", {}) or {}
    keys, _ = _keys_and_descriptions(screen, keymap)
    return {bid: " ".join(dict.fromkeys(k)) for bid, k in keys.items()}


def bindings_by_group(screen: Screen, keymap: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """(keys, description) of the bindings of the screen, its case list and the app, as remapped
    by ``keymap``, grouped by the prefix of their id (``label.noise`` → Label)."""
    keys, descriptions = _keys_and_descriptions(screen, keymap)
    found: dict[str, dict[str, list[str]]] = {}
    for bid, k in keys.items():
        group = bid.split(".", 1)[0]
        if group in GROUPS:
            found.setdefault(group, {})[bid] = k
    out: dict[str, list[tuple[str, str]]] = {}
    for group in GROUPS:
        for bid, bound in found.get(group, {}).items():
            out.setdefault(group, []).append((" ".join(dict.fromkeys(bound)), descriptions[bid]))
    return out


#: What each flag mark means, in the help.
FLAG_HELP = {
    "negative_flip": "negative flip: baseline passed its checks, candidate fails",
    "positive_flip": "positive flip: the candidate now passes",
    "format_drift": "format drift (JSON shape, lists, headings, tables)",
    "tool_drift": "tool drift: the calls made changed (tools, arguments)",
    "refusal_flip": "refusal gained or lost",
    "non_answer_flip": 'non-answer gained or lost ("this is subjective…")',
    "truncation": "truncated (finish_reason=length)",
    "error": "a call failed",
}


def _grid(p: Palette) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", style=p.key, no_wrap=True)
    grid.add_column()
    return grid


def help_text(screen: Screen, keymap: dict[str, str], p: Palette | None = None) -> Table:
    """Two columns: the keys by group on the left, the rest of the keys and the marks on the right."""
    p = p or Palette()
    groups = bindings_by_group(screen, keymap)
    left, right = _grid(p), _grid(p)
    for group, rows in groups.items():
        target = left if group in ("cursor", "label", "list") else right
        target.add_row("", Text(GROUPS[group], "bold underline"))
        for keys, desc in rows:
            target.add_row(keys, desc)
        target.add_row("", "")
    right.add_row("", Text("Marks in the case list", "bold underline"))
    for v, mark in VERDICT_MARKS.items():
        right.add_row(Text(mark, p.verdicts[v]), v)
    right.add_row(Text("1–3", p.bad), "severity of a regression")
    right.add_row(Text("≠", p.warn), "another reviewer's verdict differs from yours")
    right.add_row(Text("◦", DIM), "another reviewer labelled this case")
    for f, mark in FLAG_MARKS.items():
        right.add_row(Text(mark, p.flag(f)), FLAG_HELP.get(f, f.replace("_", " ")))
    right.add_row("0.42", "change: 0 same … 1 all different")
    right.add_row("", Text("(dim when within the noise floor)", DIM))
    left.add_row("", Text("In the diff", "bold underline"))
    left.add_row(Text("-", p.bad), "baseline line changed or removed")
    left.add_row(Text("+", p.good), "candidate line changed or added")
    left.add_row(Text("↷ ↶", p.moved), "line moved away / moved here")
    left.add_row(Text("◆", p.warn), "JSON line touched by a path change")
    left.add_row(Text("declines", p.decline), "the words that decline to answer")
    left.add_row(Text("╱", p.filler), "nothing on this side")
    left.add_row(Text("␛ ⟨U+200B⟩", p.special), "control or invisible character,")
    left.add_row("", "shown, never interpreted")
    outer = Table.grid(padding=(0, 4))
    outer.add_column()
    outer.add_column()
    outer.add_row(left, right)
    return outer


class HelpBody(InfoStatic):
    """``show(screen, keymap)``: the keys of that screen, the marks."""

    def build(self, screen: Screen, keymap: dict[str, str]) -> Table:
        return help_text(screen, keymap, self.palette)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", id="help.close"),
        Binding("j,down", "scroll(1)", "Down", show=False),
        Binding("k,up", "scroll(-1)", "Up", show=False),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self._for = screen

    def compose(self) -> ComposeResult:
        keymap = getattr(self.app, "user_keymap", {}) or {}
        with VerticalScroll(id="help-dialog"):
            yield Static(Text("reviewer: keys", "bold"), id="help-title")
            body = HelpBody(id="help-body")
            body.show(self._for, keymap)
            yield body
            yield Static(Text("esc, q or ? closes · everything else: ctrl+p, the command palette", DIM), id="help-close")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)

    def action_scroll(self, n: int) -> None:
        self.query_one("#help-dialog", VerticalScroll).scroll_relative(y=n, animate=False)

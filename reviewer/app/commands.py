"""Command palette (ctrl+p): everything the keys do, plus what doesn't deserve a key —
filter presets, sort orders, and jumping to any case by id."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider

from reviewer.session.state import FLAG_LABELS, FLAGS, SORT_LABELS, SORTS, VERDICT_LABELS, Filter

from .visible import make_visible

if TYPE_CHECKING:
    from .screens.review import ReviewScreen

#: How many case ids the palette offers at most for one query (10,000 would flood it).
MAX_CASE_HITS = 50


def _review_screen(provider: Provider) -> ReviewScreen | None:
    from .screens.review import ReviewScreen

    for screen in reversed(provider.app.screen_stack):
        if isinstance(screen, ReviewScreen):
            return screen
    return None


def commands_for(screen: ReviewScreen) -> list[tuple[str, Callable[[], object], str]]:
    """(title, callback, help) of every palette command for this screen."""
    s = screen
    out: list[tuple[str, Callable[[], object], str]] = [
        ("Label: regression", partial(s.action_label, "regression"), "r"),
        ("Label: improvement", partial(s.action_label, "improvement"), "i"),
        ("Label: acceptable", partial(s.action_label, "acceptable"), "a"),
        ("Label: noise", partial(s.action_label, "noise"), "x"),
        *((f"Label: regression, severity {n}", partial(s.action_severity, n), str(n)) for n in (1, 2, 3)),
        ("Label: edit note", s.action_edit_note, "e"),
        ("Label: undo the last label", s.action_undo, "u"),
        ("Next unreviewed case", s.action_next_unreviewed, "n"),
        ("Next flagged case", s.action_next_flagged, "N"),
        ("View: toggle JSON structural view", s.action_toggle_json, "d"),
        ("View: toggle ignoring whitespace", s.action_toggle_whitespace, "w"),
        ("View: next sample pair", s.action_cycle_sample, "s"),
        ("View: show or hide the prompt", s.action_toggle_prompt, "m"),
        ("Diff: next change", partial(s.action_jump_change, 1), "]"),
        ("Diff: previous change", partial(s.action_jump_change, -1), "["),
        ("Search cases", s.action_search, "/"),
        ("Filter…", s.action_filter, "f"),
        ("Filter: clear", partial(s.set_filter, Filter()), "esc"),
        ("Promote this case to a golden case", s.action_promote, "p"),
        ("Help: keys and marks", s.action_help, "?"),
    ]
    for v, label in VERDICT_LABELS.items():
        out.append((f"Filter: only {label}", partial(s.set_filter, Filter(verdicts=frozenset({v}))), "verdict"))
    for f in (*FLAGS, "disagreement"):
        out.append((f"Filter: only {FLAG_LABELS[f]}", partial(s.set_filter, Filter(flags=frozenset({f}))), "flag"))
    for tag in s.state.tags():
        out.append((f"Filter: only #{make_visible(tag).text}", partial(s.set_filter, Filter(tags=frozenset({tag}))), "tag"))
    for order in SORTS:
        out.append((f"Sort: {SORT_LABELS[order]}", partial(s.set_sort, order), "o cycles"))
    return out


def highlight(matcher: Matcher, title: str) -> Text:
    """The title with the matched letters styled. (``Matcher.highlight`` parses its argument as
    markup, and titles hold tag names and case ids from suite files.)"""
    text = Text(title, end="")
    score, offsets = matcher.fuzzy_search.match(matcher.query, title)
    if score:
        for offset in offsets:
            if not title[offset].isspace():
                text.stylize("reverse", offset, offset + 1)
    return text


class ReviewCommands(Provider):
    async def discover(self) -> Hits:
        screen = _review_screen(self)
        if screen is None:
            return
        for title, callback, help in commands_for(screen):
            yield DiscoveryHit(Text(title), callback, text=title, help=help)

    async def search(self, query: str) -> Hits:
        screen = _review_screen(self)
        if screen is None:
            return
        matcher = self.matcher(query)
        for title, callback, help in commands_for(screen):
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, highlight(matcher, title), callback, text=title, help=help)
        # cases by id: a substring match first (cheap over 10,000 ids), then fuzzy scoring
        low = query.lower().removeprefix("go to ").strip()
        if not low:
            return
        shown = 0
        for e in screen.state.entries:
            if low in e.id.lower():
                title = f"Go to case {e.id}"
                yield Hit(0.5 + 0.5 * matcher.match(title), Text(title), partial(screen.goto_case, e.id), text=title)
                shown += 1
                if shown >= MAX_CASE_HITS:
                    break

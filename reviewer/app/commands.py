"""Command palette (ctrl+p): everything the keys do, plus what doesn't deserve a key —
filter presets, sort orders, and jumping to any case by id."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider

from reviewer.session.state import FLAG_LABELS, FLAGS, JUDGE_DISAGREES, SORT_LABELS, SORTS, VERDICT_LABELS, Filter

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
    """(title, callback, help) of every palette command for this screen. The help of a command
    that has a key is that key as bound now (the user's keymap applied), so a remapped key shows
    right."""
    from .screens.help import keys_by_id

    s = screen
    keys = keys_by_id(s)

    def key(binding_id: str) -> str:
        return keys.get(binding_id, "")

    out: list[tuple[str, Callable[[], object], str]] = [
        ("Label: regression", partial(s.action_label, "regression"), key("label.regression")),
        ("Label: improvement", partial(s.action_label, "improvement"), key("label.improvement")),
        ("Label: acceptable", partial(s.action_label, "acceptable"), key("label.acceptable")),
        ("Label: noise", partial(s.action_label, "noise"), key("label.noise")),
        *((f"Label: regression, severity {n}", partial(s.action_severity, n), key(f"label.severity-{n}")) for n in (1, 2, 3)),
        ("Label: edit note", s.action_edit_note, key("label.note")),
        ("Label: undo the last label", s.action_undo, key("label.undo")),
        ("Next unreviewed case", s.action_next_unreviewed, key("cursor.next-unreviewed")),
        ("Next flagged case", s.action_next_flagged, key("cursor.next-flagged")),
        (
            "Next case where the judge disagrees with your label",
            s.action_next_judge_disagreement,
            key("cursor.next-judge-disagreement"),
        ),
        ("View: toggle JSON structural view", s.action_toggle_json, key("view.json")),
        ("View: toggle ignoring whitespace", s.action_toggle_whitespace, key("view.whitespace")),
        ("View: next sample pair", s.action_cycle_sample, key("view.sample")),
        ("View: show or hide the prompt", s.action_toggle_prompt, key("view.prompt")),
        ("Diff: next change", partial(s.action_jump_change, 1), key("diff.next-change")),
        ("Diff: previous change", partial(s.action_jump_change, -1), key("diff.previous-change")),
        ("Search cases", s.action_search, key("list.search")),
        ("Filter…", s.action_filter, key("list.filter")),
        ("Filter: clear", partial(s.set_filter, Filter()), key("list.clear")),
        ("Promote this case to a golden case", s.action_promote, key("case.promote")),
        ("Help: keys and marks", s.action_help, key("app.help")),
    ]
    for v, label in VERDICT_LABELS.items():
        out.append((f"Filter: only {label}", partial(s.set_filter, Filter(verdicts=frozenset({v}))), "verdict"))
    for f in (*FLAGS, "disagreement"):
        out.append((f"Filter: only {FLAG_LABELS[f]}", partial(s.set_filter, Filter(flags=frozenset({f}))), "flag"))
    if s.state.judged:
        from reviewer.session.judge import JUDGE_LABELS

        for v, label in JUDGE_LABELS.items():
            out.append((f"Filter: only {label}", partial(s.set_filter, Filter(judges=frozenset({v}))), "judge"))
        out.append(("Filter: only cases where the judge disagrees with your label",
                    partial(s.set_filter, Filter(judges=frozenset({JUDGE_DISAGREES}))), "judge"))  # fmt: skip
    for tag in s.state.tags():
        out.append((f"Filter: only #{make_visible(tag).text}", partial(s.set_filter, Filter(tags=frozenset({tag}))), "tag"))
    for order in SORTS:
        if order == "judge" and not s.state.judged:
            continue
        out.append((f"Sort: {SORT_LABELS[order]}", partial(s.set_sort, order), f"{key('list.sort')} cycles".strip()))
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
        # cases by id: the first ids holding the query (one lowered string of every id searched
        # in C: a keystroke over 100,000 ids costs no pass in Python), then fuzzy scoring
        low = query.lower().removeprefix("go to ").strip()
        if not low:
            return
        for e in screen.state.find_ids(low, MAX_CASE_HITS):
            title = f"Go to case {e.id}"
            yield Hit(0.5 + 0.5 * matcher.match(title), Text(title), partial(screen.goto_case, e.id), text=title)

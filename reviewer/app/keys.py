"""The review screen's keys, in one place. Each binding has an id (``label.noise``): a user's
``keymap.yaml`` remaps keys by id, the help groups them by the id's prefix, and the command
palette shows each command's key by its id, so a remapped key shows right everywhere."""

from __future__ import annotations

from textual.binding import Binding, BindingType

__all__ = ["REVIEW_BINDINGS"]

REVIEW_BINDINGS: list[BindingType] = [
    # first: the key bar shows keys in this order, and cuts the last ones on a narrow terminal
    Binding("question_mark", "help", "help", id="app.help", key_display="?", tooltip="Help: every key, every mark"),
    Binding("j", "cursor(1)", "Next case", id="cursor.down", show=False),
    Binding("k", "cursor(-1)", "Previous case", id="cursor.up", show=False),
    Binding("g", "first", "First case", id="cursor.first", show=False),
    Binding("G", "last", "Last case", id="cursor.last", show=False),
    Binding("n", "next_unreviewed", "unreviewed", id="cursor.next-unreviewed", tooltip="Next unreviewed case"),
    Binding("N", "next_flagged", "flagged", id="cursor.next-flagged", key_display="N", tooltip="Next flagged case"),
    Binding(
        "v",
        "next_judge_disagreement",
        "judge ≠",
        id="cursor.next-judge-disagreement",
        show=False,
        tooltip="Next case where the judge's verdict and your label disagree",
    ),
    Binding("r", "label('regression')", "regression", id="label.regression", tooltip="Regression"),
    Binding("i", "label('improvement')", "improvement", id="label.improvement", tooltip="Improvement"),
    Binding("a", "label('acceptable')", "acceptable", id="label.acceptable", tooltip="Acceptable"),
    Binding("x", "label('noise')", "noise", id="label.noise", tooltip="Noise"),
    Binding("1", "severity(1)", "Regression, severity 1", id="label.severity-1", show=False),
    Binding("2", "severity(2)", "Regression, severity 2", id="label.severity-2", show=False),
    Binding("3", "severity(3)", "Regression, severity 3", id="label.severity-3", show=False),
    Binding("e", "edit_note", "note", id="label.note", tooltip="Edit the note (enter saves, escape cancels)"),
    Binding("u", "undo", "undo", id="label.undo", tooltip="Undo the last label"),
    Binding("d", "toggle_json", "json", id="view.json", tooltip="Word view / JSON structural view"),
    Binding("w", "toggle_whitespace", "Whitespace", id="view.whitespace", show=False, tooltip="Ignore / compare whitespace"),
    Binding("s", "cycle_sample", "sample", id="view.sample", tooltip="Next sample of each side"),
    Binding("m", "toggle_prompt", "Prompt", id="view.prompt", show=False, tooltip="Show / hide the whole prompt and reference"),
    Binding("space", "scroll_diff(1)", "Page down the diff", id="diff.page-down", show=False),
    Binding("b", "scroll_diff(-1)", "Page up the diff", id="diff.page-up", show=False),
    Binding("J", "scroll_diff_lines(3)", "Scroll the diff down", id="diff.down", show=False),
    Binding("K", "scroll_diff_lines(-3)", "Scroll the diff up", id="diff.up", show=False),
    Binding("right_square_bracket", "jump_change(1)", "Next change in the diff", id="diff.next-change", show=False),
    Binding("left_square_bracket", "jump_change(-1)", "Previous change in the diff", id="diff.previous-change", show=False),
    Binding("slash", "search", "search", id="list.search", tooltip="Search ids, tags, prompts and outputs"),
    Binding("f", "filter", "filter", id="list.filter", tooltip="Filter by verdict, flag, disagreement, tag, judge"),
    Binding("o", "sort", "sort", id="list.sort", tooltip="Sort order: triage, change, id, suite, judge"),
    Binding("escape", "clear", "Clear search/filter", id="list.clear", show=False),
    Binding("p", "promote", "promote", id="case.promote", tooltip="Promote to a golden case in the suite file"),
]

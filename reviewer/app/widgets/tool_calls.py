"""The shown samples' tool calls, side by side above the text diff: one aligned block per call
(paired as :func:`reviewer.diff.toolcalls.pair_calls` pairs them), the tool's name, then its
arguments as the structural JSON diff (changed lines highlighted, as the JSON view does), or the
raw argument text when it does not parse; a side that answered in text where the other called a
tool says so. Names, arguments and reasons are model output: shown through ``vis``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from reviewer.diff.toolcalls import TOOL_CHANGE_LABELS, Answer, Call, CallPair, ToolChange, args_view, normalise, pair_calls

from .info import BOLD, DIM, InfoStatic, Palette, one_line, vis

if TYPE_CHECKING:
    from reviewer.store import Output

__all__ = ["ToolCalls", "answers", "has_calls", "tool_calls_table"]


def has_calls(*outputs: Output | None) -> bool:
    return any(o is not None and o.tool_calls for o in outputs)


def answers(left: Output | None, right: Output | None, tools: Any = None) -> tuple[Answer, Answer]:
    """The two shown samples as the diff engine normalises them (against the case's tools)."""
    empty = Answer("")
    return (
        normalise(left, tools=tools) if left is not None else empty,
        normalise(right, tools=tools) if right is not None else empty,
    )


def _change_words(ch: ToolChange, p: Palette) -> Text:
    t = Text(end="")
    t.append("over-quoted" if ch.over_quoted else TOOL_CHANGE_LABELS.get(ch.kind, ch.kind), p.bad if ch.kind in _BAD else p.warn)
    if ch.path:
        t.append(" ")
        t.append_text(vis(ch.path, limit=60, special=p.special))
    if ch.new_path:
        t.append(" → ", DIM)
        t.append_text(vis(ch.new_path, limit=60, special=p.special))
    return t


_BAD = frozenset(
    {"call_removed", "text_instead_of_call", "args_unparseable", "args_schema_invalid", "arg_type_changed", "tool_renamed"}
)


def _head(call: Call | None, other: Call | None, answer: Answer, other_answer: Answer, p: Palette) -> Text:
    t = Text(end="", no_wrap=True, overflow="ellipsis")
    if call is None:
        if not answer.calls and answer.text.strip() and other_answer.calls:
            t.append("text answer, no tool call", p.warn)
        else:
            t.append("— no call here —", p.bad if other is not None else DIM)
        return t
    t.append(f"⚙ {call.position + 1} ", DIM)
    renamed = other is not None and other.name != call.name
    t.append_text(vis(call.name, p.warn if renamed else BOLD, limit=40, special=p.special))
    if call.parse_error is not None:
        t.append("  arguments do not parse", p.bad)
    elif call.schema_error is not None:
        t.append("  breaks the tool's schema", p.bad)
    return t


def _raw_lines(call: Call | None, p: Palette) -> list[Text]:
    if call is None:
        return []
    style = p.bad if call.parse_error is not None else ""
    text = call.raw or ""
    if call.parse_error is None:  # one-sided: its arguments pretty-printed like the JSON view's
        text = json.dumps(call.value, indent=2, ensure_ascii=False, sort_keys=True)
    lines = text.splitlines() or [""]
    out = [vis(ln, style, limit=200, special=p.special) for ln in lines[:12]]
    if len(lines) > 12:
        out.append(Text(f"… {len(lines) - 12} more lines", DIM))
    if call.parse_error is not None:
        out.append(vis(one_line(call.parse_error), DIM, limit=120, special=p.special))
    elif call.schema_error is not None:
        out.append(vis(one_line(call.schema_error), p.warn, limit=120, special=p.special))
    return out


def _pair_rows(pair: CallPair, a: Answer, b: Answer, p: Palette) -> list[tuple[Text, Text]]:
    rows = [(_head(pair.left, pair.right, a, b, p), _head(pair.right, pair.left, b, a, p))]
    view = args_view(pair.left, pair.right)
    if view is not None:
        for r in view.rows:
            left = Text(end="")
            right = Text(end="")
            if r.left is not None:
                changed = r.left_no in view.changed_left_lines
                left = vis(r.left, p.old + BOLD if changed else DIM, limit=200, special=p.special)
            if r.right is not None:
                changed = r.right_no in view.changed_right_lines
                right = vis(r.right, p.new + BOLD if changed else DIM, limit=200, special=p.special)
            rows.append((left, right))
    else:
        ls, rs = _raw_lines(pair.left, p), _raw_lines(pair.right, p)
        for i in range(max(len(ls), len(rs))):
            rows.append((ls[i] if i < len(ls) else Text(""), rs[i] if i < len(rs) else Text("")))
    changes = list(pair.changes)
    if pair.left is None and not a.calls and a.text.strip():  # what the case's diff calls it
        changes = [ToolChange("call_instead_of_text", pair.right.name if pair.right else "")] + [
            ch for ch in changes if ch.kind != "call_added"]  # fmt: skip
    elif pair.right is None and not b.calls and b.text.strip():
        changes = [ToolChange("text_instead_of_call", pair.left.name if pair.left else "")] + [
            ch for ch in changes if ch.kind != "call_removed"]  # fmt: skip
    if changes:
        words = Text(end="")
        for i, ch in enumerate(changes[:6]):
            if i:
                words.append(" · ", DIM)
            words.append_text(_change_words(ch, p))
        if len(changes) > 6:
            words.append(f" · +{len(changes) - 6} more", DIM)
        rows.append((Text(""), words))
    return rows


def tool_calls_table(a: Answer, b: Answer, p: Palette | None = None) -> Table:
    """Both answers' calls, aligned: a table of two equal columns (baseline, candidate)."""
    p = p or Palette()
    table = Table.grid(expand=True, padding=(0, 1))
    table.add_column(ratio=1, overflow="fold")
    table.add_column(ratio=1, overflow="fold")
    pairs: Sequence[CallPair] = pair_calls(a, b)
    if not pairs:  # neither calls a tool: nothing to align
        table.add_row(Text("no tool call", DIM), Text("no tool call", DIM))
        return table
    for k, pair in enumerate(pairs):
        if k:
            table.add_row(Text(""), Text(""))
        for left, right in _pair_rows(pair, a, b, p):
            table.add_row(left, right)
    return table


class ToolCalls(InfoStatic):
    """``show(baseline_answer, candidate_answer)``: the two answers' calls, aligned."""

    def build(self, a: Answer, b: Answer) -> Table:
        return tool_calls_table(a, b, self.palette)

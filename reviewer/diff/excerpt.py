"""A short ``diff``-style excerpt of what changed between two outputs, for documents that cannot
show the side-by-side view (the changelog's regressions).

Pure text in, text out. The lines hold model output as it is (only the one-line form of a missing
side's counterpart is made visible here); whoever writes them into a document escapes them for
that document (the Markdown changelog puts them in a fenced block).
"""

from __future__ import annotations

import json
from typing import Any

from reviewer.untrusted import visible

__all__ = ["EXCERPT_LINES", "EXCERPT_SCAN", "EXCERPT_WIDTH", "diff_excerpt"]

#: Excerpt limits: lines shown, characters per line.
EXCERPT_LINES = 12
EXCERPT_WIDTH = 160
#: Excerpts align at most this many characters of each output (a 1 MB answer would cost seconds;
#: the excerpt shows the first changed lines only).
EXCERPT_SCAN = 20_000


def _more(n: int, what: str) -> str:
    return f"{n:,} {what if n == 1 else what + 's'}"


def _one_line(text: str, newline: str = " ⏎ ") -> str:
    """Visible, on one line, marking where the line breaks were."""
    text = visible(text.replace("\r\n", "\n") if "\r" in text else text)
    return newline.join(text.split("\n")) if "\n" in text else text


def _truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending with ``…`` when something was cut."""
    if limit <= 0 or len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def _head(old: str, new: str) -> tuple[str, str]:
    """Both texts cut at the same line count, after their common prefix plus ``EXCERPT_SCAN`` chars."""
    if len(old) <= EXCERPT_SCAN and len(new) <= EXCERPT_SCAN:
        return old, new
    lo, hi = 0, min(len(old), len(new))
    while lo < hi:  # the common prefix, by bisection (slice comparisons run in C)
        mid = (lo + hi + 1) // 2
        if old[:mid] == new[:mid]:
            lo = mid
        else:
            hi = mid - 1
    start = old.rfind("\n", 0, lo) + 1  # keep whole lines
    end_old = old.find("\n", start + EXCERPT_SCAN)
    end_new = new.find("\n", start + EXCERPT_SCAN)
    return (old[start : end_old if end_old >= 0 else len(old)], new[start : end_new if end_new >= 0 else len(new)])


def diff_excerpt(
    old: str | None, new: str | None, *, max_lines: int = EXCERPT_LINES, width: int = EXCERPT_WIDTH
) -> tuple[str, str]:
    """(info string, excerpt): JSON path changes when both hold JSON that differs in value, else
    the first changed lines (``-`` old, ``+`` new). ``None`` is a side with no answer (an error)."""
    if old is None or new is None:
        lines = [f"- {_truncate(_one_line(old), width)}" if old is not None else "- (no answer: error)",
                 f"+ {_truncate(_one_line(new), width)}" if new is not None else "+ (no answer: error)"]  # fmt: skip
        return "diff", "\n".join(lines)
    from reviewer.diff.align import align
    from reviewer.diff.jsondiff import json_view

    view = json_view(old, new)
    if view is not None and view.changes:
        lines = []

        def val(v: Any) -> str:
            return json.dumps(v, ensure_ascii=False, sort_keys=True)

        for ch in view.changes:
            if ch.kind == "added":
                lines.append(f"+ {ch.path}: {val(ch.new)}")
            elif ch.kind == "removed":
                lines.append(f"- {ch.path}: {val(ch.old)}")
            elif ch.kind == "renamed":
                lines += [f"- {ch.path}: {val(ch.old)}", f"+ {ch.new_path}: {val(ch.new)}"]
            elif ch.kind == "reordered":
                lines.append(f"  {ch.path}: same items, new order")
            else:
                lines += [f"- {ch.path}: {val(ch.old)}", f"+ {ch.new_path or ch.path}: {val(ch.new)}"]
        more = len(lines) - max_lines
        lines = [_truncate(ln, width) for ln in lines[:max_lines]]
        if more > 0:
            lines.append(f"  … {_more(more, 'more line')}")
        return "diff", "\n".join(lines)

    rows = align(*_head(old, new), spans=False)  # whole lines are shown: no word-level spans
    lines = []
    i = 0
    gap = False
    while i < len(rows):
        if rows[i].kind == "equal":
            gap = bool(lines)
            i += 1
            continue
        j = i
        while j < len(rows) and rows[j].kind != "equal":
            j += 1
        block = rows[i:j]
        minus = [f"- {r.left}" for r in block if r.left is not None]
        plus = [f"+ {r.right}" for r in block if r.right is not None]
        if gap:
            lines.append("  …")
        lines += minus + plus
        i = j
    if not lines:  # differences in line endings or whitespace only
        return "diff", "  (only whitespace or line endings differ)"
    shown = [_truncate(ln, width) for ln in lines[:max_lines]]
    hidden = sum(1 for ln in lines[max_lines:] if ln != "  …")
    if hidden:
        shown.append(f"  … {_more(hidden, 'more changed line')}")
    return "diff", "\n".join(shown)

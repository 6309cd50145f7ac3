"""``reviewer diff OLD NEW``: the review's diff for two files, in the terminal.

Side by side when the terminal (or ``--width``) has at least 100 columns, else one column in the
style of ``git diff --word-diff`` (``[-old-]{+new+}``). Then the signals of each side (JSON shape,
refusal, truncation, length, format drift), the JSON changes when both sides hold JSON, and the
change score. ``--json`` prints all of it as one JSON object. Exit status: 0 same text, 1 the
texts differ, 2 trouble (like ``diff``).

Output text is untrusted: it reaches the terminal only as ``rich.text.Text`` (never markup), with
control and bidi characters replaced by visible stand-ins of the same length, so highlight
offsets stay right and nothing in a file can move the cursor, recolour or reorder the screen.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import Any

from ..errors import UsageError
from ..untrusted import json_dumps, make_visible
from ._common import visible  # untrusted text: the one sanitiser, one line

#: Terminals at least this wide get the side-by-side view.
SIDE_BY_SIDE_MIN = 100
#: Unchanged lines kept around each change; longer unchanged runs are folded into one line.
DEFAULT_CONTEXT = 3

STYLE = {
    "delete_line": "red",
    "insert_line": "green",
    "delete": "bold white on red3",
    "insert": "bold black on green3",
    "moved": "magenta",
    "no": "dim",
    "fold": "dim italic",
    "filler": "dim",
    "label": "bold",
    "note": "dim",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff",
        help="diff two model outputs: aligned lines, word-level changes, signals, change score",
        description="Diff two model outputs (files; '-' reads one of them from stdin): aligned lines with "
        "word-level highlights, moved lines, the signals of each side (JSON shape, refusal, truncation, "
        "length, format drift), JSON path changes, and the change score. Exit status 0 when the texts are "
        "the same, 1 when they differ, 2 on trouble.",
    )
    p.add_argument("old", metavar="OLD_FILE", help="the baseline output ('-' = stdin)")
    p.add_argument("new", metavar="NEW_FILE", help="the candidate output ('-' = stdin)")
    p.add_argument("--json", action="store_true", help="print rows, spans, signals, JSON changes and score as JSON")
    p.add_argument(
        "--width", type=int, metavar="N", help=f"output width (default: the terminal's); ≥ {SIDE_BY_SIDE_MIN} is side by side"
    )
    p.add_argument("--ignore-whitespace", "-w", action="store_true", help="lines differing only in whitespace are equal")
    p.add_argument("--ignore-case", "-i", action="store_true", help="lines differing only in case are equal")
    p.add_argument(
        "--context", type=int, metavar="N", default=DEFAULT_CONTEXT,
        help=f"unchanged lines shown around changes (default {DEFAULT_CONTEXT}; -1 = all)",
    )  # fmt: skip
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------


def _read(name: str) -> str:
    """The file's text, line endings untouched; one-line errors for the user."""
    try:
        data = sys.stdin.buffer.read() if name == "-" else open(name, "rb").read()  # noqa: SIM115
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{name}: is a directory") from None
    except OSError as e:
        raise UsageError(f"{name}: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UsageError(f"{name}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})") from None


def _line_text(line: str, spans: tuple, line_style: str, span_style: str):
    from rich.text import Text

    v = make_visible(line, newline=False)  # stand-ins may be longer than what they replace
    t = Text(v.text, style=line_style, no_wrap=False, end="")
    for sp in spans:
        t.stylize(span_style, v.offset(sp.start), v.offset(sp.end))
    return t


# ---------------------------------------------------------------------------------------------
# Folding unchanged runs
# ---------------------------------------------------------------------------------------------


def _fold(rows: list, context: int) -> list:
    """Rows with long runs of ``equal`` rows replaced by ``("fold", count)`` markers, keeping
    ``context`` rows next to each change."""
    if context < 0:
        return list(rows)
    out: list = []
    n = len(rows)
    i = 0
    while i < n:
        if rows[i].kind != "equal":
            out.append(rows[i])
            i += 1
            continue
        j = i
        while j < n and rows[j].kind == "equal":
            j += 1
        keep_head = context if i > 0 else 0
        keep_tail = context if j < n else 0
        if j - i > keep_head + keep_tail + 1:
            out.extend(rows[i : i + keep_head])
            out.append(("fold", j - i - keep_head - keep_tail))
            out.extend(rows[j - keep_tail : j])
        else:
            out.extend(rows[i:j])
        i = j
    return out


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------


def _digits(rows: list) -> int:
    """Width of the line-number columns."""
    top = max((max(r.left_no or 0, r.right_no or 0) for r in rows if not isinstance(r, tuple)), default=0)
    return max(3, len(str(top)))


def _eol_note(row) -> str | None:
    if row.kind == "changed" and row.left == row.right and not row.left_spans and not row.right_spans:
        names = {"\r\n": "CRLF", "\n": "LF", "": "none"}
        return f"line ending {names.get(row.left_eol, '?')} → {names.get(row.right_eol, '?')}"
    return None


def _side_by_side(console, rows: list, width: int) -> None:
    """Two columns, each ``number mark text``, long lines wrapped inside their column and the
    divider drawn on every screen line."""
    from rich.text import Text

    digits = _digits(rows)
    text_w = max(8, (width - 2 * (digits + 3) - 3) // 2)
    divider = Text(end="").append(" │ ", style=STYLE["no"])

    def column(no, mark: Text | str, body: Text) -> list[Text]:
        lines = body.wrap(console, text_w, overflow="fold") if body.plain else [Text("")]
        out = []
        for k, piece in enumerate(lines):
            head = Text(end="").append(f"{no if no is not None and k == 0 else '':>{digits}} ", style=STYLE["no"])
            head.append(mark if k == 0 and mark else Text(" "))
            head.append(" ")
            piece.pad_right(text_w - piece.cell_len)
            piece.end = ""
            out.append(head + piece)
        return out

    def emit(left: list[Text], right: list[Text]) -> None:
        pad = Text(" " * (digits + 3 + text_w), end="")
        for k in range(max(len(left), len(right))):
            line = (left[k] if k < len(left) else pad.copy()) + divider + (right[k] if k < len(right) else pad.copy())
            line.rstrip()
            console.print(line)

    for r in rows:
        if isinstance(r, tuple):  # folded unchanged lines
            note = Text(f"⋯ {r[1]} unchanged line{'s' if r[1] != 1 else ''}", style=STYLE["fold"])
            emit(column(None, "", note), column(None, "", note.copy()))
            continue
        if r.kind == "equal":
            emit(column(r.left_no, "", Text(visible(r.left))), column(r.right_no, "", Text(visible(r.right))))
            continue
        if r.kind == "moved":
            if r.left is not None:
                left = column(r.left_no, Text("<", style=STYLE["moved"]), _line_text(r.left, (), STYLE["moved"], ""))
                right = column(None, "", Text(f"moved to line {r.moved_to} ↴", style=STYLE["filler"]))
            else:
                left = column(None, "", Text(f"↳ moved from line {r.moved_from}", style=STYLE["filler"]))
                right = column(r.right_no, Text(">", style=STYLE["moved"]), _line_text(r.right, (), STYLE["moved"], ""))
            emit(left, right)
            continue
        left = right = [Text("")]
        if r.left is not None:
            body = _line_text(r.left, r.left_spans, STYLE["delete_line"], STYLE["delete"])
            left = column(r.left_no, Text("-", style=STYLE["delete_line"]), body)
        else:
            left = column(None, "", Text(""))
        if r.right is not None:
            body = _line_text(r.right, r.right_spans, STYLE["insert_line"], STYLE["insert"])
            eol = _eol_note(r)
            if eol:
                body.append(f"  ({eol})", style=STYLE["note"])
            right = column(r.right_no, Text("+", style=STYLE["insert_line"]), body)
        else:
            right = column(None, "", Text(""))
        emit(left, right)


def merge_word_diff(left: str, right: str, left_spans, right_spans) -> list[tuple[str, str]]:
    """One line from a changed row: ``[("=", text), ("-", deleted), ("+", inserted), ...]``.
    Falls back to the whole old line then the whole new line when the unchanged stretches of the
    two sides do not line up (e.g. lines equal only under ``--ignore-case``)."""
    out: list[tuple[str, str]] = []
    li = ri = 0
    ls, rs = list(left_spans), list(right_spans)
    a = b = 0
    while li < len(left) or ri < len(right):
        next_l = ls[a].start if a < len(ls) else len(left)
        next_r = rs[b].start if b < len(rs) else len(right)
        n = min(next_l - li, next_r - ri)
        if n > 0:
            if left[li : li + n] != right[ri : ri + n]:
                break
            out.append(("=", left[li : li + n]))
            li, ri = li + n, ri + n
            continue
        moved = False
        if a < len(ls) and li == ls[a].start:
            out.append(("-", left[ls[a].start : ls[a].end]))
            li = ls[a].end
            a += 1
            moved = True
        if b < len(rs) and ri == rs[b].start:
            out.append(("+", right[rs[b].start : rs[b].end]))
            ri = rs[b].end
            b += 1
            moved = True
        if not moved:
            break
    if li != len(left) or ri != len(right):
        return [("-", left), ("+", right)]
    return [p for p in out if p[1]]


def _unified(console, rows: list) -> None:
    from rich.text import Text

    digits = _digits(rows)
    blank = " " * digits

    def gutter(lno, rno) -> Text:
        ln = str(lno).rjust(digits) if lno is not None else blank
        rn = str(rno).rjust(digits) if rno is not None else blank
        return Text(end="").append(f"{ln} {rn} │ ", style=STYLE["no"])  # a span, not the line's base style

    for r in rows:
        if isinstance(r, tuple):
            console.print(Text(f"{blank} {blank}   ⋯ {r[1]} unchanged line{'s' if r[1] != 1 else ''}", style=STYLE["fold"]))
            continue
        line = gutter(r.left_no, r.right_no)
        if r.kind == "equal":
            line.append(visible(r.left))
        elif r.kind == "moved":
            if r.left is not None:
                line.append(f"[-{visible(r.left)}-]", style=STYLE["moved"])
                line.append(f"  (moved to line {r.moved_to})", style=STYLE["note"])
            else:
                line.append(f"{{+{visible(r.right)}+}}", style=STYLE["moved"])
                line.append(f"  (moved from line {r.moved_from})", style=STYLE["note"])
        elif r.kind == "only_left":
            line.append(f"[-{visible(r.left)}-]", style=STYLE["delete_line"])
        elif r.kind == "only_right":
            line.append(f"{{+{visible(r.right)}+}}", style=STYLE["insert_line"])
        else:
            for op, piece in merge_word_diff(r.left, r.right, r.left_spans, r.right_spans):
                if op == "=":
                    line.append(visible(piece))
                elif op == "-":
                    line.append(f"[-{visible(piece)}-]", style=STYLE["delete_line"])
                else:
                    line.append(f"{{+{visible(piece)}+}}", style=STYLE["insert_line"])
            note = _eol_note(r)
            if note:
                line.append(f"  ({note})", style=STYLE["note"])
        console.print(line, soft_wrap=True)  # no hard breaks: a long line stays one line when piped


# ---------------------------------------------------------------------------------------------
# Signals and JSON
# ---------------------------------------------------------------------------------------------


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _describe(sig) -> str:
    parts = [_n(sig.words, "word")]
    parts.append("no JSON" if sig.json_shape == "none" else f"JSON {sig.json_shape}")
    if sig.refusal:
        parts.append(f"refusal ({sig.refusal_reason})")
    if sig.truncated:
        parts.append("truncated")
    md = sig.markdown
    counts = (
        (md.headings, "heading"), (md.bullets, "bullet"), (md.numbered, "numbered item"),
        (md.tables, "table"), (md.code_fences, "code block"),
    )  # fmt: skip
    shape = [_n(n, noun) for n, noun in counts if n]
    if shape:
        parts.append(", ".join(shape))
    return "; ".join(parts)


def _short(value: Any, limit: int = 60) -> str:
    s = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _change_line(c) -> str:
    if c.kind == "added":
        return f"{c.path}: {_short(c.new)}"
    if c.kind == "removed":
        return f"{c.path}: {_short(c.old)}"
    if c.kind == "renamed":
        return f"{c.path} → {c.new_path}"
    where = c.path if not c.new_path or c.new_path == c.path else f"{c.path} → {c.new_path}"
    return f"{where}: {_short(c.old)} → {_short(c.new)}"


def _print_summary(console, old_name, new_name, bs, cs, pair, score, view) -> None:
    from rich.text import Text

    def row(label: str, value: str, style: str = "") -> None:
        line = Text(end="").append(f"{label:<11}", style=STYLE["label"])
        line.append(visible(value), style=style)
        console.print(line, soft_wrap=True)

    console.print()
    row("old", f"{old_name}: {_describe(bs)}")
    row("new", f"{new_name}: {_describe(cs)}")
    row("length", f"{bs.words} → {_n(cs.words, 'word')} (×{pair.length_ratio:.2f})")
    if pair.refusal_flip:
        row("refusal", f"{pair.refusal_flip}: {cs.refusal_reason or bs.refusal_reason}", "bold red")
    if pair.truncation_flip:
        row("truncation", pair.truncation_flip, "bold yellow")
    if pair.format_drift:
        row("format", "; ".join(pair.format_drift), "yellow")
    row("change", f"{score:.3f}  (word-level: 0 same words, 1 nothing in common)")
    if view is not None:
        console.print()
        n = len(view.changes)
        console.print(Text(f"JSON changes ({n})" if n else "JSON: no structural changes", style=STYLE["label"]))
        width = max((len(c.kind) for c in view.changes), default=0)
        for c in view.changes:
            line = Text(end="").append(f"  {c.kind.ljust(width)}  ", style="yellow")
            line.append(visible(_change_line(c)))
            console.print(line, soft_wrap=True)


# ---------------------------------------------------------------------------------------------
# JSON output
# ---------------------------------------------------------------------------------------------


def _row_json(r) -> dict[str, Any]:
    return {
        "kind": r.kind,
        "left": r.left,
        "right": r.right,
        "left_no": r.left_no,
        "right_no": r.right_no,
        "left_spans": [[s.start, s.end] for s in r.left_spans],
        "right_spans": [[s.start, s.end] for s in r.right_spans],
        "moved_to": r.moved_to,
        "moved_from": r.moved_from,
        "left_eol": getattr(r, "left_eol", None),
        "right_eol": getattr(r, "right_eol", None),
    }


def _signals_json(name: str, s) -> dict[str, Any]:
    ej = s.extracted
    return {
        "file": name,
        "json_shape": s.json_shape,
        "json_valid": s.json_valid,
        "json_error": ej.error,
        "json_preamble": ej.preamble,
        "json_trailer": ej.trailer,
        "refusal": s.refusal,
        "refusal_reason": s.refusal_reason,
        "truncated": s.truncated,
        "words": s.words,
        "chars": s.chars,
        "markdown": {
            "headings": s.markdown.headings,
            "bullets": s.markdown.bullets,
            "numbered": s.markdown.numbered,
            "tables": s.markdown.tables,
            "code_fences": s.markdown.code_fences,
        },
    }


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    if args.old == "-" and args.new == "-":
        raise UsageError("only one of OLD_FILE and NEW_FILE can be '-' (stdin)")
    if args.width is not None and args.width < 20:
        raise UsageError(f"--width {args.width}: must be at least 20")
    old_text, new_text = _read(args.old), _read(args.new)

    from ..diff.align import align
    from ..diff.score import change_score
    from ..diff.signals import output_signals, pair_signals

    rows = align(old_text, new_text, ignore_whitespace=args.ignore_whitespace, ignore_case=args.ignore_case)
    bs, cs = output_signals(old_text), output_signals(new_text)
    pair = pair_signals(bs, cs)
    score = change_score(old_text, new_text)
    view = None
    if bs.json_valid and cs.json_valid:
        from ..diff.jsondiff import json_view  # only when both sides hold JSON

        view = json_view(old_text, new_text)
    status = 0 if all(r.kind == "equal" for r in rows) else 1  # like diff -w / -i: 0 when equal under the options
    old_name = "stdin" if args.old == "-" else args.old
    new_name = "stdin" if args.new == "-" else args.new

    if args.json:
        out = {
            "old": _signals_json(old_name, bs),
            "new": _signals_json(new_name, cs),
            "same": status == 0,
            "change": score,
            "pair": {
                "format_drift": list(pair.format_drift),
                "length_ratio": pair.length_ratio,
                "refusal_flip": pair.refusal_flip,
                "truncation_flip": pair.truncation_flip,
            },
            "rows": [_row_json(r) for r in rows],
            "json": None
            if view is None
            else {
                "left_shape": view.left_shape,
                "right_shape": view.right_shape,
                "changes": [
                    {"kind": c.kind, "path": c.path, "old": c.old, "new": c.new, "new_path": c.new_path} for c in view.changes
                ],
                "changed_left_lines": sorted(view.changed_left_lines),
                "changed_right_lines": sorted(view.changed_right_lines),
                "rows": [_row_json(r) for r in view.rows],
            },
        }
        sys.stdout.write(json_dumps(out, indent=2) + "\n")
        return status

    from rich.console import Console
    from rich.text import Text

    width = args.width or shutil.get_terminal_size((80, 24)).columns
    console = Console(width=width, markup=False, emoji=False, highlight=False, soft_wrap=False)
    if status == 0:
        what = "identical" if old_text == new_text else "the same once whitespace or case is ignored"
        console.print(Text(f"{what}: {len(rows)} line{'s' if len(rows) != 1 else ''}", style=STYLE["label"]))
    else:
        # Both outputs are one JSON document each: diff the canonical form (keys sorted, indent 2),
        # so reformatting and key order do not hide the one value that changed.
        shown = rows
        if view is not None and bs.json_shape == "bare" and cs.json_shape == "bare":
            console.print(Text("JSON, canonical form (keys sorted, indent 2):", style=STYLE["note"]))
            shown = view.rows
        if any(r.kind != "equal" for r in shown):
            folded = _fold(shown, args.context)
            if width >= SIDE_BY_SIDE_MIN:
                _side_by_side(console, folded, width)
            else:
                _unified(console, folded)
        else:
            console.print(Text("the same JSON: only formatting or key order differ", style=STYLE["note"]))
    _print_summary(console, old_name, new_name, bs, cs, pair, score, view)
    return status

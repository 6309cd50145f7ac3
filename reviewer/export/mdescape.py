"""Escaping untrusted text for the Markdown changelog.

Model output (and anything a provider sends back: model ids, fingerprints) only ever reaches the
changelog through :func:`fenced` (a code block) or :func:`code` (an inline code span). Inside both,
GitHub renders text literally: no HTML, no links or autolinks, no @mentions, no math, no emphasis.
What is left to handle is the delimiters themselves (a fence or span longer than any backtick run
inside), table pipes, and characters that are invisible or dangerous in a file people ``cat``:
control characters, ANSI escapes, bidi overrides and zero-width characters are made *visible*
(``␛[31m``, ``⟨U+202E⟩``) rather than dropped, because a model that starts emitting them is itself
a behaviour change worth seeing.

Text written by people (review notes, names, the suite's name) goes through :func:`prose`: it
stays readable Markdown prose, but cannot open HTML, links, headings, lists, tables or math.
"""

from __future__ import annotations

import re

from ..untrusted import visible as _visible

__all__ = ["code", "fenced", "one_line", "prose", "truncate", "visible"]


def visible(text: str) -> str:
    """``text`` with CRLF as LF and every control, invisible, bidi or tag character replaced by a
    visible stand-in (the project's one sanitiser, :mod:`reviewer.untrusted`).

    Tabs and newlines are kept. The result is safe to write as UTF-8 and to print on a terminal.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return _visible(text)


def _longest_run(text: str, char: str = "`") -> int:
    best = 0
    for m in re.finditer(re.escape(char) + "+", text):
        best = max(best, m.end() - m.start())
    return best


def fenced(text: str, info: str = "") -> str:
    """A fenced code block holding ``text`` literally (after :func:`visible`).

    The fence is one backtick longer than the longest backtick run in the text (at least three),
    so no line inside can close it. ``info`` is our own language tag (``diff``, ``json``, ``text``).
    The block starts at column 0: callers must not place it inside a list item.
    """
    if "`" in info or "\n" in info:
        raise ValueError(f"bad info string {info!r}")
    body = visible(text)
    fence = "`" * max(3, _longest_run(body) + 1)
    if body and not body.endswith("\n"):
        body += "\n"
    return f"{fence}{info}\n{body}{fence}"


def one_line(text: str, newline: str = " ⏎ ") -> str:
    """Collapse to one line, marking where the line breaks were."""
    text = visible(text)
    if "\n" in text:
        text = newline.join(text.split("\n"))
    return text


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending with ``…`` when something was cut."""
    if limit <= 0 or len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def code(text: str, *, table: bool = False, limit: int | None = None) -> str:
    """An inline code span showing ``text`` literally on one line.

    Line breaks show as ``⏎``. The delimiter is one backtick longer than the longest run inside, with
    a padding space where CommonMark needs one (content starting or ending with a backtick, or with
    spaces on both ends). In a GFM table cell, ``table=True`` escapes ``|`` (the table is split on
    pipes before code spans are parsed; ``\\|`` renders as ``|``). Empty text shows as ``(empty)``.
    """
    s = one_line(text)
    if limit is not None:
        s = truncate(s, limit)
    if s == "":
        return "*(empty)*"
    if s.strip(" ") == "":
        s = "␠" * len(s)  # a span of only spaces would render as nothing
    if table:
        # GFM treats any "|" after a backslash as escaped and then drops that one backslash, so
        # this is exact even after backslashes in the text ("a\\|b" is written "a\\\\|b").
        s = s.replace("|", "\\|")
    ticks = "`" * (_longest_run(s) + 1)
    pad = " " if (s[0] == "`" or s[-1] == "`" or (s[0] == " " and s[-1] == " ")) else ""
    return f"{ticks}{pad}{s}{pad}{ticks}"


#: Characters with inline meaning in CommonMark/GFM (emphasis, code, links, images, footnotes,
#: strikethrough, tables, math, escapes). Backslash-escaping any ASCII punctuation is always legal.
_PROSE_RE = re.compile(r"([\\`*_\[\]|~$])")
#: Block syntax only matters at the start of a line: headings, quotes, lists, setext underlines,
#: thematic breaks, numbered lists ("1." / "1)").
_LINE_START_RE = re.compile(r"^([#>+=-]|\d+(?=[.)]))")


def prose(text: str, *, newline: str = "<br>", limit: int | None = None, strip: bool = True) -> str:
    """Text written by a person (a note, a name), as inert inline Markdown.

    HTML is neutralised with entities (``<`` ``>`` ``&``), inline syntax is backslash-escaped, and a
    leading ``#``/``-``/``1.``… cannot start a block. Line breaks become ``newline`` (``<br>`` is
    the one piece of HTML we emit ourselves, and GitHub renders it in table cells and lists).
    """
    s = visible(text)
    if strip:
        s = s.strip()
    if limit is not None:
        s = truncate(s, limit)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _PROSE_RE.sub(r"\\\1", s)
    lines = []
    for line in s.split("\n"):
        if strip:
            line = line.strip()
        m = _LINE_START_RE.match(line)
        if m:
            mark, rest = m.group(1), line[m.end() :]
            # "1." -> "1\." (the escape goes on the dot); "# x" -> "\# x"
            line = f"{mark}\\{rest}" if mark.isdigit() else f"\\{mark}{rest}"
        lines.append(line)
    return newline.join(lines)

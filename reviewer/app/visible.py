"""Make untrusted text safe and visible on a terminal.

Model outputs and prompts are shown literally: nothing in them may move the cursor, change colours,
reorder a line (bidi overrides) or hide content (zero-width characters, Unicode tag characters used
for "ASCII smuggling"). :func:`make_visible` replaces every such character with a visible stand-in
(``␛`` for ESC, ``⟨U+200B⟩`` for a zero-width space, ``⇥`` for a tab) and reports where the
stand-ins are, so the UI can dim them, and maps offsets of the original text to offsets of the
shown text, so diff highlight spans still land on the right characters.

Brackets (``[bold]``) need no escaping here: callers build ``rich.text.Text`` from plain strings and
style spans, never from markup.

Pure: no Textual, no I/O. Must stay fast on 1 MB text (one regex scan; untouched text is returned
as is).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

__all__ = ["TAB", "Visible", "has_special", "make_visible", "stand_in"]

#: What a tab becomes: a fixed width, so wrapping and columns never depend on the tab stop.
TAB = "⇥   "

# C0 controls except \n (lines are split before this runs; a stray \n is still made visible),
# DEL, C1 controls (0x9B is a one-byte CSI on some terminals), soft hyphen, combining grapheme
# joiner, Arabic letter mark, Hangul fillers, Mongolian vowel separator, zero-width and bidi
# controls, line/paragraph separators, word joiner .. invisible operators, BOM, interlinear
# annotation, variation selectors, Egyptian/shorthand/musical format controls, tag characters,
# lone surrogates (from JSON "\ud800"). Arabic number signs (U+0600…) are Cf too but draw a glyph.
_SPECIAL = re.compile(
    "["
    "\x00-\x1f\x7f-\x9f"
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\uffa0"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufe00-\ufe0f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef"
    "]"
)

_C0_PICTURES = {c: chr(0x2400 + c) for c in range(0x20)}  # ␀ … ␟
_NAMED = {0x7F: "␡", 0x09: TAB}


def stand_in(ch: str) -> str:
    """The visible text shown in place of one special character."""
    code = ord(ch)
    if code in _NAMED:
        return _NAMED[code]
    if code < 0x20:
        return _C0_PICTURES[code]
    return f"⟨U+{code:04X}⟩"


@dataclass(frozen=True, slots=True)
class Visible:
    """Text ready to show, with where its stand-ins are."""

    text: str
    #: (start, end) offsets in ``text`` of each stand-in, in order
    specials: tuple[tuple[int, int], ...] = ()
    #: offsets in the original text of each replaced character (sorted): with ``specials``,
    #: enough to map any original offset to a shown one
    _orig_at: tuple[int, ...] = ()

    def offset(self, original: int) -> int:
        """The offset in :attr:`text` of the character at ``original`` in the source text
        (or of the end, for ``original == len(source)``)."""
        if not self._orig_at:
            return original
        i = bisect_right(self._orig_at, original - 1)  # replaced characters strictly before
        if i == 0:
            return original
        # shown end of the (i-1)th replacement, plus the untouched characters after it
        return self.specials[i - 1][1] + (original - self._orig_at[i - 1] - 1)


def make_visible(text: str) -> Visible:
    """Replace control, zero-width, bidi and other invisible characters with visible stand-ins."""
    if not _SPECIAL.search(text):
        return Visible(text)
    parts: list[str] = []
    specials: list[tuple[int, int]] = []
    orig_at: list[int] = []
    pos = 0
    shown = 0
    for m in _SPECIAL.finditer(text):
        start = m.start()
        if start > pos:
            parts.append(text[pos:start])
            shown += start - pos
        rep = stand_in(m.group())
        parts.append(rep)
        specials.append((shown, shown + len(rep)))
        orig_at.append(start)
        shown += len(rep)
        pos = start + 1
    parts.append(text[pos:])
    return Visible("".join(parts), tuple(specials), tuple(orig_at))


def has_special(text: str) -> bool:
    """Whether ``text`` holds any character :func:`make_visible` would replace."""
    return _SPECIAL.search(text) is not None

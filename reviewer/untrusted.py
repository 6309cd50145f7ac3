"""The one way untrusted text becomes visible: model output, prompts, provider messages, imported
logs, review notes and names, on every surface (the app, every CLI printer, the Markdown changelog
and the human-readable parts of the JSON export).

Nothing in such text may move a terminal's cursor, set its title or clipboard (ANSI/OSC escapes),
reorder a line (bidi controls, "Trojan Source"), or hide content from a reader while a model or a
program still sees it (zero-width characters, Unicode tag characters used for "ASCII smuggling",
runs of variation selectors used to smuggle bytes after an emoji). :func:`make_visible` replaces each
such character with a visible stand-in (``␛`` for ESC, ``⟨U+200B⟩`` for a zero-width space) and
records where the stand-ins are, so a UI can dim them and diff spans still land on the right
characters.

What is special (:func:`is_special`):

- every character of category Cc (but tab and newline), Cf, Cs, Co and Cn, and the line and
  paragraph separators (Zl, Zp);
- invisible characters of other categories: the combining grapheme joiner, Hangul fillers, Khmer
  inherent vowels, the Mongolian free variation selectors;
- a variation selector (U+FE00–U+FE0F, U+E0100–U+E01EF) unless it directly follows a character that
  is not special and not itself a variation selector (one selector after an emoji or a CJK ideograph
  is how those are meant to be written; a second one, or one alone, carries hidden data);
- ZWNJ and ZWJ (U+200C, U+200D) are Cf, but Persian, the Indic scripts and emoji sequences need them:
  they are kept only between two non-ASCII characters that are not special, and never two in a row.

Text with none of these is returned unchanged (identity on printable text). Pure: no Textual, no
I/O; fast on 1 MB text (one regex scan over what is not in a common, fully assigned script block).
"""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

__all__ = ["TAB", "Visible", "has_special", "is_special", "json_dumps", "json_escape", "make_visible", "stand_in", "visible"]

#: What the app shows for a tab: a fixed width, so wrapping and columns never depend on the tab
#: stop. Other surfaces keep tabs (``make_visible(text, tab="\t")``, the default).
TAB = "⇥   "

#: Characters that are not special yet are not in a common block below: checked one by one.
_INVISIBLE_OTHER = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0")
_VS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_JOINERS = frozenset("\u200c\u200d")

#: Everything *outside* these ranges is a candidate, checked by :func:`_special_at`. The ranges are
#: printable, fully assigned blocks (so no Cn hides in them) with no Cf/Cc inside: ASCII printable,
#: Latin-1 (without U+00AD, the soft hyphen), Latin Extended-A/B, IPA, Cyrillic, Hebrew letters,
#: Arabic letters, Devanagari, Thai, general punctuation without the invisible controls, CJK
#: symbols, kana, CJK ideographs, Hangul syllables, fullwidth forms.
_CANDIDATE = re.compile(
    "[^\t\n\x20-\x7e\u00a0-\u00ac\u00ae-\u02af\u0400-\u04ff\u05d0-\u05ea\u0621-\u064a\u0900-\u097f"
    "\u0e01-\u0e3a\u2010-\u2027\u2030-\u205e\u3000-\u303f\u3041-\u3096\u30a0-\u30ff\u4e00-\u9fff"
    "\uac00-\ud7a3\uff01-\uff5e]"
)

_C0_PICTURES = {c: chr(0x2400 + c) for c in range(0x20)}  # ␀ … ␟ (ESC becomes ␛)


def stand_in(ch: str) -> str:
    """The visible text shown in place of one special character."""
    code = ord(ch)
    if code < 0x20:
        return _C0_PICTURES[code]
    if code == 0x7F:
        return "␡"
    return f"⟨U+{code:04X}⟩"


def _plain_special(ch: str) -> bool:
    """Special whatever its neighbours (variation selectors and joiners aside)."""
    if ch == "\t" or ch == "\n":
        return False
    if ch in _INVISIBLE_OTHER:
        return True
    cat = unicodedata.category(ch)
    return cat[0] == "C" or cat in ("Zl", "Zp")


def _special_at(text: str, i: int) -> bool:
    ch = text[i]
    if _VS.fullmatch(ch):
        if i == 0:
            return True
        prev = text[i - 1]
        return prev.isspace() or bool(_VS.fullmatch(prev)) or _special_at(text, i - 1)
    if ch in _JOINERS:
        if i == 0 or i + 1 >= len(text):
            return True
        prev, nxt = text[i - 1], text[i + 1]
        if prev.isascii() or nxt.isascii() or prev in _JOINERS or nxt in _JOINERS:
            return True
        return prev.isspace() or nxt.isspace() or _plain_special(prev) or _plain_special(nxt)
    return _plain_special(ch)


def is_special(text: str, i: int = 0) -> bool:
    """Whether the character at ``text[i]`` is shown as a stand-in (its neighbours matter for
    variation selectors and joiners)."""
    return _special_at(text, i)


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


def _positions(text: str) -> list[int]:
    return [m.start() for m in _CANDIDATE.finditer(text) if _special_at(text, m.start())]


def make_visible(text: str, *, tab: str = "\t", newline: bool = True) -> Visible:
    """Replace every special character with a visible stand-in. ``tab`` is what a tab becomes
    (kept by default; the app passes :data:`TAB`); with ``newline=False`` a newline is shown as
    ``␊`` too (for text already split into lines, where a stray one would break a row)."""
    found = _positions(text)
    extra = ("\t" if tab != "\t" else "") + ("" if newline else "\n")
    if extra and any(c in text for c in extra):
        found = sorted([*found, *(i for i, c in enumerate(text) if c in extra)])
    if not found:
        return Visible(text)
    parts: list[str] = []
    specials: list[tuple[int, int]] = []
    pos = shown = 0
    for start in found:
        if start > pos:
            parts.append(text[pos:start])
            shown += start - pos
        ch = text[start]
        rep = tab if ch == "\t" else stand_in(ch)
        parts.append(rep)
        specials.append((shown, shown + len(rep)))
        shown += len(rep)
        pos = start + 1
    parts.append(text[pos:])
    return Visible("".join(parts), tuple(specials), tuple(found))


def visible(text: str) -> str:
    """``text`` with every special character replaced by its stand-in (tabs and newlines kept)."""
    if text.isascii() and text.isprintable():
        return text
    return make_visible(text).text


def has_special(text: str) -> bool:
    """Whether ``text`` holds any character :func:`make_visible` would replace."""
    return bool(_positions(text))


def _u_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_escape(encoded: str) -> str:
    """JSON text (as ``json.dumps(..., ensure_ascii=False)`` writes it) with every special
    character written as a ``\\uXXXX`` escape: the same JSON value, so nothing is lost, but
    nothing hidden reaches a terminal or a file people read. Outside strings JSON is ASCII, so
    only string contents change."""
    found = _positions(encoded)
    if not found:
        return encoded
    parts: list[str] = []
    pos = 0
    for at in found:
        parts.append(encoded[pos:at])
        parts.append(_u_escape(encoded[at]))
        pos = at + 1
    parts.append(encoded[pos:])
    return "".join(parts)


def json_dumps(value: object, **kwargs: object) -> str:
    """``json.dumps`` for every JSON this tool prints or exports: readable non-ASCII text, hidden
    characters escaped (:func:`json_escape`)."""
    kwargs.setdefault("ensure_ascii", False)
    return json_escape(json.dumps(value, **kwargs))  # type: ignore[arg-type]

"""The regular-expression engine of ``regex`` / ``not_regex`` checks: RE2 (google-re2), which
matches in time linear in the text, so no pattern in a suite can hang a run or an export.

Patterns are written in Python's ``re`` syntax, as before; they are translated so that they
mean what they meant under ``re``:

* ``\\d`` ``\\w`` ``\\s`` (and ``\\D`` ``\\W`` ``\\S`` outside ``[...]``) match Unicode digits,
  word characters and white space, as in Python; ``\\Z`` is the end of the text;
* ``$`` (without ``(?m)``) also matches before a final newline, as in Python;
* ``x{,n}`` means ``x{0,n}``; ``\\uXXXX``, ``\\UXXXXXXXX`` and ``\\N{NAME}`` name characters;
  ``(?#…)`` comments are dropped.

What RE2 cannot run is refused when the suite is loaded, naming the feature: backreferences
(``\\1``, ``(?P=name)``), lookahead and lookbehind (``(?=`` ``(?!`` ``(?<=`` ``(?<!``; use a
``not_regex`` check for "must not match"), atomic groups and possessive quantifiers, conditionals,
the verbose flag ``(?x)``, repetition counts above 1000. One difference stays: ``\\b`` and ``\\B``
see only ASCII letters, digits and ``_`` as word characters.

Pure: no I/O. Imports nothing of ours, so the suite layer can validate with it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import warnings
from dataclasses import dataclass

__all__ = ["Compiled", "RegexError", "compile_check_regex", "translate"]


class RegexError(ValueError):
    """A pattern the checks cannot take; the message names the feature (one line)."""


# Python's \s: str.isspace() characters.
_SPACE = r"\t\n\v\f\r\x1c-\x20\x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
_WORD = r"\p{L}\p{N}_"
_DIGIT = r"\p{Nd}"
_IN_CLASS = {"d": _DIGIT, "w": _WORD, "s": _SPACE}  # \D \W \S inside [...] keep RE2's ASCII meaning
_OUTSIDE = {
    "d": _DIGIT,
    "D": r"\P{Nd}",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "Z": r"\z",
}

#: RE2's error for a construct → the name a user knows it by.
_FEATURES = [
    ("(?=", "lookahead (?=…)"),
    ("(?!", "negative lookahead (?!…)"),
    ("(?<=", "lookbehind (?<=…)"),
    ("(?<!", "negative lookbehind (?<!…)"),
    ("(?P=", "a backreference (?P=name)"),
    ("(?>", "an atomic group (?>…)"),
    ("(?(", "a conditional group (?(…)"),
    ("(?x", "the verbose flag (?x)"),
    ("(?a", "the ASCII flag (?a)"),
    ("(?L", "the locale flag (?L)"),
    ("(?u", "the flag (?u)"),
]


@dataclass(frozen=True)
class _Parts:
    text: str
    dollar: bool  # an unescaped $ outside classes (Python's $ also matches before a final \n)
    end_anchor: bool  # \Z or \z: the end of the text, nowhere else


def _translate(pattern: str) -> _Parts:
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = 0  # index in pattern where the current class's first member starts
    dollar = end_anchor = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e in ("u", "U"):
                width = 4 if e == "u" else 8
                hexpart = pattern[i + 2 : i + 2 + width]
                if len(hexpart) == width and all(h in "0123456789abcdefABCDEF" for h in hexpart):
                    out.append(f"\\x{{{hexpart}}}")
                    i += 2 + width
                    continue
            if e == "N" and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                if end > 0:
                    name = pattern[i + 3 : end]
                    try:
                        ch = unicodedata.lookup(name)
                    except KeyError:
                        raise RegexError(f"unknown character name \\N{{{name}}}") from None
                    out.append(f"\\x{{{ord(ch):x}}}")
                    i = end + 1
                    continue
            if in_class and e in _IN_CLASS:
                out.append(_IN_CLASS[e])
            elif not in_class and e in _OUTSIDE:
                out.append(_OUTSIDE[e])
                end_anchor = end_anchor or e == "Z"
            else:
                end_anchor = end_anchor or (e == "z" and not in_class)
                out.append(c + e)
            i += 2
            continue
        if in_class:
            if c == "]" and i > class_start:
                in_class = False
            elif c == "[" and pattern.startswith("[:", i):
                out.append("\\[")  # Python reads [[:alpha:]] as the characters [ : a l p h, not a POSIX class
                i += 1
                continue
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            class_start = j  # a ']' right here is a member, not the end
            out.append(pattern[i:j])
            i = j
            continue
        if c == "(" and pattern.startswith("(?#", i):
            end = pattern.find(")", i)
            if end < 0:
                raise RegexError("unterminated comment (?#…")
            i = end + 1
            continue
        if c == "{" and pattern.startswith("{,", i):
            m = re.match(r"\{,(\d*)\}", pattern[i:])
            if m:
                out.append("{0," + m.group(1) + "}" if m.group(1) else "*")
                i += m.end()
                continue
        if c == "$":
            dollar = True
        out.append(c)
        i += 1
    return _Parts("".join(out), dollar, end_anchor)


def translate(pattern: str) -> str:
    """The RE2 pattern that means what ``pattern`` means under Python's ``re``."""
    return _translate(pattern).text


class Compiled:
    """A compiled check pattern: ``search(text)`` → ``(start, matched text)`` or ``None``."""

    __slots__ = ("_python_dollar", "_re", "pattern")

    def __init__(self, pattern: str, regex: object, python_dollar: bool):
        self.pattern = pattern
        self._re = regex
        self._python_dollar = python_dollar

    def search(self, text: str) -> tuple[int, str] | None:
        m = self._re.search(text)  # type: ignore[attr-defined]
        if m is None and self._python_dollar and text.endswith("\n"):
            # Python's $ also matches just before a final newline: the same search on the text
            # without it finds exactly those matches (it is a prefix; no \z in the pattern).
            m = self._re.search(text[:-1])  # type: ignore[attr-defined]
        if m is None:
            return None
        return m.start(), m.group()


def _feature(pattern: str, re2_message: str) -> str:
    for token, name in _FEATURES:
        if token in re2_message or token in pattern:
            return name
    if re.search(r"invalid escape sequence: \\[1-9]", re2_message):
        return "a backreference (\\1 … \\9)"
    if "bad repetition operator" in re2_message:
        return "a possessive quantifier (*+ ++ ?+ {n}+)"
    if "invalid repetition size" in re2_message:
        return "a repetition count above 1000"
    if "pattern too large" in re2_message:
        return "a pattern too large for the engine's 8 MiB program budget"
    return re2_message


@functools.lru_cache(maxsize=512)
def compile_check_regex(pattern: str, ignore_case: bool = False) -> Compiled:
    """Compile a check's pattern for RE2; :class:`RegexError` says, in one line, why not."""
    import re2

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and the like
            re.compile(pattern)
        python_error = None
    except re.error as e:
        python_error = str(e)
    except (OverflowError, RecursionError) as e:
        python_error = str(e) or type(e).__name__
    parts = _translate(pattern)
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not ignore_case
    try:
        compiled = re2.compile(parts.text, options)
    except re2.error as e:
        msg = e.args[0].decode("utf-8", "replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        if python_error is not None:
            raise RegexError(f"invalid pattern {pattern!r}: {python_error}") from None
        feature = _feature(pattern, msg)
        hint = '; for "must not match" write a not_regex check' if "lookahead" in feature else ""
        raise RegexError(f"pattern {pattern!r} uses {feature}, which the linear-time engine (RE2) cannot run{hint}") from None
    python_dollar = parts.dollar and not parts.end_anchor
    return Compiled(pattern, compiled, python_dollar)

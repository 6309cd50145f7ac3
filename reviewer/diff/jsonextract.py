"""Find the JSON document in a model's output and say what shape it came in.

Models asked for JSON answer in several shapes, and a provider's refresh often moves between
them: the whole output is JSON (``bare``), it sits in a Markdown code fence (``fenced``), it
follows a preamble or precedes a trailer (``embedded``), or it stops in the middle
(``truncated``, e.g. ``finish_reason=length``). Only objects and arrays count as documents: an
output that is just ``42`` or ``"x"`` is prose for this purpose.

Linear in the text: the embedded scan skips past the region a failed candidate already read, and
gives up after a bounded number of candidates, so a 1 MB output costs milliseconds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["JSON_SHAPES", "ExtractedJson", "JsonShape", "extract_json"]

JsonShape = Literal["none", "bare", "fenced", "embedded", "truncated"]
JSON_SHAPES: tuple[JsonShape, ...] = ("none", "bare", "fenced", "embedded", "truncated")


@dataclass(frozen=True, slots=True)
class ExtractedJson:
    """Where the JSON is in an output. ``value`` is set for bare/fenced/embedded; ``start``/``end``
    are char offsets of the JSON text itself (inside the fence for ``fenced``); ``error`` explains
    a truncated document or one that looks like JSON but is invalid (shape ``none``)."""

    shape: JsonShape
    value: Any = None
    start: int = 0
    end: int = 0
    preamble: bool = False
    trailer: bool = False
    error: str | None = None

    @property
    def valid(self) -> bool:
        """A complete, parsed JSON object or array was found."""
        return self.shape in ("bare", "fenced", "embedded")


_DECODER = json.JSONDecoder()
_NONE = ExtractedJson("none")

#: A code fence: up to 3 spaces, ``` or ~~~ (3+), an info string, the body, then the closing fence
#: of the same character and at least the same length — or the end of the text (unclosed fence).
FENCE_RE = re.compile(
    r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[^\s`]*)[^\n]*\n"
    r"(?P<body>.*?)"
    r"(?:^[ \t]{0,3}(?P=fence)[`~]*[ \t]*(?:\n|\Z)|(?P<unclosed>\Z))",
    re.M | re.S,
)
#: Fence languages whose body we try as JSON ("" = no language given).
_JSON_LANGS = frozenset({"", "json", "jsonc", "json5", "jsonl", "ndjson", "js", "javascript"})

#: An opening bracket that could start a JSON document: ``{`` then a key or ``}``; ``[`` then a
#: value or ``]``. Prose brackets (``[see below]``, ``{name}``) mostly fail this cheaply.
_CANDIDATE = re.compile(r"\{\s*(?:[\"}]|\Z)|\[\s*(?:[-\"\[{\]0-9tfn]|\Z)")

#: What may be left when a document stops mid-token: a prefix of a literal or of a number.
_TOKEN_PREFIX = re.compile(r"t(?:r(?:ue?)?)?|f(?:a(?:l(?:se?)?)?)?|n(?:u(?:ll?)?)?|[-+.eE0-9]+")

#: At most this many failed candidates are tried in the embedded scan (bounds pathological text).
MAX_CANDIDATES = 1000

_WS = " \t\r\n\ufeff"


def has_fence_marker(text: str) -> bool:
    """Whether ``text`` holds a run of three backticks or tildes (a fence could open there). The
    one-character tests go first: they are memchr scans, 10× cheaper than looking for the run."""
    return ("`" in text and "```" in text) or ("~" in text and "~~~" in text)


def extract_json(text: str) -> ExtractedJson:
    """Classify and parse the JSON document in ``text`` (see the module docstring)."""
    if "{" not in text and "[" not in text:  # most prose: two memchr scans, no copy
        return _NONE
    lo = len(text) - len(text.lstrip(_WS))
    hi = len(text.rstrip(_WS))
    if lo >= hi:
        return _NONE
    # the first "looks like JSON but isn't" failure, its message written only if nothing is found
    invalid: _Failure | None = None
    has_fence = has_fence_marker(text)

    # 1. bare: the whole output is one object/array.
    first: tuple[Any, int] | _Failure | None = None  # the decode at ``lo``, reused by the embedded scan
    if _CANDIDATE.match(text, lo, hi):
        got = first = _decode(text, lo, hi)
        if isinstance(got, tuple):
            value, end = got
            if end == hi and isinstance(value, dict | list):
                return ExtractedJson("bare", value, lo, end)
            if not has_fence and _plausible(value):  # a document, then more text
                return ExtractedJson("embedded", value, lo, end, trailer=True)
        elif got.truncated:
            return ExtractedJson("truncated", None, lo, hi, error=got.message)
        elif got.read:
            invalid = got

    # 2. fenced: the first JSON-language code fence whose body is an object/array.
    if has_fence:
        for m in FENCE_RE.finditer(text):
            if m.group("lang").lower() not in _JSON_LANGS:
                continue
            body, b0 = m.group("body"), m.start("body")
            s = b0 + (len(body) - len(body.lstrip(_WS)))
            e = b0 + len(body.rstrip(_WS))
            if s >= e or text[s] not in "{[":
                continue
            got = _decode(text, s, e)
            if isinstance(got, tuple):
                value, end = got
                if isinstance(value, dict | list) and end == e:
                    return ExtractedJson(
                        "fenced",
                        value,
                        s,
                        e,
                        preamble=bool(text[: m.start()].strip(_WS)),
                        trailer=bool(text[m.end() :].strip(_WS)),
                    )
            elif got.truncated:
                return ExtractedJson("truncated", None, s, e, preamble=bool(text[: m.start()].strip(_WS)), error=got.message)
            elif invalid is None:
                invalid = got

    # 3. embedded: the first plausible object/array anywhere, scanning left to right.
    pos, failures = lo, 0
    while failures < MAX_CANDIDATES:
        cand = _CANDIDATE.search(text, pos, hi)
        if cand is None:
            break
        i = cand.start()
        got = first if i == lo and first is not None else _decode(text, i, hi)
        if isinstance(got, tuple):
            value, end = got
            if _plausible(value):
                return ExtractedJson(
                    "embedded",
                    value,
                    i,
                    end,
                    preamble=bool(text[:i].strip(_WS)),
                    trailer=bool(text[end:hi].strip(_WS)),
                )
            pos = end  # e.g. a citation "[1]": skip it whole
            continue
        if got.truncated:
            return ExtractedJson("truncated", None, i, hi, preamble=bool(text[:i].strip(_WS)), error=got.message)
        failures += 1
        if invalid is None and got.read:
            invalid = got
        # Everything up to the error position belonged to this failed candidate: brackets inside it
        # are fragments of the same invalid text, so resume after it (keeps the scan linear).
        pos = max(i + 1, got.pos)
    message = invalid.message if invalid is not None else None
    return ExtractedJson("none", error=message) if message else _NONE


class _Failure:
    """Why ``raw_decode`` failed at ``start``. The message (with its line and column) is only
    written when asked for: the embedded scan keeps the first failure's and drops the rest."""

    __slots__ = ("_at", "_error", "_text", "pos", "read", "start", "truncated")

    def __init__(self, error: str, pos: int, truncated: bool, read: bool, text: str = "", start: int = 0, at: int = -1):
        self._error = error
        self.pos = pos  # where the parser stopped
        self.truncated = truncated  # it stopped because the text ended
        self.read = read  # it read past the opening bracket, so the text looked like JSON
        self._text, self.start, self._at = text, start, at  # at >= 0: append "at line L column C"

    @property
    def message(self) -> str:
        if self._at < 0:
            return self._error
        at = "" if self._error.endswith(" at") else " at"
        return f"{self._error}{at} {_line_col(self._text, self.start, self._at)}"


def _decode(text: str, start: int, end: int) -> tuple[Any, int] | _Failure:
    """``raw_decode`` at ``start``; a failure says whether the document merely stopped early."""
    try:
        value, stop = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as e:
        left = end - e.pos  # chars between the error and the end of the document's text
        truncated = (
            left <= 0
            or e.msg.startswith("Unterminated string")
            or (left <= 32 and _TOKEN_PREFIX.fullmatch(text, e.pos, end) is not None)  # cut in "tru", "1.5e"
            or (left <= 5 and e.msg.startswith("Invalid \\uXXXX"))  # cut inside "\u00e9"
        )
        return _Failure(e.msg, e.pos, truncated, e.pos - start >= 2, text, start, e.pos)
    except RecursionError:
        return _Failure("nested too deeply", start + 1, False, False)
    except ValueError:  # an integer literal longer than Python's digit limit
        return _Failure("a number too long to parse", start + 1, False, True)
    if stop > end:  # a fenced body that ran past its fence cannot happen with valid JSON, but be exact
        return _Failure("document runs past its fence", end, False, True)
    return value, stop


def _line_col(text: str, start: int, pos: int) -> str:
    """``line L column C`` of ``pos`` counted from ``start`` (the document's first char)."""
    line = text.count("\n", start, pos) + 1
    col = pos - (text.rfind("\n", start, pos) + 1 if line > 1 else start) + 1
    return f"line {line} column {col}"


def _plausible(value: Any) -> bool:
    """An embedded value that is a document rather than prose: a non-empty object, or a non-empty
    array other than one or two bare integers (``[1]`` and ``[2, 3]`` read as citations)."""
    if isinstance(value, dict):
        return bool(value)
    if isinstance(value, list):
        return len(value) > 2 or any(type(v) is not int for v in value)
    return False

"""A stored suite read for the case list without validating it: what the list, its tag filter and
the search read of each case (:class:`CaseRow`), and where each case's JSON lies in the stored
content so that one case can be validated when it is shown (:meth:`Session.case`).

The stored content is the dump of a suite validated when it was stored (``Store.upsert_suite``),
so it is the store's own data: read with ``json`` (C) in a fraction of the time pydantic takes to
validate 100,000 cases (~4.5 s, ~400 MB). Content that is not such a dump raises ValueError, which
the session reports as a damaged store. No Textual, no store, no I/O here.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

__all__ = ["CaseRow", "SuiteRows", "split_suite"]


class CaseRow:
    """What the case list and the search read of a case: id, tags, origin, prompt and the texts
    of its messages (``Case`` answers the same attributes but ``texts``)."""

    __slots__ = ("id", "origin", "prompt", "tags", "texts")

    def __init__(
        self, case_id: str, tags: tuple[str, ...], origin: str | None, prompt: str | None, texts: tuple[str, ...]
    ) -> None:
        self.id = case_id
        self.tags = tags
        self.origin = origin
        self.prompt = prompt
        self.texts = texts

    def __repr__(self) -> str:
        return f"CaseRow({self.id!r})"


class SuiteRows:
    """A stored suite split: ``head`` (every field but the cases, as stored), one :class:`CaseRow`
    per case in suite order, and each case's JSON text by id (:meth:`case_json`)."""

    __slots__ = ("_ends", "_index", "_starts", "content", "head", "rows")

    def __init__(self, content: str, head: dict[str, Any], rows: list[CaseRow], starts: list[int], ends: list[int]) -> None:
        self.content = content
        self.head = head
        self.rows = rows
        self._starts = starts
        self._ends = ends
        self._index = {r.id: i for i, r in enumerate(rows)}

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._index

    def case_json(self, case_id: str) -> dict[str, Any]:
        """The stored dict of one case (parsed again: nothing holds every case's dict). KeyError
        for an id the suite lacks."""
        i = self._index[case_id]
        out: dict[str, Any] = json.loads(self.content[self._starts[i] : self._ends[i]])
        return out


_WS = re.compile(r"[ \t\n\r]*")
_decode = json.JSONDecoder().raw_decode


def _skip(s: str, i: int) -> int:
    """Past the JSON whitespace at ``i`` (none in what pydantic writes)."""
    if i < len(s) and s[i] in " \t\n\r":
        m = _WS.match(s, i)
        assert m is not None  # the pattern matches the empty string
        return m.end()
    return i


def _str_tuple(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(type(v) is str for v in value):
        raise ValueError(f"{what} is not a list of strings")
    return tuple(value)


def _row(c: Any) -> CaseRow:
    if type(c) is not dict:
        raise ValueError("a case is not an object")
    case_id, origin, prompt, messages = c.get("id"), c.get("origin"), c.get("prompt"), c.get("messages")
    if type(case_id) is not str:
        raise ValueError("a case has no string id")
    if not (origin is None or type(origin) is str) or not (prompt is None or type(prompt) is str):
        raise ValueError(f"case {case_id!r}: origin or prompt is not a string")
    tags = _str_tuple(c["tags"], f"case {case_id!r}: tags") if "tags" in c else ()
    texts: tuple[str, ...] = ()
    if messages is not None:
        if not isinstance(messages, list) or not all(type(m) is dict for m in messages):
            raise ValueError(f"case {case_id!r}: messages is not a list of objects")
        texts = _str_tuple([m.get("content", "") for m in messages], f"case {case_id!r}: message contents")
    return CaseRow(case_id, tags, origin, prompt, texts)


def split_suite(content: str) -> SuiteRows:
    """The stored suite ``content`` (a JSON object) split into its head, its case rows and where
    each case lies; every value is parsed by ``json``'s C scanner, the top-level object walked
    here. ValueError when it is not a suite's dump (not JSON, no list of case objects, a case
    without a string id, duplicate ids)."""
    s, ws, n = content, _skip, len(content)
    i = ws(s, 0)
    if i >= n or s[i] != "{":
        raise ValueError("not a JSON object")
    i = ws(s, i + 1)
    head: dict[str, Any] = {}
    rows: list[CaseRow] = []
    starts: list[int] = []
    ends: list[int] = []
    seen_cases = False
    if i < n and s[i] == "}":
        i += 1
    else:
        while True:
            if i >= n or s[i] != '"':
                raise ValueError(f"a key expected at offset {i}")
            key, i = scanstring(s, i + 1)
            i = ws(s, i)
            if i >= n or s[i] != ":":
                raise ValueError(f"':' expected at offset {i}")
            i = ws(s, i + 1)
            if key == "cases":
                seen_cases = True
                i = _cases(s, i, rows, starts, ends)
            else:
                head[key], i = _decode(s, i)
            i = ws(s, i)
            if i < n and s[i] == ",":
                i = ws(s, i + 1)
                continue
            if i < n and s[i] == "}":
                i += 1
                break
            raise ValueError(f"',' or '}}' expected at offset {i}")
    if ws(s, i) != n:
        raise ValueError(f"extra data at offset {i}")
    if not seen_cases and "suite" not in head:
        raise ValueError("not a suite")
    out = SuiteRows(s, head, rows, starts, ends)
    if len(out._index) != len(rows):
        raise ValueError("two cases have the same id")
    return out


def _cases(s: str, i: int, rows: list[CaseRow], starts: list[int], ends: list[int]) -> int:
    ws, n = _skip, len(s)
    if i >= n or s[i] != "[":
        raise ValueError("cases is not a list")
    i = ws(s, i + 1)
    if i < n and s[i] == "]":
        return i + 1
    first = len(rows)
    add_row, add_start, add_end = rows.append, starts.append, ends.append
    while True:
        value, end = _decode(s, i)
        # the row taken as a stored case has it (~1 µs); the types are checked after, in bulk
        if type(value) is not dict or type(tags := value.get("tags", ())) not in (list, tuple):
            add_row(_row(value))  # says what is wrong
        else:
            get = value.get
            msgs = get("messages")
            texts = tuple([m.get("content") for m in msgs]) if type(msgs) is list and all(type(m) is dict for m in msgs) else None
            if texts is None and msgs is not None:
                add_row(_row(value))
            else:
                add_row(CaseRow(get("id"), tuple(tags), get("origin"), get("prompt"), texts or ()))  # type: ignore[arg-type]  # checked by _check
        add_start(i)
        add_end(end)
        i = ws(s, end)
        if i < n and s[i] == ",":
            i = ws(s, i + 1)
            continue
        if i < n and s[i] == "]":
            _check(rows, first)
            return i + 1
        raise ValueError(f"',' or ']' expected at offset {i}")


_STR_OR_NONE = frozenset({str, type(None)})


def _check(rows: list[CaseRow], first: int) -> None:
    """ValueError unless every row's id is a string, its origin and prompt strings or None, its
    tags and message texts strings (a pass in C per attribute)."""
    part = rows[first:]
    ok = (
        {type(r.id) for r in part} <= {str}
        and {type(r.origin) for r in part} <= _STR_OR_NONE
        and {type(r.prompt) for r in part} <= _STR_OR_NONE
        and {type(t) for r in part for t in r.tags} <= {str}
        and {type(t) for r in part for t in r.texts} <= {str}
    )
    if not ok:
        for r in part:  # name the first wrong case
            _row({"id": r.id, "origin": r.origin, "prompt": r.prompt, "tags": list(r.tags), "messages": None})
            if not all(type(t) is str for t in r.texts):
                raise ValueError(f"case {r.id!r}: message contents is not a list of strings")
        raise ValueError("a case's fields have the wrong types")  # not reached: a row above was wrong

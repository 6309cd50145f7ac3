"""A stored suite read for the case list without validating it: what the list, its tag filter and
the search read of each case (:class:`CaseRow`), and where each case's JSON lies in the stored
content so that one case can be validated when it is shown (:meth:`Session.case`).

The stored content is the dump of a suite validated when it was stored (``Store.upsert_suite``),
so it is the store's own data: read with ``json`` (C) in a fraction of the time pydantic takes to
validate 100,000 cases (~4.5 s, ~400 MB), or from the outline stored beside it, which says where
each case lies (schema v8: the content is then not parsed until a search reads the prompts).
Content that is not such a dump raises ValueError, which the session reports as a damaged store.
No Textual, no I/O here; of the store, only its walker of a stored suite (a pure function).
"""

from __future__ import annotations

import json
import threading
from functools import partial
from itertools import chain, repeat
from typing import Any, NamedTuple

from reviewer.store.outline import walk_suite

from .cache import paused_gc

__all__ = ["CaseRow", "SuiteRows", "rows_from_outline", "split_suite"]


class _Row(NamedTuple):
    id: str
    tags: tuple[str, ...]
    origin: str | None
    stored_prompt: str | None
    stored_texts: tuple[str, ...]
    #: the rows that read this one's prompt and texts from the content when first asked for
    #: (:func:`rows_from_outline`); None: they are the two fields before
    owner: SuiteRows | None


class CaseRow(_Row):
    """What the case list and the search read of a case: id, tags, origin, prompt and the texts
    of its messages (``Case`` answers the same attributes but ``texts``). A tuple: 100,000 are
    made in C from the outline (:func:`rows_from_outline`); such a row's prompt and texts are
    read from the content on first use, every row's at once (:meth:`SuiteRows.fill`: only a
    search reads them)."""

    __slots__ = ()

    def __new__(
        cls,
        case_id: str,
        tags: tuple[str, ...],
        origin: str | None,
        prompt: str | None,
        texts: tuple[str, ...],
        owner: SuiteRows | None = None,
    ) -> CaseRow:
        return tuple.__new__(cls, (case_id, tags, origin, prompt, texts, owner))

    @property
    def prompt(self) -> str | None:
        owner = self[5]
        return self[3] if owner is None else owner.texts_of(self[0])[0]

    @property
    def texts(self) -> tuple[str, ...]:
        owner = self[5]
        return self[4] if owner is None else owner.texts_of(self[0])[1]

    def __repr__(self) -> str:
        return f"CaseRow({self[0]!r})"


_new_row = partial(tuple.__new__, CaseRow)


class SuiteRows:
    """A stored suite split: ``head`` (every field but the cases, as stored), one :class:`CaseRow`
    per case in suite order, and each case's JSON text by id (:meth:`case_json`)."""

    __slots__ = ("_ends", "_filled", "_index", "_lock", "_starts", "_texts", "content", "head", "rows")

    def __init__(self, content: str, head: dict[str, Any], rows: list[CaseRow], starts: list[int], ends: list[int]) -> None:
        self.content = content
        self.head = head
        self.rows = rows
        self._starts = starts
        self._ends = ends
        self._index = dict(zip([r[0] for r in rows], range(len(rows)), strict=True))
        self._lock = threading.Lock()
        #: each row's (prompt, texts) in suite order once read (:meth:`fill`); rows made from the
        #: outline hold neither until then (None)
        self._texts: list[tuple[str | None, tuple[str, ...]]] | None = None
        self._filled = True  # every row's prompt and texts are known (rows from the outline: False)

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._index

    def case_json(self, case_id: str) -> dict[str, Any]:
        """The stored dict of one case (parsed again: nothing holds every case's dict). KeyError
        for an id the suite lacks; ValueError when the JSON found there is not that case's."""
        i = self._index[case_id]
        out: dict[str, Any] = json.loads(self.content[self._starts[i] : self._ends[i]])
        if type(out) is not dict or out.get("id") != case_id:
            raise ValueError(f"the stored suite's outline does not match its content at case {case_id!r}")
        return out

    @property
    def texts_read(self) -> bool:
        """Every row's prompt and texts are known (rows from the outline: once :meth:`fill` ran)."""
        return self._filled

    def texts_of(self, case_id: str) -> tuple[str | None, tuple[str, ...]]:
        """The prompt and message texts of a row made from the outline (:meth:`fill` first)."""
        texts = self._texts if self._texts is not None else self.fill()
        return texts[self._index[case_id]]

    def fill(self) -> list[tuple[str | None, tuple[str, ...]]]:
        """Every row's prompt and texts, read from the content (rows made from the outline):
        once, ~0.4 s at 100,000 cases, in the thread that first asks (the search's). ValueError
        when the content and the outline disagree on the cases.

        What is read lives as long as the rows: it is frozen as made (:func:`paused_gc`), so no
        young pass scans the parse as it grows and no later full pass walks it. (Freezing is
        process-wide: whatever else is young then is frozen too, and still freed by reference
        counting; only a cycle among it waits for the app's ``gc.unfreeze`` when it closes.)"""
        with self._lock:
            if self._texts is None:
                with paused_gc(freeze=True):
                    self._texts = self._read_texts()
                self._filled = True
            return self._texts

    def _read_texts(self) -> list[tuple[str | None, tuple[str, ...]]]:
        ids: list[Any] = []

        def keep(value: Any) -> tuple[Any, Any]:  # no row kept: ~20 MB less at 100,000 cases
            row = _row(value)
            ids.append(row[0])
            return row[3], row[4]

        _, found, starts, _ = walk_suite(self.content, keep)
        if {type(p) for p, _ in found} - _STR_OR_NONE or {type(t) for _, texts in found for t in texts} - {str}:
            raise ValueError("a case's prompt or message contents are not strings")
        if starts != self._starts or ids != [r[0] for r in self.rows]:
            raise ValueError("the stored suite's outline does not match its content")
        return found


def _str_tuple(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(type(v) is str for v in value):
        raise ValueError(f"{what} is not a list of strings")
    return tuple(value)


def _checked_row(c: Any) -> CaseRow:
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


def _row(value: Any) -> CaseRow:
    """A case's row from its decoded JSON: the row taken as a stored case has it (~1 µs); the
    types are checked after, in bulk (:func:`_check`), or here when the shape is not a case's."""
    if type(value) is not dict or type(tags := value.get("tags", ())) not in (list, tuple):
        return _checked_row(value)  # says what is wrong
    get = value.get
    msgs = get("messages")
    texts = tuple([m.get("content") for m in msgs]) if type(msgs) is list and all(type(m) is dict for m in msgs) else None
    if texts is None and msgs is not None:
        return _checked_row(value)
    return CaseRow(get("id"), tuple(tags), get("origin"), get("prompt"), texts or ())  # type: ignore[arg-type]  # checked by _check


def split_suite(content: str) -> SuiteRows:
    """The stored suite ``content`` (a JSON object) split into its head, its case rows and where
    each case lies (:func:`~reviewer.store.outline.walk_suite`). ValueError when it is not a
    suite's dump (not JSON, no list of case objects, a case without a string id, duplicate ids)."""
    head, rows, starts, ends = walk_suite(content, _row)
    _check(rows)
    out = SuiteRows(content, head, rows, starts, ends)
    if len(out._index) != len(rows):
        raise ValueError("two cases have the same id")
    return out


def rows_from_outline(content: str, outline: str) -> SuiteRows | None:
    """The suite's rows from the outline stored beside its content (schema v8: with where each
    case lies), without parsing the content: ~0.2 s at 100,000 cases against ~0.45 s. Each
    row's prompt and texts are read from the content when first asked for, and a case shown is
    checked to be the one its row names (:meth:`SuiteRows.case_json`). None when the outline
    has no places (written before v8) or does not fit the content: the caller splits the content."""
    try:
        doc = json.loads(outline)
    except ValueError:
        return None
    if type(doc) is not dict:
        return None
    head, cases, starts, ends = doc.get("head"), doc.get("cases"), doc.get("starts"), doc.get("ends")
    if not (type(head) is dict and type(cases) is list and type(starts) is list and type(ends) is list):
        return None
    if not (len(cases) == len(starts) == len(ends)) or ({type(x) for x in starts} | {type(x) for x in ends}) - {int}:
        return None
    if cases and not (starts[0] >= 0 and ends[-1] <= len(content)):
        return None
    in_order = all(a < b for a, b in zip(starts, ends, strict=True)) and all(
        b < a for b, a in zip(ends[:-1], starts[1:], strict=True)
    )
    if not in_order:  # each place in order and apart from the next
        return None
    at = content.__getitem__  # each place holds an object (in C: ~10 ms at 100,000 cases)
    if cases and not (set(map(at, starts)) == {"{"} and set(map(at, map(int.__sub__, ends, repeat(1)))) == {"}"}):
        return None
    if set(map(type, cases)) - {list}:
        return None
    try:
        ids, tags, _, origins, _ = zip(*cases, strict=True) if cases else ((),) * 5
    except ValueError:  # rows of other lengths than 5
        return None
    if set(map(type, ids)) - {str} or set(map(type, tags)) - {list} or set(map(type, origins)) - _STR_OR_NONE:
        return None
    if set(map(type, chain.from_iterable(tags))) - {str}:
        return None
    out = SuiteRows(content, head, [], starts, ends)
    out.rows = list(map(_new_row, zip(ids, map(tuple, tags), origins, repeat(None), repeat(()), repeat(out))))
    out._index = dict(zip(ids, range(len(ids)), strict=True))
    out._filled = not cases
    return out if len(out._index) == len(cases) else None


_STR_OR_NONE = frozenset({str, type(None)})


def _check(part: list[CaseRow]) -> None:
    """ValueError unless every row's id is a string, its origin and prompt strings or None, its
    tags and message texts strings (a pass in C per attribute)."""
    ok = (
        {type(r.id) for r in part} <= {str}
        and {type(r.origin) for r in part} <= _STR_OR_NONE
        and {type(r[3]) for r in part} <= _STR_OR_NONE
        and {type(t) for r in part for t in r.tags} <= {str}
        and {type(t) for r in part for t in r[4]} <= {str}
    )
    if not ok:
        for r in part:  # name the first wrong case
            _checked_row({"id": r.id, "origin": r.origin, "prompt": r[3], "tags": list(r.tags), "messages": None})
            if not all(type(t) is str for t in r[4]):
                raise ValueError(f"case {r.id!r}: message contents is not a list of strings")
        raise ValueError("a case's fields have the wrong types")  # not reached: a row above was wrong

"""A suite's outline: what the exports and the gate read of its cases (id, tags, checks, origin,
date added), read from the suite's stored content or from the compact copy stored beside it,
which also says where each case's JSON lies in the content (what the review app's list reads,
:mod:`reviewer.session.caserows`). :func:`walk_suite` walks a stored content for both."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from functools import partial
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, NamedTuple, TypeVar

from ..suite import Check, Suite

__all__ = ["CaseOutline", "outline_json", "outline_of_content", "read_outline", "walk_suite"]

T = TypeVar("T")
_WS = re.compile(r"[ \t\n\r]*")
_decode = json.JSONDecoder().raw_decode


def _skip(s: str, i: int) -> int:
    """Past the JSON whitespace at ``i`` (none in what pydantic writes)."""
    if i < len(s) and s[i] in " \t\n\r":
        m = _WS.match(s, i)
        assert m is not None  # the pattern matches the empty string
        return m.end()
    return i


def walk_suite(content: str, keep: Callable[[Any], T]) -> tuple[dict[str, Any], list[T], list[int], list[int]]:
    """A stored suite's ``content`` (a JSON object) walked: its head (every key but ``cases``,
    decoded), ``keep(case)`` of each case (its decoded JSON) in order, and where each case's JSON
    starts and ends in ``content``. Each value is parsed by ``json``'s C scanner, the top-level
    object and the list of cases walked here, so no list of every case's dict is ever held.
    ValueError when it is not a suite's dump (not JSON, no list of cases); ``keep`` raises what
    it finds wrong with a case."""
    s, ws, n = content, _skip, len(content)
    i = ws(s, 0)
    if i >= n or s[i] != "{":
        raise ValueError("not a JSON object")
    i = ws(s, i + 1)
    head: dict[str, Any] = {}
    kept: list[T] = []
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
                i = _cases(s, i, keep, kept, starts, ends)
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
    return head, kept, starts, ends


def _cases(s: str, i: int, keep: Callable[[Any], T], kept: list[T], starts: list[int], ends: list[int]) -> int:
    ws, n = _skip, len(s)
    if i >= n or s[i] != "[":
        raise ValueError("cases is not a list")
    i = ws(s, i + 1)
    if i < n and s[i] == "]":
        return i + 1
    add, add_start, add_end = kept.append, starts.append, ends.append
    while True:
        value, end = _decode(s, i)
        add(keep(value))
        add_start(i)
        add_end(end)
        i = ws(s, end)
        if i < n and s[i] == ",":
            i = ws(s, i + 1)
            continue
        if i < n and s[i] == "]":
            return i + 1
        raise ValueError(f"',' or ']' expected at offset {i}")


class CaseOutline(NamedTuple):
    """What the changelog and the gate read of a suite's case (:meth:`ComparisonsMixin.suite_outline`).
    A tuple: 100,000 are made in C."""

    id: str
    tags: tuple[str, ...]
    checks: tuple[Check, ...]
    origin: str | None
    added: date | None


_new_outline = partial(tuple.__new__, CaseOutline)


def _checks(raw: Any, seen: dict[Any, Any]) -> tuple[Check, ...]:
    """A case's checks from their dumps, each validated once per distinct dump (``seen``);
    TypeError or ValueError (a ValidationError) when they are not check dumps."""
    key = "checks " + repr(raw)
    checks = seen.get(key)
    if checks is None:
        if not isinstance(raw, list):
            raise TypeError("not a stored case")
        found = []
        for x in raw:
            one = "check " + repr(x)
            got = seen.get(one)
            if got is None:
                got = seen[one] = Check.model_validate(x)
            found.append(got)
        checks = seen[key] = tuple(found)
    return checks


def _case(case_id: Any, raw_tags: Any, checks: tuple[Check, ...], origin: Any, added: Any, seen: dict[Any, Any]) -> CaseOutline:
    if not isinstance(case_id, str):
        raise TypeError("not a stored case")
    if not (origin is None or isinstance(origin, str)) or not (added is None or isinstance(added, str)):
        raise TypeError("not a stored case")
    # the tags by their text (JSON values: repr tells any two apart): checked and made once per distinct list
    tags_key = "tags " + repr(raw_tags)
    tags = seen.get(tags_key)
    if tags is None:
        if not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags):
            raise TypeError("not a stored case")
        tags = seen[tags_key] = tuple(raw_tags)
    return _new_outline((case_id, tags, checks, origin, date.fromisoformat(added) if added else None))


def _outline(c: dict[str, Any], seen: dict[Any, Any]) -> CaseOutline:
    """A case of a stored suite's content (a validated suite's dump) as its outline; KeyError,
    TypeError or ValueError when it is not such a dump. ``seen`` shares what recurs across cases
    (the same tags, the same check: a frozen :class:`Check`, validated once per distinct dump)."""
    return _case(c["id"], c.get("tags", []), _checks(c.get("checks", []), seen), c.get("origin"), c.get("added"), seen)


def outline_of_content(doc: dict[str, Any]) -> tuple[Suite, list[CaseOutline]]:
    """The suite (without cases) and its cases' outlines from a stored suite's content (as
    ``json.loads`` reads it; its ``cases`` are consumed). A case that is not a validated suite's
    dump has its whole chunk validated as the suite validates it, which raises what is wrong."""
    cases = doc.pop("cases", [])
    outline: list[CaseOutline] = []
    seen: dict[Any, Any] = {}
    for i in range(0, len(cases), 1000):
        part = cases[i : i + 1000]
        try:
            outline.extend(_outline(c, seen) for c in part)
        except (KeyError, TypeError, ValueError):  # not what upsert_suite writes: validate it all
            del outline[i:]
            for v in Suite.model_validate({**doc, "cases": part}).cases:
                outline.append(CaseOutline(v.id, tuple(v.tags), tuple(v.checks), v.origin, v.added))
        cases[i : i + 1000] = [None] * len(part)
    return Suite.model_validate({**doc, "cases": []}), outline


def outline_json(content: str) -> str:
    """The compact outline stored beside a suite's ``content`` (its validated dump, as
    ``upsert_suite`` writes it): ``{"head": the suite without cases, "checks": [each distinct
    list of check dumps], "cases": [[id, tags, index into checks, origin, added], ...],
    "starts": [...], "ends": [...]}``, the last two where each case's JSON lies in ``content``
    (``str`` offsets; an outline written before schema v8 has none)."""
    lists: dict[str, int] = {}
    checks: list[Any] = []

    def row(c: Any) -> list[Any]:
        raw = c.get("checks", [])
        key = repr(raw)
        at = lists.get(key)
        if at is None:
            at = lists[key] = len(checks)
            checks.append(raw)
        return [c["id"], c.get("tags", []), at, c.get("origin"), c.get("added")]

    head, rows, starts, ends = walk_suite(content, row)
    doc = {"head": head, "checks": checks, "cases": rows, "starts": starts, "ends": ends}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def read_outline(text: str) -> tuple[Suite, list[CaseOutline]]:
    """The suite (without cases) and its cases' outlines from an :func:`outline_json`; KeyError,
    TypeError or ValueError when it is not one (the caller reads the content instead)."""
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise TypeError("not a stored outline")
    seen: dict[Any, Any] = {}
    lists = [_checks(raw, seen) for raw in doc["checks"]]
    out = [_case(i, tags, lists[at], origin, added, seen) for i, tags, at, origin, added in doc["cases"]]
    return Suite.model_validate({**doc["head"], "cases": []}), out

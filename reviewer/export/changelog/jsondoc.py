"""The JSON changelog for machines, from the model's own serialisation.

:func:`to_jsonable` turns any model object into plain JSON values by walking its dataclass fields
(and the computed properties the class names), as the model declares them (see
:mod:`reviewer.export.changelog.model`): a field added to the model appears in the export without
touching this file. Floats are rounded to 6 decimals and infinities/NaN become ``null``.
:func:`to_dict` only lays out the document's envelope (format, version, comparison, suite) and the
order of its sections.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields, is_dataclass
from functools import partial
from typing import Any, TextIO

from ...untrusted import json_dumps, json_escape
from .ahead import FORK_FROM, Ahead, Child, may_fork
from .model import STATE_DIGEST_PREFIX, Changelog, require_figures, review_state_digest

__all__ = ["FORMAT", "VERSION", "RowsAhead", "iter_json", "render_json", "to_dict", "to_jsonable"]

FORMAT = "reviewer-changelog"
VERSION = 1


def _finite(x: float) -> float | None:
    if math.isnan(x) or math.isinf(x):
        return None
    return round(x, 6)


#: Per model class: (attribute, JSON key, raw floats, mapping as its values) for each field, and
#: the computed properties that follow it. Built once per class.
_Plan = list[tuple[str, str, bool, bool, tuple[str, ...]]]
_PLANS: dict[type, tuple[_Plan, tuple[str, ...]]] = {}
_SCALARS = (str, int, bool, type(None))


def _plan(cls: type) -> tuple[_Plan, tuple[str, ...]]:
    got = _PLANS.get(cls)
    if got is None:
        plan: _Plan = []
        for f in fields(cls):
            how = f.metadata.get("json", {})
            if not how.get("skip"):
                plan.append((f.name, how.get("name", f.name), how.get("raw", False), how.get("values", False),
                             tuple(how.get("then", ()))))  # fmt: skip
        got = _PLANS[cls] = (plan, tuple(getattr(cls, "JSON_AFTER", ())))
    return got


def _converter(cls: type) -> Callable[[Any], dict[str, Any]]:
    """One model class's own writer, generated once from its :func:`_plan`: the same dict as the
    walk over the plan, without looking the plan up per object (a 10,000-case export writes
    ~200,000 model objects). A value of a plain scalar type is taken as it is; anything else goes
    through :func:`to_jsonable`."""
    got = _CONVERTERS.get(cls)
    if got is None:
        plan, after = _plan(cls)
        shared = getattr(cls, "JSON_SHARED", False)
        lines = ["def conv(value):"]
        if shared:  # one object stands for many cases: its dict is made once per chunk (see iter_json)
            lines += ["    memo = getattr(_CHUNK, 'memo', None)", "    if memo is not None:",
                      "        got = memo.get(id(value))", "        if got is not None and got[0] is value:",
                      "            return got[1]"]  # fmt: skip
        lines.append("    out = {}")
        for attr, key, keep, as_values, then in plan:
            lines.append(f"    v = value.{attr}")
            if as_values:
                lines.append("    v = list(v.values())")
            if keep:
                lines.append(f"    out[{key!r}] = v if v.__class__ in _EXACT else to_jsonable(v, raw=True)")
            else:  # a float written as _finite writes it, inline
                lines.append(
                    f"    out[{key!r}] = v if v.__class__ in _EXACT else (round(v, 6) if v - v == 0.0 else None)"
                    " if v.__class__ is float else to_jsonable(v)"
                )
            lines += [f"    out[{prop!r}] = to_jsonable(value.{prop})" for prop in then]
        lines += [f"    out[{prop!r}] = to_jsonable(value.{prop})" for prop in after]
        if shared:
            lines += ["    if memo is not None:", "        memo[id(value)] = (value, out)"]
        lines.append("    return out")
        scope: dict[str, Any] = {"_EXACT": _EXACT, "_CHUNK": _CHUNK, "to_jsonable": to_jsonable}
        exec("\n".join(lines), scope)  # attribute names: the model's own dataclass fields
        got = _CONVERTERS[cls] = scope["conv"]
    return got


_CONVERTERS: dict[type, Callable[[Any], dict[str, Any]]] = {}
#: ``memo``: id -> (object, its dict) of the shared objects (a class's ``JSON_SHARED``) met while
#: one chunk of cases is made and encoded (:func:`iter_json`); None otherwise. Per thread.
_CHUNK = threading.local()
#: exact types written as they are (a subclass, e.g. a str enum, takes the isinstance path: same result)
_EXACT = frozenset({str, int, bool, type(None)})


def to_jsonable(value: Any, *, raw: bool = False) -> Any:
    """A model object (or a list/dict of them) as JSON values; ``raw`` keeps floats as they are."""
    cls = value.__class__
    if cls in _EXACT:
        return value
    conv = _CONVERTERS.get(cls)
    if conv is not None:
        return conv(value)
    if cls is list or cls is tuple:
        if cls is tuple and getattr(_CHUNK, "memo", None) is not None:
            # while a chunk is encoded (iter_json) a tuple of plain scalars (tags, flags, an
            # empty list) goes to the encoder as it is: it writes a tuple as the list it holds
            for v in value:
                if v.__class__ not in _EXACT:
                    break
            else:
                return value
        return [v if v.__class__ in _EXACT else to_jsonable(v, raw=raw) for v in value]
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, float):
        return value if raw else _finite(value)
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, raw=raw) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v, raw=raw) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return _converter(cls)(value)
    raise TypeError(f"cannot write {type(value).__name__} to the JSON export")


def to_dict(cl: Changelog) -> dict[str, Any]:
    """The whole document as JSON values."""
    return {**_envelope(cl), "cases": to_jsonable(cl.cases)}


def _envelope(cl: Changelog) -> dict[str, Any]:
    """The document without its cases (written last)."""
    require_figures(cl)
    return {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": cl.generated_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "generated_by": cl.generated_by,
        "tool": cl.tool,
        "comparison": {
            "id": cl.comparison_id,
            "name": cl.comparison_name,
            "status": cl.comparison_status,
            "created_at": cl.comparison_created_at,
        },
        "suite": {"name": cl.suite_name, "digest": cl.suite_digest, "path": cl.suite_path, "cases": cl.summary.cases},
        "baseline": to_jsonable(cl.baseline),
        "candidate": to_jsonable(cl.candidate),
        "reviewers": cl.reviewers,
        "summary": to_jsonable(cl.summary),
        "significance": to_jsonable(cl.significance),
        "metrics": to_jsonable(cl.metrics),
        "checks": to_jsonable(cl.checks),
        "tags": to_jsonable(cl.tags),
        "warnings": cl.warnings,
        "new_cases": cl.new_cases,
        "signoffs": to_jsonable(cl.signoffs),
        "tool_calls": to_jsonable(cl.tool_calls) if cl.tool_calls is not None else None,
        "judge": to_jsonable(cl.judge) if cl.judge is not None else None,
        "review_state": review_state_digest(cl),
    }


def _escaped(row: str) -> str:
    """:func:`~reviewer.untrusted.json_escape` of one encoded row; printable ASCII is as it is
    (the encoder escapes the other control characters itself)."""
    return row if row.isascii() and "\x7f" not in row else json_escape(row)


def render_json(cl: Changelog) -> str:
    """Indented JSON, except ``cases``: one compact case per line, so a 10,000-case changelog stays
    fast to write (the C encoder) and still diffs and greps line by line."""
    return "".join(iter_json(cl))


class RowsAhead(Ahead):
    """The JSON rows made by a forked child from the moment the cases are final (see
    :mod:`.ahead`): the child makes the review state digest first (its head needs it), then every
    row, while this process still makes the changelog's sums (~2 s at 100,000 cases, about what
    the rows take the child); :func:`iter_json` with ``ahead`` then writes the head and the
    child's rows."""

    def __call__(self, cases: Sequence[Any], digest: Callable[[], str] | None = None) -> None:
        self._start(cases, partial(_write_rows, cases=cases, start=0), digest)


def iter_json(cl: Changelog, *, fork_from: int = FORK_FROM, ahead: RowsAhead | None = None) -> Iterator[str]:
    """:func:`render_json` in pieces of up to a thousand cases, made as they are asked for: a
    100,000-case export (~70 MB) is written without holding the document. From ``fork_from``
    cases on (where :func:`~.ahead.may_fork`), a forked child makes the second half of the rows
    into a temporary file meanwhile (the same text; a child that fails leaves its part to this
    process); with ``ahead``, the child it started for these cases has made every row meanwhile."""
    cases = cl.cases
    child = ahead.take(cases) if ahead is not None else None
    split = 0
    try:
        if child is not None and cl._state_digest is None:  # the child made it first, from the same entries
            got = child.first()
            if got is not None and got.startswith(STATE_DIGEST_PREFIX) and len(got) == len(STATE_DIGEST_PREFIX) + 64:
                cl._state_digest = got
        head = json_dumps(_envelope(cl), indent=2)  # readable text, hidden characters as \uXXXX: the exact value
        yield head[:-2] + ',\n  "cases": [\n'
        if child is None and len(cases) >= fork_from and may_fork():
            split = (len(cases) // 2000) * 1000  # a chunk boundary near the middle
            if split:
                child = Child.start(partial(_write_rows, cases=cases, start=split))
        if child is None:
            yield from _rows(cases, 0, len(cases))
        else:
            yield from _rows(cases, 0, split)
            if child.done():
                yield from child.pieces()
            else:
                yield from _rows(cases, split, len(cases))
    finally:
        if child is not None:
            child.close()
    yield "  ]\n}\n"


def _write_rows(out: TextIO, *, cases: Sequence[Any], start: int) -> None:
    out.writelines(_rows(cases, start, len(cases)))


def _rows(cases: Sequence[Any], start: int, stop: int) -> Iterator[str]:
    """The rows of ``cases[start:stop]`` (``start`` a multiple of 1,000), a chunk of 1,000 a piece."""
    # what json_dumps writes per case: the escapes depend on a character and its neighbours
    # inside one JSON string only, so each row is escaped alone, and only when it holds a
    # character outside printable ASCII (str.isascii is a flag CPython keeps: most rows cost
    # nothing). Each case's dict is encoded as soon as it is made: nothing holds every case's dict.
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    for i in range(start, stop, 1000):
        # the cases share their check entries and consistencies (a few hundred distinct ones in
        # 100,000 cases): each one's dict is made once per chunk, read by the encoder only
        _CHUNK.memo = {}
        try:
            rows = ",\n".join([_escaped("    " + encode(to_jsonable(c))) for c in cases[i : min(i + 1000, stop)]])
        finally:
            _CHUNK.memo = None
        yield rows + (",\n" if i + 1000 < len(cases) else "\n")

"""Structural diff of two JSON documents, and the JSON view of two model outputs.

:func:`json_diff` compares two parsed values and lists what changed by path
(``$.a.b[2]["weird key"]``): keys added, removed or renamed (same value under a new key of the same
object), values whose JSON type changed (``1`` → ``"1"``), scalar values changed, and arrays whose
elements only changed order (one ``reordered`` change for the array). Key order never matters.
Arrays are aligned element by element (longest common subsequence of the elements), so an element
inserted at the front reads as one addition, not as every element changing.

:func:`json_view` is what the review screen shows when both outputs hold JSON: both documents
pretty-printed the same canonical way (``indent=2``, keys sorted), aligned line by line with
:func:`~reviewer.diff.align.align`, plus the changes and the lines each touches.

Works on any nesting depth (no recursion), and never trusts the text: strings are printed with
C1 controls, bidirectional overrides and line separators escaped as ``\\uXXXX``.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, Literal

from rapidfuzz.distance import Indel

from reviewer.diff.align import PAIR_THRESHOLD, Row, _matching_runs, _pair_lines, align
from reviewer.diff.jsonextract import JsonShape, extract_json

__all__ = ["JsonView", "PathChange", "PathChangeKind", "json_diff", "json_path", "json_values_view", "json_view", "pretty_json"]

PathChangeKind = Literal["added", "removed", "renamed", "type_changed", "value_changed", "reordered"]


@dataclass(frozen=True, slots=True)
class PathChange:
    """One structural change.

    ``path`` is where it happened in the old document (in the new one for ``added``);
    ``new_path`` is where the same place is in the new document when that differs: the new key of
    a ``renamed`` value, or the new index of an array element that moved and changed. ``old`` and
    ``new`` are the values before and after (``renamed``: the value, both; ``reordered``: both
    arrays).
    """

    kind: PathChangeKind
    path: str
    old: Any = None
    new: Any = None
    new_path: str | None = None


# ---------------------------------------------------------------------------------------------
# Paths and canonical text
# ---------------------------------------------------------------------------------------------


def json_path(parent: str, key: str | int) -> str:
    """The path of ``key`` (an object key or an array index) under ``parent``.

    >>> json_path("$", "a"), json_path("$.a", 2), json_path("$", "weird key"), json_path("$", "名前")
    ('$.a', '$.a[2]', '$["weird key"]', '$.名前')
    """
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if key.isidentifier():
        return f"{parent}.{key}"
    return f"{parent}[{json.dumps(key, ensure_ascii=False)}]"


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list | tuple):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _scalar(v: Any) -> str:
    """JSON text of a scalar, exactly as ``json.dumps`` writes it."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return encode_basestring(v)
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if v in (float("inf"), float("-inf")):
            return "Infinity" if v > 0 else "-Infinity"
        return float.__repr__(v)
    return encode_basestring(str(v))


def _sorted_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError:  # not from JSON: mixed key types
        return sorted(d, key=str)


class _Lit(str):
    """A piece of already-serialized text on the serializer's work stack."""


def _compact(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    without recursion (for documents nested deeper than the C encoder allows)."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        v = stack.pop()
        if type(v) is _Lit:
            out.append(v)
        elif isinstance(v, dict):
            keys = _sorted_keys(v)
            out.append("{")
            stack.append(_Lit("}"))
            for n in range(len(keys) - 1, -1, -1):  # pushed last first, so popped in order
                stack.append(v[keys[n]])
                stack.append(_Lit(encode_basestring(str(keys[n])) + ":"))
                if n:
                    stack.append(_Lit(","))
        elif isinstance(v, list | tuple):
            out.append("[")
            stack.append(_Lit("]"))
            for n in range(len(v) - 1, -1, -1):
                stack.append(v[n])
                if n:
                    stack.append(_Lit(","))
        else:
            out.append(_scalar(v))
    return "".join(out)


def _canon(value: Any) -> str:
    """A text equal for two values exactly when they are the same JSON: key order ignored,
    ``1``, ``1.0``, ``true`` and ``"1"`` all different."""
    if not isinstance(value, dict | list | tuple):
        return _scalar(value)
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (RecursionError, TypeError, ValueError):
        return _compact(value)


# ---------------------------------------------------------------------------------------------
# The diff
# ---------------------------------------------------------------------------------------------


def _element_similarity(a: str, b: str) -> float:
    la, lb = len(a), len(b)
    if 2 * min(la, lb) <= PAIR_THRESHOLD * (la + lb):
        return 0.0
    if la * lb > 1 << 33:
        return 2 * sum((Counter(a) & Counter(b)).values()) / (la + lb)
    return Indel.normalized_similarity(a, b, score_cutoff=PAIR_THRESHOLD)


def _scalar_key(v: Any) -> tuple:
    """Equal for two scalars exactly when their JSON is the same: ``True`` and ``1`` differ by
    type; floats go by their text (``NaN`` equals itself, ``-0.0`` is not ``0.0``)."""
    if isinstance(v, float):
        return (float, _scalar(v))
    return (type(v), v)


class _Interner:
    """Hash-consing: equal JSON values (key order ignored, ``1``/``1.0``/``true``/``"1"`` all
    different) get the same small integer, computed bottom-up once per node, so comparing two
    subtrees costs one integer comparison however big or deep they are."""

    __slots__ = ("_canon", "_memo", "_table")

    def __init__(self) -> None:
        self._table: dict[tuple, int] = {}
        self._memo: dict[int, tuple[int, Any]] = {}  # id(container) -> (its number, itself)
        self._canon: dict[int, str] = {}

    def of(self, value: Any) -> int:
        if not isinstance(value, dict | list | tuple):
            return self._table.setdefault(_scalar_key(value), len(self._table))
        got = self._memo.get(id(value))
        if got is not None:
            return got[0]
        table, memo = self._table, self._memo
        stack: list[tuple[Any, bool]] = [(value, False)]
        while stack:
            v, ready = stack.pop()
            if id(v) in memo:
                continue
            children = [v[k] for k in _sorted_keys(v)] if isinstance(v, dict) else v
            if not ready:
                stack.append((v, True))
                stack.extend((c, False) for c in children if isinstance(c, dict | list | tuple))
                continue
            ids = tuple(
                memo[id(c)][0] if isinstance(c, dict | list | tuple) else table.setdefault(_scalar_key(c), len(table))
                for c in children
            )
            key = ("o", tuple(map(str, _sorted_keys(v))), ids) if isinstance(v, dict) else ("a", ids)
            memo[id(v)] = (table.setdefault(key, len(table)), v)
        return memo[id(value)][0]

    def canon(self, value: Any) -> str:
        """Canonical JSON text, for similarity between elements (computed on demand)."""
        n = self.of(value)
        got = self._canon.get(n)
        if got is None:
            got = self._canon[n] = _canon(value)
        return got


def json_diff(old: Any, new: Any) -> list[PathChange]:
    """The changes that turn ``old`` into ``new`` (parsed JSON values), in document order
    (keys sorted) — see the module docstring."""
    ids = _Interner()
    changes: list[PathChange] = []
    # Work items, popped from the end: a change to report, or two values to compare
    # (old path, new path, old value, new value).
    stack: list[Any] = [("$", "$", old, new)]
    while stack:
        item = stack.pop()
        if isinstance(item, PathChange):
            changes.append(item)
            continue
        path, new_path, a, b = item
        if ids.of(a) == ids.of(b):
            continue
        moved = new_path if new_path != path else None
        ka, kb = _kind(a), _kind(b)
        if ka != kb:
            changes.append(PathChange("type_changed", path, a, b, moved))
        elif ka == "object":
            stack.extend(reversed(_diff_objects(ids, path, new_path, a, b)))
        elif ka == "array":
            stack.extend(reversed(_diff_arrays(ids, path, new_path, a, b)))
        else:
            changes.append(PathChange("value_changed", path, a, b, moved))
    return changes


def _diff_objects(ids: _Interner, path: str, new_path: str, a: dict, b: dict) -> list[Any]:
    """Work items for two objects that differ, in sorted key order."""
    removed = [k for k in a if k not in b]
    added = [k for k in b if k not in a]
    renamed_to: dict[Any, Any] = {}
    renamed_from: set[Any] = set()
    if removed and added:
        # Same value under a new key: a rename. Pair equal values in sorted key order.
        by_value: defaultdict[int, deque] = defaultdict(deque)
        for k in _sorted_keys(dict.fromkeys(added)):
            by_value[ids.of(b[k])].append(k)
        for k in _sorted_keys(dict.fromkeys(removed)):
            queue = by_value.get(ids.of(a[k]))
            if queue:
                renamed_to[k] = queue.popleft()
                renamed_from.add(renamed_to[k])
    items: list[Any] = []
    for k in _sorted_keys({**a, **b}):
        if k in a and k in b:
            if ids.of(a[k]) != ids.of(b[k]):
                items.append((json_path(path, k), json_path(new_path, k), a[k], b[k]))
        elif k in a:
            if k in renamed_to:
                items.append(PathChange("renamed", json_path(path, k), a[k], a[k], json_path(new_path, renamed_to[k])))
            else:
                items.append(PathChange("removed", json_path(path, k), a[k], None))
        elif k not in renamed_from:
            items.append(PathChange("added", json_path(new_path, k), None, b[k]))
    return items


def _diff_arrays(ids: _Interner, path: str, new_path: str, a: list, b: list) -> list[Any]:
    """Work items for two arrays that differ: a ``reordered`` change when elements only moved,
    additions and removals by index, and element pairs to compare further."""
    ia = [ids.of(x) for x in a]
    ib = [ids.of(y) for y in b]
    moved = new_path if new_path != path else None
    if Counter(ia) == Counter(ib):
        return [PathChange("reordered", path, a, b, moved)]
    runs = _matching_runs(ia, ib)
    blocks = []
    i = j = 0
    for ri, rj, rn in [*runs, (len(a), len(b), 0)]:
        if ri > i or rj > j:
            blocks.append((i, ri, j, rj))
        i, j = ri + rn, rj + rn

    # Elements removed in one place and added verbatim in another moved: the array was
    # (partly) reordered. Report that once and leave them out of the additions and removals.
    gone: defaultdict[int, deque[int]] = defaultdict(deque)
    for a1, a2, _, _ in blocks:
        for x in range(a1, a2):
            gone[ia[x]].append(x)
    moved_a: set[int] = set()
    moved_b: set[int] = set()
    for _, _, b1, b2 in blocks:
        for y in range(b1, b2):
            queue = gone.get(ib[y])
            if queue:
                moved_a.add(queue.popleft())
                moved_b.add(y)

    items: list[Any] = []
    if moved_a:
        items.append(PathChange("reordered", path, a, b, moved))

    def similarity(x: int, y: int) -> float:
        return _element_similarity(ids.canon(a[x]), ids.canon(b[y]))

    for a1, a2, b1, b2 in blocks:
        left = [x for x in range(a1, a2) if x not in moved_a]
        right = [y for y in range(b1, b2) if y not in moved_b]
        # Same count: element k became element k.
        pairs = list(zip(left, right, strict=True)) if len(left) == len(right) else _pair_lines(left, right, similarity)
        pair_at = dict(pairs)
        pending = deque(right)  # right elements not yet reported, in order
        for x in left:
            if x not in pair_at:
                items.append(PathChange("removed", json_path(path, x), a[x], None))
                continue
            y = pair_at[x]
            while pending[0] < y:
                yy = pending.popleft()
                items.append(PathChange("added", json_path(new_path, yy), None, b[yy]))
            pending.popleft()
            items.append((json_path(path, x), json_path(new_path, y), a[x], b[y]))
        for yy in pending:
            items.append(PathChange("added", json_path(new_path, yy), None, b[yy]))
    return items


# ---------------------------------------------------------------------------------------------
# Pretty printing with line numbers per path
# ---------------------------------------------------------------------------------------------

#: Characters a terminal may act on or that reorder text on screen; shown as \uXXXX escapes.
_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _safe(encoded: str) -> str:
    if (encoded.isascii() and "\x7f" not in encoded) or _UNSAFE.search(encoded) is None:
        return encoded
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)


def pretty_json(value: Any) -> tuple[str, dict[str, tuple[int, int]]]:
    """``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)`` (with unsafe characters
    escaped), computed without recursion, and for every path the 1-based first and last line of
    its value (a key's line is its value's first line)."""
    lines: list[str] = []
    where: dict[str, tuple[int, int]] = {}
    # Work items: (indent, prefix, value, path, suffix) to print, or (closing line, path, first).
    stack: list[tuple] = [("", "", value, "$", "")]
    while stack:
        item = stack.pop()
        if len(item) == 3:
            text, p, first = item
            lines.append(text)
            where[p] = (first, len(lines))
            continue
        ind, prefix, v, p, suffix = item
        if isinstance(v, dict) and v:
            lines.append(f"{ind}{prefix}{{")
            stack.append((f"{ind}}}{suffix}", p, len(lines)))
            keys = _sorted_keys(v)
            inner = ind + "  "
            for n in range(len(keys) - 1, -1, -1):
                k = keys[n]
                stack.append(
                    (inner, _safe(encode_basestring(str(k))) + ": ", v[k], json_path(p, k), "," if n < len(keys) - 1 else "")
                )
        elif isinstance(v, list | tuple) and v:
            lines.append(f"{ind}{prefix}[")
            stack.append((f"{ind}]{suffix}", p, len(lines)))
            inner = ind + "  "
            for n in range(len(v) - 1, -1, -1):
                stack.append((inner, "", v[n], json_path(p, n), "," if n < len(v) - 1 else ""))
        else:
            if isinstance(v, dict):
                text = "{}"
            elif isinstance(v, list | tuple):
                text = "[]"
            else:
                text = _safe(_scalar(v))
            lines.append(f"{ind}{prefix}{text}{suffix}")
            where[p] = (len(lines), len(lines))
    return "\n".join(lines), where


# ---------------------------------------------------------------------------------------------
# The JSON view
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JsonView:
    """Both outputs' JSON documents, canonically pretty-printed and aligned, with the structural
    changes and the (1-based, pretty-printed) line numbers each side's changes touch."""

    left_shape: JsonShape
    right_shape: JsonShape
    rows: list[Row]
    changes: list[PathChange]
    changed_left_lines: frozenset[int]
    changed_right_lines: frozenset[int]


def json_view(left_text: str, right_text: str) -> JsonView | None:
    """The JSON view of two model outputs, or ``None`` unless both hold a complete JSON object or
    array (bare, fenced or embedded: see :func:`~reviewer.diff.jsonextract.extract_json`)."""
    el = extract_json(left_text)
    er = extract_json(right_text)
    if el.shape not in ("bare", "fenced", "embedded") or er.shape not in ("bare", "fenced", "embedded"):
        return None
    return json_values_view(el.value, er.value, el.shape, er.shape)


def json_values_view(left: Any, right: Any, left_shape: JsonShape = "bare", right_shape: JsonShape = "bare") -> JsonView:
    """The JSON view of two parsed values (tool-call arguments, say): pretty-printed, aligned,
    with the structural changes and the lines they touch."""
    left_pretty, left_where = pretty_json(left)
    right_pretty, right_where = pretty_json(right)
    changes = json_diff(left, right)
    left_lines: set[int] = set()
    right_lines: set[int] = set()

    def mark(lines: set[int], where: dict[str, tuple[int, int]], path: str, key_only: bool) -> None:
        span = where.get(path)
        if span is not None:
            lines.update(range(span[0], (span[0] if key_only else span[1]) + 1))

    for c in changes:
        renamed = c.kind == "renamed"  # the value is the same: only the key's line changed
        if c.kind != "added":
            mark(left_lines, left_where, c.path, renamed)
        if c.kind != "removed":
            mark(right_lines, right_where, c.new_path or c.path, renamed)
    return JsonView(
        left_shape=left_shape,
        right_shape=right_shape,
        rows=align(left_pretty, right_pretty),
        changes=changes,
        changed_left_lines=frozenset(left_lines),
        changed_right_lines=frozenset(right_lines),
    )

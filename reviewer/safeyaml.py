"""Reading files this tool did not write, in bounded time and memory: YAML (suites, promptfoo
configs, ``run --config``, the keymap), JSONL (suites, labels) and plain text.

Every reader here refuses, with one line naming the file (and the line where known):

* a file larger than :data:`MAX_FILE_BYTES` (``REVIEWER_MAX_FILE_MB`` raises it);
* bytes that are not UTF-8, naming the line and column of the first bad byte;
* nesting deeper than :data:`MAX_DEPTH` levels (YAML, JSON);
* YAML aliases that expand to more than :data:`ALIAS_BUDGET` nodes beyond the file's own
  (a "billion laughs" bomb is 9 anchors that expand to 10^9 nodes from a 1 kB file), and
  recursive aliases. Expansion is counted while the document is composed, before anything
  is built, so a bomb is refused in milliseconds.

A leading UTF-8 byte-order mark is dropped, for JSONL as for YAML.

Imports only :mod:`reviewer.errors`; every layer may use it.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from pathlib import Path
from typing import Any

from .errors import ReviewerError

__all__ = [
    "ALIAS_BUDGET",
    "MAX_DEPTH",
    "FileProblem",
    "check_depth",
    "decode_utf8",
    "fast_yaml",
    "json_value",
    "load_yaml",
    "make_yaml",
    "max_file_bytes",
    "read_bytes",
    "read_text",
]

#: Largest file read whole (suites, configs, labels): 64 MiB unless ``REVIEWER_MAX_FILE_MB`` says.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Deepest nesting of mappings/lists accepted in YAML and JSON (a suite needs fewer than 20).
MAX_DEPTH = 100
#: Nodes that aliases may add beyond the document's own (plus 4 per own node, so a large
#: suite that reuses an anchored check on every case still loads).
ALIAS_BUDGET = 100_000


class FileProblem(ReviewerError):
    """A file that cannot be read as what it should be: ``file:line: message`` (line 0: unknown)."""

    def __init__(self, file: str, line: int, message: str):
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")


def max_file_bytes() -> int:
    raw = os.environ.get("REVIEWER_MAX_FILE_MB", "").strip()
    if raw:
        try:
            mb = float(raw)
        except ValueError:
            mb = 0
        if mb > 0:
            return int(mb * 1024 * 1024)
    return MAX_FILE_BYTES


def _size_text(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def read_bytes(path: str | Path, *, max_bytes: int | None = None) -> bytes:
    """The file's bytes, refusing one larger than ``max_bytes`` (default :func:`max_file_bytes`)
    without reading it all (a FIFO or a growing file is read up to the limit and no further)."""
    p = Path(path)
    limit = max_file_bytes() if max_bytes is None else max_bytes
    try:
        with open(p, "rb") as f:
            try:
                size = os.fstat(f.fileno()).st_size
            except OSError:
                size = 0
            if size > limit:
                raise FileProblem(
                    str(p),
                    0,
                    f"file is {_size_text(size)}, more than the {_size_text(limit)} limit (REVIEWER_MAX_FILE_MB raises it)",
                )
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise FileProblem(str(p), 0, "no such file") from None
    except IsADirectoryError:
        raise FileProblem(str(p), 0, "is a directory, not a file") from None
    except OSError as e:
        raise FileProblem(str(p), 0, e.strerror or str(e)) from None
    if len(data) > limit:
        raise FileProblem(str(p), 0, f"file is more than the {_size_text(limit)} limit (REVIEWER_MAX_FILE_MB raises it)")
    return data


def decode_utf8(raw: bytes, file: str | Path, *, first_line: int = 1) -> str:
    """UTF-8 bytes → text without a leading BOM; a bad byte is named with its line and column
    (``first_line`` is the line number of ``raw``'s first line, for a chunk of a larger file)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + first_line
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise FileProblem(str(file), line, f"not UTF-8 text (byte 0x{raw[e.start]:02x} at column {col})") from None
    return text[1:] if text.startswith("\ufeff") else text


def read_text(path: str | Path, *, max_bytes: int | None = None) -> str:
    """A UTF-8 text file, bounded in size, BOM dropped; :class:`FileProblem` says what is wrong."""
    return decode_utf8(read_bytes(path, max_bytes=max_bytes), path)


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------


def check_depth(value: Any, file: str | Path, line: int, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a parsed JSON/YAML value nested deeper than ``max_depth`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            children: Any = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        if d > max_depth:
            raise FileProblem(str(file), line, f"nested deeper than {max_depth} levels")
        stack.extend((c, d + 1) for c in children)


def json_value(raw: str, file: str | Path, line: int, *, max_depth: int = MAX_DEPTH) -> Any:
    """One JSON text (a JSONL line): parsed, depth-checked. Invalid JSON raises
    ``json.JSONDecodeError`` as ``json.loads`` does, so callers keep their own wording."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise FileProblem(str(file), line, f"nested deeper than {max_depth} levels") from None
    if raw.count("[") + raw.count("{") > max_depth:  # depth ≤ the number of openers: most lines need no walk
        check_depth(value, file, line, max_depth)
    return value


# ---------------------------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, line: int, message: str):
        self.line, self.message = line, message
        super().__init__(message)


def _bounded_composer_class() -> type:
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.events import AliasEvent
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    class BoundedComposer(Composer):
        """Counts, for every node, how many nodes it stands for once aliases are expanded, and
        how deep it nests; refuses as soon as either passes its budget."""

        def __init__(self, loader: Any = None) -> None:
            super().__init__(loader)
            self._sizes: dict[int, tuple[int, int]] = {}  # id(node) → (expanded nodes, depth)
            self._own = 0
            self._extra = 0
            self._level = 0
            self.max_depth = getattr(loader, "_reviewer_max_depth", MAX_DEPTH)
            self.alias_budget = getattr(loader, "_reviewer_alias_budget", ALIAS_BUDGET)

        def compose_document(self: Any) -> Any:
            self._sizes, self._own, self._extra, self._level = {}, 0, 0, 0
            try:
                return super().compose_document()
            finally:
                self._sizes = {}

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.parser.peek_event()
            mark = getattr(event, "start_mark", None)
            line = mark.line + 1 if mark is not None else 0
            if isinstance(event, AliasEvent):
                node = super().compose_node(parent, index)
                info = self._sizes.get(id(node))
                if info is None:
                    raise _Refused(line, f"alias *{event.anchor} refers to a node that contains it (a recursive structure)")
                self._extra += info[0]
                if self._extra > self.alias_budget + 4 * self._own:
                    raise _Refused(
                        line,
                        f"aliases expand to more than {self.alias_budget:,} nodes (an alias bomb?); "
                        "write the repeated values out instead of *aliases",
                    )
                return node
            self._level += 1
            if self._level > self.max_depth:
                raise _Refused(line, f"nested deeper than {self.max_depth} levels")
            try:
                node = super().compose_node(parent, index)
            finally:
                self._level -= 1
            self._own += 1
            size, depth = 1, 1
            if isinstance(node, SequenceNode):
                children = node.value
            elif isinstance(node, MappingNode):
                children = [n for kv in node.value for n in kv]
            else:
                children = ()
            sizes = self._sizes
            for c in children:
                s, d = sizes.get(id(c), (1, 1))
                size += s
                if d + 1 > depth:
                    depth = d + 1
            if depth > self.max_depth:
                raise _Refused(line, f"nested deeper than {self.max_depth} levels once aliases are expanded")
            sizes[id(node)] = (size, depth)
            return node

    return BoundedComposer


_COMPOSER: type | None = None


def make_yaml(typ: str = "rt", *, max_depth: int = MAX_DEPTH, alias_budget: int = ALIAS_BUDGET) -> Any:
    """A ``ruamel.yaml.YAML`` whose loading is bounded (aliases, depth). Always the pure-Python
    parser, so the bounded composer is the one used (the C parser composes on its own)."""
    global _COMPOSER
    from ruamel.yaml import YAML

    if _COMPOSER is None:
        _COMPOSER = _bounded_composer_class()
    y = YAML(typ=typ, pure=True)
    # attributes ruamel's YAML object does not declare: the bounded composer reads them off its loader
    setattr(y, "Composer", _COMPOSER)  # noqa: B010
    setattr(y, "_reviewer_max_depth", max_depth)  # noqa: B010
    setattr(y, "_reviewer_alias_budget", alias_budget)  # noqa: B010
    return y


def load_yaml(text: str, file: str | Path, *, typ: str = "safe", yaml: Any = None) -> Any:
    """Load one YAML document (``typ`` "safe" → plain values, "rt" → ruamel's commented types),
    bounded. Every failure is a :class:`FileProblem`: ``file:line: invalid YAML: …`` or the
    budget that was passed."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    y = yaml if yaml is not None else make_yaml(typ)
    try:
        return y.load(text)
    except _Refused as e:
        raise FileProblem(str(file), e.line, e.message) from None
    except RecursionError:
        raise FileProblem(str(file), 0, f"nested deeper than {MAX_DEPTH} levels") from None
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise FileProblem(str(file), line, f"invalid YAML: {e.problem or e.context}") from None
    except (YAMLError, ValueError, TypeError, KeyError, AttributeError) as e:
        # ruamel raises a few unmarked errors (reader errors, bad tags, odd keys)
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise FileProblem(str(file), line, f"invalid YAML: {first}") from None


# ---------------------------------------------------------------------------------------------
# Fast reading: LibYAML's parser, our own bounded construction
# ---------------------------------------------------------------------------------------------

_STR = "tag:yaml.org,2002:str"
_RESOLVERS: dict[str | None, list[tuple[str, Any]]] | None = None


def _resolvers() -> dict[str | None, list[tuple[str, Any]]]:
    """ruamel's own YAML 1.2 implicit resolvers by first character, so a plain scalar means what it
    means to the round-trip loader (``yes`` is a string, ``0o17`` an int), not PyYAML's YAML 1.1."""
    global _RESOLVERS
    if _RESOLVERS is None:
        from ruamel.yaml.resolver import implicit_resolvers

        table: dict[str | None, list[tuple[str, Any]]] = {}
        for versions, tag, regexp, first in implicit_resolvers:
            if (1, 2) in versions:
                chars: list[str | None] = list(first) if first else [None]
                for ch in chars:
                    compiled = regexp.lazy_self() if hasattr(regexp, "lazy_self") else regexp  # ruamel compiles lazily
                    table.setdefault(ch, []).append((tag, compiled.match))
        _RESOLVERS = table
    return _RESOLVERS


@functools.lru_cache(maxsize=4096)
def _typed_scalar(text: str) -> Any:
    """A plain scalar that resolves to a non-string (``80``, ``0.6``, ``true``, a date), built by
    ruamel itself; suites repeat the same few, so each is built once."""
    return make_yaml("safe").load(text)


class _Unsure(Exception):
    """The fast reader met something it does not build the way ruamel does: use ruamel."""


def fast_yaml(text: str, *, max_depth: int = MAX_DEPTH, alias_budget: int = ALIAS_BUDGET) -> tuple[Any, dict[int, int]] | None:
    """One YAML document as plain values, parsed by LibYAML (PyYAML's C parser) and built here with
    ruamel's YAML 1.2 meaning of plain scalars, the same depth and alias budgets as
    :func:`load_yaml`, and ``{id(mapping): line}`` for every mapping (1-based). Returns None
    whenever it cannot vouch that the result is what the bounded ruamel loader would build
    (no LibYAML, a syntax error, tags, merge keys, duplicate keys, a budget passed, several
    documents, characters ruamel refuses): the caller then loads with :func:`load_yaml`, which
    says what is wrong with file and line."""
    try:  # PyYAML built with LibYAML (optional: without it every file takes the ruamel path)
        ev = importlib.import_module("yaml.events")
        CParser = importlib.import_module("yaml._yaml").CParser
    except ImportError:
        return None
    from ruamel.yaml.reader import Reader

    if Reader.NON_PRINTABLE.search(text):
        return None
    try:
        return _build(CParser(text), ev, max_depth, alias_budget)
    except (_Unsure, RecursionError):
        return None
    except Exception as e:  # LibYAML's own errors (yaml.YAMLError) and anything odd: ruamel decides
        if type(e).__module__.startswith("yaml") or isinstance(e, ValueError | TypeError):
            return None
        raise


def _build(parser: Any, ev: Any, max_depth: int, alias_budget: int) -> tuple[Any, dict[int, int]]:
    resolvers = _resolvers()
    default = resolvers.get(None, [])
    Scalar, MapStart, SeqStart, Alias = ev.ScalarEvent, ev.MappingStartEvent, ev.SequenceStartEvent, ev.AliasEvent
    MapEnd, SeqEnd, DocStart, DocEnd = ev.MappingEndEvent, ev.SequenceEndEvent, ev.DocumentStartEvent, ev.DocumentEndEvent
    lines: dict[int, int] = {}
    anchors: dict[str, tuple[Any, int, int]] = {}  # anchor → (value, expanded nodes, depth)
    open_anchors: set[str] = set()
    # frame: [container, is_map, pending key (or _NOKEY), anchor, size, depth]
    nokey = object()
    stack: list[list[Any]] = []
    own = extra = 0
    root: Any = nokey
    docs = 0
    get = parser.get_event
    while True:
        e = get()
        cls = type(e)
        if cls is Scalar:
            own += 1  # counted as ruamel's composer counts: once the node is complete
            if len(stack) >= max_depth or (e.tag is not None and e.tag != _STR):  # ruamel reads `! 12` as 12
                raise _Unsure
            v = e.value
            if e.implicit[0] and e.tag is None:
                for tag, match in resolvers.get(v[:1], default) if v else resolvers.get("", default):
                    if match(v):
                        if tag == "tag:yaml.org,2002:merge" or tag == "tag:yaml.org,2002:value":
                            raise _Unsure
                        v = _typed_scalar(v)
                        break
            value, size, depth = v, 1, 1
            if e.anchor is not None:
                anchors[e.anchor] = (value, 1, 1)
        elif cls is MapStart or cls is SeqStart:
            if e.tag is not None or len(stack) >= max_depth:
                raise _Unsure
            c: Any = {} if cls is MapStart else []
            if cls is MapStart:
                lines[id(c)] = e.start_mark.line + 1
            if e.anchor is not None:
                open_anchors.add(e.anchor)
            stack.append([c, cls is MapStart, nokey, e.anchor, 1, 1])
            continue
        elif cls is MapEnd or cls is SeqEnd:
            own += 1
            c, _, _, anchor, size, depth = stack.pop()
            value = c
            if anchor is not None:
                open_anchors.discard(anchor)
                anchors[anchor] = (value, size, depth)
        elif cls is Alias:
            if e.anchor in open_anchors or e.anchor not in anchors:
                raise _Unsure  # recursive or unknown: ruamel says which
            value, size, depth = anchors[e.anchor]
            extra += size
            if extra > alias_budget + 4 * own:
                raise _Unsure
            if len(stack) + depth > max_depth:
                raise _Unsure
        elif cls is DocStart:
            docs += 1
            if docs > 1 or e.version is not None or e.tags:
                raise _Unsure
            continue
        elif cls is DocEnd:
            continue
        elif cls is ev.StreamEndEvent:
            return (None if root is nokey else root), lines
        else:  # StreamStart
            continue
        if not stack:
            root = value
            continue
        top = stack[-1]
        top[4] += size
        if depth + 1 > top[5]:
            top[5] = depth + 1
        if top[1]:
            if top[2] is nokey:
                if type(value) is not str:
                    raise _Unsure  # a complex key, or 1 and true (equal keys to ruamel)
                key = value
                if key in top[0]:
                    raise _Unsure  # a duplicate key: ruamel refuses it
                top[2] = key
            else:
                top[0][top[2]] = value
                top[2] = nokey
        else:
            top[0].append(value)

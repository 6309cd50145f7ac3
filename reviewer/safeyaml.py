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
                raise FileProblem(str(p), 0, f"file is {_size_text(size)}, more than the {_size_text(limit)} limit (REVIEWER_MAX_FILE_MB raises it)")
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
    y.Composer = _COMPOSER
    y._reviewer_max_depth = max_depth
    y._reviewer_alias_budget = alias_budget
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

"""Append a case to a suite file (YAML or JSONL) without reformatting the rest of it.

The new case is rendered on its own (ruamel.yaml, in the file's own list indentation) and spliced
into the original text at the end of the ``cases`` list, so every other byte of the file —
comments, key order, quoting, blank lines, line endings — stays as it was. The whole resulting
suite is validated with :func:`reviewer.suite.load_suite` from a temporary file in the same
directory, the new case is checked to read back exactly as intended, and only then does
``os.replace`` put the new file in place: a crash or a refusal leaves the old file intact.

Never imports the store, the providers, the diff engine or Textual.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fsutil import atomic_write_text
from .safeyaml import FileProblem, decode_utf8, make_yaml, read_bytes
from .suite import Case, LoadedSuite, Problem, SuiteError, load_suite

__all__ = ["AppendedCase", "append_case", "case_to_file", "free_id", "render_case_yaml", "write_text_atomic"]

#: Field order of a case in a file: what identifies it, then what is sent, then what is checked.
_FIELD_ORDER = (
    "id", "tags", "origin", "added", "system", "prompt", "messages", "reference", "checks", "params",
    "tools", "tool_choice", "response_format",
)  # fmt: skip


@dataclass(frozen=True)
class AppendedCase:
    path: Path
    case: Case
    line: int  # 1-based line of the new case in the file
    loaded: LoadedSuite  # the suite as it now is on disk
    created: bool  # the file did not exist before
    reformatted: bool  # the YAML had to be re-emitted whole (flow-style or empty ``cases``)


def case_to_file(case: Case) -> dict[str, Any]:
    """The mapping written to a suite file for ``case``: fields in a stable, readable order,
    empty and unset fields left out, checks in their ``{kind: value}`` form."""
    out: dict[str, Any] = {}
    inherited: frozenset[str] = getattr(case, "inherited", frozenset())  # from the suite's defaults: not repeated
    for name in _FIELD_ORDER:
        value = getattr(case, name)
        if value is None or (isinstance(value, list | dict) and not value):
            continue
        if name in ("tools", "tool_choice", "response_format") and name in inherited:
            continue
        if name == "checks":
            value = [c.to_file() for c in value]
        elif name == "messages":
            value = [_message_to_file(m) for m in value]
        elif name in ("tags", "params", "tools", "tool_choice", "response_format"):
            value = json.loads(json.dumps(value))  # plain copies
        out[name] = value
    return out


def _message_to_file(m: Any) -> dict[str, Any]:
    """One message as a suite file writes it: role and content, and a replayed agent step's tool
    calls or the id of the call a tool result answers."""
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if getattr(m, "tool_calls", None):
        out["tool_calls"] = [c.to_openai() for c in m.tool_calls]
    if getattr(m, "tool_call_id", None):
        out["tool_call_id"] = m.tool_call_id
    return out


def free_id(wanted: str, taken: Container[str], *, claim: bool = False) -> str:
    """``wanted`` if it is not taken, else ``wanted-2``, ``wanted-3``… — the one way the package
    makes a case id unique. ``claim=True`` also adds the id to ``taken`` (a set) for the next call."""
    out, n = wanted, 2
    while out in taken:
        out = f"{wanted}-{n}"
        n += 1
    if claim:
        if not isinstance(taken, set):
            raise TypeError("free_id(claim=True) needs a set to add the id to")
        taken.add(out)
    return out


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _yaml_value(value: Any, *, literal: bool) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            m[k] = _yaml_value(v, literal=literal)
        return m
    if isinstance(value, list):
        return CommentedSeq([_yaml_value(v, literal=literal) for v in value])
    if isinstance(value, str):
        if _NON_PRINTABLE.search(value) or "\r" in value:
            return DoubleQuotedScalarString(value)  # escaped: \x85, \u2028… are never read as breaks
        if literal and "\n" in value and _literal_ok(value):
            return LiteralScalarString(value)
    return value


_NON_PRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def _literal_ok(s: str) -> bool:
    # Block scalars cannot carry \r, control characters, or trailing spaces reliably.
    return not _NON_PRINTABLE.search(s) and not re.search(r"[ \t]\n", s) and not s.endswith((" ", "\t"))


def _case_node(case: Case, literal: bool) -> Any:
    data = _yaml_value(case_to_file(case), literal=literal)
    if "tags" in data:
        data["tags"].fa.set_flow_style()  # tags: [a, b]
    return data


def render_case_yaml(case: Case, *, dash_col: int = 2, content_col: int = 4, literal: bool = True) -> str:
    """The case as one block-sequence item, with its dash at ``dash_col`` and its keys at
    ``content_col`` (the file's own list style), ending in a newline."""
    from ruamel.yaml import YAML

    data = _case_node(case, literal)
    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold a long prompt
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=max(content_col, dash_col + 2), offset=dash_col)
    buf = io.StringIO()
    yaml.dump([data], buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def write_text_atomic(path: Path, text: str, *, validate: Any = None) -> Any:
    """Write ``text`` to ``path`` atomically, line endings as given (:func:`reviewer.fsutil.atomic_write_text`).
    ``validate(tmp_path)`` runs on the temporary file first (it has the same name as ``path``,
    inside a hidden temporary folder next to it); whatever it raises aborts the write and its
    return value is returned. Keeps the old file's mode."""
    return atomic_write_text(path, text, newline="", validate=validate)


def _newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _leading_in(lines: list[str], at: int, content_col: int) -> int:
    """Move ``at`` up over the blank lines and less-indented comments that lead into line ``at``
    (they belong to what follows, or to the file, not to the last case)."""
    while at > 0:
        prev = lines[at - 1]
        indent = len(prev) - len(prev.lstrip())
        if prev.strip() and not (prev.lstrip().startswith("#") and indent < content_col):
            break
        at -= 1
    return at


def _yaml_splices(original: str, case: Case, literal: bool) -> list[tuple[str, bool]]:
    """Candidate new file texts with the case appended to ``cases``, best first; each is
    (text, reformatted). The caller keeps the first whose other cases read back unchanged."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    nl = _newline_of(original)
    text = original.replace("\r\n", "\n")
    doc = make_yaml("rt").load(text)  # load_suite already accepted this text (bounded: same loader)
    assert isinstance(doc, CommentedMap)
    cases = doc.get("cases")
    lines = text.split("\n")
    end_sep = "" if text.endswith("\n") or not text else "\n"

    if "cases" not in doc:
        body = render_case_yaml(case, dash_col=2, content_col=4, literal=literal)
        return [((text + end_sep + "cases:\n" + body).replace("\n", nl), False)]

    out: list[tuple[str, bool]] = []
    if isinstance(cases, CommentedSeq) and len(cases) and not cases.fa.flow_style():
        first_line, content_col = cases.lc.item(0)
        head = lines[first_line][:content_col]
        if head.strip().startswith("-"):
            dash_col = head.index("-")
        else:  # "-" alone on the line above the item's first key
            prev = lines[first_line - 1] if first_line else ""
            dash_col = prev.index("-") if prev.strip() == "-" else max(content_col - 2, 0)
        body = render_case_yaml(case, dash_col=dash_col, content_col=content_col, literal=literal)
        body_lines = body.rstrip("\n").split("\n")
        keys = list(doc.keys())
        after = keys[keys.index("cases") + 1 :]
        if after:
            at = doc.lc.key(after[0])[0]
            spots = [_leading_in(lines, at, content_col), at]
        else:
            n = len(lines) - 1 if text.endswith("\n") else len(lines)
            spots = [_leading_in(lines, n, content_col)]
        for at in dict.fromkeys(spots):
            if at >= len(lines) or (at == len(lines) - 1 and lines[at] == "" and text.endswith("\n")):
                new = text + end_sep + body
            else:
                new = "\n".join(lines[:at] + body_lines + lines[at:])
            out.append((new.replace("\n", nl), False))
        if not after:
            out.append(((text + end_sep + body).replace("\n", nl), False))
        return out

    # Empty, null or flow-style ``cases``: re-emit the document (comments and order are kept by
    # the round-trip, but indentation and quoting may be normalised).
    yaml = make_yaml("rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    doc = yaml.load(text)
    item = _case_node(case, literal)
    if isinstance(doc.get("cases"), CommentedSeq):
        seq = doc["cases"]
        seq.fa.set_block_style()
        seq.append(item)
    else:
        doc["cases"] = CommentedSeq([item])
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return [(buf.getvalue().replace("\n", nl), True)]


#: Characters that str.splitlines() treats as line breaks but json.dumps leaves raw.
_LINE_BREAKS = str.maketrans({c: f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"})


def _jsonl_append(original: str, case: Case) -> str:
    nl = _newline_of(original)
    line = json.dumps(case_to_file(case), ensure_ascii=False, default=str).translate(_LINE_BREAKS)
    sep = "" if not original or original.endswith("\n") else nl
    return original + sep + line + nl


def _new_file_text(path: Path, case: Case, literal: bool) -> str:
    if path.suffix.lower() == ".jsonl":
        return _jsonl_append("", case)
    from ruamel.yaml import YAML

    buf = io.StringIO()
    YAML(typ="rt").dump({"suite": path.stem}, buf)
    return buf.getvalue() + "cases:\n" + render_case_yaml(case, dash_col=2, content_col=4, literal=literal)


def append_case(path: str | Path, case: Case, *, create: bool = True) -> AppendedCase:
    """Append ``case`` to the suite at ``path`` (YAML or ``.jsonl``) and return where it landed.

    Raises :class:`SuiteError` (``file:line: message``) when the file is already invalid, when the
    id is taken (pointing at the existing case), or when the suite would not validate with the new
    case; in every such case the file is left untouched. A missing file is created when
    ``create`` is true (suite name = the file's stem)."""
    path = Path(path)
    created = not path.exists()
    if created and not create:
        raise SuiteError([Problem(str(path), 0, "no such file")])
    original, raw, before = "", b"", None
    if not created:
        try:
            raw = read_bytes(path)
            decode_utf8(raw, path)  # names the line of a bad byte
        except FileProblem as e:
            raise SuiteError([Problem(str(path), e.line, e.message)]) from None
        original = raw.decode("utf-8")  # a BOM, if any, is kept as it was
        before = load_suite(path)  # raises SuiteError with the file's own problems
        if case.id in before.case_lines or any(c.id == case.id for c in before.suite.cases):
            line = before.case_lines.get(case.id, 1)
            raise SuiteError([Problem(str(path), line, f"case {case.id!r} already exists (nothing written)")])

    def check(tmp: Path) -> LoadedSuite:
        try:
            loaded = load_suite(tmp)
        except SuiteError as e:
            raise SuiteError([Problem(str(path), p.line, p.message) for p in e.problems]) from None
        try:
            got = loaded.suite.case(case.id)
        except KeyError:
            raise _Mismatch("the case did not read back") from None
        if got != case:
            raise _Mismatch("the case read back differently")
        if before is not None:
            rest = loaded.suite.model_copy(update={"cases": [c for c in loaded.suite.cases if c.id != case.id]})
            if rest.digest() != before.suite.digest():
                raise _Mismatch("the other cases would read back differently")
        if path.exists() if created else path.read_bytes() != raw:
            raise SuiteError([Problem(str(path), 0, "the file changed while the case was being added; try again")])
        return loaded

    last: Exception | None = None
    for literal in (True, False):
        if created:
            candidates = [(_new_file_text(path, case, literal), False)]
        elif path.suffix.lower() == ".jsonl":
            candidates = [(_jsonl_append(original, case), False)]
        else:
            candidates = _yaml_splices(original, case, literal)
        for text, reformatted in candidates:
            try:
                loaded = write_text_atomic(path, text, validate=check)
            except _Mismatch as e:
                last = e
                continue
            except SuiteError as e:
                last = e
                continue
            loaded = LoadedSuite(suite=loaded.suite, path=path, format=loaded.format, case_lines=loaded.case_lines)
            return AppendedCase(path, case, loaded.case_lines.get(case.id, 0), loaded, created, reformatted)
    if isinstance(last, SuiteError):
        raise last
    raise SuiteError([Problem(str(path), 0, f"could not append case {case.id!r} without changing the file ({last})")])


class _Mismatch(Exception):
    pass

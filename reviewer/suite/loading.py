"""Loading suite files (YAML or JSONL) with errors that say file:line, case id and field."""

from __future__ import annotations

import gc
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ..errors import Problem, ReviewerError
from ..safeyaml import FileProblem, fast_yaml, json_value, load_yaml, read_text
from .models import Suite

__all__ = ["LoadedSuite", "Problem", "SuiteError", "load_suite"]


class SuiteError(ReviewerError):
    """One or more problems in suite files, each as ``file:line: message``."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class LoadedSuite:
    suite: Suite
    path: Path
    format: Literal["yaml", "jsonl"]
    case_lines: dict[str, int]

    @property
    def digest(self) -> str:
        return self.suite.digest()


_OWN_PLACE = re.compile(r"^(tools|messages|checks)\[(\d+)\]")


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts)


def _err_msg(err: Any) -> str:
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg


def load_suite(path: str | Path) -> LoadedSuite:
    """Load and validate a suite file. Raises ``SuiteError`` listing every problem found."""
    p = Path(path)
    try:
        text = read_text(p)
    except FileProblem as e:
        raise SuiteError([Problem(str(p), e.line, e.message)]) from None
    # Building a suite allocates a few hundred thousand objects and frees almost none: the cyclic
    # collector would walk all of them again and again (a 50,000-case suite took twice as long).
    collecting = gc.isenabled()
    gc.disable()
    try:
        if p.suffix.lower() == ".jsonl":
            return _load_jsonl(p, text)
        return _load_yaml(p, text)
    finally:
        if collecting:
            gc.enable()


def _load_yaml(p: Path, text: str) -> LoadedSuite:
    """Read with the fast loader (LibYAML's parser, bounded, plain values, the line of every
    case); only when that cannot vouch for the file or the suite has problems, read it again with
    the round-trip loader, whose marks place every problem (the wording is the same either way)."""
    fast = fast_yaml(text)
    if fast is not None and isinstance(fast[0], dict):
        data, lines = fast
        if isinstance(data.get("cases"), list) and "suite" not in data:
            data["suite"] = p.stem
        case_lines: dict[str, int] = {}
        cases = data.get("cases")
        if isinstance(cases, list):
            for c in cases:
                if isinstance(c, dict) and isinstance(c.get("id"), str):
                    case_lines.setdefault(c["id"], lines[id(c)])
        try:
            return _validate(p, data, lambda loc: 1, "yaml", case_lines)
        except SuiteError:
            pass  # placed precisely below
    return _load_yaml_marked(p, text)


def _load_yaml_marked(p: Path, text: str) -> LoadedSuite:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    try:
        doc = load_yaml(text, p, typ="rt")
    except FileProblem as e:
        raise SuiteError([Problem(str(p), e.line or 1, e.message)]) from None
    if not isinstance(doc, CommentedMap):
        raise SuiteError([Problem(str(p), 1, "a suite file is a mapping with 'suite' and 'cases'")])
    data = _plain(doc)
    if isinstance(data.get("cases"), list) and "suite" not in data:
        data["suite"] = p.stem

    def line_of(loc: tuple[Any, ...]) -> int:
        node: Any = doc
        line = 1
        for part in loc:
            try:
                if isinstance(node, CommentedMap) and part in node:
                    line = node.lc.key(part)[0] + 1
                    node = node[part]
                elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                    line = node.lc.item(part)[0] + 1
                    node = node[part]
                else:
                    break
            except (AttributeError, KeyError, IndexError, TypeError):
                break
        return line

    case_lines: dict[str, int] = {}
    cases = doc.get("cases")
    if isinstance(cases, CommentedSeq):
        for i, c in enumerate(cases):
            if isinstance(c, CommentedMap) and isinstance(c.get("id"), str):
                case_lines.setdefault(c["id"], cases.lc.item(i)[0] + 1)
    return _validate(p, data, line_of, "yaml", case_lines)


def _plain(node: Any) -> Any:
    """ruamel's round-trip types → plain dict/list/str, so pydantic sees ordinary values."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _load_jsonl(p: Path, text: str) -> LoadedSuite:
    """JSONL: one case per line. An optional first object with a ``suite`` key holds the
    suite's name, description and defaults."""
    problems: list[Problem] = []
    header: dict[str, Any] = {"suite": p.stem}
    cases: list[Any] = []
    case_linenos: list[int] = []
    # split on \n only: str.splitlines() also breaks at U+2028/U+0085, which JSON allows raw in strings
    for n, raw in enumerate(text.split("\n"), start=1):
        raw = raw.rstrip("\r")
        if not raw.strip():
            continue
        try:
            obj = json_value(raw, p, n)
        except json.JSONDecodeError as e:
            problems.append(Problem(str(p), n, f"invalid JSON: {e.msg} (column {e.colno})"))
            continue
        except FileProblem as e:
            problems.append(Problem(str(p), n, e.message))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(str(p), n, "each line is a JSON object (a case)"))
            continue
        if not cases and "suite" in obj and "id" not in obj:
            header = obj
            header_line = n
            continue
        cases.append(obj)
        case_linenos.append(n)
    data = {**header, "cases": cases}
    header_line = locals().get("header_line", 1)

    def line_of(loc: tuple[Any, ...]) -> int:
        if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int) and loc[1] < len(case_linenos):
            return case_linenos[loc[1]]
        return header_line

    case_lines = {c["id"]: case_linenos[i] for i, c in enumerate(cases) if isinstance(c.get("id"), str)}
    try:
        loaded = _validate(p, data, line_of, "jsonl", case_lines)
    except SuiteError as e:
        raise SuiteError(problems + e.problems) from None
    if problems:
        raise SuiteError(problems)
    return loaded


def _validate(p: Path, data: Any, line_of: Any, fmt: Literal["yaml", "jsonl"], case_lines: dict[str, int]) -> LoadedSuite:
    problems: list[Problem] = []
    raw_cases = data.get("cases") if isinstance(data, dict) else None
    suite: Suite | None = None
    try:
        suite = Suite.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(err["loc"])
            where = _fmt_loc(loc)
            prefix = ""
            if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int) and isinstance(raw_cases, list):
                c = raw_cases[loc[1]] if loc[1] < len(raw_cases) else None
                cid = c.get("id") if isinstance(c, dict) else None
                prefix = f"case {cid!r}: " if isinstance(cid, str) else f"case #{loc[1] + 1}: "
                where = _fmt_loc(loc[2:])
            msg = _err_msg(err)
            # a message that names its own place (``tools[1]: …``, ``messages[2]: …``, ``checks[0]: …``)
            # is not prefixed again, and points at that item's line
            m = _OWN_PLACE.match(msg)
            if m and where.split(".")[-1] == m.group(1):  # "tools" + "tools[1]: …" → "tools[1]: …"
                text, line = where[: -len(m.group(1))] + msg, line_of((*loc, int(m.group(2))))
            elif m and len(loc) == 2 and loc[0] == "cases":  # a case's own check naming its field
                text, line = msg, line_of((*loc, m.group(1), int(m.group(2))))
            else:
                text = f"{where}: {msg}" if where else msg
                line = line_of(loc)
            problems.append(Problem(str(p), line, f"{prefix}{text}"))
    seen: dict[str, int] = {}
    if isinstance(raw_cases, list):
        for i, c in enumerate(raw_cases):
            cid = c.get("id") if isinstance(c, dict) else None
            if not isinstance(cid, str):
                continue
            line = line_of(("cases", i))
            if cid in seen:
                problems.append(Problem(str(p), line, f"case {cid!r}: duplicate id (first at line {seen[cid]})"))
            else:
                seen[cid] = line
    if problems:
        problems.sort(key=lambda pr: pr.line or 0)
        raise SuiteError(problems)
    assert suite is not None  # no problems: it validated
    return LoadedSuite(suite=suite, path=p, format=fmt, case_lines=case_lines)

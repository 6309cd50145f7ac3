"""promptfoo → reviewer: a ``promptfooconfig.yaml`` becomes a suite; an ``eval -o results.json``
with two providers becomes a stored comparison (one run per provider).

Assertions that have a faithful check become checks; the rest (model-graded, JavaScript, …) are
kept as comments above the case in the written suite and reported, never silently dropped.
Checked against promptfoo 0.123 (results ``version: 3``); see tests/data/promptfoo/README.md.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..boundaries import problems_from, yaml_locator
from ..checkregex import RegexError, compile_check_regex
from ..safeyaml import FileProblem, json_value, load_yaml, read_text
from ..store import Output
from ..suite import Case, Check, Defaults, LoadedSuite, Suite
from ..suite_edit import free_id
from . import MAX_PROBLEMS, ImportProblems, Problem
from .promptfoo_schema import (
    PromptfooConfig,
    PromptfooResponse,
    PromptfooResult,
    PromptfooResultPrompt,
    PromptfooResultsConfig,
    PromptfooResultsFile,
    PromptfooTest,
    TestList,
)  # fmt: skip
from .storing import ImportedRun, sampling_params

__all__ = [
    "Mapped",
    "PromptfooComparison",
    "PromptfooSuite",
    "map_assertion",
    "read_promptfoo_config",
    "read_promptfoo_results",
    "render_template",
    "slug",
    "suite_yaml",
]  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Assertions → checks
# ---------------------------------------------------------------------------------------------

#: promptfoo's ``is-json`` parses the WHOLE output; our ``json`` check also accepts fenced or
#: embedded JSON, so ``is-json`` adds this anchor (a fenced answer must fail it, as in promptfoo).
from .suggest import WHOLE_JSON


@dataclass
class Mapped:
    checks: list[Check] = field(default_factory=list)
    reference: str | None = None
    unmapped: list[str] = field(default_factory=list)  # "llm-rubric: is friendly (graded by a model)"


class _Unmapped(Exception):
    pass


_UNMAPPED_WHY = {
    "javascript": "runs JavaScript", "python": "runs Python", "webhook": "calls a webhook",
    "llm-rubric": "graded by a model", "g-eval": "graded by a model", "factuality": "graded by a model",
    "model-graded-closedqa": "graded by a model", "model-graded-factuality": "graded by a model",
    "answer-relevance": "graded by a model", "context-faithfulness": "graded by a model",
    "context-recall": "graded by a model", "context-relevance": "graded by a model", "select-best": "compares providers",
    "similar": "embedding similarity (reviewer's similarity is lexical)", "is-refusal": "no check asserts a refusal",
    "latency": "about the call, not the output", "cost": "about the call, not the output",
    "perplexity": "needs log-probabilities", "levenshtein": "edit distance threshold", "rouge-n": "ROUGE score",
    "bleu": "BLEU score", "not-equals": "no negated reference check", "not-contains-all": "no such check",
    "assert-set": "grouped assertions", "is-xml": "no XML check", "is-sql": "no SQL check",
}  # fmt: skip


def _strings(value: Any, kind: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list) and value and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return [str(v) for v in value]
    raise _Unmapped(f"{kind}: value must be a string or a list of strings")


def _any_list(value: Any, kind: str) -> list[str]:
    if isinstance(value, str):  # promptfoo splits "a,b,c"
        return [s.strip() for s in value.split(",") if s.strip()] or [value]
    return _strings(value, kind)


def _regex(pattern: str, kind: str) -> str:
    """The checks' own engine decides (RE2, Python syntax): what it cannot run stays unmapped."""
    try:
        compile_check_regex(pattern)
    except RegexError as e:
        raise _Unmapped(f"{kind}: {e}") from None
    return pattern


def _one(kind: str, value: Any, vars: dict[str, Any]) -> Mapped:
    value = _render_value(value, vars)
    neg = kind.startswith("not-")
    base = kind[4:] if neg else kind
    m = Mapped()
    if base in ("is-json", "contains-json"):
        if value is not None and not isinstance(value, dict):
            raise _Unmapped(f"{kind}: a schema given as {type(value).__name__} (only an inline schema object maps)")
        if neg:
            raise _Unmapped(f"{kind}: no check asserts the absence of JSON")
        m.checks.append(Check(kind="json"))
        if value is not None:
            m.checks.append(Check(kind="json_schema", value=value))
        if base == "is-json":
            m.checks.append(Check(kind="regex", value=WHOLE_JSON))
    elif base in ("contains", "icontains", "contains-all", "icontains-all"):
        ci = base.startswith("i")
        vals = _any_list(value, kind) if base.endswith("-all") else _strings(value, kind)
        if neg and len(vals) > 1:
            raise _Unmapped(f"{kind}: no check asserts that not all of several strings appear")
        m.checks.append(
            Check(kind="not_contains" if neg else "contains", value=vals if len(vals) > 1 else vals[0], ignore_case=ci)
        )
    elif base in ("contains-any", "icontains-any"):
        ci = base.startswith("i")
        vals = _any_list(value, kind)
        if neg:
            m.checks.append(Check(kind="not_contains", value=vals if len(vals) > 1 else vals[0], ignore_case=ci))
        else:
            m.checks.append(Check(kind="regex", value="|".join(re.escape(v) for v in vals), ignore_case=ci))
    elif base == "regex":
        (pattern,) = _strings(value, kind)[:1]
        pattern = _regex(pattern, kind)
        m.checks.append(Check(kind="not_regex" if neg else "regex", value=pattern))
    elif base == "starts-with":
        (prefix,) = _strings(value, kind)[:1]
        m.checks.append(Check(kind="not_regex" if neg else "regex", value=rf"\A{re.escape(prefix)}"))
    elif base == "equals" and not neg:
        m.reference = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        m.checks.append(Check(kind="equals_reference"))
    elif base == "is-refusal" and neg:
        m.checks.append(Check(kind="not_refusal"))
    else:
        why = _UNMAPPED_WHY.get(kind) or _UNMAPPED_WHY.get(base) or "no matching check"
        raise _Unmapped(f"{kind}: {why}")
    return m


def _describe(a: dict[str, Any]) -> str:
    v = a.get("value")
    if v is None:
        return str(a.get("type"))
    text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    text = " ".join(text.split())
    return f"{a.get('type')} {text[:80]!r}" + ("…" if len(text) > 80 else "")


def map_assertion(a: Any, vars: dict[str, Any] | None = None) -> Mapped:
    """Checks for one promptfoo assertion; what cannot be mapped lands in ``unmapped``."""
    vars = vars or {}
    if isinstance(a, str):  # CSV "__expected" shorthand: "contains: foo", "is-json", …
        kind, sep, val = a.partition(":")
        a = {"type": kind.strip(), "value": val.strip()} if sep else {"type": a.strip()}
        if a["type"] not in _KNOWN_SHORT:
            a = {"type": "equals", "value": a.get("value", a["type"]) if sep else a["type"]}
    if not isinstance(a, dict) or not isinstance(a.get("type"), str):
        return Mapped(unmapped=[f"{json.dumps(a, ensure_ascii=False)[:80]}: not an assertion"])
    try:
        return _one(a["type"], a.get("value"), vars)
    except _Unmapped as e:
        return Mapped(unmapped=[f"{_describe(a)} ({str(e).split(': ', 1)[-1]})"])
    except ValidationError as e:
        return Mapped(unmapped=[f"{_describe(a)} ({e.errors()[0]['msg'].removeprefix('Value error, ')})"])


_KNOWN_SHORT = {
    "contains", "icontains", "contains-all", "icontains-all", "contains-any", "icontains-any", "not-contains",
    "not-icontains", "regex", "not-regex", "starts-with", "is-json", "contains-json", "equals", "javascript",
    "python", "llm-rubric", "similar", "not-is-refusal", "is-refusal", "fn", "grade",
}  # fmt: skip


def map_assertions(asserts: Iterable[Any], vars: dict[str, Any]) -> Mapped:
    out = Mapped()
    for a in asserts:
        m = map_assertion(a, vars)
        out.unmapped += m.unmapped
        if m.reference is not None:
            if out.reference is not None and out.reference != m.reference:
                out.unmapped.append(f"equals {m.reference[:60]!r} (a case has one reference; kept the first)")
                continue
            out.reference = m.reference
        for c in m.checks:
            if c not in out.checks:
                out.checks.append(c)
    return out


# ---------------------------------------------------------------------------------------------
# Templates and ids
# ---------------------------------------------------------------------------------------------

_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}")
_TEMPLATE_SYNTAX = re.compile(r"\{\{|\{%|\{#")


class TemplateError(Exception):
    pass


def _lookup(vars: dict[str, Any], dotted: str) -> Any:
    cur: Any = vars
    for part in dotted.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise TemplateError(f"{{{{ {dotted} }}}} has no value")
    return cur


def render_template(template: str, vars: dict[str, Any]) -> str:
    """The Nunjucks subset promptfoo prompts mostly use: ``{{ name }}`` and ``{{ a.b }}``.
    Anything else (filters, ``{% if %}``) raises TemplateError: no guessing at what was sent."""

    def sub(m: re.Match[str]) -> str:
        v = _lookup(vars, m[1])
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return str(v)
        return json.dumps(v, ensure_ascii=False)

    out = _VAR.sub(sub, template)
    rest = _TEMPLATE_SYNTAX.search(_VAR.sub("", template))
    if rest:
        snippet = template[template.find(rest[0]) :][:40]
        raise TemplateError(f"template syntax beyond {{{{ var }}}} is not supported: {snippet!r}")
    return out


def _render_vars(vars: dict[str, Any]) -> dict[str, Any]:
    """promptfoo renders a var's own ``{{ other }}`` references (one level)."""
    out = dict(vars)
    for k, v in vars.items():
        if isinstance(v, str) and "{{" in v:
            with contextlib.suppress(TemplateError):
                out[k] = render_template(v, {kk: vv for kk, vv in vars.items() if kk != k})
    return out


def _render_value(value: Any, vars: dict[str, Any]) -> Any:
    if isinstance(value, str) and "{{" in value:
        try:
            return render_template(value, vars)
        except TemplateError:
            return value
    if isinstance(value, list):
        return [_render_value(v, vars) for v in value]
    return value


_SLUG_BAD = re.compile(r"[^A-Za-z0-9._:/@+-]+")


def slug(text: str, *, limit: int = 60) -> str:
    s = _SLUG_BAD.sub("-", text.strip().lower()).strip("-._:/@+")
    s = s[:limit].rstrip("-._:/@+")
    return s or "case"


def _prompt_fields(rendered: str) -> dict[str, Any]:
    """A rendered promptfoo prompt → ``prompt``, or ``messages`` (+ ``system``) for a chat prompt
    (a JSON list of {role, content})."""
    stripped = rendered.strip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, list) and data and all(isinstance(m, dict) and "role" in m for m in data):
            msgs = [{"role": m["role"], "content": m.get("content")} for m in data]
            if len(msgs) == 2 and msgs[0]["role"] == "system" and msgs[1]["role"] == "user":
                return {"system": msgs[0]["content"], "prompt": msgs[1]["content"]}
            if len(msgs) == 1 and msgs[0]["role"] == "user":
                return {"prompt": msgs[0]["content"]}
            return {"messages": msgs}
    return {"prompt": rendered}


# ---------------------------------------------------------------------------------------------
# Writing a suite file with the unmapped assertions as comments
# ---------------------------------------------------------------------------------------------


def suite_yaml(suite: Suite, notes: dict[str, list[str]] | None = None, *, header: str | None = None) -> str:
    """A whole suite as YAML; ``notes[case_id]`` become ``#`` comments above that case."""
    from ruamel.yaml import YAML

    from ..suite_edit import render_case_yaml

    notes = notes or {}
    head: dict[str, Any] = {"suite": suite.suite}
    if suite.description:
        head["description"] = suite.description
    d = suite.defaults.model_dump(exclude_none=True)
    if not d.get("params"):
        d.pop("params", None)
    if d:
        head["defaults"] = d
    buf = io.StringIO()
    y = YAML(typ="rt")
    y.width = 4096
    y.dump(head, buf)
    parts = [f"# {line}\n" for line in (header or "").splitlines()] + [buf.getvalue(), "cases:\n"]
    for c in suite.cases:
        for note in notes.get(c.id, []):
            parts.append(f"  # {' '.join(note.split())}\n")
        parts.append(render_case_yaml(c, dash_col=2, content_col=4))
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Config → suite
# ---------------------------------------------------------------------------------------------


@dataclass
class PromptfooSuite:
    suite: Suite
    notes: dict[str, list[str]]  # case id -> unmapped assertions (kept as comments)
    skipped: list[str]  # tests or prompts that could not become cases, with why
    mapped: int = 0  # assertions that became checks

    @property
    def unmapped(self) -> list[str]:
        return [f"{cid}: {n}" for cid, ns in self.notes.items() for n in ns]


_TESTS: TypeAdapter[list[Any]] = TypeAdapter(TestList)


def _read(path: Path, where: str) -> str:
    """A file the config names, bounded in size; bad UTF-8 is named by line."""
    try:
        return read_text(path)
    except FileProblem as e:
        raise ImportProblems([Problem(str(path), e.line or None, e.message, field=where if not e.line else "")]) from None


def _load_yaml_or_json(path: Path, where: str, text: str | None = None) -> Any:
    text = _read(path, where) if text is None else text
    try:
        if path.suffix.lower() == ".json":
            try:
                return json_value(text, path, 0)
            except json.JSONDecodeError as e:
                raise ImportProblems([Problem(str(path), e.lineno, f"invalid JSON: {e.msg}")]) from None
        if path.suffix.lower() == ".jsonl":
            out = []
            for n, raw in enumerate(text.split("\n"), start=1):
                if raw.strip():
                    try:
                        out.append(json_value(raw, path, n))
                    except json.JSONDecodeError as e:
                        raise ImportProblems([Problem(str(path), n, f"invalid JSON: {e.msg}")]) from None
            return out
        return load_yaml(text, path, typ="safe")
    except FileProblem as e:
        raise ImportProblems([Problem(str(path), e.line or None, e.message)]) from None


def _file_ref(value: Any) -> str | None:
    return value[len("file://") :] if isinstance(value, str) and value.startswith("file://") else None


def _csv_tests(path: Path) -> list[dict[str, Any]]:
    text = _read(path, "tests")
    tests = []
    for row in csv.DictReader(io.StringIO(text)):
        vars_ = {k: v for k, v in row.items() if k and not k.startswith("__")}
        asserts = [v for k, v in row.items() if k and k.startswith("__expected") and v]
        t: dict[str, Any] = {"vars": vars_, "assert": asserts}
        if row.get("__description"):
            t["description"] = row["__description"]
        tests.append(t)
    return tests


def read_promptfoo_config(path: str | Path, *, name: str | None = None) -> PromptfooSuite:
    """Cases from a promptfoo config: every prompt × every test (list-valued vars expand into
    their combinations, as promptfoo does), ``defaultTest`` merged in."""
    p = Path(path)
    text = _read(p, "")
    data = _load_yaml_or_json(p, "", text)
    located: list[Callable[[Sequence[Any]], int | None]] = []

    def line_of(loc: Sequence[Any]) -> int | None:
        """The config's line of a field (YAML only; loaded again, once, when something is wrong)."""
        if p.suffix.lower() in (".json", ".jsonl"):
            return 1 if not loc else None
        if not located:
            located.append(yaml_locator(text, p))
        return located[0](loc) or (1 if not loc else None)

    try:
        cfg = PromptfooConfig.model_validate(data)
    except ValidationError as e:
        found = problems_from(e, str(p), line_of)
        raise ImportProblems(found[:MAX_PROBLEMS], more=max(0, len(found) - MAX_PROBLEMS)) from None
    base = p.parent
    problems: list[Problem] = []
    skipped: list[str] = []

    # Prompts: (label, template)
    prompts: list[tuple[str, str]] = []
    for i, pr in enumerate(cfg.prompts):
        label, raw = pr.label, pr.raw
        ref = _file_ref(raw)
        if ref is not None:
            fp = base / ref
            if fp.suffix.lower() not in (".txt", ".md", ".json", ".j2", ".nunjucks", ""):
                skipped.append(f"prompts[{i}] {raw}: only text and JSON prompt files are read")
                continue
            try:
                raw = read_text(fp)
            except FileProblem as e:
                problems.append(Problem(str(p), None, str(e), field=f"prompts[{i}]"))
                continue
            label = label or fp.stem
            pieces = [s.strip("\n") for s in re.split(r"^---\s*$", raw, flags=re.M)] if fp.suffix.lower() != ".json" else [raw]
            for j, piece in enumerate(pieces):
                prompts.append((f"{label}-{j + 1}" if len(pieces) > 1 else label, piece))
            continue
        prompts.append((label or f"prompt-{i + 1}", raw))

    # Tests: a list in the config, or a file it names
    raw_tests = cfg.tests
    ref = _file_ref(raw_tests)
    inline = ref is None  # the tests' lines are the config's own
    if ref is not None:
        tp = base / ref
        raw_tests = _csv_tests(tp) if tp.suffix.lower() == ".csv" else _load_yaml_or_json(tp, "tests")
    try:
        test_items = _TESTS.validate_python(raw_tests)
    except ValidationError as e:
        problems += problems_from(e, str(p), None, prefix="tests")
        test_items = []
    if not test_items:
        test_items = [{}]  # promptfoo runs each prompt once with no vars
    default = cfg.defaultTest
    if cfg.scenarios:
        skipped.append("scenarios: not imported (expand them into tests)")
    if problems:
        raise ImportProblems(problems)

    # Suite-level defaults: sampling params shared by every provider.
    provider_params = [sampling_params(pr.get("config")) if isinstance(pr, dict) else {} for pr in cfg.providers or []]
    common = dict(provider_params[0]) if provider_params else {}
    for pp in provider_params[1:]:
        common = {k: v for k, v in common.items() if pp.get(k) == v}

    cases: list[Case] = []
    notes: dict[str, list[str]] = {}
    taken: set[str] = set()
    mapped = 0
    for ti, item in enumerate(test_items):
        if _file_ref(item) is not None:
            skipped.append(f"tests[{ti}] {item}: test files inside the list are not read")
            continue
        try:
            t = PromptfooTest.model_validate(item)
        except ValidationError as e:
            at = (lambda loc, ti=ti: line_of(("tests", ti, *loc))) if inline else None
            raise ImportProblems(problems_from(e, str(p), at, prefix=f"tests[{ti}]")) from None
        vars_ = {**default.vars, **t.vars}
        asserts = default.assert_ + t.assert_
        # list-valued vars expand into every combination (promptfoo's behaviour)
        keys = [k for k, v in vars_.items() if isinstance(v, list)]
        combos = [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(vars_[k] for k in keys))] if keys else [{}]
        for ci, combo in enumerate(combos):
            v = _render_vars({**vars_, **combo})
            for k, val in list(v.items()):
                fr = _file_ref(val)
                if fr is not None and Path(fr).suffix.lower() in (".txt", ".md", ""):
                    try:
                        v[k] = read_text(base / fr)
                    except FileProblem as e:
                        raise ImportProblems([Problem(str(p), None, str(e), field=f"tests[{ti}].vars.{k}")]) from None
            m = map_assertions(asserts, v)
            mapped += len(asserts) - len(m.unmapped)
            desc = t.description
            for label, template in prompts:
                try:
                    rendered = render_template(template, v)
                except TemplateError as e:
                    skipped.append(f"tests[{ti}] × prompt {label!r}: {e}")
                    continue
                stem = slug(desc) if isinstance(desc, str) and desc.strip() else (
                    slug(" ".join(str(x) for x in v.values() if isinstance(x, str | int | float))[:40]) if v else f"test-{ti + 1}"
                )  # fmt: skip
                if len(combos) > 1 and isinstance(desc, str) and desc.strip():
                    stem = f"{stem}-{ci + 1}"  # one description, several var combinations
                wanted = f"{slug(label, limit=30)}/{stem}" if len(prompts) > 1 else stem
                case_id = free_id(wanted, taken, claim=True)
                tags = [slug(x, limit=40) for x in t.tags if isinstance(x, str)]
                try:
                    case = Case(
                        id=case_id, tags=tags, reference=m.reference, checks=m.checks,
                        origin=f"promptfoo {p.name} tests[{ti}]" + (f" ({desc})" if desc else ""),
                        **_prompt_fields(rendered),
                    )  # fmt: skip
                except ValidationError as e:
                    err = e.errors()[0]
                    where = ".".join(str(x) for x in err["loc"])
                    raise ImportProblems(
                        [
                            Problem(
                                str(p),
                                None,
                                err["msg"].removeprefix("Value error, "),
                                field=f"tests[{ti}]" + (f" {where}" if where else ""),
                            )
                        ]
                    ) from None
                cases.append(case)
                if m.unmapped:
                    notes[case_id] = [f"promptfoo assert not mapped: {u}" for u in m.unmapped]
    desc = cfg.description
    suite = Suite(suite=name or slug(desc or p.stem, limit=60), description=desc, defaults=Defaults(params=common), cases=cases)
    return PromptfooSuite(suite=suite, notes=notes, skipped=skipped, mapped=mapped)


# ---------------------------------------------------------------------------------------------
# Results → comparison
# ---------------------------------------------------------------------------------------------


@dataclass
class PromptfooComparison:
    suite: Suite
    notes: dict[str, list[str]]
    baseline: ImportedRun
    candidate: ImportedRun
    eval_id: str | None
    name: str
    providers: list[str]  # every provider in the file, "label (id)"

    def loaded(self, path: Path, fmt: str = "promptfoo-results") -> LoadedSuite:
        return LoadedSuite(suite=self.suite, path=path, format=fmt, case_lines={})  # type: ignore[arg-type]


def _text_of(output: Any) -> str | None:
    if output is None:
        return None
    if isinstance(output, str):
        return output
    return json.dumps(output, ensure_ascii=False)


def read_promptfoo_results(path: str | Path, *, baseline: str | None = None, candidate: str | None = None) -> PromptfooComparison:
    """A promptfoo results file (``promptfoo eval -o results.json``) → a suite and two runs.
    ``baseline``/``candidate`` pick providers by label, id or model name (the id's last part) when the file has more than two (or
    to swap them); otherwise the config's provider order decides."""
    p = Path(path)
    try:
        raw_doc = json_value(read_text(p), p, 0)
    except FileProblem as e:
        raise ImportProblems([Problem(str(p), e.line or None, e.message)]) from None
    except json.JSONDecodeError as e:
        raise ImportProblems([Problem(str(p), e.lineno, f"invalid JSON: {e.msg} (column {e.colno})")]) from None
    try:
        doc = PromptfooResultsFile.model_validate(raw_doc)
    except ValidationError as e:
        # JSON keeps no lines; "not a results file at all" is about line 1
        found = problems_from(e, str(p), lambda loc: 1 if tuple(loc) == ("results",) else None)
        raise ImportProblems(found[:MAX_PROBLEMS], more=max(0, len(found) - MAX_PROBLEMS)) from None
    res, items = doc.results, doc.results.results
    config = doc.config or PromptfooResultsConfig()

    # Providers, in config order then order of appearance.
    order: list[tuple[str, str]] = []
    for prov in config.provider_list:
        if prov.key not in order:
            order.append(prov.key)
    seen: list[tuple[str, str]] = []
    for item in items:
        if item.provider.key not in seen:
            seen.append(item.provider.key)
    providers = [k for k in order if k in seen] + [k for k in seen if k not in order]
    names = [f"{lab} ({pid})" if lab != pid else pid for pid, lab in providers]

    def pick(which: str | None, option: str) -> tuple[str, str] | None:
        if which is None:
            return None
        hits = [k for k in providers if which in k] or [k for k in providers if k[0].endswith(":" + which)]
        if len(hits) != 1:
            raise ImportProblems(
                [Problem(str(p), None, f"{which!r} matches {len(hits)} providers (have: {', '.join(names)})", field=option)]
            )
        return hits[0]

    b, c = pick(baseline, "--baseline"), pick(candidate, "--candidate")
    if b is None and c is None:
        if len(providers) != 2:
            raise ImportProblems(
                [
                    Problem(
                        str(p),
                        None,
                        f"{len(providers)} providers ({', '.join(names)}); choose two with --baseline and --candidate",
                        field="providers",
                    )
                ]
            )
        b, c = providers
    elif b is None or c is None:
        rest = [k for k in providers if k != (b or c)]
        if len(rest) != 1:
            raise ImportProblems(
                [
                    Problem(
                        str(p),
                        None,
                        f"{len(providers)} providers ({', '.join(names)}); name both --baseline and --candidate",
                        field="providers",
                    )
                ]
            )
        b, c = (b, rest[0]) if b else (rest[0], c)
    assert b is not None and c is not None  # every branch above picked both
    if b == c:
        raise ImportProblems([Problem(str(p), None, "the baseline and the candidate are the same provider", field="--candidate")])

    # Group results into cases: (prompt template, test content) → per-provider samples.
    problems: list[Problem] = []
    groups: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        where = f"results.results[{i}]"
        k = item.provider.key
        if k not in (b, c):
            continue
        tc = item.testCase or {}
        vars_ = item.vars if item.vars is not None else tc.get("vars") or {}
        prompt = item.prompt or PromptfooResultPrompt()
        if prompt.raw is None:
            problems.append(Problem(str(p), None, "missing (the rendered prompt)", field=f"{where}.prompt.raw"))
            continue
        if item.response is None and not item.error:
            problems.append(Problem(str(p), None, "missing", field=f"{where}.response"))
            continue
        prompt_key = item.promptId or prompt.label or item.promptIdx
        key = json.dumps([prompt_key, tc.get("description"), vars_, tc.get("assert")], sort_keys=True, default=str)
        g = groups.setdefault(key, {"first": i, "raw": prompt.raw, "tc": tc, "vars": vars_, "label": prompt.label,
                                    "prompt_key": prompt_key, "b": [], "c": []})  # fmt: skip
        g["b" if k == b else "c"].append((item.testIdx if "testIdx" in item.model_fields_set else i, i, item))
    if problems:
        raise ImportProblems(problems[:MAX_PROBLEMS])

    prompt_keys = {g["prompt_key"] for g in groups.values()}
    taken: set[str] = set()
    cases: list[Case] = []
    notes: dict[str, list[str]] = {}
    outs: dict[str, list[Output]] = {"b": [], "c": []}
    for g in sorted(groups.values(), key=lambda g: g["first"]):
        tc, vars_ = g["tc"], g["vars"]
        desc = tc.get("description")
        stem = slug(desc) if isinstance(desc, str) and desc.strip() else slug(
            " ".join(str(x) for x in vars_.values() if isinstance(x, str | int | float))[:40] or "test"
        )  # fmt: skip
        label = g["label"] if isinstance(g["label"], str) else "prompt"
        case_id = free_id(f"{slug(label, limit=30)}/{stem}" if len(prompt_keys) > 1 else stem, taken, claim=True)
        m = map_assertions(tc.get("assert") or [], vars_)
        try:
            case = Case(id=case_id, reference=m.reference, checks=m.checks,
                        origin=f"promptfoo {p.name}" + (f" ({desc})" if isinstance(desc, str) and desc else ""),
                        **_prompt_fields(g["raw"]))  # fmt: skip
        except ValidationError as e:
            err = e.errors()[0]
            raise ImportProblems(
                [Problem(str(p), None, err["msg"].removeprefix("Value error, "), field=f"results.results[{g['first']}]")]
            ) from None
        cases.append(case)
        if m.unmapped:
            notes[case_id] = [f"promptfoo assert not mapped: {u}" for u in m.unmapped]
        for side in ("b", "c"):
            for sample, (_, _i, item) in enumerate(sorted(g[side], key=lambda t: (t[0] if isinstance(t[0], int) else 0, t[1]))):
                outs[side].append(_output(case_id, sample, item))

    def run_of(k: tuple[str, str], side: str, outputs: list[Output]) -> ImportedRun:
        pid, lab = k
        cfgp = next((pr for pr in config.provider_list if pr.key == k), None)
        params = sampling_params(cfgp.config) if cfgp is not None else {}
        meta = doc.metadata or {}
        return ImportedRun(
            provider="promptfoo", model=pid, label=lab, outputs=outputs, params=params, side=side,
            started_at=res.timestamp,
            finished_at=meta.get("exportedAt") if isinstance(meta.get("exportedAt"), str) else None,
        )  # fmt: skip

    desc = config.description
    eval_id = doc.evalId
    suite = Suite(
        suite=slug(desc or p.stem, limit=60),
        description=(desc + " — " if desc else "") + f"imported from promptfoo {p.name}" + (f" ({eval_id})" if eval_id else ""),
        defaults=Defaults(),
        cases=cases,
    )
    return PromptfooComparison(
        suite=suite, notes=notes, baseline=run_of(b, "baseline", outs["b"]), candidate=run_of(c, "candidate", outs["c"]),
        eval_id=eval_id, name=desc or eval_id or p.stem, providers=names,
    )  # fmt: skip


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _output(case_id: str, sample: int, item: PromptfooResult) -> Output:
    resp = item.response or PromptfooResponse()
    usage = resp.tokenUsage if resp.tokenUsage is not None else item.tokenUsage
    usage = (
        {k: v for k, v in usage.items() if k in ("prompt", "completion", "total", "cached", "numRequests")}
        if isinstance(usage, dict)
        else None
    )
    # promptfoo puts failed assertions in `error` too; only failureReason 2 (ERROR) or an error on
    # the response itself means the call failed.
    error = resp.error
    if error is None and item.failureReason == 2 and isinstance(item.error, str):
        error = item.error
    latency = _num(item.latencyMs)
    if latency is None:
        latency = _num(resp.latencyMs)
    text = _text_of(resp.output)
    if error is not None and text == "":
        text = None
    return Output(
        case_id=case_id, sample=sample, text=text,
        finish_reason=resp.finishReason,
        usage=usage,
        input_tokens=int(usage["prompt"]) if usage and _num(usage.get("prompt")) is not None else None,
        output_tokens=int(usage["completion"]) if usage and _num(usage.get("completion")) is not None else None,
        latency_ms=latency, error=error,
        cache_key=None,
    )  # fmt: skip

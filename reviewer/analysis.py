"""The diff engine applied to a whole stored comparison: every case assessed (change score, noise
floor, checks, flips, flags) in triage order, cached in the store so a 10,000-case comparison is
not recomputed each time the app or an export opens it.

Used by the app, the exports and the gate. Never imports Textual.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

from .diff import Assessment, Sample, assess_case, triage
from .store import Comparison, ComparisonData, Output, Store
from .suite import Case, Check

MISSING = "no output stored for this sample (the run is incomplete)"
#: Providers whose runs replay every case × sample: a hole there is a missing call. Imported runs
#: (production logs, promptfoo results) hold what they hold, a different count per case.
REPLAYED = frozenset({"openai", "openai-responses", "anthropic", "recorded", "run"})


def samples_of(outputs: Sequence[Output], samples: int | None) -> list[Sample]:
    """Samples 0..samples-1 of one side (``None``: the samples that exist, at least one); a
    missing or failed call is an errored sample."""
    by_index = {o.sample: o for o in outputs}
    if samples is None:
        samples = max(len(by_index), 1)
        by_index = dict(enumerate(sorted(outputs, key=lambda o: o.sample)))
    out = []
    for i in range(samples):
        o = by_index.get(i)
        if o is None:
            out.append(Sample(text="", error=MISSING))
        else:
            out.append(Sample(text=o.text or "", finish_reason=o.finish_reason, refusal=o.refusal, error=o.error,
                              tool_calls=o.tool_calls))  # fmt: skip
    return out


def assess_one(data: ComparisonData, case: Case) -> Assessment:
    n_base = max(data.baseline.samples, 1) if data.baseline.provider in REPLAYED else None
    n_cand = max(data.candidate.samples, 1) if data.candidate.provider in REPLAYED else None
    return assess_case(
        case.id,
        samples_of(data.baseline_outputs.get(case.id, []), n_base),
        samples_of(data.candidate_outputs.get(case.id, []), n_cand),
        checks=case.checks,
        reference=case.reference,
        tools=case.tools,
        response_format=case.response_format,
    )


@cache
def engine_digest() -> str:
    """Hash of the diff engine's source (with the statistics its noise rule uses): any change to how
    cases are scored invalidates the cache."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for path in [*sorted((here / "diff").glob("*.py")), here / "stats.py"]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:16]


def cache_key(store: Store, comparison: Comparison) -> str:
    return f"{engine_digest()}:{store.outputs_identity(comparison)}"


def cached_assessments(store: Store, comparison: Comparison) -> list[Assessment] | None:
    """The cached assessments when they are fresh, else None, without loading any output.
    Decoded one case at a time, so a worker thread doing it never holds the GIL for long."""
    raw = store.cached_assessments(comparison.id, cache_key(store, comparison))
    if raw is None:
        return None
    try:
        return [_from_json(d) for d in iter_json_array(raw)]
    except (KeyError, TypeError, ValueError):
        return None  # written by another version: recompute


def iter_json_array(raw: str) -> Iterator[Any]:
    """The elements of a JSON array, decoded one by one."""
    decoder = json.JSONDecoder()
    i = _skip(raw, raw.index("[") + 1)
    while raw[i] != "]":
        value, i = decoder.raw_decode(raw, i)
        yield value
        i = _skip(raw, i)


_SEPARATORS = re.compile(r"[\s,]*")


def _skip(raw: str, i: int) -> int:
    """The index of the first character at or after ``i`` that is neither whitespace nor a comma."""
    m = _SEPARATORS.match(raw, i)
    assert m is not None  # the pattern matches the empty string, so it matches everywhere
    return m.end()


def assess_comparison(
    store: Store | None, data: ComparisonData, *, progress: Callable[[int, int], None] | None = None
) -> list[Assessment]:
    """Every case of the comparison, in triage order. With a store, read from / write to its cache."""
    key = None
    if store is not None:
        cached = cached_assessments(store, data.comparison)
        if cached is not None:
            return cached
        key = cache_key(store, data.comparison)
    cases = data.suite.suite.cases
    result = []
    for i, case in enumerate(cases):
        result.append(assess_one(data, case))
        if progress is not None and (i % 200 == 0 or i == len(cases) - 1):
            progress(i + 1, len(cases))
    ranked = triage(result)
    if store is not None and key is not None:
        # one case at a time: a list of 10,000 nested dicts next to their JSON peaked ~100 MB higher
        encode = json.JSONEncoder(default=_default).encode
        blob = "[" + ",".join(encode(_to_json(a)) for a in ranked) + "]"
        store.save_assessments(data.comparison.id, key, blob)
    return ranked


# -- JSON round trip of Assessment (safe to load, unlike pickle, from a DB someone sent you) -----


def _default(value: Any) -> Any:
    if isinstance(value, Check):
        return value.model_dump(mode="json")
    raise TypeError(type(value).__name__)


def _to_json(a: Assessment) -> dict[str, Any]:
    return asdict(a)  # Check (pydantic) stays an object here and goes through _default


@cache
def _reviver(hint: Any) -> Callable[[Any], Any] | None:
    """A function rebuilding a value of type ``hint`` from JSON, or None when JSON already is it.
    Built once per type, so loading 10,000 cached assessments stays fast."""
    if hint is Check:
        return Check.model_validate
    if dataclasses.is_dataclass(hint):
        convert = [(name, f) for name, h in typing.get_type_hints(hint).items() if (f := _reviver(h)) is not None]

        def build(value: dict[str, Any], cls: Any = hint, convert: Any = convert) -> Any:
            for name, f in convert:
                v = value.get(name)
                if v is not None:
                    value[name] = f(v)
            return cls(**value)

        return build
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list and args:
        item = _reviver(args[0])
        return None if item is None else (lambda v: [item(x) for x in v])
    if origin is tuple:
        element = _reviver(args[0]) if args and args[-1] is Ellipsis else None
        return tuple if element is None else (lambda v: tuple(element(x) for x in v))
    if origin in (typing.Union, types.UnionType):
        revivable = [f for a in args if a is not type(None) and (f := _reviver(a)) is not None]
        if len(revivable) == 1:
            member = revivable[0]
            return lambda v: member(v) if isinstance(v, dict | list) else v
    return None


def _from_json(d: dict[str, Any]) -> Assessment:
    build = _reviver(Assessment)
    assert build is not None  # a dataclass always has a reviver
    return build(d)

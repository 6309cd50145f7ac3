"""Tool calls and structured outputs in the diff: a normalised answer, the call-by-call diff of two
answers, tool drift over a case's samples, and the words a change score counts for a call.

A model's answer is its text *and* its tool calls. Two answers that are both an empty string can
still differ completely: another tool, an argument over-quoted (``{"days": 3}`` → ``{"days": "3"}``),
a call no longer made. This module names each such difference with a stable kind (the app and the
changelog group by it, :data:`TOOL_CHANGE_LABELS` gives the words people read):

=======================  ======================================================================
``call_added``           a call the baseline's answer does not make
``call_removed``         a call the candidate's answer no longer makes
``call_reordered``       the same call (name and arguments) at another place in the order
``tool_renamed``         another tool called at the same place (its arguments diffed as well)
``arg_added``            an argument (JSON path) the baseline's call does not pass
``arg_removed``          an argument no longer passed
``arg_renamed``          the same value under another argument name
``arg_changed``          an argument's value changed (same JSON type)
``arg_type_changed``     an argument's JSON type changed; ``12`` → ``"12"`` is *over-quoting*
``args_unparseable``     the arguments no longer parse as JSON
``args_parse_fixed``     the arguments parse again
``args_schema_invalid``  the arguments break the tool's own ``parameters`` schema (or name no tool of the case)
``args_schema_fixed``    they satisfy it again
``text_instead_of_call`` a text answer where the baseline called a tool
``call_instead_of_text`` a tool call where the baseline answered in text
=======================  ======================================================================

Call ids are never a change: providers mint new ones on every call. Paths are the ones
:func:`~reviewer.diff.jsondiff.json_diff` prints (``$.filters[0].name``).

Pure functions: no I/O. Model output is untrusted: names, values and ``detail`` strings must go
through ``reviewer.untrusted`` before any screen or Markdown shows them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal

from reviewer.diff.jsondiff import JsonView, _canon, _scalar, json_diff, json_path, json_values_view
from reviewer.diff.signals import schema_error
from reviewer.diff.tokens import score_words
from reviewer.toolcall import ToolCall

__all__ = [
    "TOOL_CHANGE_KINDS",
    "TOOL_CHANGE_LABELS",
    "Answer",
    "Call",
    "CallPair",
    "ToolChange",
    "ToolChangeKind",
    "ToolSignals",
    "args_view",
    "call_words",
    "diff_calls",
    "make_answer",
    "match_args",
    "normalise",
    "pair_calls",
    "response_schema",
    "tool_args_valid_rate",
    "tool_call_rate",
    "tool_drift",
    "tool_parameters",
    "tool_signals",
]

ToolChangeKind = Literal[
    "call_added",
    "call_removed",
    "call_reordered",
    "tool_renamed",
    "arg_added",
    "arg_removed",
    "arg_renamed",
    "arg_changed",
    "arg_type_changed",
    "args_unparseable",
    "args_parse_fixed",
    "args_schema_invalid",
    "args_schema_fixed",
    "text_instead_of_call",
    "call_instead_of_text",
]

#: Every change kind, in the order a report lists them, with the words people read.
TOOL_CHANGE_LABELS: dict[str, str] = {
    "call_removed": "dropped call",
    "text_instead_of_call": "text instead of a call",
    "tool_renamed": "other tool",
    "arg_type_changed": "argument type changed",
    "args_unparseable": "arguments no longer parse",
    "args_schema_invalid": "arguments break the tool's schema",
    "arg_removed": "argument dropped",
    "arg_added": "argument added",
    "arg_renamed": "argument renamed",
    "arg_changed": "argument changed",
    "call_added": "added call",
    "call_instead_of_text": "call instead of text",
    "call_reordered": "calls reordered",
    "args_parse_fixed": "arguments parse again",
    "args_schema_fixed": "arguments fit the schema again",
}
TOOL_CHANGE_KINDS: tuple[str, ...] = tuple(TOOL_CHANGE_LABELS)

# ---------------------------------------------------------------------------------------------
# The case's tools and response format
# ---------------------------------------------------------------------------------------------


def tool_parameters(tools: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None) -> dict[str, dict | None]:
    """Each tool's name → its ``parameters`` schema (None when it has none), from a case's
    ``tools`` in OpenAI function format (``{type: function, function: {name, parameters}}``);
    a flat ``{name, parameters}`` entry, or an already built name → schema mapping, is taken as is."""
    if not tools:
        return {}
    if isinstance(tools, Mapping):
        return dict(tools)
    out: dict[str, dict | None] = {}
    for t in tools:
        f = t.get("function", t) if isinstance(t, Mapping) else None
        if isinstance(f, Mapping) and isinstance(f.get("name"), str):
            params = f.get("parameters", f.get("input_schema"))
            out[f["name"]] = params if isinstance(params, dict) else None
    return out


def response_schema(response_format: Mapping[str, Any] | None) -> dict | None:
    """The JSON Schema the answer must satisfy under a case's ``response_format``:
    ``{type: json_schema, json_schema: {schema}}`` gives its schema, ``{type: json_object}`` any
    object; None when the case asks for no structured output."""
    if not response_format:
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        inner = response_format.get("json_schema")
        schema = inner.get("schema") if isinstance(inner, Mapping) else None
        return schema if isinstance(schema, dict) else {}
    if kind == "json_object":
        return {"type": "object"}
    return None


# ---------------------------------------------------------------------------------------------
# The normalised answer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One tool call, normalised: where it is, what it calls, its arguments as written and parsed,
    and whether they fit the tool. The call id is kept for display and never compared."""

    position: int
    name: str
    raw: str  # the arguments exactly as the model wrote them
    value: Any = None  # the parsed arguments (None when they do not parse: see parse_error)
    parse_error: str | None = None
    #: why the arguments break the tool's ``parameters`` schema, or that the case has no such
    #: tool; None when they fit, when the case declares no tools, or when they do not parse
    schema_error: str | None = None
    id: str | None = field(default=None, compare=False)

    @property
    def parsed(self) -> bool:
        return self.parse_error is None

    @property
    def valid(self) -> bool:
        """The arguments parse and fit the tool's schema."""
        return self.parse_error is None and self.schema_error is None

    @property
    def key(self) -> str:
        """Equal for two calls exactly when they call the same tool with the same arguments
        (key order ignored; ``3`` and ``"3"`` differ; ids ignored)."""
        return self.name + "\x00" + (_canon(self.value) if self.parse_error is None else "\x01" + self.raw)


@dataclass(frozen=True, slots=True)
class Answer:
    """One sample's answer as the diff sees it."""

    text: str
    calls: tuple[Call, ...] = ()
    refusal: str | None = None
    finish_reason: str | None = None
    #: the answer's JSON against the case's ``response_format`` (None: no response format)
    response_valid: bool | None = None
    response_error: str | None = None

    def call_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.calls)


def _call(position: int, tc: ToolCall, params: Mapping[str, dict | None] | None, memo: dict | None = None) -> Call:
    key = (tc.name, tc.arguments)
    got = memo.get(key) if memo is not None else None
    if got is None:
        value, why = tc.parsed()
        err = None
        if why is None and params:
            if tc.name not in params:
                err = f"the case has no tool {tc.name!r}"
            else:
                schema = params[tc.name]
                if schema:
                    err = schema_error(schema, value)
        got = (value, why, err)
        if memo is not None:
            memo[key] = got
    return Call(position, tc.name, tc.arguments, got[0], got[1], got[2], tc.id)


def normalise(
    sample: Any,
    *,
    tools: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    response_format: Mapping[str, Any] | None = None,
    extracted: Any = None,
) -> Answer:
    """The :class:`Answer` of a sample — anything with ``text``, ``tool_calls``, ``refusal`` and
    ``finish_reason`` (a :class:`~reviewer.diff.score.Sample` or a stored ``Output``).
    ``extracted`` is the text's :class:`~reviewer.diff.jsonextract.ExtractedJson` when the caller
    has it (else it is extracted here, and only when there is a response format)."""
    return make_answer(
        getattr(sample, "text", "") or "",
        getattr(sample, "tool_calls", ()) or (),
        refusal=getattr(sample, "refusal", None),
        finish_reason=getattr(sample, "finish_reason", None),
        params=tool_parameters(tools),
        schema=response_schema(response_format),
        extracted=extracted,
    )


def make_answer(
    text: str,
    tool_calls: Sequence[ToolCall] = (),
    *,
    refusal: str | None = None,
    finish_reason: str | None = None,
    params: Mapping[str, dict | None] | None = None,
    schema: dict | None = None,
    extracted: Any = None,
    memo: dict | None = None,
) -> Answer:
    """:func:`normalise` from the parts, with the tools already as :func:`tool_parameters` and the
    response format as :func:`response_schema` (what a caller doing many samples of one case has).
    ``memo``, a dict the caller keeps for one case, parses and validates each distinct call once
    (samples of a deterministic model repeat the same calls)."""
    calls = tuple(_call(i, tc, params, memo) for i, tc in enumerate(tool_calls))
    valid, why = _response_validity(text, schema, extracted)
    return Answer(text, calls, refusal, finish_reason, valid, why)


def _response_validity(text: str, schema: dict | None, extracted: Any = None) -> tuple[bool | None, str | None]:
    if schema is None:
        return None, None
    if extracted is None:
        from reviewer.diff.jsonextract import extract_json

        extracted = extract_json(text)
    if not extracted.valid:
        return False, "no JSON answer" if extracted.shape == "none" else f"JSON {extracted.shape}: nothing to validate"
    err = schema_error(schema, extracted.value) if schema else None
    return err is None, err


# ---------------------------------------------------------------------------------------------
# What one sample says about its calls (kept on the Assessment)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolSignals:
    """One sample's calls in figures: what the changelog's ``tool_call_rate`` and
    ``tool_args_valid_rate`` count, and the response-format validity."""

    calls: int = 0
    names: tuple[str, ...] = ()
    unparseable: int = 0  # calls whose arguments are not JSON
    schema_invalid: int = 0  # calls whose arguments break their tool's schema (or name no tool of the case)
    response_valid: bool | None = None  # against the case's response_format; None: none asked
    response_error: str | None = None
    error: bool = False  # the sample errored (left out of the rates)

    @property
    def args_valid(self) -> bool | None:
        """Every call's arguments parse and fit; None when the answer calls nothing."""
        return None if not self.calls else self.unparseable == 0 and self.schema_invalid == 0


def tool_signals(answer: Answer, *, error: bool = False) -> ToolSignals:
    return ToolSignals(
        calls=len(answer.calls),
        names=answer.call_names(),
        unparseable=sum(1 for c in answer.calls if c.parse_error is not None),
        schema_invalid=sum(1 for c in answer.calls if c.parse_error is None and c.schema_error is not None),
        response_valid=answer.response_valid,
        response_error=answer.response_error,
        error=error,
    )


def tool_call_rate(signals: Iterable[ToolSignals]) -> float | None:
    """Share of (non-errored) answers that call at least one tool; None when there are none."""
    ok = [s for s in signals if not s.error]
    return sum(1 for s in ok if s.calls) / len(ok) if ok else None


def tool_args_valid_rate(signals: Iterable[ToolSignals]) -> float | None:
    """Share of (non-errored) answers with calls whose every call's arguments parse and fit the
    tool's schema; None when no answer calls a tool."""
    calling = [s for s in signals if not s.error and s.calls]
    return sum(1 for s in calling if s.args_valid) / len(calling) if calling else None


# ---------------------------------------------------------------------------------------------
# The diff of two answers' calls
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolChange:
    """One difference between two answers' calls.

    ``position`` is the call's index in the baseline's answer (None for ``call_added`` and
    ``call_instead_of_text``), ``new_position`` in the candidate's (None for ``call_removed`` and
    ``text_instead_of_call``); ``name`` the tool (the baseline's for ``tool_renamed``, whose new name
    is ``new_name``); ``path`` the argument's JSON path for ``arg_*`` kinds (``new_path`` its new name
    for ``arg_renamed``); ``old``/``new`` the values before and after; ``over_quoted`` marks a
    type change to a string that spells the old value (``12`` → ``"12"``); ``detail`` one line of
    words (untrusted: made of model output)."""

    kind: ToolChangeKind
    name: str
    position: int | None = None
    new_position: int | None = None
    new_name: str | None = None
    path: str | None = None
    new_path: str | None = None
    old: Any = None
    new: Any = None
    over_quoted: bool = False
    detail: str = ""

    @property
    def label(self) -> str:
        return TOOL_CHANGE_LABELS[self.kind]

    @property
    def signature(self) -> tuple[str, ...]:
        """What makes two changes "the same kind of difference" for drift: kind, tool and argument
        path with array indices folded, never the values or positions."""
        sig: tuple[str, ...] = (self.kind, self.name)
        if self.new_name is not None:
            sig += (self.new_name,)
        if self.path is not None:
            sig += (_INDEX.sub("[*]", self.path),)
        return sig


_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True, slots=True)
class CallPair:
    """One row of the aligned call block: the baseline's call and the candidate's (either None
    when the call is only on one side), and the changes between them."""

    left: Call | None
    right: Call | None
    changes: tuple[ToolChange, ...] = ()


def _short(v: Any, limit: int = 60) -> str:
    s = _scalar(v) if not isinstance(v, dict | list) else _canon(v)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _is_over_quoted(old: Any, new: Any) -> bool:
    if not isinstance(new, str) or isinstance(old, str):
        return False
    try:
        return _canon(json.loads(new)) == _canon(old)
    except (ValueError, RecursionError):
        return False


def _arg_changes(a: Call, b: Call) -> list[ToolChange]:
    """The changes between two calls paired with each other (same tool, or renamed)."""
    name, pa, pb = a.name, a.position, b.position
    out: list[ToolChange] = []
    if a.parsed and not b.parsed:
        out.append(ToolChange("args_unparseable", name, pa, pb, detail=b.parse_error or "", old=a.value, new=b.raw))
        return out
    if b.parsed and not a.parsed:
        out.append(ToolChange("args_parse_fixed", name, pa, pb, old=a.raw, new=b.value))
    elif not a.parsed:  # neither parses
        if a.raw != b.raw:
            out.append(
                ToolChange("arg_changed", name, pa, pb, path="$", old=a.raw, new=b.raw, detail="arguments (not JSON) changed")
            )
        return out
    else:
        for pc in json_diff(a.value, b.value):
            if pc.kind == "added":
                out.append(
                    ToolChange("arg_added", name, pa, pb, path=pc.path, new=pc.new, detail=f"{pc.path} = {_short(pc.new)}")
                )
            elif pc.kind == "removed":
                out.append(
                    ToolChange("arg_removed", name, pa, pb, path=pc.path, old=pc.old, detail=f"{pc.path} (was {_short(pc.old)})")
                )
            elif pc.kind == "renamed":
                out.append(
                    ToolChange(
                        "arg_renamed",
                        name,
                        pa,
                        pb,
                        path=pc.path,
                        new_path=pc.new_path,
                        old=pc.old,
                        new=pc.new,
                        detail=f"{pc.path} → {pc.new_path}",
                    )
                )
            elif pc.kind == "type_changed":
                oq = _is_over_quoted(pc.old, pc.new)
                words = " (over-quoted)" if oq else ""
                out.append(
                    ToolChange(
                        "arg_type_changed",
                        name,
                        pa,
                        pb,
                        path=pc.path,
                        old=pc.old,
                        new=pc.new,
                        over_quoted=oq,
                        detail=f"{pc.path}: {_short(pc.old)} → {_short(pc.new)}{words}",
                    )
                )
            else:  # value_changed, reordered
                words = " (reordered)" if pc.kind == "reordered" else ""
                out.append(
                    ToolChange(
                        "arg_changed",
                        name,
                        pa,
                        pb,
                        path=pc.path,
                        old=pc.old,
                        new=pc.new,
                        detail=f"{pc.path}: {_short(pc.old)} → {_short(pc.new)}{words}",
                    )
                )
    if b.schema_error is not None and a.schema_error is None and b.parsed:
        out.append(ToolChange("args_schema_invalid", name, pa, pb, detail=b.schema_error))
    elif a.schema_error is not None and b.schema_error is None and a.parsed and b.parsed:
        out.append(ToolChange("args_schema_fixed", name, pa, pb, detail=a.schema_error))
    return out


def _one_sided(c: Call, added: bool) -> list[ToolChange]:
    if added:
        out = [ToolChange("call_added", c.name, None, c.position, detail=c.name)]
        if not c.parsed:
            out.append(ToolChange("args_unparseable", c.name, None, c.position, new=c.raw, detail=c.parse_error or ""))
        elif c.schema_error is not None:
            out.append(ToolChange("args_schema_invalid", c.name, None, c.position, detail=c.schema_error))
        return out
    return [ToolChange("call_removed", c.name, c.position, None, detail=c.name)]


def pair_calls(a: Answer, b: Answer) -> list[CallPair]:
    """The two answers' calls aligned for display, in the candidate's order (a removed call where
    it was), each pair with its changes. Pairing, in order of preference: identical calls in
    order (longest common subsequence), identical calls that moved (``call_reordered``), calls of
    the same tool (their arguments diffed), then calls left over at the same place
    (``tool_renamed``); what is left is added or removed."""
    ka = [c.key for c in a.calls]
    kb = [c.key for c in b.calls]
    pair_of: dict[int, int] = {}  # baseline index → candidate index
    changes_of: dict[int, list[ToolChange]] = {}
    if ka and kb:
        if ka == kb:
            return [CallPair(x, y) for x, y in zip(a.calls, b.calls, strict=True)]
        for blk in SequenceMatcher(None, ka, kb, autojunk=False).get_matching_blocks():
            for n in range(blk.size):
                pair_of[blk.a + n] = blk.b + n
        left = [i for i in range(len(ka)) if i not in pair_of]
        taken = set(pair_of.values())
        right = [j for j in range(len(kb)) if j not in taken]
        # the same call elsewhere in the order: moved
        for i in list(left):
            j = next((j for j in right if kb[j] == ka[i]), None)
            if j is not None:
                pair_of[i] = j
                left.remove(i)
                right.remove(j)
                c = a.calls[i]
                changes_of[i] = [ToolChange("call_reordered", c.name, i, j, detail=f"{c.name}: call {i + 1} → {j + 1}")]
        # the same tool, other arguments
        for i in list(left):
            j = next((j for j in right if b.calls[j].name == a.calls[i].name), None)
            if j is not None:
                pair_of[i] = j
                left.remove(i)
                right.remove(j)
                changes_of[i] = _arg_changes(a.calls[i], b.calls[j])
        # what is left, in order: another tool at that place
        for i, j in zip(list(left), list(right), strict=False):  # the shorter list runs out
            pair_of[i] = j
            left.remove(i)
            right.remove(j)
            x, y = a.calls[i], b.calls[j]
            renamed = ToolChange("tool_renamed", x.name, i, j, new_name=y.name, detail=f"{x.name} → {y.name}")
            changes_of[i] = [renamed, *_arg_changes(x, y)]
    rows: list[tuple[float, CallPair]] = []
    for i, x in enumerate(a.calls):
        j = pair_of.get(i)
        if j is None:
            rows.append((i - 0.5 if not b.calls else _place(i, pair_of), CallPair(x, None, tuple(_one_sided(x, False)))))
        else:
            rows.append((j, CallPair(x, b.calls[j], tuple(changes_of.get(i, ())))))
    paired_right = set(pair_of.values())
    for j, y in enumerate(b.calls):
        if j not in paired_right:
            rows.append((j, CallPair(None, y, tuple(_one_sided(y, True)))))
    rows.sort(key=lambda r: r[0])
    return [p for _, p in rows]


def _place(i: int, pair_of: dict[int, int]) -> float:
    """Where a removed baseline call goes in the candidate's order: just after the candidate
    call its nearest paired predecessor became."""
    before = [pair_of[k] for k in pair_of if k < i]
    return (max(before) if before else -1) + 0.5 + i * 1e-6


def diff_calls(a: Answer, b: Answer) -> list[ToolChange]:
    """Every change from answer ``a``'s calls to answer ``b``'s, in the candidate's order: a text
    answer where there was a call (and the reverse) is one change; otherwise the changes of
    :func:`pair_calls`."""
    if not a.calls and not b.calls:
        return []
    if a.calls and not b.calls and b.text.strip():
        names = ", ".join(c.name for c in a.calls)
        return [ToolChange("text_instead_of_call", a.calls[0].name, 0, None, detail=f"was {names}")]
    if b.calls and not a.calls and a.text.strip():
        names = ", ".join(c.name for c in b.calls)
        return [ToolChange("call_instead_of_text", b.calls[0].name, None, 0, detail=names)]
    return [ch for p in pair_calls(a, b) for ch in p.changes]


def args_view(left: Call | None, right: Call | None) -> JsonView | None:
    """The structural JSON view of two paired calls' arguments (aligned pretty-printed lines,
    changed paths, changed line numbers), or None when a side is missing or does not parse (show
    its ``raw`` text instead)."""
    if left is None or right is None or not left.parsed or not right.parsed:
        return None
    return json_values_view(left.value, right.value)


# ---------------------------------------------------------------------------------------------
# Drift over a case's samples
# ---------------------------------------------------------------------------------------------


def tool_drift(baseline: Sequence[Answer], candidate: Sequence[Answer]) -> tuple[ToolChange, ...] | None:
    """Whether the candidate's calls differ from the baseline's beyond the baseline's own
    sample-to-sample variation, like format drift: each candidate answer is diffed with the
    baseline's first, and a change counts only when no other baseline answer differs from the
    first in the same way (same :attr:`ToolChange.signature`). Drift when a strict majority of
    the candidate answers show such a change. Returns the unexplained changes of the first
    drifting candidate answer, or None when there is no drift. Pass usable (non-errored)
    answers only."""
    if not baseline or not candidate:
        return None
    if not any(x.calls for x in baseline) and not any(y.calls for y in candidate):
        return None
    ref = baseline[0]
    own = {ch.signature for other in baseline[1:] for ch in diff_calls(ref, other)}
    first: tuple[ToolChange, ...] | None = None
    drifting = 0
    for y in candidate:
        novel = tuple(ch for ch in diff_calls(ref, y) if ch.signature not in own)
        if novel:
            drifting += 1
            if first is None:
                first = novel
    return first if drifting * 2 > len(candidate) else None


# ---------------------------------------------------------------------------------------------
# The words a change score counts for a call
# ---------------------------------------------------------------------------------------------


def call_words(calls: Sequence[ToolCall]) -> list[str]:
    """A canonical rendering of the calls as score words, appended to the text's words: per call
    its name, then one word per argument leaf (``name$.days=3``, key order ignored), a string
    argument as its path and type and then its own words (so one word changed in a long string is
    a small change, and ``3`` → ``"3"`` a change of that argument alone). Ids never appear:
    identical calls with new ids render the same."""
    out: list[str] = []
    for tc in calls:
        name = tc.name
        out.append("\x00call:" + name)
        value, why = tc.parsed()
        if why is not None:
            out.append(f"\x00{name}$!")
            out.extend(score_words(tc.arguments))
            continue
        stack: list[tuple[str, Any]] = [("$", value)]
        while stack:
            path, v = stack.pop()
            if isinstance(v, dict) and v:
                for k in sorted(v, key=str, reverse=True):
                    stack.append((json_path(path, k), v[k]))
            elif isinstance(v, list) and v:
                for n in range(len(v) - 1, -1, -1):
                    stack.append((json_path(path, n), v[n]))
            elif isinstance(v, str):
                out.append(f"\x00{name}{path}:str")
                out.extend(score_words(v))
            else:
                out.append(f"\x00{name}{path}=" + ("{}" if isinstance(v, dict) else "[]" if isinstance(v, list) else _scalar(v)))
    return out


# ---------------------------------------------------------------------------------------------
# Partial matching of arguments (the tool_args check)
# ---------------------------------------------------------------------------------------------

_MISSING = object()


def _at(value: Any, keys: Sequence[str | int]) -> Any:
    for k in keys:
        if isinstance(k, int):
            if not (isinstance(value, list) and 0 <= k < len(value)):
                return _MISSING
        elif not (isinstance(value, dict) and k in value):
            return _MISSING
        value = value[k]
    return value


def _same(a: Any, b: Any) -> bool:
    """JSON equality, strict about types: ``"3"`` is not ``3``, ``true`` is not ``1``; ``3`` and
    ``3.0`` are the same number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def match_args(value: Any, match: Mapping[str, Any]) -> str | None:
    """Why parsed arguments ``value`` do not match every ``path: expected`` of ``match`` (partial:
    other arguments may be anything; paths as :func:`reviewer.suite.parse_json_path` reads them),
    or None when they do."""
    from reviewer.suite import parse_json_path  # deferred: the suite package loads pydantic

    for path, expected in match.items():
        got = _at(value, parse_json_path(path))
        if got is _MISSING:
            return f"{path} missing"
        if not _same(got, expected):
            return f"{path} = {_short(got)}, want {_short(expected)}"
    return None

"""The diff engine: alignment, JSON diff, output signals, checks and change scores.

Pure functions only: no Textual, no I/O, no store (``tests/test_diff_purity.py`` holds it to that).

- :mod:`~reviewer.diff.tokens` — word tokens (``split_words``, ``tokenize``, ``word_count``)
- :mod:`~reviewer.diff.align` — aligned side-by-side rows with word-level spans and moves
- :mod:`~reviewer.diff.jsonextract` — where the JSON is in an output, and its shape
- :mod:`~reviewer.diff.jsondiff` — path-level JSON changes and the aligned JSON view
- :mod:`~reviewer.diff.signals` — refusal, truncation, length, Markdown shape, format drift
- :mod:`~reviewer.diff.toolcalls` — tool calls: normalised answers, call diffs, tool drift
- :mod:`~reviewer.diff.checks` — a suite's checks on outputs, majority per side, flips
- :mod:`~reviewer.diff.score` — change score, noise floor, assessment and triage order

Every public name is importable from here. Names load lazily (PEP 562), so ``import
reviewer.diff`` does not pay for pydantic (checks) or jsonschema until they are used. ``align``
is bound eagerly: a submodule of the same name would otherwise shadow the function once imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from reviewer.diff.align import align  # bound eagerly: see the docstring

#: public name → submodule that defines it
# fmt: off
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["score_words", "score_words_counted", "split_words", "tokenize", "word_count"], "tokens"),
    **dict.fromkeys(
        ["PAIR_THRESHOLD", "Row", "RowKind", "Span", "SpanKind", "align", "reconstruct", "split_lines", "word_spans",
         "diff_stats"],
        "align",
    ),
    **dict.fromkeys(["JSON_SHAPES", "ExtractedJson", "JsonShape", "extract_json"], "jsonextract"),
    **dict.fromkeys(
        ["JsonView", "PathChange", "PathChangeKind", "json_diff", "json_path", "json_values_view", "json_view", "pretty_json"],
        "jsondiff",
    ),
    **dict.fromkeys(
        ["REFUSAL_PHRASES", "TRUNCATION_REASONS", "Decline", "DeclineKind", "MarkdownShape", "OutputSignals",
         "PairSignals", "classify_decline", "find_refusal", "lead_in", "length_ratio", "markdown_shape",
         "output_signals", "pair_signals", "schema_error"],
        "signals",
    ),
    **dict.fromkeys(["EXCERPT_LINES", "EXCERPT_SCAN", "EXCERPT_WIDTH", "diff_excerpt"], "excerpt"),
    **dict.fromkeys(
        ["TOOL_CHECK_KINDS", "CheckResult", "Flip", "SideCheck", "flip", "run_checks", "side_checks", "side_passed"],
        "checks",
    ),
    **dict.fromkeys(
        ["TOOL_CHANGE_KINDS", "TOOL_CHANGE_LABELS", "Answer", "Call", "CallPair", "ToolChange", "ToolChangeKind",
         "ToolSignals", "args_view", "call_words", "diff_calls", "make_answer", "match_args", "normalise", "pair_calls",
         "response_schema", "tool_args_valid_rate", "tool_call_rate", "tool_drift", "tool_parameters",
         "tool_signals"],
        "toolcalls",
    ),
    **dict.fromkeys(
        ["FLAG_LABELS", "NOISE_EPSILON", "Assessment", "Sample", "assess_case", "change_score", "score_pairs", "score_word_lists", "triage"], "score"
    ),
}
# fmt: on

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'reviewer.diff' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"reviewer.diff.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from reviewer.diff.align import (
        PAIR_THRESHOLD,
        Row,
        RowKind,
        Span,
        SpanKind,
        diff_stats,
        reconstruct,
        split_lines,
        word_spans,
    )  # fmt: skip
    from reviewer.diff.checks import (
        TOOL_CHECK_KINDS,
        CheckResult,
        Flip,
        SideCheck,
        flip,
        run_checks,
        side_checks,
        side_passed,
    )  # fmt: skip
    from reviewer.diff.excerpt import EXCERPT_LINES, EXCERPT_SCAN, EXCERPT_WIDTH, diff_excerpt
    from reviewer.diff.jsondiff import (
        JsonView,
        PathChange,
        PathChangeKind,
        json_diff,
        json_path,
        json_values_view,
        json_view,
        pretty_json,
    )  # fmt: skip
    from reviewer.diff.jsonextract import JSON_SHAPES, ExtractedJson, JsonShape, extract_json
    from reviewer.diff.score import NOISE_EPSILON, Assessment, Sample, assess_case, change_score, score_pairs, triage
    from reviewer.diff.signals import (
        REFUSAL_PHRASES,
        TRUNCATION_REASONS,
        Decline,
        DeclineKind,
        MarkdownShape,
        OutputSignals,
        PairSignals,
        classify_decline,
        find_refusal,
        lead_in,
        length_ratio,
        markdown_shape,
        output_signals,
        pair_signals,
        schema_error,
    )  # fmt: skip
    from reviewer.diff.tokens import score_words, split_words, tokenize, word_count
    from reviewer.diff.toolcalls import (
        TOOL_CHANGE_KINDS,
        TOOL_CHANGE_LABELS,
        Answer,
        Call,
        CallPair,
        ToolChange,
        ToolChangeKind,
        ToolSignals,
        args_view,
        call_words,
        diff_calls,
        make_answer,
        match_args,
        normalise,
        pair_calls,
        response_schema,
        tool_args_valid_rate,
        tool_call_rate,
        tool_drift,
        tool_parameters,
        tool_signals,
    )  # fmt: skip

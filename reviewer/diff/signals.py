"""Signals of one output (JSON shape, refusal, truncation, length, Markdown structure) and of a
baseline/candidate pair (format drift, length ratio, refusal and truncation flips).

These are the changes a provider's refresh makes that a similarity score under-weights: JSON that
starts arriving in a code fence, bullets that become a numbered list, answers that grow 30%,
refusals that appear. Pure functions over text and the provider's metadata.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from reviewer.diff.jsonextract import FENCE_RE, ExtractedJson, JsonShape, extract_json
from reviewer.diff.tokens import word_count

__all__ = [
    "REFUSAL_PHRASES",
    "TRUNCATION_REASONS",
    "MarkdownShape",
    "OutputSignals",
    "PairSignals",
    "markdown_shape",
    "find_refusal",
    "output_signals",
    "pair_signals",
    "schema_error",
]

# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------

#: Openings of a refusal. Matched case-insensitively in the first :data:`REFUSAL_WINDOW`
#: characters, with any apostrophe (' ’ ʼ), any run of whitespace, commas optional.
REFUSAL_PHRASES: tuple[str, ...] = (
    "I can't help with",
    "I cannot help with",
    "I can't help you with",
    "I can't assist with",
    "I cannot assist with",
    "I can't assist you with",
    "I'm not able to help with",
    "I am not able to help with",
    "I'm unable to help with",
    "I am unable to help with",
    "I'm not able to provide",
    "I am not able to provide",
    "I'm unable to provide",
    "I am unable to provide",
    "I can't provide",
    "I cannot provide",
    "I can't comply",
    "I cannot comply",
    "I can't fulfill",
    "I cannot fulfill",
    "I can't do that",
    "I cannot do that",
    "I won't be able to help",
    "I will not be able to help",
    "I won't help with",
    "I will not help with",
    "I must decline",
    "I have to decline",
    "I'm sorry, but I can't",
    "I'm sorry, but I cannot",
    "I am sorry, but I cannot",
    "I apologize, but I can't",
    "I apologize, but I cannot",
    "I'm not comfortable",
    "As an AI language model, I can't",
    "As an AI language model, I cannot",
    "against my guidelines",
    "I can't engage in",
    "I cannot engage in",
)
#: Refusals come first; a later "I can't provide" inside a long answer is usually not one.
REFUSAL_WINDOW = 600


def _fold(s: str) -> str:
    """Lower case, one apostrophe, no commas, single spaces: the form phrases are matched in."""
    s = s.lower().replace(",", "")
    if not s.isascii():
        s = s.replace("\u2019", "'").replace("\u02bc", "'").replace("\u2018", "'")
    return " ".join(s.split())


#: Folded phrases grouped by their first two words: a phrase is only looked for when its stem
#: occurs in the window, which most answers' openings never contain.
_BY_STEM: dict[str, list[tuple[str, str]]] = {}
for _p in REFUSAL_PHRASES:
    _f = _fold(_p)
    _BY_STEM.setdefault(" ".join(_f.split()[:2]), []).append((_f, _p))
del _p, _f


def find_refusal(text: str) -> str | None:
    """The :data:`REFUSAL_PHRASES` entry that opens ``text`` as a refusal (the earliest one in the
    first :data:`REFUSAL_WINDOW` characters, on word boundaries), or None."""
    window = _fold(text[:REFUSAL_WINDOW])
    best: tuple[int, str] | None = None
    for stem, phrases in _BY_STEM.items():
        if stem not in window:
            continue
        for folded, phrase in phrases:
            at = window.find(folded)
            while at >= 0:
                end = at + len(folded)
                if (at == 0 or not window[at - 1].isalnum()) and (end == len(window) or not window[end].isalnum()):
                    if best is None or at < best[0]:
                        best = (at, phrase)
                    break
                at = window.find(folded, at + 1)
    return best[1] if best else None


#: finish/stop reasons meaning the output was cut at the token limit (OpenAI, Anthropic, Gemini,
#: OpenAI Responses), compared lower-case.
TRUNCATION_REASONS = frozenset({"length", "max_tokens", "max_output_tokens", "model_context_window_exceeded"})
#: finish reasons meaning a safety system blocked or cut the output.
_FILTER_REASONS = frozenset({"content_filter", "safety", "prohibited_content", "blocklist", "spii"})

# ---------------------------------------------------------------------------------------------
# Markdown structure
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarkdownShape:
    """Counts of Markdown structures outside code fences: heading lines, bullet items, numbered
    items, tables, and code fences (blocks)."""

    headings: int = 0
    bullets: int = 0
    numbered: int = 0
    tables: int = 0
    code_fences: int = 0


#: One pass over the line starts (the text gets a leading newline so every line starts with one,
#: which also lets ``re`` jump from newline to newline). Every branch decides within a few
#: characters of the line start; the two that depend on the line above (a setext underline, a
#: table's delimiter row) are confirmed in Python.
_MD_RE = re.compile(
    r"\n(?:"
    r"(?P<hr>[ ]{0,3}+(?:(?:\*[ \t]*+){3,}|(?:-[ \t]*+){3,}|(?:_[ \t]*+){3,})(?=\n|\Z))"  # thematic break
    r"|(?P<heading>[ ]{0,3}+\#{1,6}(?:[ \t]++\S|[ \t]*+(?=\n|\Z)))"  # ATX heading
    r"|(?P<setext>[ ]{0,3}+=++[ \t]*+(?=\n|\Z))"  # setext underline (heading if the line above has text)
    r"|(?P<delim>[ \t]*+\|?+(?:[ \t]*+:?-++:?[ \t]*+\|)++(?:[ \t]*+:?-++:?[ \t]*+)?+(?=\n|\Z))"  # table delimiter
    r"|(?P<bullet>[ \t]*+[-*+][ \t]++\S)"
    r"|(?P<numbered>[ \t]*+\d{1,9}+[.)][ \t]++\S)"
    r")"
)


_NO_MARKDOWN = MarkdownShape()


def _line_above(text: str, at: int) -> str:
    """The line that ends at the newline ``text[at]``."""
    return text[text.rfind("\n", 0, at) + 1 : at]


def markdown_shape(text: str) -> MarkdownShape:
    """Count the Markdown structures in ``text``; lines inside code fences are code, not Markdown."""
    fences = 0
    if "```" in text or "~~~" in text:
        parts, last = [], 0
        for m in FENCE_RE.finditer(text):
            fences += 1
            parts.append(text[last : m.start()])
            last = m.end()
        if fences:
            parts.append(text[last:])
            text = "\n".join(parts)
    text = "\n" + text
    headings = bullets = numbered = tables = 0
    for m in _MD_RE.finditer(text):
        kind = m.lastgroup
        if kind == "bullet":
            bullets += 1
        elif kind == "numbered":
            numbered += 1
        elif kind == "heading":
            headings += 1
        elif kind == "setext":
            above = _line_above(text, m.start())
            headings += bool(above.strip()) and not _MD_RE.match("\n" + above)
        elif kind == "delim":
            tables += "|" in _line_above(text, m.start())
    return MarkdownShape(headings, bullets, numbered, tables, fences)


# ---------------------------------------------------------------------------------------------
# JSON Schema
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    import jsonschema  # deferred: only cases with a schema pay for it

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_error(schema: dict, value: Any) -> str | None:
    """Why ``value`` does not satisfy ``schema`` (the most relevant error, with its JSON path),
    or None when it does."""
    from jsonschema.exceptions import best_match

    validator = _validator(json.dumps(schema, sort_keys=True))
    err = best_match(validator.iter_errors(value))
    if err is None:
        return None
    return f"{err.json_path}: {err.message}" if err.path else err.message


# ---------------------------------------------------------------------------------------------
# One output
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutputSignals:
    """What one output looks like, beyond its words."""

    json_shape: JsonShape
    json_valid: bool
    schema_valid: bool | None  # None: no schema given, or no JSON to validate
    refusal: bool
    refusal_reason: str | None
    truncated: bool
    words: int
    chars: int
    markdown: MarkdownShape
    error: bool
    #: The extracted JSON (value, offsets, preamble/trailer flags, parse error).
    extracted: ExtractedJson = ExtractedJson("none")


def output_signals(
    text: str,
    *,
    finish_reason: str | None = None,
    refusal: str | None = None,
    schema: dict | None = None,
    error: str | None = None,
    words: int | None = None,
) -> OutputSignals:
    """Signals of one output. ``finish_reason`` is the provider's finish/stop reason as given;
    ``refusal`` the provider's structured refusal message (OpenAI ``message.refusal``);
    ``error`` set when the call failed (the sample then has no real output); ``words`` the
    :func:`~reviewer.diff.tokens.word_count` when the caller already has it."""
    ej = extract_json(text)
    reason = (finish_reason or "").lower()
    refusal_reason: str | None = None
    if refusal:
        refusal_reason = "message.refusal"
    elif reason in _FILTER_REASONS:
        refusal_reason = f"finish_reason={reason}"
    elif reason == "refusal":
        refusal_reason = "stop_reason=refusal"
    elif (phrase := find_refusal(text)) is not None:
        refusal_reason = f'phrase: "{phrase}"'
    schema_valid: bool | None = None
    if schema is not None and ej.valid:
        schema_valid = schema_error(schema, ej.value) is None
    return OutputSignals(
        json_shape=ej.shape,
        json_valid=ej.valid,
        schema_valid=schema_valid,
        refusal=refusal_reason is not None,
        refusal_reason=refusal_reason,
        truncated=reason in TRUNCATION_REASONS or ej.shape == "truncated",
        words=word_count(text) if words is None else words,
        chars=len(text),
        markdown=_NO_MARKDOWN if ej.shape == "bare" else markdown_shape(text),  # a JSON document has none
        error=error is not None,
        extracted=ej,
    )


# ---------------------------------------------------------------------------------------------
# A baseline/candidate pair
# ---------------------------------------------------------------------------------------------

Flip2 = Literal["gained", "lost"]


@dataclass(frozen=True, slots=True)
class PairSignals:
    """How the candidate's output differs in form from the baseline's."""

    format_drift: tuple[str, ...]
    length_ratio: float
    refusal_flip: Flip2 | None
    truncation_flip: Flip2 | None


def length_ratio(baseline_words: int, candidate_words: int) -> float:
    """candidate / baseline words. Both empty → 1.0; an empty baseline counts as one word, so the
    ratio stays finite (and JSON-serializable)."""
    if baseline_words == 0:
        return 1.0 if candidate_words == 0 else float(candidate_words)
    return candidate_words / baseline_words


def _flip(before: bool, after: bool) -> Flip2 | None:
    if before == after:
        return None
    return "gained" if after else "lost"


def pair_signals(baseline: OutputSignals, candidate: OutputSignals) -> PairSignals:
    """Compare two outputs' signals. Format drift is not reported when either side errored."""
    drift: list[str] = []
    if not (baseline.error or candidate.error):
        drift = _format_drift(baseline, candidate)
    return PairSignals(
        format_drift=tuple(drift),
        length_ratio=length_ratio(baseline.words, candidate.words),
        refusal_flip=_flip(baseline.refusal, candidate.refusal),
        truncation_flip=_flip(baseline.truncated, candidate.truncated),
    )


def _format_drift(b: OutputSignals, c: OutputSignals) -> list[str]:
    out: list[str] = []
    bs, cs = b.json_shape, c.json_shape
    if bs != cs:
        if bs == "none":
            out.append(f"JSON added ({cs})")
        elif cs == "none":
            out.append(f"JSON dropped (was {bs})")
        else:
            out.append(f"JSON {bs} → {cs}")
    elif b.json_valid:
        for flag, name in (("preamble", "text before JSON"), ("trailer", "text after JSON")):
            before, after = getattr(b.extracted, flag), getattr(c.extracted, flag)
            if before != after:
                out.append(f"{name} {'added' if after else 'dropped'}")
    bm, cm = b.markdown, c.markdown
    # bullets ↔ numbered is one change, not "bullets dropped" + "numbered list added"
    if bm.bullets and not bm.numbered and cm.numbered and not cm.bullets:
        out.append("bullets → numbered")
    elif bm.numbered and not bm.bullets and cm.bullets and not cm.numbered:
        out.append("numbered → bullets")
    else:
        for field, name in (("bullets", "bullets"), ("numbered", "numbered list")):
            out.extend(_presence(getattr(bm, field), getattr(cm, field), name))
    # a code fence that only carries the JSON is already said by "JSON bare → fenced"
    b_fences = bm.code_fences - (bs == "fenced" and cs != "fenced")
    c_fences = cm.code_fences - (cs == "fenced" and bs != "fenced")
    out.extend(_presence(bm.headings, cm.headings, "headings"))
    out.extend(_presence(bm.tables, cm.tables, "table"))
    out.extend(_presence(b_fences, c_fences, "code block"))
    return out


def _presence(before: int, after: int, name: str) -> list[str]:
    if before and not after:
        return [f"{name} dropped"]
    if after and not before:
        return [f"{name} added"]
    return []

"""What the assessment cache holds per case, and how it is written and read.

Two levels, so that nothing decodes more than it uses:

- :class:`CaseRank`: a case's place in the triage (tier, change, noise, flags, flip): what the
  review app's list, the judge's case selection and the probe read. Plain columns of the store's
  ``assessment_cases`` table.
- :class:`CaseSummary`: a :class:`CaseRank` with what the changelog and the gate count: each check's
  pass counts, each side's :class:`~.figures.SideFigures` (its samples' counts, words and
  latencies, the outputs it stored), the format drift and the tool changes. One compact value
  per case (:func:`encode_summary`): each side's numbers packed as fixed-size integers and
  doubles, then a short JSON array of the rest; read only by the exports and the gate.

The full :class:`~reviewer.diff.score.Assessment` of a case (every signal, the extracted JSON, the
decline spans) is not cached: it is recomputed from the case's own outputs when a case is shown
(:func:`reviewer.analysis.detail`), which takes about a millisecond. A :class:`CaseRank` made by
:func:`reviewer.analysis.ranked` with a ``detail`` loader answers every other ``Assessment``
attribute by doing that once (so code that was handed full assessments keeps working).

Packed numbers and JSON, never pickle: a store someone sent you is untrusted input.
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from .figures import COUNTS, CaseStats, SideFigures, figures_of

if TYPE_CHECKING:
    from ..diff.score import Assessment
    from ..diff.toolcalls import ToolChange
    from ..store.records import Output

__all__ = [
    "CaseRank", "CaseSummary", "CheckFigures", "RankRow", "decode_summaries", "decode_summary", "encode_summary", "rank_of",
    "rank_row", "summarize", "triage_key",
]  # fmt: skip

#: One case as the store's ``assessment_cases`` row holds it, without its rank:
#: (case_id, tier, change, within, noise, noise_known, noise_p, flip, flags, summary).
RankRow = tuple[str, int, float, float | None, int, int, float | None, str, str, bytes]


@dataclass(slots=True, eq=False)
class CaseRank:
    """One case's place in the triage: the fields of :class:`~reviewer.diff.score.Assessment`
    that rank and list it. With a ``detail`` loader, any other attribute of ``Assessment``
    (signals, checks, pair, tool calls) is read from the full assessment, computed on first use."""

    case_id: str
    change: float
    within: float | None
    noise: bool
    flags: tuple[str, ...]
    flip: Literal["negative", "positive", "none"]
    tier: int
    noise_known: bool = True
    noise_p: float | None = None
    _detail: Callable[[str], Assessment] | None = field(default=None, repr=False)
    _full: Assessment | None = field(default=None, repr=False)

    def _key(self) -> tuple[Any, ...]:
        return (self.case_id, self.change, self.within, self.noise, self.flags, self.flip, self.tier, self.noise_known,
                self.noise_p)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def full(self) -> Assessment:
        """The full assessment (computed from the case's outputs once, then kept)."""
        if self._full is None:
            if self._detail is None:
                raise LookupError(f"case {self.case_id!r}: no detail loader for its full assessment")
            self._full = self._detail(self.case_id)
        return self._full

    def __getattr__(self, name: str) -> Any:
        # only reached for names that are not fields: the full assessment's other attributes
        if name.startswith("_") or self._detail is None:
            raise AttributeError(name)
        return getattr(self.full(), name)


@dataclass(frozen=True, slots=True)
class CheckFigures:
    """One check of a case: its label and kind, and each side's passes out of samples."""

    label: str
    kind: str
    baseline_passes: int
    baseline_samples: int
    baseline_passed: bool
    candidate_passes: int
    candidate_samples: int
    candidate_passed: bool


_NO_FIGURES = SideFigures(CaseStats._make([*(0,) * len(COUNTS), None, None]), (), (), 0)


@dataclass(slots=True, eq=False)
class CaseSummary(CaseRank):
    """A :class:`CaseRank` with what the changelog and the gate count of the case."""

    checks: tuple[CheckFigures, ...] = ()
    baseline: SideFigures = _NO_FIGURES
    candidate: SideFigures = _NO_FIGURES
    #: the case counts tool calls: it has tools or a response format declared, or a side called a
    #: tool (as ``Assessment.baseline_tools or Assessment.candidate_tools``)
    tooled: bool = False
    format_drift: tuple[str, ...] = ()  # the first samples' format drift (Assessment.pair.format_drift)
    tool_changes: tuple[ToolChange, ...] = ()

    def _key(self) -> tuple[Any, ...]:
        return (*CaseRank._key(self), self.checks, self.baseline, self.candidate, self.tooled, self.format_drift,
                self.tool_changes)  # fmt: skip


def triage_key(row: RankRow) -> tuple[int, bool, float, str]:
    """:func:`reviewer.diff.score.triage`'s order on a stored row."""
    return (row[1], row[7] != "negative", -row[2], row[0])


# -- encoding ---------------------------------------------------------------------------------


def _change(ch: Any) -> list[Any]:
    return [ch.kind, ch.name, ch.position, ch.new_position, ch.new_name, ch.path, ch.new_path, ch.old, ch.new,
            int(ch.over_quoted), ch.detail]  # fmt: skip


#: The summary's layout version (its first byte).
_VERSION = 1
#: A side's fixed part: outputs stored, how many words and latencies follow, the CaseStats
#: counts, its two medians (0.0 when None, with bit 0 / bit 1 of the last byte set), all
#: little-endian; then the words (int64) and latencies (float64).
_SIDE_HEAD = struct.Struct("<III" + "q" * len(COUNTS) + "ddB")
_COUNT_END = 3 + len(COUNTS)
_SWAP = sys.byteorder != "little"  # arrays are native: swapped on a big-endian machine


def _pack_side(f: SideFigures) -> bytes:
    s = f.stats
    wm, lm = s.words_median, s.latency_median
    head = _SIDE_HEAD.pack(f.stored, len(f.words), len(f.latencies), *s[: len(COUNTS)], 0.0 if wm is None else wm,
                           0.0 if lm is None else lm, (wm is None) | (lm is None) << 1)  # fmt: skip
    words, latencies = array("q", f.words), array("d", f.latencies)
    if _SWAP:
        words.byteswap()
        latencies.byteswap()
    return head + words.tobytes() + latencies.tobytes()


def encode_summary(a: Assessment, figures: tuple[SideFigures, SideFigures, bool]) -> bytes:
    """The changelog's figures of one assessed case (and its sides' :func:`~.figures.figures_of`):
    the layout version byte, the baseline's and the candidate's numbers packed
    (:data:`_SIDE_HEAD`, then the samples' words and latencies), then ``[checks, tooled, format
    drift, tool changes]`` as compact UTF-8 JSON; a check is ``[label, kind, passes, samples,
    passed]`` per side (baseline first), ``tooled`` 0 or 1, a tool change its fields in
    :class:`~reviewer.diff.toolcalls.ToolChange`'s order. The numbers read back exactly; the JSON
    part is the same text for every case with the same checks' figures and no drift (decoded
    once per distinct text)."""
    checks = [
        [bc.check.label(), bc.check.kind, bc.passes, bc.samples, int(bc.passed), cc.passes, cc.samples, int(cc.passed)]
        for bc, cc in zip(a.baseline_checks, a.candidate_checks, strict=False)
    ]
    base, cand, tooled = figures
    rest = [
        checks,
        int(tooled),
        list(a.pair.format_drift) if "format_drift" in a.flags else [],
        [_change(ch) for ch in a.tool_changes] if "tool_drift" in a.flags else [],
    ]
    tail = json.dumps(rest, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return bytes((_VERSION,)) + _pack_side(base) + _pack_side(cand) + tail


def rank_row(a: Assessment, checks: Sequence[Any], baseline: Sequence[Output], candidate: Sequence[Output]) -> RankRow:
    """The stored row of one assessed case (without its rank): ``checks`` are the case's, and
    ``baseline`` / ``candidate`` every output each side stored for it."""
    return (a.case_id, a.tier, a.change, a.within, int(a.noise), int(a.noise_known), a.noise_p, a.flip, " ".join(a.flags),
            encode_summary(a, figures_of(a, checks, baseline, candidate)))  # fmt: skip


# The same figures recur across cases: one immutable object each, made once.
_CHECKS: dict[tuple[Any, ...], CheckFigures] = {}


def _check(c: list[Any]) -> CheckFigures:
    key = tuple(c)
    found = _CHECKS.get(key)
    if found is None:
        found = _CHECKS[key] = CheckFigures(c[0], c[1], c[2], c[3], bool(c[4]), c[5], c[6], bool(c[7]))
    return found


def _tool_change(v: list[Any]) -> ToolChange:
    from ..diff.toolcalls import ToolChange

    return ToolChange(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], bool(v[9]), v[10])


_stats = partial(tuple.__new__, CaseStats)  # CaseStats._make, made in C
_figures = partial(tuple.__new__, SideFigures)

#: The JSON part of a summary decoded: (checks, tooled, format drift, tool changes).
_Rest = tuple[tuple[CheckFigures, ...], bool, tuple[str, ...], tuple["ToolChange", ...]]


def _unpack_side(blob: bytes, at: int) -> tuple[SideFigures, int]:
    v = _SIDE_HEAD.unpack_from(blob, at)
    at += _SIDE_HEAD.size
    end_words = at + 8 * v[1]
    end = end_words + 8 * v[2]
    if end > len(blob):
        raise ValueError("a cached summary cut short")
    # the samples' values as arrays (8 bytes a value, no object each): 100,000 cases hold 600,000 of each
    words, latencies = array("q"), array("d")
    words.frombytes(blob[at:end_words])
    latencies.frombytes(blob[end_words:end])
    if _SWAP:
        words.byteswap()
        latencies.byteswap()
    none = v[-1]
    stats = _stats((*v[3:_COUNT_END], None if none & 1 else v[-3], None if none & 2 else v[-2]))
    return _figures((stats, words, latencies, v[0])), end


def _rest(text: bytes) -> _Rest:
    checks, tooled, drift, changes = json.loads(text)
    return (
        tuple([_check(c) for c in checks]) if checks else (),
        bool(tooled),
        tuple(drift) if drift else (),
        tuple([_tool_change(v) for v in changes]) if changes else (),
    )


def decode_summary(row: Sequence[Any], rests: dict[bytes, _Rest] | None = None) -> CaseSummary:
    """The :class:`CaseSummary` of a stored row (as :data:`RankRow`). ``rests`` remembers each
    distinct JSON part decoded (a few hundred in 100,000 cases). A value this version did not
    write raises TypeError, ValueError or struct.error."""
    case_id, tier, change, within, noise, noise_known, noise_p, flip, flags, blob = row
    if not isinstance(blob, bytes) or not blob or blob[0] != _VERSION:
        raise TypeError(f"case {case_id!r}: not a cached summary of this version")
    base, at = _unpack_side(blob, 1)
    cand, at = _unpack_side(blob, at)
    text = blob[at:]
    rest = rests.get(text) if rests is not None else None
    if rest is None:
        rest = _rest(text)
        if rests is not None:
            rests[text] = rest
    checks, tooled, drift, changes = rest
    return CaseSummary(
        case_id, change, within, bool(noise), tuple(flags.split()) if flags else (), flip, tier, bool(noise_known), noise_p,
        None, None, checks, base, cand, tooled, drift, changes,
    )  # fmt: skip


def decode_summaries(rows: Sequence[Sequence[Any]]) -> list[CaseSummary]:
    """Stored rows (summary last) as summaries, each distinct JSON part decoded once."""
    rests: dict[bytes, _Rest] = {}
    return [decode_summary(r, rests) for r in rows]


def rank_of(row: Sequence[Any], detail: Callable[[str], Assessment] | None = None) -> CaseRank:
    """A :class:`CaseRank` from the first columns of a stored row (as :data:`RankRow`)."""
    case_id, tier, change, within, noise, noise_known, noise_p, flip, flags = row[:9]
    return CaseRank(case_id, change, within, bool(noise), tuple(flags.split()) if flags else (), flip, tier,
                    bool(noise_known), noise_p, detail)  # fmt: skip


def summarize(
    a: Assessment | CaseSummary, checks: Sequence[Any], baseline: Sequence[Output], candidate: Sequence[Output]
) -> CaseSummary:
    """The changelog's figures of a full assessment (what the cache would give for it; the
    arguments as :func:`rank_row`'s). A summary is returned as it is."""
    if isinstance(a, CaseSummary):
        return a
    return decode_summary(rank_row(a, checks, baseline, candidate))

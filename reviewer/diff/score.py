"""How much a case changed, whether that is more than sampling noise, and the triage order.

The change score is a word-level edit distance: rapidfuzz's Indel distance (insertions and
deletions, the LCS distance) over :func:`~reviewer.diff.tokens.score_words` (whitespace words; CJK by character), normalized
to [0, 1]: 0 identical, 1 nothing in common. Words, not characters, because a reviewer reads
words: "refund within 30 days" → "refund within 14 days" is one word in four.

A model sampled twice rarely says the same thing twice, so a change only matters when the
candidate differs from the baseline more than the versions differ from themselves. With two or
more samples on a side, the mean *within-version* distance is the noise floor, and a changed case
is a real change only when one of these holds (else it is marked ``noise``):

1. **both versions are deterministic** (every within distance is 0) and they differ;
2. **the cross distances exceed the spread**: the mean cross distance is more than
   ``(1 + NOISE_MARGIN)`` × the mean within distance *and* the real baseline/candidate split is
   the most separated one a permutation test allows (p ≤ max(0.05, smallest possible p) over all
   splits of the samples into two groups, :func:`reviewer.stats.distance_permutation_test`).
   The margin is needed because labels alone cannot speak at small k: with 3 samples a side
   there are only 10 distinct splits, so p ≥ 0.10 and a permutation test alone calls 1 in 10
   pure-noise cases "the most separated split"; the margin, fitted on synthetic noise
   (bench/calibration.py, seed 1) to a ≤ 5% false-alarm target, brings that down;
3. **consistent words differ** (3 or more samples on each side): at least
   ``CONSISTENT_MIN`` words are said by every sample of one version and by no sample of the other
   — a changed number, a renamed key — which paraphrase noise seldom does consistently.

With one sample a side there is no floor at all: ``within`` is None, ``noise`` is False and
``noise_known`` is False — the review and the export must say "noise floor unknown", not
invent one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain, combinations
from typing import TYPE_CHECKING, Any, Literal

from rapidfuzz.distance import Indel

from reviewer.diff.signals import OutputSignals, PairSignals, output_signals, pair_signals
from reviewer.diff.tokens import score_words, score_words_counted

# Checks, tool calls and the permutation test are imported where a case needs them: importing
# reviewer.diff.checks or toolcalls costs ~10 ms, and a check's type (reviewer.suite) loads pydantic
# (~100 ms), which ``reviewer diff a b`` and a case without checks or tools never need.
if TYPE_CHECKING:
    from reviewer.diff.checks import Flip, SideCheck
    from reviewer.diff.toolcalls import ToolChange, ToolSignals
    from reviewer.suite import Check
    from reviewer.toolcall import ToolCall

__all__ = [
    "NOISE_EPSILON",
    "Assessment",
    "Sample",
    "assess_case",
    "change_score",
    "score_pairs",
    "triage",
]

#: Before issue 12 the whole rule was "change ≤ within + NOISE_EPSILON is noise" (14–16% false
#: alarms at 3 samples a side). Kept as an absolute floor under the margin below.
NOISE_EPSILON = 0.01

#: A real change needs mean cross > (1 + NOISE_MARGIN) × mean within (+ NOISE_EPSILON). Fitted with
#: ``bench/calibration.py --fit --seed 1``: the smallest margin whose false-alarm rate on noise-only
#: cases at 3 samples a side is ≤ 4% (a little under the 5% goal, for a set it was not fitted on).
NOISE_MARGIN = 0.13

#: The permutation test's level; at small k the smallest possible p is used instead (see above).
NOISE_ALPHA = 0.05

#: Words said by every sample of one side and none of the other that make a change real (k ≥ 3).
CONSISTENT_MIN = 2
#: With 3 or more samples a side, every candidate sample this much longer (or shorter) than every
#: baseline sample is a change whatever the words: verbosity that paraphrase noise cannot produce.
LENGTH_SHIFT = 0.2

#: Every flag an assessment can carry, in the order they are listed, with the words people read.
FLAG_LABELS: dict[str, str] = {
    "negative_flip": "negative flip",
    "positive_flip": "positive flip",
    "format_drift": "format drift",
    "tool_drift": "tool drift",
    "refusal_flip": "refusal flip",
    "non_answer_flip": "non-answer flip",
    "truncation": "truncation",
    "error": "error",
}


@dataclass(frozen=True, slots=True)
class Sample:
    """One output of one model for one case, with what the provider said about it."""

    text: str
    finish_reason: str | None = None
    refusal: str | None = None
    error: str | None = None
    #: the answer's tool calls, in order (ids are never compared)
    tool_calls: tuple[ToolCall, ...] = ()


def change_score(a: str, b: str) -> float:
    """0.0 when ``a`` and ``b`` have the same words, 1.0 when they share none."""
    if a == b:
        return 0.0
    return Indel.normalized_distance(score_words(a), score_words(b))


def score_pairs(pairs: Sequence[tuple[str, str]]) -> list[float]:
    """:func:`change_score` of each pair. A text that occurs in several pairs (a sample compared
    with every sample of the other side) is split once; the others are not kept, so a batch of
    10,000 distinct pairs does not hold millions of word strings at once.

    A plain loop: rapidfuzz's ``process.cpdist`` (which needs numpy) was measured ~20% faster on
    the distance alone, which is a minor part of the cost here, and returns float32; not worth a
    dependency.
    """
    counts = Counter(t for pair in pairs for t in pair)
    kept: dict[str, list[str]] = {}
    dist = Indel.normalized_distance

    def words(t: str) -> list[str]:
        if counts[t] == 1:
            return score_words(t)
        got = kept.get(t)
        if got is None:
            got = kept[t] = score_words(t)
        return got

    return [0.0 if a == b else dist(words(a), words(b)) for a, b in pairs]


def score_word_lists(pairs: Iterable[tuple[Sequence[Any], Sequence[Any]]]) -> list[float]:
    """:func:`change_score` of pairs already split with :func:`score_words` (or encoded together
    with :func:`_token_ids`: the same distances)."""
    dist = Indel.normalized_distance
    return [0.0 if a == b else dist(a, b) for a, b in pairs]


#: A case with at least this many distances to take (3 samples a side: 15) has its word lists
#: encoded as token ids first. rapidfuzz hashes every word of a list on every call and matches
#: hashes through a hash map; over a bytes or str of ids it reads a buffer, and ids under 256 index
#: a table: a distance costs about a fifth. Encoding costs about seven distances, so a case of one
#: or two samples a side keeps its lists.
ENCODE_MIN_PAIRS = 12


def _token_ids(lists: Sequence[list[str]]) -> list[bytes] | list[str]:
    """The word lists with each distinct word replaced by one id (in order of first occurrence):
    bytes when there are at most 256 distinct words, else a str of one code point per word.
    Equal words get equal ids and different words different ones, so every Indel distance (an
    LCS over equality) and every length is that of the lists."""
    vocab = dict.fromkeys(chain.from_iterable(lists))
    get = dict(zip(vocab, range(len(vocab)), strict=True)).__getitem__
    if len(vocab) <= 256:
        return [bytes(map(get, w)) for w in lists]
    return ["".join(map(chr, map(get, w))) for w in lists]  # < 0x110000 distinct words: a case is not that big


@dataclass(frozen=True, slots=True)
class Assessment:
    """Everything the review needs to rank and explain one case's change."""

    case_id: str
    change: float  # mean cross-version distance (every baseline sample vs every candidate sample)
    within: float | None  # mean within-version distance, when a side has ≥ 2 usable samples
    noise: bool  # changed, but no more than the versions differ from themselves
    flags: tuple[
        str, ...
    ]  # negative_flip, positive_flip, format_drift, tool_drift, refusal_flip, non_answer_flip, truncation, error
    flip: Flip
    baseline_checks: list[SideCheck]
    candidate_checks: list[SideCheck]
    baseline_signals: list[OutputSignals]
    candidate_signals: list[OutputSignals]
    pair: PairSignals  # the first sample of each side
    tier: int  # 0 negative flip or flagged, 1 changed above the noise floor, 2 noise, 3 unchanged
    # False when no side has 2 usable samples: no floor, so "noise" cannot be told (say so)
    noise_known: bool = True
    # permutation p of the baseline/candidate split (None: not needed or no floor); its floor
    # is 2 / C(2k, k) — 0.10 at 3 samples a side
    noise_p: float | None = None
    consistent_words: int = 0  # words every sample of one side says and no sample of the other
    #: with the ``tool_drift`` flag: the candidate's call changes that the baseline's own samples
    #: do not show (one drifting candidate sample's, against the first baseline sample); else ()
    tool_changes: tuple[ToolChange, ...] = ()
    #: per sample, its calls in figures; empty when the case has no tools or response format and
    #: no sample called a tool (see :meth:`tool_signals`)
    baseline_tools: list[ToolSignals] = field(default_factory=list)
    candidate_tools: list[ToolSignals] = field(default_factory=list)

    def tool_signals(self, side: Literal["baseline", "candidate"]) -> list[ToolSignals]:
        """Each sample's :class:`~reviewer.diff.toolcalls.ToolSignals` on that side, one per sample
        (a text-only case gets "no call" for each), for ``tool_call_rate`` and ``tool_args_valid_rate``."""
        stored = self.baseline_tools if side == "baseline" else self.candidate_tools
        if stored:
            return stored
        from reviewer.diff.toolcalls import ToolSignals

        sig = self.baseline_signals if side == "baseline" else self.candidate_signals
        return [ToolSignals(error=g.error) for g in sig]

    @property
    def baseline_passed(self) -> bool:
        from reviewer.diff.checks import side_passed

        return side_passed(self.baseline_checks)

    @property
    def candidate_passed(self) -> bool:
        from reviewer.diff.checks import side_passed

        return side_passed(self.candidate_checks)


def _signals(s: Sample, schema: dict | None, words: int | None = None) -> OutputSignals:
    return output_signals(s.text, finish_reason=s.finish_reason, refusal=s.refusal, schema=schema, error=s.error, words=words)


def _majority(flags: Iterable[bool], n: int) -> bool:
    return sum(flags) * 2 > n


def assess_case(
    case_id: str,
    baseline: Sequence[Sample],
    candidate: Sequence[Sample],
    *,
    checks: Sequence[Check] = (),
    reference: str | None = None,
    schema: dict | None = None,
    tools: Any = None,
    response_format: dict | None = None,
) -> Assessment:
    """Score, check and flag one case from its baseline and candidate samples (≥ 1 each).

    ``schema`` defaults to the value of the case's ``json_schema`` check, else to the schema of
    its ``response_format``. ``tools`` are the case's tools (OpenAI function format), against
    whose ``parameters`` each call's arguments are validated. Errored samples fail every check and
    are left out of the distances; a side with no usable sample is at distance 1 from a side with
    one. A sample's tool calls count in its change score (see
    :func:`~reviewer.diff.toolcalls.call_words`). Flags for refusal and truncation compare the
    sides' majorities; format drift and tool drift count only when the baseline's own samples do
    not show the same difference.
    """
    if not baseline or not candidate:
        raise ValueError(f"case {case_id!r}: need at least one baseline and one candidate sample")
    r_schema = None
    if response_format:
        from reviewer.diff.toolcalls import response_schema

        r_schema = response_schema(response_format)
    if schema is None:
        schema = next((c.value for c in checks if c.kind == "json_schema"), None)
        if schema is None and r_schema:
            schema = r_schema
    # each distinct output is split once, for its word count and for every distance it takes part
    # in, and has its signals computed once (an unchanged case, a deterministic model: the same text)
    b_split, b_sig, c_split, c_sig = _split_and_signals(baseline, candidate, schema)
    tooled = (
        bool(tools) or r_schema is not None or _any_calls(baseline) or _any_calls(candidate)
        or (bool(checks) and _any_tool_check(checks))
    )  # fmt: skip
    b_ans: list = []
    c_ans: list = []
    case_flip: Flip
    if not tooled and not checks:  # nothing to check: every side passes, no flip
        b_checks, c_checks, case_flip = [], [], "none"
        b_ok = [w for s, (w, _) in zip(baseline, b_split, strict=True) if s.error is None]
        c_ok = [w for s, (w, _) in zip(candidate, c_split, strict=True) if s.error is None]
    elif not tooled:  # text only: as before tool calls existed, at no extra cost
        from reviewer.diff.checks import flip, run_text_checks, side_checks, side_passed

        # a repeated text with its signals shared (see _split_and_signals) is checked once
        done: dict[int, list] = {}
        per_sample = [
            done.get(id(g)) or done.setdefault(id(g), run_text_checks(checks, s.text, reference, g))
            for s, g in zip([*baseline, *candidate], [*b_sig, *c_sig], strict=True)
        ]
        b_checks = side_checks(per_sample[: len(baseline)])
        c_checks = side_checks(per_sample[len(baseline) :])
        case_flip = flip(side_passed(b_checks), side_passed(c_checks))
        b_ok = [w for s, (w, _) in zip(baseline, b_split, strict=True) if s.error is None]
        c_ok = [w for s, (w, _) in zip(candidate, c_split, strict=True) if s.error is None]
    else:
        from reviewer.diff.checks import flip, run_checks, side_checks, side_passed
        from reviewer.diff.toolcalls import call_words, tool_parameters

        params = tool_parameters(tools)
        memo: dict = {}  # each distinct call parsed and validated once
        b_ans = [_answer(s, g, params, r_schema, memo) for s, g in zip(baseline, b_sig, strict=True)]
        c_ans = [_answer(s, g, params, r_schema, memo) for s, g in zip(candidate, c_sig, strict=True)]
        b_checks = side_checks([run_checks(checks, s.text, reference=reference, signals=g, answer=x)
                                for s, g, x in zip(baseline, b_sig, b_ans, strict=True)])  # fmt: skip
        c_checks = side_checks([run_checks(checks, s.text, reference=reference, signals=g, answer=x)
                                for s, g, x in zip(candidate, c_sig, c_ans, strict=True)])  # fmt: skip
        # the calls count in the distances as words of their own (see toolcalls.call_words)
        b_ok = [
            w + call_words(s.tool_calls) if s.tool_calls else w
            for s, (w, _) in zip(baseline, b_split, strict=True)
            if s.error is None
        ]
        c_ok = [
            w + call_words(s.tool_calls) if s.tool_calls else w
            for s, (w, _) in zip(candidate, c_split, strict=True)
            if s.error is None
        ]
        case_flip = flip(side_passed(b_checks), side_passed(c_checks))

    # distances: every cross pair, then every within pair (see _pair_scores)
    scores, b_seq, c_seq = _pair_scores(b_ok, c_ok)
    n_cross = len(b_ok) * len(c_ok)
    cross, within_scores = scores[:n_cross], scores[n_cross:]
    change = sum(cross) / n_cross if cross else (0.0 if not b_ok and not c_ok else 1.0)
    within = sum(within_scores) / len(within_scores) if within_scores else None
    # over the ids when encoded (one id per distinct word: the same count, and small ints hash for free)
    consistent = _consistent_words(b_seq, c_seq) if min(len(b_ok), len(c_ok)) >= 3 else 0
    noise_p = None
    # a split needs a usable sample on each side: a side whose every sample errored has none
    if (
        cross and change > 0 and within is not None and within > 0
        and change > within * (1 + NOISE_MARGIN) + NOISE_EPSILON
    ):  # fmt: skip
        noise_p = _split_p(len(b_ok), len(c_ok), scores, n_cross)
    lengths = ([len(w) for w in b_ok], [len(w) for w in c_ok])
    noise = (
        change > 0
        and within is not None
        and not real_change(change, within, noise_p, len(b_ok), len(c_ok), consistent, lengths=lengths)
    )

    pair = pair_signals(b_sig[0], c_sig[0])
    flags: list[str] = []
    if case_flip == "negative":
        flags.append("negative_flip")
    elif case_flip == "positive":
        flags.append("positive_flip")
    if pair.format_drift:
        own = {d for g in b_sig[1:] for d in pair_signals(b_sig[0], g).format_drift}
        if set(pair.format_drift) - own:
            flags.append("format_drift")
    tool_changes: tuple[ToolChange, ...] = ()
    if b_ans:
        from reviewer.diff.toolcalls import tool_drift

        drift = tool_drift(
            [x for s, x in zip(baseline, b_ans, strict=True) if s.error is None],
            [x for s, x in zip(candidate, c_ans, strict=True) if s.error is None],
        )
        if drift:
            flags.append("tool_drift")
            tool_changes = drift
    nb, nc = len(b_sig), len(c_sig)
    if _majority((g.refusal for g in b_sig), nb) != _majority((g.refusal for g in c_sig), nc):
        flags.append("refusal_flip")
    if _majority((g.non_answer for g in b_sig), nb) != _majority((g.non_answer for g in c_sig), nc):
        flags.append("non_answer_flip")
    b_trunc = sum(g.truncated for g in b_sig)
    c_trunc = sum(g.truncated for g in c_sig)
    if (b_trunc * 2 > nb) != (c_trunc * 2 > nc) or (c_trunc and not b_trunc):
        flags.append("truncation")
    if any(g.error for g in b_sig) or any(g.error for g in c_sig):
        flags.append("error")

    b_tools: list[ToolSignals] = []
    c_tools: list[ToolSignals] = []
    if b_ans:
        from reviewer.diff.toolcalls import tool_signals

        b_tools = [tool_signals(x, error=s.error is not None) for s, x in zip(baseline, b_ans, strict=True)]
        c_tools = [tool_signals(x, error=s.error is not None) for s, x in zip(candidate, c_ans, strict=True)]
    if flags:
        tier = 0
    elif change == 0:
        tier = 3
    elif noise:
        tier = 2
    else:
        tier = 1
    return Assessment(
        case_id=case_id,
        change=change,
        within=within,
        noise=noise,
        flags=tuple(flags),
        flip=case_flip,
        baseline_checks=b_checks,
        candidate_checks=c_checks,
        baseline_signals=b_sig,
        candidate_signals=c_sig,
        pair=pair,
        tier=tier,
        noise_known=within is not None,
        noise_p=noise_p,
        consistent_words=consistent,
        tool_changes=tool_changes,
        baseline_tools=b_tools,
        candidate_tools=c_tools,
    )


def _any_tool_check(checks: Sequence[Check]) -> bool:
    from reviewer.diff.checks import TOOL_CHECK_KINDS

    return any(c.kind in TOOL_CHECK_KINDS for c in checks)


def _pair_scores(
    b_ok: list[list[str]], c_ok: list[list[str]]
) -> tuple[list[float], Sequence[Sequence[Any]], Sequence[Sequence[Any]]]:
    """The distances of every cross pair (baseline-major), then of every baseline pair and every
    candidate pair (in ``combinations`` order), and the sequences they were taken over: token ids
    when the case has :data:`ENCODE_MIN_PAIRS` distances to take, else the word lists.

    A text that occurs again shares its word list (:func:`_split_and_signals`): a pair of one list
    with itself scores 0 and a pair of two lists is scored once however often it occurs (a
    deterministic baseline against a changed candidate: one distance, not nine)."""
    seqs: list[list[str]] = [*b_ok, *c_ok]
    n_b = len(b_ok)
    slot: dict[int, int] = {}
    at = [slot.setdefault(id(w), len(slot)) for w in seqs]
    b_at, c_at = at[:n_b], at[n_b:]
    pairs = [(x, y) for x in b_at for y in c_at] + list(combinations(b_at, 2)) + list(combinations(c_at, 2))
    if len(slot) == len(seqs):  # no repeated text: every pair once
        uniq: Sequence[Sequence[Any]] = _token_ids(seqs) if len(pairs) >= ENCODE_MIN_PAIRS else seqs
        scores = score_word_lists([(uniq[x], uniq[y]) for x, y in pairs])
    else:
        needed = sorted({(x, y) if x < y else (y, x) for x, y in pairs if x != y})
        lists = list({id(w): w for w in seqs}.values())  # in slot order: first occurrences
        uniq = _token_ids(lists) if len(needed) >= ENCODE_MIN_PAIRS else lists
        scored = dict(zip(needed, score_word_lists([(uniq[x], uniq[y]) for x, y in needed]), strict=True))
        scores = [0.0 if x == y else scored[(x, y) if x < y else (y, x)] for x, y in pairs]
    return scores, [uniq[j] for j in b_at], [uniq[j] for j in c_at]


def _firsts(texts: Sequence[str]) -> list[int]:
    """For each text, the index of its first occurrence in ``texts``. Pairwise for a few samples
    (texts of different lengths compare in O(1)); a dict (which hashes every text) for many."""
    if len(texts) > 16:
        seen: dict[str, int] = {}
        return [seen.setdefault(t, i) for i, t in enumerate(texts)]
    firsts: list[int] = []
    for i, t in enumerate(texts):
        for j in range(i):
            if firsts[j] == j and texts[j] == t:
                firsts.append(j)
                break
        else:
            firsts.append(i)
    return firsts


def _split_and_signals(
    baseline: Sequence[Sample], candidate: Sequence[Sample], schema: dict | None
) -> tuple[list[tuple[list[str], int]], list[OutputSignals], list[tuple[list[str], int]], list[OutputSignals]]:
    """Each sample's :func:`score_words_counted` and signals, a text that occurs again (on either
    side) split once and its signals reused when the provider said the same about it."""
    samples = [*baseline, *candidate]
    firsts = _firsts([s.text for s in samples])
    split: list[tuple[list[str], int]] = []
    sig: list[OutputSignals] = []
    seen: dict[tuple, OutputSignals] = {}  # (first index of the text, what the provider said) → signals
    for i, (s, f) in enumerate(zip(samples, firsts, strict=True)):
        words = score_words_counted(s.text) if f == i else split[f]
        split.append(words)
        key = (f, s.finish_reason, s.refusal, s.error)
        g = seen.get(key)
        if g is None:
            g = seen[key] = _signals(s, schema, words[1])
        sig.append(g)
    n = len(baseline)
    return split[:n], sig[:n], split[n:], sig[n:]


def _any_calls(samples: Sequence[Sample]) -> bool:
    for s in samples:  # noqa: SIM110  (a loop: cheaper than any() over a generator, once per case)
        if s.tool_calls:
            return True
    return False


def _answer(s: Sample, g: OutputSignals, params: dict, r_schema: dict | None, memo: dict) -> Any:
    from reviewer.diff.toolcalls import make_answer

    return make_answer(
        s.text, s.tool_calls, refusal=s.refusal, finish_reason=s.finish_reason, params=params, schema=r_schema,
        extracted=g.extracted, memo=memo,
    )  # fmt: skip


def real_change(
    change: float,
    within: float,
    noise_p: float | None,
    n_baseline: int,
    n_candidate: int,
    consistent: int,
    *,
    margin: float = NOISE_MARGIN,
    lengths: tuple[Sequence[int], Sequence[int]] | None = None,
) -> bool:
    """The noise rule (see the module docstring), from a case's figures: is this change more
    than the versions' own spread explains? ``margin`` is a parameter for the calibration bench."""
    if change <= 0:
        return False
    if within == 0:
        return True  # both versions say the same thing every time, and not the same as each other
    if consistent >= CONSISTENT_MIN and min(n_baseline, n_candidate) >= 3:
        return True
    if lengths is not None and min(len(lengths[0]), len(lengths[1])) >= 3 and min(lengths[0]) > 0:
        b_len, c_len = lengths
        if min(c_len) > max(b_len) * (1 + LENGTH_SHIFT) or max(c_len) * (1 + LENGTH_SHIFT) < min(b_len):
            return True
    if noise_p is None or change <= within * (1 + margin) + NOISE_EPSILON:
        return False
    return noise_p <= max(NOISE_ALPHA, _smallest_p(n_baseline, n_candidate)) + 1e-12


def _smallest_p(n_a: int, n_b: int) -> float:
    count = math.comb(n_a + n_b, n_a)
    return 2 / count if n_a == n_b else 1 / count


def _split_p(n_b: int, n_c: int, scores: list[float], n_cross: int) -> float:
    """Permutation p of the real split, from the cross scores (baseline-major) and the within
    scores (baseline pairs, then candidate pairs, in combinations order) of assess_case."""
    n = n_b + n_c
    d: dict[tuple[int, int], float] = {}
    for idx, (i, j) in enumerate((i, n_b + j) for i in range(n_b) for j in range(n_c)):
        d[i, j] = scores[idx]
    pairs = list(combinations(range(n_b), 2)) + list(combinations(range(n_b, n), 2))
    for idx, ij in enumerate(pairs):
        d[ij] = scores[n_cross + idx]
    from reviewer.stats import distance_permutation_test

    n_resamples = 500  # used only above DISTANCE_EXACT_MAX splits (k ≥ 7 a side)
    return distance_permutation_test(lambda i, j: d[i, j], n_b, n_c, n_resamples=n_resamples).p


def _consistent_words(b_words: Sequence[Sequence[Any]], c_words: Sequence[Sequence[Any]]) -> int:
    """How many distinct words every sample of one side has and no sample of the other."""
    b_sets = [set(w) for w in b_words]
    c_sets = [set(w) for w in c_words]
    b_all, c_all = set.intersection(*b_sets), set.intersection(*c_sets)
    b_any, c_any = set.union(*b_sets), set.union(*c_sets)
    return len(b_all - c_any) + len(c_all - b_any)


def triage(assessments: Iterable[Assessment]) -> list[Assessment]:
    """Review order: tier (flagged cases first, unchanged last) with negative flips ahead of the
    other flagged cases (a check that used to pass now fails: the likeliest regression), then the
    biggest change first, then case id."""
    return sorted(assessments, key=lambda a: (a.tier, a.flip != "negative", -a.change, a.case_id))

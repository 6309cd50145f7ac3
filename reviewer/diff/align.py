"""Side-by-side alignment of two texts: rows of lines with word-level change spans.

:func:`align` turns a baseline output (left) and a candidate output (right) into :class:`Row` s
that a side-by-side view draws top to bottom. Every row has both sides, ``None`` being filler,
so the two columns stay level by construction. How the rows are found:

1. **Lines.** Both texts are split on ``\\n`` (a ``\\r`` before it is part of the line ending,
   kept on the row, so :func:`reconstruct` gives back the exact input). Lines are compared by a
   key (the line itself, or a whitespace/case-normalized form) interned to an integer, and the
   longest common subsequence of keys (``rapidfuzz.distance.Indel``, bit-parallel) gives the
   ``equal`` rows. Past a size where its bit matrix would not fit a memory budget, the problem
   is first cut between anchors: lines unique on both sides (patience diff), or in repetitive
   text lines equally frequent on both sides (histogram diff). 1 MB inputs take ~0.2 s.
2. **Placement.** A pure insertion or deletion that could sit at several places (inserting
   ``{ "id": 0 }, {`` after ``{`` equals inserting ``{ "id": 0 },`` before it) goes where its
   edge lines are least indented, like git's indent heuristic; and an equal run that only
   anchors a moved line, splitting reworded lines into blocks that cannot pair, is dropped.
3. **Moves.** A line deleted in one place and inserted verbatim in another is one ``moved`` row
   on each side, linked by line number, instead of a deletion and an insertion.
4. **Pairing.** Between two runs of equal lines, the deleted and inserted lines that are similar
   enough (word-level normalized Indel similarity above :data:`PAIR_THRESHOLD`; character-level
   for lines of one or two words) are paired, keeping their order, by the heaviest chain of
   similar pairs; those become ``changed`` rows, the rest ``only_left``/``only_right`` rows with
   filler on the other side.
5. **Words.** Inside a changed row, :func:`~reviewer.diff.tokens.tokenize` tokens are aligned the
   same way, then tiny unchanged islands between two changes (only whitespace and punctuation,
   or at most two words no longer than the changes around them) are folded into one change, as
   diff-match-patch's ``cleanupSemantic`` does, so a rewritten sentence reads as one replacement
   rather than confetti. Spans are character offsets into the row's text.

Pure functions over strings: no I/O, no UI.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Literal

from rapidfuzz.distance import Indel

from reviewer.diff.tokens import split_words, tokenize

__all__ = [
    "PAIR_THRESHOLD",
    "Row",
    "RowKind",
    "Span",
    "SpanKind",
    "align",
    "diff_stats",
    "reconstruct",
    "split_lines",
    "word_spans",
]

RowKind = Literal["equal", "changed", "only_left", "only_right", "moved"]
SpanKind = Literal["delete", "insert"]

#: Two lines pair up as one ``changed`` row when their similarity is above this (0..1).
PAIR_THRESHOLD = 0.5

#: rapidfuzz's alignment keeps a bit matrix of len(a) * len(b) / 8 bytes; above this many cells
#: (16 MiB) the sequences are first cut at patience anchors.
_CELL_BUDGET = 1 << 27
#: Similarity of two lines costs ~len(a) * len(b) / 64 machine words of work; above this many
#: cells a bag-of-words (or bag-of-characters) overlap stands in for it.
_SIM_BUDGET = 1 << 33
#: A changed block of at most this many left*right lines compares every line with every line
#: when pairing; a bigger block compares each line with the lines near its diagonal only.
_FULL_PAIRING = 4096
#: Similarity computations allowed for pairing one big block (bounds 1 MB all-changed inputs).
_PAIRING_BUDGET = 200_000
#: Line-pair similarities one alignment remembers (~70 bytes each).
_SIM_MEMO = 1 << 16


@dataclass(frozen=True, slots=True)
class Span:
    """A changed stretch of one side of a row: ``text[start:end]`` (character offsets into
    that side's line, without its line ending). Left spans are deletions, right spans insertions."""

    start: int
    end: int
    kind: SpanKind


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a side-by-side diff.

    ``left``/``right`` are lines without their line ending; ``None`` is filler (the side has no
    line here). ``left_no``/``right_no`` are 1-based line numbers in the inputs. A ``moved`` row
    has one side only and points at the line number of its twin on the other side.
    ``left_eol``/``right_eol`` hold the line ending that followed the line in the input (``"\\n"``,
    ``"\\r\\n"`` or ``""`` for a last line without one), so the rows give back both inputs
    exactly (:func:`reconstruct`); a row whose lines differ only in their endings is ``changed``
    with no spans unless whitespace is ignored.
    """

    kind: RowKind
    left: str | None
    right: str | None
    left_no: int | None
    right_no: int | None
    left_spans: tuple[Span, ...] = ()
    right_spans: tuple[Span, ...] = ()
    moved_to: int | None = None
    moved_from: int | None = None
    left_eol: str = ""
    right_eol: str = ""


# ---------------------------------------------------------------------------------------------
# Lines
# ---------------------------------------------------------------------------------------------


def split_lines(text: str) -> tuple[list[str], list[str]]:
    """Lines of ``text`` without their endings, and the endings (``"\\n"``, ``"\\r\\n"``, or ``""``
    for a last line with none). Only ``\\n`` ends a line; a lone ``\\r`` stays in the line.
    ``"".join(l + e for l, e in zip(*split_lines(t))) == t``.

    >>> split_lines("a\\r\\nb\\n\\nc")
    (['a', 'b', '', 'c'], ['\\r\\n', '\\n', '\\n', ''])
    """
    if not text:
        return [], []
    lines = text.split("\n")
    last = lines.pop()
    eols = ["\n"] * len(lines)
    if "\r" in text:
        for i, line in enumerate(lines):
            if line.endswith("\r"):
                lines[i] = line[:-1]
                eols[i] = "\r\n"
    if last:
        lines.append(last)
        eols.append("")
    return lines, eols


def reconstruct(rows: Iterable[Row], side: Literal["left", "right"]) -> str:
    """The text of one side, exactly as it was given to :func:`align`."""
    if side == "left":
        return "".join(r.left + r.left_eol for r in rows if r.left is not None)
    if side == "right":
        return "".join(r.right + r.right_eol for r in rows if r.right is not None)
    raise ValueError(f"side must be 'left' or 'right', not {side!r}")


def _normalizer(ignore_whitespace: bool, ignore_case: bool) -> Callable[[str], str] | None:
    if ignore_whitespace and ignore_case:
        return lambda s: " ".join(s.split()).casefold()
    if ignore_whitespace:
        return lambda s: " ".join(s.split())
    if ignore_case:
        return str.casefold
    return None


# ---------------------------------------------------------------------------------------------
# Longest common subsequence of two integer sequences, bounded in memory
# ---------------------------------------------------------------------------------------------


def _matching_runs(a: Sequence[int], b: Sequence[int]) -> list[tuple[int, int, int]]:
    """Runs ``(i, j, n)`` with ``a[i:i+n] == b[j:j+n]``, increasing in both ``i`` and ``j``,
    forming a longest common subsequence when the sizes allow (else a good common subsequence)."""
    runs: list[tuple[int, int, int]] = []
    todo = [(0, len(a), 0, len(b))]
    while todo:
        a1, a2, b1, b2 = todo.pop()
        # Common prefix and suffix: cheap, and they keep identical parts out of the matrix.
        p = 0
        while a1 + p < a2 and b1 + p < b2 and a[a1 + p] == b[b1 + p]:
            p += 1
        if p:
            runs.append((a1, b1, p))
            a1 += p
            b1 += p
        s = 0
        while a1 < a2 - s and b1 < b2 - s and a[a2 - s - 1] == b[b2 - s - 1]:
            s += 1
        if s:
            runs.append((a2 - s, b2 - s, s))
            a2 -= s
            b2 -= s
        if a1 == a2 or b1 == b2:
            continue
        if (a2 - a1) * (b2 - b1) <= _CELL_BUDGET:
            for op in Indel.opcodes(a[a1:a2], b[b1:b2]):
                if op.tag == "equal":
                    runs.append((a1 + op.src_start, b1 + op.dest_start, op.src_end - op.src_start))
            continue
        anchors = _patience_anchors(a, a1, a2, b, b1, b2)
        # Anchors become one-element runs; the gaps between them are solved the same way.
        pi, pj = a1, b1
        for i, j in anchors:
            runs.append((i, j, 1))
            todo.append((pi, i, pj, j))
            pi, pj = i + 1, j + 1
        if anchors:
            todo.append((pi, a2, pj, b2))
        # No anchor in a block too big to align: leave it as one changed block (coarse).
    runs.sort()
    # Merge touching runs so callers see maximal equal stretches.
    merged: list[tuple[int, int, int]] = []
    for i, j, n in runs:
        if merged:
            pi, pj, pn = merged[-1]
            if pi + pn == i and pj + pn == j:
                merged[-1] = (pi, pj, pn + n)
                continue
        merged.append((i, j, n))
    return merged


def _patience_anchors(a: Sequence[int], a1: int, a2: int, b: Sequence[int], b1: int, b2: int) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of equal elements of ``a[a1:a2]`` and ``b[b1:b2]``, increasing in both,
    to cut a too-big problem into smaller ones. Patience diff's anchors: elements that occur
    exactly once on each side, the longest subset increasing in both. Text with no such line
    (a document repeated, a list of identical items) falls back, as histogram diff does, to
    elements occurring equally often on both sides (at most 64 times), k-th occurrence with k-th.
    """
    ca = Counter(a[a1:a2])
    cb = Counter(b[b1:b2])
    where_b = {b[j]: j for j in range(b1, b2) if cb[b[j]] == 1}
    pairs = [(i, where_b[a[i]]) for i in range(a1, a2) if ca[a[i]] == 1 and a[i] in where_b]
    if not pairs:
        at_b: defaultdict[int, list[int]] = defaultdict(list)
        for j in range(b1, b2):
            if ca[b[j]] == cb[b[j]] <= 64:
                at_b[b[j]].append(j)
        seen: Counter[int] = Counter()
        for i in range(a1, a2):
            js = at_b.get(a[i])
            if js:
                pairs.append((i, js[seen[a[i]]]))
                seen[a[i]] += 1
    if not pairs:
        return []
    # Longest increasing subsequence of the j's (patience sorting), with back links.
    tails: list[int] = []  # tails[k] = smallest j ending an increasing run of length k+1
    tail_at: list[int] = []  # index into pairs of that j
    back = [-1] * len(pairs)
    for idx, (_, j) in enumerate(pairs):
        k = bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_at.append(idx)
        else:
            tails[k] = j
            tail_at[k] = idx
        back[idx] = tail_at[k - 1] if k else -1
    out = []
    idx = tail_at[-1]
    while idx >= 0:
        out.append(pairs[idx])
        idx = back[idx]
    out.reverse()
    return out


def _indent(line: str) -> int:
    body = line.lstrip()
    return len(line) - len(body) if body else 0


def _slide(
    runs: list[tuple[int, int, int]],
    a: Sequence[int],
    b: Sequence[int],
    lines_a: Sequence[str],
    lines_b: Sequence[str],
) -> list[tuple[int, int, int]]:
    """Place each pure insertion or deletion where it reads best.

    A block of inserted lines whose last line equals the line before it can slide up one line
    (and down when its first line equals the line after it) and still be a valid diff: inserting
    ``{ "id": 0 }, {`` after ``{`` is the same edit as inserting ``{ "id": 0 },`` before it.
    Like git's indent heuristic, pick the place where the block's first and last lines are the
    least indented (whole objects, functions and list items), else the lowest place.
    """
    out = [list(r) for r in runs]
    end_a, end_b = len(a), len(b)
    for k in range(len(out) - 1):
        i0, j0, n0 = out[k]
        i1, j1, n1 = out[k + 1]
        if i0 + n0 == i1 and j0 + n0 < j1:
            seq, lines, s, e = b, lines_b, j0 + n0, j1
        elif j0 + n0 == j1 and i0 + n0 < i1:
            seq, lines, s, e = a, lines_a, i0 + n0, i1
        else:
            continue
        # Keep both runs non-empty (an emptied run would merge two changed blocks), except at
        # the very start or end of the texts.
        max_up = n0 - (0 if i0 == 0 and j0 == 0 else 1)
        max_down = n1 - (0 if i1 + n1 == end_a and j1 + n1 == end_b else 1)
        up = 0
        while up < max_up and seq[s - up - 1] == seq[e - up - 1]:
            up += 1
        down = 0
        while down < max_down and seq[s + down] == seq[e + down]:
            down += 1
        if not up and not down:
            continue
        d = min(
            range(-up, down + 1),
            key=lambda d: (_indent(lines[s + d]) + _indent(lines[e + d - 1]), -d),
        )
        out[k][2] = n0 + d
        out[k + 1] = [i1 + d, j1 + d, n1 - d]
    return [(i, j, n) for i, j, n in out if n]


# ---------------------------------------------------------------------------------------------
# Pairing similar lines inside a changed block
# ---------------------------------------------------------------------------------------------


def _similarity(wa: list[str], wb: list[str], ka: str, kb: str) -> float:
    """Word-level normalized Indel similarity; character-level for lines of one or two words,
    where a single changed word would otherwise make the lines look unrelated."""
    if ka == kb:
        return 1.0
    a: Sequence[str]
    b: Sequence[str]
    a, b = (ka, kb) if len(wa) < 3 or len(wb) < 3 else (wa, wb)
    la, lb = len(a), len(b)
    if 2 * min(la, lb) <= PAIR_THRESHOLD * (la + lb):
        return 0.0  # even if the shorter were all in the longer, not similar enough
    if la * lb > _SIM_BUDGET:
        # Huge lines: multiset overlap, an upper bound of the sequence similarity.
        return 2 * sum((Counter(a) & Counter(b)).values()) / (la + lb)
    return Indel.normalized_similarity(a, b, score_cutoff=PAIR_THRESHOLD)


def _pair_lines(left: list[int], right: list[int], sim_of: Callable[[int, int], float]) -> list[tuple[int, int]]:
    """The ordered pairing of ``left`` and ``right`` line indices with the largest total
    similarity, among pairs whose similarity is above the threshold (heaviest increasing chain
    of candidate pairs, O(k log k) with a Fenwick tree of prefix maxima)."""
    n, m = len(left), len(right)
    if not n or not m:
        return []
    points: list[tuple[int, int, float]] = []
    if n * m <= _FULL_PAIRING:
        for x in range(n):
            for y in range(m):
                w = sim_of(left[x], right[y])
                if w > PAIR_THRESHOLD:
                    points.append((x, y, w))
    else:
        radius = min(16, _PAIRING_BUDGET // (2 * max(n, m)) - 1)
        if radius < 1:
            return []  # over 50k changed lines in one block: too many to pair, left unpaired
        for x in range(n):
            centre = (x * m) // n
            for y in range(max(0, centre - radius), min(m, centre + radius + 1)):
                w = sim_of(left[x], right[y])
                if w > PAIR_THRESHOLD:
                    points.append((x, y, w))
    if not points:
        return []
    # Points come sorted by x then y; visit each x's points by descending y so that two points
    # of the same left line never chain.
    points.sort(key=lambda p: (p[0], -p[1]))
    tree_val = [0.0] * (m + 1)
    tree_idx = [-1] * (m + 1)
    back = [-1] * len(points)
    score = [0.0] * len(points)
    for idx, (_, y, w) in enumerate(points):
        best, best_idx = 0.0, -1
        k = y  # prefix max over y' < y: Fenwick positions 1..y
        while k > 0:
            if tree_val[k] > best:
                best, best_idx = tree_val[k], tree_idx[k]
            k -= k & -k
        score[idx] = best + w
        back[idx] = best_idx
        k = y + 1
        while k <= m:
            if score[idx] > tree_val[k]:
                tree_val[k], tree_idx[k] = score[idx], idx
            k += k & -k
    idx = max(range(len(points)), key=score.__getitem__)
    chain = []
    while idx >= 0:
        x, y, _ = points[idx]
        chain.append((left[x], right[y]))
        idx = back[idx]
    chain.reverse()
    return chain


def _drop_weak_anchors(
    runs: list[tuple[int, int, int]],
    len_a: int,
    len_b: int,
    keys_a: Sequence[str],
    sim_of: Callable[[int, int], float],
) -> list[tuple[int, int, int]]:
    """Drop equal runs that are really moves and hide edits.

    When a model moves a sentence and rewords the others, the longest common subsequence takes
    the moved sentence as its anchor: the reworded lines end up deleted above it and inserted
    below it, in two blocks that can never pair. A run of ``n`` equal lines whose neighbouring
    blocks cross like that is dropped when merging the blocks pairs more than ``n`` extra similar
    lines; its lines then show as ``moved`` (so only runs of movable lines qualify).
    """
    out: list[tuple[int, int, int]] = []
    prev_a = prev_b = 0
    for k, (i, j, n) in enumerate(runs):
        next_i, next_j = runs[k + 1][:2] if k + 1 < len(runs) else (len_a, len_b)
        crossing = (i > prev_a and next_j > j + n) or (j > prev_b and next_i > i + n)
        if crossing:
            left = [*range(prev_a, i), *range(i + n, next_i)]
            right = [*range(prev_b, j), *range(j + n, next_j)]
            if (
                len(left) * len(right) <= _FULL_PAIRING
                and min(len(left), len(right)) > n
                and all(_is_movable(keys_a[x]) for x in range(i, i + n))
            ):
                apart = len(_pair_lines(list(range(prev_a, i)), list(range(prev_b, j)), sim_of))
                apart += len(_pair_lines(list(range(i + n, next_i)), list(range(j + n, next_j)), sim_of))
                if len(_pair_lines(left, right, sim_of)) - apart > n:
                    continue  # dropped: the blocks around it merge
        out.append((i, j, n))
        prev_a, prev_b = i + n, j + n
    return out


# ---------------------------------------------------------------------------------------------
# Word-level spans
# ---------------------------------------------------------------------------------------------


def word_spans(
    left: str, right: str, *, ignore_whitespace: bool = False, ignore_case: bool = False
) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """Deleted spans of ``left`` and inserted spans of ``right`` at word granularity, after
    folding tiny unchanged islands between changes (see the module docstring)."""
    ids: dict[str, int] = {}
    sides = []
    for text in (left, right):
        toks = tokenize(text)
        ends = list(accumulate(map(len, toks)))
        starts = [e - len(t) for e, t in zip(ends, toks, strict=True)]
        if ignore_whitespace:
            keep = [k for k, t in enumerate(toks) if not t[0].isspace()]
            toks = [toks[k] for k in keep]
            starts = [starts[k] for k in keep]
            ends = [ends[k] for k in keep]
        keys = [ids.setdefault(t, len(ids)) for t in (map(str.casefold, toks) if ignore_case else toks)]
        sides.append((keys, starts, ends, toks))
    (ka, sa, ea, ta), (kb, sb, eb, _) = sides

    # Segments alternate: ("=", i1, i2, j1, j2) unchanged, ("~", i1, i2, j1, j2) changed.
    segments: list[list] = []
    i = j = 0
    for ri, rj, rn in [*_matching_runs(ka, kb), (len(ka), len(kb), 0)]:
        if ri > i or rj > j:
            segments.append(["~", i, ri, j, rj])
        if rn:
            segments.append(["=", ri, ri + rn, rj, rj + rn])
        i, j = ri + rn, rj + rn

    def chars(s: Sequence[int], e: Sequence[int], t1: int, t2: int) -> int:
        return e[t2 - 1] - s[t1] if t2 > t1 else 0

    def edit_size(seg: list) -> int:
        return max(chars(sa, ea, seg[1], seg[2]), chars(sb, eb, seg[3], seg[4]))

    def foldable(before: list, island: list, after: list) -> bool:
        words = sum(t[0].isalnum() or t[0] == "_" for t in ta[island[1] : island[2]])
        if words == 0:
            return True  # only whitespace and punctuation between two changes
        size = chars(sa, ea, island[1], island[2])
        return words <= 2 and size <= edit_size(before) and size <= edit_size(after)

    # Left-to-right reduction: whenever a change lands after "change, island", try to fold the
    # island; a merged change only grows, so re-checking leftwards reaches the fixpoint.
    out: list[list] = []
    for seg in segments:
        out.append(seg)
        while (
            len(out) >= 3
            and out[-1][0] == "~"
            and out[-2][0] == "="
            and out[-3][0] == "~"
            and foldable(out[-3], out[-2], out[-1])
        ):
            after = out.pop()
            out.pop()
            before = out[-1]
            before[2], before[4] = after[2], after[4]

    left_spans = []
    right_spans = []
    for tag, i1, i2, j1, j2 in out:
        if tag == "~":
            if i2 > i1:
                left_spans.append(Span(sa[i1], ea[i2 - 1], "delete"))
            if j2 > j1:
                right_spans.append(Span(sb[j1], eb[j2 - 1], "insert"))
    return tuple(left_spans), tuple(right_spans)


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------


def _is_movable(key: str) -> bool:
    """A line worth calling 'moved': not blank, not a lone bracket or fence marker."""
    return len(key.strip()) >= 4 and any(c.isalnum() for c in key)


def align(left: str, right: str, *, ignore_whitespace: bool = False, ignore_case: bool = False, spans: bool = True) -> list[Row]:
    """Rows of a side-by-side diff of ``left`` (baseline) and ``right`` (candidate).

    ``ignore_whitespace`` compares lines with whitespace runs collapsed and ends trimmed,
    ``ignore_case`` compares them casefolded; lines equal under those are ``equal`` rows that
    still carry their real text. Identical inputs give only ``equal`` rows. ``spans=False``
    leaves the word-level spans of ``changed`` rows out (the same rows otherwise; for readers
    of whole lines, such as the changelog's excerpts).
    """
    lines_a, eols_a = split_lines(left)
    lines_b, eols_b = split_lines(right)
    norm = _normalizer(ignore_whitespace, ignore_case)
    keys_a = list(map(norm, lines_a)) if norm else lines_a
    keys_b = list(map(norm, lines_b)) if norm else lines_b
    ids: dict[str, int] = {}
    ia = [ids.setdefault(k, len(ids)) for k in keys_a]
    ib = [ids.setdefault(k, len(ids)) for k in keys_b]

    words_a: list[list[str] | None] = [None] * len(keys_a)  # split_words of each key, on demand
    words_b: list[list[str] | None] = [None] * len(keys_b)

    # each pair's similarity once: the weak-anchor check and the pairing of a block ask for the
    # same pairs again (about half the calls on ordinary answers); at most _SIM_MEMO are kept
    sims: dict[int, float] = {}
    width = len(keys_b)

    def sim_of(x: int, y: int) -> float:
        key = x * width + y
        got = sims.get(key)
        if got is not None:
            return got
        wa = words_a[x]
        if wa is None:
            wa = words_a[x] = split_words(keys_a[x])
        wb = words_b[y]
        if wb is None:
            wb = words_b[y] = split_words(keys_b[y])
        got = _similarity(wa, wb, keys_a[x], keys_b[y])
        if len(sims) < _SIM_MEMO:
            sims[key] = got
        return got

    runs = _slide(_matching_runs(ia, ib), ia, ib, lines_a, lines_b)
    runs = _drop_weak_anchors(runs, len(ia), len(ib), keys_a, sim_of)

    # Changed blocks between the equal runs, and the moves across them.
    blocks: list[tuple[int, int, int, int]] = []
    i = j = 0
    for ri, rj, rn in [*runs, (len(ia), len(ib), 0)]:
        if ri > i or rj > j:
            blocks.append((i, ri, j, rj))
        i, j = ri + rn, rj + rn
    moved_to: dict[int, int] = {}  # left index -> right index
    moved_from: dict[int, int] = {}
    if blocks:
        deleted: defaultdict[int, deque[int]] = defaultdict(deque)
        for a1, a2, _, _ in blocks:
            for x in range(a1, a2):
                deleted[ia[x]].append(x)
        for _, _, b1, b2 in blocks:
            for y in range(b1, b2):
                queue = deleted.get(ib[y])
                if queue and _is_movable(keys_b[y]):
                    x = queue.popleft()
                    moved_to[x] = y
                    moved_from[y] = x

    rows: list[Row] = []
    add = rows.append

    def only_left(x: int) -> None:
        if x in moved_to:
            add(Row("moved", lines_a[x], None, x + 1, None, moved_to=moved_to[x] + 1, left_eol=eols_a[x]))
        else:
            add(Row("only_left", lines_a[x], None, x + 1, None, left_eol=eols_a[x]))

    def only_right(y: int) -> None:
        if y in moved_from:
            add(Row("moved", None, lines_b[y], None, y + 1, moved_from=moved_from[y] + 1, right_eol=eols_b[y]))
        else:
            add(Row("only_right", None, lines_b[y], None, y + 1, right_eol=eols_b[y]))

    def changed(x: int, y: int) -> None:
        if keys_a[x] == keys_b[y]:  # e.g. a blank line paired inside a merged block
            same(x, y)
            return
        if spans:
            ls, rs = word_spans(lines_a[x], lines_b[y], ignore_whitespace=ignore_whitespace, ignore_case=ignore_case)
        else:
            ls = rs = ()
        add(Row("changed", lines_a[x], lines_b[y], x + 1, y + 1, ls, rs, left_eol=eols_a[x], right_eol=eols_b[y]))

    def same(x: int, y: int) -> None:
        if eols_a[x] == eols_b[y] or ignore_whitespace:
            kind: RowKind = "equal"
        else:
            kind = "changed"  # same text, different line ending
        add(Row(kind, lines_a[x], lines_b[y], x + 1, y + 1, left_eol=eols_a[x], right_eol=eols_b[y]))

    block_at = iter(blocks)
    block = next(block_at, None)
    i = j = 0
    for ri, rj, rn in [*runs, (len(ia), len(ib), 0)]:
        if block is not None and block[0] == i and block[2] == j:
            a1, a2, b1, b2 = block
            pairs = _pair_lines(
                [x for x in range(a1, a2) if x not in moved_to],
                [y for y in range(b1, b2) if y not in moved_from],
                sim_of,
            )
            x, y = a1, b1
            for px, py in pairs:
                for lx in range(x, px):
                    only_left(lx)
                for ry in range(y, py):
                    only_right(ry)
                changed(px, py)
                x, y = px + 1, py + 1
            for lx in range(x, a2):
                only_left(lx)
            for ry in range(y, b2):
                only_right(ry)
            block = next(block_at, None)
        for k in range(rn):
            same(ri + k, rj + k)
        i, j = ri + rn, rj + rn
    return rows


def diff_stats(rows: Iterable[Row]) -> dict[RowKind, int]:
    """How many rows of each kind (a moved line counts once, on its left row)."""
    counts: dict[RowKind, int] = {"equal": 0, "changed": 0, "only_left": 0, "only_right": 0, "moved": 0}
    for r in rows:
        if r.kind != "moved" or r.left is not None:
            counts[r.kind] += 1
    return counts

"""The cached triage as columns: what the review app's list reads of every case, in one value.

The store keeps each case's row (``assessment_cases``); reading 100,000 of them and making a
:class:`~.rows.CaseRank` of each took ~0.4 s of a reopen, and finding each row's case in the list
~0.3 s more, all while the list waited. The same columns are packed once, when the cache is
written (:func:`pack_triage`, beside the rows and in the same transaction), and read back in a
few milliseconds (:func:`unpack_triage`): a :class:`Triage`, a sequence of :class:`CaseRank` that
makes each one only when it is asked for, whose columns the list reads directly.

Layout (little-endian): a version byte, the number of cases, the length of a JSON part (the case
ids in triage order and each distinct flags string once), then per case in triage order: tier
(int8), change, within and noise_p (float64), a byte of bits (noise, noise_known, within is
NULL, noise_p is NULL), the flip (uint8: none, negative, positive) and the flags' index (uint32).
Packed numbers and JSON, never pickle: a store someone sent you is untrusted input.
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from .rows import CaseRank

if TYPE_CHECKING:
    from ..diff.score import Assessment

__all__ = ["Triage", "pack_triage", "unpack_triage"]

_VERSION = 1
_HEAD = struct.Struct("<BII")
_FLIPS = ("none", "negative", "positive")
_FLIP_CODE = {f: i for i, f in enumerate(_FLIPS)}
_NOISE, _KNOWN, _NO_WITHIN, _NO_P = 1, 2, 4, 8
_SWAP = sys.byteorder != "little"  # arrays are native: swapped on a big-endian machine


class Triage(Sequence[CaseRank]):
    """Every case's place in the triage, in triage order, as columns (``ids``, ``tier``,
    ``change``, ``noise``, ``flags``: what the list reads; and the rest of a :class:`CaseRank`).
    Item ``i`` is the :class:`CaseRank` of the ``i``-th case, made when asked for, with
    :attr:`detail` as its loader of the full assessment."""

    __slots__ = ("change", "detail", "flags", "flip", "ids", "noise", "noise_known", "noise_p", "tier", "within")

    def __init__(
        self,
        ids: list[str],
        tier: list[int],
        change: list[float],
        within: list[float | None],
        noise: list[bool],
        noise_known: list[bool],
        noise_p: list[float | None],
        flip: list[str],
        flags: list[tuple[str, ...]],
    ) -> None:
        n = len(ids)
        if not all(len(c) == n for c in (tier, change, within, noise, noise_known, noise_p, flip, flags)):
            raise ValueError("the triage's columns differ in length")
        self.ids, self.tier, self.change, self.within = ids, tier, change, within
        self.noise, self.noise_known, self.noise_p, self.flip, self.flags = noise, noise_known, noise_p, flip, flags
        self.detail: Callable[[str], Assessment] | None = None

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]]) -> Triage:
        """From the store's rows (``(case_id, tier, change, within, noise, noise_known, noise_p,
        flip, flags, ...)``, in triage order): a cache written before the triage was packed."""
        shared: dict[str, tuple[str, ...]] = {}
        flags = [shared.get(f) or shared.setdefault(f, tuple(f.split())) for f in (r[8] for r in rows)]
        return cls([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
                   [bool(r[4]) for r in rows], [bool(r[5]) for r in rows], [r[6] for r in rows],
                   [r[7] for r in rows], flags)  # fmt: skip

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, i: int) -> CaseRank: ...
    @overload
    def __getitem__(self, i: slice) -> list[CaseRank]: ...
    def __getitem__(self, i: int | slice) -> CaseRank | list[CaseRank]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return CaseRank(self.ids[i], self.change[i], self.within[i], self.noise[i], self.flags[i], self.flip[i],  # type: ignore[arg-type]
                        self.tier[i], self.noise_known[i], self.noise_p[i], self.detail)  # fmt: skip

    def __iter__(self) -> Iterator[CaseRank]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        """Equal to another triage or a list with the same rows, in the same order."""
        if not isinstance(other, (Triage, list)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


def pack_triage(rows: Sequence[Sequence[Any]]) -> bytes:
    """The rows of a cache (as :meth:`Triage.from_rows` reads them) packed as one value."""
    n = len(rows)
    distinct: dict[str, int] = {}
    tier, nums, bits, flip = array("b"), array("d"), bytearray(), bytearray()
    index = array("I")
    for r in rows:
        within, noise_p = r[3], r[6]
        tier.append(r[1])
        nums.extend((r[2], 0.0 if within is None else within, 0.0 if noise_p is None else noise_p))
        bits.append(_NOISE * bool(r[4]) | _KNOWN * bool(r[5]) | _NO_WITHIN * (within is None) | _NO_P * (noise_p is None))
        flip.append(_FLIP_CODE[r[7]])
        index.append(distinct.setdefault(r[8], len(distinct)))
    text = json.dumps([[r[0] for r in rows], list(distinct)], ensure_ascii=False, separators=(",", ":")).encode()
    if _SWAP:
        nums.byteswap()
        index.byteswap()
    return b"".join((_HEAD.pack(_VERSION, n, len(text)), text, tier.tobytes(), nums.tobytes(), bits, flip, index.tobytes()))


def unpack_triage(blob: bytes) -> Triage:
    """A packed triage read back. ValueError (or struct.error) for a value this version did not
    write (another version, a damaged store): the caller reads the rows instead."""
    version, n, size = _HEAD.unpack_from(blob)
    if version != _VERSION:
        raise ValueError(f"a packed triage of version {version}")
    at = _HEAD.size
    ids, names = json.loads(memoryview(blob)[at : at + size].tobytes())
    at += size
    if len(blob) != at + n * (1 + 24 + 1 + 1 + 4) or len(ids) != n or not all(type(i) is str for i in ids):
        raise ValueError("a packed triage of the wrong size")
    tier = array("b", blob[at : at + n])
    at += n
    nums = array("d", blob[at : at + 24 * n])
    at += 24 * n
    bits = blob[at : at + n]
    flips = blob[at + n : at + 2 * n]
    index = array("I", blob[at + 2 * n :])
    if _SWAP:
        nums.byteswap()
        index.byteswap()
    shared = [tuple(str(f).split()) for f in names]
    values = nums.tolist()
    return Triage(
        ids,
        tier.tolist(),
        values[0::3],
        [None if b & _NO_WITHIN else v for b, v in zip(bits, values[1::3], strict=True)],
        [bool(b & _NOISE) for b in bits],
        [bool(b & _KNOWN) for b in bits],
        [None if b & _NO_P else v for b, v in zip(bits, values[2::3], strict=True)],
        [_FLIPS[f] for f in flips],  # IndexError for a code this version did not write
        [shared[k] for k in index],
    )

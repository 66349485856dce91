"""Exact sampling from a discrete distribution by comparing uniform words with exact tails.

Let the outcomes be ordered ``o_0, o_1, ..., o_{K-1}`` followed by a *tail* event, and let
``T_j = P(outcome index > j)`` (so ``1 > T_0 > T_1 > ... > T_{K-1} > 0``). For a uniform
real ``W`` in [0, 1), the index ``#{j : W < T_j}`` has exactly the target distribution
(outcome ``j`` when ``T_j <= W < T_{j-1}``, the tail when ``W < T_{K-1}``).

``W``'s first 32 bits come in one vectorised ``os.urandom`` batch. Each ``T_j`` is known
through rigorous integer bounds ``A_j <= T_j 2**32 <= B_j`` (see :mod:`._exact`), so a word
``u`` decides ``W < T_j`` whenever ``u < A_j`` (true) or ``u >= B_j`` (false). A guide
table indexed by the top 16 bits of ``u`` gives the answer outright for buckets that hold
no ``A_j``; only words in the other buckets need a ``numpy.searchsorted``. The rare words
with ``A_j <= u < B_j`` (probability about ``K / 2**32``) are finished one at a time by
drawing more bits of ``W`` and comparing against ``T_j`` at higher precision
(:func:`._exact.lazy_compare`). This is an *exact* inversion by integer comparisons
against exactly bracketed reals, not a floating-point inverse CDF (Mironov 2012's attack
needs the rounding that never happens here).

Proof obligation: :meth:`ThresholdTable.sample` returns i.i.d. outcome indices with
``P(index = j) = T_{j-1} - T_j`` exactly (tail reported as a flag).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ethica.privacy.noise._exact import lazy_compare
from ethica.privacy.noise._random import random_uint32

__all__ = ["TailIntervals", "ThresholdTable", "rescale", "rescale_all", "signed_support"]

WORD_BITS = 32
_GUIDE_BITS = 16
_BUCKET_SHIFT = WORD_BITS - _GUIDE_BITS

TailIntervals = Callable[[int], tuple[tuple[int, ...], tuple[int, ...]]]
"""``f(prec) -> (lo, hi)``: integer bounds of every ``T_j * 2**prec``, in order of ``j``."""


def rescale(lo: int, hi: int, shift: int) -> tuple[int, int]:
    """Drop ``shift`` guard bits from an interval, rounding outward."""
    return lo >> shift, -((-hi) >> shift)


def rescale_all(
    bounds: Iterable[tuple[int, int]], shift: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """:func:`rescale` every interval; return the lower bounds and the upper bounds."""
    scaled = [rescale(lo, hi, shift) for lo, hi in bounds]
    return tuple(lo for lo, _ in scaled), tuple(hi for _, hi in scaled)


def signed_support(magnitude: int) -> NDArray[np.int64]:
    """The outcomes ``0, +1, -1, ..., +magnitude, -magnitude`` of a symmetric table."""
    values = np.zeros(2 * magnitude + 1, dtype=np.int64)
    values[1::2] = np.arange(1, magnitude + 1)
    values[2::2] = -np.arange(1, magnitude + 1)
    return values


@dataclass(frozen=True)
class ThresholdTable:
    """A sampler over ``values`` plus a tail event, from exact tail probabilities."""

    values: NDArray[np.int64]
    tails: TailIntervals
    _lower_asc: NDArray[np.uint32]
    _ambiguous_top: NDArray[np.uint32]
    _value_by_pos: NDArray[np.int64]
    _guide: NDArray[np.int32]

    @classmethod
    def build(cls, values: NDArray[np.int64], tails: TailIntervals) -> ThresholdTable:
        """Build the table; ``tails(prec)`` brackets ``T_0 .. T_{K-1}`` at ``prec`` bits."""
        cached = lru_cache(maxsize=16)(tails)
        lo, hi = cached(WORD_BITS)
        if len(lo) != len(values):
            raise ValueError("one tail probability per value is needed")
        lower = np.array(lo, dtype=np.int64)
        if lower.size and (lower.max() >= 1 << WORD_BITS or lower.min() < 0):
            raise ValueError("tail probabilities must lie in [0, 1)")  # never wrap to uint32
        upper = np.maximum(np.array(hi, dtype=np.int64), lower + 1)
        lower_asc = lower[::-1].astype(np.uint32)
        top = np.maximum.accumulate(upper[::-1] - 1)
        ambiguous_top = np.concatenate([[0], top]).astype(np.uint32)
        value_by_pos = np.concatenate([[0], values[::-1]]).astype(np.int64)
        starts = np.arange(1 << _GUIDE_BITS, dtype=np.uint64) << np.uint64(_BUCKET_SHIFT)
        first = np.searchsorted(lower_asc, starts, side="right")
        last = np.searchsorted(lower_asc, starts + np.uint64((1 << _BUCKET_SHIFT) - 1), "right")
        guide = np.where(first == last, first, -1).astype(np.int32)
        return cls(values, cached, lower_asc, ambiguous_top, value_by_pos, guide)

    def sample(self, n: int) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """``n`` draws: the values, and a mask marking draws that fell in the tail."""
        words = random_uint32(n)
        pos = self._guide[words >> np.uint32(_BUCKET_SHIFT)].astype(np.intp)
        search = np.flatnonzero(pos < 0)
        pos[search] = np.searchsorted(self._lower_asc, words[search], side="right")
        suspects = np.flatnonzero(words <= self._ambiguous_top[pos])
        for i in suspects:
            if pos[i] > 0:
                pos[i] = self._resolve(int(words[i]))
        return self._value_by_pos[pos], pos == 0

    def sample_with_tail(self, n: int, tail: Callable[[int, int], NDArray[Any]]) -> NDArray[Any]:
        """``n`` draws; those in the tail come from ``tail(start, count)``.

        ``start`` is one more than the largest value in the table, so a symmetric law's
        tail sampler draws ``X`` conditioned on ``|X| >= start``.
        """
        values, in_tail = self.sample(n)
        beyond = np.flatnonzero(in_tail)
        if beyond.size == 0:
            return values
        extra = tail(int(self.values.max()) + 1, beyond.size)
        out = values.astype(np.result_type(values, extra))
        out[beyond] = extra
        return out

    def _resolve(self, word: int) -> int:
        """Exact position (``K - index``) for a word that the 32-bit bounds leave open."""
        lo, hi = self.tails(WORD_BITS)
        count = sum(1 for a in lo if word < a)
        prefix, bits = word, WORD_BITS
        for j in range(len(lo)):
            if lo[j] <= word < max(hi[j], lo[j] + 1):
                below, prefix, bits = lazy_compare(prefix, bits, self._pair(j))
                if not below:
                    break
                count += 1
        return len(lo) - count

    def _pair(self, j: int) -> Callable[[int], tuple[int, int]]:
        def bounds(prec: int) -> tuple[int, int]:
            lo, hi = self.tails(prec)
            return lo[j], hi[j]

        return bounds

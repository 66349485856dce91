"""The geometric distribution ``P(G = g) ∝ exp(-g x)`` on ``{0, 1, 2, ...}``, sampled exactly.

For a rational ``x > 0`` with ``1/x <= 292``, one :class:`._table.ThresholdTable` over
``0 .. M-1`` (``M = ceil(14 / x)``) with the exact tails ``P(G > j) = exp(-(j+1) x)``; the
tail event ``G >= M`` is ``M + G'`` with a fresh ``G'`` (memorylessness).

For smaller ``x`` (huge scales), base-``m`` digits (``m = 4096``): ``G = R + m G'`` where
``R`` is the truncated geometric on ``{0..m-1}`` with ratio ``exp(-x)``, tails
``P(R > j) = (exp(-(j+1)x) - exp(-m x)) / (1 - exp(-m x))``, and ``G'`` is geometric with
parameter ``m x``, independent of ``R`` (the pmf factorises over the digits). Each level costs
one 32-bit word, so even a scale of 1e12 needs four words per draw.

Proof obligation: :func:`geometric` returns i.i.d. exact draws of this law.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ethica.privacy.noise._exact import exp_neg_interval, mul_interval
from ethica.privacy.noise._table import ThresholdTable, rescale

__all__ = ["TABLE_MAX_SCALE", "geometric"]

TABLE_MAX_SCALE = 292
_DIGIT = 4096
_INT64_SAFE = 1 << 62


def _guard(count: int, x: Fraction) -> int:
    return 2 * (count + 2).bit_length() + 40 + math.ceil(1 / x).bit_length()


@lru_cache(maxsize=64)
def _final_table(x: Fraction) -> ThresholdTable:
    size = max(1, math.ceil(14 / x))

    def tails(prec: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        guard = _guard(size, x)
        work = prec + guard
        p = exp_neg_interval(x, work)
        power = (1 << work, 1 << work)
        lows, highs = [], []
        for _ in range(size):
            power = mul_interval(power, p, work)
            lo, hi = rescale(*power, guard)
            lows.append(lo)
            highs.append(hi)
        return tuple(lows), tuple(highs)

    return ThresholdTable.build(np.arange(size, dtype=np.int64), tails)


@lru_cache(maxsize=64)
def _digit_table(x: Fraction) -> ThresholdTable:
    def tails(prec: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        guard = _guard(_DIGIT, x)
        work = prec + guard
        one = 1 << work
        p = exp_neg_interval(x, work)
        powers = [(one, one)]
        for _ in range(_DIGIT):
            powers.append(mul_interval(powers[-1], p, work))
        last_lo, last_hi = powers[_DIGIT]
        den = (one - last_hi, one - last_lo)
        lows, highs = [], []
        for lo, hi in powers[1:_DIGIT]:
            num = (max(lo - last_hi, 0), hi - last_lo)
            q_lo = (num[0] << work) // den[1]
            q_hi = -((-(num[1] << work)) // den[0])
            a, b = rescale(q_lo, q_hi, guard)
            lows.append(a)
            highs.append(b)
        return tuple(lows), tuple(highs)

    return ThresholdTable.build(np.arange(_DIGIT - 1, dtype=np.int64), tails)


def geometric(x: Fraction, n: int) -> NDArray[Any]:
    """``n`` exact draws with ``P(G = g) = (1 - exp(-x)) exp(-g x)``, ``x`` rational > 0.

    Returns int64 unless a value could exceed int64, then Python ints (object array).
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if 1 / x <= TABLE_MAX_SCALE:
        table = _final_table(x)
        values, in_tail = table.sample(n)
        tail = np.flatnonzero(in_tail)
        if tail.size:
            rest = geometric(x, tail.size) + len(table.values)
            values = values.astype(rest.dtype)
            values[tail] = rest
        return values
    digits, in_tail = _digit_table(x).sample(n)
    digits[in_tail] = _DIGIT - 1
    high = geometric(x * _DIGIT, n)
    if int(high.max()) >= _INT64_SAFE // _DIGIT:
        high = high.astype(object)
    combined: NDArray[Any] = digits + high * _DIGIT
    return combined

"""Exact Bernoulli(exp(-v**2 / (2 sigma**2))) trials for many integers ``v`` at once.

The acceptance step of the discrete Gaussian's rejection sampler (CKS 2020, Algorithm 3)
needs, for each proposal, a coin with probability ``a(v) = exp(-v**2 / (2 sigma**2))``.
Decide ``[W < a(v)]`` for a uniform real ``W`` whose first 32 bits are one word ``u``:

* ``|v|`` falls in a block ``[b w, (b+1) w)`` (``w`` a power of two near ``sigma/1000``) on
  which ``a`` is decreasing, so ``a`` lies between exact integer bounds
  ``A_b <= a((b+1) w) 2**32`` and ``a(b w) 2**32 <= B_b`` precomputed once per sigma;
* ``u < A_b`` accepts (``W < (u+1)/2**32 <= a``), ``u >= B_b`` rejects (``W >= a``);
* the few words in between (about ``0.61 w / sigma < 1/1000`` of them) are finished exactly
  by drawing more bits of ``W`` and comparing with ``a(v)`` at growing precision
  (:func:`._exact.lazy_compare`). This is a squeeze (Marsaglia 1977) made exact.

Proof obligation: :func:`gaussian_acceptance` returns independent exact
Bernoulli(``a(v_i)``) trials.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ethica.privacy.noise._exact import IntervalFn, exp_neg_interval, lazy_compare, mul_interval
from ethica.privacy.noise._random import random_uint32
from ethica.privacy.noise._table import rescale

__all__ = ["gaussian_acceptance"]

_WORD = 32
_SIGMAS = 7  # blocks cover |v| <= 7 sigma, where a < 2**-35; beyond, one catch-all block


@lru_cache(maxsize=16)
def _blocks(sigma2: Fraction) -> tuple[int, NDArray[np.int64], NDArray[np.int64]]:
    """Block shift and the lower/upper word bounds of ``a`` on every block.

    ``a(b w) = q**(b*b)`` with ``q = exp(-w**2 / (2 sigma2))`` is computed for every block
    start by the exact recurrence ``a((b+1) w) = a(b w) q**(2b+1)`` in fixed point with
    outward rounding; block ``b`` is bounded by ``a((b+1) w) <= a <= a(b w)``.
    """
    sigma = math.isqrt(math.floor(sigma2)) + 1
    shift = max(0, (sigma // 1000).bit_length() - 1)
    count = (_SIGMAS * sigma >> shift) + 1
    guard = 2 * (2 * count + 2).bit_length() + 40
    work = _WORD + guard
    q = exp_neg_interval(Fraction(1 << (2 * shift)) / (2 * sigma2), work)
    q2 = mul_interval(q, q, work)
    value, ratio = (1 << work, 1 << work), q
    starts = []
    for _ in range(count + 2):
        starts.append(rescale(*value, guard))
        value = mul_interval(value, ratio, work)
        ratio = mul_interval(ratio, q2, work)
    upper = np.array([hi for _, hi in starts[: count + 1]], dtype=np.int64)
    lower = np.array([lo for lo, _ in starts[1 : count + 1]] + [0], dtype=np.int64)
    return shift, lower, upper


def gaussian_acceptance(distance: NDArray[Any], sigma2: Fraction) -> NDArray[np.bool_]:
    """Exact independent Bernoulli(exp(-v**2 / (2 sigma2))) for the integers ``distance``."""
    shift, lower, upper = _blocks(sigma2)
    magnitude = np.abs(distance.astype(np.int64))
    block = np.minimum(magnitude >> shift, len(lower) - 1)
    words = random_uint32(len(distance)).astype(np.int64)
    accept = words < lower[block]
    for i in np.flatnonzero(~accept & (words < upper[block])):
        v = int(magnitude[i])
        accept[i] = lazy_compare(int(words[i]), _WORD, _exp_bounds(Fraction(v * v) / (2 * sigma2)))[
            0
        ]
    decided: NDArray[np.bool_] = accept
    return decided


def _exp_bounds(gamma: Fraction) -> IntervalFn:
    def bounds(prec: int) -> tuple[int, int]:
        return exp_neg_interval(gamma, prec)

    return bounds

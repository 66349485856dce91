"""Exact Bernoulli(exp(-gamma)) trials for rational gamma, vectorised.

Definition: ``bernoulli_exp(gamma)`` is 1 with probability ``exp(-gamma)``, else 0.
Algorithm (Canonne, Kamath & Steinke 2020, "The Discrete Gaussian for Differential
Privacy", arXiv:2004.00010, Algorithm 1): for ``0 <= g <= 1`` draw ``A_k ~ Bernoulli(g/k)``
for ``k = 1, 2, ...`` until the first ``A_k = 0`` and return ``[k odd]``; since
``P(K > k) = g**k / k!`` this is 1 with probability ``sum_k (-g)**k / k! = exp(-g)``. For
``gamma > 1``, ``exp(-gamma) = exp(-1)**floor(gamma) * exp(-frac(gamma))``: all of
``floor(gamma)`` independent Bernoulli(exp(-1)) trials and one Bernoulli(exp(-frac)) must
succeed. ``Bernoulli(g/k)`` with ``g = r/d`` is ``[U < r] * [V = 0]`` with ``U`` uniform on
``{0..d-1}`` and ``V`` uniform on ``{0..k-1}`` (independent), so only integer comparisons of
uniform draws occur. All arrays of pending trials advance together (one round per ``k``).

Proof obligation: each returned entry is an independent exact Bernoulli(exp(-gamma_i)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ethica.privacy._params import to_rational
from ethica.privacy.noise._random import uniform_below

__all__ = ["bernoulli_exp", "bernoulli_exp_array"]

_INT64_SAFE = 1 << 62

IntArray = NDArray[Any]


def _bernoulli_exp_fraction(rem: IntArray, den: int) -> NDArray[np.bool_]:
    """Exact Bernoulli(exp(-rem_i / den)) for integers ``0 <= rem_i <= den``."""
    n = len(rem)
    result = np.zeros(n, dtype=bool)
    pending = np.arange(n)
    k = 1
    while pending.size:
        success = uniform_below(den, pending.size) < rem[pending]
        if k > 1:
            success &= uniform_below(k, pending.size) == 0
        stopped = pending[~success]
        result[stopped] = k % 2 == 1
        pending = pending[success]
        k += 1
    return result


def bernoulli_exp_array(num: IntArray, den: int) -> NDArray[np.bool_]:
    """Exact independent Bernoulli(exp(-num_i / den)) trials for integers ``num_i >= 0``.

    ``num`` is an int64 array, or an object array of Python ints when values may exceed
    int64; ``den`` is a positive Python int.
    """
    num = np.asarray(num)
    if num.dtype != object and den >= _INT64_SAFE:
        num = num.astype(object)
    whole, rem = num // den, num % den
    result = np.ones(len(num), dtype=bool)
    pending = np.flatnonzero(whole > 0)
    while pending.size:
        alive = _bernoulli_exp_fraction(np.ones(pending.size, dtype=np.int64), 1)
        result[pending[~alive]] = False
        survivors = pending[alive]
        whole[survivors] -= 1
        pending = survivors[whole[survivors] > 0]
    todo = np.flatnonzero(result & (rem > 0))
    if todo.size:
        result[todo] = _bernoulli_exp_fraction(rem[todo], den)
    return result


def bernoulli_exp(gamma: object, size: int | None = None) -> bool | NDArray[np.bool_]:
    """Exact Bernoulli(exp(-gamma)) trial(s) with random bits from the OS CSPRNG.

    Parameters
    ----------
    gamma
        A rational ``gamma >= 0`` (int, Fraction, or float converted exactly).
    size
        ``None`` for one bool, otherwise the length of a bool array of independent trials.

    Notes
    -----
    Canonne, Kamath & Steinke (2020), arXiv:2004.00010, Algorithm 1 (see module docstring).
    """
    g = to_rational(gamma, "gamma", positive=False)
    n = 1 if size is None else int(size)
    if n < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    num = g.numerator
    dtype = np.int64 if num < (1 << 62) else object
    draws = bernoulli_exp_array(np.full(n, num, dtype=dtype), g.denominator)
    return bool(draws[0]) if size is None else draws

"""The discrete Laplace distribution, sampled exactly.

Definition: for a rational ``scale > 0``, ``P(X = x) = (1 - p) / (1 + p) * p**|x|`` on the
integers with ``p = exp(-1/scale)`` (Inusah & Kozubowski 2006; Canonne, Kamath & Steinke
2020, arXiv:2004.00010). Adding it to an integer query of L1 sensitivity ``Δ`` gives
``epsilon = Δ / scale`` pure differential privacy (Ghosh, Roughgarden & Sundararajan 2009).

Two exact paths, chosen from the scale alone:

* ``scale <= 292``: a :class:`._table.ThresholdTable` over ``0, +1, -1, ..., +M, -M`` with
  ``M = ceil(14 scale)`` and the closed-form tails ``P(outcome after +k) = p**k`` and
  ``P(|X| > k) = 2 p**(k+1) / (1 + p)``, bracketed exactly; one 32-bit word per draw. The tail
  ``|X| > M`` (probability below ``2**-20``) is ``±(M + 1 + G)`` with a uniform sign and
  ``G`` geometric with ratio ``p``, which is ``X`` conditioned on ``X >= 0`` (memorylessness).
* larger scales: the magnitude is a geometric draw with ratio ``p`` (:mod:`._geometric`,
  exact base-4096 digits), the sign a fair coin, and ``-0`` is rejected, so that 0 keeps
  probability ``(1 - p) / (1 + p)`` (Canonne, Kamath & Steinke 2020, Algorithm 2, steps 6-9).

Proof obligation: :func:`discrete_laplace` returns i.i.d. draws of exactly this law, with
random bits only from ``os.urandom``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ethica.privacy.noise._draws import by_size, collect, public_draws, random_signs
from ethica.privacy.noise._exact import div_interval, exp_neg_interval, mul_interval
from ethica.privacy.noise._geometric import TABLE_MAX_SCALE, geometric
from ethica.privacy.noise._table import ThresholdTable, rescale_all, signed_support

__all__ = ["MAX_SCALE", "discrete_laplace", "laplace_raw"]

MAX_SCALE = Fraction(2**52)
"""Largest scale accepted: beyond it draws could overflow int64."""


@lru_cache(maxsize=64)
def _laplace_table(scale: Fraction) -> ThresholdTable:
    magnitude = max(1, math.ceil(14 * scale))

    def tails(prec: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        guard = 2 * (magnitude + 2).bit_length() + 40
        work = prec + guard
        one = 1 << work
        p = exp_neg_interval(1 / scale, work)
        two_p_over = div_interval((2 * p[0], 2 * p[1]), (one + p[0], one + p[1]), work)
        bounds = [two_p_over]
        power = (one, one)
        for _ in range(magnitude):
            power = mul_interval(power, p, work)
            bounds.append(power)
            bounds.append(mul_interval(power, two_p_over, work))
        return rescale_all(bounds, guard)

    return ThresholdTable.build(signed_support(magnitude), tails)


def _table_draws(scale: Fraction, n: int) -> NDArray[Any]:
    def tail(start: int, count: int) -> NDArray[Any]:
        magnitude = geometric(1 / scale, count) + start
        signed: NDArray[Any] = np.where(random_signs(count), -magnitude, magnitude)
        return signed

    return _laplace_table(scale).sample_with_tail(n, tail)


def _signed_geometric_draws(scale: Fraction, n: int) -> NDArray[Any]:
    def propose(k: int) -> NDArray[Any]:
        magnitude = geometric(1 / scale, k + 8)
        negative = random_signs(magnitude.size)
        keep = ~(negative & (magnitude == 0))
        signed: NDArray[Any] = np.where(negative, -magnitude, magnitude)[keep]
        return signed

    return collect(n, propose)


def laplace_raw(scale: Fraction, n: int) -> NDArray[Any]:
    """Exact discrete Laplace draws for a validated rational scale (int64 or Python ints)."""
    return by_size(scale, n, TABLE_MAX_SCALE, _table_draws, _signed_geometric_draws)


def discrete_laplace(scale: object, size: int = 1) -> NDArray[np.int64]:
    """Draw ``size`` exact discrete Laplace variates, ``P(x) ∝ exp(-|x| / scale)``.

    Parameters
    ----------
    scale
        ``scale > 0``: an int, Fraction, or float (converted exactly). Noise with this
        scale on an integer query of L1 sensitivity ``Δ`` costs ``PureDP(Δ / scale)``
        (see :func:`ethica.privacy.laplace_cost`). At most ``2**52``.
    size
        Number of independent draws.

    Returns
    -------
    numpy.ndarray of int64

    Notes
    -----
    Exact: integer arithmetic on a rational scale, random bits from ``os.urandom`` only.
    Canonne, Kamath & Steinke (2020), "The Discrete Gaussian for Differential Privacy",
    arXiv:2004.00010, Algorithm 2 (sign and magnitude), with the geometric magnitude drawn
    by exact table inversion (module docstring).
    """
    return public_draws(scale, "scale", MAX_SCALE, size, laplace_raw)

"""The discrete Gaussian distribution, sampled exactly.

Definition (Canonne, Kamath & Steinke 2020, "The Discrete Gaussian for Differential
Privacy", arXiv:2004.00010): for rational ``sigma > 0``,
``P(X = x) = exp(-x**2 / (2 sigma**2)) / Z`` on the integers, ``Z`` the sum over all
integers. Adding it to an integer query of L2 sensitivity ``Δ`` gives
``rho = Δ**2 / (2 sigma**2)`` zero-concentrated DP (their Theorem 4).

Paths, chosen from ``sigma`` alone; all exact:

* ``sigma <= 4096``: a :class:`._table.ThresholdTable` over ``0, +1, -1, ..., +M, -M``
  (``M = ceil(5.3 sigma) + 1``, tail below ``2**-20``); ``Z`` and every tail are bracketed
  exactly by summing the weights with outward rounding plus a geometric bound on the
  remainder. One 32-bit word per draw. The tail ``|X| > M`` is drawn by rejection: a uniform
  sign and ``M + 1 + G`` with ``G`` geometric of parameter ``(M+1)/sigma**2``, accepted with
  probability ``exp(-G**2 / (2 sigma**2))`` (the Gaussian exponent lies above its tangent at
  ``M + 1``, and the ratio of target to proposal is exactly that factor).
* larger ``sigma``: CKS Algorithm 3 with the proposal scale chosen so the acceptance
  exponent has an integer centre: ``c = floor(sigma)``, ``t = sigma**2 / c``,
  ``Y ~ DiscreteLaplace(t)`` accepted with probability
  ``exp(-(|Y| - c)**2 / (2 sigma**2))`` (an exact squeeze, :mod:`._squeeze`); since
  ``-|y|/t - (|y| - c)**2/(2 sigma**2) = -y**2/(2 sigma**2) - c**2/(2 sigma**2)``, accepted
  draws follow the discrete Gaussian exactly (any ``t > 0`` is valid; ``t`` close to
  ``sigma`` keeps the acceptance rate near CKS's).

Proof obligation: :func:`discrete_gaussian` returns i.i.d. draws of exactly this law, with
random bits only from ``os.urandom``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ethica.privacy.noise._bernoulli import bernoulli_exp_array
from ethica.privacy.noise._draws import by_size, collect, public_draws, random_signs, to_int64
from ethica.privacy.noise._exact import div_interval, exp_neg_interval, mul_interval
from ethica.privacy.noise._geometric import geometric
from ethica.privacy.noise._laplace import laplace_raw
from ethica.privacy.noise._squeeze import gaussian_acceptance
from ethica.privacy.noise._table import ThresholdTable, rescale_all, signed_support

__all__ = ["MAX_SIGMA", "discrete_gaussian", "gaussian_raw"]

MAX_SIGMA = Fraction(2**48)
"""Largest sigma accepted: beyond it draws could overflow int64."""

_TABLE_MAX_SIGMA = 4096
_INT64_SAFE = 1 << 62

Interval = tuple[int, int]


def _add(a: Interval, b: Interval) -> Interval:
    return a[0] + b[0], a[1] + b[1]


def _gaussian_weights(
    sigma2: Fraction, work: int, first_unsummed: int, slack: int
) -> tuple[list[Interval], Interval]:
    """Weights ``exp(-k**2/(2 sigma**2)) 2**work`` for ``k < first_unsummed`` and the sum beyond.

    Summation stops once a geometric bound on the remainder is at most ``slack`` units
    (outward rounding keeps a few units alive for ever, so the bound, not zero, ends it).
    """
    one = 1 << work
    a = exp_neg_interval(1 / (2 * sigma2), work)
    a2 = mul_interval(a, a, work)
    weight, ratio = (one, one), a
    weights: list[Interval] = []
    rest = (0, 0)
    k = 0
    while True:
        if k < first_unsummed:
            weights.append(weight)
        else:
            bound = -((-(weight[1] << work)) // (one - ratio[1]))  # sum_{j>=k} w_j
            if bound <= slack:
                return weights, (rest[0], rest[1] + bound)
            rest = _add(rest, weight)
        weight = mul_interval(weight, ratio, work)
        ratio = mul_interval(ratio, a2, work)
        k += 1


@lru_cache(maxsize=32)
def _gaussian_table(sigma: Fraction) -> ThresholdTable:
    sigma2 = sigma * sigma
    magnitude = math.ceil(Fraction(53, 10) * sigma) + 1
    steps = math.ceil(16 * sigma) + magnitude

    def tails(prec: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        guard = 2 * (2 * steps + 2).bit_length() + 40 + 2 * magnitude.bit_length()
        work = prec + guard
        weights, beyond = _gaussian_weights(sigma2, work, magnitude + 1, 1 << (guard - 8))
        suffix = _add(beyond, beyond)  # after -M: both tails
        reverse = [suffix]
        for k in range(magnitude, 0, -1):
            suffix = _add(suffix, weights[k])  # after +k
            reverse.append(suffix)
            suffix = _add(suffix, weights[k])  # after -(k-1), i.e. after 0 when k = 1
            reverse.append(suffix)
        after = reverse[::-1]  # after 0, after +1, after -1, ..., after +M, after -M
        total = _add(after[0], weights[0])
        return rescale_all((div_interval(s, total, work) for s in after), guard)

    return ThresholdTable.build(signed_support(magnitude), tails)


def _table_draws(sigma: Fraction, n: int) -> NDArray[Any]:
    def tail(start: int, count: int) -> NDArray[Any]:
        return to_int64(_tail_draws(sigma, start, count))  # |X| is a few sigma <= 4096

    return _gaussian_table(sigma).sample_with_tail(n, tail)


def _tail_draws(sigma: Fraction, start: int, n: int) -> NDArray[Any]:
    """Exact draws of ``X`` given ``|X| >= start`` (rejection from a shifted geometric)."""
    sigma2 = sigma * sigma
    num, den = sigma2.denominator, 2 * sigma2.numerator  # 1/(2 sigma^2) = num/den

    def propose(k: int) -> NDArray[Any]:
        g = geometric(Fraction(start) / sigma2, k).astype(object)
        accepted = g[bernoulli_exp_array(g * g * num, den)] + start
        signed: NDArray[Any] = np.where(random_signs(accepted.size), -accepted, accepted)
        return signed

    return collect(n, propose)


def _cks_draws(sigma: Fraction, n: int) -> NDArray[Any]:
    sigma2 = sigma * sigma
    centre = math.floor(sigma)

    def propose(k: int) -> NDArray[Any]:
        y = laplace_raw(sigma2 / centre, k + k // 4 + 8)
        kept: NDArray[Any] = y[gaussian_acceptance(np.abs(y) - centre, sigma2)]
        return kept

    return collect(n, propose)


def gaussian_raw(sigma: Fraction, n: int) -> NDArray[Any]:
    """Exact discrete Gaussian draws for a validated rational sigma."""
    return by_size(sigma, n, _TABLE_MAX_SIGMA, _table_draws, _cks_draws)


def discrete_gaussian(sigma: object, size: int = 1) -> NDArray[np.int64]:
    """Draw ``size`` exact discrete Gaussian variates, ``P(x) ∝ exp(-x**2 / (2 sigma**2))``.

    Parameters
    ----------
    sigma
        ``sigma > 0``: an int, Fraction, or float (converted exactly), at most ``2**48``.
        Noise with this sigma on an integer query of L2 sensitivity ``Δ`` costs
        ``ZCDP(Δ**2 / (2 sigma**2))`` (see :func:`ethica.privacy.gaussian_cost`).
    size
        Number of independent draws.

    Returns
    -------
    numpy.ndarray of int64

    Notes
    -----
    Canonne, Kamath & Steinke (2020), arXiv:2004.00010, Algorithm 3, with exact table
    inversion for moderate sigma (module docstring). Integer arithmetic only; random bits
    from ``os.urandom`` only.
    """
    return public_draws(sigma, "sigma", MAX_SIGMA, size, gaussian_raw)

"""Error bars from the exact noise distribution, and planning a budget for a target accuracy.

For discrete noise ``X`` added to an integer statistic, the confidence interval
``noisy ± k`` covers the true value with probability ``P(|X| <= k)``; ethica uses the
smallest ``k`` with ``P(|X| <= k) >= confidence`` (so coverage is never below the level
stated, and exceeds it at most by one atom of the distribution):

* discrete Laplace of scale ``t``, ``p = exp(-1/t)``: ``P(|X| > k) = 2 p**(k+1) / (1 + p)``
  (Inusah & Kozubowski 2006); decided with rigorous integer bounds of ``exp`` (:mod:`._exact`),
  so ``k`` is exact, not a floating-point estimate.
* discrete Gaussian of scale ``sigma``: ``P(|X| > k) = 2 Σ_{x>k} w_x / Σ_x w_x`` with
  ``w_x = exp(-x²/(2 sigma²))`` (Canonne, Kamath & Steinke 2020), summed in double
  precision over ``|x| <= 40 sigma`` (the rest is below ``e**-800``) for ``sigma <= 10**5``;
  larger ``sigma`` use the normal quantile plus one (the discrete and continuous laws agree
  to within ``exp(-2 pi² sigma²)`` in that regime).

Planning (:func:`ethica.privacy.release._plan.plan_budget`) inverts these: the smallest
budget whose interval half-width is at most a target.
"""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist

import numpy as np

from ethica._exceptions import InvalidParameterError
from ethica.privacy.noise._exact import exp_neg_interval

__all__ = [
    "check_confidence",
    "gaussian_half_width",
    "gaussian_variance",
    "laplace_half_width",
    "laplace_variance",
]

_PREC = 96
_GAUSS_SUM_LIMIT = 100_000


def check_confidence(confidence: object) -> float:
    """Validate a confidence level in (0, 1)."""
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float))
        or not (0 < confidence < 1)
    ):
        raise InvalidParameterError(
            f"confidence must lie strictly between 0 and 1, got {confidence!r}; e.g. 0.95."
        )
    return float(confidence)


def _laplace_tail_upper(scale: Fraction, k: int) -> Fraction:
    """A rigorous upper bound of ``P(|X| > k) = 2 p**(k+1) / (1 + p)``."""
    power_hi = exp_neg_interval(Fraction(k + 1) / scale, _PREC)[1]
    p_lo = exp_neg_interval(1 / scale, _PREC)[0]
    return Fraction(2 * power_hi, (1 << _PREC) + p_lo)


def laplace_half_width(scale: Fraction | int, confidence: float) -> int:
    """Smallest ``k`` with ``P(|X| <= k) >= confidence`` for discrete Laplace of ``scale``."""
    alpha = Fraction(1) - Fraction(check_confidence(confidence))
    t = Fraction(scale)
    p = math.exp(-1 / float(t))
    guess = max(0, math.floor(float(t) * math.log(2 / (float(alpha) * (1 + p)))) - 2)
    while guess > 0 and _laplace_tail_upper(t, guess - 1) <= alpha:
        guess -= 1
    while _laplace_tail_upper(t, guess) > alpha:
        guess += 1
    return guess


def laplace_variance(scale: Fraction | int) -> float:
    """``Var X = 2 p / (1 - p)**2`` for discrete Laplace of ``scale``."""
    p = math.exp(-1 / float(scale))
    return 2 * p / (1 - p) ** 2


def gaussian_variance(sigma: Fraction | int) -> float:
    """Variance of the discrete Gaussian (below ``sigma²``; CKS 2020, Prop. 19); ``sigma²``
    for large ``sigma``, the exact sum otherwise."""
    s = float(sigma)
    if s > _GAUSS_SUM_LIMIT:
        return s * s
    x = np.arange(0, math.ceil(40 * s) + 2, dtype=float)
    w = np.exp(-(x * x) / (2 * s * s))
    z = w[0] + 2 * w[1:].sum()
    return float(2 * (x * x * w).sum() / z)


def gaussian_half_width(sigma: Fraction | int, confidence: float) -> int:
    """Smallest ``k`` with ``P(|X| <= k) >= confidence`` for discrete Gaussian of ``sigma``."""
    alpha = 1 - check_confidence(confidence)
    s = float(sigma)
    if s > _GAUSS_SUM_LIMIT:
        return math.ceil(NormalDist().inv_cdf(1 - alpha / 2) * s) + 1
    x = np.arange(0, math.ceil(40 * s) + 2, dtype=float)
    w = np.exp(-(x * x) / (2 * s * s))
    z = w[0] + 2 * w[1:].sum()
    beyond = 2 * np.cumsum(w[::-1])[::-1] / z  # beyond[j] = P(|X| >= j) for j >= 1
    tail = np.append(beyond[1:], 0.0)  # tail[k] = P(|X| > k)
    return int(np.flatnonzero(tail <= alpha)[0])

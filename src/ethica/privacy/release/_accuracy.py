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

Planning inverts these: the smallest budget whose interval half-width is at most a target.
"""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist

import numpy as np

from ethica._exceptions import InvalidParameterError
from ethica.privacy.budget._budgets import ZCDP, Budget, PureDP
from ethica.privacy.noise._exact import exp_neg_interval

__all__ = [
    "check_confidence",
    "error_table",
    "gaussian_half_width",
    "gaussian_variance",
    "laplace_half_width",
    "laplace_variance",
    "plan_budget",
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


def plan_budget(
    sensitivity_l1: Fraction | int,
    sensitivity_l2_squared: Fraction | int,
    target: float,
    confidence: float,
    kind: str = "pure",
) -> Budget:
    """The smallest budget whose CI half-width is at most ``target`` at ``confidence``.

    ``kind="pure"`` plans discrete Laplace (``PureDP(Δ1 / scale)``), ``"zcdp"`` the discrete
    Gaussian (``ZCDP(Δ2² / (2 sigma²))``). The noise scale is bisected (half-widths grow
    with the scale) and rounded down to a multiple of ``1/1024``, so the target is met.
    """
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not target > 0:
        raise InvalidParameterError(f"target must be a positive error, e.g. 25; got {target!r}.")
    if kind not in ("pure", "zcdp"):
        raise InvalidParameterError(f"kind must be 'pure' or 'zcdp', got {kind!r}.")

    def width(scale: Fraction) -> int:
        if kind == "pure":
            return laplace_half_width(scale, confidence)
        return gaussian_half_width(scale, confidence)

    if width(Fraction(1, 1024)) > target:
        raise InvalidParameterError(
            f"a half-width of {target} is below the noise's smallest atom; ask for at least 1."
        )
    lo, hi = Fraction(1, 1024), Fraction(1)
    while width(hi) <= target:
        lo, hi = hi, hi * 2
    for _ in range(30):
        mid = Fraction(math.floor((lo + hi) / 2 * 1024), 1024)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if width(mid) <= target else (lo, mid)
    if kind == "pure":
        return PureDP(Fraction(sensitivity_l1) / lo)
    return ZCDP(Fraction(sensitivity_l2_squared) / (2 * lo * lo))


def error_table(
    sensitivity_l1: Fraction | int,
    sensitivity_l2_squared: Fraction | int,
    budgets: list[Fraction],
    confidence: float,
    kind: str = "pure",
) -> list[dict[str, float]]:
    """CI half-width at each budget (epsilon for ``"pure"``, rho for ``"zcdp"``): the error
    vs privacy curve a custodian reads before releasing."""
    rows = []
    for value in budgets:
        if kind == "pure":
            width = laplace_half_width(Fraction(sensitivity_l1) / value, confidence)
        else:
            sigma = math.sqrt(float(Fraction(sensitivity_l2_squared) / (2 * value)))
            width = gaussian_half_width(Fraction(sigma), confidence)
        rows.append({"epsilon" if kind == "pure" else "rho": float(value), "half_width": width})
    return rows

"""Budgets a stream can spend, and the noise law that spends each.

* ``PureDP(epsilon)``: discrete Laplace of scale ``Δ1 / epsilon`` (exact cost).
* ``ZCDP(rho)``: discrete Gaussian with ``sigma >= sqrt(Δ2² / (2 rho))`` (Canonne, Kamath &
  Steinke 2020, Thm. 4).
* ``ApproxDP(epsilon, delta)`` with ``noise="gaussian"`` (the default): the discrete Gaussian
  at the *largest* ``rho`` whose tight conversion (:func:`~ethica.privacy.zcdp_to_approx`,
  CKS 2020 Cor. 13) meets ``(epsilon, delta)``: :func:`approx_to_zcdp`. Since ``rho``-zCDP
  implies ``(epsilon, delta)``-DP, the release is ``(epsilon, delta)``-DP.
* ``ApproxDP(epsilon, delta)`` with ``noise="laplace"``: discrete Laplace of scale
  ``Δ1 / epsilon``, which is ``epsilon``-DP and so ``(epsilon, delta)``-DP for every
  ``delta``; ``delta`` is *unused* (and still charged, as stated in the budget).

:func:`approx_to_zcdp` inverts ``zcdp_to_approx`` by bisection on ``rho`` with the very bound
that function evaluates (the CKS Cor. 13 bound minimised over the Rényi order), then snaps
``rho`` *down* to a multiple of ``2**-40`` and certifies the result by calling
``zcdp_to_approx`` itself: the returned ``rho`` always converts back to an ``epsilon`` no
larger than the one asked for.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Literal

from ethica._exceptions import InvalidParameterError
from ethica.privacy.budget._accounting import _best_log_delta, zcdp_to_approx
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP
from ethica.privacy.release._noise import GaussianNoise, LaplaceNoise, Noise
from ethica.privacy.release._sensitivity import Sensitivity

__all__ = ["NoiseLaw", "approx_to_zcdp", "check_law", "spend"]

NoiseLaw = Literal["laplace", "gaussian"]
_GRID = 1 << 40
_MARGIN = 1e-9


@lru_cache(maxsize=256)
def approx_to_zcdp(budget: ApproxDP) -> ZCDP:
    """The largest ``rho`` (on the ``2**-40`` grid) with ``zcdp_to_approx(rho, delta).epsilon
    <= epsilon`` (module docstring).

    ``ApproxDP`` refuses ``delta = 0`` itself (no zCDP budget meets pure DP).
    """
    if not isinstance(budget, ApproxDP):
        raise InvalidParameterError(f"approx_to_zcdp needs an ApproxDP budget, got {budget!r}.")
    epsilon, delta = float(budget.epsilon), budget.delta
    log_d = math.log(delta.numerator) - math.log(delta.denominator)
    target = log_d - _MARGIN * max(1.0, abs(log_d))
    lower, upper = 0.0, max(epsilon, 1e-12)
    while _best_log_delta(upper, epsilon) <= target:  # rho = epsilon rarely suffices
        lower, upper = upper, upper * 2
    for _ in range(200):
        mid = (lower + upper) / 2
        if mid in (lower, upper):
            break
        if _best_log_delta(mid, epsilon) <= target:
            lower = mid
        else:
            upper = mid
    rho = Fraction(math.floor(Fraction(lower) * _GRID), _GRID)
    while rho > 0 and zcdp_to_approx(ZCDP(rho), delta).epsilon > budget.epsilon:
        rho = Fraction(math.floor(rho * (1 - Fraction(1, 10**6)) * _GRID), _GRID)
    if rho <= 0:
        raise InvalidParameterError(
            f"{budget!r} is too small for any Gaussian noise on ethica's grid; spend more."
        )
    return ZCDP(rho)


def check_law(budget: Budget, noise: str | None) -> NoiseLaw:
    """The noise law ``budget`` is spent with (``noise`` only chooses for ``ApproxDP``)."""
    if isinstance(budget, PureDP):
        fixed: NoiseLaw = "laplace"
    elif isinstance(budget, ZCDP):
        fixed = "gaussian"
    elif isinstance(budget, ApproxDP):
        if noise in (None, "gaussian"):
            return "gaussian"
        if noise == "laplace":
            return "laplace"
        raise InvalidParameterError(
            f"noise must be 'gaussian' or 'laplace' for an ApproxDP budget, got {noise!r}."
        )
    else:
        raise InvalidParameterError(
            f"a stream spends PureDP(epsilon), ZCDP(rho) or ApproxDP(epsilon, delta); got "
            f"{budget!r}."
        )
    if noise not in (None, fixed):
        raise InvalidParameterError(
            f"{type(budget).__name__} is spent with {fixed} noise, got noise={noise!r}; "
            "choose the law only with an ApproxDP budget."
        )
    return fixed


def spend(sensitivity: Sensitivity, budget: Budget, noise: str | None = None) -> Noise:
    """The noise that spends ``budget`` on a vector of the given ``sensitivity``."""
    law = check_law(budget, noise)
    if isinstance(budget, ApproxDP):
        if law == "laplace":  # epsilon-DP, hence (epsilon, delta)-DP: delta unused
            return LaplaceNoise.calibrated(sensitivity, budget)
        return GaussianNoise.calibrated(sensitivity, approx_to_zcdp(budget))
    if law == "laplace":
        return LaplaceNoise.calibrated(sensitivity, budget)
    return GaussianNoise.calibrated(sensitivity, budget)

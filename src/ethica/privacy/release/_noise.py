"""The noise a release adds to one integer vector: chosen from the budget kind, with its CI.

* ``PureDP(epsilon)`` or ``ApproxDP(epsilon, delta)``: discrete Laplace of scale
  ``t = Δ1 / epsilon`` (Ghosh, Roughgarden & Sundararajan 2009; Canonne, Kamath & Steinke
  2020), which costs exactly ``PureDP(epsilon)``.
* ``ZCDP(rho)``: discrete Gaussian with ``sigma >= sqrt(Δ2² / (2 rho))`` (CKS 2020, Thm. 4),
  which costs at most ``ZCDP(rho)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from ethica.privacy.budget._accounting import gaussian_sigma
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP
from ethica.privacy.noise._gaussian import discrete_gaussian
from ethica.privacy.noise._laplace import discrete_laplace
from ethica.privacy.release._accuracy import (
    gaussian_half_width,
    gaussian_variance,
    laplace_half_width,
    laplace_variance,
)
from ethica.privacy.release._sensitivity import Sensitivity

__all__ = ["Noise", "noise_for"]


@dataclass(frozen=True)
class Noise:
    """Exact discrete noise of one kind and parameter (``scale`` or ``sigma``)."""

    kind: str
    parameter: Fraction

    @property
    def mechanism(self) -> str:
        """Human name of the mechanism."""
        return "discrete Laplace" if self.kind == "laplace" else "discrete Gaussian"

    @property
    def parameter_name(self) -> str:
        """``scale`` (Laplace) or ``sigma`` (Gaussian)."""
        return "scale" if self.kind == "laplace" else "sigma"

    def draw(self, size: int) -> NDArray[np.int64]:
        """``size`` i.i.d. draws from the DP core's exact samplers."""
        if self.kind == "laplace":
            return discrete_laplace(self.parameter, size)
        return discrete_gaussian(self.parameter, size)

    def half_width(self, confidence: float) -> int:
        """Smallest ``k`` with ``P(|X| <= k) >= confidence``."""
        if self.kind == "laplace":
            return laplace_half_width(self.parameter, confidence)
        return gaussian_half_width(self.parameter, confidence)

    def variance(self) -> float:
        """Variance of one draw."""
        if self.kind == "laplace":
            return laplace_variance(self.parameter)
        return gaussian_variance(self.parameter)


def noise_for(sensitivity: Sensitivity, budget: Budget) -> Noise:
    """The noise that spends ``budget`` on a vector of the given sensitivity."""
    if isinstance(budget, ZCDP):
        return Noise("gaussian", gaussian_sigma(1, ZCDP(budget.rho / sensitivity.l2_squared)))
    assert isinstance(budget, PureDP | ApproxDP)
    return Noise("laplace", sensitivity.l1 / budget.epsilon)

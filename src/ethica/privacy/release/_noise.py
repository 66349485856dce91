"""The noise laws a release adds to one integer vector: one class per law, chosen by budget type.

* :class:`LaplaceNoise`, for ``PureDP(epsilon)`` or ``ApproxDP(epsilon, delta)``: discrete
  Laplace of scale ``t = Δ1 / epsilon`` (Ghosh, Roughgarden & Sundararajan 2009; Canonne,
  Kamath & Steinke 2020), which costs exactly ``PureDP(epsilon)``.
* :class:`GaussianNoise`, for ``ZCDP(rho)``: discrete Gaussian with
  ``sigma >= sqrt(Δ2² / (2 rho))`` (CKS 2020, Thm. 4), which costs at most ``ZCDP(rho)``.

Each law draws from the DP core's exact samplers, states its exact interval half-width and
variance (:mod:`._accuracy`), and converts both ways between a budget and its parameter:
:meth:`Noise.calibrated` (the noise that spends a budget) and :meth:`Noise.cost` (the budget a
parameter spends), which planning inverts. :data:`NOISE_LAWS` maps each budget type to its law.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from ethica.privacy.budget._accounting import gaussian_sigma
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP
from ethica.privacy.noise._gaussian import MAX_SIGMA, discrete_gaussian
from ethica.privacy.noise._laplace import MAX_SCALE, discrete_laplace
from ethica.privacy.release._accuracy import (
    gaussian_half_width,
    gaussian_variance,
    laplace_half_width,
    laplace_variance,
)
from ethica.privacy.release._sensitivity import Sensitivity

__all__ = ["NOISE_LAWS", "GaussianNoise", "LaplaceNoise", "Noise", "noise_for"]


@dataclass(frozen=True)
class Noise(ABC):
    """Exact discrete noise of one law with its ``parameter`` (``scale`` or ``sigma``).

    Attributes
    ----------
    parameter
        The law's exact parameter.
    kind
        The law's name in JSON output (``"laplace"`` or ``"gaussian"``).
    mechanism
        Human name of the mechanism.
    parameter_name
        What ``parameter`` is called (``"scale"`` or ``"sigma"``).
    max_parameter
        The largest parameter the exact sampler draws.
    """

    parameter: Fraction
    kind: ClassVar[Literal["laplace", "gaussian"]]
    mechanism: ClassVar[str]
    parameter_name: ClassVar[str]
    max_parameter: ClassVar[Fraction]

    @abstractmethod
    def draw(self, size: int) -> NDArray[np.int64]:
        """``size`` i.i.d. draws from the DP core's exact sampler."""

    @abstractmethod
    def half_width(self, confidence: float) -> int:
        """Smallest ``k`` with ``P(|X| <= k) >= confidence``."""

    @abstractmethod
    def variance(self) -> float:
        """Variance of one draw."""

    @classmethod
    @abstractmethod
    def calibrated(cls, sensitivity: Sensitivity, budget: Budget) -> Noise:
        """The noise that spends ``budget`` on a vector of the given ``sensitivity``."""

    @classmethod
    @abstractmethod
    def cost(cls, sensitivity: Sensitivity, parameter: Fraction) -> Budget:
        """The budget noise of ``parameter`` spends on a vector of the given ``sensitivity``."""


@dataclass(frozen=True)
class LaplaceNoise(Noise):
    """Discrete Laplace of ``scale = parameter``: ``P(x) ∝ exp(-|x| / scale)``."""

    kind: ClassVar[Literal["laplace", "gaussian"]] = "laplace"
    mechanism: ClassVar[str] = "discrete Laplace"
    parameter_name: ClassVar[str] = "scale"
    max_parameter: ClassVar[Fraction] = MAX_SCALE

    def draw(self, size: int) -> NDArray[np.int64]:
        """``size`` i.i.d. draws (exact sampler)."""
        return discrete_laplace(self.parameter, size)

    def half_width(self, confidence: float) -> int:
        """Smallest ``k`` with ``P(|X| <= k) >= confidence`` (exact)."""
        return laplace_half_width(self.parameter, confidence)

    def variance(self) -> float:
        """``2 p / (1 - p)²`` with ``p = exp(-1 / scale)``."""
        return laplace_variance(self.parameter)

    @classmethod
    def calibrated(cls, sensitivity: Sensitivity, budget: Budget) -> LaplaceNoise:
        """``scale = Δ1 / epsilon`` for ``PureDP(epsilon)`` or ``ApproxDP(epsilon, delta)``."""
        assert isinstance(budget, PureDP | ApproxDP)
        return cls(sensitivity.l1 / budget.epsilon)

    @classmethod
    def cost(cls, sensitivity: Sensitivity, parameter: Fraction) -> PureDP:
        """``PureDP(Δ1 / scale)``."""
        return PureDP(sensitivity.l1 / parameter)


@dataclass(frozen=True)
class GaussianNoise(Noise):
    """Discrete Gaussian of ``sigma = parameter``: ``P(x) ∝ exp(-x² / (2 sigma²))``."""

    kind: ClassVar[Literal["laplace", "gaussian"]] = "gaussian"
    mechanism: ClassVar[str] = "discrete Gaussian"
    parameter_name: ClassVar[str] = "sigma"
    max_parameter: ClassVar[Fraction] = MAX_SIGMA

    def draw(self, size: int) -> NDArray[np.int64]:
        """``size`` i.i.d. draws (exact sampler)."""
        return discrete_gaussian(self.parameter, size)

    def half_width(self, confidence: float) -> int:
        """Smallest ``k`` with ``P(|X| <= k) >= confidence``."""
        return gaussian_half_width(self.parameter, confidence)

    def variance(self) -> float:
        """The discrete Gaussian's variance (below ``sigma²``)."""
        return gaussian_variance(self.parameter)

    @classmethod
    def calibrated(cls, sensitivity: Sensitivity, budget: Budget) -> GaussianNoise:
        """``sigma >= sqrt(Δ2² / (2 rho))`` (rounded up to ``2**-40``) for ``ZCDP(rho)``."""
        assert isinstance(budget, ZCDP)
        return cls(gaussian_sigma(1, ZCDP(budget.rho / sensitivity.l2_squared)))

    @classmethod
    def cost(cls, sensitivity: Sensitivity, parameter: Fraction) -> ZCDP:
        """``ZCDP(Δ2² / (2 sigma²))``."""
        return ZCDP(sensitivity.l2_squared / (2 * parameter * parameter))


NOISE_LAWS: dict[type[Budget], type[Noise]] = {
    PureDP: LaplaceNoise,
    ApproxDP: LaplaceNoise,
    ZCDP: GaussianNoise,
}
"""The noise law each budget type is spent with."""


def noise_for(sensitivity: Sensitivity, budget: Budget) -> Noise:
    """The noise that spends ``budget`` on a vector of the given sensitivity."""
    return NOISE_LAWS[type(budget)].calibrated(sensitivity, budget)

"""Conversions between budget kinds, composition, and the closed-form cost of each mechanism.

Proof obligations (each function returns a *valid* guarantee, never an optimistic one):

* :func:`pure_to_zcdp`: ``epsilon``-DP implies ``epsilon**2 / 2``-zCDP (Bun & Steinke 2016,
  Proposition 1.4). Exact.
* :func:`pure_to_approx`: ``epsilon``-DP implies ``(epsilon, delta)``-DP for every delta.
* :func:`zcdp_to_approx`: ``rho``-zCDP implies ``(epsilon, delta)``-DP whenever some
  ``alpha > 1`` has ``exp((alpha-1)(alpha rho - epsilon)) / (alpha-1) * (1-1/alpha)**alpha <=
  delta`` (Canonne, Kamath & Steinke 2020, arXiv:2004.00010, Corollary 13, the tight
  conversion). The smallest such ``epsilon`` is found by a bounded search: for each
  candidate ``epsilon`` the best ``alpha`` is located by golden-section search on the convex
  log of that bound; ``epsilon`` is bisected 200 times between 0 and the Bun–Steinke value
  ``rho + 2 sqrt(rho log(1/delta))`` (always valid), and the returned ``epsilon`` is the
  smallest candidate whose bound, evaluated in floating point, is below ``delta`` with a
  relative margin of ``1e-9`` (far above the rounding error of the evaluation), rounded *up*
  to a multiple of ``2**-40``. The result never claims more privacy than the theorem gives.
* :func:`sequential_composition`, :func:`parallel_composition`: basic composition
  (Dwork et al. 2006) adds budgets; over disjoint parts of the data the cost is the
  componentwise maximum (McSherry 2009, PINQ).
* :func:`laplace_cost` ``PureDP(Δ1 / scale)``, :func:`gaussian_cost`
  ``ZCDP(Δ2**2 / (2 sigma**2))``, :func:`exponential_cost` ``PureDP(epsilon)``; the inverse
  helpers :func:`laplace_scale` and :func:`gaussian_sigma` return a noise parameter whose
  cost is at most the budget given (sigma rounded *up* to a multiple of ``2**-40``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import reduce

from ethica._exceptions import InvalidParameterError
from ethica.privacy._params import to_delta, to_rational
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP

__all__ = [
    "exponential_cost",
    "gaussian_cost",
    "gaussian_sigma",
    "laplace_cost",
    "laplace_scale",
    "parallel_composition",
    "pure_to_approx",
    "pure_to_zcdp",
    "sequential_composition",
    "zcdp_to_approx",
]

_GRID = 1 << 40
_MARGIN = 1e-9


def _expect(budget: object, kind: type, name: str) -> None:
    if not isinstance(budget, kind):
        raise TypeError(f"{name} needs a {kind.__name__} budget, got {budget!r}.")


def pure_to_zcdp(budget: PureDP) -> ZCDP:
    """``epsilon``-DP as zCDP: ``rho = epsilon**2 / 2`` (Bun & Steinke 2016, Prop. 1.4)."""
    _expect(budget, PureDP, "pure_to_zcdp")
    return ZCDP(budget.epsilon**2 / 2)


def pure_to_approx(budget: PureDP, delta: object) -> ApproxDP:
    """``epsilon``-DP as ``(epsilon, delta)``-DP (pure DP is the case delta = 0)."""
    _expect(budget, PureDP, "pure_to_approx")
    return ApproxDP(budget.epsilon, to_delta(delta))


def _log_delta(rho: float, epsilon: float, alpha: float) -> float:
    """Log of the CKS 2020 Corollary 13 bound at order ``alpha``."""
    return (
        (alpha - 1) * (alpha * rho - epsilon) - math.log(alpha - 1) + alpha * math.log1p(-1 / alpha)
    )


def _best_log_delta(rho: float, epsilon: float) -> float:
    """Minimise the convex bound over ``alpha`` in (1, alpha_max] by golden-section search."""
    lo, hi = 1.0 + 1e-12, max(2.0, 2.0 * (epsilon + 1.0) / rho + 2.0)
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(200):
        a = hi - ratio * (hi - lo)
        b = lo + ratio * (hi - lo)
        if _log_delta(rho, epsilon, a) < _log_delta(rho, epsilon, b):
            hi = b
        else:
            lo = a
    return min(_log_delta(rho, epsilon, x) for x in (lo, hi, (lo + hi) / 2))


def zcdp_to_approx(budget: ZCDP, delta: object) -> ApproxDP:
    """The smallest ``epsilon`` with ``rho``-zCDP ⇒ ``(epsilon, delta)``-DP (CKS 2020, Cor. 13).

    See the module docstring for the bounded search and why the result is conservative.
    """
    _expect(budget, ZCDP, "zcdp_to_approx")
    d = to_delta(delta)
    rho = float(budget.rho)
    log_d = math.log(d.numerator) - math.log(d.denominator)  # exact for deltas below 1e-308
    target = log_d - _MARGIN * max(1.0, abs(log_d))
    upper = rho + 2 * math.sqrt(rho * -log_d)  # Bun & Steinke 2016, Prop 1.3
    lower = 0.0
    for _ in range(200):
        mid = (lower + upper) / 2
        if _best_log_delta(rho, mid) <= target:
            upper = mid
        else:
            lower = mid
    epsilon = Fraction(math.ceil(Fraction(upper) * _GRID), _GRID)
    return ApproxDP(epsilon, d)


def sequential_composition(budgets: Iterable[Budget]) -> Budget:
    """Total cost of running mechanisms one after another: their sum (same kind only)."""
    items = list(budgets)
    if not items:
        raise InvalidParameterError("sequential_composition needs at least one budget.")
    return reduce(lambda a, b: a + b, items)


def parallel_composition(budgets: Sequence[Budget]) -> Budget:
    """Cost of mechanisms on *disjoint* parts of the data: the componentwise maximum.

    McSherry (2009), "Privacy Integrated Queries", Theorem 4. Mixing kinds raises TypeError.
    """
    if not budgets:
        raise InvalidParameterError("parallel_composition needs at least one budget.")
    first = budgets[0]
    for other in budgets[1:]:
        if type(other) is not type(first):
            raise TypeError(
                f"cannot compose {type(first).__name__} and {type(other).__name__} in parallel; "
                "convert to one kind first."
            )
    fields = first._fields
    parts = [max(getattr(b, name) for b in budgets) for name in fields]
    return type(first)(*parts)


def _sensitivity(value: object) -> Fraction:
    return to_rational(value, "sensitivity")


def laplace_cost(sensitivity: object, scale: object) -> PureDP:
    """``PureDP(Δ1 / scale)`` for discrete Laplace noise on a query of L1 sensitivity Δ1.

    Ghosh, Roughgarden & Sundararajan (2009); Canonne, Kamath & Steinke (2020), Theorem 2.
    """
    return PureDP(_sensitivity(sensitivity) / to_rational(scale, "scale"))


def gaussian_cost(sensitivity: object, sigma: object) -> ZCDP:
    """``ZCDP(Δ2**2 / (2 sigma**2))`` for discrete Gaussian noise, L2 sensitivity Δ2.

    Canonne, Kamath & Steinke (2020), Theorem 4.
    """
    return ZCDP(_sensitivity(sensitivity) ** 2 / (2 * to_rational(sigma, "sigma") ** 2))


def exponential_cost(epsilon: object) -> PureDP:
    """``PureDP(epsilon)`` for the exponential mechanism / permute-and-flip run at epsilon.

    McSherry & Talwar (2007); McKenna & Sheldon (2020).
    """
    return PureDP(epsilon)


def laplace_scale(sensitivity: object, budget: PureDP) -> Fraction:
    """The discrete Laplace scale ``Δ1 / epsilon`` that spends exactly ``budget``."""
    _expect(budget, PureDP, "laplace_scale")
    return _sensitivity(sensitivity) / budget.epsilon


def gaussian_sigma(sensitivity: object, budget: ZCDP) -> Fraction:
    """A sigma ``>= Δ2 / sqrt(2 rho)``, rounded up to a multiple of ``2**-40``."""
    _expect(budget, ZCDP, "gaussian_sigma")
    variance = _sensitivity(sensitivity) ** 2 / (2 * budget.rho)
    scaled = variance * _GRID * _GRID
    root = math.isqrt(scaled.numerator // scaled.denominator)
    while Fraction(root * root) < scaled:
        root += 1
    return Fraction(root, _GRID)

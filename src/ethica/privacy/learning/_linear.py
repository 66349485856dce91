r"""Differentially private linear regression by sufficient-statistics perturbation.

Definition (Dwork, Talwar, Thakurta & Zhang 2014; Wang 2018, "Revisiting differentially
private linear regression", *UAI*): least squares needs only :math:`X^\top X` and
:math:`X^\top y`; release both with noise and solve the noisy normal equations.

Declared, public preprocessing: every feature ``j`` is clamped to ``bounds_X[j] = (lo, hi)``
and the target to ``bounds_y``; nothing is read from the data to choose them. With
``fit_intercept`` a constant column 1 is appended (so the count ``n`` is released too, as the
intercept's diagonal entry, with the same noise).

**Fixed-point grid** (one arithmetic): each clamped coordinate :math:`z_j` of the row
:math:`z = (x, 1, y)` becomes the integer :math:`u_j = \mathrm{round}(2^{10} z_j / M_j)`,
:math:`M_j = \max(|lo_j|, |hi_j|)`, so :math:`|u_j| \le 2^{10}`. The released statistic is the
upper triangle (diagonal included) of :math:`\sum_i u_i u_i^\top`, summed exactly (integers
below :math:`2^{53}` in float64, then int64). One row adds or removes
:math:`(u_j u_k)_{j \le k}`, of L1 norm at most :math:`\binom{m+1}{2} 2^{20}` and L2 norm at most
:math:`2^{20}\sqrt{\binom{m+1}{2}}` (:math:`m` = length of :math:`z`). Noise: discrete
Laplace of scale :math:`\Delta_1/\varepsilon` for ``PureDP``; discrete Gaussian of
:math:`\sigma = \Delta_2/\sqrt{2\rho}` for ``ZCDP(rho)`` (Canonne, Kamath & Steinke 2020,
Thm 4), with ``ApproxDP(epsilon, delta)`` spent as the largest ``rho`` whose tight
conversion fits. Post-processing (free): the noisy :math:`X^\top X` is made positive
semi-definite by clipping its eigenvalues at zero and regularised with ``alpha`` (default:
the noise's standard deviation times :math:`\sqrt{m}`, a public quantity), then solved.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted, validate_data

from ethica._exceptions import InvalidParameterError
from ethica.fairness._learning_base import EstimatorNotFittedError
from ethica.privacy.budget._accounting import gaussian_sigma
from ethica.privacy.budget._budgets import ZCDP, Budget, PureDP
from ethica.privacy.learning._charging import (
    SharedLedgerClone,
    check_calibration,
    check_ledger,
    check_positive,
    draw_noise,
    finite_rows,
    private_inputs,
    resolve_budget,
    run_charged,
    zcdp_of,
)
from ethica.privacy.noise._gaussian import MAX_SIGMA
from ethica.privacy.noise._laplace import MAX_SCALE as MAX_LAPLACE_SCALE

__all__ = ["DPLinearRegression"]

_GRID_BITS = 10
_MAX_ROWS = 1 << 32  # (2**10)**2 per product, sums stay below 2**53: exact in float64


def _bounds(owner: str, name: str, value: Any, width: int) -> npt.NDArray[np.float64]:
    """``(width, 2)`` array of finite ``lo < hi`` pairs from a pair or a list of pairs."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.empty(0)
    if array.shape == (2,):
        array = np.tile(array, (width, 1))
    if array.shape != (width, 2) or not np.all(np.isfinite(array)):
        raise InvalidParameterError(
            f"{owner}({name}={value!r}) must be (lower, upper) or one (lower, upper) per "
            f"column ({width}), finite numbers declared from domain knowledge."
        )
    if np.any(array[:, 0] >= array[:, 1]):
        raise InvalidParameterError(
            f"{owner}({name}={value!r}): every lower bound must be below its upper bound."
        )
    return array


def row_products(z: npt.NDArray[np.float64], magnitude: npt.NDArray[np.float64]) -> Any:
    """The integer statistic ``sum_i (u_i u_i^T)[upper]`` of clamped rows ``z`` (int64).

    ``u = round(2**10 z / magnitude)``, so every ``|u_j| <= 2**10``; the products are
    integers below ``2**20`` and their sums below ``2**53`` for fewer than ``2**33`` rows, so
    the float64 matrix product is exact.
    """
    scale = 1 << _GRID_BITS
    units = np.rint(z * (scale / magnitude))
    upper = np.triu_indices(z.shape[1])
    return (units.T @ units)[upper].astype(np.int64)


def sensitivity(m: int) -> tuple[int, int]:
    """``(L1, L2**2)`` bounds, in grid units, of one row's change to :func:`row_products`."""
    pairs = m * (m + 1) // 2
    unit = 1 << (2 * _GRID_BITS)
    return pairs * unit, pairs * unit * unit


class DPLinearRegression(SharedLedgerClone, RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Least squares under differential privacy (noisy sufficient statistics).

    See :mod:`ethica.privacy.learning._linear` for the mechanism and its sensitivity.

    Parameters
    ----------
    epsilon, delta, budget
        As in :class:`~ethica.privacy.learning.DPLogisticRegression`: ``PureDP(epsilon)``,
        ``ApproxDP(epsilon, delta)``, or a typed budget (``ZCDP`` too).
    bounds_X
        ``(lower, upper)`` for every feature, or one pair per feature; values are clamped.
    bounds_y
        ``(lower, upper)`` of the target; values are clamped.
    fit_intercept
        Append a constant feature 1 (its coefficient is ``intercept_``).
    alpha
        Ridge added to the noisy ``X^T X`` (None: the noise's standard deviation times
        ``sqrt(m)``, data-independent).
    ledger, dataset
        Charge the budget to this registered dataset before the data is read.

    Attributes
    ----------
    coef_, intercept_, n_features_in_, budget_, noise_
    """

    def __init__(
        self,
        *,
        epsilon: float | None = None,
        delta: float | None = None,
        budget: Budget | None = None,
        bounds_X: Any = (-1.0, 1.0),
        bounds_y: Any = (-1.0, 1.0),
        fit_intercept: bool = True,
        alpha: float | None = None,
        ledger: Any = None,
        dataset: str | None = None,
    ) -> None:
        self.epsilon = epsilon
        self.delta = delta
        self.budget = budget
        self.bounds_X = bounds_X
        self.bounds_y = bounds_y
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.ledger = ledger
        self.dataset = dataset

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        if tags.regressor_tags is not None:
            tags.regressor_tags.poor_score = True
        return tags

    def fit(self, X: Any, y: Any) -> DPLinearRegression:
        """Free checks and calibration, the charge, then the noisy statistics and the solve.

        Raises
        ------
        InvalidParameterError, BudgetExceededError
            Before the charge (nothing spent).
        ReleaseFailedError
            After the charge (generic message; the charge stands).
        """
        name = type(self).__name__
        budget = resolve_budget(name, self.epsilon, self.delta, self.budget)
        if self.alpha is not None:
            check_positive(name, "alpha", self.alpha)
        X, y = private_inputs(self, X, y, charged=self.ledger is not None, y_numeric=True)
        bounds = np.vstack(
            [
                _bounds(name, "bounds_X", self.bounds_X, X.shape[1]),
                *([np.array([[0.0, 1.0]])] if self.fit_intercept else []),  # the constant 1
                _bounds(name, "bounds_y", self.bounds_y, 1),
            ]
        )
        if X.shape[0] >= _MAX_ROWS:
            raise InvalidParameterError(
                f"{name} sums at most 2**32 rows exactly; got {X.shape[0]}. Subsample first."
            )
        plan = self._calibrate(budget, bounds)
        ledger = check_ledger(name, self.ledger, self.dataset, budget)
        m = bounds.shape[0]
        scale = 1 << _GRID_BITS
        magnitude = np.maximum(np.abs(bounds[:, 0]), np.abs(bounds[:, 1]))
        upper = np.triu_indices(m)

        def train() -> npt.NDArray[np.float64]:
            with np.errstate(all="ignore"):  # an overflow: a non-finite value, refused below
                return fit_after_charge()

        def fit_after_charge() -> npt.NDArray[np.float64]:
            keep = finite_rows(X, y)  # rows with NaN or inf are dropped (row-local)
            rows, targets = X[keep], y[keep]
            columns = [rows, np.ones((rows.shape[0], 1))] if self.fit_intercept else [rows]
            z = np.clip(np.hstack([*columns, targets[:, None]]), bounds[:, 0], bounds[:, 1])
            exact = row_products(z, magnitude)
            draws = draw_noise(plan["mechanism"], plan["_scale"], len(exact))
            # exact integer sum (Python ints: no int64 wrap-around), then one rounding to float
            noisy = [float(int(a) + int(b)) for a, b in zip(exact, draws, strict=True)]
            stats = np.zeros((m, m))
            stats[upper] = noisy
            stats = stats + np.triu(stats, 1).T
            stats *= np.outer(magnitude, magnitude) / (scale * scale)
            w = self._solve(stats, plan["_ridge"])
            if not np.all(np.isfinite(w)):
                raise ArithmeticError("non-finite coefficients")
            return w

        description = f"{name} on {X.shape[1]} features"
        w = run_charged(
            ledger, self.dataset, budget, description, train, released=lambda v: v.tolist()
        )
        p = X.shape[1]
        self.coef_ = w[:p].copy()
        self.intercept_ = float(w[p]) if self.fit_intercept else 0.0
        self.budget_ = budget
        self.noise_ = {k: v for k, v in plan.items() if not k.startswith("_")}
        return self

    def _calibrate(self, budget: Budget, bounds: npt.NDArray[np.float64]) -> dict[str, Any]:
        """The noise law, its scale in grid units and the ridge, from public values only
        (the budget and the declared bounds); runs before the charge, so an impossible
        calibration costs nothing."""
        name = type(self).__name__
        m = bounds.shape[0]
        pairs = m * (m + 1) // 2
        l1, l2_squared = sensitivity(m)
        scale = 1 << _GRID_BITS
        magnitude = np.maximum(np.abs(bounds[:, 0]), np.abs(bounds[:, 1]))
        top = float(np.max(magnitude))
        largest = top * top if top <= 1e150 else math.inf  # no OverflowError
        check_calibration(
            name, "the largest squared bound max(|lower|, |upper|)**2", largest,
            "declare bounds_X and bounds_y of magnitude at most 1e50 (rescale the columns)",
        )  # fmt: skip
        fix = f"{budget} leaves noise beyond the exact sampler's range; pass a larger epsilon"
        noise_scale: Fraction
        if isinstance(budget, PureDP):
            noise_scale = Fraction(l1) / budget.epsilon
            if noise_scale > MAX_LAPLACE_SCALE:
                raise InvalidParameterError(
                    f"{name}: the discrete Laplace scale {float(noise_scale):.4g} (grid units) "
                    f"exceeds 2**52; {fix}. Nothing was charged."
                )
            std = math.sqrt(2.0) * float(noise_scale)
            plan: dict[str, Any] = {
                "mechanism": "discrete Laplace",
                "scale_grid_units": float(noise_scale),
            }
        else:
            rho, _ = zcdp_of(budget)  # InvalidParameterError when too small: before the charge
            noise_scale = gaussian_sigma(Fraction(math.isqrt(l2_squared - 1) + 1), ZCDP(rho))
            if noise_scale > MAX_SIGMA:
                raise InvalidParameterError(
                    f"{name}: the discrete Gaussian sigma {float(noise_scale):.4g} (grid units) "
                    f"exceeds 2**48; {fix} or delta. Nothing was charged."
                )
            std = float(noise_scale)
            plan = {"mechanism": "discrete Gaussian", "sigma_grid_units": float(noise_scale)}
        if self.alpha is not None:
            ridge = check_calibration(name, "alpha", float(self.alpha), "pass a smaller alpha")
        else:
            ridge = std * largest / scale**2 * math.sqrt(m)
            check_calibration(name, "the default ridge (noise sd * sqrt(m))", ridge, fix)
        plan.update({"pairs": pairs, "_scale": noise_scale, "_ridge": ridge})
        return plan

    @staticmethod
    def _solve(stats: npt.NDArray[np.float64], ridge: float) -> npt.NDArray[np.float64]:
        """Noisy ``X^T X`` projected onto the PSD cone, plus ``ridge``, solved (free)."""
        gram, cross = stats[:-1, :-1], stats[:-1, -1]
        values, vectors = np.linalg.eigh(gram)
        psd = (vectors * np.maximum(values, 0.0)) @ vectors.T + ridge * np.eye(gram.shape[0])
        solution: npt.NDArray[np.float64] = np.linalg.solve(psd, cross)
        return solution

    def predict(self, X: Any) -> npt.NDArray[np.float64]:
        """``X @ coef_ + intercept_`` (features clamped to ``bounds_X`` as in training)."""
        try:
            check_is_fitted(self)
        except SklearnNotFittedError:
            raise EstimatorNotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, y) before predicting."
            ) from None
        X = validate_data(self, X, reset=False, dtype=np.float64)
        bounds = _bounds(type(self).__name__, "bounds_X", self.bounds_X, X.shape[1])
        clipped = np.clip(X, bounds[:, 0], bounds[:, 1])
        result: npt.NDArray[np.float64] = clipped @ self.coef_ + self.intercept_
        return result

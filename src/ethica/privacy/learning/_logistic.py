r"""Differentially private logistic regression: objective perturbation and DP-SGD.

Both methods protect one row (add/remove neighbours, ethica's ``Rows()`` unit). The only
preprocessing is public: every row of ``X`` is scaled into the declared ball
``||x|| <= data_norm`` (rows inside it are unchanged), never a bound read from the data.
With ``fit_intercept`` the learner works on :math:`\tilde x = (x, 1)`, so
:math:`\|\tilde x\| \le \tilde R = \sqrt{R^2 + 1}` (:math:`R` = ``data_norm``).

**Objective perturbation** (``method="objective"``; Chaudhuri, Monteleoni & Sarwate 2011,
"Differentially private empirical risk minimization", *JMLR* 12, Algorithm 2). It needs an
L2 regulariser, bounded feature norms and a loss that is convex and twice differentiable with
:math:`|\ell'| \le 1` and :math:`\ell'' \le c` (logistic loss: :math:`c = 1/4`). Released:

.. math::
    w = \arg\min_w \sum_i \ell(y_i w^\top \tilde x_i) + \frac{\lambda + \Delta}{2}\|w\|^2
        + b^\top w, \qquad \lambda = 1/C,

with :math:`b` drawn with density :math:`\propto e^{-\beta\|b\|}` (uniform direction, norm
:math:`\Gamma(p, 1/\beta)`). For add/remove neighbours the CMS change-of-variables argument
gives :math:`\|b - b'\| \le \tilde R` and a Jacobian ratio at most
:math:`1 + c\tilde R^2/(\lambda + \Delta)`, hence pure
:math:`\varepsilon = \beta \tilde R + \log(1 + c\tilde R^2/(\lambda+\Delta))`. ethica spends
at most a share :math:`s\varepsilon` on the Jacobian term (:math:`s = 1/8` for
:math:`\varepsilon \le 1`, else :math:`1/4`; data-independent, chosen on the Adult
benchmark): :math:`\Delta = \max(0, c\tilde R^2/(e^{s\varepsilon}-1) - \lambda)` (CMS add
:math:`\Delta` only when :math:`\lambda` alone leaves no budget, then spend half of
:math:`\varepsilon` on it) and
:math:`\beta = (\varepsilon - \log(1 + c\tilde R^2/(\lambda+\Delta)))/\tilde R`. The
objective is in sum form, so the number of rows is never needed. The minimiser is found by
Newton's method to machine precision (the proof is for the exact minimiser). *Noise*: the
proof needs a density on :math:`\mathbb R^p` (the output is a minimiser, not a noisy sum; noise
on a lattice would give neighbours different supports), so ``b`` is a continuous draw
from a generator seeded with 256 bits of the OS CSPRNG; ethica's exact integer samplers
cannot serve here, and the guarantee is that of the real-valued analysis.

**DP-SGD** (``method="dp-sgd"``; Abadi et al. 2016, "Deep learning with differential
privacy", *CCS*). Each step samples every row with probability ``sampling_rate`` (Poisson,
CSPRNG bits), sums per-example gradients :math:`g_i = (\sigma(w^\top\tilde x_i) - y_i)
\tilde x_i` — already of norm at most :math:`\tilde R` after the row clipping, so per-example
clipping to :math:`\tilde R` is implied — and adds Gaussian noise. *Fixed-point grid*: each
:math:`g_i` is mapped to integers :math:`v_i = \mathrm{round}(g_i \cdot 2^{16}/\tilde R)`;
then :math:`\|v_i\| \le S = 2^{16} + \lceil\sqrt p/2\rceil` (checked on the integers; a row
over it would contribute zero), the batch sum is exact int64, and the noise is
``discrete_gaussian(z S)`` (Canonne, Kamath & Steinke 2020), so no float carries the secret.
A noisy row count (discrete Gaussian, 1/20 of the zCDP level) scales the steps, so the
number of rows is not treated as public. *Accounting*: with ``sampling_rate = 1`` each step
is exactly :math:`\rho = 1/(2z^2)`-zCDP (CKS 2020, Thm 4) and the total is
:math:`\rho_{count} + T/(2z^2)`; with ``sampling_rate < 1`` Google's ``dp-accounting``
RDP accountant composes the Poisson-subsampled Gaussian steps (Mironov, Talwar & Zhang 2019)
at integer orders :math:`\alpha` only. Justification for the discrete Gaussian: the
accountant's term :math:`A_\alpha = \sum_k \binom{\alpha}{k}(1-q)^{\alpha-k} q^k
E_{\mu_0}[(\mu_v/\mu_0)^k]` uses the moments :math:`E_{\mu_0}[(\mu_v/\mu_0)^k] =
e^{k(k-1)\|v\|^2/(2\sigma^2)}` of the continuous Gaussian; for the discrete Gaussian with an
integer shift :math:`v` the same moment is
:math:`e^{k(k-1)\|v\|^2/(2\sigma^2)}\sum_x e^{-\|x-kv\|^2/(2\sigma^2)}/Z` and the sum equals
the normaliser :math:`Z` because :math:`kv` is a lattice point, so :math:`A_\alpha` is
identical. The reverse divergence is bounded by :math:`A_\alpha` for the continuous Gaussian
(MTZ 2019, Thm 5); that step is taken from the continuous analysis, not re-proved here. The
returned model is the average of the last half of the iterates (post-processing).

Budgets: ``method="objective"`` spends ``PureDP(epsilon)`` (a ``ZCDP(rho)`` budget runs it at
:math:`\varepsilon = \sqrt{2\rho}`; ``ApproxDP`` at its epsilon); ``method="dp-sgd"`` needs
``ApproxDP`` (or ``ZCDP`` with ``sampling_rate=1``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController

from ethica._exceptions import InvalidParameterError
from ethica.fairness._learning_base import EstimatorNotFittedError
from ethica.privacy.budget._accounting import gaussian_sigma
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP
from ethica.privacy.learning._charging import (
    LIMIT,
    SharedLedgerClone,
    check_calibration,
    check_ledger,
    check_positive,
    clip_rows,
    dyadic_below,
    finite_rows,
    private_inputs,
    private_rng,
    resolve_budget,
    run_charged,
    zcdp_of,
)
from ethica.privacy.learning._labels import code_labels, declared_codes
from ethica.privacy.noise import discrete_gaussian
from ethica.privacy.noise._gaussian import MAX_SIGMA

__all__ = ["DPLogisticRegression"]

_C_LOGISTIC = 0.25  # bound on the logistic loss's second derivative


def _jacobian_share(epsilon: float) -> float:
    """Most of epsilon objective perturbation may spend on the Jacobian term: 1/8 up to
    epsilon = 1, 1/4 above (a data-independent rule, chosen on the Adult benchmark)."""
    return epsilon / 8 if epsilon <= 1 else epsilon / 4


_GRID_BITS = 16


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """One scan of the loaded BLAS libraries per process (a scan per fit cost ~8 ms, more
    than the fit itself on small data)."""
    return ThreadpoolController()


#: Newton decrement (relative to the objective) below which full Newton steps are taken.
_QUADRATIC_REGION = 1e-10

_COUNT_SHARE = 20  # DP-SGD's noisy count gets 1/20 of the zCDP level


def _newton(
    X: npt.NDArray[np.float64],
    signs: npt.NDArray[np.float64],
    ridge: float,
    linear: npt.NDArray[np.float64],
    max_iter: int,
) -> npt.NDArray[np.float64]:
    """Minimise ``sum log(1 + exp(-s_i w.x_i)) + ridge/2 |w|^2 + linear.w`` (strongly convex).

    Damped Newton (Armijo backtracking) far from the minimiser; once the Newton decrement
    ``g.H^-1 g`` (twice the predicted decrease) falls below ``1e-10 |f|``, the objective's own
    rounding error (~``1e-16 |f|`` summed over the rows) can hide a true decrease, so
    backtracking would halve the step ~40 times per iteration for nothing: there, in Newton's
    quadratic region, full steps are taken until the step no longer changes ``w``.
    """

    def value(w: npt.NDArray[np.float64]) -> float:
        return float(-log_expit(signs * (X @ w)).sum() + 0.5 * ridge * w @ w + linear @ w)

    w = np.zeros(X.shape[1])
    current = value(w)
    for _ in range(max_iter):
        margin = signs * (X @ w)
        grad = -(X.T @ (signs * expit(-margin))) + ridge * w + linear
        curvature = expit(margin) * expit(-margin)
        hessian = (X.T * curvature) @ X + ridge * np.eye(X.shape[1])
        step = np.linalg.solve(hessian, grad)
        decrement = float(grad @ step)
        scale = max(1.0, abs(current))
        if decrement <= 1e-20 * scale:
            break
        if decrement <= _QUADRATIC_REGION * scale:
            w = w - step
            if float(np.max(np.abs(step))) <= 1e-15 * max(1.0, float(np.max(np.abs(w)))):
                break
            current = value(w)
            continue
        size, trial = 1.0, value(w - step)
        while size > 1e-12 and trial > current - 0.25 * size * decrement:
            size /= 2
            trial = value(w - size * step)
        w, current = w - size * step, trial
    return w


def gradient_bound(p: int) -> int:
    """``S``: an integer bound on the L2 norm of a rounded per-example gradient on the grid.

    ``||round(a)|| <= ||a|| + ||round(a) - a|| <= 2**16 + sqrt(p)/2`` for ``||a|| <= 2**16``.
    """
    return (1 << _GRID_BITS) + math.ceil(math.sqrt(p) / 2)


def grid_gradients(
    rows: npt.NDArray[np.float64], residual: npt.NDArray[np.float64], radius: float
) -> npt.NDArray[np.int64]:
    """Per-example gradients ``residual_i * rows_i`` on the integer grid ``2**16 / radius``,
    rows whose integer norm exceeds :func:`gradient_bound` (none, when ``||rows_i|| <= radius``
    and ``|residual_i| <= 1``) replaced by zero, so the bound holds on the very integers."""
    scale = (1 << _GRID_BITS) / radius
    units = np.rint(rows * (residual * scale)[:, None]).astype(np.int64)
    bound = gradient_bound(rows.shape[1])
    inside = np.einsum("ij,ij->i", units, units) <= bound * bound
    result: npt.NDArray[np.int64] = np.where(inside[:, None], units, 0)
    return result


class DPLogisticRegression(SharedLedgerClone, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Binary logistic regression trained under differential privacy.

    See the module docstring (:mod:`ethica.privacy.learning._logistic`) for the two
    mechanisms, their requirements and their proofs.

    Parameters
    ----------
    epsilon, delta
        The privacy loss, as in diffprivlib: ``PureDP(epsilon)``, or
        ``ApproxDP(epsilon, delta)`` when ``delta`` is given. ``epsilon`` defaults to 1.
    budget
        A typed budget (``PureDP``, ``ZCDP``, ``ApproxDP``) instead of epsilon/delta.
    method
        ``"objective"`` (objective perturbation, pure DP) or ``"dp-sgd"``.
    data_norm
        Declared bound ``R`` on the Euclidean norm of a row of ``X``; rows beyond it are
        scaled down onto the ball, in ``fit`` and in ``predict``. Never read from the data.
    C
        Inverse L2 regularisation, as in scikit-learn (``lambda = 1/C`` on the summed loss).
    classes
        ``(negative, positive)``, declared (public): then which labels occur in ``y`` is
        never read; only ``y``'s dtype is checked before the charge, and after it a row
        whose label is neither class is dropped (never refused). ``None`` (default, the
        scikit-learn habit) reads ``classes_`` from ``y``, which the budget does not cover:
        refused when a ledger is charged (:mod:`ethica.privacy.learning._labels`).
    fit_intercept
        Learn an intercept (a constant feature 1, regularised with the rest).
    max_iter
        Newton iterations (objective) or noisy gradient steps (DP-SGD).
    sampling_rate
        DP-SGD: the probability that a row enters a step's batch (1: full batch).
    learning_rate
        DP-SGD step size; default ``1 / (R~**2 / 4 + 1/(C n~))`` (the loss's smoothness).
    ledger, dataset
        Charge the budget to this registered dataset of this ledger (a Ledger or its path)
        before the data is read. A clone shares the ledger.

    Attributes
    ----------
    coef_, intercept_, classes_, n_features_in_
        As in scikit-learn's ``LogisticRegression``.
    n_iter_
        ``max_iter``, public on purpose: DP-SGD runs exactly that many steps, and Newton's
        actual count (at most that) depends on the data, so it is not released.
    budget_
        The budget this fit spent (and charged).
    noise_
        What was drawn, described by public parameters only (mechanism, noise scale).
    """

    def __init__(
        self,
        *,
        epsilon: float | None = None,
        delta: float | None = None,
        budget: Budget | None = None,
        method: Literal["objective", "dp-sgd"] = "objective",
        data_norm: float = 1.0,
        C: float = 1.0,
        classes: Sequence[Any] | None = None,
        fit_intercept: bool = True,
        max_iter: int = 100,
        sampling_rate: float = 1.0,
        learning_rate: float | None = None,
        ledger: Any = None,
        dataset: str | None = None,
    ) -> None:
        self.epsilon = epsilon
        self.delta = delta
        self.budget = budget
        self.method = method
        self.data_norm = data_norm
        self.C = C
        self.classes = classes
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.sampling_rate = sampling_rate
        self.learning_rate = learning_rate
        self.ledger = ledger
        self.dataset = dataset

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        if tags.classifier_tags is not None:
            tags.classifier_tags.multi_class = False
            tags.classifier_tags.poor_score = True
        return tags

    # ------------------------------------------------------------------ checks (free)
    def _check_params(self) -> Budget:
        name = type(self).__name__
        if self.method not in ("objective", "dp-sgd"):
            raise InvalidParameterError(
                f"{name}(method={self.method!r}) must be 'objective' or 'dp-sgd'."
            )
        for param in ("data_norm", "C"):
            check_positive(name, param, getattr(self, param))
        check_positive(name, "max_iter", self.max_iter, integer=True)
        check_positive(name, "sampling_rate", self.sampling_rate)
        if self.sampling_rate > 1:
            raise InvalidParameterError(
                f"{name}(sampling_rate={self.sampling_rate!r}) is a probability: at most 1."
            )
        if self.learning_rate is not None:
            check_positive(name, "learning_rate", self.learning_rate)
        budget = resolve_budget(name, self.epsilon, self.delta, self.budget)
        if self.method == "dp-sgd":
            if isinstance(budget, PureDP):
                raise InvalidParameterError(
                    f"{name}(method='dp-sgd') adds Gaussian noise, which gives no pure DP "
                    f"({budget}); pass delta= (e.g. delta=1e-6) or method='objective'."
                )
            if isinstance(budget, ZCDP) and self.sampling_rate < 1:
                raise InvalidParameterError(
                    f"{name}: subsampled DP-SGD is accounted in (epsilon, delta), not zCDP "
                    f"({budget}); pass an ApproxDP budget or sampling_rate=1."
                )
        return budget

    def _features(self, X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        clipped = clip_rows(np.asarray(X, dtype=np.float64), float(self.data_norm))
        if self.fit_intercept:
            return np.hstack([clipped, np.ones((clipped.shape[0], 1))])
        return clipped

    def _radius(self) -> float:
        norm = float(self.data_norm)
        return math.sqrt(norm * norm + 1.0) if self.fit_intercept else norm

    # ------------------------------------------------------------- calibration (free)
    def _calibrate(self, budget: Budget, p: int) -> dict[str, Any]:
        """Every noise parameter of the fit, from public values only (``p`` = the number of
        coefficients). Runs before the charge, so an impossible calibration costs nothing."""
        name = type(self).__name__
        check_calibration(
            name, "the squared radius data_norm**2 (+1 with the intercept)",
            self._radius() ** 2, "declare a smaller data_norm (rescale the features)",
        )  # fmt: skip
        lam = check_calibration(
            name, "the regularisation 1/C", 1.0 / float(self.C), "pass a larger C"
        )
        if self.method == "objective":
            return self._calibrate_objective(budget, p, lam)
        return self._calibrate_sgd(budget, p)

    def _calibrate_objective(self, budget: Budget, p: int, lam: float) -> dict[str, Any]:
        name = type(self).__name__
        try:
            if isinstance(budget, ZCDP):
                epsilon = float(dyadic_below(math.sqrt(2 * float(budget.rho))))
            else:
                epsilon = float(budget.epsilon)
        except (OverflowError, ValueError):
            epsilon = math.inf
        if not (math.isfinite(epsilon) and 0 < epsilon <= LIMIT):
            raise InvalidParameterError(
                f"{name}: the budget gives epsilon = {epsilon!r} for objective perturbation, "
                f"outside (0, {LIMIT:g}] in float64; pass an epsilon in that range. Nothing "
                "was charged."
            )
        fix = (
            f"epsilon={epsilon:g} is out of range for objective perturbation; pass a larger epsilon"
        )
        radius = self._radius()
        curvature = _C_LOGISTIC * radius * radius
        with np.errstate(all="ignore"):
            extra = max(0.0, curvature / math.expm1(min(_jacobian_share(epsilon), 700.0)) - lam)
        check_calibration(name, "the regularisation 1/C + extra Delta", lam + extra, fix)
        jacobian = math.log1p(curvature / (lam + extra))
        beta = (epsilon - jacobian) / radius
        if not beta > 0:  # cannot happen for epsilon > 0 (the Jacobian takes a share < 1)
            raise InvalidParameterError(
                f"{name}: beta = {beta!r} <= 0; {fix}. Nothing was charged."
            )
        check_calibration(name, "the Gamma norm's mean p/beta", p / beta, fix)
        return {
            "mechanism": "objective perturbation (Chaudhuri, Monteleoni & Sarwate 2011)",
            "epsilon": epsilon,
            "beta": beta,
            "extra_regularisation": extra,
            "radius": radius,
        }

    def _calibrate_sgd(self, budget: Budget, p: int) -> dict[str, Any]:
        from ethica.privacy.learning._sgd_accounting import noise_multiplier

        name = type(self).__name__
        rho, delta = zcdp_of(budget)  # InvalidParameterError when too small: before the charge
        count_rho = rho / _COUNT_SHARE
        steps, q = int(self.max_iter), float(self.sampling_rate)
        if q >= 1:
            z = gaussian_sigma(1, ZCDP((rho - count_rho) / steps))  # exact zCDP, CKS Thm 4
        else:
            assert isinstance(budget, ApproxDP) and delta is not None
            try:
                z = noise_multiplier(
                    float(budget.epsilon), float(delta), q, steps, float(count_rho)
                )
            except (ArithmeticError, ValueError) as error:  # the accountant's own refusal
                if isinstance(error, InvalidParameterError):
                    raise
                raise InvalidParameterError(
                    f"{name}: the RDP accountant cannot calibrate {budget} for {steps} steps at "
                    f"sampling rate {q} ({type(error).__name__}); change epsilon, delta, "
                    "max_iter or sampling_rate. Nothing was charged."
                ) from None
        check_calibration(name, "1/sampling_rate", 1.0 / q, "pass a larger sampling_rate")
        bound = gradient_bound(p)  # S: L2 bound of a rounded gradient
        sigma = z * bound
        count_sigma = gaussian_sigma(1, ZCDP(count_rho))
        for what, value in (("sigma (grid units)", sigma), ("the count's sigma", count_sigma)):
            if value > MAX_SIGMA:
                raise InvalidParameterError(
                    f"{name}: DP-SGD's {what} = {float(value):.4g} exceeds the discrete "
                    f"Gaussian sampler's maximum 2**48 under {budget}; pass a larger epsilon "
                    "(or delta), or fewer steps (max_iter). Nothing was charged."
                )
        radius = self._radius() * (1 + 1e-9)  # margin for the float clipping
        if self.learning_rate is not None:
            check_calibration(
                name, "learning_rate", float(self.learning_rate), "pass a smaller learning_rate"
            )
        return {
            "mechanism": "DP-SGD (Abadi et al. 2016), discrete Gaussian on a 2^-16 grid",
            "noise_multiplier": float(z),
            "sigma_grid_units": float(sigma),
            "sensitivity_grid_units": bound,
            "count_sigma": float(count_sigma),
            "steps": steps,
            "sampling_rate": q,
            "_sigma": sigma,
            "_count_sigma": count_sigma,
            "_radius": radius,
        }

    # ------------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any) -> DPLogisticRegression:
        """Train under the budget: free checks and calibration, then the charge, then the data.

        Raises
        ------
        InvalidParameterError
            A hyper-parameter or budget is invalid, or no noise can be calibrated for it
            (nothing charged).
        BudgetExceededError
            The ledger has less left than the budget (nothing charged).
        ReleaseFailedError
            Training failed after the charge (generic message; the charge stands).
        """
        budget = self._check_params()
        X, y = private_inputs(self, X, y, charged=self.ledger is not None)
        plan = self._calibrate(budget, X.shape[1] + (1 if self.fit_intercept else 0))
        ledger = check_ledger(type(self).__name__, self.ledger, self.dataset, budget)
        classes, coded = code_labels(
            type(self).__name__, self.classes, y, charged=ledger is not None
        )
        description = f"{type(self).__name__}(method={self.method!r}) on {X.shape[1]} features"

        def train() -> npt.NDArray[np.float64]:
            with (
                _blas_controller().limit(limits=1, user_api="blas"),  # tall thin: one thread
                np.errstate(all="ignore"),  # an overflow: a non-finite value, refused below
            ):
                rows, labels = X, coded
                if labels is None:  # declared classes: other labels drop their rows
                    labels, keep = declared_codes(classes, y)
                    keep &= finite_rows(X)  # and so do NaN or inf features
                    rows, labels = X[keep], labels[keep]
                features = self._features(rows)
                if self.method == "objective":
                    w = self._objective(features, labels, plan)
                else:
                    w = self._dp_sgd(features, labels, plan)
            if not np.all(np.isfinite(w)):
                raise ArithmeticError("non-finite coefficients")
            return w

        w = run_charged(
            ledger, self.dataset, budget, description, train, released=lambda v: v.tolist()
        )
        self.classes_ = classes
        self.coef_ = w[None, : X.shape[1]].copy()
        self.intercept_ = np.array([w[-1] if self.fit_intercept else 0.0])
        self.n_iter_ = np.array([int(self.max_iter)], dtype=np.int32)
        self.budget_ = budget
        self.noise_ = {k: v for k, v in plan.items() if not k.startswith("_")}
        return self

    def _objective(
        self, X: npt.NDArray[np.float64], coded: npt.NDArray[np.int8], plan: dict[str, Any]
    ) -> npt.NDArray[np.float64]:
        """The perturbed minimiser, with the calibration ``plan`` fixed before the charge."""
        rng = private_rng()
        p = X.shape[1]
        direction = rng.standard_normal(p)
        norm = rng.gamma(p, 1 / plan["beta"])
        b = np.asarray(direction * (norm / np.linalg.norm(direction)))
        signs = np.where(coded == 1, 1.0, -1.0)
        ridge = 1.0 / float(self.C) + plan["extra_regularisation"]
        return _newton(X, signs, ridge, b, int(self.max_iter))

    def _dp_sgd(
        self, X: npt.NDArray[np.float64], coded: npt.NDArray[np.int8], plan: dict[str, Any]
    ) -> npt.NDArray[np.float64]:
        """Noisy gradient steps, with the calibration ``plan`` fixed before the charge."""
        steps, q = plan["steps"], plan["sampling_rate"]
        p = X.shape[1]
        scale = 1 << _GRID_BITS
        sigma, radius = plan["_sigma"], plan["_radius"]
        n_noisy = max(1.0, float(X.shape[0] + int(discrete_gaussian(plan["_count_sigma"], 1)[0])))
        lam = 1.0 / (float(self.C) * n_noisy)
        lr = (
            float(self.learning_rate)
            if self.learning_rate is not None
            else 1.0 / (_C_LOGISTIC * radius * radius + lam)
        )
        rng = private_rng()
        w = np.zeros(p)
        average, kept = np.zeros(p), 0
        target = coded.astype(np.float64)
        for step in range(steps):
            rows, labels = X, target
            if q < 1:  # Poisson sampling with CSPRNG-seeded bits
                mask = rng.random(X.shape[0]) < q
                rows, labels = X[mask], target[mask]
            residual = expit(rows @ w) - labels
            units = grid_gradients(rows, residual, radius)
            total = units.sum(axis=0) + discrete_gaussian(sigma, p)
            gradient = total * (radius / scale) / (q * n_noisy) + lam * w
            w = w - lr * gradient
            if step >= steps // 2:
                average += w
                kept += 1
        result: npt.NDArray[np.float64] = average / kept
        return result

    # --------------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self)
        except SklearnNotFittedError:
            raise EstimatorNotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, y) before predicting."
            ) from None

    def decision_function(self, X: Any) -> npt.NDArray[np.float64]:
        """``w.x + b`` on rows scaled into the declared ball (as in training)."""
        self._check_fitted()
        X = validate_data(self, X, reset=False, dtype=np.float64)
        clipped = clip_rows(X, float(self.data_norm))
        scores: npt.NDArray[np.float64] = clipped @ self.coef_[0] + self.intercept_[0]
        return scores

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Class probabilities, columns in the order of ``classes_``."""
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict_log_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Log of :meth:`predict_proba`."""
        scores = self.decision_function(X)
        return np.column_stack([log_expit(-scores), log_expit(scores)])

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """The class with the larger probability."""
        positive = self.decision_function(X) > 0
        labels: npt.NDArray[Any] = self.classes_[positive.astype(np.intp)]
        return labels

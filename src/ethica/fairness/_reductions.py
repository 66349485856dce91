"""Fair classification by reduction to weighted classification (Agarwal et al. 2018).

Agarwal, Beygelzimer, Dudík, Langford and Wallach (2018), "A Reductions Approach to Fair
Classification", ICML. Fair classification ``min_Q err(Q) s.t. v(Q) <= 0`` is the saddle
point of the Lagrangian ``L(Q, lambda) = err(Q) + lambda . v(Q)`` over randomised classifiers
``Q`` and multipliers ``lambda >= 0`` with ``||lambda||_1 <= B``. For fixed ``lambda`` the best
``Q`` is a single classifier: a weighted classification problem any scikit-learn classifier
accepting ``sample_weight`` can solve.

- :class:`ExponentiatedGradient` lets ``lambda`` play exponentiated gradient against the
  learner's best responses (Algorithm 1) and returns the best mixture of the classifiers met.
- :class:`GridSearch` tries a fixed grid of multipliers and keeps one classifier (Sec. 3.4).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from ethica._exceptions import ConvergenceWarning
from ethica._typing import FloatArray, LabelArray
from ethica.fairness._constraints import BoundConstraint, FairnessConstraint
from ethica.fairness._hypothesis_pool import FEASIBILITY_TOLERANCE, HypothesisPool, Mixture
from ethica.fairness._learning_base import (
    BinaryFairClassifier,
    check_number,
    check_sample_weight_support,
    error_costs,
    fit_weighted,
    mixture_positive_probability,
    pick_constraint,
    require_sensitive_features,
    resolve_constraint,
)

__all__ = ["ExponentiatedGradient", "GridSearch", "run_exponentiated_gradient"]


def run_exponentiated_gradient(
    pool: HypothesisPool,
    X: Any,
    estimator: Any,
    *,
    multiplier_bound: float,
    eta0: float,
    max_iter: int,
    tolerance: float,
) -> tuple[Mixture, int, float, int]:
    """Exponentiated-gradient play on ``pool`` (which may already hold classifiers).

    Each round the multipliers ``lambda_k = B exp(theta_k) / (1 + sum_l exp(theta_l))`` meet
    the learner's best response ``h_t``; ``theta`` moves by ``eta * v(h_t)``. The mixture is
    the LP optimum over every classifier met, and play stops once the duality gap
    ``L(Q, lambda_Q) - min_h L(h, lambda_Q)`` is below ``tolerance``.

    Returns
    -------
    mixture, oracle_calls, gap, rounds
    """
    constraint = pool.constraint
    base_costs = error_costs(constraint.labels)
    theta = np.zeros(constraint.n_constraints)
    eta = eta0 / multiplier_bound
    gaps: list[float] = []
    calls = 0

    def respond(multipliers: FloatArray) -> int:
        nonlocal calls
        calls += 1
        costs = base_costs + constraint.cost_gradient(multipliers)
        return pool.add(fit_weighted(estimator, X, costs), X)

    for _ in range(max_iter):
        exp_theta = np.exp(theta - theta.max())
        multipliers = multiplier_bound * exp_theta / (np.exp(-theta.max()) + exp_theta.sum())
        latest = respond(multipliers)
        mixture = pool.best_mixture(multiplier_bound)
        check = respond(mixture.multipliers)
        gap = mixture.objective - pool.lagrangian(check, mixture.multipliers)
        gaps.append(max(gap, 0.0))
        if gaps[-1] < tolerance:
            break
        if len(gaps) > 2 and gaps[-1] > min(gaps[:-1]):
            eta *= 0.5
        theta = theta + eta * pool.violations[:, latest]
    mixture = pool.best_mixture(multiplier_bound)
    return mixture, calls, gaps[-1] if gaps else float("nan"), len(gaps)


class _ReductionClassifier(BinaryFairClassifier):
    """Fields and helpers shared by the two reductions."""

    estimator: Any
    constraint: FairnessConstraint | None
    constraints: Any
    sparse_input = True

    def _prepare(
        self, X: Any, y: Any, sensitive_features: Any, warm: HypothesisPool | None = None
    ) -> tuple[Any, LabelArray, Any, HypothesisPool]:
        name = type(self).__name__
        require_sensitive_features(sensitive_features, name)
        X, coded = self._validate_fit(X, y)
        chosen = pick_constraint(self.constraint, self.constraints, name)
        constraint = resolve_constraint(chosen, name)
        estimator = LogisticRegression() if self.estimator is None else self.estimator
        check_sample_weight_support(estimator)
        bound = constraint.bind(coded, sensitive_features)
        return X, coded, estimator, HypothesisPool(bound) if warm is None else warm.rebound(bound)

    def _keep(self, pool: HypothesisPool, mixture: Mixture) -> None:
        kept = np.flatnonzero(mixture.weights > 0)
        self.predictors_ = [pool.models[i] for i in kept]
        self.weights_ = mixture.weights[kept]
        self.training_error_ = mixture.error
        self.training_violation_ = mixture.max_violation

    def _warn_if_infeasible(self, pool: HypothesisPool, mixture: Mixture) -> Mixture:
        if mixture.max_violation <= FEASIBILITY_TOLERANCE:
            return mixture
        best = pool.least_violating_mixture()
        warnings.warn(
            f"{type(self).__name__} could not satisfy {pool.constraint.spec!r} on the "
            f"training data (worst violation {best.max_violation:.4g} above the bound); "
            "returning the least violating mixture found. Loosen the bound or raise max_iter.",
            ConvergenceWarning,
            stacklevel=3,
        )
        return best

    def _positive_probability(self, X: Any) -> FloatArray:
        return mixture_positive_probability(self.predictors_, X, self.weights_)


class ExponentiatedGradient(_ReductionClassifier):
    """Randomised classifier meeting a fairness constraint by exponentiated gradient.

    Algorithm 1 of Agarwal et al. (2018): the multipliers follow exponentiated gradient
    against the base learner's best responses; the result is the best mixture (an LP) of the
    classifiers met.

    Parameters
    ----------
    estimator
        Base classifier whose ``fit`` accepts ``sample_weight`` (default LogisticRegression).
    constraints
        fairlearn's spelling of ``constraint`` (positional second, as in
        ``ExponentiatedGradient(LogisticRegression(), DemographicParity())``): a spec, a name
        (``"demographic_parity"``) or a fairlearn moment object.
    constraint
        A constraint spec, e.g. ``DemographicParity(difference_bound=0.01)`` (the default).
    multiplier_bound
        ``B``, the bound on ``||lambda||_1`` (default ``1 / 0.01``).
    eta0
        Learning rate of the multipliers is ``eta0 / B``.
    max_iter
        Most exponentiated-gradient rounds (two base-learner fits each).
    tolerance
        Stop once the duality gap is below this.
    random_state
        Seed of the generator behind ``predict``'s draws.

    Attributes
    ----------
    predictors_, weights_
        The classifiers of the mixture and their probabilities.
    multipliers_
        Lagrange multipliers of the final mixture.
    n_iter_, n_oracle_calls_, gap_, training_error_, training_violation_
        Rounds played, base-learner fits, final duality gap, and the mixture's training
        error and worst constraint violation.

    Notes
    -----
    ``fit`` without ``sensitive_features`` raises, as fairlearn's does. ``predict`` draws
    from the mixture; ``predict_proba`` gives its probabilities ``P[h(x) = 1]``.
    """

    randomised = True

    def __init__(
        self,
        estimator: Any = None,
        constraints: Any = None,
        *,
        constraint: FairnessConstraint | None = None,
        multiplier_bound: float = 100.0,
        eta0: float = 2.0,
        max_iter: int = 50,
        tolerance: float = 1e-3,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.constraints = constraints
        self.constraint = constraint
        self.multiplier_bound = multiplier_bound
        self.eta0 = eta0
        self.max_iter = max_iter
        self.tolerance = tolerance
        self.random_state = random_state

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> ExponentiatedGradient:
        """Fit the randomised classifier.

        Parameters
        ----------
        X, y
            Features and binary labels.
        sensitive_features
            Protected attribute(s) per row: 1-D, or 2-D for intersections.
        """
        self.fit_warm(X, y, sensitive_features=sensitive_features)
        return self

    def fit_warm(
        self, X: Any, y: Any, *, sensitive_features: Any = None, pool: HypothesisPool | None = None
    ) -> HypothesisPool:
        """Fit, starting from the classifiers of ``pool`` (another bound's run on these rows).

        Returns the pool after this run, to warm-start the next bound of a sweep.
        """
        name = type(self).__name__
        check_number(name, "multiplier_bound", self.multiplier_bound)
        check_number(name, "eta0", self.eta0)
        check_number(name, "max_iter", self.max_iter, integer=True)
        check_number(name, "tolerance", self.tolerance)
        X, _, estimator, pool = self._prepare(X, y, sensitive_features, pool)
        mixture, self.n_oracle_calls_, self.gap_, self.n_iter_ = run_exponentiated_gradient(
            pool,
            X,
            estimator,
            multiplier_bound=float(self.multiplier_bound),
            eta0=float(self.eta0),
            max_iter=int(self.max_iter),
            tolerance=float(self.tolerance),
        )
        self.multipliers_ = mixture.multipliers
        self._keep(pool, self._warn_if_infeasible(pool, mixture))
        return pool

    def predict_proba(self, X: Any) -> FloatArray:
        """Probabilities of ``classes_`` under the randomised mixture, shape (n, 2).

        Column 1 is ``P[h(x) = 1] = sum_k weights_k 1[h_k(x) = 1]``, the probability with
        which :meth:`predict` picks ``classes_[1]``.
        """
        self._check_fitted()
        return self._pmf_predict(X)


def multiplier_grid(n_cells: int, grid_size: int, grid_limit: float) -> FloatArray:
    """Multiplier vectors on the coordinate axes of the per-cell net multipliers.

    The net multiplier of a cell is ``lambda_+ - lambda_-`` of its two one-sided constraints.
    The grid holds the origin and ``grid_size - 1`` points spread evenly along the positive
    and negative axis of every cell, up to ``grid_limit``, nearest the origin first.
    Returns one row of ``2 * n_cells`` one-sided multipliers per grid point.
    """
    directions = 2 * n_cells
    steps = max(1, int(np.ceil((grid_size - 1) / directions)))
    rows = [np.zeros(2 * n_cells)]
    for step in range(1, steps + 1):
        for direction in range(directions):
            point = np.zeros(2 * n_cells)
            point[direction] = grid_limit * step / steps
            rows.append(point)
    return np.array(rows[:grid_size])


class GridSearch(_ReductionClassifier):
    """Deterministic classifier chosen from best responses on a grid of multipliers.

    The grid variant of Agarwal et al. (2018, Sec. 3.4): fit the base learner's best response
    for each multiplier vector of :func:`multiplier_grid`; keep the most accurate classifier
    that meets the constraint on the training data (or the least violating one, with a
    ``ConvergenceWarning``).

    Parameters
    ----------
    estimator, constraints, constraint
        As in :class:`ExponentiatedGradient`.
    grid_size
        Number of multiplier vectors tried (base-learner fits).
    grid_limit
        Largest multiplier on the grid.

    Notes
    -----
    The result is one classifier, so ``predict`` is deterministic and there is no
    ``random_state`` (fairlearn's ``GridSearch`` has none either).
    """

    def __init__(
        self,
        estimator: Any = None,
        constraints: Any = None,
        *,
        constraint: FairnessConstraint | None = None,
        grid_size: int = 10,
        grid_limit: float = 2.0,
    ) -> None:
        self.estimator = estimator
        self.constraints = constraints
        self.constraint = constraint
        self.grid_size = grid_size
        self.grid_limit = grid_limit

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> GridSearch:
        """Fit one best response per grid point and keep the best feasible one."""
        name = type(self).__name__
        check_number(name, "grid_size", self.grid_size, integer=True)
        check_number(name, "grid_limit", self.grid_limit)
        X, coded, estimator, pool = self._prepare(X, y, sensitive_features)
        bound: BoundConstraint = pool.constraint
        base_costs = error_costs(coded)
        grid = multiplier_grid(
            bound.cell_size.shape[0], int(self.grid_size), float(self.grid_limit)
        )
        for multipliers in grid:
            pool.add(fit_weighted(estimator, X, base_costs + bound.cost_gradient(multipliers)), X)
        worst = pool.violations.max(axis=0)
        feasible = np.flatnonzero(worst <= FEASIBILITY_TOLERANCE)
        if feasible.size:
            chosen = int(feasible[np.argmin(pool.errors[feasible])])
        else:
            chosen = int(np.lexsort((pool.errors, worst))[0])
            warnings.warn(
                f"GridSearch found no classifier meeting {bound.spec!r} on the training "
                f"data (least worst violation {worst[chosen]:.4g}); returning the least "
                "violating one. Raise grid_limit or grid_size, or loosen the bound.",
                ConvergenceWarning,
                stacklevel=2,
            )
        weights = np.zeros(len(pool))
        weights[chosen] = 1.0
        self._keep(
            pool,
            Mixture(
                weights=weights,
                error=float(pool.errors[chosen]),
                max_violation=float(worst[chosen]),
                multipliers=np.zeros(bound.n_constraints),
                objective=0.0,
            ),
        )
        return self

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """The chosen classifier's labels (``classes_``); no draw, since it is one classifier."""
        self._check_fitted()
        chosen: npt.NDArray[Any] = self.classes_[(self._pmf_predict(X)[:, 1] > 0.5).astype(np.intp)]
        return chosen

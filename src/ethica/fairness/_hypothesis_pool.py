"""The set of classifiers a reduction has found, and the best mixture over them.

A randomised classifier ``Q`` is a distribution over classifiers ``h_j``. Its error and
constraint left-hand sides are linear in ``Q``, so the best mixture of the classifiers found so
far is a linear program (Agarwal et al. 2018, Sec. 3.3):

    minimise_{q in simplex, s >= 0}   sum_j q_j err(h_j) + B s
    subject to                        sum_j q_j v_k(h_j) <= s   for every constraint k,

where ``v_k = lhs_k - bound_k``. Its dual variables are the Lagrange multipliers ``lambda``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linprog

from ethica._exceptions import InfeasibleError
from ethica._typing import FloatArray, LabelArray
from ethica.fairness._constraints import BoundConstraint

__all__ = ["HypothesisPool", "Mixture"]


#: Constraint violations at or below this count as satisfied.
FEASIBILITY_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Mixture:
    """A mixture ``q`` over the pool, its training error, worst violation and multipliers."""

    weights: FloatArray
    error: float
    max_violation: float
    multipliers: FloatArray
    objective: float


class HypothesisPool:
    """Distinct classifiers with their training predictions, errors and violations."""

    def __init__(self, constraint: BoundConstraint) -> None:
        self.constraint = constraint
        self.labels = constraint.labels.astype(np.float64)
        self.models: list[Any] = []
        self._predictions: list[LabelArray] = []
        self._keys: dict[bytes, int] = {}
        self.errors = np.zeros(0)
        self.violations = np.zeros((constraint.n_constraints, 0))

    def rebound(self, constraint: BoundConstraint) -> HypothesisPool:
        """A pool over the same classifiers for another constraint on the same rows.

        Used to warm-start a sweep over bounds: every classifier met so far stays available.
        """
        other = HypothesisPool(constraint)
        other.models = list(self.models)
        other._predictions = list(self._predictions)
        other._keys = dict(self._keys)
        other.errors = self.errors.copy()
        if self.models:
            matrix = np.column_stack(self._predictions).astype(np.float64)
            other.violations = constraint.violations(matrix)
        return other

    def __len__(self) -> int:
        return len(self.models)

    def add(self, model: Any, X: Any) -> int:
        """Add ``model`` unless a classifier with the same training predictions is known.

        Returns the index of the (new or existing) classifier.
        """
        predicted = np.asarray(model.predict(X)).astype(np.int8)
        key = np.packbits(predicted).tobytes()
        if key in self._keys:
            return self._keys[key]
        self._keys[key] = len(self.models)
        self.models.append(model)
        self._predictions.append(predicted)
        error = float(np.mean(predicted != self.labels))
        self.errors = np.append(self.errors, error)
        violation = self.constraint.violations(predicted.astype(np.float64))
        self.violations = np.column_stack([self.violations, violation])
        return len(self.models) - 1

    def lagrangian(self, index: int, multipliers: FloatArray) -> float:
        """``err(h) + lambda . v(h)`` for classifier ``index``."""
        return float(self.errors[index] + multipliers @ self.violations[:, index])

    def predictions(self, weights: FloatArray) -> FloatArray:
        """Per-row ``P[Q = 1]`` on the training rows for mixture ``weights``."""
        result = np.zeros(self.labels.shape[0])
        for index in np.flatnonzero(weights > 0):
            result += weights[index] * self._predictions[index]
        return result

    def best_mixture(self, multiplier_bound: float) -> Mixture:
        """Solve the LP of the module docstring over the current pool."""
        m, k = len(self.models), self.violations.shape[0]
        cost = np.concatenate([self.errors, [multiplier_bound]])
        a_ub = np.column_stack([self.violations, -np.ones(k)])
        a_eq = np.concatenate([np.ones(m), [0.0]])[None, :]
        result = linprog(
            cost,
            A_ub=a_ub,
            b_ub=np.zeros(k),
            A_eq=a_eq,
            b_eq=[1.0],
            bounds=(0, None),
            method="highs",
        )
        if result.status != 0:  # pragma: no cover - the LP is always feasible and bounded
            raise InfeasibleError(f"the mixture LP failed: {result.message}")
        weights = np.clip(result.x[:m], 0.0, None)
        weights /= weights.sum()
        return self._describe(weights, -np.asarray(result.ineqlin.marginals), result.fun)

    def least_violating_mixture(self) -> Mixture:
        """The most accurate mixture among those with the smallest worst violation."""
        m, k = len(self.models), self.violations.shape[0]
        a_ub = np.column_stack([self.violations, -np.ones(k)])
        a_eq = np.concatenate([np.ones(m), [0.0]])[None, :]
        bounds = [(0.0, None)] * m + [(None, None)]
        first = linprog(
            np.concatenate([np.zeros(m), [1.0]]),
            A_ub=a_ub,
            b_ub=np.zeros(k),
            A_eq=a_eq,
            b_eq=[1.0],
            bounds=bounds,
            method="highs",
        )
        cap = np.concatenate([np.zeros(m), [1.0]])[None, :]
        second = linprog(
            np.concatenate([self.errors, [0.0]]),
            A_ub=np.vstack([a_ub, cap]),
            b_ub=np.concatenate([np.zeros(k), [first.fun + 1e-9]]),
            A_eq=a_eq,
            b_eq=[1.0],
            bounds=bounds,
            method="highs",
        )
        weights = np.clip(second.x[:m], 0.0, None)
        weights /= weights.sum()
        return self._describe(weights, np.zeros(k), float(second.fun))

    def _describe(self, weights: FloatArray, multipliers: FloatArray, objective: float) -> Mixture:
        weights = np.where(weights < 1e-12, 0.0, weights)
        weights /= weights.sum()
        return Mixture(
            weights=weights,
            error=float(self.errors @ weights),
            max_violation=float((self.violations @ weights).max()),
            multipliers=np.clip(multipliers, 0.0, None),
            objective=float(objective),
        )

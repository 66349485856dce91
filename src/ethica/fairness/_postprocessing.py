"""Post-processing a scored classifier into a fair one, using the protected attribute.

- :class:`ThresholdOptimizer`: group-specific randomised thresholds on the score that
  minimise expected error subject to demographic parity, equal opportunity or equalized odds
  (Hardt, Price and Srebro 2016, "Equality of Opportunity in Supervised Learning", NeurIPS).
  Mixing thresholds of one group reaches every point of the convex hull of its ROC curve, so
  the optimum is a linear program over the mixing probabilities.
- :class:`RejectOptionClassifier`: reject-option classification (Kamiran, Karim and Zhang
  2012, "Decision Theory for Discrimination-Aware Classification", ICDM): inside the
  low-confidence band ``|P[Y=1|x] - 1/2| <= theta`` deprived groups get the favourable label
  and favoured groups the other; ``theta`` is the smallest that meets the constraint.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from ethica._exceptions import ConvergenceWarning, InfeasibleError, InvalidParameterError
from ethica._typing import FloatArray
from ethica.fairness._constraints import (
    BoundConstraint,
    FairnessConstraint,
    encode_known_groups,
)
from ethica.fairness._hypothesis_pool import FEASIBILITY_TOLERANCE
from ethica.fairness._learning_base import (
    BinaryFairClassifier,
    check_number,
    resolve_constraint,
)

__all__ = ["RejectOptionClassifier", "ThresholdOptimizer"]

IntArray = npt.NDArray[np.intp]
_SINGLE_GROUP = "(all rows)"


def _scores(model: Any, X: Any) -> FloatArray:
    """Score of the positive class: ``predict_proba``, else ``decision_function``."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X), dtype=np.float64)[:, 1]
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X), dtype=np.float64)
    return np.asarray(model.predict(X), dtype=np.float64)


class _GroupPostProcessor(BinaryFairClassifier):
    """Fit/predict plumbing shared by the post-processors: base model and group codes."""

    #: Grid size used when ``grid_size`` is None.
    default_grid_size: int = 1
    #: Smallest allowed grid size.
    minimum_grid_size: int = 1

    def __init__(
        self,
        *,
        estimator: Any = None,
        constraint: FairnessConstraint | None = None,
        prefit: bool = False,
        grid_size: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.constraint = constraint
        self.prefit = prefit
        self.grid_size = grid_size
        self.random_state = random_state

    def _grid_size(self) -> int:
        if self.grid_size is None:
            return self.default_grid_size
        check_number(
            type(self).__name__,
            "grid_size",
            self.grid_size,
            integer=True,
            low=self.minimum_grid_size,
            low_inclusive=True,
        )
        return int(self.grid_size)

    def _fit_base(self, X: Any, y: Any) -> tuple[Any, npt.NDArray[np.int8], FloatArray]:
        X, coded = self._validate_fit(X, y)
        base = LogisticRegression() if self.estimator is None else self.estimator
        if self.prefit:
            self.estimator_ = base
        else:
            self.estimator_ = clone(base).fit(X, self.classes_[coded])
        return X, coded, _scores(self.estimator_, X)

    def _bind(self, coded: npt.NDArray[np.int8], sensitive_features: Any) -> BoundConstraint | None:
        spec = resolve_constraint(self.constraint, type(self).__name__)
        if spec.on_error:
            raise InvalidParameterError(
                f"{type(self).__name__} does not support {type(spec).__name__}; use "
                "DemographicParity, EqualOpportunity, FalsePositiveRateParity or EqualizedOdds."
            )
        if sensitive_features is None:  # no protected attribute: no constraint to meet
            return None
        bound = spec.bind(coded, sensitive_features)
        self.group_names_ = bound.group_names
        return bound

    def _group_codes(self, sensitive_features: Any, n_rows: int) -> IntArray:
        if sensitive_features is None:
            if self.group_names_ != (_SINGLE_GROUP,):
                raise InvalidParameterError(
                    f"{type(self).__name__} was fitted with sensitive_features, so predict "
                    "needs them too: pass sensitive_features=... for the same columns."
                )
            return np.zeros(n_rows, dtype=np.intp)
        result, unknown = encode_known_groups(sensitive_features, self.group_names_)
        if unknown:
            raise InvalidParameterError(
                f"unknown group(s) {unknown[:5]} at predict; {type(self).__name__} only knows "
                f"{list(self.group_names_)} from fit. Refit with rows of every group."
            )
        if result.shape[0] != n_rows:
            raise InvalidParameterError(
                f"sensitive_features has {result.shape[0]} rows but X has {n_rows}; "
                "pass one protected value per row."
            )
        return result

    def _pmf_predict(self, X: Any, *, sensitive_features: Any = None) -> FloatArray:
        """Probability of each class per row, shape (n, 2)."""
        X = self._validate_predict(X)
        groups = self._group_codes(sensitive_features, X.shape[0])
        positive = self._positive_given_groups(_scores(self.estimator_, X), groups)
        return np.column_stack([1.0 - positive, positive])

    def _positive_given_groups(self, scores: FloatArray, groups: IntArray) -> FloatArray:
        raise NotImplementedError

    def predict(self, X: Any, *, sensitive_features: Any = None) -> npt.NDArray[Any]:
        """Labels per row (drawn with ``random_state`` where the rule is randomised)."""
        self._check_fitted()
        return self._draw(self._pmf_predict(X, sensitive_features=sensitive_features)[:, 1])


class ThresholdOptimizer(_GroupPostProcessor):
    """Group-aware randomised thresholds (Hardt, Price and Srebro 2016).

    For group ``a`` the classifier predicts 1 when the score reaches threshold ``t_{a,j}``,
    choosing ``j`` with probability ``p_{a,j}``. ``p`` minimises the expected training error

        sum_a sum_j p_{a,j} |{i in a : 1[s_i >= t_{a,j}] != y_i}| / n

    subject to the constraint (linear in ``p``) and ``sum_j p_{a,j} = 1``; solved by HiGHS.

    Parameters
    ----------
    estimator
        Scoring classifier (``predict_proba`` or ``decision_function``); default
        LogisticRegression.
    constraint
        DemographicParity, EqualOpportunity, FalsePositiveRateParity or EqualizedOdds.
    prefit
        Use ``estimator`` as already fitted.
    grid_size
        Candidate thresholds per group (score quantiles; default 200, at least 2).
    random_state
        Seed of ``predict``'s draws.

    Attributes
    ----------
    estimator_, group_names_
        The scoring model and the groups met in fit.
    thresholds_, threshold_probabilities_
        Per group, the thresholds used and the probability of each.
    training_error_
        Expected training error of the randomised classifier.
    """

    default_grid_size = 200
    minimum_grid_size = 2

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> ThresholdOptimizer:
        """Fit the scoring model (unless ``prefit``) and the group thresholds."""
        grid_size = self._grid_size()
        self.group_names_: tuple[str, ...] = (_SINGLE_GROUP,)
        X, coded, scores = self._fit_base(X, y)
        bound = self._bind(coded, sensitive_features)
        groups = np.zeros_like(coded, np.intp) if bound is None else bound.groups
        candidates = [
            self._candidates(scores[groups == g], grid_size) for g in range(len(self.group_names_))
        ]
        probabilities, self.training_error_ = self._solve(bound, scores, groups, coded, candidates)
        self.thresholds_ = [c[p > 0] for c, p in zip(candidates, probabilities, strict=True)]
        self.threshold_probabilities_ = [p[p > 0] for p in probabilities]
        return self

    @staticmethod
    def _candidates(scores: FloatArray, grid_size: int) -> FloatArray:
        quantiles = np.quantile(scores, np.linspace(0.0, 1.0, grid_size))
        return np.concatenate([np.unique(quantiles), [np.inf]])

    @staticmethod
    def _solve(
        bound: BoundConstraint | None,
        scores: FloatArray,
        groups: IntArray,
        labels: npt.NDArray[np.int8],
        candidates: list[FloatArray],
    ) -> tuple[list[FloatArray], float]:
        n = labels.shape[0]
        n_groups = len(candidates)
        offsets = np.concatenate([[0], np.cumsum([c.shape[0] for c in candidates])])
        error = np.zeros(offsets[-1])
        # rate[cell, variable]: share of the cell's rows at or above the variable's threshold
        n_cells = 0 if bound is None else bound.cell_size.shape[0]
        rate = np.zeros((n_cells, offsets[-1]))
        for g, thresholds in enumerate(candidates):
            span = slice(offsets[g], offsets[g + 1])
            member = groups == g
            for label in (0, 1):
                ordered = np.sort(scores[member & (labels == label)])
                above = ordered.shape[0] - np.searchsorted(ordered, thresholds, side="left")
                error[span] += above if label == 0 else ordered.shape[0] - above
            if bound is None:
                continue
            for cell in np.flatnonzero(bound.cell_group == g):
                ordered = np.sort(scores[bound.cell_of_row == cell])
                above = ordered.shape[0] - np.searchsorted(ordered, thresholds, side="left")
                rate[cell, span] = above / ordered.shape[0]
        a_eq = np.zeros((n_groups, offsets[-1]))
        for g in range(n_groups):
            a_eq[g, offsets[g] : offsets[g + 1]] = 1.0
        a_ub, b_ub = None, None
        if bound is not None:
            on_cell, on_event = bound.coefficients()
            share = bound.cell_size / bound.event_size[bound.cell_event]
            event_rate = np.zeros((bound.event_size.shape[0], offsets[-1]))
            np.add.at(event_rate, bound.cell_event, share[:, None] * rate)
            cells = np.vstack([rate, rate])
            events = np.vstack([event_rate[bound.cell_event]] * 2)
            a_ub = on_cell[:, None] * cells + on_event[:, None] * events
            b_ub = bound.bounds
        result = linprog(
            error / n,
            A_ub=a_ub,
            b_ub=b_ub,
            A_eq=a_eq,
            b_eq=np.ones(n_groups),
            bounds=(0, None),
            method="highs",
        )
        if result.status != 0:  # pragma: no cover - p = threshold +inf for all is feasible
            raise InfeasibleError(f"the threshold LP failed: {result.message}")
        mixing = np.where(result.x < 1e-12, 0.0, result.x)
        probabilities = [
            mixing[offsets[g] : offsets[g + 1]] / mixing[offsets[g] : offsets[g + 1]].sum()
            for g in range(n_groups)
        ]
        return probabilities, float(result.fun)

    def _positive_given_groups(self, scores: FloatArray, groups: IntArray) -> FloatArray:
        positive = np.zeros(scores.shape[0])
        for g, (thresholds, weights) in enumerate(
            zip(self.thresholds_, self.threshold_probabilities_, strict=True)
        ):
            member = groups == g
            positive[member] = (scores[member, None] >= thresholds[None, :]) @ weights
        return positive


class RejectOptionClassifier(_GroupPostProcessor):
    """Reject-option classification (Kamiran, Karim and Zhang 2012).

    With ``p(x) = P[Y = 1 | x]`` from the base model, rows in the critical region
    ``|p(x) - 1/2| <= theta`` get label 1 if their group is deprived (selected less often than
    overall by the base model) and 0 otherwise; other rows get ``1[p(x) >= 1/2]``. ``theta``
    is the most accurate value on a grid of ``grid_size`` points in [0, 1/2] that meets the
    constraint on the training rows (else the least violating, with a ``ConvergenceWarning``).

    Parameters
    ----------
    estimator, constraint, prefit
        As in :class:`ThresholdOptimizer`; the estimator needs ``predict_proba``.
    grid_size
        Number of candidate ``theta`` values (default 51).
    random_state
        Unused by the deterministic rule; kept for the shared ``predict``.

    Attributes
    ----------
    theta_, deprived_
        Width of the critical region, and per group whether it is deprived.
    """

    default_grid_size = 51

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> RejectOptionClassifier:
        """Fit the base model (unless ``prefit``) and the critical region."""
        grid_size = self._grid_size()
        base = LogisticRegression() if self.estimator is None else self.estimator
        if not hasattr(base, "predict_proba"):
            raise InvalidParameterError(
                f"RejectOptionClassifier needs probabilities but {type(base).__name__} has no "
                "predict_proba; use a probabilistic classifier or calibrate it."
            )
        self.group_names_ = (_SINGLE_GROUP,)
        X, coded, scores = self._fit_base(X, y)
        bound = self._bind(coded, sensitive_features)
        if bound is None:
            self.theta_, self.deprived_ = 0.0, np.zeros(1, dtype=bool)
            self.training_error_ = float(np.mean((scores >= 0.5) != coded))
            return self
        plain = (scores >= 0.5).astype(np.float64)
        rates = np.bincount(bound.groups, weights=plain) / np.bincount(bound.groups)
        self.deprived_ = rates < plain.mean()
        thetas = np.linspace(0.0, 0.5, grid_size)
        outcomes = np.column_stack([self._rule(scores, bound.groups, t) for t in thetas])
        worst = bound.violations(outcomes).max(axis=0)
        errors = np.mean(outcomes != coded[:, None], axis=0)
        feasible = np.flatnonzero(worst <= FEASIBILITY_TOLERANCE)
        if feasible.size:
            chosen = int(feasible[np.argmin(errors[feasible])])
        else:
            chosen = int(np.lexsort((errors, worst))[0])
            warnings.warn(
                f"RejectOptionClassifier found no critical region meeting {bound.spec!r} on "
                f"the training data (least worst violation {worst[chosen]:.4g}); using "
                f"theta={thetas[chosen]:.3g}. Loosen the bound or use ThresholdOptimizer.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.theta_ = float(thetas[chosen])
        self.training_error_ = float(errors[chosen])
        return self

    def _rule(self, scores: FloatArray, groups: IntArray, theta: float) -> FloatArray:
        critical = np.abs(scores - 0.5) <= theta
        return np.where(critical, self.deprived_[groups], scores >= 0.5).astype(np.float64)

    def _positive_given_groups(self, scores: FloatArray, groups: IntArray) -> FloatArray:
        return self._rule(scores, groups, self.theta_)

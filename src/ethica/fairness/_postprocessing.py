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
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _check_sample_weight

from ethica._exceptions import ConvergenceWarning, InfeasibleError, InvalidParameterError
from ethica._typing import FloatArray, IndexArray, LabelArray
from ethica.fairness._constraints import (
    BoundConstraint,
    FairnessConstraint,
    encode_known_groups,
)
from ethica.fairness._hypothesis_pool import FEASIBILITY_TOLERANCE
from ethica.fairness._learning_base import (
    BinaryFairClassifier,
    check_number,
    pick_constraint,
    require_sensitive_features,
    resolve_constraint,
)

__all__ = ["RejectOptionClassifier", "ThresholdOptimizer"]


_PREDICT_METHODS = ("auto", "predict_proba", "decision_function", "predict")


def _scores(model: Any, X: Any, method: str = "auto") -> FloatArray:
    """Score of the positive class by ``method``; ``"auto"`` tries them in that order."""
    if method not in _PREDICT_METHODS:
        raise InvalidParameterError(
            f"predict_method={method!r} is not one of {list(_PREDICT_METHODS)}; 'auto' uses "
            "predict_proba, else decision_function, else predict."
        )
    if method == "predict_proba" or (method == "auto" and hasattr(model, "predict_proba")):
        return np.asarray(model.predict_proba(X), dtype=np.float64)[:, 1]
    if method == "decision_function" or (method == "auto" and hasattr(model, "decision_function")):
        return np.asarray(model.decision_function(X), dtype=np.float64)
    return np.asarray(model.predict(X), dtype=np.float64)


#: Keys of an objective given as utilities per outcome (e.g. a lender's gain and loss).
OUTCOMES = ("true_positive", "false_positive", "true_negative", "false_negative")


def drop_zero_weights(X: Any, y: Any, sensitive_features: Any, sample_weight: Any) -> Any:
    """Rows with positive weight only (a zero weight means the row is absent)."""
    if sample_weight is None:
        return X, y, sensitive_features, None
    weights = np.asarray(sample_weight, dtype=np.float64)
    keep = np.flatnonzero(weights != 0)
    if keep.shape[0] == weights.shape[0] or weights.ndim != 1:
        return X, y, sensitive_features, sample_weight
    kept_y = _safe_indexing(y, keep)
    classes = np.unique(np.asarray(kept_y))
    if classes.shape[0] < 2:
        raise InvalidParameterError(
            f"the rows with non-zero sample_weight hold a single class {classes.tolist()}; "
            "binary classification needs both classes among the weighted rows."
        )
    return (
        _safe_indexing(X, keep),
        kept_y,
        _safe_indexing(sensitive_features, keep),
        weights[keep],
    )


def _objective_costs(
    objective: Any, labels: LabelArray, weights: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per-row cost of predicting 1 and of predicting 0 (to minimise), summing to the objective.

    ``"accuracy_score"``: the weighted error ``sum_i w_i 1[h_i != y_i] / sum_i w_i``.
    ``"balanced_accuracy_score"``: the mean of the two classes' weighted error rates.
    A mapping of :data:`OUTCOMES` to utilities ``u``: minus the mean utility
    ``-sum_i w_i u(h_i, y_i) / sum_i w_i`` (a lender's profit per applicant with
    ``true_positive`` the gain on a repaid loan and ``false_positive`` minus the loss on a
    default: Hardt, Price and Srebro 2016, Sec. 6, FICO scores).
    """
    y = labels.astype(np.float64)
    total = weights.sum()
    if isinstance(objective, str) and objective == "accuracy_score":
        return weights * (1.0 - y) / total, weights * y / total
    if isinstance(objective, str) and objective == "balanced_accuracy_score":
        negatives, positives = (weights * (1.0 - y)).sum(), (weights * y).sum()
        return weights * (1.0 - y) / (2.0 * negatives), weights * y / (2.0 * positives)
    if isinstance(objective, dict) and set(objective) == set(OUTCOMES):
        values = {k: objective[k] for k in OUTCOMES}
        if not all(isinstance(v, int | float) and np.isfinite(v) for v in values.values()):
            raise InvalidParameterError(
                f"objective utilities must be finite numbers, got {values}."
            )
        one = np.where(labels == 1, values["true_positive"], values["false_positive"])
        zero = np.where(labels == 1, values["false_negative"], values["true_negative"])
        return -weights * one / total, -weights * zero / total
    raise InvalidParameterError(
        f"objective={objective!r} is not supported; use 'accuracy_score', "
        "'balanced_accuracy_score', or a dict of utilities per outcome with keys "
        f"{list(OUTCOMES)}, e.g. {{'true_positive': 1.0, 'false_positive': -4.0, "
        "'true_negative': 0.0, 'false_negative': 0.0}."
    )


class _GroupPostProcessor(BinaryFairClassifier):
    """Fit/predict plumbing shared by the post-processors: base model and group codes."""

    sparse_input = True
    #: Grid size used when ``grid_size`` is None.
    default_grid_size: int = 1
    #: Smallest allowed grid size.
    minimum_grid_size: int = 1

    def __init__(
        self,
        *,
        estimator: Any = None,
        constraints: Any = None,
        constraint: FairnessConstraint | None = None,
        prefit: bool = False,
        grid_size: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.constraints = constraints
        self.constraint = constraint
        self.prefit = prefit
        self.grid_size = grid_size
        self.random_state = random_state

    #: Scoring method of the base model (ThresholdOptimizer makes it a parameter).
    predict_method: str = "auto"
    #: Bound of a constraint given by name (fairlearn's post-processing equalises exactly).
    string_bound: float | None = None

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

    def _fit_base(
        self, X: Any, y: Any, sample_weight: Any = None
    ) -> tuple[Any, LabelArray, FloatArray, FloatArray]:
        X, coded = self._validate_fit(X, y)
        weights = _check_sample_weight(sample_weight, X) if sample_weight is not None else None
        base = LogisticRegression() if self.estimator is None else self.estimator
        if self.prefit:
            self.estimator_ = base
        elif weights is None:
            self.estimator_ = clone(base).fit(X, self.classes_[coded])
        else:
            self.estimator_ = clone(base).fit(X, self.classes_[coded], sample_weight=weights)
        scores = _scores(self.estimator_, X, self.predict_method)
        return X, coded, scores, np.ones(coded.shape[0]) if weights is None else weights

    def _bind(self, coded: LabelArray, sensitive_features: Any) -> BoundConstraint:
        name = type(self).__name__
        chosen = pick_constraint(self.constraint, self.constraints, name)
        spec = resolve_constraint(chosen, name, string_bound=self.string_bound)
        if spec.on_error:
            raise InvalidParameterError(
                f"{type(self).__name__} does not support {type(spec).__name__}; use "
                "DemographicParity, EqualOpportunity, FalsePositiveRateParity or EqualizedOdds."
            )
        bound = spec.bind(coded, sensitive_features)
        self.group_names_ = bound.group_names
        return bound

    def _group_codes(self, sensitive_features: Any, n_rows: int) -> IndexArray:
        if sensitive_features is None:
            raise InvalidParameterError(
                f"{type(self).__name__} was fitted with sensitive_features, so predict "
                "needs them too: pass sensitive_features=... for the same columns."
            )
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
        scores = _scores(self.estimator_, X, self.predict_method)
        positive = self._positive_given_groups(scores, groups)
        return np.column_stack([1.0 - positive, positive])

    def _positive_given_groups(self, scores: FloatArray, groups: IndexArray) -> FloatArray:
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
    (With ``sample_weight`` or another ``objective`` the sum is weighted accordingly.)

    Parameters
    ----------
    estimator
        Scoring classifier (``predict_proba`` or ``decision_function``); default
        LogisticRegression.
    constraints
        fairlearn's spelling: ``"demographic_parity"``, ``"equalized_odds"``,
        ``"true_positive_rate_parity"``, ``"false_positive_rate_parity"`` (a name means exact
        parity, as in fairlearn), or a spec as for ``constraint``.
    constraint
        DemographicParity, EqualOpportunity, FalsePositiveRateParity or EqualizedOdds.
    objective
        What the thresholds optimise: ``"accuracy_score"`` (default),
        ``"balanced_accuracy_score"``, or a dict of utilities per outcome
        (``true_positive``, ``false_positive``, ``true_negative``, ``false_negative``), e.g.
        a lender's gain on a repaid loan and minus its loss on a default.
    prefit
        Use ``estimator`` as already fitted.
    predict_method
        ``"auto"`` (predict_proba, else decision_function, else predict) or one of them.
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
    training_error_, training_objective_
        Expected (weighted) training error of the randomised classifier, and the value of
        the minimised objective (minus the mean utility for a utility objective).
    """

    default_grid_size = 200
    minimum_grid_size = 2
    string_bound = 0.0
    randomised = True

    def __init__(
        self,
        *,
        estimator: Any = None,
        constraints: Any = None,
        constraint: FairnessConstraint | None = None,
        objective: Any = "accuracy_score",
        prefit: bool = False,
        predict_method: str = "auto",
        grid_size: int | None = None,
        random_state: int | None = None,
    ) -> None:
        super().__init__(
            estimator=estimator,
            constraints=constraints,
            constraint=constraint,
            prefit=prefit,
            grid_size=grid_size,
            random_state=random_state,
        )
        self.objective = objective
        self.predict_method = predict_method

    def fit(
        self, X: Any, y: Any, *, sensitive_features: Any = None, sample_weight: Any = None
    ) -> ThresholdOptimizer:
        """Fit the scoring model (unless ``prefit``) and the group thresholds.

        Parameters
        ----------
        X, y
            Features and binary labels.
        sensitive_features
            Protected attribute(s) per row (required).
        sample_weight
            Frequency weights: row ``i`` stands for ``w_i`` people, in the base model's fit,
            the objective and the constraint's rates alike. Costs of outcomes are not
            weights: give them as ``objective={...}`` so that the constraint still
            equalises the rates among people.
        """
        require_sensitive_features(sensitive_features, type(self).__name__)
        grid_size = self._grid_size()
        X, y, sensitive_features, sample_weight = drop_zero_weights(
            X, y, sensitive_features, sample_weight
        )
        X, coded, scores, weights = self._fit_base(X, y, sample_weight)
        bound = self._bind(coded, sensitive_features)
        groups = bound.groups
        candidates = [
            self._candidates(scores[groups == g], grid_size) for g in range(len(self.group_names_))
        ]
        cost_one, cost_zero = _objective_costs(self.objective, coded, weights)
        probabilities, self.training_objective_ = self._solve(
            bound, scores, weights, (cost_one, cost_zero), candidates
        )
        self.thresholds_ = [c[p > 0] for c, p in zip(candidates, probabilities, strict=True)]
        self.threshold_probabilities_ = [p[p > 0] for p in probabilities]
        positive = self._positive_given_groups(scores, groups)
        errors = np.where(coded == 1, 1.0 - positive, positive)
        self.training_error_ = float(np.sum(weights * errors) / weights.sum())
        return self

    @staticmethod
    def _candidates(scores: FloatArray, grid_size: int) -> FloatArray:
        quantiles = np.quantile(scores, np.linspace(0.0, 1.0, grid_size))
        return np.concatenate([np.unique(quantiles), [np.inf]])

    @staticmethod
    def _above(
        scores: FloatArray, values: FloatArray, thresholds: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Sums of ``values`` over rows scoring at least / below each threshold."""
        order = np.argsort(scores, kind="stable")
        ordered = scores[order]
        cumulative = np.concatenate([[0.0], np.cumsum(values[order])])
        first = np.searchsorted(ordered, thresholds, side="left")
        below = cumulative[first]
        return cumulative[-1] - below, below

    @classmethod
    def _solve(
        cls,
        bound: BoundConstraint,
        scores: FloatArray,
        weights: FloatArray,
        costs: tuple[FloatArray, FloatArray],
        candidates: list[FloatArray],
    ) -> tuple[list[FloatArray], float]:
        groups = bound.groups
        n_groups = len(candidates)
        offsets = np.concatenate([[0], np.cumsum([c.shape[0] for c in candidates])])
        objective = np.zeros(offsets[-1])
        n_cells = bound.cell_size.shape[0]
        # rate[cell, variable]: weighted share of the cell's rows at or above the threshold
        rate = np.zeros((n_cells, offsets[-1]))
        in_cell = bound.cell_of_row >= 0
        cell_weight = np.bincount(
            bound.cell_of_row[in_cell], weights=weights[in_cell], minlength=n_cells
        )
        for g, thresholds in enumerate(candidates):
            span = slice(offsets[g], offsets[g + 1])
            member = groups == g
            pay_one, _ = cls._above(scores[member], costs[0][member], thresholds)
            _, pay_zero = cls._above(scores[member], costs[1][member], thresholds)
            objective[span] = pay_one + pay_zero
            for cell in np.flatnonzero(bound.cell_group == g):
                rows = bound.cell_of_row == cell
                above, _ = cls._above(scores[rows], weights[rows], thresholds)
                rate[cell, span] = above / cell_weight[cell]
        a_eq = np.zeros((n_groups, offsets[-1]))
        for g in range(n_groups):
            a_eq[g, offsets[g] : offsets[g + 1]] = 1.0
        on_cell, on_event = bound.coefficients()
        event_weight = np.bincount(
            bound.cell_event, weights=cell_weight, minlength=bound.event_size.shape[0]
        )
        share = cell_weight / event_weight[bound.cell_event]
        event_rate = np.zeros((bound.event_size.shape[0], offsets[-1]))
        np.add.at(event_rate, bound.cell_event, share[:, None] * rate)
        cells = np.vstack([rate, rate])
        events = np.vstack([event_rate[bound.cell_event]] * 2)
        result = linprog(
            objective,
            A_ub=on_cell[:, None] * cells + on_event[:, None] * events,
            b_ub=bound.bounds,
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

    def predict_proba(self, X: Any, *, sensitive_features: Any = None) -> FloatArray:
        """Probabilities of ``classes_`` under the randomised thresholds, shape (n, 2).

        Column 1 is ``sum_j p_{a,j} 1[s(x) >= t_{a,j}]`` for the row's group ``a``: the
        probability with which :meth:`predict` picks ``classes_[1]``.
        """
        self._check_fitted()
        return self._pmf_predict(X, sensitive_features=sensitive_features)

    def _positive_given_groups(self, scores: FloatArray, groups: IndexArray) -> FloatArray:
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

    def fit(
        self, X: Any, y: Any, *, sensitive_features: Any = None, sample_weight: Any = None
    ) -> RejectOptionClassifier:
        """Fit the base model (unless ``prefit``) and the critical region.

        ``sample_weight`` are frequency weights (base model, rates and error alike).
        """
        require_sensitive_features(sensitive_features, type(self).__name__)
        grid_size = self._grid_size()
        X, y, sensitive_features, sample_weight = drop_zero_weights(
            X, y, sensitive_features, sample_weight
        )
        base = LogisticRegression() if self.estimator is None else self.estimator
        if not hasattr(base, "predict_proba"):
            raise InvalidParameterError(
                f"RejectOptionClassifier needs probabilities but {type(base).__name__} has no "
                "predict_proba; use a probabilistic classifier or calibrate it."
            )
        X, coded, scores, weights = self._fit_base(X, y, sample_weight)
        bound = self._bind(coded, sensitive_features)
        plain = (scores >= 0.5).astype(np.float64)
        group_weight = np.bincount(bound.groups, weights=weights)
        rates = np.bincount(bound.groups, weights=weights * plain) / group_weight
        self.deprived_ = rates < np.sum(weights * plain) / weights.sum()
        thetas = np.linspace(0.0, 0.5, grid_size)
        outcomes = np.column_stack([self._rule(scores, bound.groups, t) for t in thetas])
        worst = bound.violations(outcomes).max(axis=0)
        errors = weights @ (outcomes != coded[:, None]) / weights.sum()
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

    def _rule(self, scores: FloatArray, groups: IndexArray, theta: float) -> FloatArray:
        critical = np.abs(scores - 0.5) <= theta
        return np.where(critical, self.deprived_[groups], scores >= 0.5).astype(np.float64)

    def _positive_given_groups(self, scores: FloatArray, groups: IndexArray) -> FloatArray:
        return self._rule(scores, groups, self.theta_)

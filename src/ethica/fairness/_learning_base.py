"""Shared plumbing of ethica's fair-learning estimators (scikit-learn contract).

Label checks, the ``sample_weight`` requirement on base learners, weighted best responses
to cost vectors (cost-sensitive classification reduced to weighted classification), and the
randomised ``predict`` that every mixture of classifiers shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import Tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from ethica._exceptions import InvalidParameterError, NotFittedError
from ethica._typing import FloatArray, LabelArray
from ethica.fairness._constraints import (
    DemographicParity,
    FairnessConstraint,
    constraint_from_name,
)
from ethica.fairness._registry import ALIASES

__all__ = [
    "BinaryFairClassifier",
    "ConstantClassifier",
    "EstimatorNotFittedError",
    "binary_labels",
    "check_number",
    "check_sample_weight_support",
    "error_costs",
    "fit_weighted",
    "mixture_positive_probability",
    "pick_constraint",
    "require_sensitive_features",
    "resolve_constraint",
]

#: fairlearn's message when ``fit`` gets no ``sensitive_features`` (its users match on it).
SENSITIVE_FEATURES_MISSING = "Must specify sensitive_features (for now)"


class EstimatorNotFittedError(NotFittedError, SklearnNotFittedError):  # type: ignore[misc]
    """ethica's :class:`NotFittedError` that scikit-learn also recognises as its own."""


def binary_labels(y: Any) -> tuple[npt.NDArray[Any], LabelArray]:
    """Check that ``y`` holds exactly two classes; return them and ``y`` coded 0/1.

    Raises
    ------
    InvalidParameterError
        If ``y`` has one class or more than two.
    """
    check_classification_targets(y)
    classes = np.unique(y)
    if classes.shape[0] != 2:
        shown = classes[:10].tolist()
        raise InvalidParameterError(
            f"Only binary classification is supported: labels must have exactly two classes, "
            f"got {classes.shape[0]} class(es) {shown}; encode the favourable outcome as one "
            "class and the rest as the other."
        )
    return classes, (np.asarray(y) == classes[1]).astype(np.int8)


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    integer: bool = False,
    low: float = 0.0,
    high: float | None = None,
    low_inclusive: bool = False,
) -> None:
    """Raise unless ``value`` is a number (an integer if asked) in its range.

    The range is ``(low, high]`` (``[low, high]`` with ``low_inclusive``); no upper end when
    ``high`` is None.
    """
    kind = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    ok = not isinstance(value, bool) and isinstance(value, kind)
    if ok:
        ok = (value >= low if low_inclusive else value > low) and (high is None or value <= high)
    if not ok:
        upper = "" if high is None else f" and at most {high}"
        relation = "at least" if low_inclusive else "above"
        raise InvalidParameterError(
            f"{owner}({name}={value!r}) must be {'an integer' if integer else 'a number'} "
            f"{relation} {low}{upper}."
        )


def resolve_constraint(
    constraint: Any, owner: str, *, string_bound: float | None = None
) -> FairnessConstraint:
    """The constraint spec to use, from any of the spellings users bring.

    ``None`` gives ``DemographicParity()``; a spec is used as it is; a name resolves through
    :func:`constraint_from_name` (``"demographic_parity"`` or another spelling the
    registry accepts) with ``string_bound`` as its bound; a fairlearn moment object
    (``fairlearn.reductions.DemographicParity(difference_bound=0.02)``, ...) becomes the
    ethica spec of the same name and bound.
    """
    if constraint is None:
        return DemographicParity()
    if isinstance(constraint, FairnessConstraint):
        return constraint
    if isinstance(constraint, str):
        return constraint_from_name(constraint, string_bound)
    kind = type(constraint)
    if kind.__module__.startswith("fairlearn.") and kind.__name__ in ALIASES:
        spec = constraint_from_name(kind.__name__)
        ratio = float(getattr(constraint, "ratio", 1.0))
        if ratio < 1.0:
            return type(spec)(ratio_bound=ratio)
        return type(spec)(difference_bound=float(constraint.eps))
    raise InvalidParameterError(
        f"{owner} needs a constraint such as DemographicParity(difference_bound=0.01) or a "
        f"name such as 'demographic_parity', got {constraint!r}."
    )


def pick_constraint(constraint: Any, constraints: Any, owner: str) -> Any:
    """The one constraint given as ``constraint=`` (ethica) or ``constraints=`` (fairlearn)."""
    if constraint is not None and constraints is not None:
        raise InvalidParameterError(
            f"{owner} got constraint={constraint!r} and constraints={constraints!r}; give "
            "one of them (they are the same parameter, spelt as in ethica and fairlearn)."
        )
    return constraints if constraint is None else constraint


def require_sensitive_features(sensitive_features: Any, owner: str) -> None:
    """Raise (as fairlearn does) when ``fit`` gets no protected attribute."""
    if sensitive_features is None:
        raise InvalidParameterError(
            f"{SENSITIVE_FEATURES_MISSING}: {owner}.fit(X, y) needs the protected attribute "
            "of every row to enforce its constraint; pass sensitive_features=... (a column, "
            "or several for intersections). For an unconstrained model fit the base "
            "estimator itself."
        )


def check_sample_weight_support(estimator: Any) -> None:
    """Raise if ``estimator.fit`` does not accept ``sample_weight``."""
    if not has_fit_parameter(estimator, "sample_weight"):
        raise InvalidParameterError(
            f"the base estimator {type(estimator).__name__} does not accept sample_weight in "
            "fit, which the reduction needs; choose a classifier that does (e.g. "
            "LogisticRegression) or wrap it in one that resamples."
        )


class ConstantClassifier:
    """A classifier that predicts one 0/1 value everywhere (a degenerate best response)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def predict(self, X: Any) -> LabelArray:
        """``value`` for every row of ``X``."""
        return np.full(np.shape(X)[0], self.value, dtype=np.int8)


def mixture_positive_probability(
    models: Sequence[Any], X: Any, weights: FloatArray | None = None
) -> FloatArray:
    """``P(h(x) = 1)`` per row when ``h`` is drawn from ``models`` with ``weights``.

    Without ``weights`` every model is equally likely (the uniform mixture of the plays).
    """
    total = np.zeros(np.shape(X)[0])
    if weights is None:
        for model in models:
            total += np.asarray(model.predict(X), dtype=np.float64)
        uniform: FloatArray = total / len(models)
        return uniform
    for weight, model in zip(weights, models, strict=True):
        total += weight * np.asarray(model.predict(X), dtype=np.float64)
    return total


def error_costs(labels: LabelArray) -> FloatArray:
    """Cost of predicting 1 instead of 0 in the empirical error: ``(1 - 2 y_i) / n``."""
    result: FloatArray = (1.0 - 2.0 * labels.astype(np.float64)) / labels.shape[0]
    return result


def fit_weighted(estimator: Any, X: Any, costs: FloatArray) -> Any:
    """Best response to per-row costs of predicting 1 (negative: 1 is the cheaper label).

    Minimising ``sum_i costs_i h(x_i)`` is weighted classification with label
    ``1[costs_i < 0]`` and weight ``|costs_i|`` (Agarwal et al. 2018, Sec. 3.2); the weights
    are rescaled to sum to the number of rows so that regularisation keeps its meaning.
    """
    labels = (costs < 0).astype(np.int8)
    weights = np.abs(costs)
    total = weights.sum()
    if total <= 0 or labels.min() == labels.max():
        return ConstantClassifier(int(labels[0]) if total > 0 else 0)
    model = clone(estimator)
    model.fit(X, labels, sample_weight=weights * (labels.shape[0] / total))
    return model


class BinaryFairClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Base of ethica's binary fair classifiers: tags, label coding and randomised predict.

    Subclasses implement ``_pmf_predict`` (per-row probabilities of each class under the
    randomised classifier) and set ``classes_``; ``predict`` draws from it with a
    ``numpy.random.Generator`` seeded by ``random_state``, so repeated calls agree.
    """

    random_state: int | None
    #: Whether ``predict`` draws at random (a mixture or randomised thresholds): a row's
    #: label then depends on its position, which scikit-learn's tags call non-deterministic.
    randomised: bool = False
    #: Whether ``X`` may be a scipy sparse matrix (the base learner sees it as given).
    sparse_input: bool = False

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        if tags.classifier_tags is not None:
            tags.classifier_tags.multi_class = False
        tags.input_tags.sparse = self.sparse_input
        tags.non_deterministic = self.randomised
        return tags

    def _validate_fit(self, X: Any, y: Any) -> tuple[Any, LabelArray]:
        X, y = validate_data(self, X, y, accept_sparse=self._sparse_formats())
        self.classes_, coded = binary_labels(y)
        return X, coded

    def _check_fitted(self) -> None:
        """Raise ethica's :class:`NotFittedError` (a ValueError and AttributeError)."""
        try:
            check_is_fitted(self)
        except SklearnNotFittedError:
            raise EstimatorNotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, y, "
                "sensitive_features=...) before predicting."
            ) from None

    def _validate_predict(self, X: Any) -> Any:
        self._check_fitted()
        return validate_data(self, X, reset=False, accept_sparse=self._sparse_formats())

    def _sparse_formats(self) -> tuple[str, ...] | bool:
        return ("csr", "csc") if self.sparse_input else False

    def _pmf_predict(self, X: Any) -> FloatArray:
        """Probability of each class under the randomised classifier, shape (n, 2)."""
        positive = self._positive_probability(self._validate_predict(X))
        return np.column_stack([1.0 - positive, positive])

    def _positive_probability(self, X: Any) -> FloatArray:
        raise NotImplementedError

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """Draw a label for every row from the randomised classifier.

        Row ``i`` is labelled ``classes_[1]`` when ``u_i < P[h(x_i) = 1]`` for uniform
        draws ``u`` from a generator seeded with ``random_state``.
        """
        self._check_fitted()
        return self._draw(self._pmf_predict(X)[:, 1])

    def _draw(self, positive: FloatArray) -> npt.NDArray[Any]:
        draws = np.random.default_rng(self.random_state).random(positive.shape[0])
        chosen: npt.NDArray[Any] = self.classes_[(draws < positive).astype(np.intp)]
        return chosen

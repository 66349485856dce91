"""Every ethica fair-learning estimator against scikit-learn's estimator checks.

Without ``sensitive_features`` (what the generic checks pass) the estimators impose no
constraint, so the checks exercise the scikit-learn contract itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from ethica._exceptions import NotFittedError
from ethica.fairness._gerryfair import GerryFairClassifier
from ethica.fairness._postprocessing import RejectOptionClassifier, ThresholdOptimizer
from ethica.fairness._reductions import ExponentiatedGradient, GridSearch

BASE = LogisticRegression(solver="liblinear", random_state=0)

ESTIMATORS: list[Any] = [
    ExponentiatedGradient(estimator=BASE, random_state=0),
    GridSearch(estimator=BASE),
    ThresholdOptimizer(estimator=BASE, random_state=0),
    RejectOptionClassifier(estimator=BASE),
    GerryFairClassifier(random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_contract(estimator: Any, check: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # scikit-learn's array-API check runs (on NumPy inputs) only when this is set.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_predict_before_fit_raises_ethica_not_fitted_error(estimator: Any) -> None:
    with pytest.raises(NotFittedError, match=r"not fitted yet; call fit\(X, y"):
        clone(estimator).predict(np.zeros((3, 2)))

"""ethica's DP learners against scikit-learn's estimator checks (parametrize_with_checks).

The learners are randomised by design (fresh CSPRNG noise on every fit), so they carry the
``non_deterministic`` tag, and their accuracy on the checks' tiny data sets is not judged
(``poor_score``); every other check of the contract runs.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from ethica._exceptions import NotFittedError
from ethica.privacy.learning import (
    DPExponentiatedGradient,
    DPLinearRegression,
    DPLogisticRegression,
)


def row_groups(X: Any) -> np.ndarray:
    """A protected attribute per row, from a checksum of its values (a row keeps its group
    in every subset and order), as in the fair learners' contract test."""
    values = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
    rows = values.reshape(values.shape[0], -1) if values.ndim else values.reshape(1, -1)
    return np.array(["even" if zlib.crc32(repr(list(r)).encode()) % 2 else "odd" for r in rows])


class GroupedDPExponentiatedGradient(DPExponentiatedGradient):
    """The checks call fit(X, y): pass the row's group, as a user would."""

    def fit(self, X: Any, y: Any, **kwargs: Any) -> Any:
        return super().fit(X, y, sensitive_features=row_groups(X), **kwargs)


ESTIMATORS: list[Any] = [
    DPLogisticRegression(epsilon=1.0, data_norm=5.0),
    DPLogisticRegression(epsilon=1.0, delta=1e-6, method="dp-sgd", data_norm=5.0, max_iter=20),
    DPLinearRegression(epsilon=1.0, bounds_X=(-5.0, 5.0), bounds_y=(-5.0, 5.0)),
    GroupedDPExponentiatedGradient(
        groups=["even", "odd"], epsilon=1.0, feature_range=(-3.0, 3.0), random_state=0
    ),
]


#: Checks that compare two fits on the same data and expect equal outputs. A DP learner
#: draws fresh noise on every fit (that is its guarantee), so they cannot apply;
#: ``test_two_fits_draw_fresh_noise`` checks the opposite, which is what DP needs.
SAME_OUTPUT_CHECKS = (
    "check_classifier_data_not_an_array",
    "check_regressor_data_not_an_array",
    "check_supervised_y_2d",
    "check_regressors_int",
    "check_fit_idempotent",
)


#: A mixture draws ``predict`` from ``predict_proba``, so ``argmax(predict_proba) == predict``
#: (part of ``check_classifiers_train``) need not hold, as for ethica's ExponentiatedGradient.
RANDOMISED = "predict draws from predict_proba, so argmax(predict_proba) can differ from predict"


def _expected_failures(estimator: Any) -> dict[str, str]:
    failures = dict.fromkeys(SAME_OUTPUT_CHECKS, "compares two fits: DP noise is fresh each fit")
    if isinstance(estimator, DPExponentiatedGradient):
        failures["check_classifiers_train"] = RANDOMISED
    return failures


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_contract(estimator: Any, check: Any) -> None:
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_predict_before_fit_raises_ethica_not_fitted_error(estimator: Any) -> None:
    with pytest.raises(NotFittedError, match=r"not fitted yet; call fit\(X, y"):
        clone(estimator).predict(np.zeros((3, 2)))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_two_fits_draw_fresh_noise(estimator: Any) -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 3))
    y = (X[:, 0] > 0).astype(int) if hasattr(estimator, "predict_proba") else X[:, 0]
    first, second = (_released(clone(estimator).fit(X, y)) for _ in range(2))
    assert not np.array_equal(first, second)


def _released(model: Any) -> np.ndarray:
    """What a fit released: coefficients, or the reduction's noisy tables."""
    return np.asarray(model.coef_ if hasattr(model, "coef_") else model.noisy_counts_)

"""Post-processing (Hardt et al. thresholds, reject option) on Adult, against fairlearn."""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pytest
from fairlearn.postprocessing import ThresholdOptimizer as FairlearnThresholdOptimizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from ethica._exceptions import ConvergenceWarning, InvalidParameterError
from ethica.fairness._constraints import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
    FairnessConstraint,
)
from ethica.fairness._postprocessing import RejectOptionClassifier, ThresholdOptimizer
from tests.unit.fairness.test_learning_data import adult_matrices, adult_sample


@cache
def scorer() -> LogisticRegression:
    train, _ = adult_matrices()
    return LogisticRegression(solver="liblinear", random_state=0).fit(train.X, train.y)


@pytest.mark.parametrize(
    ("spec", "peer_name"),
    [
        (DemographicParity(difference_bound=0.0), "demographic_parity"),
        (EqualOpportunity(difference_bound=0.0), "true_positive_rate_parity"),
        (EqualizedOdds(difference_bound=0.0), "equalized_odds"),
    ],
)
def test_exact_constraint_on_training_rows_and_error_no_worse_than_fairlearn(
    spec: FairnessConstraint, peer_name: str
) -> None:
    train, _ = adult_matrices()
    ours = ThresholdOptimizer(estimator=scorer(), prefit=True, constraint=spec).fit(
        train.X, train.y, sensitive_features=train.sensitive
    )
    positive = ours._pmf_predict(train.X, sensitive_features=train.sensitive)[:, 1]
    assert spec.bind(train.y, train.sensitive).violations(positive).max() <= 1e-7
    our_error = np.mean(np.abs(positive - train.y))
    assert our_error == pytest.approx(ours.training_error_, abs=1e-9)
    peer = FairlearnThresholdOptimizer(
        estimator=scorer(), prefit=True, constraints=peer_name, predict_method="predict_proba"
    )
    with warnings.catch_warnings():  # fairlearn's own pandas-3 deprecation notices
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        peer.fit(train.X, train.y, sensitive_features=train.sensitive)
        peer_positive = peer._pmf_predict(train.X, sensitive_features=train.sensitive)[:, 1]
    assert our_error <= np.mean(np.abs(peer_positive - train.y)) + 0.002


def test_looser_bound_never_costs_accuracy() -> None:
    data = adult_sample()
    errors = [
        ThresholdOptimizer(constraint=DemographicParity(difference_bound=b))
        .fit(data.X, data.y, sensitive_features=data.sensitive)
        .training_error_
        for b in (0.0, 0.05, 0.2)
    ]
    assert errors[0] >= errors[1] - 1e-12 >= errors[2] - 2e-12


def test_randomised_thresholds_are_probabilities_and_predict_is_seeded() -> None:
    data = adult_sample()
    model = ThresholdOptimizer(
        constraint=DemographicParity(difference_bound=0.0), random_state=1
    ).fit(data.X, data.y, sensitive_features=data.sensitive)
    for weights in model.threshold_probabilities_:
        assert weights.min() > 0 and weights.sum() == pytest.approx(1.0)
    first = model.predict(data.X, sensitive_features=data.sensitive)
    np.testing.assert_array_equal(first, model.predict(data.X, sensitive_features=data.sensitive))


def test_predict_needs_known_groups() -> None:
    data = adult_sample(1000)
    model = ThresholdOptimizer().fit(data.X, data.y, sensitive_features=data.sensitive)
    with pytest.raises(InvalidParameterError, match="predict needs them too"):
        model.predict(data.X)
    with pytest.raises(InvalidParameterError, match=r"unknown group\(s\) \['Other'\]"):
        model.predict(data.X[:3], sensitive_features=["Male", "Other", "Female"])
    with pytest.raises(InvalidParameterError, match="one protected value per row"):
        model.predict(data.X[:3], sensitive_features=["Male", "Female"])


@pytest.mark.parametrize("cls", [ThresholdOptimizer, RejectOptionClassifier])
def test_bad_input(cls: type) -> None:
    data = adult_sample(500)
    with pytest.raises(InvalidParameterError, match="does not support ErrorRateParity"):
        cls(constraint=ErrorRateParity()).fit(data.X, data.y, sensitive_features=data.sensitive)
    with pytest.raises(InvalidParameterError, match="single group"):
        cls().fit(data.X, data.y, sensitive_features=np.full(500, "Female"))
    with pytest.raises(InvalidParameterError, match=r"binary.*3 class\(es\)"):
        cls().fit(data.X, np.arange(500) % 3, sensitive_features=data.sensitive)
    with pytest.raises(InvalidParameterError, match=r"grid_size=0\) must be an integer at least"):
        cls(grid_size=0).fit(data.X, data.y, sensitive_features=data.sensitive)
    with pytest.raises(InvalidParameterError, match="needs a constraint such as"):
        cls(constraint=0.1).fit(data.X, data.y, sensitive_features=data.sensitive)


def test_reject_option_favours_the_deprived_group_in_the_critical_region() -> None:
    train, test = adult_matrices()
    spec = DemographicParity(difference_bound=0.02)
    model = RejectOptionClassifier(estimator=scorer(), prefit=True, constraint=spec).fit(
        train.X, train.y, sensitive_features=train.sensitive
    )
    assert model.group_names_ == ("Female", "Male")
    assert model.deprived_.tolist() == [True, False]
    assert 0 < model.theta_ < 0.5
    predicted = model.predict(test.X, sensitive_features=test.sensitive)
    scores = scorer().predict_proba(test.X)[:, 1]
    critical = np.abs(scores - 0.5) <= model.theta_
    female = test.sensitive == "Female"
    assert predicted[critical & female].min() == 1
    assert predicted[critical & ~female].max() == 0
    np.testing.assert_array_equal(predicted[~critical], scores[~critical] >= 0.5)
    on_train = model.predict(train.X, sensitive_features=train.sensitive).astype(float)
    assert spec.bind(train.y, train.sensitive).violations(on_train).max() <= 1e-7


def test_reject_option_warns_when_no_theta_meets_the_bound() -> None:
    data = adult_sample(1000)
    with pytest.warns(ConvergenceWarning, match="no critical region meeting"):
        RejectOptionClassifier(grid_size=1, constraint=DemographicParity(difference_bound=0.0)).fit(
            data.X, data.y, sensitive_features=data.sensitive
        )


def test_reject_option_needs_probabilities() -> None:
    data = adult_sample(500)
    with pytest.raises(InvalidParameterError, match="LinearSVC has no predict_proba"):
        RejectOptionClassifier(estimator=LinearSVC()).fit(
            data.X, data.y, sensitive_features=data.sensitive
        )

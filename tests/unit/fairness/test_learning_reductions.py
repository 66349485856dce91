"""Reductions (exponentiated gradient, grid search) on Adult, against fairlearn in the same run."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from fairlearn.reductions import DemographicParity as FairlearnDemographicParity
from fairlearn.reductions import ExponentiatedGradient as FairlearnExponentiatedGradient
from pandas.errors import Pandas4Warning
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from ethica._exceptions import ConvergenceWarning, InvalidParameterError
from ethica.fairness._constraints import DemographicParity, EqualizedOdds
from ethica.fairness._reductions import ExponentiatedGradient, GridSearch
from tests.unit.fairness.test_learning_data import adult_matrices, adult_sample


def base() -> LogisticRegression:
    return LogisticRegression(solver="liblinear", random_state=0)


def selection_gap(positive: np.ndarray, groups: np.ndarray) -> float:
    rates = [positive[groups == g].mean() for g in np.unique(groups)]
    return float(max(rates) - min(rates))


def test_adult_dp_001_no_worse_than_fairlearn_in_the_same_run() -> None:
    """Expected test error and DP difference of both randomised classifiers (slack 0.002)."""
    train, test = adult_matrices()
    ours = ExponentiatedGradient(
        estimator=base(), constraint=DemographicParity(difference_bound=0.01)
    )
    ours.fit(train.X, train.y, sensitive_features=train.sensitive)
    peer = FairlearnExponentiatedGradient(base(), FairlearnDemographicParity(difference_bound=0.01))
    with warnings.catch_warnings():  # fairlearn's own pandas-3 deprecation notices
        warnings.simplefilter("ignore", Pandas4Warning)
        peer.fit(train.X, train.y, sensitive_features=train.sensitive)
    results = {}
    for name, model in (("ours", ours), ("fairlearn", peer)):
        positive = model._pmf_predict(test.X)[:, 1]
        results[name] = (
            np.mean(np.abs(positive - test.y)),
            selection_gap(positive, test.sensitive),
        )
    assert results["ours"][0] <= results["fairlearn"][0] + 0.002, results
    assert results["ours"][1] <= results["fairlearn"][1] + 0.002, results
    # and the constraint really bit: unconstrained LR has a DP gap near 0.18 on Adult
    assert results["ours"][1] < 0.03


def test_training_constraint_holds_and_disparity_drops_for_equalized_odds() -> None:
    data = adult_sample()
    spec = EqualizedOdds(difference_bound=0.02)
    model = ExponentiatedGradient(estimator=base(), constraint=spec).fit(
        data.X, data.y, sensitive_features=data.sensitive
    )
    bound = spec.bind(data.y, data.sensitive)
    positive = model._pmf_predict(data.X)[:, 1]
    assert bound.violations(positive).max() <= 1e-6
    unconstrained = base().fit(data.X, data.y).predict(data.X).astype(float)
    assert bound.disparity(positive) < bound.disparity(unconstrained) - 0.05
    assert model.training_violation_ <= 1e-6
    assert model.weights_.sum() == pytest.approx(1.0)
    assert model.n_iter_ >= 1 and model.n_oracle_calls_ == 2 * model.n_iter_


def test_fit_does_not_change_the_users_constraint() -> None:
    data = adult_sample(1000)
    spec = DemographicParity(difference_bound=0.05)
    before = dataclasses.asdict(spec)
    ExponentiatedGradient(estimator=base(), constraint=spec, max_iter=3).fit(
        data.X, data.y, sensitive_features=data.sensitive
    )
    assert dataclasses.asdict(spec) == before


def test_randomised_predict_is_seeded_and_follows_the_pmf() -> None:
    data = adult_sample()
    model = ExponentiatedGradient(
        estimator=base(), random_state=3, constraint=DemographicParity(difference_bound=0.0)
    )
    model.fit(data.X, data.y, sensitive_features=data.sensitive)
    positive = model._pmf_predict(data.X)[:, 1]
    mixed = (positive > 0.01) & (positive < 0.99)
    assert mixed.sum() > 100  # a genuinely randomised classifier
    first, second = model.predict(data.X), model.predict(data.X)
    np.testing.assert_array_equal(first, second)
    # Bernoulli draws: the mean over mixed rows matches the pmf within 4 standard errors
    expected = positive[mixed].mean()
    spread = np.sqrt((positive[mixed] * (1 - positive[mixed])).sum()) / mixed.sum()
    assert abs(first[mixed].mean() - expected) < 4 * spread


def test_infeasible_within_budget_warns_and_returns_least_violating_mixture() -> None:
    data = adult_sample(2000)
    # two classifiers cannot be mixed to equalise both TPR and FPR exactly
    spec = EqualizedOdds(difference_bound=0.0)
    model = ExponentiatedGradient(estimator=base(), max_iter=1, constraint=spec)
    with pytest.warns(ConvergenceWarning, match=r"could not satisfy.*least violating"):
        model.fit(data.X, data.y, sensitive_features=data.sensitive)
    bound = spec.bind(data.y, data.sensitive)
    worst = bound.violations(model._pmf_predict(data.X)[:, 1]).max()
    assert worst == pytest.approx(model.training_violation_, abs=1e-9)
    for single in model.predictors_:
        assert worst <= bound.violations(single.predict(data.X).astype(float)).max() + 1e-9


@pytest.mark.parametrize("cls", [ExponentiatedGradient, GridSearch])
def test_base_estimator_without_sample_weight_is_rejected(cls: type) -> None:
    data = adult_sample(500)
    with pytest.raises(InvalidParameterError, match=r"KNeighborsClassifier.*sample_weight"):
        cls(estimator=KNeighborsClassifier()).fit(data.X, data.y, sensitive_features=data.sensitive)


@pytest.mark.parametrize("cls", [ExponentiatedGradient, GridSearch])
def test_bad_labels_groups_and_parameters(cls: type) -> None:
    data = adult_sample(500)
    with pytest.raises(InvalidParameterError, match=r"binary.*3 class\(es\) \[0, 1, 2\]"):
        cls(estimator=base()).fit(data.X, np.arange(500) % 3, sensitive_features=data.sensitive)
    with pytest.raises(InvalidParameterError, match="single group"):
        cls(estimator=base()).fit(data.X, data.y, sensitive_features=np.full(500, "Male"))
    with pytest.raises(InvalidParameterError, match="needs a constraint"):
        cls(estimator=base(), constraint=42).fit(data.X, data.y, sensitive_features=data.sensitive)


def test_bad_iteration_parameters() -> None:
    data = adult_sample(500)
    with pytest.raises(InvalidParameterError, match=r"max_iter=0\) must be an integer above 0"):
        ExponentiatedGradient(max_iter=0).fit(data.X, data.y)
    with pytest.raises(InvalidParameterError, match=r"grid_size=-1\) must be an integer above 0"):
        GridSearch(grid_size=-1).fit(data.X, data.y)


def test_grid_search_keeps_a_feasible_deterministic_classifier() -> None:
    data = adult_sample()
    spec = DemographicParity(difference_bound=0.03)
    model = GridSearch(estimator=base(), constraint=spec, grid_size=13, grid_limit=3.0).fit(
        data.X, data.y, sensitive_features=data.sensitive
    )
    assert len(model.predictors_) == 1
    positive = model._pmf_predict(data.X)[:, 1]
    assert set(np.unique(positive)) <= {0.0, 1.0}
    assert spec.bind(data.y, data.sensitive).violations(positive).max() <= 1e-7
    assert np.mean(positive != data.y) < 0.25


def test_grid_search_warns_when_no_grid_point_is_feasible() -> None:
    data = adult_sample(2000)
    with pytest.warns(ConvergenceWarning, match="no classifier meeting"):
        GridSearch(
            estimator=base(), grid_size=1, constraint=DemographicParity(difference_bound=0.0)
        ).fit(data.X, data.y, sensitive_features=data.sensitive)


def test_ratio_bound_four_fifths_rule_holds_on_training_rows() -> None:
    data = adult_sample()
    spec = DemographicParity(ratio_bound=0.8)
    model = ExponentiatedGradient(estimator=base(), constraint=spec).fit(
        data.X, data.y, sensitive_features=data.sensitive
    )
    positive = model._pmf_predict(data.X)[:, 1]
    rates = [positive[data.sensitive == g].mean() for g in ("Female", "Male")]
    overall = positive.mean()
    assert min(rates) >= 0.8 * overall - 1e-6
    assert 0.8 * max(rates) <= overall + 1e-6
    assert min(rates) / max(rates) > 0.6  # unconstrained LR: about 0.3 on Adult

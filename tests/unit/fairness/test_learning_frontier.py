"""Frontier sweep, Pareto filtering and hypervolume; proxy analysis on Adult."""

from __future__ import annotations

import itertools
import json
import pickle
from functools import cache

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from ethica._exceptions import InvalidParameterError
from ethica._results import SCHEMA_VERSION
from ethica.data import TrainingMatrix, fit_encoding, load_adult
from ethica.fairness._constraints import DemographicParity, EqualizedOdds
from ethica.fairness._frontier import FrontierResult, frontier, hypervolume, pareto_mask
from ethica.fairness._proxies import proxy_analysis
from tests.unit.fairness.test_learning_data import adult_matrices


def base() -> LogisticRegression:
    return LogisticRegression(solver="liblinear", random_state=0)


def test_pareto_mask_and_hypervolume_by_hand() -> None:
    errors = [0.10, 0.20, 0.15, 0.30]
    disparities = [0.30, 0.10, 0.35, 0.05]
    assert pareto_mask(errors, disparities).tolist() == [True, True, False, True]
    # staircase under reference (1, 1): 0.9*0.7 + 0.8*0.2 + 0.7*0.05
    assert hypervolume(errors, disparities) == pytest.approx(0.63 + 0.16 + 0.035)
    assert hypervolume(errors, disparities, (0.25, 0.4)) == pytest.approx(0.15 * 0.1 + 0.05 * 0.2)
    assert hypervolume([0.5], [0.5], (0.4, 1.0)) == 0.0


@cache
def adult_frontier() -> FrontierResult:
    train, test = adult_matrices()
    rows = np.random.default_rng(0).choice(train.y.shape[0], 8000, replace=False)
    return frontier(
        train.X[rows],
        train.y[rows],
        train.sensitive[rows],
        test.X,
        test.y,
        test.sensitive,
        points=5,
        estimator=base(),
        constraint=DemographicParity(difference_bound=0.02),
    )


def test_frontier_trades_error_for_disparity_on_adult() -> None:
    result = adult_frontier()
    bounds = [p.bound for p in result.points]
    assert bounds[0] == 0.0 and bounds == sorted(bounds) and len(bounds) == 5
    train_disparity = [p.train_disparity for p in result.points]
    train_error = [p.train_error for p in result.points]
    # tighter bounds: less training disparity, more training error (small LP slack)
    assert all(a <= b + 1e-6 for a, b in itertools.pairwise(train_disparity))
    assert all(a >= b - 2e-3 for a, b in itertools.pairwise(train_error))
    assert result.points[0].disparity < 0.02 < result.points[-1].disparity
    expected = hypervolume([p.error for p in result.points], [p.disparity for p in result.points])
    assert result.hypervolume == pytest.approx(expected)
    flags = pareto_mask([p.error for p in result.points], [p.disparity for p in result.points])
    assert [not p.dominated for p in result.points] == flags.tolist()


def test_frontier_chooses_the_most_accurate_point_within_target() -> None:
    result = adult_frontier()
    chosen = result.points[result.chosen]
    assert chosen.disparity <= 0.02 and not chosen.dominated
    better = [p for p in result.points if p.error < chosen.error and not p.dominated]
    assert all(p.disparity > 0.02 for p in better)
    _, test = adult_matrices()
    positive = result.chosen_model._pmf_predict(test.X)[:, 1]
    assert np.mean(np.abs(positive - test.y)) == pytest.approx(chosen.error)


def test_frontier_result_serialises() -> None:
    result = adult_frontier()
    document = json.loads(json.dumps(result.to_dict()))
    assert document["kind"] == "frontier" and document["schema_version"] == SCHEMA_VERSION
    assert "models" not in document and len(document["points"]) == 5
    frame = result.to_frame()
    assert list(frame["bound"]) == [p.bound for p in result.points]
    assert frame["chosen"].sum() == 1
    assert "<table" in result._repr_html_()
    assert result.pareto()[0].error == min(p.error for p in result.points if not p.dominated)


def test_frontier_bad_input() -> None:
    train, test = adult_matrices()
    args = (
        train.X[:300],
        train.y[:300],
        train.sensitive[:300],
        test.X[:300],
        test.y[:300],
        test.sensitive[:300],
    )
    with pytest.raises(InvalidParameterError, match="points=1"):
        frontier(*args, points=1)
    with pytest.raises(InvalidParameterError, match=r"bound 1.5 is outside \[0, 1\]"):
        frontier(*args, bounds=[0.0, 1.5], estimator=base())
    with pytest.raises(InvalidParameterError, match="difference bound"):
        frontier(*args, constraint=DemographicParity(ratio_bound=0.8))
    with pytest.raises(InvalidParameterError, match=r"held-out labels \[7\]"):
        frontier(*args[:4], np.full(300, 7), args[5], bounds=[0.1], estimator=base())


def test_frontier_with_explicit_bounds_and_equalized_odds() -> None:
    train, test = adult_matrices()
    result = frontier(
        train.X[:3000],
        train.y[:3000],
        train.sensitive[:3000],
        test.X[:3000],
        test.y[:3000],
        test.sensitive[:3000],
        bounds=[0.1, 0.0],
        constraint=EqualizedOdds(),
        estimator=base(),
    )
    assert [p.bound for p in result.points] == [0.0, 0.1]
    assert result.constraint == "equalized_odds"
    assert result.points[0].train_disparity <= result.points[1].train_disparity + 1e-6


@cache
def adult_with_sex() -> tuple[TrainingMatrix, TrainingMatrix]:
    train, test = load_adult("train"), load_adult("test")
    encoding = fit_encoding(
        train, label="income", protected="sex", positive=">50K", include_protected=True
    )
    return encoding.transform(train), encoding.transform(test)


def test_dropping_sex_leaves_most_of_the_disparity_on_adult() -> None:
    train, test = adult_with_sex()
    result = proxy_analysis(train, test, protected="sex", estimator=base(), top=3)
    assert result.disparity_with > 0.1
    assert result.disparity_without > 0.7 * result.disparity_with
    assert result.protected_auc > 0.85  # the other features predict sex well
    assert result.proxies[0].feature == "relationship"  # husband / wife
    assert len(result.proxies) == 3
    aucs = [p.auc for p in result.proxies]
    assert aucs == sorted(aucs, reverse=True)
    frame = result.to_frame()
    assert list(frame["feature"]) == [p.feature for p in result.proxies]
    assert json.loads(json.dumps(result.to_dict()))["kind"] == "proxies"


def test_proxy_analysis_needs_the_protected_column_among_features() -> None:
    train, test = adult_matrices()
    with pytest.raises(InvalidParameterError, match="include_protected=True"):
        proxy_analysis(train, test, protected="sex", estimator=base())


def test_proxy_analysis_refuses_what_is_not_a_constraint() -> None:
    train, test = adult_matrices()
    with pytest.raises(InvalidParameterError, match="proxy_analysis needs a constraint"):
        proxy_analysis(train, test, protected="sex", constraint=42)  # type: ignore[arg-type]


def test_chosen_model_survives_pickling() -> None:
    result = adult_frontier()
    _, test = adult_matrices()
    restored = pickle.loads(pickle.dumps(result.chosen_model))
    np.testing.assert_allclose(
        restored._pmf_predict(test.X[:500]), result.chosen_model._pmf_predict(test.X[:500])
    )

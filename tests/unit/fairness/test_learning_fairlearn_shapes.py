"""fairlearn's call shapes on ethica's mitigators, predict_proba, sparse X, weights, costs."""

from __future__ import annotations

import fairlearn.reductions as flr
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from ethica._exceptions import InvalidParameterError
from ethica.fairness import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ExponentiatedGradient,
    ThresholdOptimizer,
)
from ethica.fairness._learning_base import resolve_constraint


def _data(n: int = 1200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(["a", "b"]), n, p=[0.6, 0.4])
    score = rng.normal(size=n) + np.where(group == "a", 0.8, -0.4)
    y = (score + rng.normal(scale=0.8, size=n) > 0.3).astype(int)
    X = np.column_stack([score, rng.normal(size=n)])
    return X, y, group


def _base() -> LogisticRegression:
    return LogisticRegression(solver="liblinear", random_state=0)


def _selection_rates(decisions: np.ndarray, group: np.ndarray) -> dict[str, float]:
    return {g: float(decisions[group == g].mean()) for g in ("a", "b")}


def test_fairlearn_constraint_strings_resolve_to_the_same_spec() -> None:
    assert resolve_constraint("demographic_parity", "test") == DemographicParity()
    assert resolve_constraint("true_positive_rate_parity", "test") == EqualOpportunity()


def test_a_fairlearn_moment_keeps_its_difference_bound() -> None:
    moment = flr.DemographicParity(difference_bound=0.05)
    assert resolve_constraint(moment, "test") == DemographicParity(difference_bound=0.05)


def test_a_fairlearn_moment_keeps_its_ratio_bound() -> None:
    ratio = flr.EqualizedOdds(ratio_bound=0.8)
    spec = resolve_constraint(ratio, "test")
    assert isinstance(spec, EqualizedOdds) and spec.ratio_bound == 0.8


def test_an_unknown_constraint_string_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="unknown constraint 'parity'"):
        resolve_constraint("parity", "test")


def test_exponentiated_gradient_takes_fairlearn_call_shape_and_gives_probabilities() -> None:
    X, y, group = _data()
    fairlearn_style = ExponentiatedGradient(_base(), flr.DemographicParity(), random_state=0)
    ethica_style = ExponentiatedGradient(
        estimator=_base(), constraint=DemographicParity(), random_state=0
    )
    fairlearn_style.fit(X, y, sensitive_features=group)
    ethica_style.fit(X, y, sensitive_features=group)
    proba = fairlearn_style.predict_proba(X)
    assert np.allclose(proba, ethica_style.predict_proba(X))
    assert proba.shape == (X.shape[0], 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    # the mixture's expected selection rates are what the constraint bounds
    rates = {g: float(proba[group == g, 1].mean()) for g in ("a", "b")}
    overall = float(proba[:, 1].mean())
    assert max(abs(r - overall) for r in rates.values()) <= 0.01 + 1e-6
    with pytest.raises(InvalidParameterError, match="give one of them"):
        ExponentiatedGradient(_base(), "demographic_parity", constraint=DemographicParity()).fit(
            X, y, sensitive_features=group
        )


def test_sparse_features_give_the_same_model() -> None:
    X, y, group = _data(n=600, seed=3)
    dense = ExponentiatedGradient(_base(), "demographic_parity", random_state=0)
    sparse = ExponentiatedGradient(_base(), "demographic_parity", random_state=0)
    dense.fit(X, y, sensitive_features=group)
    sparse.fit(sp.csr_matrix(X), y, sensitive_features=group)
    assert np.allclose(dense.predict_proba(X), sparse.predict_proba(sp.csr_matrix(X)))


def test_threshold_optimizer_fairlearn_shape_equalises_selection_exactly() -> None:
    X, y, group = _data(seed=1)
    model = ThresholdOptimizer(
        estimator=_base().fit(X, y),
        constraints="demographic_parity",
        objective="accuracy_score",
        prefit=True,
        predict_method="predict_proba",
        random_state=0,
    ).fit(X, y, sensitive_features=group)
    proba = model.predict_proba(X, sensitive_features=group)
    rates = {g: float(proba[group == g, 1].mean()) for g in ("a", "b")}
    assert rates["a"] == pytest.approx(rates["b"], abs=1e-6)
    assert 0.0 < model.training_error_ < 0.5
    with pytest.raises(InvalidParameterError, match="predict_method='scores'"):
        ThresholdOptimizer(estimator=_base(), predict_method="scores").fit(
            X, y, sensitive_features=group
        )


def test_sample_weight_two_copies_equal_weight_two() -> None:
    X, y, group = _data(n=500, seed=4)
    weights = np.where(np.arange(500) % 3 == 0, 2.0, 1.0)
    doubled = np.flatnonzero(weights == 2.0)
    rows = np.concatenate([np.arange(500), doubled])
    base = _base().fit(X, y)
    common = {"estimator": base, "prefit": True, "constraints": "demographic_parity"}
    weighted = ThresholdOptimizer(**common).fit(
        X, y, sensitive_features=group, sample_weight=weights
    )
    copied = ThresholdOptimizer(**common).fit(X[rows], y[rows], sensitive_features=group[rows])
    assert weighted.training_error_ == pytest.approx(copied.training_error_, abs=1e-9)
    assert weighted.training_objective_ == pytest.approx(copied.training_objective_, abs=1e-9)


def test_lending_costs_belong_in_the_objective_not_in_the_weights() -> None:
    """FICO-style lending: a default costs 4, a repaid loan earns 1 (Hardt et al. 2016).

    Weighting rows by their cost makes demographic parity equalise cost-weighted
    selection rates, so the real approval rates differ between groups; the explicit
    utility objective keeps parity among applicants and earns more than the weights do.
    """
    X, y, group = _data(n=4000, seed=7)
    base = _base().fit(X, y)
    utilities = {
        "true_positive": 1.0,
        "false_positive": -4.0,
        "true_negative": 0.0,
        "false_negative": 0.0,
    }
    common = {"estimator": base, "prefit": True, "constraints": "demographic_parity"}
    by_objective = ThresholdOptimizer(objective=utilities, **common).fit(
        X, y, sensitive_features=group
    )
    cost_weights = np.where(y == 1, 1.0, 4.0)
    by_weights = ThresholdOptimizer(**common).fit(
        X, y, sensitive_features=group, sample_weight=cost_weights
    )

    def approval(model: ThresholdOptimizer) -> np.ndarray:
        return model.predict_proba(X, sensitive_features=group)[:, 1]

    right, wrong = approval(by_objective), approval(by_weights)
    right_rates, wrong_rates = _selection_rates(right, group), _selection_rates(wrong, group)
    assert right_rates["a"] == pytest.approx(right_rates["b"], abs=1e-6)
    assert abs(wrong_rates["a"] - wrong_rates["b"]) > 0.005  # parity broken among applicants
    # what the weights made it equalise instead: cost-weighted approval rates
    weighted = {
        g: float(np.sum((cost_weights * wrong)[group == g]) / np.sum(cost_weights[group == g]))
        for g in ("a", "b")
    }
    assert weighted["a"] == pytest.approx(weighted["b"], abs=1e-6)

    def profit(p: np.ndarray) -> float:
        return float(np.mean(p * np.where(y == 1, 1.0, -4.0)))

    assert profit(right) == pytest.approx(-by_objective.training_objective_, abs=1e-9)
    # among policies with equal approval rates, the objective's is the most profitable
    uniform = np.full_like(right, right.mean())
    assert profit(right) >= profit(uniform)
    with pytest.raises(InvalidParameterError, match="objective="):
        ThresholdOptimizer(objective={"gain": 1.0}, **common).fit(X, y, sensitive_features=group)

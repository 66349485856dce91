"""Membership inference on real data (Adult): overfit models leak, regularised ones do not."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from ethica._exceptions import InvalidParameterError, NotFittedError
from ethica._results import SCHEMA_VERSION
from ethica.attacks import MembershipResult, loss_threshold_attack, shadow_model_attack

Split = tuple[NDArray[np.float64], NDArray[np.int64]]
ROWS = 1500
FEATURES = [
    "age",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "sex",
    "race",
    "marital_status",
    "occupation",
    "relationship",
    "workclass",
]
# Under no leakage the AUC of n vs n scores has sd sqrt((2n + 1) / (12 n^2)) ~ 0.0105 here.
CHANCE_TOLERANCE = 0.035  # ~3.3 sd
LEAK_MARGIN = 0.05  # ~4.8 sd


@pytest.fixture(scope="module")
def splits(adult: pd.DataFrame) -> dict[str, Split]:
    """Disjoint members, non-members and attacker rows of Adult (seeded shuffle)."""
    rows = adult.dropna(subset=FEATURES)
    X = pd.get_dummies(rows[FEATURES], dtype=float).to_numpy()
    y = (rows["income"] == ">50K").to_numpy().astype(np.int64)
    order = np.random.default_rng(2018).permutation(len(y))
    parts = {
        "members": order[:ROWS],
        "nonmembers": order[ROWS : 2 * ROWS],
        "shadow": order[2 * ROWS : 4 * ROWS],
    }
    return {name: (X[idx], y[idx]) for name, idx in parts.items()}


def _attack_both(model: Any, splits: dict[str, Split]) -> tuple[MembershipResult, ...]:
    (Xm, ym), (Xn, yn), (Xs, ys) = splits["members"], splits["nonmembers"], splits["shadow"]
    model.fit(Xm, ym)
    steps: list[tuple[int, int]] = []
    loss = loss_threshold_attack(model, Xm, ym, Xn, yn)
    shadow = shadow_model_attack(
        model,
        Xm,
        ym,
        Xn,
        yn,
        X_shadow=Xs,
        y_shadow=ys,
        n_shadows=3,
        progress=lambda done, total: steps.append((done, total)),
    )
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    return loss, shadow


def test_overfit_tree_leaks_membership(splits: dict[str, Split]) -> None:
    for result in _attack_both(DecisionTreeClassifier(random_state=0), splits):
        assert result.auc > 0.5 + LEAK_MARGIN, result.attack
        assert result.advantage > 0.1
        assert result.n_members == result.n_nonmembers == ROWS


def test_regularised_logistic_regression_is_near_chance(splits: dict[str, Split]) -> None:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000))
    for result in _attack_both(model, splits):
        assert abs(result.auc - 0.5) < CHANCE_TOLERANCE, result.attack
        assert result.tpr_at_low_fpr < 0.05


def test_loss_attack_on_a_hand_made_model_matches_its_definition() -> None:
    class Fixed(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
        """P(yes | x) = x[0]."""

        def fit(self, X: object, y: object) -> Fixed:
            self.classes_ = np.array(["no", "yes"])
            return self

        def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
            return np.column_stack([1 - X[:, 0], X[:, 0]])

    # Members get P(y) of 0.9 and 0.8; non-members 0.7 and 0.85: 3 of 4 pairs ordered.
    members = np.array([[0.9], [0.2]]), np.array(["yes", "no"])
    nonmembers = np.array([[0.7], [0.15]]), np.array(["yes", "no"])
    steps: list[tuple[int, int]] = []
    result = loss_threshold_attack(
        Fixed().fit(None, None),
        *members,
        *nonmembers,
        progress=lambda d, t: steps.append((d, t)),
    )
    assert result.auc == pytest.approx(0.75)
    assert steps == [(1, 2), (2, 2)]
    assert result.advantage == pytest.approx(0.5)
    document = json.loads(json.dumps(result.to_dict()))
    assert document["schema_version"] == SCHEMA_VERSION and document["roc"][0] == {
        "fpr": 0.0,
        "tpr": 0.5,
    }
    assert list(result.roc_frame().columns) == ["fpr", "tpr"]
    assert result.to_frame()["auc"][0] == result.auc
    assert "loss_threshold" in result._repr_html_()


def test_unseen_label_counts_as_zero_probability() -> None:
    model = DecisionTreeClassifier(random_state=0).fit([[0], [1]], [0, 1])
    result = loss_threshold_attack(model, [[0]], [0], [[1]], [7])  # 7 never seen: max loss
    assert result.auc == 1.0


def test_bad_models_and_inputs() -> None:
    X, y = np.array([[0.0], [1.0]]), np.array([0, 1])
    with pytest.raises(NotFittedError, match="not fitted; fit it on the member rows"):
        loss_threshold_attack(DecisionTreeClassifier(), X, y, X, y)
    with pytest.raises(
        InvalidParameterError,
        match="must be a scikit-learn classifier with predict_proba, got LinearSVC",
    ):
        loss_threshold_attack(LinearSVC().fit(X, y), X, y, X, y)
    tree = DecisionTreeClassifier().fit(X, y)
    with pytest.raises(InvalidParameterError, match="X has 2 rows but y has 1"):
        loss_threshold_attack(tree, X, y[:1], X, y)
    with pytest.raises(InvalidParameterError, match="no non-members rows"):
        loss_threshold_attack(tree, X, y, X[:0], y[:0])
    with pytest.raises(InvalidParameterError, match="n_shadows must be an integer >= 1"):
        shadow_model_attack(tree, X, y, X, y, X_shadow=X, y_shadow=y, n_shadows=0)
    with pytest.raises(InvalidParameterError, match="at least 4 labelled attacker rows"):
        shadow_model_attack(tree, X, y, X, y, X_shadow=X, y_shadow=y)

"""Parameters that did nothing are gone: ``audit(seed=)``, ``GridSearch(random_state=)``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from ethica.fairness import DemographicParity, GridSearch, audit


def _rows(n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    group = rng.choice(["a", "b"], n)
    X = rng.normal(size=(n, 2)) + (group == "a")[:, None]
    y = (X[:, 0] + rng.normal(0, 1, n) > 0.5).astype(int)
    return X, y, group


def test_audit_takes_no_seed_and_records_none() -> None:
    X, y, group = _rows()
    frame = pd.DataFrame({"y": y, "yhat": (X[:, 1] > 0).astype(int), "g": group})
    with pytest.raises(TypeError, match="seed"):
        audit(frame, label="y", prediction="yhat", protected="g", seed=1)  # type: ignore[call-arg]
    result = audit(frame, label="y", prediction="yhat", protected="g")
    assert "seed" not in result.provenance


def test_grid_search_has_no_random_state_and_predicts_its_one_classifier() -> None:
    X, y, group = _rows()
    assert "random_state" not in GridSearch().get_params()
    model = GridSearch(
        LogisticRegression(), constraint=DemographicParity(difference_bound=0.2), grid_size=5
    ).fit(X, y, sensitive_features=group)
    assert len(model.predictors_) == 1
    np.testing.assert_array_equal(model.predict(X), model.predictors_[0].predict(X))

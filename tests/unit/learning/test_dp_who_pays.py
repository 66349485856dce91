"""Who pays for privacy on Adult: per-group accuracy and error rates of DP and ceiling models."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from ethica.privacy.learning import DPLogisticRegression, privacy_cost_by_group
from tests.unit.learning.conftest import encode, income

CATEGORICAL = ("sex", "race", "marital_status", "occupation", "relationship", "workclass")
NORM = math.sqrt(5 + len(CATEGORICAL))


def test_privacy_cost_by_group_on_adult(
    adult_train: pd.DataFrame, adult_test: pd.DataFrame
) -> None:
    train = adult_train.sample(6000, random_state=0)
    test = adult_test.sample(6000, random_state=0)
    X = encode(train, CATEGORICAL)
    Xt = encode(test, CATEGORICAL, X.columns).to_numpy()
    y, yt = income(train), income(test)
    models = {
        "non-private": LogisticRegression(C=1.0, max_iter=1000).fit(X.to_numpy(), y),
        "ε=0.5": DPLogisticRegression(epsilon=0.5, data_norm=NORM).fit(X.to_numpy(), y),
        "ε=4": DPLogisticRegression(epsilon=4.0, data_norm=NORM).fit(X.to_numpy(), y),
    }
    result = privacy_cost_by_group(models, Xt, yt, test["sex"])
    frame = result.to_frame()
    assert len(frame) == 3 * 3  # overall + two sexes, per model
    assert result.attribute == "sex"
    assert set(frame["group"]) == {"overall", "Female", "Male"}
    assert result.get("ε=0.5").epsilon == 0.5 and result.get("non-private").epsilon is None
    json.dumps(result.to_dict())
    for row in result.rows:
        for estimate in (row.accuracy, row.fpr, row.fnr):
            assert estimate.ci_low <= estimate.value <= estimate.ci_high
    by_group = frame[frame["group"] != "overall"].groupby("model")["n"].sum()
    assert (by_group == len(yt)).all()

    # The ceiling is at least as accurate overall: a paired (McNemar) comparison on the same
    # rows; only a significant deficit of the non-private model (z < -3.29) would fail.
    ceiling = models["non-private"].predict(Xt) == yt
    for name in ("ε=0.5", "ε=4"):
        private = models[name].predict(Xt) == yt
        wins, losses = int(np.sum(ceiling & ~private)), int(np.sum(~ceiling & private))
        z = (wins - losses) / math.sqrt(max(wins + losses, 1))
        assert z > -3.29, (name, wins, losses)
    overall = result.get("non-private").accuracy
    assert overall.value is not None and overall.value > 0.8

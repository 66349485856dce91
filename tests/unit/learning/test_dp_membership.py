"""Membership inference against DP models: the advantage falls to chance as epsilon falls.

A deliberately overfit setting (150 members, ~100 one-hot features, almost no
regularisation) where the model without noise leaks membership; the DP model at
epsilon = 0.1 trained on the same rows must not. The AUC is averaged over 6 disjoint
member/non-member splits of Adult: under no leakage the AUC of n vs n scores has standard
deviation sqrt((2n + 1) / (12 n^2)) (Mann-Whitney), the mean of 6 independent ones that over
sqrt(6); 3.29 of them is a 99.9% interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ethica.attacks import loss_threshold_attack
from ethica.privacy.learning import DPLogisticRegression
from tests.unit.learning.conftest import encode, income

CATEGORICAL = (
    "sex",
    "race",
    "marital_status",
    "occupation",
    "relationship",
    "workclass",
    "education",
    "native_country",
)
NORM = math.sqrt(5 + len(CATEGORICAL))
MEMBERS = 150
SPLITS = 6
Z = 3.29


def test_membership_advantage_falls_to_chance(adult_train: pd.DataFrame) -> None:
    rows = adult_train.sample(2 * MEMBERS * SPLITS, random_state=11)
    X = encode(rows, CATEGORICAL).to_numpy()
    y = income(rows)
    sd = math.sqrt((2 * MEMBERS + 1) / (12 * MEMBERS**2)) / math.sqrt(SPLITS)
    aucs: dict[float, list[float]] = {1e6: [], 1.0: [], 0.1: []}
    for split in range(SPLITS):
        start = 2 * MEMBERS * split
        Xm, ym = X[start : start + MEMBERS], y[start : start + MEMBERS]
        Xn, yn = X[start + MEMBERS : start + 2 * MEMBERS], y[start + MEMBERS : start + 2 * MEMBERS]
        for epsilon, found in aucs.items():
            model = DPLogisticRegression(epsilon=epsilon, C=1e4, data_norm=NORM).fit(Xm, ym)
            found.append(loss_threshold_attack(model, Xm, ym, Xn, yn).auc)
    leaky, private = float(np.mean(aucs[1e6])), float(np.mean(aucs[0.1]))
    assert leaky > 0.5 + Z * sd, leaky  # epsilon = 1e6: effectively no noise, it leaks
    assert abs(private - 0.5) < Z * sd, private  # epsilon = 0.1: the interval holds 0.5

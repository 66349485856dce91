"""Benchmark: the rich-subgroup auditor and the fictitious-play learner on Adult.

The reference GerryFair code (Kearns et al.) is not on the package index this machine reaches,
so the time ratio against it is not measured. Measured here, in the same run:

- auditor time per call on the 32,561 Adult training rows (protected: sex, race, age);
- gamma-unfairness found by ethica's oracle (regression direction + exact threshold scan)
  against the published oracle rule (regression only, members where the fit is negative),
  both computed here on the same predictions;
- the learner's time per round and its final gamma-unfairness.

Run: ``.venv/bin/python benchmarks/bench_gerryfair.py [--quick]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from ethica.data._datasets import load_adult
from ethica.data._training import fit_encoding
from ethica.fairness._gerryfair import GerryFairClassifier
from ethica.fairness._rich_subgroups import LinearOracle, audit_rich_subgroups, encode_attributes

PROTECTED = ["sex", "race", "age"]


def published_rule_unfairness(predictions: np.ndarray, labels: np.ndarray,
                              protected: pd.DataFrame) -> float:
    """Best of the two directions with the regression-only rule of the paper (FP rate)."""
    event = labels == 0
    values = predictions[event]
    base = values.mean()
    matrix, _ = encode_attributes(protected)
    _, fitted = LinearOracle(matrix[event]).fit_costs(-(values - base) / labels.shape[0])
    best = 0.0
    for members in (fitted < 0, fitted > 0):
        if members.any():
            best = max(best, members.sum() / labels.shape[0]
                       * abs(values[members].mean() - base))
    return float(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8,000 rows, <= 10 rounds")
    args = parser.parse_args()
    train = load_adult("train")
    if args.quick:
        train = train.sample(8000, random_state=0)
    data = fit_encoding(train, label="income", protected=PROTECTED,
                        positive=">50K").transform(train)
    protected = pd.DataFrame(data.sensitive, columns=PROTECTED).astype({"age": float})
    scorer = LogisticRegression(solver="liblinear", random_state=0).fit(data.X, data.y)
    predictions = scorer.predict(data.X).astype(np.float64)

    repeats = 5
    start = time.perf_counter()
    for _ in range(repeats):
        found = audit_rich_subgroups(predictions, data.y, protected, metric="fpr")
    per_call = (time.perf_counter() - start) / repeats
    published = published_rule_unfairness(predictions, data.y, protected)
    print(f"Adult, {data.y.shape[0]} rows, protected {PROTECTED}; FP-rate subgroup audit of "
          "a logistic regression")
    print(f"auditor: {per_call * 1000:.1f} ms per call; gamma-unfairness found "
          f"{found.gamma_unfairness:.5f} (published oracle rule {published:.5f}, ratio "
          f"{found.gamma_unfairness / published:.3f}); subgroup: {found.description}")

    rounds = 10 if args.quick else 60
    start = time.perf_counter()
    model = GerryFairClassifier(gamma=0.01, max_iter=rounds).fit(
        data.X, data.y, sensitive_features=protected)
    per_round = (time.perf_counter() - start) / model.n_iter_
    print(f"learner: {per_round * 1000:.1f} ms per round over {model.n_iter_} rounds; "
          f"gamma-unfairness {model.unfairness_[0]:.5f} -> {model.unfairness_[-1]:.5f}, "
          f"training error {model.errors_[0]:.4f} -> {model.errors_[-1]:.4f}")
    available = importlib.util.find_spec("gerryfair") is not None
    print(f"reference GerryFair: {'importable' if available else 'not installed'} here; "
          "time ratio against it not measured by this script")


if __name__ == "__main__":
    main()

"""Benchmark: a demographic-parity frontier on Adult, ethica vs a fairlearn sweep.

Both sweep the same bounds with the same base learner (liblinear logistic regression) on the
Adult train file and are evaluated (expected error and DP difference of the randomised
classifier) on the Adult test file. Prints each side's hypervolume (against the same reference
points) and the time ratio. Targets: ethica's hypervolume >= fairlearn's, in <= 1/5 its time.

Run: ``.venv/bin/python benchmarks/bench_frontier.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from fairlearn.reductions import DemographicParity as FairlearnDemographicParity
from fairlearn.reductions import ExponentiatedGradient as FairlearnExponentiatedGradient
from sklearn.linear_model import LogisticRegression

from ethica.data._datasets import load_adult
from ethica.data._training import TrainingMatrix, fit_encoding
from ethica.fairness._constraints import DemographicParity
from ethica.fairness._frontier import frontier, hypervolume


def base_learner() -> LogisticRegression:
    """The base learner both sides use."""
    return LogisticRegression(solver="liblinear", random_state=0)


def adult(rows: int | None) -> tuple[TrainingMatrix, TrainingMatrix]:
    train, test = load_adult("train"), load_adult("test")
    if rows is not None:
        train = train.sample(rows, random_state=0)
    encoding = fit_encoding(train, label="income", protected="sex", positive=">50K")
    return encoding.transform(train), encoding.transform(test)


def fairlearn_sweep(
    train: TrainingMatrix, test: TrainingMatrix, bounds: list[float]
) -> tuple[list[float], list[float]]:
    measure = DemographicParity(difference_bound=0.0).bind(test.y, test.sensitive)
    errors, disparities = [], []
    for bound in bounds:
        model = FairlearnExponentiatedGradient(
            base_learner(), FairlearnDemographicParity(difference_bound=bound)
        )
        with warnings.catch_warnings():  # fairlearn's own pandas deprecation notices
            warnings.simplefilter("ignore")
            model.fit(train.X, train.y, sensitive_features=train.sensitive)
            positive = model._pmf_predict(test.X)[:, 1]
        errors.append(float(np.mean(np.abs(positive - test.y))))
        disparities.append(measure.disparity(positive))
    return errors, disparities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8,000 training rows, 4 points")
    args = parser.parse_args()
    train, test = adult(8000 if args.quick else None)
    points = 4 if args.quick else 10

    start = time.perf_counter()
    ours = frontier(
        train.X,
        train.y,
        train.sensitive,
        test.X,
        test.y,
        test.sensitive,
        constraint=DemographicParity(),
        points=points,
        estimator=base_learner(),
    )
    our_time = time.perf_counter() - start
    bounds = [p.bound for p in ours.points]

    start = time.perf_counter()
    peer_errors, peer_disparities = fairlearn_sweep(train, test, bounds)
    peer_time = time.perf_counter() - start

    our_errors = [p.error for p in ours.points]
    our_disparities = [p.disparity for p in ours.points]
    tight = (max(our_errors + peer_errors), max(our_disparities + peer_disparities))
    print(
        f"{points}-point DP frontier on Adult (train {train.y.shape[0]} rows, test "
        f"{test.y.shape[0]} rows); bounds {', '.join(f'{b:.4f}' for b in bounds)}"
    )
    print(
        f"{'bound':>8} {'ethica err':>11} {'ethica DP':>10} {'fairlearn err':>14} "
        f"{'fairlearn DP':>13}"
    )
    for row in zip(bounds, our_errors, our_disparities, peer_errors, peer_disparities, strict=True):
        print(f"{row[0]:8.4f} {row[1]:11.4f} {row[2]:10.4f} {row[3]:14.4f} {row[4]:13.4f}")
    for name, reference in (
        ("(1, 1)", (1.0, 1.0)),
        (f"nadir {tight[0]:.4f}, {tight[1]:.4f}", tight),
    ):
        ours_hv = hypervolume(our_errors, our_disparities, reference)
        peer_hv = hypervolume(peer_errors, peer_disparities, reference)
        print(
            f"hypervolume, reference {name}: ethica {ours_hv:.6f}, fairlearn {peer_hv:.6f}, "
            f"ratio {ours_hv / peer_hv:.4f}"
            if peer_hv > 0
            else f"hypervolume, reference {name}: ethica {ours_hv:.6f}, fairlearn 0"
        )
    print(
        f"time: ethica {our_time:.2f} s ({sum(m.n_oracle_calls_ for m in ours.models)} base "
        f"fits), fairlearn {peer_time:.2f} s; ethica/fairlearn time ratio "
        f"{our_time / peer_time:.3f} (target <= 0.2)"
    )


if __name__ == "__main__":
    main()

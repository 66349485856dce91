"""Benchmark: ethica's ``MetricFrame`` and ``audit`` vs fairlearn's ``MetricFrame``.

1M rows, one protected column with 100 groups, on the same pandas frame in one process:

1. known metrics (selection rate, TPR, FPR, FNR, precision): ethica's MetricFrame (one
   confusion-count table) vs fairlearn's (a call per group); target >= 100x;
2. arbitrary callables (lambdas and ``mean_squared_error``, called per group by both);
   target: no slower (ratio >= 1);
3. the whole ``ethica.fairness.audit`` (engine GROUP BY, intervals, verdicts) vs fairlearn.

The script prints best-of-N wall times and the ratios measured in this run.

Run: ``.venv/bin/python benchmarks/bench_audit_metricframe.py [--quick]``.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import mean_squared_error, precision_score

from ethica.data import count_outcomes
from ethica.fairness import MetricFrame as EthicaMetricFrame
from ethica.fairness import audit, audit_counts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import best_time, report


def make_frame(rows: int, groups: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic decisions whose base and selection rates differ by group."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, groups, rows)
    base = 0.2 + 0.4 * group / groups
    label = (rng.random(rows) < base).astype(np.int8)
    prediction = rng.random(rows) < np.where(label == 1, 0.7, 0.15 + 0.1 * group / groups)
    names = np.array([f"g{i:03d}" for i in range(groups)])
    return pd.DataFrame(
        {"group": names[group], "label": label, "prediction": prediction.astype(np.int8)}
    )


KNOWN = {
    "selection_rate": selection_rate,
    "tpr": true_positive_rate,
    "fpr": false_positive_rate,
    "fnr": false_negative_rate,
    "ppv": functools.partial(precision_score, zero_division=np.nan),
}
ARBITRARY = {
    "agreement": lambda y, p: float(np.mean(y == p)),
    "mse": mean_squared_error,
    "positives": lambda y, p: int(np.sum(p)),
}


def run_metricframe(frame: pd.DataFrame, metrics: Any = None, cls: Any = MetricFrame) -> Any:
    """The metrics per group with ``cls`` (fairlearn's MetricFrame unless told)."""
    return cls(
        metrics=KNOWN if metrics is None else metrics,
        y_true=frame["label"],
        y_pred=frame["prediction"],
        sensitive_features=frame["group"],
    )


def run_audit(frame: pd.DataFrame) -> object:
    """The whole ethica audit: engine GROUP BY, rates, intervals, disparities, verdicts."""
    return audit(frame, label="label", prediction="prediction", protected=["group"])


def main() -> None:
    """Time both on the same frame and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k rows, fewer repeats")
    args = parser.parse_args()
    rows = 100_000 if args.quick else 1_000_000
    repeats = 2 if args.quick else 5
    frame = make_frame(rows, groups=100)

    ours = run_metricframe(frame, cls=EthicaMetricFrame)
    reference = run_metricframe(frame)
    pd.testing.assert_frame_equal(ours.by_group, reference.by_group, check_exact=True)
    mine = run_metricframe(frame, ARBITRARY, EthicaMetricFrame).by_group
    pd.testing.assert_frame_equal(mine, run_metricframe(frame, ARBITRARY).by_group)
    result = run_audit(frame)
    audited = {g.group[0]: g.metrics["tpr"].value for g in result.groups}  # type: ignore[attr-defined]
    tprs = reference.by_group["tpr"]
    assert all(abs(audited[k] - v) < 1e-12 for k, v in tprs.items()), "rates disagree"

    slow = max(1, repeats // 2)
    t_known_fl = best_time(lambda: run_metricframe(frame), repeat=slow)
    t_known = best_time(lambda: run_metricframe(frame, cls=EthicaMetricFrame), repeat=repeats)
    t_any_fl = best_time(lambda: run_metricframe(frame, ARBITRARY), repeat=slow)
    t_any = best_time(lambda: run_metricframe(frame, ARBITRARY, EthicaMetricFrame), repeat=slow)
    report(
        f"{rows:,} rows, 100 groups, known metrics selection_rate/tpr/fpr/fnr/ppv "
        "(target: >= 100x)",
        [("fairlearn MetricFrame", t_known_fl), ("ethica MetricFrame", t_known)],
    )
    print(f"  speed-up of ethica's MetricFrame, known metrics: {t_known_fl / t_known:.1f}x")
    report(
        f"{rows:,} rows, 100 groups, arbitrary callables (target: no slower)",
        [("fairlearn MetricFrame", t_any_fl), ("ethica MetricFrame", t_any)],
    )
    print(f"  speed-up of ethica's MetricFrame, arbitrary callables: {t_any_fl / t_any:.1f}x")

    run_audit(frame)  # warm up imports and the engine connection
    t_audit = best_time(lambda: run_audit(frame), repeat=repeats)
    table = count_outcomes(frame, label="label", prediction="prediction", protected=["group"])
    t_science = best_time(lambda: audit_counts(table), repeat=repeats)
    report(
        f"{rows:,} rows, 100 groups, the whole audit (target: audit >= 100x faster)",
        [
            ("fairlearn MetricFrame", t_known_fl),
            ("ethica.fairness.audit (engine GROUP BY + science)", t_audit),
            ("  of which audit_counts (science on the counts)", t_science),
        ],
    )
    print(f"  speed-up of ethica.fairness.audit over MetricFrame: {t_known_fl / t_audit:.1f}x")


if __name__ == "__main__":
    main()

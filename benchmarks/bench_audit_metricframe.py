"""Benchmark: ``ethica.fairness.audit`` vs fairlearn's ``MetricFrame`` on the same data.

1M rows, one protected column with 100 groups, the five rates selection rate, TPR,
FPR, FNR and PPV. Both run on the same pandas frame in the same process; the script
prints the best-of-N wall time of each and their ratio (target: >= 100x).

Run: ``.venv/bin/python benchmarks/bench_audit_metricframe.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import precision_score

from ethica.data import count_outcomes
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


def run_metricframe(frame: pd.DataFrame) -> MetricFrame:
    """The five rates per group with fairlearn."""
    return MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "fnr": false_negative_rate,
            "ppv": lambda y, p: precision_score(y, p, zero_division=np.nan),
        },
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

    result = run_audit(frame)
    check = run_metricframe(frame).by_group
    ours = {g.group[0]: g.metrics["tpr"].value for g in result.groups}  # type: ignore[attr-defined]
    assert all(abs(ours[k] - v) < 1e-12 for k, v in check["tpr"].items()), "rates disagree"

    run_audit(frame)  # warm up imports and the engine connection
    t_audit = best_time(lambda: run_audit(frame), repeat=repeats)
    table = count_outcomes(frame, label="label", prediction="prediction", protected=["group"])
    t_science = best_time(lambda: audit_counts(table), repeat=repeats)
    t_fairlearn = best_time(lambda: run_metricframe(frame), repeat=max(1, repeats // 2))
    report(
        f"{rows:,} rows, 100 groups, selection_rate/tpr/fpr/fnr/ppv (target: audit >= 100x faster)",
        [
            ("fairlearn MetricFrame", t_fairlearn),
            ("ethica.fairness.audit (engine GROUP BY + science)", t_audit),
            ("  of which audit_counts (science on the counts)", t_science),
        ],
    )
    print(f"  speed-up of ethica.fairness.audit over MetricFrame: {t_fairlearn / t_audit:.1f}x")


if __name__ == "__main__":
    main()

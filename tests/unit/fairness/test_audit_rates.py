"""Per-group rates equal fairlearn's MetricFrame, and their intervals equal statsmodels'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from scipy.stats import chi2
from sklearn.metrics import accuracy_score, precision_score
from statsmodels.stats.proportion import proportion_confint

from ethica.fairness import AuditResult, GroupMetrics, audit_counts
from tests.unit.fairness._audit_support import adult_scored, count_table

FAIRLEARN_METRICS = {
    "selection_rate": selection_rate,
    "tpr": true_positive_rate,
    "fpr": false_positive_rate,
    "tnr": true_negative_rate,
    "fnr": false_negative_rate,
    "ppv": lambda y, p: precision_score(y, p, zero_division=np.nan),
    "accuracy": accuracy_score,
}


@pytest.fixture(scope="module")
def adult_audit() -> AuditResult:
    return audit_counts(count_table(adult_scored(), ["sex", "race"], score="score"))


def _groups(
    result: AuditResult, attributes: tuple[str, ...]
) -> dict[tuple[str, ...], GroupMetrics]:
    return {g.group: g for g in result.groups if g.attributes == attributes}


@pytest.mark.parametrize("attributes", [("sex",), ("race",), ("sex", "race")])
def test_rates_equal_fairlearn_metricframe(
    adult_audit: AuditResult, attributes: tuple[str, ...]
) -> None:
    frame = adult_scored()
    reference = MetricFrame(
        metrics=FAIRLEARN_METRICS,
        y_true=frame["outcome"],
        y_pred=frame["decision"],
        sensitive_features=frame[list(attributes)],
    )
    ours = _groups(adult_audit, attributes)
    by_group = reference.by_group
    assert len(ours) == len(by_group)
    for key, row in by_group.iterrows():
        group = key if isinstance(key, tuple) else (key,)
        metrics = ours[tuple(str(v) for v in group)].metrics
        for name in FAIRLEARN_METRICS:
            assert metrics[name].value == pytest.approx(row[name], abs=1e-12, rel=0), name
    for name in FAIRLEARN_METRICS:
        assert adult_audit.overall.metrics[name].value == pytest.approx(
            reference.overall[name], abs=1e-12, rel=0
        )


def test_complementary_rates_and_counts_are_consistent(adult_audit: AuditResult) -> None:
    frame = adult_scored()
    for g in _groups(adult_audit, ("race",)).values():
        rows = frame[frame["race"] == g.group[0]]
        m = g.metrics
        assert g.n == len(rows)
        assert m["base_rate"].numerator == int(rows["outcome"].sum())
        assert m["npv"].value == pytest.approx(
            ((rows["decision"] == 0) & (rows["outcome"] == 0)).sum() / (rows["decision"] == 0).sum()
        )
        for a, b in (("tpr", "fnr"), ("fpr", "tnr"), ("ppv", "fdr"), ("npv", "for")):
            first, second = m[a].value, m[b].value
            assert first is not None and second is not None
            assert first + second == pytest.approx(1.0, abs=1e-12)
    shares = sum(g.share for g in _groups(adult_audit, ("sex", "race")).values())
    assert shares == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_wilson_intervals_equal_statsmodels_away_from_the_boundary(confidence: float) -> None:
    """Plain Wilson = statsmodels, except next to 0 and n, where the Poisson limit applies."""
    result = audit_counts(count_table(adult_scored(), ["sex", "race"]), confidence=confidence)
    checked = modified = 0
    alpha = 1 - confidence
    for g in (result.overall, *result.groups):
        for est in g.metrics.values():
            x, n = est.numerator, est.denominator
            if n == 0:
                continue
            low, high = proportion_confint(x, n, alpha=alpha, method="wilson")
            edge = 3  # x* = 3 at every n (see poisson_boundary_count)
            if 1 <= x <= edge:  # Brown, Cai & DasGupta (2001), sec. 4.1.1
                low = chi2.ppf(alpha, 2 * x) / 2 / n
                modified += 1
            if 1 <= n - x <= edge:
                high = 1 - chi2.ppf(alpha, 2 * (n - x)) / 2 / n
                modified += 1
            assert est.ci_low == pytest.approx(low, abs=1e-12, rel=0)
            assert est.ci_high == pytest.approx(high, abs=1e-12, rel=0)
            checked += 1
    assert checked > 150
    assert modified > 0  # Adult's small intersections reach the boundary


def test_group_without_positives_has_undefined_rates_with_reason() -> None:
    frame = adult_scored()
    # Keep only the negatives of one real group: it has no actual positives left.
    frame = frame[(frame["race"] != "Amer-Indian-Eskimo") | (frame["outcome"] == 0)]
    result = audit_counts(count_table(frame, ["race"]))
    group = _groups(result, ("race",))[("Amer-Indian-Eskimo",)]
    for name in ("tpr", "fnr"):
        est = group.metrics[name]
        assert est.value is None and est.ci_low is None and est.ci_high is None
        assert est.denominator == 0
        assert est.undefined_reason == "no actual positives in this group"
    assert group.metrics["fpr"].value is not None
    assert any("undefined" in note and "tpr of Amer-Indian-Eskimo" in note for note in result.notes)
    tpr_rows = [
        d for d in result.disparities if d.metric == "tpr" and d.group == ("Amer-Indian-Eskimo",)
    ]
    assert tpr_rows and all(d.difference.value is None and d.p_value is None for d in tpr_rows)
    frame_long = result.to_frame()
    assert not frame_long["value"].isna().all()
    assert isinstance(frame_long, pd.DataFrame)


def test_calibration_bins_match_direct_computation() -> None:
    frame = adult_scored()
    result = audit_counts(count_table(frame, ["sex"], score="score", bins=10))
    female = _groups(result, ("sex",))[("Female",)]
    assert len(female.calibration) == 10
    rows = frame[frame["sex"] == "Female"]
    bins = np.minimum((rows["score"].to_numpy() * 10).astype(int), 9)
    for b, cal in enumerate(female.calibration):
        in_bin = rows[bins == b]
        assert cal.n == len(in_bin)
        assert (cal.low, cal.high) == pytest.approx((b / 10, (b + 1) / 10))
        if len(in_bin):
            assert cal.mean_score == pytest.approx(in_bin["score"].mean(), rel=1e-12)
            assert cal.observed.value == pytest.approx(in_bin["outcome"].mean(), rel=1e-12)
        else:
            assert cal.mean_score is None and cal.observed.undefined_reason is not None

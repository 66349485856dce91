"""Interval and test formulas checked against statsmodels, on real Adult counts and at random."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from ethica.fairness import audit_counts
from ethica.fairness._intervals import (
    holm_adjust,
    katz_ratio,
    newcombe_difference,
    two_proportion_p_value,
    wilson_interval,
)
from tests.unit.fairness.test_audit_support import adult_scored, count_table

counts = st.integers(min_value=1, max_value=5000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)


@settings(max_examples=200, deadline=None)
@given(counts, counts, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_newcombe_equals_statsmodels(a: tuple[int, int], b: tuple[int, int], conf: float) -> None:
    diff, low, high = newcombe_difference(
        np.array([a[0]]), np.array([a[1]]), np.array([b[0]]), np.array([b[1]]), conf
    )
    s_low, s_high = confint_proportions_2indep(
        a[0], a[1], b[0], b[1], method="newcomb", compare="diff", alpha=1 - conf
    )
    assert diff[0] == pytest.approx(a[0] / a[1] - b[0] / b[1], abs=1e-15)
    assert low[0] == pytest.approx(s_low, abs=1e-12)
    assert high[0] == pytest.approx(s_high, abs=1e-12)
    assert low[0] <= diff[0] <= high[0]


@settings(max_examples=200, deadline=None)
@given(counts, counts)
def test_katz_ratio_equals_statsmodels_log_method(a: tuple[int, int], b: tuple[int, int]) -> None:
    ratio, low, high = katz_ratio(
        np.array([a[0]]), np.array([a[1]]), np.array([b[0]]), np.array([b[1]]), 0.95
    )
    if b[0] == 0:
        assert np.isnan(ratio[0]) and np.isnan(low[0]) and np.isnan(high[0])
        return
    assert ratio[0] == pytest.approx((a[0] / a[1]) / (b[0] / b[1]), rel=1e-12)
    # Zero counts use the +0.5 adjustment ("log-adjusted"), otherwise the plain log method.
    method = "log-adjusted" if a[0] == 0 else "log"
    s_low, s_high = confint_proportions_2indep(
        a[0], a[1], b[0], b[1], method=method, compare="ratio", alpha=0.05
    )
    # With no events the point ratio is 0, so the lower limit is 0 (statsmodels keeps the
    # adjusted limit above the point estimate); the upper limit is statsmodels'.
    assert low[0] == (0.0 if a[0] == 0 else pytest.approx(s_low, rel=1e-10))
    assert high[0] == pytest.approx(s_high, rel=1e-10)


@settings(max_examples=200, deadline=None)
@given(counts, counts)
def test_p_value_equals_pooled_ztest(a: tuple[int, int], b: tuple[int, int]) -> None:
    p = two_proportion_p_value(
        np.array([a[0]]), np.array([a[1]]), np.array([b[0]]), np.array([b[1]])
    )[0]
    pooled = (a[0] + b[0]) / (a[1] + b[1])
    if pooled in (0.0, 1.0):
        assert p == 1.0
        return
    _, expected = proportions_ztest([a[0], b[0]], [a[1], b[1]])
    assert p == pytest.approx(expected, rel=1e-9, abs=1e-300)


@settings(max_examples=25, deadline=None)  # multipletests is slow (~0.1 s a call)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=60))
def test_holm_equals_statsmodels(seed: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    p_values = rng.random(size) ** 3
    p_values[: size // 3] = np.round(p_values[: size // 3], 2)  # ties and exact zeros
    ours = holm_adjust(p_values)
    _, expected, _, _ = multipletests(p_values, method="holm")
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def test_holm_leaves_untestable_comparisons_out_of_the_family() -> None:
    ours = holm_adjust(np.array([0.01, np.nan, 0.04]))
    _, expected, _, _ = multipletests([0.01, 0.04], method="holm")
    assert np.isnan(ours[1])
    np.testing.assert_allclose(ours[[0, 2]], expected, atol=1e-15)


def test_wilson_of_empty_group_is_nan_and_never_warns() -> None:
    low, high = wilson_interval(np.array([0, 3]), np.array([0, 10]), 0.95)
    assert np.isnan(low[0]) and np.isnan(high[0])
    expected = proportion_confint(3, 10, method="wilson")
    assert (low[1], high[1]) == pytest.approx(expected, abs=1e-12)


def test_audit_disparities_on_adult_match_independent_computation() -> None:
    frame = adult_scored()
    result = audit_counts(count_table(frame, ["sex", "race"]))
    female = frame[frame["sex"] == "Female"]
    male = frame[frame["sex"] == "Male"]
    d = next(
        x for x in result.disparities if x.metric == "selection_rate" and x.group == ("Female",)
    )
    assert d.reference == ("Male",)
    x1, n1 = int(female["decision"].sum()), len(female)
    x2, n2 = int(male["decision"].sum()), len(male)
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert (d.difference.ci_low, d.difference.ci_high) == pytest.approx((low, high), abs=1e-12)
    r_low, r_high = confint_proportions_2indep(x1, n1, x2, n2, method="log", compare="ratio")
    assert d.ratio.value == pytest.approx((x1 / n1) / (x2 / n2), rel=1e-12)
    assert (d.ratio.ci_low, d.ratio.ci_high) == pytest.approx((r_low, r_high), rel=1e-10)
    assert d.p_value == pytest.approx(proportions_ztest([x1, x2], [n1, n2])[1], rel=1e-9)
    assert d.four_fifths_violation is (x1 / n1 < 0.8 * x2 / n2)


def test_holm_family_spans_the_whole_audit_and_counts_complements_once() -> None:
    result = audit_counts(count_table(adult_scored(), ["sex", "race"]))
    by_hypothesis: dict[tuple[object, ...], float] = {}
    pairs = {"fnr": "tpr", "tnr": "fpr", "fdr": "ppv", "for": "npv"}
    for d in result.disparities:
        if d.p_value is None:
            continue
        key = (d.attributes, d.group, pairs.get(d.metric, d.metric))
        by_hypothesis.setdefault(key, d.p_value)
        assert by_hypothesis[key] == pytest.approx(d.p_value, rel=1e-9)
    keys = list(by_hypothesis)
    _, expected, _, _ = multipletests([by_hypothesis[k] for k in keys], method="holm")
    adjusted = dict(zip(keys, expected, strict=True))
    for d in result.disparities:
        if d.p_value is None:
            continue
        key = (d.attributes, d.group, pairs.get(d.metric, d.metric))
        assert d.p_holm == pytest.approx(adjusted[key], rel=1e-9, abs=1e-300)
        assert d.significant is bool(adjusted[key] < 0.05)


def test_katz_interval_holds_a_zero_ratio() -> None:
    """A group with no events has ratio 0; its interval must start at 0, not above it."""
    import numpy as np

    from ethica.fairness._intervals import katz_ratio

    ratio, low, high = katz_ratio(
        np.array([0]), np.array([12]), np.array([30]), np.array([90]), 0.95
    )
    assert ratio[0] == 0.0 and low[0] == 0.0 and high[0] > 0.0

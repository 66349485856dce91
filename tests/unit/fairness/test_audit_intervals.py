"""Interval and test formulas checked against statsmodels, on real Adult counts and at random."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2, fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from ethica.fairness import audit_counts
from ethica.fairness._exact_tests import comparison_p_values, fisher_exact_p_value
from ethica.fairness._intervals import (
    _score_ratio_statistic,
    critical_value,
    holm_adjust,
    katz_ratio,
    modified_wilson_interval,
    newcombe_difference,
    score_ratio,
    two_proportion_p_value,
    wilson_interval,
)
from tests.unit.fairness._audit_support import adult_scored, count_table

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
    r_low, r_high = confint_proportions_2indep(x1, n1, x2, n2, method="score", compare="ratio")
    assert d.ratio.value == pytest.approx((x1 / n1) / (x2 / n2), rel=1e-12)
    assert (d.ratio.ci_low, d.ratio.ci_high) == pytest.approx((r_low, r_high), rel=1e-8)
    # Significant by the z-test, so the reported p-value is Fisher's exact one.
    assert proportions_ztest([x1, x2], [n1, n2])[1] < 0.05
    expected = fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue
    assert d.p_value == pytest.approx(expected, rel=1e-9, abs=1e-300)
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


@settings(max_examples=300, deadline=None)
@given(counts, counts, st.sampled_from([0.9, 0.95, 0.99]))
def test_score_ratio_inverts_the_miettinen_nurminen_test(
    a: tuple[int, int], b: tuple[int, int], conf: float
) -> None:
    """Each finite positive limit solves |T(theta)| = z; statsmodels agrees where it is real."""
    arrays = [np.array([v]) for v in (*a, *b)]
    ratio, low, high = score_ratio(arrays[0], arrays[1], arrays[2], arrays[3], conf)
    z = critical_value(conf)
    x1, n1, x2, n2 = (v.astype(np.float64) for v in arrays)
    for limit, target in ((low[0], z), (high[0], -z)):
        if 0 < limit < math.inf:
            stat = _score_ratio_statistic(np.array([limit]), x1, n1, x2, n2, True)[0]
            assert stat == pytest.approx(target, abs=1e-6)
    assert low[0] == 0.0 if a[0] == 0 else low[0] > 0
    assert high[0] == math.inf if b[0] == 0 else high[0] < math.inf
    if a[0] > 0 and b[0] > 0:
        assert low[0] <= ratio[0] <= high[0]
        with np.errstate(divide="ignore", invalid="ignore"):  # the peer's 0/0 on tiny tables
            s_low, s_high = confint_proportions_2indep(
                a[0], a[1], b[0], b[1], method="score", compare="ratio", alpha=1 - conf
            )
        for ours, theirs, target in ((low[0], s_low, z), (high[0], s_high, -z)):
            # statsmodels' closed-form roots are sometimes the wrong root (or complex) on
            # tiny tables; where its limit does solve the score equation, the two agree.
            if np.isreal(theirs) and 0 < float(np.real(theirs)) < math.inf:
                theta = np.array([float(np.real(theirs))])
                stat = _score_ratio_statistic(theta, x1, n1, x2, n2, True)[0]
                if abs(stat - target) < 1e-7:
                    assert ours == pytest.approx(theta[0], rel=1e-6)


def test_score_ratio_stays_defined_when_the_reference_has_no_events() -> None:
    """Katz gives nothing at 0 reference events; the score interval is [L, inf)."""
    katz = katz_ratio(np.array([3]), np.array([30]), np.array([0]), np.array([30]), 0.95)
    assert np.isnan(katz[1][0])
    ratio, low, high = score_ratio(
        np.array([3, 0]), np.array([30, 30]), np.array([0, 0]), np.array([30, 30]), 0.95
    )
    assert ratio[0] == math.inf and 0.0 < low[0] < 1.0 and high[0] == math.inf
    assert np.isnan(ratio[1]) and low[1] == 0.0 and high[1] == math.inf
    empty = score_ratio(np.array([0]), np.array([0]), np.array([1]), np.array([5]), 0.95)
    assert all(np.isnan(v[0]) for v in empty)


def test_audit_reports_a_ratio_against_a_reference_without_events() -> None:
    frame = adult_scored().copy()
    # The reference (Male) selects nobody; Female keeps its decisions.
    frame.loc[frame["sex"] == "Male", "decision"] = 0
    result = audit_counts(count_table(frame, ["sex"]))
    d = next(x for x in result.disparities if x.metric == "selection_rate")
    assert d.ratio.value is None and d.ratio.ci_high is None
    assert d.ratio.ci_low is not None and d.ratio.ci_low > 1.0
    assert d.four_fifths_violation is False
    assert d.to_dict()["ratio"] == {"value": None, "ci_low": d.ratio.ci_low, "ci_high": None}


@settings(max_examples=200, deadline=None)
@given(counts, counts)
def test_fisher_exact_equals_scipy(a: tuple[int, int], b: tuple[int, int]) -> None:
    ours = fisher_exact_p_value(
        np.array([a[0]]), np.array([a[1]]), np.array([b[0]]), np.array([b[1]])
    )[0]
    expected = fisher_exact([[a[0], a[1] - a[0]], [b[0], b[1] - b[0]]]).pvalue
    assert ours == pytest.approx(expected, rel=1e-8, abs=1e-300)


def test_fisher_exact_on_large_tables_sums_only_where_it_matters() -> None:
    x1, n1 = np.array([20_300, 200_000]), np.array([100_000, 1_000_000])
    x2, n2 = np.array([20_000, 201_000]), np.array([100_000, 1_000_000])
    ours = fisher_exact_p_value(x1, n1, x2, n2)
    for i in range(2):
        table = [[x1[i], n1[i] - x1[i]], [x2[i], n2[i] - x2[i]]]
        assert ours[i] == pytest.approx(fisher_exact(table).pvalue, rel=1e-7)


def test_rare_small_cells_get_fishers_exact_p_value() -> None:
    """The issue's table: 2/27 vs 5/1080 has z-test p = 6.9e-6 but Fisher's p = 0.011."""
    x1, n1, x2, n2 = (
        np.array([2, 300]),
        np.array([27, 1000]),
        np.array([5, 330]),
        np.array([1080, 1000]),
    )
    z = two_proportion_p_value(x1, n1, x2, n2)
    assert z[0] == pytest.approx(6.9e-6, rel=0.05)
    p, exact = comparison_p_values(x1, n1, x2, n2, 0.05)
    assert exact.tolist() == [True, False]  # large, common, not significant: z-test
    assert p[0] == pytest.approx(0.0112, abs=1e-4)
    assert p[1] == z[1]
    # Holm at 100 tests: the z-test would flag this comparison; the exact p-value does not.
    assert z[0] * 100 < 0.05 < p[0] * 100


def test_every_p_value_that_can_be_significant_is_exact() -> None:
    rng = np.random.default_rng(7)
    n1, n2 = rng.integers(30, 5000, 4000), rng.integers(30, 5000, 4000)
    rate = rng.uniform(0.001, 0.5, 4000)
    x1, x2 = rng.binomial(n1, rate), rng.binomial(n2, rate * rng.uniform(0.5, 2.0, 4000))
    p, exact = comparison_p_values(x1, n1, x2, n2, 0.05)
    fisher = fisher_exact_p_value(x1, n1, x2, n2)
    np.testing.assert_allclose(p[p < 0.05], fisher[p < 0.05], rtol=1e-12, atol=0)
    assert exact[p < 0.05].all() and 0 < exact.sum() < exact.size


@settings(max_examples=300, deadline=None)
@given(counts, st.sampled_from([0.9, 0.95, 0.99]))
def test_modified_wilson_uses_poisson_limits_next_to_the_boundary(
    a: tuple[int, int], conf: float
) -> None:
    x, n = a
    low, high = modified_wilson_interval(np.array([x]), np.array([n]), conf)
    w_low, w_high = proportion_confint(x, n, alpha=1 - conf, method="wilson")
    edge = 3  # x* = 3 at every n (see poisson_boundary_count)
    if 1 <= x <= edge:
        assert low[0] == pytest.approx(chi2.ppf(1 - conf, 2 * x) / 2 / n, rel=1e-12)
        assert low[0] <= w_low
    else:
        assert low[0] == pytest.approx(w_low, abs=1e-12)
    if 1 <= n - x <= edge:
        assert high[0] == pytest.approx(1 - chi2.ppf(1 - conf, 2 * (n - x)) / 2 / n, rel=1e-12)
        assert high[0] >= w_high
    else:
        assert high[0] == pytest.approx(w_high, abs=1e-12)

"""Named definitions: verdicts follow the simultaneous intervals; harm picks the headline."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from ethica.fairness import audit_counts
from tests.unit.fairness._audit_support import adult_scored, count_table


def _newcombe(metric_rows: tuple[int, int, int, int], alpha: float) -> tuple[float, float]:
    x1, n1, x2, n2 = metric_rows
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", alpha=alpha)
    return float(low), float(high)


@pytest.mark.parametrize("tolerance", [0.01, 0.05, 0.075, 0.085, 0.1, 0.3])
def test_demographic_parity_verdict_follows_newcombe_interval(tolerance: float) -> None:
    frame = adult_scored()
    result = audit_counts(count_table(frame, ["sex"]), tolerance=tolerance)
    verdict = next(d for d in result.definitions if d.name == "demographic_parity")
    female, male = frame[frame["sex"] == "Female"], frame[frame["sex"] == "Male"]
    counts = (int(female["decision"].sum()), len(female), int(male["decision"].sum()), len(male))
    low, high = _newcombe(counts, 0.10)  # two one-sided tests at 0.05: a 90% interval
    if low > tolerance or high < -tolerance:
        expected = "fail"
    elif -tolerance <= low and high <= tolerance:
        expected = "pass"
    else:
        expected = "inconclusive"
    assert verdict.verdict == expected
    assert verdict.metrics == ("selection_rate",)
    assert verdict.worst_group == ("Female",)
    assert (verdict.worst_difference.ci_low, verdict.worst_difference.ci_high) == pytest.approx(
        (low, high), abs=1e-12
    )
    assert f"±{tolerance:g}" in verdict.reason


def test_equalized_odds_uses_bonferroni_two_one_sided_intervals() -> None:
    frame = adult_scored()
    result = audit_counts(count_table(frame, ["race"]), tolerance=0.05)
    verdict = next(
        d for d in result.definitions if d.name == "equalized_odds" and d.attributes == ("race",)
    )
    assert verdict.metrics == ("tpr", "fpr")
    assert verdict.worst_group is not None
    group = frame[frame["race"] == verdict.worst_group[0]]
    white = frame[frame["race"] == "White"]
    metric = "tpr" if verdict.reason.startswith("tpr") else "fpr"
    actual = 1 if metric == "tpr" else 0
    g, w = group[group["outcome"] == actual], white[white["outcome"] == actual]
    counts = (int(g["decision"].sum()), len(g), int(w["decision"].sum()), len(w))
    k = 2 * (frame["race"].nunique() - 1)  # two metrics, every non-reference race
    low, high = _newcombe(counts, 2 * 0.05 / k)  # two one-sided tests at 0.05 / k
    assert (verdict.worst_difference.ci_low, verdict.worst_difference.ci_high) == pytest.approx(
        (low, high), abs=1e-12
    )


def test_calibration_is_not_applicable_without_a_score() -> None:
    result = audit_counts(count_table(adult_scored(), ["sex"]), harm="calibration")
    head = result.headline()
    assert head.name == "calibration_within_groups"
    assert head.verdict == "not_applicable"
    assert "no score" in head.reason


def test_calibration_gap_is_observed_rate_minus_mean_score() -> None:
    frame = adult_scored()
    result = audit_counts(count_table(frame, ["sex"], score="score"), harm="calibration")
    head = result.headline()
    assert head.verdict in {"pass", "fail", "inconclusive"}
    assert head.worst_group is not None
    rows = frame[frame["sex"] == head.worst_group[0]]
    b = int(head.reason.split("score bin ")[1].split()[0]) - 1
    in_bin = rows[(rows["score"] * 10).astype(int).clip(upper=9) == b]
    gap = in_bin["outcome"].mean() - in_bin["score"].mean()
    assert head.worst_difference.value == pytest.approx(gap, abs=1e-12)
    judged_cells = sum(
        1
        for g in result.groups
        if g.attributes == head.attributes and g.judged
        for c in g.calibration
        if c.n >= result.min_group_size
    )
    positives = int(in_bin["outcome"].sum())
    assert 3 < positives < len(in_bin) - 3  # away from the boundary: plain Wilson
    low, _ = proportion_confint(
        positives, len(in_bin), alpha=2 * 0.05 / judged_cells, method="wilson"
    )
    assert head.worst_difference.ci_low == pytest.approx(low - in_bin["score"].mean(), abs=1e-12)


@pytest.mark.parametrize(
    ("harm", "name"),
    [
        ("selection", "demographic_parity"),
        ("false-negative", "equal_opportunity"),
        ("false-positive", "false_positive_rate_parity"),
        ("calibration", "calibration_within_groups"),
    ],
)
def test_harm_chooses_the_headline_with_the_worst_verdict(harm: str, name: str) -> None:
    result = audit_counts(count_table(adult_scored(), ["sex", "race"], score="score"), harm=harm)
    head = result.headline()
    assert head.name == name
    severity = ["fail", "inconclusive", "pass", "not_applicable"]
    same = [d for d in result.definitions if d.name == name]
    assert len(same) == 3  # sex, race, sex × race
    assert severity.index(head.verdict) == min(severity.index(d.verdict) for d in same)


def test_every_definition_is_judged_on_every_attribute_set() -> None:
    result = audit_counts(count_table(adult_scored(), ["sex", "race"]), max_order=1)
    names = {d.name for d in result.definitions}
    assert names == {
        "demographic_parity",
        "equal_opportunity",
        "equalized_odds",
        "false_positive_rate_parity",
        "predictive_parity",
        "error_rate_parity",
        "calibration_within_groups",
    }
    assert {d.attributes for d in result.definitions} == {("sex",), ("race",)}
    assert all(d.verdict in {"pass", "fail", "inconclusive", "not_applicable"} for d in
               result.definitions)  # fmt: skip


def test_a_model_that_never_selects_leaves_predictive_parity_inconclusive() -> None:
    frame = adult_scored().assign(never=0)
    result = audit_counts(count_table(frame, ["sex"], prediction="never"))
    verdicts = {d.name: d for d in result.definitions}
    assert verdicts["predictive_parity"].verdict == "inconclusive"
    assert "ppv is undefined" in verdicts["predictive_parity"].reason
    assert verdicts["predictive_parity"].worst_difference.value is None
    assert verdicts["demographic_parity"].verdict == "pass"  # both select nobody
    male = next(g for g in result.groups if g.group == ("Male",))
    assert male.metrics["ppv"].undefined_reason == "no predicted positives in this group"


def test_a_single_group_attribute_has_nothing_to_compare() -> None:
    frame = adult_scored().assign(everyone="all")
    result = audit_counts(count_table(frame, ["everyone"]))
    assert result.disparities == () and result.spreads == ()
    parity = next(d for d in result.definitions if d.name == "demographic_parity")
    assert parity.verdict == "inconclusive"
    assert "no judged group besides all" in parity.reason

"""The result object: JSON shape, frames, HTML, ordering, references and small groups."""

from __future__ import annotations

import dataclasses
import json

import pytest

from ethica._results import SCHEMA_VERSION
from ethica.fairness import AuditResult, audit_counts
from tests.unit.fairness._audit_support import adult_scored, count_table

METRIC_KEYS = [
    "selection_rate", "tpr", "fpr", "tnr", "fnr", "ppv", "npv", "fdr", "for", "accuracy",
    "base_rate",
]  # fmt: skip


@pytest.fixture(scope="module")
def result() -> AuditResult:
    return audit_counts(count_table(adult_scored(), ["sex", "race"], score="score"))


def test_to_dict_is_strict_json_with_the_promised_keys(result: AuditResult) -> None:
    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["n_rows"] == len(adult_scored())
    assert document["protected"] == ["sex", "race"]
    group = document["groups"][0]
    assert list(group["metrics"]) == METRIC_KEYS
    assert {"value", "ci_low", "ci_high", "numerator", "denominator"} <= set(
        group["metrics"]["tpr"]
    )
    assert document["headline"]["name"] == "demographic_parity"
    assert {"attributes": ["sex"], "group": ["Male"]} in document["references"]
    assert len(document["groups"]) == len(result.groups)
    assert document["groups"][0]["calibration"][0]["observed"]["value"] is not None or (
        document["groups"][0]["calibration"][0]["n"] == 0
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.harm = "calibration"  # type: ignore[misc]


def test_to_frame_is_long_one_row_per_group_and_metric(result: AuditResult) -> None:
    frame = result.to_frame()
    assert len(frame) == (1 + len(result.groups)) * len(METRIC_KEYS)
    assert set(frame["metric"]) == set(METRIC_KEYS)
    female = frame[(frame["group"] == "Female") & (frame["metric"] == "selection_rate")]
    assert female["value"].iloc[0] == pytest.approx(
        adult_scored().query("sex == 'Female'")["decision"].mean(), abs=1e-12
    )


def test_repr_html_is_small_and_self_contained(result: AuditResult) -> None:
    page = result._repr_html_()
    assert page.count("<table>") == 2
    assert "demographic_parity" in page and "http" not in page and "<script" not in page


def test_worst_disparities_put_significant_first_then_largest(result: AuditResult) -> None:
    worst = result.worst_disparities(len(result.disparities))
    assert len(worst) == len(result.disparities)
    flags = [d.significant for d in worst]
    assert flags == sorted(flags, reverse=True)
    significant = [abs(d.difference.value or 0.0) for d in worst if d.significant]
    assert significant == sorted(significant, reverse=True)
    assert len(result.worst_disparities(3)) == 3


def test_default_reference_is_the_largest_group(result: AuditResult) -> None:
    frame = adult_scored()
    assert result.references[("sex",)] == (frame["sex"].value_counts().index[0],)
    assert result.references[("race",)] == ("White",)
    assert result.references[("sex", "race")] == ("Male", "White")
    assert all(
        d.reference == result.references[d.attributes] and d.group != d.reference
        for d in result.disparities
    )


@pytest.mark.parametrize("reference", [{"sex": "Female"}, "sex=Female", ["sex=Female"]])
def test_reference_sets_the_comparison_group_for_its_attribute(
    reference: dict[str, str] | str | list[str],
) -> None:
    result = audit_counts(count_table(adult_scored(), ["sex", "race"]), reference=reference)
    assert result.references[("sex",)] == ("Female",)
    assert result.references[("race",)] == ("White",)  # untouched attribute: largest group
    assert result.references[("sex", "race")] == ("Female", "White")  # largest consistent group
    male = next(
        d for d in result.disparities if d.metric == "selection_rate" and d.group == ("Male",)
    )
    assert male.reference == ("Female",)
    assert male.difference.value is not None and male.difference.value > 0


def test_small_groups_are_reported_not_judged_and_noted_without_a_warning() -> None:
    frame = adult_scored()
    sizes = frame["race"].value_counts()
    limit = 200
    small = set(sizes[sizes < limit].index)
    assert small  # Amer-Indian-Eskimo and Other are smaller than 200 in Adult test
    result = audit_counts(count_table(frame, ["race"]), min_group_size=limit)  # errors on warning
    by_group = {g.group[0]: g for g in result.groups}
    assert {name for name, g in by_group.items() if not g.judged} == small
    assert all(by_group[name].metrics["selection_rate"].value is not None for name in small)
    assert not any(d.group[0] in small for d in result.disparities)
    note = next(n for n in result.notes if "too small to judge" in n)
    assert all(name in note for name in small)


def test_a_too_small_reference_judges_nothing_and_says_so() -> None:
    result = audit_counts(
        count_table(adult_scored(), ["race"]), reference="race=Other", min_group_size=200
    )
    assert result.references[("race",)] == ("Other",)
    assert result.disparities == ()
    assert any("reference group Other" in n for n in result.notes)
    parity = next(d for d in result.definitions if d.name == "demographic_parity")
    assert parity.verdict == "inconclusive"
    assert "too small" in parity.reason


def test_spread_is_max_minus_min_of_judged_groups(result: AuditResult) -> None:
    spread = next(
        s for s in result.spreads if s.attributes == ("race",) and s.metric == "selection_rate"
    )
    rates = adult_scored().groupby("race")["decision"].mean()
    assert spread.max_group == (rates.idxmax(),)
    assert spread.min_group == (rates.idxmin(),)
    assert spread.difference.value == pytest.approx(rates.max() - rates.min(), abs=1e-12)
    assert spread.ratio.value == pytest.approx(rates.min() / rates.max(), rel=1e-12)
    low, value, high = spread.difference.ci_low, spread.difference.value, spread.difference.ci_high
    assert low is not None and value is not None and high is not None
    assert low <= value <= high


def test_four_fifths_rule_flags_selection_ratios_below_point_eight(result: AuditResult) -> None:
    for d in result.disparities:
        if d.metric != "selection_rate":
            assert d.four_fifths_violation is None
        elif d.ratio.value is not None:
            assert d.four_fifths_violation is (d.ratio.value < 0.8)

"""Rich-subgroup auditor and fictitious-play learner (Kearns, Neel, Roth, Wu 2018).

Includes one test for each of the three known bugs of the reference GerryFair code.
"""

from __future__ import annotations

import itertools
import json
from functools import cache

import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import ConvergenceWarning, HighCardinalityWarning, InvalidParameterError
from ethica._results import SCHEMA_VERSION
from ethica.datasets import load_adult
from ethica.fairness._gerryfair import GerryFairClassifier, subgroup_costs
from ethica.fairness._rich_subgroups import (
    LinearOracle,
    Metric,
    RichSubgroup,
    RichSubgroupAuditor,
    audit_conjunctions,
    audit_rich_subgroups,
    encode_attributes,
)
from tests.unit.fairness.test_learning_data import adult_sample

RNG = np.random.default_rng(11)
N = 6000
ATTRS = pd.DataFrame({"a1": RNG.random(N), "a2": RNG.random(N)})
LABELS = (RNG.random(N) < 0.4).astype(np.int8)
PLANTED = (ATTRS.a1 + ATTRS.a2 > 1.3).to_numpy()


def planted_predictions(inside: float, outside: float) -> np.ndarray:
    rate = np.where(PLANTED, inside, outside)
    return (RNG.random(N) < rate).astype(float)


def independent_stats(
    sub: RichSubgroup, predictions: np.ndarray, labels: np.ndarray, attrs: object
) -> tuple[float, float, float]:
    """(alpha, group rate, alpha * beta) of a reported FP subgroup, recomputed from rows."""
    inside = sub.contains(attrs) & (labels == 0)
    alpha = inside.sum() / labels.shape[0]
    rate = predictions[inside].mean()
    return alpha, rate, alpha * abs(rate - predictions[labels == 0].mean())


def test_auditor_finds_a_planted_high_fpr_subgroup_with_exact_statistics() -> None:
    predictions = planted_predictions(0.6, 0.1)
    sub = audit_rich_subgroups(predictions, LABELS, ATTRS, metric="fpr")
    agreement = np.mean(sub.contains(ATTRS) == PLANTED)
    assert agreement > 0.9
    assert sub.direction == 1
    alpha, rate, unfairness = independent_stats(sub, predictions, LABELS, ATTRS)
    assert sub.size == pytest.approx(alpha)
    assert sub.group_rate == pytest.approx(rate)
    assert sub.gamma_unfairness == pytest.approx(unfairness)
    assert sub.members == int((sub.contains(ATTRS) & (LABELS == 0)).sum())
    planted = PLANTED & (LABELS == 0)
    planted_unfairness = (
        planted.sum() / N * abs(predictions[planted].mean() - predictions[LABELS == 0].mean())
    )
    assert sub.gamma_unfairness >= 0.95 * planted_unfairness


def test_negative_direction_group_rate_is_measured_on_its_own_members() -> None:
    """Reference bug 2: the negative-direction group's rate was filtered by the other group."""
    predictions = planted_predictions(0.02, 0.5)
    sub = audit_rich_subgroups(predictions, LABELS, ATTRS, metric="fpr")
    assert sub.direction == -1
    assert np.mean(sub.contains(ATTRS) == PLANTED) > 0.9
    alpha, rate, unfairness = independent_stats(sub, predictions, LABELS, ATTRS)
    assert sub.size == pytest.approx(alpha)
    assert sub.group_rate == pytest.approx(rate)
    assert sub.group_rate < sub.overall_rate
    assert sub.gamma_unfairness == pytest.approx(unfairness)


def test_fnr_and_selection_metrics() -> None:
    predictions = planted_predictions(0.1, 0.7)  # the planted group misses positives
    fnr = audit_rich_subgroups(predictions, LABELS, ATTRS, metric="fnr")
    assert fnr.direction == 1 and np.mean(fnr.contains(ATTRS) == PLANTED) > 0.9
    miss = 1 - predictions
    inside = fnr.contains(ATTRS) & (LABELS == 1)
    assert fnr.group_rate == pytest.approx(miss[inside].mean())
    selection = audit_rich_subgroups(predictions, LABELS, ATTRS, metric="selection")
    assert selection.direction == -1
    assert selection.overall_rate == pytest.approx(predictions.mean())


def test_conjunction_auditor_matches_brute_force() -> None:
    data = adult_sample()
    frame = pd.DataFrame(
        {
            "sex": data.sensitive,
            "band": np.where(data.X[:, 0] > 0, "older", "younger"),
            "hours": np.where(data.X[:, 5] > 0, "long", "short"),
        }
    )
    predictions = np.asarray(data.X[:, 2] > 0.3, dtype=float)  # some score-based decision
    sub = audit_conjunctions(predictions, data.y, frame, metric="fpr")
    negatives = data.y == 0
    base = predictions[negatives].mean()
    best = 0.0
    for size in (1, 2, 3):
        for columns in itertools.combinations(frame.columns, size):
            grouped = pd.DataFrame({"p": predictions[negatives]}).groupby(
                [frame[c].to_numpy()[negatives] for c in columns]
            )["p"]
            stats = grouped.agg(["size", "mean"])
            best = max(
                best, float((stats["size"] / len(data.y) * (stats["mean"] - base).abs()).max())
            )
    assert sub.gamma_unfairness == pytest.approx(best)
    assert sub.shape == "conjunction"
    assert sub.description == " and ".join(f"{c} = {v}" for c, v in sub.conditions)
    alpha, rate, unfairness = independent_stats(sub, predictions, data.y, frame)
    assert sub.gamma_unfairness == pytest.approx(unfairness)
    assert (sub.size, sub.group_rate) == pytest.approx((alpha, rate))


def test_conjunction_auditor_depth_and_cardinality() -> None:
    predictions = planted_predictions(0.6, 0.1)
    frame = ATTRS.assign(a1=(ATTRS.a1 * 1000).round())
    with pytest.warns(HighCardinalityWarning, match="bin it"):
        audit_conjunctions(predictions, LABELS, frame[["a1"]])
    with pytest.raises(InvalidParameterError, match="max_attributes=0"):
        audit_conjunctions(predictions, LABELS, frame, max_attributes=0)


def test_auditor_bad_input() -> None:
    predictions = planted_predictions(0.6, 0.1)
    with pytest.raises(InvalidParameterError, match="metric='tpr' is not known"):
        audit_rich_subgroups(predictions, LABELS, ATTRS, metric="tpr")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"lie in \[0, 1\]"):
        audit_rich_subgroups(predictions * 2, LABELS, ATTRS)
    with pytest.raises(InvalidParameterError, match="one row of attributes per prediction"):
        audit_rich_subgroups(predictions, LABELS, ATTRS.iloc[:10])
    with pytest.raises(InvalidParameterError, match="no rows in the event"):
        audit_rich_subgroups(predictions, np.zeros(N, np.int8), ATTRS, metric="fnr")


def test_result_serialises() -> None:
    sub = audit_rich_subgroups(planted_predictions(0.6, 0.1), LABELS, ATTRS)
    document = json.loads(json.dumps(sub.to_dict()))
    assert document["kind"] == "rich_subgroup" and document["schema_version"] == SCHEMA_VERSION
    assert document["coefficients"] == list(sub.coefficients)
    assert sub.to_frame().loc[0, "gamma_unfairness"] == sub.gamma_unfairness
    assert "<table" in sub._repr_html_()


def test_learner_costs_use_each_rows_own_membership() -> None:
    """Reference bug 1: the membership index was reset inside the cost loop (row 0 for all)."""
    labels = np.array([0, 0, 0, 0, 1, 1], dtype=np.int8)
    members = np.array([True, False, True, False, True, False])
    costs = subgroup_costs(members, labels, direction=1, metric="fpr", multiplier=10.0)
    share = 0.5  # two of the four negatives are members
    expected = [
        10 * (1 - share) / 6,
        -10 * share / 6,
        10 * (1 - share) / 6,
        -10 * share / 6,
        0.0,
        0.0,
    ]
    np.testing.assert_allclose(costs, expected)
    fnr = subgroup_costs(members, labels, direction=-1, metric="fnr", multiplier=2.0)
    np.testing.assert_allclose(fnr, [0, 0, 0, 0, 2 * 0.5 / 6, -2 * 0.5 / 6])


def test_fictitious_play_drives_the_worst_subgroup_below_gamma() -> None:
    data = adult_sample()
    protected = pd.DataFrame({"sex": data.sensitive, "age": data.X[:, 0]})
    model = GerryFairClassifier(gamma=0.005, max_iter=40, metric="fpr").fit(
        data.X, data.y, sensitive_features=protected
    )
    assert model.unfairness_[0] > 0.005  # the unconstrained learner is unfair
    assert model.n_iter_ < 40 and model.unfairness_[-1] <= 0.005
    final = audit_rich_subgroups(model._pmf_predict(data.X)[:, 1], data.y, protected)
    assert final.gamma_unfairness == pytest.approx(model.unfairness_[-1])
    assert model.errors_[-1] < 0.2  # base rate 0.24: the fair model still learns


def test_randomised_prediction_is_not_inverted() -> None:
    """Reference bug 3: predict drew 1 with probability 1 - P[h = 1]."""
    data = adult_sample()
    protected = pd.DataFrame({"sex": data.sensitive, "age": data.X[:, 0]})
    model = GerryFairClassifier(gamma=0.0001, max_iter=8, random_state=5)
    with pytest.warns(ConvergenceWarning, match=r"stopped after 8 rounds.*raise max_iter"):
        model.fit(data.X, data.y, sensitive_features=protected)
    positive = model._pmf_predict(data.X)[:, 1]
    drawn = model.predict(data.X)
    mixed = (positive > 0) & (positive < 1)
    assert mixed.sum() > 200
    spread = np.sqrt((positive[mixed] * (1 - positive[mixed])).sum()) / mixed.sum()
    assert abs(drawn[mixed].mean() - positive[mixed].mean()) < 4 * spread
    np.testing.assert_array_equal(drawn[positive == 1], 1)
    np.testing.assert_array_equal(drawn[positive == 0], 0)


def test_learner_bad_parameters() -> None:
    data = adult_sample(500)
    for params, words in (
        ({"C": -1.0}, r"C=-1.0\) must be a number above 0"),
        (
            {"gamma": 2.0},
            r"gamma=2.0\) must be a number at least 0.0 and at "
            "most 1.0",
        ),
        ({"metric": "tpr"}, "metric='tpr'"),
        ({"max_iter": 0}, "max_iter=0"),
    ):
        with pytest.raises(InvalidParameterError, match=words):
            GerryFairClassifier(**params).fit(data.X, data.y, sensitive_features=data.sensitive)
    with pytest.raises(InvalidParameterError, match="one row of protected attributes"):
        GerryFairClassifier().fit(data.X, data.y, sensitive_features=data.sensitive[:10])
    with pytest.raises(InvalidParameterError, match="single value on every row"):
        GerryFairClassifier().fit(data.X, data.y, sensitive_features=np.full(500, "Male"))


def _naive_encoding(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Element-wise one-hot of the text columns, numeric columns as they are."""
    blocks, names = [], []
    for column in frame.columns:
        if pd.api.types.is_float_dtype(frame[column]):
            blocks.append(frame[column].to_numpy(float)[:, None])
            names.append(column)
            continue
        text = [str(v) for v in frame[column]]
        for level in sorted(set(text)):
            blocks.append(np.array([[t == level] for t in text], dtype=float))
            names.append(f"{column}={level}")
    return np.hstack(blocks), names


@cache
def adult_decisions() -> tuple[pd.DataFrame, np.ndarray, list[np.ndarray]]:
    """Adult training rows: (sex, race, age), labels, and three decision rules to audit."""
    frame = load_adult("train")
    protected = pd.DataFrame(
        {
            "sex": frame["sex"].astype(str),
            "race": frame["race"].astype(str),
            "age": frame["age"].astype(float),
        }
    )
    labels = (frame["income"] == ">50K").to_numpy(np.int8)
    rules = [
        ((frame["education_num"] >= 13) | (frame["capital_gain"] > 5000)).to_numpy(float),
        (frame["hours_per_week"] > 45).to_numpy(float),
        np.clip(frame["education_num"].to_numpy(float) / 16, 0, 1),  # a randomised classifier
    ]
    return protected, labels, rules


def test_vectorised_encoding_matches_element_wise_comparison() -> None:
    protected, _, _ = adult_decisions()
    matrix, names = encode_attributes(protected)
    expected, expected_names = _naive_encoding(protected)
    assert list(names) == expected_names
    np.testing.assert_array_equal(matrix, expected)


def test_encoding_rebuilds_earlier_levels_and_zeroes_unseen_values() -> None:
    frame = pd.DataFrame({"g": ["b", None, "a", 1], "x": [0.5, 1.5, 2.5, 3.5]})
    matrix, names = encode_attributes(frame)
    assert names == ("g=1", "g=a", "g=b", "g=nan", "x")  # missing reads "nan"
    np.testing.assert_array_equal(
        matrix[:, :4], [[0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0], [1, 0, 0, 0]]
    )
    later = pd.DataFrame({"g": ["a", "c", "1"], "x": [9.0, 8.0, 7.0]})
    rebuilt, same_names = encode_attributes(later, levels_from=names)
    assert same_names == names
    np.testing.assert_array_equal(rebuilt, [[0, 1, 0, 0, 9], [0, 0, 0, 0, 8], [1, 0, 0, 0, 7]])


@pytest.mark.parametrize("metric", ["fpr", "fnr", "selection"])
def test_bound_auditor_answers_like_one_audit_with_exact_statistics(metric: Metric) -> None:
    protected, labels, rules = adult_decisions()
    auditor = RichSubgroupAuditor(labels, protected, metric=metric)
    event = {"fpr": labels == 0, "fnr": labels == 1, "selection": labels >= 0}[metric]
    for predictions in rules:
        bound = auditor.audit(predictions)
        assert bound == audit_rich_subgroups(predictions, labels, protected, metric=metric)
        inside = bound.contains(protected) & event
        np.testing.assert_array_equal(auditor.members(bound), bound.contains(protected))
        values = 1 - predictions if metric == "fnr" else predictions
        base = values[event].mean()
        rate = values[inside].mean()
        assert bound.members == inside.sum()
        assert bound.overall_rate == pytest.approx(base)
        assert bound.group_rate == pytest.approx(rate)
        assert bound.gamma_unfairness == pytest.approx(
            inside.sum() / len(labels) * abs(rate - base)
        )
        assert bound.gamma_unfairness > 0.001  # each rule treats some subgroup unequally


def test_bound_auditor_bad_input() -> None:
    auditor = RichSubgroupAuditor(LABELS, ATTRS)
    predictions = planted_predictions(0.6, 0.1)
    with pytest.raises(InvalidParameterError, match="one prediction per labelled row"):
        auditor.audit(predictions[:10])
    with pytest.raises(InvalidParameterError, match=r"lie in \[0, 1\], got values from nan"):
        auditor.audit(np.where(PLANTED, np.nan, predictions))
    with pytest.raises(InvalidParameterError, match=r"labels must be one 0/1 value.*\[0, 1, 2\]"):
        RichSubgroupAuditor(LABELS + (RNG.random(N) < 0.1), ATTRS)
    with pytest.raises(InvalidParameterError, match="protected has 10 rows but predictions have"):
        RichSubgroupAuditor(LABELS, ATTRS.iloc[:10])


def test_oracle_regression_matches_least_squares_on_a_collinear_design() -> None:
    rng = np.random.default_rng(3)
    group = rng.integers(0, 3, 500)
    one_hot = np.eye(3)[group]  # its columns sum to the intercept: a rank-deficient design
    attributes = np.column_stack([one_hot, 40 + 10 * rng.standard_normal(500)])
    weights = rng.integers(0, 5, 500).astype(float)
    costs = rng.standard_normal(500)
    solution, fitted = LinearOracle(attributes, weights).fit_costs(costs)
    root = np.sqrt(weights)
    design = np.column_stack([attributes, np.ones(500)])
    expected, *_ = np.linalg.lstsq(design * root[:, None], costs * root, rcond=None)
    np.testing.assert_allclose(fitted, design @ expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(design @ solution, fitted)

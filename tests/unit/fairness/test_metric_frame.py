"""ethica's MetricFrame against fairlearn's: same values, same shapes, plus intervals."""

from __future__ import annotations

import functools
from typing import Any

import fairlearn.metrics as flm
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from sklearn.exceptions import UndefinedMetricWarning
from statsmodels.stats.proportion import proportion_confint

from ethica._exceptions import InvalidParameterError
from ethica.fairness import MetricFrame
from ethica.fairness._metric_registry import resolve_count_metric

KNOWN: dict[str, Any] = {
    "selection_rate": flm.selection_rate,
    "mean_prediction": flm.mean_prediction,
    "true_positive_rate": flm.true_positive_rate,
    "true_negative_rate": flm.true_negative_rate,
    "false_positive_rate": flm.false_positive_rate,
    "false_negative_rate": flm.false_negative_rate,
    "count": flm.count,
    "accuracy_score": skm.accuracy_score,
    "zero_one_loss": skm.zero_one_loss,
    "precision_score": skm.precision_score,
    "recall_score": skm.recall_score,
    "f1_score": skm.f1_score,
    "balanced_accuracy_score": skm.balanced_accuracy_score,
}
WEIGHTED = ("true_positive_rate", "true_negative_rate", "false_positive_rate")


def _data(n: int = 3000, groups: int = 25, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, groups, n)
    y = (rng.random(n) < 0.2 + 0.6 * group / groups).astype(int)
    p = (rng.random(n) < np.where(y == 1, 0.7, 0.2)).astype(int)
    return {
        "y_true": y,
        "y_pred": p,
        "sensitive_features": pd.Series([f"g{i:02d}" for i in group], name="group"),
        "control_features": rng.choice(["north", "south"], n),
        "weight": rng.random(n) * 3,
    }


def _both(**kwargs: Any) -> tuple[MetricFrame, flm.MetricFrame]:
    return MetricFrame(**kwargs), flm.MetricFrame(**kwargs)


@pytest.mark.parametrize("control", [False, True])
def test_known_metrics_equal_fairlearn_exactly(control: bool) -> None:
    data = _data()
    ours, theirs = _both(
        metrics=KNOWN,
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive_features=data["sensitive_features"],
        control_features=data["control_features"] if control else None,
    )
    pd.testing.assert_frame_equal(ours.by_group, theirs.by_group, check_exact=True)
    overall = pd.testing.assert_frame_equal if control else pd.testing.assert_series_equal
    overall(ours.overall, theirs.overall, check_exact=True)
    for method in ("between_groups", "to_overall"):
        overall(ours.difference(method), theirs.difference(method), check_exact=True)
        overall(ours.ratio(method), theirs.ratio(method), check_exact=True)
    overall(ours.group_min(), theirs.group_min(), check_exact=True)
    overall(ours.group_max(), theirs.group_max(), check_exact=True)


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_metric_is_computed_from_counts(name: str) -> None:
    assert resolve_count_metric(KNOWN[name]) is not None


def test_partials_with_value_changing_arguments_are_called_per_group() -> None:
    assert resolve_count_metric(functools.partial(skm.precision_score, zero_division=0))
    assert resolve_count_metric(functools.partial(skm.precision_score, pos_label=0)) is None
    assert resolve_count_metric(functools.partial(skm.fbeta_score, beta=2)) is None
    assert resolve_count_metric(lambda y, p: skm.accuracy_score(y, p)) is None
    data = _data(seed=3)
    metrics = {
        "ppv0": functools.partial(skm.precision_score, pos_label=0),
        "ppv_nan": functools.partial(skm.precision_score, zero_division=np.nan),
        "f2": functools.partial(skm.fbeta_score, beta=2),
    }
    ours, theirs = _both(
        metrics=metrics,
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive_features=data["sensitive_features"],
    )
    pd.testing.assert_frame_equal(ours.by_group, theirs.by_group, check_exact=True)


def test_degenerate_groups_go_to_the_function_with_its_warning() -> None:
    # group "b" has no predicted positives: precision warns and returns 0, as sklearn does
    y = np.array([1, 0, 1, 1, 0, 1])
    p = np.array([1, 1, 0, 0, 0, 0])
    groups = ["a", "a", "a", "b", "b", "b"]
    with pytest.warns(UndefinedMetricWarning):
        frame = MetricFrame(
            metrics=skm.precision_score, y_true=y, y_pred=p, sensitive_features=groups
        )
    assert frame.by_group.to_dict() == {"a": 0.5, "b": 0.0}


def test_weighted_metrics_equal_fairlearn_exactly() -> None:
    data = _data(seed=5)
    metrics = {name: KNOWN[name] for name in (*WEIGHTED, "accuracy_score", "selection_rate")}
    ours, theirs = _both(
        metrics=metrics,
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive_features=data["sensitive_features"],
        sample_params={name: {"sample_weight": data["weight"]} for name in metrics},
    )
    pd.testing.assert_frame_equal(ours.by_group, theirs.by_group, check_exact=True)
    pd.testing.assert_series_equal(ours.overall, theirs.overall, check_exact=True)


def test_arbitrary_and_non_binary_metrics_fall_back_to_per_group_calls() -> None:
    rng = np.random.default_rng(7)
    n = 500
    y = rng.normal(size=n)
    p = y + rng.normal(scale=0.5, size=n)
    groups = rng.choice(["x", "y", "z"], n)
    metrics = {
        "mse": skm.mean_squared_error,
        "cm": lambda t, q: skm.confusion_matrix(t > 0, q > 0),
        "acc_on_strings": lambda t, q: skm.accuracy_score(t > 0, q > 0),
    }
    ours, theirs = _both(metrics=metrics, y_true=y, y_pred=p, sensitive_features=groups)
    pd.testing.assert_series_equal(ours.by_group["mse"], theirs.by_group["mse"], check_exact=True)
    for group in ("x", "y", "z"):
        assert np.array_equal(ours.by_group["cm"][group], theirs.by_group["cm"][group])
    pd.testing.assert_series_equal(
        ours.difference(errors="coerce"), theirs.difference(errors="coerce"), check_exact=True
    )
    with pytest.raises(ValueError, match="non-scalar"):
        ours.group_min(errors="raise")
    # string labels: accuracy is called per group, with the same answer
    labels = np.where(y > 0, "yes", "no")
    preds = np.where(p > 0, "yes", "no")
    ours, theirs = _both(
        metrics=skm.accuracy_score, y_true=labels, y_pred=preds, sensitive_features=groups
    )
    pd.testing.assert_series_equal(ours.by_group, theirs.by_group, check_exact=True)
    assert ours.overall == theirs.overall


def test_single_callable_shapes_match_fairlearn() -> None:
    data = _data(n=400, groups=4, seed=11)
    ours, theirs = _both(
        metrics=skm.recall_score,
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive_features=data["sensitive_features"],
        control_features=data["control_features"],
    )
    assert isinstance(ours.by_group, pd.Series)
    assert isinstance(ours.overall, pd.Series)
    pd.testing.assert_series_equal(ours.by_group, theirs.by_group, check_exact=True)
    pd.testing.assert_series_equal(ours.ratio("to_overall"), theirs.ratio("to_overall"))
    assert ours.control_levels == theirs.control_levels == ["control_feature_0"]
    assert ours.sensitive_levels == theirs.sensitive_levels == ["group"]
    plain = MetricFrame(
        metrics=skm.recall_score,
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive_features=data["sensitive_features"],
    )
    assert isinstance(plain.overall, float)
    assert isinstance(plain.difference(), float)


def test_bootstrap_reproduces_fairlearn_with_the_same_seed() -> None:
    data = _data(n=600, groups=3, seed=2)
    kwargs: dict[str, Any] = {
        "metrics": {"sr": flm.selection_rate, "mse": skm.mean_squared_error},
        "y_true": data["y_true"],
        "y_pred": data["y_pred"],
        "sensitive_features": data["sensitive_features"],
        "n_boot": 15,
        "ci_quantiles": [0.05, 0.5, 0.95],
        "random_state": 1234,
    }
    ours, theirs = _both(**kwargs)
    for mine, reference in zip(ours.by_group_ci, theirs.by_group_ci, strict=True):
        pd.testing.assert_frame_equal(mine, reference, check_exact=True)
    for mine, reference in zip(ours.difference_ci(), theirs.difference_ci(), strict=True):
        pd.testing.assert_series_equal(mine, reference, check_exact=True)


def test_intervals_are_wilson_intervals_per_group() -> None:
    data = _data(n=2000, groups=5, seed=4)
    frame = MetricFrame(
        metrics={"tpr": flm.true_positive_rate, "mse": skm.mean_squared_error},
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive_features=data["sensitive_features"],
    )
    table = frame.intervals(0.9)
    assert list(table.columns) == [("tpr", "lower"), ("tpr", "upper")]
    groups = data["sensitive_features"].to_numpy()
    for group in frame.by_group.index:
        rows = groups == group
        positives = data["y_true"][rows] == 1
        hits = int((data["y_pred"][rows][positives] == 1).sum())
        low, high = proportion_confint(hits, int(positives.sum()), alpha=0.1, method="wilson")
        assert table.loc[group, ("tpr", "lower")] == pytest.approx(low, abs=1e-12)
        assert table.loc[group, ("tpr", "upper")] == pytest.approx(high, abs=1e-12)
        assert low <= frame.by_group.loc[group, "tpr"] <= high


def test_intervals_refuse_what_they_cannot_cover() -> None:
    data = _data(n=200, groups=3, seed=8)
    common = {
        "y_true": data["y_true"],
        "y_pred": data["y_pred"],
        "sensitive_features": data["sensitive_features"],
    }
    with pytest.raises(InvalidParameterError, match="none of the metrics"):
        MetricFrame(metrics=skm.mean_squared_error, **common).intervals()
    with pytest.raises(InvalidParameterError, match=r"confidence=1\.5"):
        MetricFrame(metrics=skm.accuracy_score, **common).intervals(1.5)


def test_feature_errors_use_fairlearn_messages_and_ethica_types() -> None:
    with pytest.raises(InvalidParameterError, match="Feature 'sensitive_feature_0' contains"):
        MetricFrame(
            metrics=skm.accuracy_score,
            y_true=[0, 1, 1],
            y_pred=[0, 1, 0],
            sensitive_features=["a", None, "b"],
        )
    frame = MetricFrame(
        metrics=skm.accuracy_score, y_true=[0, 1], y_pred=[0, 1], sensitive_features=["a", "b"]
    )
    with pytest.raises(InvalidParameterError, match="Unrecognised comparison method: nope"):
        frame.ratio(method="nope")  # type: ignore[arg-type]

"""``ethica.audit`` takes arrays like fairlearn's MetricFrame, and a Series as ``protected``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ethica
from ethica import InvalidParameterError


@pytest.fixture
def arrays() -> tuple[np.ndarray, np.ndarray, pd.Series]:
    rng = np.random.default_rng(7)
    n = 800
    sex = pd.Series(rng.choice(["F", "M"], n), name="sex")
    y = rng.integers(0, 2, n)
    yhat = np.where(sex == "M", rng.random(n) < 0.6, rng.random(n) < 0.3).astype(int)
    return y, yhat, sex


def _selection(result: ethica.AuditResult, group: tuple[str, ...]) -> float:
    found = next(g for g in result.groups if g.group == group)
    value = found.metrics["selection_rate"].value
    assert value is not None
    return value


def test_fairlearn_call_shape_equals_the_table_call(
    arrays: tuple[np.ndarray, np.ndarray, pd.Series],
) -> None:
    y, yhat, sex = arrays
    by_arrays = ethica.audit(y_true=y, y_pred=yhat, sensitive_features=sex)
    by_table = ethica.audit(
        pd.DataFrame({"y": y, "yhat": yhat, "sex": sex}),
        label="y",
        prediction="yhat",
        protected=["sex"],
    )
    assert by_arrays.protected == ("sex",)
    assert by_arrays.to_frame().equals(by_table.to_frame())
    assert _selection(by_arrays, ("F",)) == pytest.approx(yhat[sex == "F"].mean())


@pytest.mark.parametrize("shape", ["list", "array", "2d", "frame", "dict"])
def test_every_sensitive_features_shape(
    arrays: tuple[np.ndarray, np.ndarray, pd.Series], shape: str
) -> None:
    y, yhat, sex = arrays
    band = np.where(np.arange(len(y)) % 2 == 0, "even", "odd")
    features: object = {
        "list": sex.tolist(),
        "array": sex.to_numpy(),
        "2d": np.column_stack([sex.to_numpy(), band]),
        "frame": pd.DataFrame({"sex": sex, "band": band}),
        "dict": {"sex": sex.to_numpy(), "band": band},
    }[shape]
    result = ethica.audit(y_true=y.tolist(), y_pred=pd.Series(yhat), sensitive_features=features)
    expected = {
        "list": ("sensitive_feature_0",),
        "array": ("sensitive_feature_0",),
        "2d": ("sensitive_feature_0", "sensitive_feature_1"),
        "frame": ("sex", "band"),
        "dict": ("sex", "band"),
    }[shape]
    assert result.protected == expected
    assert _selection(result, ("M",)) == pytest.approx(yhat[sex == "M"].mean())


def test_a_series_as_protected(arrays: tuple[np.ndarray, np.ndarray, pd.Series]) -> None:
    y, yhat, sex = arrays
    frame = pd.DataFrame({"y": y, "yhat": yhat})
    result = ethica.audit(frame, label="y", prediction="yhat", protected=sex)
    assert result.protected == ("sex",)
    assert _selection(result, ("F",)) == pytest.approx(yhat[sex == "F"].mean())
    unnamed = ethica.audit(frame, label="y", prediction="yhat", protected=sex.rename(None))
    assert unnamed.protected == ("sensitive_feature_0",)


def test_mistakes_are_named(arrays: tuple[np.ndarray, np.ndarray, pd.Series]) -> None:
    y, yhat, sex = arrays
    with pytest.raises(InvalidParameterError, match=r"needs y_pred= and sensitive_features="):
        ethica.audit(y_true=y, sensitive_features=sex)
    with pytest.raises(InvalidParameterError, match=r"not both; got label"):
        ethica.audit(y_true=y, y_pred=yhat, sensitive_features=sex, label="y")
    with pytest.raises(InvalidParameterError, match=r"'sex' has 10 values but there are 800"):
        ethica.audit(y_true=y, y_pred=yhat, sensitive_features=sex.head(10))
    with pytest.raises(InvalidParameterError, match=r"y_true has 800 values and y_pred has 5"):
        ethica.audit(y_true=y, y_pred=yhat[:5], sensitive_features=sex)
    with pytest.raises(InvalidParameterError, match=r"only be matched row by row"):
        ethica.audit("decisions.csv", label="y", prediction="yhat", protected=sex)
    with pytest.raises(InvalidParameterError, match=r"audit needs source, label"):
        ethica.audit()

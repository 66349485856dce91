"""Every bad input to count_outcomes fails with the right error type and a message that helps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ethica import HighCardinalityWarning, InvalidParameterError, SchemaError
from ethica.data import Bins, _counting, count_outcomes


@pytest.fixture
def outputs(adult_test: pd.DataFrame) -> pd.DataFrame:
    frame = adult_test.head(2000).copy()
    frame["y"] = (frame["income"] == ">50K").astype("int64")
    frame["yhat"] = (frame["education_num"] >= 13).astype("int64")
    frame["p"] = (frame["education_num"] - 1) / 15.0
    return frame


def test_missing_column_is_named_with_the_available_ones(outputs: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"protected column 'gender' not found") as info:
        count_outcomes(outputs, label="y", prediction="yhat", protected=["sex", "gender"])
    assert "available columns" in str(info.value)
    assert "'sex'" in str(info.value) and "'race'" in str(info.value)
    with pytest.raises(SchemaError, match=r"label column 'outcome' not found"):
        count_outcomes(outputs, label="outcome", prediction="yhat", protected="sex")


def test_non_binary_label_shows_values_and_points_to_positive_label(outputs: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"label column 'education_num' is not binary") as info:
        count_outcomes(outputs, label="education_num", prediction="yhat", protected="sex")
    message = str(info.value)
    assert "16 distinct values" in message
    assert "[1, 2, 3," in message and "..." in message
    assert "positive_label=" in message and "--" not in message


def test_non_binary_prediction(outputs: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"prediction column 'race' is not binary.*'Black'"):
        count_outcomes(outputs, label="y", prediction="race", protected="sex")


def test_positive_label_absent_shows_the_values(outputs: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"positive_label=1 is not among") as info:
        count_outcomes(outputs, label="income", prediction="income", protected="sex")
    message = str(info.value)
    assert "['<=50K', '>50K']" in message
    assert "positive_label='>50K'" in message and "--" not in message


def test_a_model_that_never_predicts_positive_is_not_an_error(outputs: pd.DataFrame) -> None:
    frame = outputs.assign(yhat=0)
    table = count_outcomes(frame, label="y", prediction="yhat", protected="sex")
    assert set(table.cells["prediction"]) == {0}
    assert table.n_rows == len(frame)


@pytest.mark.parametrize("column", ["y", "yhat"])
def test_nan_in_label_or_prediction_counts_rows_and_offers_drop_missing(
    outputs: pd.DataFrame, column: str
) -> None:
    frame = outputs.astype({column: "float64"})
    frame.loc[frame.index[[3, 10, 11]], column] = np.nan
    with pytest.raises(SchemaError, match=r"3 rows have a missing") as info:
        count_outcomes(frame, label="y", prediction="yhat", protected="sex")
    assert f"'{column}': 3" in str(info.value)
    assert "drop_missing=True" in str(info.value) and "--" not in str(info.value)
    table = count_outcomes(frame, label="y", prediction="yhat", protected="sex", drop_missing=True)
    assert table.n_dropped == 3
    assert table.n_rows == len(frame) - 3 == table.cells["n"].sum()


def test_missing_score_is_missing_prediction_when_derived(outputs: pd.DataFrame) -> None:
    frame = outputs.copy()
    frame.loc[frame.index[:5], "p"] = np.nan
    with pytest.raises(SchemaError, match=r"5 rows have a missing.*score 'p': 5"):
        count_outcomes(frame, label="y", score="p", protected="sex")
    table = count_outcomes(frame, label="y", score="p", protected="sex", drop_missing=True)
    assert (table.n_dropped, table.n_rows) == (5, len(frame) - 5)


def test_empty_table(outputs: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"no rows"):
        count_outcomes(outputs.head(0), label="y", prediction="yhat", protected="sex")


def test_nothing_left_after_dropping(outputs: pd.DataFrame) -> None:
    frame = outputs.head(4).assign(y=np.nan)
    with pytest.raises(SchemaError, match=r"no rows left after dropping 4 rows"):
        count_outcomes(frame, label="y", prediction="yhat", protected="sex", drop_missing=True)


def test_score_outside_unit_interval(outputs: pd.DataFrame) -> None:
    frame = outputs.assign(p=outputs["education_num"] * 1000.0)
    with pytest.raises(SchemaError, match=r"score column 'p' must hold probabilities in \[0, 1\]"):
        count_outcomes(frame, label="y", score="p", protected="sex")
    frame = outputs.assign(p=outputs["p"] - 0.5)
    with pytest.raises(SchemaError, match=r"from -0\.5 to 0\.5"):
        count_outcomes(frame, label="y", prediction="yhat", score="p", protected="sex")


def test_non_numeric_score(outputs: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"score column 'race' must be numeric.*string"):
        count_outcomes(outputs, label="y", score="race", protected="sex")


def test_bins_on_a_text_column(outputs: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"binned protected column 'race' must be numeric"):
        count_outcomes(outputs, label="y", prediction="yhat", protected=[Bins("race", edges=[1])])


def test_high_cardinality_warns_and_suggests_bins(outputs: pd.DataFrame) -> None:
    frame = outputs.assign(code=outputs["fnlwgt"] % 150)
    assert frame["code"].nunique() == 150
    with pytest.warns(HighCardinalityWarning, match=r"'code' has 150 distinct.*Bins\("):
        table = count_outcomes(frame, label="y", prediction="yhat", protected="code")
    assert table.n_rows == len(outputs)


def test_thousands_of_groups_are_refused_with_the_fix(outputs: pd.DataFrame) -> None:
    assert outputs["fnlwgt"].nunique() > 1000
    with pytest.raises(SchemaError, match=r"'fnlwgt' has 1,\d{3} distinct values") as info:
        count_outcomes(outputs, label="y", prediction="yhat", protected="fnlwgt")
    message = str(info.value)
    assert "max_groups=250" in message and "min_group_size=" in message
    assert "protected=[Bins('fnlwgt', quantiles=5)]" in message and "--" not in message
    text = outputs.assign(fnlwgt=outputs["fnlwgt"].astype(str))
    with pytest.raises(SchemaError, match=r"map it to fewer categories"):
        count_outcomes(text, label="y", prediction="yhat", protected="fnlwgt")
    with pytest.warns(HighCardinalityWarning):
        table = count_outcomes(
            outputs, label="y", prediction="yhat", protected="fnlwgt", max_groups=5000
        )
    assert table.n_rows == len(outputs)


def test_a_protected_column_that_is_all_missing_is_refused(outputs: pd.DataFrame) -> None:
    frame = outputs.assign(race=None)
    with pytest.raises(SchemaError, match=r"'race' is missing \(NULL\) in all 2,000 rows"):
        count_outcomes(frame, label="y", prediction="yhat", protected=["sex", "race"])


def test_oversized_result_is_not_fetched(
    outputs: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_counting, "MAX_CELLS", 50)
    with pytest.raises(SchemaError, match=r"label column 'p' is not binary"):
        count_outcomes(outputs, label="p", prediction="yhat", protected="sex")
    with pytest.raises(SchemaError, match=r"more than 50 cells.*Bins"):
        count_outcomes(outputs, label="y", prediction="yhat", protected=["age", "race"])


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"prediction": None}, "give prediction= .* or score="),
        ({"score": "p", "threshold": 1.5}, r"threshold must be in \[0, 1\], got 1.5"),
        ({"score": "p", "score_bins": 0}, "score_bins must be an integer >= 1, got 0"),
        ({"protected": []}, "at least one column"),
        ({"protected": ["sex", "sex"]}, r"\['sex'\] more than once"),
        ({"protected": ["n"]}, "may not be named 'n'"),
        ({"protected": [3]}, "must be column names or Bins, got 3"),
    ],
)
def test_invalid_parameters(outputs: pd.DataFrame, kwargs: dict[str, object], words: str) -> None:
    arguments: dict[str, object] = {"label": "y", "prediction": "yhat", "protected": ["sex"]}
    arguments.update(kwargs)
    with pytest.raises(InvalidParameterError, match=words):
        count_outcomes(outputs, **arguments)  # type: ignore[arg-type]


def test_quantiles_of_an_all_missing_column(outputs: pd.DataFrame) -> None:
    frame = outputs.assign(age=np.nan)
    with pytest.raises(SchemaError, match=r"cannot compute quantiles.*'age'.*no non-missing"):
        count_outcomes(frame, label="y", prediction="yhat", protected=[Bins("age", quantiles=4)])

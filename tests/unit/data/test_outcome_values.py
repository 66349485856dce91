"""Label and prediction values are read as written and the positive value must be found.

Each test here is a silent wrong answer of an older version: a positive label absent from
a column audited as "no positives", yes/no sniffed into booleans, a {1, 2} label taken
with 1 as positive without a word.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ethica import DataSourceError, EthicaWarning, SchemaError
from ethica.data import count_outcomes


def _frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "yhat": rng.integers(0, 2, n),
            "sex": rng.choice(["F", "M"], n),
        }
    )


def _positives(table: object) -> tuple[int, int]:
    cells = table.cells  # type: ignore[attr-defined]
    return (
        int(cells.loc[cells["label"] == 1, "n"].sum()),
        int(cells.loc[cells["prediction"] == 1, "n"].sum()),
    )


def test_text_labels_with_the_default_positive_are_an_error() -> None:
    frame = _frame().assign(y=lambda f: np.where(f["y"] == 1, "hi", "lo"))
    with pytest.raises(SchemaError, match=r"positive_label=1 is not among") as info:
        count_outcomes(frame, label="y", prediction="yhat", protected="sex")
    message = str(info.value)
    assert "['hi', 'lo']" in message and "positive_label='lo'" in message


def test_probabilities_as_predictions_are_an_error_pointing_to_score() -> None:
    frame = _frame().assign(yhat=lambda f: np.where(f["yhat"] == 1, 0.95, 0.05))
    with pytest.raises(SchemaError, match=r"positive_prediction=1 is not among") as info:
        count_outcomes(frame, label="y", prediction="yhat", protected="sex")
    message = str(info.value)
    assert "[0.05, 0.95]" in message and "positive_prediction=" in message
    assert "score='yhat'" in message and "--" not in message


def test_label_and_prediction_may_code_the_positive_differently() -> None:
    frame = _frame()
    coded = frame.assign(y=np.where(frame["y"] == 1, "yes", "no"))
    table = count_outcomes(
        coded,
        label="y",
        prediction="yhat",
        protected="sex",
        positive_label="yes",
        positive_prediction=1,
    )
    assert _positives(table) == (int(frame["y"].sum()), int(frame["yhat"].sum()))
    assert table.provenance["positive_prediction"] == 1
    with pytest.raises(SchemaError, match=r"positive_prediction='yes' is not among.*\[0, 1\]"):
        count_outcomes(coded, label="y", prediction="yhat", protected="sex", positive_label="yes")


def test_a_label_coded_one_two_warns_unless_the_positive_is_named() -> None:
    frame = _frame().assign(y=lambda f: f["y"] + 1, yhat=lambda f: f["yhat"] + 1)
    with pytest.warns(EthicaWarning, match=r"coded \{1, 2\}.*positive_label=2 to silence"):
        count_outcomes(frame, label="y", prediction="yhat", protected="sex")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = count_outcomes(
            frame, label="y", prediction="yhat", protected="sex", positive_label=2
        )
    assert _positives(table) == ((frame["y"] == 2).sum(), (frame["yhat"] == 2).sum())


def test_yes_no_csv_keeps_its_words(tmp_path: Path) -> None:
    frame = _frame()
    words = frame.assign(
        y=np.where(frame["y"] == 1, "yes", "no"),
        yhat=np.where(frame["yhat"] == 1, "yes", "no"),
        sex=np.where(frame["sex"] == "F", "yes", "no"),  # a yes/no protected attribute
    )
    path = tmp_path / "words.csv"
    words.to_csv(path, index=False)
    table = count_outcomes(
        path, label="y", prediction="yhat", protected="sex", positive_label="yes"
    )
    assert _positives(table) == (int(frame["y"].sum()), int(frame["yhat"].sum()))
    assert table.group_order["sex"] == ("no", "yes")


def test_true_never_matches_a_zero_one_column(tmp_path: Path) -> None:
    frame = _frame()
    path = tmp_path / "flags.csv"
    frame.assign(y=frame["y"].map({1: True, 0: False})).to_csv(path, index=False)
    # the label is written True/False and the prediction 0/1: "True" is no positive of 0/1
    with pytest.raises(SchemaError, match=r"positive_prediction='True' is not among.*\['0', '1'\]"):
        count_outcomes(path, label="y", prediction="yhat", protected="sex", positive_label="True")
    table = count_outcomes(
        path,
        label="y",
        prediction="yhat",
        protected="sex",
        positive_label="True",
        positive_prediction="1",
    )
    assert _positives(table) == (int(frame["y"].sum()), int(frame["yhat"].sum()))


def test_numbers_match_however_they_are_written(tmp_path: Path) -> None:
    frame = _frame()
    path = tmp_path / "floats.csv"
    frame.astype({"y": "float64"}).to_csv(path, index=False)  # written 1.0 / 0.0
    for positive in (1, "1", 1.0):
        table = count_outcomes(
            path, label="y", prediction="yhat", protected="sex", positive_label=positive
        )
        assert _positives(table) == (int(frame["y"].sum()), int(frame["yhat"].sum()))


def test_numeric_groups_read_as_text_keep_numeric_order(tmp_path: Path) -> None:
    frame = _frame().assign(grade=lambda f: np.arange(len(f)) % 3 * 5 + 5)  # 5, 10, 15
    path = tmp_path / "grades.csv"
    frame.to_csv(path, index=False)
    table = count_outcomes(path, label="y", prediction="yhat", protected="grade")
    assert table.group_order["grade"] == ("5", "10", "15")


def test_nan_written_as_text_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "nan.csv"
    path.write_text("y,yhat,sex\n1,1,F\nnan,0,M\n0,0,M\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"1 rows have a missing"):
        count_outcomes(path, label="y", prediction="yhat", protected="sex")
    table = count_outcomes(path, label="y", prediction="yhat", protected="sex", drop_missing=True)
    assert (table.n_rows, table.n_dropped) == (2, 1)


def test_an_empty_file_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataSourceError, match=r"empty\.csv' is empty \(0 bytes\)"):
        count_outcomes(path, label="y", prediction="yhat", protected="sex")


def test_a_latin1_file_is_diagnosed_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("y,yhat,city\n1,1,Paris\n0,0,Zürich\n1,0,Köln\n".encode("latin-1"))
    with pytest.raises(DataSourceError, match=r"not valid utf-8: line 3, byte 6 is 'fc'") as info:
        count_outcomes(path, label="y", prediction="yhat", protected="city")
    assert "encoding='latin-1'" in str(info.value) and "--" not in str(info.value)
    table = count_outcomes(path, label="y", prediction="yhat", protected="city", encoding="latin-1")
    assert set(table.group_order["city"]) == {"Paris", "Zürich", "Köln"}

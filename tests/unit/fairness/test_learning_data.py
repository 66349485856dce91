"""Training matrices (ethica.data._training) and the shared Adult fixtures of the learning tests."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import SchemaError
from ethica.data import TrainingMatrix, fit_encoding, load_adult


@cache
def adult_matrices(protected: str = "sex") -> tuple[TrainingMatrix, TrainingMatrix]:
    """Adult train and test files encoded alike (label income >50K)."""
    train, test = load_adult("train"), load_adult("test")
    encoding = fit_encoding(train, label="income", protected=protected, positive=">50K")
    return encoding.transform(train), encoding.transform(test)


@cache
def adult_sample(rows: int = 4000, seed: int = 0) -> TrainingMatrix:
    """A fixed random sample of the Adult training rows (for faster tests)."""
    train, _ = adult_matrices()
    index = np.random.default_rng(seed).choice(train.y.shape[0], rows, replace=False)
    return TrainingMatrix(
        X=train.X[index],
        y=train.y[index],
        sensitive=train.sensitive[index],
        feature_names=train.feature_names,
        feature_sources=train.feature_sources,
    )


def test_adult_train_and_test_share_columns_and_label_rate() -> None:
    train, test = adult_matrices()
    assert train.X.shape == (32561, test.X.shape[1])
    assert test.X.shape[0] == 16281
    # Published base rates of Adult: 24.1% (train) and 23.6% (test) earn >50K.
    assert train.y.mean() == pytest.approx(0.2408, abs=5e-4)
    assert test.y.mean() == pytest.approx(0.2362, abs=5e-4)
    assert "sex" not in train.feature_sources
    assert set(train.sensitive) == {"Female", "Male"}


def test_numeric_columns_are_standardised_on_the_training_rows() -> None:
    train, _ = adult_matrices()
    age = train.columns_of("age")
    assert train.X[:, age].mean() == pytest.approx(0.0, abs=1e-9)
    assert train.X[:, age].std() == pytest.approx(1.0, abs=1e-9)


def test_one_hot_blocks_sum_to_one_per_row() -> None:
    train, _ = adult_matrices()
    block = train.X[:, train.columns_of("workclass")]
    assert np.all(block.sum(axis=1) == 1.0)
    assert "workclass=(missing)" in train.feature_names


def test_include_protected_and_several_protected_columns() -> None:
    frame = pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, 4.0],
            "a": ["p", "q", "p", "q"],
            "b": ["u", "u", "v", "v"],
            "y": [0, 1, 1, 0],
        }
    )
    matrix = fit_encoding(frame, label="y", protected=["a", "b"], include_protected=True).transform(
        frame
    )
    assert matrix.sensitive.shape == (4, 2)
    assert matrix.feature_names == ("x", "a=p", "a=q", "b=u", "b=v")
    assert matrix.y.tolist() == [0, 1, 1, 0]


def test_encoding_reads_a_csv_path(tmp_path: object) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "g": ["a", "b", "a"], "y": ["bad", "good", "bad"]})
    path = f"{tmp_path}/d.csv"
    frame.to_csv(path, index=False)
    encoding = fit_encoding(path, label="y", protected="g", positive="good")
    assert encoding.transform(path).y.tolist() == [0, 1, 0]


def test_missing_column_and_unknown_positive_are_schema_errors() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0], "g": ["a", "b"], "y": ["no", "yes"]})
    with pytest.raises(SchemaError, match=r"not found.*spelling"):
        fit_encoding(frame, label="y", protected="sex")
    with pytest.raises(SchemaError, match=r"positive='maybe' never occurs"):
        fit_encoding(frame, label="y", protected="g", positive="maybe")
    with pytest.raises(SchemaError, match=r"name the favourable one with positive"):
        fit_encoding(frame, label="y", protected="g")

"""The same counts on Spark (local[2]) as on DuckDB and as a pandas groupby, on Adult."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from ethica.data import Bins, count_outcomes
from ethica.datasets import load_adult
from tests.unit.data.expected import assert_same_counts, pandas_counts

pytestmark = pytest.mark.spark

AGE_EDGES = [25, 45, 65]


@pytest.fixture(scope="module")
def outputs() -> pd.DataFrame:
    frame = load_adult("test")
    frame["y"] = (frame["income"] == ">50K").astype("int64")
    frame["yhat"] = (frame["education_num"] >= 13).astype("int64")
    frame["p"] = (frame["education_num"] - 1) / 15.0
    return frame


def _count(source: Any, **kwargs: Any) -> pd.DataFrame:
    protected: list[str | Bins] = ["sex", "race", "workclass", Bins("age", edges=AGE_EDGES)]
    return count_outcomes(
        source, label="y", prediction="yhat", score="p", protected=protected, **kwargs
    ).cells


def test_spark_counts_equal_pandas_and_duckdb(
    spark: Any, outputs: pd.DataFrame, tmp_path: Path
) -> None:
    expected = pandas_counts(
        outputs,
        label="y",
        prediction="yhat",
        score="p",
        protected={"sex": None, "race": None, "workclass": None, "age": AGE_EDGES},
    )
    frame = spark.createDataFrame(pa.Table.from_pandas(outputs, preserve_index=False))
    on_spark = _count(frame)
    assert_same_counts(on_spark, expected)
    pd.testing.assert_frame_equal(on_spark, _count(outputs), check_exact=False, rtol=1e-12)

    parquet, csv = tmp_path / "adult.parquet", tmp_path / "adult.csv"
    outputs.to_parquet(parquet, index=False)
    outputs.to_csv(csv, index=False)
    assert_same_counts(_count(parquet, backend="spark"), expected)
    assert_same_counts(_count(csv, backend="spark"), expected)


def test_spark_checks_and_quantile_bins(spark: Any, outputs: pd.DataFrame) -> None:
    from ethica import SchemaError

    frame = spark.createDataFrame(pa.Table.from_pandas(outputs, preserve_index=False))
    with pytest.raises(SchemaError, match=r"label column 'education_num' is not binary"):
        count_outcomes(frame, label="education_num", prediction="yhat", protected="sex")
    table = count_outcomes(
        frame, label="y", prediction="yhat", protected=[Bins("age", quantiles=2)]
    )
    (median,) = table.provenance["bins"]["age"]  # type: ignore[index]
    assert abs(median - outputs["age"].median()) <= 1
    assert table.n_rows == len(outputs)

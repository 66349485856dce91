"""count_outcomes on Adult equals a pandas groupby of the same rows, from every kind of source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import ibis
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from ethica.data import MISSING_LABEL, Bins, count_outcomes, resolve_table

from .expected import assert_same_counts, pandas_counts

AGE_EDGES = [25, 45, 65]
PROTECTED = {"sex": None, "race": None, "workclass": None, "age": AGE_EDGES}


def _with_outputs(frame: pd.DataFrame) -> pd.DataFrame:
    """Adult plus a deterministic 0/1 label, prediction and score in [0, 1]."""
    frame = frame.copy()
    frame["y"] = (frame["income"] == ">50K").astype("int64")
    frame["yhat"] = (frame["education_num"] >= 13).astype("int64")
    frame["p"] = (frame["education_num"] - 1) / 15.0
    return frame


@pytest.fixture(scope="module")
def adult_outputs() -> pd.DataFrame:
    from ethica.datasets import load_adult

    return _with_outputs(load_adult("test"))


@pytest.fixture(scope="module")
def expected(adult_outputs: pd.DataFrame) -> pd.DataFrame:
    return pandas_counts(
        adult_outputs, label="y", prediction="yhat", score="p", protected=PROTECTED
    )


@pytest.fixture(scope="module")
def files(adult_outputs: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("adult")
    paths = {
        "csv": root / "adult.csv",
        "csv.gz": root / "adult.csv.gz",
        "tsv": root / "adult.tsv",
        "parquet": root / "adult.parquet",
        "duckdb": root / "adult.duckdb",
    }
    adult_outputs.to_csv(paths["csv"], index=False)
    adult_outputs.to_csv(paths["csv.gz"], index=False, compression="gzip")
    adult_outputs.to_csv(paths["tsv"], index=False, sep="\t")
    adult_outputs.to_parquet(paths["parquet"], index=False)
    with duckdb.connect(str(paths["duckdb"])) as con:
        con.register("frame", pa.Table.from_pandas(adult_outputs, preserve_index=False))
        con.execute("CREATE TABLE adult AS SELECT * FROM frame")
    return paths


def _count(source: Any, **kwargs: Any) -> pd.DataFrame:
    protected: list[str | Bins] = ["sex", "race", "workclass", Bins("age", edges=AGE_EDGES)]
    table = count_outcomes(
        source, label="y", prediction="yhat", score="p", protected=protected, **kwargs
    )
    return table.cells


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "tsv", "parquet"])
def test_file_paths_match_pandas(kind: str, files: dict[str, Path], expected: pd.DataFrame) -> None:
    assert_same_counts(_count(files[kind]), expected)
    assert_same_counts(_count(str(files[kind])), expected)


def test_duckdb_file_and_url_match_pandas(files: dict[str, Path], expected: pd.DataFrame) -> None:
    assert_same_counts(_count(files["duckdb"], table="adult"), expected)
    assert_same_counts(_count(f"duckdb://{files['duckdb']}", table="adult"), expected)


@pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")  # Ibis 12 on DuckDB 2
def test_ibis_table_runs_on_its_own_backend(files: dict[str, Path], expected: pd.DataFrame) -> None:
    own = ibis.duckdb.connect(str(files["duckdb"]), read_only=True)
    assert_same_counts(_count(own.table("adult")), expected)
    arrow = own.table("adult").to_pyarrow()
    assert_same_counts(_count(ibis.memtable(arrow)), expected)


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow"])
def test_in_memory_frames_match_pandas(
    kind: str, adult_outputs: pd.DataFrame, expected: pd.DataFrame
) -> None:
    converters: dict[str, Callable[[pd.DataFrame], object]] = {
        "pandas": lambda f: f,
        "polars": pl.from_pandas,
        "arrow": lambda f: pa.Table.from_pandas(f, preserve_index=False),
    }
    assert_same_counts(_count(converters[kind](adult_outputs)), expected)


def test_count_table_metadata(adult_outputs: pd.DataFrame) -> None:
    table = count_outcomes(
        adult_outputs,
        label="y",
        prediction="yhat",
        score="p",
        protected=["workclass", Bins("age", edges=AGE_EDGES)],
        score_bins=4,
    )
    assert table.attributes == ("workclass", "age")
    assert table.n_rows == len(adult_outputs)
    assert table.n_dropped == 0
    assert table.has_score
    assert table.score_bin_edges == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert table.group_order["age"] == ("< 25", "[25, 45)", "[45, 65)", ">= 65")
    workclass = table.group_order["workclass"]
    assert workclass[-1] == MISSING_LABEL
    assert list(workclass[:-1]) == sorted(adult_outputs["workclass"].dropna().unique())
    missing = table.cells.loc[table.cells["workclass"] == MISSING_LABEL, "n"].sum()
    assert missing == adult_outputs["workclass"].isna().sum() > 0
    assert dict(table.cells.dtypes.astype(str)) == {
        "workclass": "str",
        "age": "str",
        "label": "int8",
        "prediction": "int8",
        "score_bin": "int16",
        "n": "int64",
        "score_sum": "float64",
    }
    assert table.provenance["label"] == "y"
    assert table.provenance["bins"] == {"age": AGE_EDGES}


def test_prediction_from_score_uses_threshold(adult_outputs: pd.DataFrame) -> None:
    threshold = 12 / 15  # exactly the score of education_num == 13: ties count as positive
    table = count_outcomes(
        adult_outputs, label="y", score="p", threshold=threshold, protected=["sex"]
    )
    expected = pandas_counts(
        adult_outputs, label="y", score="p", threshold=threshold, protected={"sex": None}
    )
    assert_same_counts(table.cells, expected)
    positives = table.cells.loc[table.cells["prediction"] == 1, "n"].sum()
    assert positives == (adult_outputs["education_num"] >= 13).sum()


def test_prediction_only_has_no_score_bins(adult_outputs: pd.DataFrame) -> None:
    table = count_outcomes(adult_outputs, label="y", prediction="yhat", protected="race")
    assert not table.has_score
    assert set(table.cells["score_bin"]) == {-1}
    assert set(table.cells["score_sum"]) == {0.0}
    expected = pandas_counts(adult_outputs, label="y", prediction="yhat", protected={"race": None})
    assert_same_counts(table.cells, expected)


def test_string_labels_with_positive_label(adult_outputs: pd.DataFrame) -> None:
    frame = adult_outputs.assign(pred=np.where(adult_outputs["yhat"] == 1, ">50K", "<=50K"))
    table = count_outcomes(
        frame, label="income", prediction="pred", positive_label=">50K", protected=["sex"]
    )
    expected = pandas_counts(adult_outputs, label="y", prediction="yhat", protected={"sex": None})
    assert_same_counts(table.cells, expected)


def test_positive_label_is_coerced_to_the_column_type(adult_outputs: pd.DataFrame) -> None:
    as_text = count_outcomes(
        adult_outputs, label="y", prediction="yhat", positive_label="1", protected=["sex"]
    )
    as_int = count_outcomes(adult_outputs, label="y", prediction="yhat", protected=["sex"])
    pd.testing.assert_frame_equal(as_text.cells, as_int.cells)
    boolean = adult_outputs.assign(y=adult_outputs["y"] == 1, yhat=adult_outputs["yhat"] == 1)
    as_bool = count_outcomes(boolean, label="y", prediction="yhat", protected=["sex"])
    pd.testing.assert_frame_equal(as_bool.cells, as_int.cells)


def test_quantile_bins_use_engine_quantiles(adult_outputs: pd.DataFrame) -> None:
    table = count_outcomes(
        adult_outputs, label="y", prediction="yhat", protected=[Bins("age", quantiles=4)]
    )
    edges = np.quantile(adult_outputs["age"], [0.25, 0.5, 0.75])
    assert table.provenance["bins"] == {"age": pytest.approx(list(edges))}
    below = table.cells.loc[table.cells["age"] == f"< {edges[0]:g}", "n"].sum()
    assert below == (adult_outputs["age"] < edges[0]).sum()
    assert table.n_rows == len(adult_outputs)


def test_numeric_plain_attribute_is_ordered_by_value(adult_outputs: pd.DataFrame) -> None:
    table = count_outcomes(adult_outputs, label="y", prediction="yhat", protected="education_num")
    order = table.group_order["education_num"]
    assert [int(g) for g in order] == sorted(adult_outputs["education_num"].unique())


def test_missing_numeric_values_form_the_missing_group() -> None:
    frame = pd.DataFrame(
        {"age": [20.0, np.nan, 50.0, 70.0, np.nan], "y": [1, 0, 1, 0, 1], "yhat": [1, 1, 0, 0, 1]}
    )
    table = count_outcomes(frame, label="y", prediction="yhat", protected=Bins("age", edges=[30]))
    by_group = table.cells.groupby("age")["n"].sum().to_dict()
    assert by_group == {"< 30": 1, ">= 30": 2, MISSING_LABEL: 2}
    assert table.group_order["age"] == ("< 30", ">= 30", MISSING_LABEL)


def test_resolve_table_returns_lazy_ibis_tables(files: dict[str, Path]) -> None:
    table = resolve_table(files["parquet"])
    assert isinstance(table, ibis.Table)
    assert "income" in table.columns

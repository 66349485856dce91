"""resolve_table: every kind of source, and a clear error for every unreadable one."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest

from ethica import DataSourceError, InvalidParameterError, MissingExtraError, SchemaError
from ethica.data import count_outcomes, resolve_table
from ethica.data._engine import to_arrow


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rows(n: int) -> list[str]:
    return ["y,yhat,group"] + [f"{i % 2},{(i // 2) % 2},g{i % 3}" for i in range(n)]


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "outputs.csv"
    with pytest.raises(DataSourceError, match=r"file not found: .*nowhere/outputs\.csv"):
        resolve_table(missing)
    with pytest.raises(DataSourceError, match=r"file not found"):
        count_outcomes(str(missing), label="y", prediction="yhat", protected="group")


def test_ragged_csv_reports_the_line(tmp_path: Path) -> None:
    lines = _rows(3000)
    lines[1234] = "1,0,g1,extra"  # line 1235 of the file: inside DuckDB's sniffing sample
    path = _write_lines(tmp_path / "ragged.csv", lines)
    with pytest.raises(DataSourceError, match=r"malformed CSV .*ragged\.csv' at line 1235") as info:
        count_outcomes(path, label="y", prediction="yhat", protected="group")
    assert "4 fields where the header has 3" in str(info.value)


def test_bad_value_after_the_sniffing_sample_reports_duckdbs_line(tmp_path: Path) -> None:
    lines = ["y,yhat,group,p"] + [f"{r},0.{i % 10}" for i, r in enumerate(_rows(60_000)[1:])]
    lines[50_000] = "1,1,g0,oops"  # past the rows DuckDB samples to infer the types
    path = _write_lines(tmp_path / "late.csv", lines)
    table = resolve_table(path)
    assert table.schema()["p"].is_floating()
    with pytest.raises(DataSourceError, match=r"malformed CSV .*late\.csv' at line 50001") as info:
        count_outcomes(path, label="y", score="p", protected="group")
    assert "oops" in str(info.value)


def test_a_stray_label_value_is_named_whatever_its_line(tmp_path: Path) -> None:
    # the label is read as written, so a stray value is a third value, not a cast error
    lines = _rows(60_000)
    lines[50_000] = "oops,1,g0"
    path = _write_lines(tmp_path / "late.csv", lines)
    with pytest.raises(SchemaError, match=r"label column 'y' is not binary.*'oops'"):
        count_outcomes(path, label="y", prediction="yhat", protected="group")


def test_semicolon_csv_is_sniffed(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "semi.csv", [r.replace(",", ";") for r in _rows(30)])
    table = count_outcomes(path, label="y", prediction="yhat", protected="group")
    assert table.n_rows == 30
    assert table.group_order["group"] == ("g0", "g1", "g2")


def test_directory_of_parquet_files(tmp_path: Path) -> None:
    frame = pd.DataFrame({"y": [1, 0, 1, 1], "yhat": [1, 1, 0, 1], "group": list("abab")})
    (tmp_path / "part").mkdir()
    frame.head(2).to_parquet(tmp_path / "part" / "0.parquet")
    frame.tail(2).to_parquet(tmp_path / "part" / "1.parquet")
    table = count_outcomes(tmp_path / "part", label="y", prediction="yhat", protected="group")
    assert table.n_rows == 4


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "outputs.xlsx"
    path.write_bytes(b"not a table")
    with pytest.raises(DataSourceError, match=r"cannot tell the format of .*outputs\.xlsx"):
        resolve_table(path)


def test_unknown_url_scheme() -> None:
    with pytest.raises(
        DataSourceError, match=r"cannot connect to 'nosuchdb://host/db'.*'nosuchdb'"
    ):
        resolve_table("nosuchdb://host/db", table="outputs")
    with pytest.raises(InvalidParameterError, match=r"name the table with table="):
        resolve_table("duckdb://somewhere.duckdb")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE outputs AS SELECT 1 AS y, 0 AS yhat, 'a' AS grp")
    return path


def test_duckdb_file_needs_an_existing_table(database: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"DuckDB database; name the table"):
        resolve_table(database)
    with pytest.raises(DataSourceError, match=r"cannot open table 'decisions'.*\['outputs'\]"):
        resolve_table(database, table="decisions")
    assert resolve_table(database, table="outputs").columns == ("y", "yhat", "grp")


def test_unsupported_source_type_and_backend() -> None:
    with pytest.raises(InvalidParameterError, match=r"cannot read a source of type dict"):
        resolve_table({"y": [1]})
    with pytest.raises(InvalidParameterError, match=r"backend must be 'duckdb' or 'spark'"):
        resolve_table(pd.DataFrame({"y": [1]}), backend="polars")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"backend='spark' only applies to file paths"):
        resolve_table(pd.DataFrame({"y": [1]}), backend="spark")


def test_spark_without_pyspark_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write_lines(tmp_path / "outputs.csv", _rows(5))
    for module in ("pyspark", "pyspark.sql"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError, match=r"pip install 'ethica\[spark\]'"):
        resolve_table(path, backend="spark")


def test_frames_run_on_the_default_duckdb() -> None:
    frame = pd.DataFrame({"y": [1, 0, 1]})
    from ethica.data._engine import default_connection

    result = to_arrow(resolve_table(frame).aggregate(total=ibis._.y.sum()), default_connection())
    assert result.to_pylist() == [{"total": 2}]


def test_a_file_that_is_not_a_duckdb_database(tmp_path: Path) -> None:
    path = tmp_path / "fake.duckdb"
    path.write_text("this is not a database", encoding="utf-8")
    with pytest.raises(DataSourceError, match=r"cannot open DuckDB database .*fake\.duckdb"):
        resolve_table(path, table="outputs")

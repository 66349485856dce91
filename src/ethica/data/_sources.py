"""Resolve whatever the user points at (path, URL, frame, table) to an Ibis table."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from ethica._exceptions import DataSourceError, InvalidParameterError, MissingExtraError
from ethica.data._csv_errors import csv_error
from ethica.data._engine import default_connection, first_line, is_spark, quiet_engine

__all__ = ["Backend", "Source", "open_source", "resolve_table"]

Backend = Literal["duckdb", "spark"]

_CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_DUCKDB_SUFFIXES = (".duckdb", ".ddb")
_SPARK_INSTALL = "pip install 'ethica[spark]'"


@dataclass(frozen=True)
class Source:
    """A resolved source: the table, the backend that runs it, and how to describe it.

    ``sniffed`` holds, for a CSV file whose ``text_columns`` were read as text, the
    types DuckDB's sniffer would have given those columns (so callers can still tell a
    numeric column from a categorical one).
    """

    table: ir.Table
    backend: Any
    description: str
    csv_path: Path | None = None
    sniffed: Mapping[str, Any] = field(default_factory=dict)


def resolve_table(
    source: object,
    *,
    table: str | None = None,
    backend: Backend | None = None,
    encoding: str | None = None,
) -> ir.Table:
    """Turn a path, URL, data frame or table into an Ibis table, without reading the rows.

    Parameters
    ----------
    source
        One of: a CSV (``.csv``, ``.tsv``, ``.txt``, optionally ``.gz``; the separator is
        sniffed) or Parquet (``.parquet`` file or a directory of them) path, as ``str`` or
        :class:`~pathlib.Path`; a ``.duckdb`` file (with ``table``); an Ibis connection URL
        such as ``"duckdb://file.duckdb"`` or ``"postgres://user@host/db"`` (with ``table``);
        a pandas or polars DataFrame or a pyarrow Table (wrapped with ``ibis.memtable``); an
        ``ibis.Table`` (used as is, on its own backend); or a PySpark DataFrame.
    table
        Table name inside a ``.duckdb`` file or behind a URL.
    backend
        ``"duckdb"`` (default: one embedded in-memory DuckDB) or ``"spark"`` (read a file
        path with the local SparkSession; needs ``pip install 'ethica[spark]'``).
    encoding
        Text encoding of a CSV file (default UTF-8), e.g. ``"latin-1"`` or ``"utf-16"``.

    Returns
    -------
    ibis.Table
        A lazy table; nothing is read until an aggregation runs.

    Raises
    ------
    DataSourceError
        The file does not exist, is empty, is not in ``encoding`` (the message names the
        line), cannot be parsed, or the table or URL cannot be opened.
    MissingExtraError
        ``backend="spark"`` without PySpark installed.
    """
    return open_source(source, table=table, backend=backend, encoding=encoding).table


@quiet_engine
def open_source(
    source: object,
    *,
    table: str | None = None,
    backend: Backend | None = None,
    text_columns: Sequence[str] = (),
    encoding: str | None = None,
) -> Source:
    """Like :func:`resolve_table`, also returning the backend and a description.

    ``text_columns`` of a CSV file are read as the text they are written in, not as the
    type DuckDB's sniffer guesses (which turns ``yes``/``no`` into booleans and would make
    a label's values differ from what the user types): their sniffed types are kept in
    :attr:`Source.sniffed`. Other sources keep their own types.
    """
    if backend not in (None, "duckdb", "spark"):
        raise InvalidParameterError(
            f"backend must be 'duckdb' or 'spark', got {backend!r}; "
            "use backend='spark' for PySpark."
        )
    if encoding is not None and not (isinstance(source, str | Path) and "://" not in str(source)):
        raise InvalidParameterError(
            f"encoding={encoding!r} applies to CSV files only, but the source is a "
            f"{type(source).__name__}; drop encoding=."
        )
    if isinstance(source, ir.Table):
        if backend is not None and (backend == "spark") != is_spark(ibis.get_backend(source)):
            _reject_backend(backend, "an ibis.Table runs on its own backend")
        return Source(source, ibis.get_backend(source), "ibis table")
    if _is_spark_frame(source):
        if backend == "duckdb":
            _reject_backend(backend, "a Spark DataFrame runs on Spark")
        return _spark_frame_source(source, "Spark DataFrame")
    if isinstance(source, pd.DataFrame | pa.Table) or _is_polars_frame(source):
        if backend == "spark":
            _reject_backend(backend, "an in-memory frame is read by DuckDB")
        kind = type(source).__module__.split(".")[0]
        if isinstance(source, pd.DataFrame):  # via Arrow: Ibis's pandas path is noisy on pandas 3
            source = pa.Table.from_pandas(source, preserve_index=False)
        return Source(ibis.memtable(source), default_connection(), f"{kind} frame")
    if isinstance(source, str) and "://" in source:
        if backend is not None:
            _reject_backend(backend, "a URL names its own backend")
        return _url_source(source, table)
    if isinstance(source, str | Path):
        path = Path(source).expanduser()
        if backend == "spark":
            return _spark_file_source(path, encoding)
        return _file_source(path, table, tuple(text_columns), encoding)
    raise InvalidParameterError(
        f"cannot read a source of type {type(source).__name__}; pass a CSV/Parquet path, "
        "a .duckdb file with table=, an Ibis URL with table=, a pandas/polars/Arrow frame, "
        "an ibis.Table or a PySpark DataFrame."
    )


def _reject_backend(backend: str, reason: str) -> None:
    raise InvalidParameterError(
        f"backend={backend!r} only applies to file paths ({reason}); drop backend=, "
        "or pass a PySpark DataFrame to run on Spark."
    )


def _is_spark_frame(source: object) -> bool:
    module = type(source).__module__
    return module.startswith("pyspark.sql") and hasattr(source, "sparkSession")


def _is_polars_frame(source: object) -> bool:
    return type(source).__module__.startswith("polars") and type(source).__name__ == "DataFrame"


def _require_pyspark() -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise MissingExtraError(
            f"the Spark backend needs PySpark, which is not installed; run {_SPARK_INSTALL}."
        ) from exc
    return SparkSession


def _spark_frame_source(frame: Any, description: str) -> Source:
    _require_pyspark()
    view = f"ethica_source_{uuid.uuid4().hex}"
    frame.createOrReplaceTempView(view)
    connection = ibis.pyspark.connect(frame.sparkSession)
    return Source(connection.table(view), connection, description)


def _spark_file_source(path: Path, encoding: str | None) -> Source:
    session_class = _require_pyspark()
    _check_exists(path)
    _check_not_empty(path)
    session = session_class.getActiveSession() or (
        session_class.builder.master("local[*]").appName("ethica").getOrCreate()
    )
    kind = _file_kind(path)
    if kind == "parquet":
        frame = session.read.parquet(str(path))
    elif kind == "csv":
        sep = "\t" if ".tsv" in path.suffixes else ","
        frame = session.read.csv(
            str(path), header=True, inferSchema=True, sep=sep, encoding=encoding or "UTF-8"
        )
    else:
        raise InvalidParameterError(
            f"backend='spark' reads CSV or Parquet files, got {str(path)!r}; "
            "open a .duckdb file without backend='spark'."
        )
    return _spark_frame_source(frame, f"{path} (Spark)")


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise DataSourceError(
            f"file not found: {str(path)!r}; check the path (relative paths start from "
            f"{str(Path.cwd())!r})."
        )


def _check_not_empty(path: Path) -> None:
    """Raise :class:`DataSourceError` for a file (or gzip member) holding no bytes at all."""
    if path.is_dir():
        return
    empty = path.stat().st_size == 0
    if not empty and path.suffix.lower() == ".gz":
        try:
            with gzip.open(path, "rb") as handle:
                empty = handle.read(1) == b""
        except OSError:
            return  # not gzip after all: the reader names the problem
    if empty:
        where = " once decompressed" if path.suffix.lower() == ".gz" else ""
        raise DataSourceError(
            f"{str(path)!r} is empty (0 bytes{where}); "
            "point to the file that holds the data, with a header line and at least one row."
        )


def _file_kind(path: Path) -> Literal["csv", "parquet", "duckdb"]:
    suffixes = [s.lower() for s in path.suffixes]
    if path.is_dir() or (suffixes and suffixes[-1] in _PARQUET_SUFFIXES):
        return "parquet"
    if suffixes and suffixes[-1] in _DUCKDB_SUFFIXES:
        return "duckdb"
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _CSV_SUFFIXES:
        return "csv"
    raise DataSourceError(
        f"cannot tell the format of {str(path)!r} from its name; expected .csv[.gz], .tsv, "
        ".parquet, a directory of Parquet files, or .duckdb."
    )


def _file_source(
    path: Path, table: str | None, text_columns: tuple[str, ...], encoding: str | None
) -> Source:
    _check_exists(path)
    _check_not_empty(path)
    kind = _file_kind(path)
    if encoding is not None and kind != "csv":
        raise InvalidParameterError(
            f"encoding={encoding!r} applies to CSV files only, and {str(path)!r} is {kind}; "
            "drop encoding=."
        )
    connection = default_connection()
    if kind == "duckdb":
        if table is None:
            raise InvalidParameterError(
                f"{str(path)!r} is a DuckDB database; name the table with table='NAME'."
            )
        try:
            connection = ibis.duckdb.connect(str(path), read_only=True)
        except Exception as exc:
            raise DataSourceError(
                f"cannot open DuckDB database {str(path)!r}: {first_line(exc)}; check that it "
                "is a DuckDB file and that no other process holds it open for writing."
            ) from exc
        return _database_table(connection, table, str(path))
    if kind == "parquet":
        target = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
        try:
            return Source(connection.read_parquet(target), connection, str(path))
        except Exception as exc:
            raise DataSourceError(f"cannot read Parquet {str(path)!r}: {first_line(exc)}") from exc
    options = {} if encoding is None else {"encoding": encoding}
    try:
        parsed = connection.read_csv(str(path), **options)
    except Exception as exc:
        raise csv_error(path, exc, encoding) from exc
    if len(parsed.columns) == 1 and any(d in parsed.columns[0] for d in ",;\t|"):
        # DuckDB's sniffer gave up on the dialect and read each line as one text field.
        raise csv_error(path, ValueError(f"one column named {parsed.columns[0]!r}"), encoding)
    schema = parsed.schema()
    retype = {c: "VARCHAR" for c in dict.fromkeys(text_columns) if c in schema}
    sniffed = {c: schema[c] for c in retype}
    if any(not schema[c].is_string() for c in retype):
        try:
            parsed = connection.read_csv(str(path), types=retype, **options)
        except Exception as exc:
            raise csv_error(path, exc, encoding) from exc
    return Source(parsed, connection, str(path), csv_path=path, sniffed=sniffed)


def _url_source(url: str, table: str | None) -> Source:
    if table is None:
        raise InvalidParameterError(
            f"the URL {url!r} names a database; name the table with table='NAME'."
        )
    try:
        connection = ibis.connect(url)
    except Exception as exc:
        scheme = url.split("://", 1)[0]
        raise DataSourceError(
            f"cannot connect to {url!r} (scheme {scheme!r}): {first_line(exc)}; use an Ibis "
            "URL such as 'duckdb://file.duckdb' or 'postgres://user@host/db', with that "
            "backend installed."
        ) from exc
    return _database_table(connection, table, url)


def _database_table(connection: Any, table: str, where: str) -> Source:
    try:
        return Source(connection.table(table), connection, f"{where}::{table}")
    except Exception as exc:
        names = _table_names(connection)
        raise DataSourceError(
            f"cannot open table {table!r} in {where!r} ({first_line(exc)}); tables there: {names}."
        ) from exc


def _table_names(connection: Any) -> list[str]:
    """Table names in ``connection``, for error messages (empty if they cannot be listed)."""
    try:
        return sorted(connection.list_tables())
    except Exception:  # Ibis 12's DuckDB list_tables breaks on DuckDB 2: ask the catalog
        pass
    try:
        rows = connection.raw_sql("SELECT table_name FROM information_schema.tables").fetchall()
        return sorted(str(row[0]) for row in rows)
    except Exception:
        return []

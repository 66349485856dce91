"""The service's engine: sources opened once, one DuckDB connection per worker thread.

At startup every registered dataset is read once, through the same private-source rules as
a release (:func:`~ethica.data._memory.copy_private_source`: a CSV's columns as text, its
numbers parsed with ``TRY_CAST``), and only its declared columns (plus the privacy unit's
column) are copied into one in-memory DuckDB database owned by the service. Each worker
thread then gets its own connection to that database (``DuckDBPyConnection.cursor()``, which
DuckDB documents as the way to use one database from several threads) wrapped in its own
Ibis backend. A DuckDB connection, and Ibis's registration of in-memory tables on it, is not
thread-safe, which is why :func:`ethica.data._engine.to_arrow` holds a lock per connection;
with a connection per thread that lock is never contended, and releases on different
threads read in parallel (DuckDB releases the GIL while it runs a query). Each thread's
backend keeps the SQL Ibis compiled for each expression it ran
(:func:`ethica.data._engine.compile_once`): a repeated query shape runs without compiling.

A text column with a declared public key set (a GROUP BY column) is then stored as a DuckDB
``ENUM`` over the values the column holds (a dictionary code per row): grouping by it hashes a
small integer instead of a string, which halves the cost of reading and grouping 1M rows. An
``ENUM`` compares with text literals as text (``=``, ``<``, ``IN``; a literal that is not
one of its values matches nothing, without an error) and Ibis reads it as a string, so every
query means what it meant on the text column. A column with more than
:data:`MAX_ENUM_VALUES` distinct values stays text.

The shared default connection (:func:`ethica.data._engine.default_connection`) is used only
at startup, to read the sources; the service never queries it while serving.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import duckdb

from ethica.data._engine import compile_once
from ethica.data._memory import copy_private_source, duckdb_tables
from ethica.service._config import DatasetConfig

if TYPE_CHECKING:
    from ethica.data._memory import Table

__all__ = ["MAX_ENUM_VALUES", "EnginePool"]

MAX_ENUM_VALUES = 65_536
"""Most distinct values of a public-key text column stored as an ``ENUM`` (else it stays text)."""


class EnginePool:
    """The registered datasets in one in-memory DuckDB, read through a connection per thread.

    Parameters
    ----------
    datasets
        The registered datasets (name to :class:`~ethica.service._config.DatasetConfig`).
    threads
        DuckDB's worker threads per query (``None``: DuckDB's default, one per core).
    """

    def __init__(self, datasets: Mapping[str, DatasetConfig], threads: int | None = None) -> None:
        self._database = duckdb.connect(":memory:")
        if threads is not None:
            self._database.execute(f"SET threads TO {int(threads)}")
        self._local = threading.local()
        self._guard = threading.Lock()
        self._connections: list[duckdb.DuckDBPyConnection] = []
        self._closed = False
        self.rows: dict[str, int] = {}
        for name, dataset in datasets.items():
            self.rows[name] = self._load(name, dataset)

    def _load(self, name: str, dataset: DatasetConfig) -> int:
        rows = copy_private_source(
            self._database,
            name,
            dataset.source,
            table=dataset.table,
            columns=[c.name for c in dataset.schema.columns.values()],
            numbers=[c.name for c in dataset.schema.columns.values() if c.type == "number"],
            unit_column=getattr(dataset.privacy_unit, "column", None),
            label=f"dataset {name!r}",
        )
        for column in dataset.schema.columns.values():
            if column.type == "text" and column.keys is not None:
                _encode(self._database, name, column.name)
        return rows

    def tables(self) -> dict[str, Table]:
        """This thread's Ibis tables over the datasets (its own connection, made on first use)."""
        tables: dict[str, Table] | None = getattr(self._local, "tables", None)
        if tables is None:
            with self._guard:
                if self._closed:
                    raise RuntimeError("the service's engine is closed.")
                cursor = self._database.cursor()
                self._connections.append(cursor)
            tables = duckdb_tables(cursor, self.rows)
            if tables:  # the same query shapes again and again: compile each once
                compile_once(next(iter(tables.values())).get_backend())
            self._local.tables = tables
        return tables

    def table(self, name: str) -> Table:
        """This thread's Ibis table of dataset ``name``."""
        return self.tables()[name]

    @property
    def connections(self) -> int:
        """How many per-thread connections have been opened."""
        return len(self._connections)

    def close(self) -> None:
        """Close every thread's connection and the database."""
        with self._guard:
            self._closed = True
            for connection in _unique(self._connections):
                connection.close()
            self._connections.clear()
            self._database.close()


def _encode(database: duckdb.DuckDBPyConnection, table: str, column: str) -> None:
    """Store text ``column`` of ``table`` as an ``ENUM`` of its distinct values (module
    docstring), unless it is not ``VARCHAR`` or holds none or more than
    :data:`MAX_ENUM_VALUES` of them."""
    quoted_table, quoted_column = _quote(table), _quote(column)
    found = database.execute(
        f"SELECT typeof(ANY_VALUE({quoted_column})), COUNT(DISTINCT {quoted_column}) "
        f"FROM {quoted_table}"
    ).fetchone()
    if found is None or found[0] != "VARCHAR" or not 0 < found[1] <= MAX_ENUM_VALUES:
        return
    kind = _quote(f"__ethica_enum_{table}_{column}")
    database.execute(
        f"CREATE TYPE {kind} AS ENUM (SELECT DISTINCT {quoted_column} "
        f"FROM {quoted_table} WHERE {quoted_column} IS NOT NULL ORDER BY 1)"
    )
    database.execute(f"ALTER TABLE {quoted_table} ALTER {quoted_column} TYPE {kind}")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _unique(items: Iterable[Any]) -> list[Any]:
    return list({id(i): i for i in items}.values())

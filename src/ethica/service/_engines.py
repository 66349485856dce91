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

__all__ = ["EnginePool"]


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
        return copy_private_source(
            self._database,
            name,
            dataset.source,
            table=dataset.table,
            columns=[c.name for c in dataset.schema.columns.values()],
            numbers=[c.name for c in dataset.schema.columns.values() if c.type == "number"],
            unit_column=getattr(dataset.privacy_unit, "column", None),
            label=f"dataset {name!r}",
        )

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


def _unique(items: Iterable[Any]) -> list[Any]:
    return list({id(i): i for i in items}.values())

"""Private sources copied into a DuckDB database, and Ibis tables over a DuckDB connection.

The DP query service (:mod:`ethica.service`) reads every registered dataset once, at startup,
into one in-memory DuckDB database, then opens one connection per worker thread. The Ibis
side of both steps lives here, so that only :mod:`ethica.data` imports Ibis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import ibis
import ibis.expr.types as ir

from ethica._exceptions import SchemaError
from ethica.data._engine import to_arrow
from ethica.data._private_sources import parse_numbers, private_table

__all__ = ["Table", "copy_private_source", "duckdb_tables"]

Table = ir.Table
"""An Ibis table expression (the type the service passes to a release session)."""


def copy_private_source(
    connection: duckdb.DuckDBPyConnection,
    target: str,
    source: object,
    *,
    table: str | None,
    columns: Sequence[str],
    numbers: Iterable[str],
    unit_column: str | None,
    label: str,
) -> int:
    """Copy ``columns`` (and ``unit_column``) of a private source into table ``target``.

    The source is opened with the release's rules (:func:`private_table`: a CSV's columns
    as text from its header line, the ``numbers`` parsed with ``TRY_CAST``). Raises
    :class:`SchemaError` (naming ``label``) when a column is not in the source. Returns
    the number of rows copied.
    """
    opened, _ = private_table(source, table=table)
    missing = [c for c in columns if c not in opened.columns]
    if missing:
        raise SchemaError(
            f"{label}: declared columns {missing} are not in the source "
            f"{source!r} (its columns: {list(opened.columns)})."
        )
    if unit_column is not None and unit_column not in opened.columns:
        raise SchemaError(
            f"{label}: the privacy unit's column {unit_column!r} is not in the "
            f"source {source!r} (its columns: {list(opened.columns)})."
        )
    keep = list(dict.fromkeys([*columns, *([unit_column] if unit_column else [])]))
    expr = parse_numbers(opened.select(*keep), numbers)
    arrow = to_arrow(expr, ibis.get_backend(expr))
    connection.register("_ethica_load", arrow)
    try:
        connection.execute(
            f"CREATE OR REPLACE TABLE {_quote(target)} AS SELECT * FROM _ethica_load"
        )
    finally:
        connection.unregister("_ethica_load")
    return int(arrow.num_rows)


def duckdb_tables(
    connection: duckdb.DuckDBPyConnection, names: Iterable[str]
) -> dict[str, ir.Table]:
    """Ibis tables ``names`` on ``connection`` (an Ibis backend wrapping that connection)."""
    backend = ibis.duckdb.from_connection(connection)
    return {name: backend.table(name) for name in names}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

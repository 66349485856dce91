"""Read published tables (pandas frames) into per-block linear systems, checking them first.

Each table is a frame with the block column, some schema columns (attributes or
coarsenings) and a count column; a combination that is not listed counts zero. Exact tables
must be non-negative integers whose block totals and shared margins agree; otherwise
:class:`~ethica.InfeasibleError` names the tables, the block and the cell that conflict.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import LinearConstraint

from ethica._exceptions import InfeasibleError, SchemaError
from ethica.attacks.census._data import CensusSchema
from ethica.attacks.census._ip import BlockProblem

__all__ = ["PublishedTable", "block_problems", "read_tables"]

_NOISY_HINT = "for a noisy (e.g. DP) release call with exact=False"


@dataclass(frozen=True)
class PublishedTable:
    """One table: its columns, the key of each record cell, and counts by (block, key)."""

    name: str
    columns: tuple[str, ...]
    cell_keys: tuple[tuple[Hashable, ...], ...]
    counts: Mapping[tuple[Hashable, ...], float]

    def count(self, block: Hashable, key: tuple[Hashable, ...]) -> float:
        """The published count of ``key`` in ``block`` (zero when not listed)."""
        return self.counts.get((block, *key), 0.0)

    def published_keys(self) -> list[tuple[Hashable, ...]]:
        """The distinct keys, in cell order."""
        return list(dict.fromkeys(self.cell_keys))


def _read_table(name: str, frame: pd.DataFrame, schema: CensusSchema) -> PublishedTable:
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"table {name!r} must be a pandas DataFrame, got {type(frame)}.")
    for needed in (schema.block, schema.count):
        if needed not in frame.columns:
            raise SchemaError(
                f"table {name!r} has no {needed!r} column (columns: {list(frame.columns)}); "
                f"every table needs {schema.block!r} and {schema.count!r}."
            )
    if len(frame) == 0:
        raise SchemaError(
            f"table {name!r} has a header but no rows; a published table lists at least one "
            "block's counts: fill it in or leave the table out."
        )
    columns = tuple(c for c in frame.columns if c not in (schema.block, schema.count))
    values = {c: schema.column_values(c) for c in columns}
    for c in columns:
        allowed = set(values[c])
        outside = [i for i, v in enumerate(frame[c]) if v not in allowed]
        if outside:
            first = outside[0]
            raise SchemaError(
                f"table {name!r} row {first + 1}, column {c!r}: {frame[c].iloc[first]!r} is "
                f"not a category the schema lists for {c!r} "
                f"({list(dict.fromkeys(values[c]))}); declare it in the schema or fix the row."
            )
    key_columns = [schema.block, *columns]
    if frame.duplicated(key_columns).any():
        duplicate = frame.loc[frame.duplicated(key_columns), key_columns].iloc[0].tolist()
        raise SchemaError(
            f"table {name!r} lists {duplicate} more than once; give each cell one row."
        )
    counts = _read_counts(name, frame[schema.count])
    keys = list(zip(*(frame[c] for c in key_columns), strict=True))
    n_cells = len(schema.cells)
    cell_keys = tuple(tuple(values[c][i] for c in columns) for i in range(n_cells))
    possible = set(cell_keys)
    impossible = [k for k, v in zip(keys, counts, strict=True) if v and k[1:] not in possible]
    if impossible:
        raise SchemaError(
            f"table {name!r} counts people in {list(impossible[0])}, a combination no record "
            "can have (a coarsening disagrees with its attribute); fix the row or drop it."
        )
    return PublishedTable(name, columns, cell_keys, dict(zip(keys, counts, strict=True)))


def _read_counts(name: str, column: pd.Series) -> NDArray[np.float64]:
    """The count column as floats; a missing, boolean or non-numeric count is an error
    naming its row (1 is the first row after the header)."""
    numbers: NDArray[np.float64] = pd.to_numeric(column, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    truth_values = np.array([isinstance(v, bool | np.bool_) for v in column], dtype=bool)
    bad = np.flatnonzero(truth_values | ~np.isfinite(numbers))
    if bad.size:
        first = int(bad[0])
        raise SchemaError(
            f"table {name!r} row {first + 1}, column {column.name!r}: "
            f"{column.iloc[first]!r} is not a count; write the number of people (e.g. 3), "
            "not yes/no or a blank."
        )
    return numbers


def read_tables(
    tables: Mapping[str, pd.DataFrame], schema: CensusSchema, *, exact: bool
) -> tuple[list[PublishedTable], list[Hashable]]:
    """Check and read the tables; return them and the sorted blocks they mention."""
    if not tables:
        raise SchemaError("no tables were given; pass at least one published table.")
    read = [_read_table(name, frame, schema) for name, frame in tables.items()]
    blocks = sorted({key[0] for t in read for key in t.counts}, key=str)
    if exact:
        _check_exact_counts(read)
        for block in blocks:
            _check_consistent(read, block, schema)
    return read, blocks


def _check_exact_counts(tables: list[PublishedTable]) -> None:
    for table in tables:
        for key, value in table.counts.items():
            if value < 0 or value != math.floor(value):
                raise InfeasibleError(
                    f"table {table.name!r} cell {list(key)} has count {value:g}: exact "
                    f"person counts are non-negative integers; {_NOISY_HINT}."
                )


def _margin(
    table: PublishedTable, block: Hashable, columns: tuple[str, ...], schema: CensusSchema
) -> dict[tuple[Hashable, ...], float]:
    """The table's counts in ``block`` summed onto ``columns`` (each derivable from it)."""
    positions = {c: i for i, c in enumerate(table.columns)}
    margin: dict[tuple[Hashable, ...], float] = {}
    for key in table.published_keys():
        target = []
        for c in columns:
            if c in positions:
                target.append(key[positions[c]])
            else:
                source, mapping = schema.coarsenings[c]
                target.append(mapping[key[positions[source]]])
        margin[tuple(target)] = margin.get(tuple(target), 0.0) + table.count(block, key)
    return margin


def _computable(column: str, columns: tuple[str, ...], schema: CensusSchema) -> bool:
    coarsening = schema.coarsenings.get(column)
    return column in columns or (coarsening is not None and coarsening[0] in columns)


def _common_columns(
    first: PublishedTable, second: PublishedTable, schema: CensusSchema
) -> tuple[str, ...]:
    """Every column (attribute or coarsening) that both tables determine."""
    candidates = dict.fromkeys([*first.columns, *second.columns, *schema.coarsenings])
    return tuple(
        c
        for c in candidates
        if _computable(c, first.columns, schema) and _computable(c, second.columns, schema)
    )


def _check_consistent(tables: list[PublishedTable], block: Hashable, schema: CensusSchema) -> None:
    for i, first in enumerate(tables):
        for second in tables[i + 1 :]:
            shared = _common_columns(first, second, schema)
            a = _margin(first, block, shared, schema)
            b = _margin(second, block, shared, schema)
            for key in sorted(set(a) | set(b), key=str):
                if a.get(key, 0.0) != b.get(key, 0.0):
                    where = ", ".join(f"{c}={v}" for c, v in zip(shared, key, strict=True))
                    raise InfeasibleError(
                        f"block {block}: table {first.name!r} and table {second.name!r} "
                        f"disagree on the count of {where or 'all people'} "
                        f"({a.get(key, 0.0):g} vs {b.get(key, 0.0):g}); exact tables must "
                        f"add up to the same margins; {_NOISY_HINT}."
                    )


def block_problems(
    tables: list[PublishedTable],
    blocks: list[Hashable],
    schema: CensusSchema,
    *,
    exact: bool,
    side: Mapping[Hashable, LinearConstraint] | None = None,
) -> dict[Hashable, BlockProblem]:
    """One linear system per block: a row per published count, a column per record cell,
    plus the block's hard ``side`` rows (e.g. its median) when given."""
    n_cells = len(schema.cells)
    structure = []
    for table in tables:
        keys = table.published_keys()
        position = {k: r for r, k in enumerate(keys)}
        rows = np.array([position[k] for k in table.cell_keys])
        matrix = sp.csr_matrix(
            (np.ones(n_cells), (rows, np.arange(n_cells))), shape=(len(keys), n_cells)
        )
        structure.append((table, keys, rows, matrix))
    incidence = sp.vstack([matrix for *_, matrix in structure], format="csr")
    problems = {}
    for block in blocks:
        parts = [np.array([t.count(block, k) for k in keys]) for t, keys, _, _ in structure]
        targets = np.concatenate(parts)
        if exact:
            # a cell holds at most the smallest published count that includes it
            upper = np.min(
                [part[rows] for part, (_, _, rows, _) in zip(parts, structure, strict=True)], axis=0
            )
        else:
            total = max(float(np.clip(part, 0, None).sum()) for part in parts)
            upper = np.full(n_cells, max(1.0, math.ceil(total)))
        problems[block] = BlockProblem(
            incidence,
            targets,
            upper.astype(np.float64),
            exact,
            None if side is None else side.get(block),
        )
    return problems

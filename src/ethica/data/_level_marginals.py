"""Level-coded tables and their marginals, each one GROUP BY pushed down to the engine.

The synthesizers (:mod:`ethica.privacy.synth`) model columns over public domains. Here every
column is encoded in the engine to its level index: a categorical column by comparing its
text with the declared categories, a numeric one by :func:`ethica.data._bins.bin_index` on
the declared edges; the last level takes everything else, so the encoding is total. A
marginal on columns ``C`` is then ``SELECT C, count(*) ... GROUP BY C`` run by
:func:`ethica.data._bounding.bounded_aggregate` where the data lives; only the small grouped
result comes back and is scattered into a dense ``numpy`` array of shape
``[size(c) for c in C]``.

The domain is taken structurally (:class:`LevelDomain`), so this layer does not import the
science that declares it.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Sequence
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from ethica.data._bins import bin_index
from ethica.data._bounding import COUNT, bounded_aggregate
from ethica.data._checks import check_columns
from ethica.data._engine import quiet_engine
from ethica.data._private_sources import parse_numbers

__all__ = [
    "LevelColumn",
    "LevelDomain",
    "MarginalReader",
    "check_schema",
    "codes_table",
    "encode",
    "sample_codes",
]


class LevelColumn(Protocol):
    """A column with public levels: ``categories`` or bin ``edges``, and ``size`` levels."""

    @property
    def name(self) -> str: ...
    @property
    def categories(self) -> tuple[str, ...] | None: ...
    @property
    def edges(self) -> tuple[float, ...] | None: ...
    @property
    def size(self) -> int: ...


class LevelDomain(Protocol):
    """Ordered level columns, addressable by name (:class:`ethica.privacy.synth.Domain`)."""

    @property
    def columns(self) -> Sequence[LevelColumn]: ...
    @property
    def names(self) -> tuple[str, ...]: ...
    def __getitem__(self, name: str) -> LevelColumn: ...


def check_schema(table: ir.Table, domain: LevelDomain) -> None:
    """Refuse a domain column missing from ``table``, or bins on a non-numeric typed column
    (schema only, no row read)."""
    check_columns(table, [("synthesized", c) for c in domain.names])


def encode(table: ir.Table, domain: LevelDomain, *, text: bool) -> ir.Table:
    """``table`` with each domain column replaced by its int32 level index (no row is read).

    ``text``: the source is a CSV read as text, whose numbers are parsed in the engine.
    """
    numeric = [c.name for c in domain.columns if c.edges is not None]
    if text:
        table = parse_numbers(table, numeric)
    projected: dict[str, ir.Value] = {}
    for col in domain.columns:
        value = table[col.name]
        other = col.size - 1
        if col.categories is not None:
            as_text = value if value.type().is_string() else value.cast("string")
            arms = [(as_text == v, i) for i, v in enumerate(col.categories)]
            projected[col.name] = ibis.cases(*arms, else_=other).cast("int32")
        else:
            assert col.edges is not None
            number = value if value.type().is_numeric() else value.try_cast("float64")
            index = bin_index(number, list(col.edges[1:-1]))
            projected[col.name] = index.fill_null(other).cast("int32")
    return table.select(**projected)


def codes_table(codes: NDArray[np.int64], names: Sequence[str]) -> ir.Table:
    """An in-memory table of level codes (one column per name), as :func:`encode` returns."""
    return ibis.memtable(pa.table({n: codes[:, i] for i, n in enumerate(names)}))


def sample_codes(
    encoded: ir.Table, names: Sequence[str], max_rows: int, n_rows: int, seed: int
) -> NDArray[np.int64]:
    """A random sample of at most ``max_rows`` rows of an encoded table, drawn in the engine.

    Above ``2 * max_rows`` rows (``n_rows`` is the table's row count) a Bernoulli
    ``TABLESAMPLE`` keeps each row with probability ``min(1, 1.25 * max_rows / n + 1000 / n)``
    (fewer than ``max_rows`` survive with negligible probability), then a random
    ``ORDER BY ... LIMIT`` (a bounded top-N) cuts it to ``max_rows``; only that sample crosses
    into Python.
    """
    table = encoded
    if n_rows > 2 * max_rows:
        fraction = min(1.0, (1.25 * max_rows + 1000) / n_rows)
        table = table.sample(fraction, method="row", seed=seed)
    arrow = quiet_engine(table.order_by(ibis.random()).limit(max_rows).to_pyarrow)()
    if arrow.num_rows == 0:
        return np.zeros((0, len(names)), dtype=np.int64)
    return np.column_stack([arrow[n].to_numpy() for n in names]).astype(np.int64)


class MarginalReader:
    """Exact marginal counts of an encoded table, cached per clique (custodian side).

    The counts are private: they feed only noisy measurements and DP selection scores, and
    the custodian's report card.
    """

    def __init__(self, encoded: ir.Table, domain: LevelDomain) -> None:
        self.table = _as_view(encoded)
        self.domain = domain
        self._cache: dict[tuple[str, ...], NDArray[np.float64]] = {}
        self.queries = 0

    def counts(self, clique: Sequence[str]) -> NDArray[np.float64]:
        """Dense count array of ``clique``'s marginal, axes in ``clique`` order."""
        key = tuple(clique)
        if key not in self._cache:
            self._cache[key] = self._query(key)
        return self._cache[key]

    def _query(self, clique: tuple[str, ...]) -> NDArray[np.float64]:
        shape = tuple(self.domain[c].size for c in clique)
        frame = bounded_aggregate(self.table, by=list(clique))
        self.queries += 1
        out = np.zeros(shape, dtype=np.float64)
        if len(frame):
            index = tuple(frame[c].to_numpy(dtype=np.int64) for c in clique)
            np.add.at(out, index, frame[COUNT].to_numpy(dtype=np.float64))
        return out


def _drop_view(backend: Any, name: str) -> None:
    try:
        backend.drop_view(name, force=True)
    except Exception:  # the connection may be closed at exit; nothing to clean then
        return


def _as_view(encoded: ir.Table) -> ir.Table:
    """On DuckDB, ``encoded`` behind a temporary view (dropped with the returned table).

    The encoding is a long ``CASE`` per column; compiling it again for each of the ~100
    GROUP BYs of a synthesis costs more than running them. A view is a stored query: it
    reads no row and holds none in memory, and each GROUP BY on it compiles in a blink.
    Other backends get the expression unchanged.
    """
    try:
        backend = encoded._find_backend(use_default=True)
    except Exception:
        return encoded
    if getattr(backend, "name", None) != "duckdb":
        return encoded
    name = f"_ethica_synth_{uuid.uuid4().hex}"
    try:
        view = backend.create_view(name, encoded, overwrite=True)
    except Exception:  # a read-only file's catalog: a TEMP view, else no view
        try:
            backend._run_pre_execute_hooks(encoded)  # in-memory tables the query reads
            backend.raw_sql(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {backend.compile(encoded)}')
            view = backend.table(name)
        except Exception:  # the expression itself still runs, compiled each time
            return encoded
    weakref.finalize(view, _drop_view, backend, name)
    return view

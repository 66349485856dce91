"""Marginals of the encoded table, each one GROUP BY pushed down to the engine.

Every column is encoded in the engine to its level index (:mod:`._domain`): a categorical
column by comparing its text with the declared categories, a numeric one by
:func:`ethica.data._bins.bin_index` on the declared edges; the last level takes everything
else, so the encoding is total. A marginal on columns ``C`` is then ``SELECT C, count(*) ...
GROUP BY C`` run by :func:`ethica.data.bounded_aggregate` where the data lives; only the small
grouped result comes back and is scattered into a dense ``numpy`` array of shape
``[size(c) for c in C]``.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
from numpy.typing import NDArray

from ethica.data._bins import bin_index
from ethica.data._bounding import COUNT, bounded_aggregate
from ethica.data._checks import check_columns
from ethica.data._private_sources import parse_numbers
from ethica.privacy.synth._domain import Domain

__all__ = ["MarginalReader", "check_schema", "encode"]


def check_schema(table: ir.Table, domain: Domain) -> None:
    """Refuse a domain column missing from ``table``, or bins on a non-numeric typed column
    (schema only, no row read)."""
    check_columns(table, [("synthesized", c) for c in domain.names])


def encode(table: ir.Table, domain: Domain, *, text: bool) -> ir.Table:
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


class MarginalReader:
    """Exact marginal counts of an encoded table, cached per clique (custodian side).

    The counts are private: they feed only noisy measurements and DP selection scores, and
    the custodian's report card.
    """

    def __init__(self, encoded: ir.Table, domain: Domain) -> None:
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
    view = backend.create_view(name, encoded, overwrite=True)
    weakref.finalize(view, _drop_view, backend, name)
    return view

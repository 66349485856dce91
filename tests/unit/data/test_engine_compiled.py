"""DuckDB runs compile an expression's SQL once per connection (``_engine._duckdb_arrow``)."""

from __future__ import annotations

import duckdb
import ibis
import pyarrow as pa

from ethica.data._engine import _COMPILED_PER_CONNECTION, compile_once, to_arrow


def _backend(marked: bool = True) -> tuple[object, ibis.Table]:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t AS SELECT range AS x, range % 3 AS k FROM range(10000)")
    backend = ibis.duckdb.from_connection(connection)
    if marked:
        compile_once(backend)
    return backend, backend.table("t")


def _draws(t: ibis.Table) -> ibis.Table:
    """Built anew on each call: an equal expression, not the same object."""
    rows = t.mutate(u=ibis.random())
    return rows.group_by("k").aggregate(n=rows.count(), s=rows.u.sum()).order_by("k")


def test_an_equal_expression_compiles_once_and_draws_afresh_on_each_run() -> None:
    backend, t = _backend()
    first, second = to_arrow(_draws(t), backend), to_arrow(_draws(t), backend)
    assert len(backend._ethica_compiled) == 1  # type: ignore[attr-defined]
    assert first["n"].to_pylist() == second["n"].to_pylist() == [3334, 3333, 3333]
    # RANDOM() runs again: sums of 3,333 uniforms agree to 1e-9 with negligible probability
    pairs = zip(first["s"].to_pylist(), second["s"].to_pylist(), strict=True)
    assert all(abs(a - b) > 1e-9 for a, b in pairs)
    assert (
        first.schema
        == second.schema
        == pa.schema([("k", pa.int64()), ("n", pa.int64()), ("s", pa.float64())])
    )


def test_in_memory_tables_are_registered_on_every_run_and_the_cache_is_bounded() -> None:
    backend, t = _backend()
    for round_ in range(2):
        keys = ibis.memtable(pa.table({"k": pa.array([1, 2], pa.int64())}))
        rows = t.semi_join(keys, "k")
        kept = rows.aggregate(n=rows.count())
        assert to_arrow(kept, backend)["n"].to_pylist() == [6666], round_
    for limit in range(_COMPILED_PER_CONNECTION + 5):
        rows = t.filter(t.x < limit)
        assert to_arrow(rows.aggregate(n=rows.count()), backend)["n"].to_pylist() == [limit]
    assert len(backend._ethica_compiled) == _COMPILED_PER_CONNECTION  # type: ignore[attr-defined]


def test_an_unmarked_backend_keeps_nothing() -> None:
    backend, t = _backend(marked=False)
    assert to_arrow(_draws(t), backend)["n"].to_pylist() == [3334, 3333, 3333]
    assert not hasattr(backend, "_ethica_compiled")

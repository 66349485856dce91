"""NaN is NULL everywhere (issue 9, #7), on real DuckDB tables holding IEEE NaN values.

A pandas frame turns NaN into NULL on its way to the engine; a DuckDB table (or a Parquet
file) keeps NaN as a value, which SQL treats as larger than every number and as an ordinary
group key. These tests build such a table from Arrow arrays.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pytest

from ethica._exceptions import SchemaError
from ethica.data._bounding import COUNT, ClampedSum, Contribution, bounded_aggregate
from ethica.privacy import ApproxDP, Count, Mean, PureDP, Rows, Sum, UserLevel
from ethica.privacy.release._evaluate import Part, aggregate_parts

NAN = float("nan")


def _duckdb(columns: dict[str, list[float]]) -> ir.Table:
    """A DuckDB table of DOUBLE columns that keeps NaN as NaN (Arrow, not pandas)."""
    arrow = pa.table(
        {k: pa.array(v, type=pa.float64(), from_pandas=False) for k, v in columns.items()}
    )
    con = ibis.duckdb.connect()
    con.con.register("arrow_source", arrow)
    con.raw_sql("CREATE TABLE t AS SELECT * FROM arrow_source")
    con.con.unregister("arrow_source")
    return con.table("t")


@pytest.fixture
def with_nan_users() -> ir.Table:
    # users 0..9 with 3 rows each, and 6 rows whose user id is NaN
    users = [float(u) for u in range(10) for _ in range(3)] + [NAN] * 6
    return _duckdb({"user": users, "x": [1.0] * len(users)})


def test_the_table_really_holds_nan(with_nan_users: ir.Table) -> None:
    t = with_nan_users
    counts = t.aggregate(nans=t.user.isnan().sum(), nulls=t.user.isnull().sum())
    assert counts.to_pyarrow().to_pylist() == [{"nans": 6, "nulls": 0}]


def test_nan_user_ids_are_refused_like_null(with_nan_users: ir.Table) -> None:
    # NaN ids passed the NULL refusal and became one pseudo-user; now a float user column is
    # refused from its type alone under nulls='error' (it admits NaN), for free
    with pytest.raises(SchemaError, match=r"'user' has type float64.*NULL or NaN"):
        bounded_aggregate(with_nan_users, contribution=Contribution("user", 1, 1, False))


def test_nan_user_ids_are_dropped_like_null(with_nan_users: ir.Table) -> None:
    agg = bounded_aggregate(with_nan_users, contribution=Contribution("user", 1, 100, True))
    assert int(agg[COUNT].iloc[0]) == 30  # the 6 NaN rows are gone, not one user of 6 rows
    unit = UserLevel("user", max_rows_per_group=100, nulls="drop")
    (part,) = aggregate_parts(with_nan_users, [Part("c", Count(), PureDP(1))], unit).parts
    assert part.components[0].values.tolist() == [30]


def test_nan_measures_are_absent_not_clamped_to_the_upper_bound() -> None:
    table = _duckdb({"x": [1.0, 2.0, NAN, NAN, NAN]})
    agg = bounded_aggregate(
        table,
        sums=[
            ClampedSum("s", "x", 0, 100, 1),
            ClampedSum("n", "x", 0, 100, 1, power=0),
            ClampedSum("q", "x", 0, 100, 1, shift=50, power=2),
        ],
    )
    assert int(agg["s"].iloc[0]) == 3  # NaN counted as 100 gave 303
    assert int(agg["n"].iloc[0]) == 2
    assert int(agg["q"].iloc[0]) == 49**2 + 48**2
    assert int(agg[COUNT].iloc[0]) == 5  # rows are rows; the measure is what is absent
    parts = [Part("m", Mean("x", 0, 100, step=1), PureDP(1))]
    (mean,) = aggregate_parts(table, parts, Rows()).parts
    assert {c.name: c.values.tolist() for c in mean.components} == {"s": [3], "n": [2]}


def test_nan_group_keys_are_the_missing_key() -> None:
    table = _duckdb({"g": [1.0, NAN, NAN, 2.0], "x": [1.0, 1.0, 1.0, 1.0]})
    parts = [Part("s", Sum("x", 0, 1, step=1, by="g"), ApproxDP(1, 1e-6))]
    (agg,) = aggregate_parts(table, parts, Rows()).parts
    keys = list(agg.keys)
    assert len(keys) == len(set(keys)) == 3  # NaN and NULL no longer two cells keyed None
    counts = dict(zip(keys, agg.components[-1].values.tolist(), strict=True))
    assert counts[(None,)] == 2

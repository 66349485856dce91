"""DP SQL: the allow-list refuses what it must (naming the node) and plans what it accepts."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from ethica.privacy.release import Count, Mean, Quantiles, Sum, Variance
from ethica.privacy.sql import (
    MAX_DEPTH,
    MAX_IN_LIST,
    ColumnSpec,
    SqlRefusedError,
    TableSchema,
    plan_sql,
)

SCHEMA = TableSchema.from_specs(
    "visits",
    [
        ColumnSpec("region", "text", keys=("north", "south")),
        ColumnSpec("sex", "text", keys=("f", "m")),
        ColumnSpec("city", "text", private_keys=True),
        ColumnSpec("age", lower=0, upper=120),
        ColumnSpec("income", lower=0, upper=100_000),
        ColumnSpec("score"),  # no bounds: filterable, not aggregatable
    ],
)
TABLES = {"visits": SCHEMA}


def _refused(sql: str) -> SqlRefusedError:
    with pytest.raises(SqlRefusedError) as info:
        plan_sql(sql, TABLES)
    return info.value


def test_the_issue_example_plans_into_a_batch_with_public_keys() -> None:
    q = plan_sql(
        "SELECT region, COUNT(*), AVG(income) FROM visits WHERE age >= 18 GROUP BY region",
        TABLES,
    )
    assert q.table == "visits" and q.by == ("region",)
    assert [a.label for a in q.aggregates] == ["COUNT(*)", "AVG(income)"]
    count, mean = q.batch.queries
    assert isinstance(count, Count) and count.keys == (("north",), ("south",))
    assert isinstance(mean, Mean) and (mean.lower, mean.upper) == (0.0, 100_000.0)
    assert q.canonical().endswith("WHERE age >= 18 GROUP BY region")


def test_every_aggregate_maps_to_its_query_with_the_declared_bounds() -> None:
    q = plan_sql(
        "SELECT SUM(income) AS total, VAR_POP(age), VARIANCE(income) AS v2 FROM visits", TABLES
    )
    kinds = [type(a.query) for a in q.aggregates]
    assert kinds == [Sum, Variance, Variance]
    assert q.aggregates[0].label == "total"
    (median,) = plan_sql("SELECT MEDIAN(age) FROM visits", TABLES).aggregates
    assert isinstance(median.query, Quantiles) and median.query.qs == (0.5,)
    (p90,) = plan_sql("SELECT QUANTILE_CONT(income, 0.9) FROM visits", TABLES).aggregates
    assert isinstance(p90.query, Quantiles) and p90.query.qs == (0.9,)


def test_group_by_two_public_key_columns_releases_their_product() -> None:
    q = plan_sql("SELECT region, sex, COUNT(*) FROM visits GROUP BY region, sex", TABLES)
    assert q.keys is not None and len(q.keys) == 4 and ("south", "m") in q.keys


def test_private_keys_column_plans_without_a_key_set() -> None:
    q = plan_sql("SELECT city, COUNT(*) FROM visits GROUP BY city", TABLES)
    (count,) = q.batch.queries
    assert q.keys is None and count.private_keys


@pytest.mark.parametrize(
    ("sql", "node"),
    [
        ("SELECT COUNT(*) FROM visits; DROP TABLE visits", "2 statements"),
        ("DELETE FROM visits", "Delete statement"),
        ("INSERT INTO visits VALUES (1)", "Insert statement"),
        ("SELECT COUNT(*) FROM visits UNION SELECT COUNT(*) FROM visits", "Union statement"),
        ("SELECT * FROM visits", "SELECT *"),
        ("SELECT age FROM visits", "column 'age' outside GROUP BY"),
        ("SELECT COUNT(*) FROM visits a JOIN visits b ON a.age = b.age", "JOIN"),
        ("WITH t AS (SELECT 1) SELECT COUNT(*) FROM visits", "WITH"),
        ("SELECT COUNT(*) FROM (SELECT * FROM visits)", "Subquery"),
        ("SELECT COUNT(*) FROM secrets", "table 'secrets'"),
        ("SELECT COUNT(*) FROM main.visits", "a qualified table name"),
        ("SELECT COUNT(*) FROM visits ORDER BY 1", "ORDER BY"),
        ("SELECT COUNT(*) FROM visits LIMIT 1", "LIMIT"),
        ("SELECT region, COUNT(*) FROM visits GROUP BY region HAVING COUNT(*) > 3", "HAVING"),
        ("SELECT DISTINCT region FROM visits", "DISTINCT"),
        ("SELECT MAX(age) FROM visits", "function MAX"),
        ("SELECT COUNT(age) FROM visits", "COUNT(age)"),
        ("SELECT COUNT(DISTINCT age) FROM visits", "COUNT(DISTINCT age)"),
        ("SELECT SUM(score) FROM visits", "SUM(score)"),
        ("SELECT SUM(age + 1) FROM visits", "Add"),
        ("SELECT AVG(secret) FROM visits", "column 'secret'"),
        ("SELECT COUNT(*) FROM visits GROUP BY age", "GROUP BY age"),
        ("SELECT region, MEDIAN(age) FROM visits GROUP BY region", "MEDIAN(age) with GROUP BY"),
        ("SELECT COUNT(*) FROM visits WHERE lower(region) = 'north'", "function LOWER"),
        ("SELECT COUNT(*) FROM visits WHERE age IN (SELECT age FROM visits)", "IN (subquery)"),
        ("SELECT COUNT(*) FROM visits WHERE region = 'x' OR 1 = 1", "Literal"),
        ("SELECT COUNT(*) FROM visits WHERE age = 'x'", "text literal 'x' for number column 'age'"),
        ("SELECT COUNT(*) FROM visits WHERE region LIKE 'n%'", "Like"),
        ("SELECT COUNT(*) FROM visits WHERE age > income", "Column"),
        ("SELECT COUNT(*), COUNT(*) FROM visits", "the same output name twice"),
        ("SELECT COUNT(*) FROM", "unparseable SQL"),
        ("SELECT COUNT(*)", "a SELECT without FROM"),
        ("", "empty query"),
    ],
)
def test_refusals_name_the_node(sql: str, node: str) -> None:
    error = _refused(sql)
    assert error.node == node, str(error)
    assert str(error).startswith(f"not allowed: {node}.")


def test_huge_in_lists_and_deep_nesting_are_refused_before_planning() -> None:
    values = ", ".join(str(i) for i in range(MAX_IN_LIST + 1))
    assert _refused(f"SELECT COUNT(*) FROM visits WHERE age IN ({values})").node == (
        f"an IN list of {MAX_IN_LIST + 1} values"
    )
    ok = ", ".join(str(i) for i in range(MAX_IN_LIST))
    plan_sql(f"SELECT COUNT(*) FROM visits WHERE age IN ({ok})", TABLES)
    deep = "(" * (MAX_DEPTH + 1) + "age > 1" + ")" * (MAX_DEPTH + 1)
    assert _refused(f"SELECT COUNT(*) FROM visits WHERE {deep}").node.startswith("nesting depth")
    # A long chain without parentheses is still bounded (no recursion blow-up).
    chain = " AND ".join(["age > 1"] * 400)
    _refused(f"SELECT COUNT(*) FROM visits WHERE {chain}")


def test_filters_apply_through_the_engine_api_and_keep_injection_as_data() -> None:
    frame = pa.table(
        {
            "region": ["north", "south", "north", "x' OR '1'='1"],
            "sex": ["f", "m", "f", "m"],
            "city": ["a", "b", "c", "d"],
            "age": [17, 30, 45, 60],
            "income": [1.0, 2.0, 3.0, 4.0],
            "score": [None, 1.0, 2.0, 3.0],
        }
    )
    table = ibis.memtable(frame)

    def rows(where: str) -> int:
        q = plan_sql(f"SELECT COUNT(*) FROM visits WHERE {where}", TABLES)
        return int(q.filter(table).count().to_pyarrow().as_py())

    assert rows("age >= 18") == 3
    assert rows("18 <= age") == 3
    assert rows("age BETWEEN 30 AND 45 AND NOT region = 'south'") == 1
    assert rows("region IN ('north', 'south') OR age < -5") == 3
    assert rows("score IS NULL") == 1
    assert rows("score IS NOT NULL") == 3
    assert rows("age <> 17 AND (age < 40 OR age > 50)") == 2
    # The quote stays inside a literal compared as a value: it never becomes SQL.
    assert rows("region = 'x'' OR ''1''=''1'") == 1
    assert rows("region = 'north' OR region = 'x'") == 2

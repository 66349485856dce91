"""DP SQL: parse one ``SELECT`` with sqlglot, allow-list its nodes, plan it into ethica queries.

The accepted language is deliberately small (an allow-list, never a block-list)::

    SELECT k1, ..., AGG(col) [AS name], ...
    FROM table
    [WHERE <filter>]
    [GROUP BY k1, ...]

* one statement, one declared table, no joins, subqueries, set operations, CTEs, DISTINCT,
  HAVING, ORDER BY, LIMIT, window functions or expressions in the select list;
* aggregates: ``COUNT(*)``, ``SUM``, ``AVG``, ``VARIANCE``/``VAR_POP`` (released as the
  clamped *population* variance), ``MEDIAN`` and ``QUANTILE_CONT(col, q)`` (no GROUP BY),
  each over one declared number column with public bounds (clamping at those bounds);
* GROUP BY on declared key columns: a public key set releases every key (no partition
  selection), a column declared ``private_keys`` needs a budget with a delta;
* filters: ``AND``/``OR``/``NOT``, comparisons, ``IN`` (at most :data:`MAX_IN_LIST`
  literals), ``BETWEEN`` and ``IS [NOT] NULL`` between a declared column and literals.

Anything else raises :class:`SqlRefusedError` naming the node that is not allowed. The
result, :class:`SqlQuery`, holds an ethica :class:`~ethica.privacy.release.Batch` (the
aggregates share the budget equally, by sequential composition) and a row filter
(:mod:`ethica.privacy.sql._predicates`) that is applied through the engine's expression API:
the user's SQL text never reaches the engine. Checking costs nothing and reads no data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlglot
import sqlglot.errors
from sqlglot import exp

from ethica._exceptions import InvalidParameterError
from ethica.privacy.release._queries import Batch, Count, Mean, Quantiles, Sum, Variance
from ethica.privacy.sql._predicates import (
    And,
    Between,
    Compare,
    InList,
    IsNull,
    Literal,
    Not,
    Or,
    Predicate,
)
from ethica.privacy.sql._schema import MAX_CELLS, ColumnSpec, TableSchema

__all__ = [
    "MAX_DEPTH",
    "MAX_IN_LIST",
    "MAX_SQL_CHARS",
    "Aggregate",
    "SqlQuery",
    "SqlRefusedError",
    "plan_sql",
]

MAX_SQL_CHARS = 10_000
"""Longest SQL text accepted."""
MAX_IN_LIST = 100
"""Most literals in one ``IN (...)`` list."""
MAX_DEPTH = 24
"""Deepest parenthesis / expression nesting accepted (checked before parsing)."""
MAX_AGGREGATES = 20
"""Most aggregates in one query."""

_ALLOWED_SELECT_ARGS = {"expressions", "from_", "from", "where", "group"}
_COMPARISONS: dict[type[exp.Expression], str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
}
_FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_CLAUSES = {
    "joins": "JOIN",
    "having": "HAVING",
    "order": "ORDER BY",
    "limit": "LIMIT",
    "offset": "OFFSET",
    "with_": "WITH",
    "with": "WITH",
    "distinct": "DISTINCT",
    "qualify": "QUALIFY",
    "windows": "WINDOW",
    "laterals": "LATERAL",
    "into": "INTO",
    "locks": "FOR UPDATE",
    "sample": "TABLESAMPLE",
    "pivots": "PIVOT",
    "kind": "SELECT AS",
}


class SqlRefusedError(InvalidParameterError):
    """A DP SQL query uses something outside the allow-list; ``.node`` names it."""

    def __init__(self, node: str, message: str) -> None:
        super().__init__(f"not allowed: {node}. {message}")
        self.node = node


@dataclass(frozen=True)
class Aggregate:
    """One released column of the result: its label, SQL text and ethica query."""

    label: str
    sql: str
    query: Count | Sum | Mean | Variance | Quantiles


@dataclass(frozen=True)
class SqlQuery:
    """A checked DP SQL query, planned into ethica queries (no data read).

    Attributes
    ----------
    table
        The queried table's declared name.
    where
        The row filter, or ``None``.
    by
        GROUP BY columns (their names in the source).
    aggregates
        The released aggregates, in SELECT order.
    keys
        The public key tuples of ``by`` (``None``: private keys, partition selection).
    """

    table: str
    where: Predicate | None
    by: tuple[str, ...]
    aggregates: tuple[Aggregate, ...]
    keys: tuple[tuple[Any, ...], ...] | None

    @property
    def batch(self) -> Batch:
        """The aggregates as one batch sharing the budget equally."""
        return Batch(
            tuple(a.query for a in self.aggregates),
            names=tuple(a.label for a in self.aggregates),
        )

    def canonical(self) -> str:
        """Canonical SQL of what is released (display, audit and request fingerprints)."""
        text = (
            f"SELECT {', '.join([*self.by, *(a.sql for a in self.aggregates)])} FROM {self.table}"
        )
        if self.where is not None:
            text += f" WHERE {self.where.sql()}"
        if self.by:
            text += f" GROUP BY {', '.join(self.by)}"
        return text

    def filter(self, table: Any) -> Any:
        """``table`` with the row filter applied through its expression API (Ibis)."""
        return table if self.where is None else table.filter(self.where.mask(table))


def plan_sql(sql: str, tables: dict[str, TableSchema]) -> SqlQuery:
    """Check ``sql`` against the allow-list and the declared ``tables``; plan its queries.

    Parameters
    ----------
    sql
        One DP SQL ``SELECT`` (module docstring).
    tables
        Declared tables by SQL name (case-insensitive).

    Raises
    ------
    SqlRefusedError
        Naming the node, clause or column that is not allowed.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise SqlRefusedError("empty query", "Send one SELECT statement.")
    if len(sql) > MAX_SQL_CHARS:
        raise SqlRefusedError(
            f"a query of {len(sql)} characters",
            f"At most {MAX_SQL_CHARS} characters are accepted; simplify the query.",
        )
    depth = _paren_depth(sql)
    if depth > MAX_DEPTH:
        raise SqlRefusedError(
            f"nesting depth {depth}", f"At most {MAX_DEPTH} nested parentheses are accepted."
        )
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except (sqlglot.errors.SqlglotError, RecursionError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SqlRefusedError("unparseable SQL", f"The parser said: {first[:200]}") from None
    if len(statements) != 1:
        raise SqlRefusedError(
            f"{len(statements)} statements",
            "Send exactly one SELECT statement (stacked statements are refused).",
        )
    (root,) = statements
    if not isinstance(root, exp.Select):
        raise SqlRefusedError(
            f"{type(root).__name__} statement", "Only a single SELECT is accepted."
        )
    return _Planner(tables).select(root)


def _paren_depth(sql: str) -> int:
    depth = deepest = 0
    for char in sql:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


class _Planner:
    def __init__(self, tables: dict[str, TableSchema]) -> None:
        self.tables = {k.lower(): v for k, v in tables.items()}
        self.schema: TableSchema | None = None
        self.aliases: set[str] = set()

    # ------------------------------------------------------------------ structure
    def select(self, node: exp.Select) -> SqlQuery:
        for key, value in node.args.items():
            if key in _ALLOWED_SELECT_ARGS or value in (None, False, [], ()):
                continue
            raise SqlRefusedError(
                _CLAUSES.get(key, key.upper()),
                "DP SQL accepts SELECT ... FROM one table [WHERE ...] [GROUP BY ...] only.",
            )
        self._from(node.args.get("from_") or node.args.get("from"))
        where_node = node.args.get("where")
        where = None if where_node is None else self._predicate(where_node.this, 0)
        by = self._group(node.args.get("group"))
        aggregates: list[Aggregate] = []
        keys = self._keys(by)
        for item in node.expressions:
            aggregate = self._projection(item, by, keys)
            if aggregate is not None:
                aggregates.append(aggregate)
        if not aggregates:
            raise SqlRefusedError(
                "a SELECT without aggregates",
                "Select at least one of COUNT(*), SUM, AVG, VARIANCE, MEDIAN, QUANTILE_CONT.",
            )
        if len(aggregates) > MAX_AGGREGATES:
            raise SqlRefusedError(
                f"{len(aggregates)} aggregates", f"At most {MAX_AGGREGATES} per query."
            )
        labels = [a.label for a in aggregates]
        if len(set(labels)) != len(labels):
            raise SqlRefusedError(
                "the same output name twice", "Give each aggregate a distinct AS name."
            )
        assert self.schema is not None
        return SqlQuery(self.schema.name, where, by, tuple(aggregates), keys)

    def _from(self, node: exp.Expression | None) -> None:
        if node is None:
            raise SqlRefusedError("a SELECT without FROM", "Query one declared table.")
        table = node.this
        if not isinstance(table, exp.Table):
            raise SqlRefusedError(
                type(table).__name__, "FROM takes one declared table name (no subqueries)."
            )
        if table.args.get("db") or table.args.get("catalog"):
            raise SqlRefusedError(
                "a qualified table name", f"Use the declared name alone: {sorted(self.tables)}."
            )
        if not isinstance(table.this, exp.Identifier):
            raise SqlRefusedError(
                type(table.this).__name__, "FROM takes one declared table name (no functions)."
            )
        for key, value in table.args.items():
            if key not in ("this", "alias") and value not in (None, False, [], ()):
                raise SqlRefusedError(key.upper(), "FROM takes one declared table name only.")
        schema = self.tables.get(table.name.lower())
        if schema is None:
            raise SqlRefusedError(
                f"table {table.name!r}",
                f"It is not a declared dataset; declared: {sorted(self.tables)}.",
            )
        self.schema = schema
        self.aliases = {table.name.lower()}
        if table.alias:
            self.aliases.add(table.alias.lower())

    def _column(self, node: exp.Expression, role: str) -> ColumnSpec:
        if not isinstance(node, exp.Column) or not isinstance(node.this, exp.Identifier):
            raise SqlRefusedError(
                type(node).__name__, f"{role} takes a declared column name, not an expression."
            )
        if node.table and node.table.lower() not in self.aliases:
            raise SqlRefusedError(
                f"column {node.sql()!r}", f"Qualify columns with {sorted(self.aliases)} only."
            )
        if node.args.get("db") or node.args.get("catalog"):
            raise SqlRefusedError(f"column {node.sql()!r}", "Use the plain column name.")
        assert self.schema is not None
        spec = self.schema.column(node.name)
        if spec is None:
            raise SqlRefusedError(
                f"column {node.name!r}",
                f"It is not declared on {self.schema.name!r}; declared: "
                f"{sorted(c.name for c in self.schema.columns.values())}.",
            )
        return spec

    def _group(self, node: exp.Expression | None) -> tuple[str, ...]:
        if node is None:
            return ()
        for key, value in node.args.items():
            if key != "expressions" and value not in (None, False, [], ()):
                raise SqlRefusedError(
                    f"GROUP BY {key.upper()}", "GROUP BY takes declared key columns only."
                )
        by: list[str] = []
        for item in node.expressions:
            spec = self._column(item, "GROUP BY")
            if not spec.groupable:
                raise SqlRefusedError(
                    f"GROUP BY {spec.name}",
                    f"{spec.name!r} has no declared key set (keys) and is not declared "
                    "private_keys; group on a declared key column.",
                )
            if spec.name in by:
                raise SqlRefusedError(f"GROUP BY {spec.name} twice", "Name each key once.")
            by.append(spec.name)
        return tuple(by)

    def _keys(self, by: tuple[str, ...]) -> tuple[tuple[Any, ...], ...] | None:
        if not by:
            return None
        assert self.schema is not None
        keys = self.schema.key_product(by)
        if keys is not None and len(keys) > MAX_CELLS:
            raise SqlRefusedError(
                f"GROUP BY with {len(keys)} cells",
                f"At most {MAX_CELLS} public cells per query; group on fewer keys.",
            )
        return keys

    # ---------------------------------------------------------------- projections
    def _projection(
        self, item: exp.Expression, by: tuple[str, ...], keys: tuple[tuple[Any, ...], ...] | None
    ) -> Aggregate | None:
        label: str | None = None
        node = item
        if isinstance(item, exp.Alias):
            label = item.alias
            node = item.this
        if isinstance(node, exp.Column):
            spec = self._column(node, "SELECT")
            if spec.name not in by:
                raise SqlRefusedError(
                    f"column {spec.name!r} outside GROUP BY",
                    "A selected column must be a GROUP BY key; aggregate the others.",
                )
            return None
        if isinstance(node, exp.Star):
            raise SqlRefusedError("SELECT *", "DP SQL releases aggregates only.")
        query = self._aggregate(node, by, keys)
        return Aggregate(label or node.sql(dialect="duckdb"), node.sql(dialect="duckdb"), query)

    def _aggregate(
        self, node: exp.Expression, by: tuple[str, ...], keys: tuple[tuple[Any, ...], ...] | None
    ) -> Count | Sum | Mean | Variance | Quantiles:
        grouped: dict[str, Any] = {"by": by, "keys": keys} if by else {}
        if isinstance(node, exp.Count):
            if not isinstance(node.this, exp.Star):
                raise SqlRefusedError(
                    f"COUNT({node.this.sql() if node.this else ''})",
                    "Only COUNT(*) is accepted (COUNT(DISTINCT ...) and COUNT(col) are not).",
                )
            return Count(**grouped)
        kinds: dict[type[exp.Expression], type[Sum | Mean | Variance]] = {
            exp.Sum: Sum,
            exp.Avg: Mean,
            exp.Variance: Variance,
            exp.VariancePop: Variance,
        }
        if type(node) in kinds:
            spec = self._measured(node, node.this, extra=node.args.get("expression"))
            return kinds[type(node)](spec.name, spec.lower, spec.upper, **grouped)
        if isinstance(node, exp.Median | exp.PercentileCont | exp.Quantile):
            if by:
                raise SqlRefusedError(
                    f"{node.sql()} with GROUP BY",
                    "Quantiles are released for the whole (filtered) table; drop GROUP BY or "
                    "filter to one group with WHERE.",
                )
            q = 0.5
            if not isinstance(node, exp.Median):
                q = self._quantile(node)
            spec = self._measured(node, node.this, extra=None)
            return Quantiles(spec.name, (q,), spec.lower, spec.upper)
        raise SqlRefusedError(
            _node_name(node),
            "Select key columns and COUNT(*), SUM, AVG, VARIANCE/VAR_POP, MEDIAN or "
            "QUANTILE_CONT(col, q) of declared columns only.",
        )

    def _quantile(self, node: exp.Expression) -> float:
        value = node.args.get("expression") or node.args.get("quantile")
        number = _literal(value) if value is not None else None
        if isinstance(number, bool) or not isinstance(number, int | float) or not 0 <= number <= 1:
            raise SqlRefusedError(
                node.sql(), "QUANTILE_CONT(col, q) needs a literal q between 0 and 1."
            )
        return float(number)

    def _measured(
        self, node: exp.Expression, arg: exp.Expression | None, *, extra: object
    ) -> ColumnSpec:
        if arg is None or extra is not None or node.args.get("distinct"):
            raise SqlRefusedError(node.sql(), "Aggregate exactly one declared column.")
        if isinstance(arg, exp.Distinct):
            raise SqlRefusedError("DISTINCT", "Aggregates over distinct values are not allowed.")
        spec = self._column(arg, node.key.upper())
        if spec.type != "number" or not spec.bounded:
            raise SqlRefusedError(
                node.sql(),
                f"{spec.name!r} is not a number column with declared public bounds (lower, "
                "upper); the custodian declares them.",
            )
        return spec

    # -------------------------------------------------------------------- filters
    def _predicate(self, node: exp.Expression, depth: int) -> Predicate:
        if depth > MAX_DEPTH:
            raise SqlRefusedError(f"nesting depth {depth}", f"At most {MAX_DEPTH} levels.")
        if isinstance(node, exp.Paren):
            return self._predicate(node.this, depth + 1)
        if isinstance(node, exp.And):
            return And(
                self._predicate(node.this, depth + 1), self._predicate(node.expression, depth + 1)
            )
        if isinstance(node, exp.Or):
            return Or(
                self._predicate(node.this, depth + 1), self._predicate(node.expression, depth + 1)
            )
        if isinstance(node, exp.Not):
            return Not(self._predicate(node.this, depth + 1))
        if type(node) in _COMPARISONS:
            op = _COMPARISONS[type(node)]
            left, right = node.this, node.expression
            if isinstance(left, exp.Column):
                spec = self._column(left, "WHERE")
                return Compare(spec.name, op, self._value(spec, right))
            if isinstance(right, exp.Column):
                spec = self._column(right, "WHERE")
                return Compare(spec.name, _FLIPPED[op], self._value(spec, left))
            other = left if _literal(left) is None else right
            raise SqlRefusedError(
                _node_name(other),
                "A comparison needs a declared column on one side and a literal on the other.",
            )
        if isinstance(node, exp.In):
            if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
                raise SqlRefusedError("IN (subquery)", "IN takes a list of literals only.")
            spec = self._column(node.this, "WHERE")
            values = node.expressions
            if not values or len(values) > MAX_IN_LIST:
                raise SqlRefusedError(
                    f"an IN list of {len(values)} values",
                    f"IN takes 1 to {MAX_IN_LIST} literals.",
                )
            return InList(spec.name, tuple(self._value(spec, v) for v in values))
        if isinstance(node, exp.Between):
            spec = self._column(node.this, "WHERE")
            return Between(
                spec.name, self._value(spec, node.args["low"]), self._value(spec, node.args["high"])
            )
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise SqlRefusedError(node.sql(), "Only IS NULL / IS NOT NULL are accepted.")
            return IsNull(self._column(node.this, "WHERE").name)
        raise SqlRefusedError(
            _node_name(node),
            "WHERE accepts AND, OR, NOT, comparisons (= <> < <= > >=), IN (literals), "
            "BETWEEN and IS [NOT] NULL between declared columns and literals.",
        )

    def _value(self, spec: ColumnSpec, node: exp.Expression) -> Literal:
        value = _literal(node)
        if value is None:
            raise SqlRefusedError(
                type(node).__name__, f"Compare {spec.name!r} with a literal value only."
            )
        if spec.type == "number" and isinstance(value, str):
            raise SqlRefusedError(
                f"text literal {value!r} for number column {spec.name!r}", "Use a number."
            )
        if spec.type == "text" and not isinstance(value, str):
            raise SqlRefusedError(
                f"number literal {value!r} for text column {spec.name!r}", "Quote the value."
            )
        return value


def _node_name(node: exp.Expression) -> str:
    """How a refusal names a node: ``function LOWER``, ``Subquery``, ``Column``..."""
    if isinstance(node, exp.Func):
        return f"function {node.sql_name()}"
    return type(node).__name__


def _literal(node: object) -> Literal | None:
    """A literal's Python value (numbers, strings, negated numbers), else ``None``."""
    if isinstance(node, exp.Neg):
        inner = _literal(node.this)
        return -inner if isinstance(inner, int | float) else None
    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        return str(node.this)
    text = str(node.this)
    try:
        whole = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            return None
        return number if number == number and abs(number) != float("inf") else None
    if not -(2**63) <= whole < 2**63:
        raise SqlRefusedError(
            f"integer literal {text[:30]}",
            "It is outside the engine's 64-bit integer range; use a number within "
            "±9223372036854775807.",
        )
    return whole
